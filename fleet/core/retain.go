package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightkitchen/brightkitchen/fleet/retention"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// retainLease is the lease row retention is claimed through: with several
// fleets on one database, one of them runs it per interval.
const retainLease = "retention"

// retainer runs retention.Retainer.Retain every interval, the first time a minute
// after start (or sooner, with a shorter interval), while it holds the
// retention lease.
type retainer struct {
	db     *store.DB
	ret    *retention.Retainer
	r      retention.Policy
	every  time.Duration
	holder string
	log    *slog.Logger
	// now is the clock (tests).
	now func() time.Time

	deleted *prometheus.CounterVec
	runs    *prometheus.CounterVec
	stop    func() // ends the job and waits for it (every)
}

func (f *Fleet) startRetention(ctx context.Context, r retention.Policy, every time.Duration) *retainer {
	rt := f.newRetainer(r, every)
	rt.start(ctx)
	return rt
}

// newRetainer makes the job and registers its metrics.
func (f *Fleet) newRetainer(r retention.Policy, every time.Duration) *retainer {
	rt := &retainer{db: f.DB, ret: retention.New(f.DB), r: r, every: every, holder: randomHex(8), now: time.Now,
		log: f.log.With("component", "retention"),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_fleet_retention_deleted_total",
			Help: "Rows retention deleted (snapshots and photos: dropped from kept events), by kind.",
		}, []string{"kind"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_fleet_retention_runs_total",
			Help: "Retention passes by result: ok, error, or skipped (another fleet holds the lease).",
		}, []string{"result"}),
	}
	for _, k := range retention.Kinds {
		rt.deleted.WithLabelValues(k)
	}
	for _, res := range []string{"ok", "error", "skipped"} {
		rt.runs.WithLabelValues(res)
	}
	f.registry.MustRegister(rt.deleted, rt.runs)
	return rt
}

func (rt *retainer) start(ctx context.Context) { rt.stop = every(ctx, rt.every, rt.pass) }

// pass runs retention once if this fleet gets the lease, held for one
// interval: another fleet's next pass waits for it to expire.
func (rt *retainer) pass(ctx context.Context) {
	now := rt.now()
	ok, err := rt.db.ClaimLease(ctx, retainLease, rt.holder, now, rt.every)
	if err != nil {
		rt.runs.WithLabelValues("error").Inc()
		rt.log.Warn("claim the retention lease", "err", err)
		return
	}
	if !ok {
		rt.runs.WithLabelValues("skipped").Inc()
		rt.log.Debug("retention runs on another fleet")
		return
	}
	n, err := rt.ret.Retain(ctx, rt.r, now)
	attrs := []any{"took", time.Since(now).Round(time.Millisecond)}
	for _, k := range retention.Kinds {
		rt.deleted.WithLabelValues(k).Add(float64(n[k]))
		if n[k] > 0 {
			attrs = append(attrs, k, n[k])
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			rt.runs.WithLabelValues("error").Inc()
			rt.log.Warn("retention", append(attrs, "err", err)...)
		}
		return
	}
	rt.runs.WithLabelValues("ok").Inc()
	rt.log.Info("retention", attrs...)
}

func (rt *retainer) close() { rt.stop() }
