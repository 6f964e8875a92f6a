// Package rates answers the regulator's rates (SPEC §5) over the stored
// history: Coverage reads the registry, the health intervals, the sessions
// and the violations, and hands them to fleet/coverage, the pure engine
// that computes the rates. The engine stays a package of its own: it
// touches no database, so its definitions are tested on their own (case
// tables, a reference implementation, a generated city), and this package
// is only how the data gets there fast.
//
// Files: rates.go (Coverage, and the month folding retention asks for),
// rollup.go (one call's state and its registry read), kept.go (the kept
// days: read, packed, stored), compute.go (the missing days, with their
// health loaded by span), input.go (coverage.Input loaded whole, the
// reference the rollup is tested against).
//
// # The rollup
//
// A canteen's day, once its operating hours have ended,
// changes only when late data arrives (a status replayed after an uplink
// outage, a session recorded late) or when the registry changes (hours,
// zone, required areas, cameras, their mapping, the gateway binding). So
// Coverage keeps each finished coverage.CanteenDay and computes from the
// health intervals only the days it does not have: today, the days that
// ended less than rollupGrace ago, and those invalidated.
//
// Layout: one row of coverage_months per canteen and month holds that
// month's finished days, packed (a dashboard's 30 days city-wide read
// 10,000 rows instead of 150,000), under the canteen's fingerprint
// (coverage.Fingerprints) when they were computed.
//
// Invalidation:
//   - registry changes: a row whose basis differs from the canteen's
//     fingerprint now is ignored, and overwritten when recomputed. This
//     catches every path that changes what a day depends on (PutCanteen,
//     ImportCanteens, MapCamera, a heartbeat's area, BindGateway, a new
//     camera) without a hook in each.
//   - late data: Ingest (a status at t) and GatewayState (a session change
//     at t) call staleCoverage for the gateway's canteen, which deletes its
//     months holding a day whose hours end after t, and bumps the
//     canteen's coverage_marks counter.
//   - races: Coverage reads the counters before any data and stores a
//     canteen's days only if its counter has not moved since (PostgreSQL:
//     checked under FOR UPDATE, which late data's bump waits for); so a
//     day computed from data read before a late status is never kept.
//     BindGateway bumps the counter of the canteen it takes a gateway from,
//     as the days being computed may have loaded that gateway's data.
//
// Retention (fleet/retention) freezes the months whose health it deletes:
// their kept days are final (a registry change no longer invalidates them,
// late data no longer forgets them), as they can no longer be recomputed.
//
// Reads: the violations, the kept months and the registry are read side by
// side on the readers, and for a city-wide query whose last date has not
// ended (today) that date's sessions and intervals too; the rest of the
// missing days are grouped by span and loaded for their canteens only.
//
// The late-data side of the invalidation (staleCoverage) is the
// registry's: its writes call it in their own transactions
// (fleet/registry, stale.go).
package rates

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Rates answers the rates over an open database. It is safe for
// concurrent use.
type Rates struct {
	db *store.DB
	// r and w are db's reader and writer pools.
	r, w *sql.DB
	reg  *registry.Registry
}

// New returns the rates of the history stored in db.
func New(db *store.DB) *Rates {
	return &Rates{db: db, r: db.Read(), w: db.Write(), reg: registry.New(db)}
}

// Times as stored (store.Ms and its kin).
var (
	ms         = store.Ms
	fromMs     = store.FromMs
	fromNullMs = store.FromNullMs
)

// rollupGrace is how long after a day's operating hours end Coverage
// waits before keeping it: data from the last minutes is still arriving.
const rollupGrace = 10 * time.Minute

// rollupBeforeKeep, when set (tests), runs after Coverage has read its
// data and before it keeps days: a failpoint for late data arriving then.
var rollupBeforeKeep func()

// rollupChunk bounds the ids in one IN list and the rows in one INSERT.
const rollupChunk = 400

// rollupListMax is the most gateways whose sessions and intervals are
// loaded by id; for more, all gateways' are read and the others dropped.
// A variable for tests.
var rollupListMax = 2 * rollupChunk

// Coverage answers q over the canteens f selects (active ones) as
// coverage.Compute over CoverageInput(ctx, f, q.From, q.To) does, using the
// rollup for finished days: it reads the kept days, computes the missing
// ones from the intervals of only the canteens and days missing, keeps
// those that are finished, and aggregates them with the violations.
// A bad query is an error wrapping coverage.ErrQuery.
//
// Retention (fleet/retention) bounds what it can answer: a query starting
// before the oldest events kept is refused (ErrQuery), as its violations
// are gone; the days of frozen months are taken as kept.
func (s *Rates) Coverage(ctx context.Context, f registry.CanteenFilter, q coverage.Query) (coverage.Report, error) {
	return s.coverage(ctx, f, q, true, nil)
}

// CameraOnlineByCanteen is the camera online rate (SPEC §5: healthy
// camera-seconds ÷ camera-seconds within operating hours) of each canteen
// f selects over q's period, computed as Coverage computes it (the same
// rollup, so a warmed period reads kept days): the public notices' "last
// 30 days' online rate". A canteen with no camera time in the period has
// a zero Ratio (Den 0).
func (s *Rates) CameraOnlineByCanteen(ctx context.Context, f registry.CanteenFilter, q coverage.Query) (map[string]coverage.Ratio, error) {
	out := map[string]coverage.Ratio{}
	_, err := s.coverage(ctx, f, q, true, func(days []coverage.CanteenDay) {
		for _, d := range days {
			r := out[d.CanteenID]
			r.Num += int64(d.Healthy / time.Second)
			r.Den += int64(d.Camera / time.Second)
			out[d.CanteenID] = r
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// coverage is Coverage; horizon false answers periods before the events
// retention kept (retention's folding, which reads no violations); days,
// when given, is handed every canteen day before they are aggregated.
func (s *Rates) coverage(ctx context.Context, f registry.CanteenFilter, q coverage.Query, horizon bool,
	days func([]coverage.CanteenDay)) (coverage.Report, error) {
	started := time.Now()
	q, err := q.Normalize()
	if err != nil {
		return coverage.Report{}, err
	}
	marks, err := store.ReadMarks(ctx, s.r)
	if err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if first, _ := time.Parse(time.DateOnly, q.Dates()[0]); horizon && marks.EventsBefore != 0 &&
		first.Add(-14*time.Hour).UnixMilli() < marks.EventsBefore {
		return coverage.Report{}, fmt.Errorf("coverage: from %s: before the retention horizon (events before %s are deleted): %w",
			q.Dates()[0], fromMs(marks.EventsBefore).Format(time.DateOnly), coverage.ErrQuery)
	}
	f.ActiveOnly = true
	r := rollup{s: s, f: f, q: q, dates: q.Dates()}
	if !marks.Frozen.IsZero() {
		r.frozen = marks.Frozen.Format("2006-01")
	}
	// Reads that do not depend on each other run on readers of their own;
	// every goroutine is waited for (after cancel, on an error) before
	// returning.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// The violations and the complaints: they count on the canteen's
	// local date raised or received
	// (UTC-12 to UTC+14), up to Now, and Compute reads no others.
	var violations coverage.Input
	var verr error
	wg.Go(func() {
		from, _ := time.Parse(time.DateOnly, r.dates[0])
		to, _ := time.Parse(time.DateOnly, r.dates[len(r.dates)-1])
		lo, hi := from.Add(-14*time.Hour), to.Add(36*time.Hour)
		if now := q.Now.Add(time.Millisecond); now.Before(hi) {
			hi = now
		}
		verr = s.rollupViolations(ctx, f, lo, hi, &violations)
		if verr == nil {
			verr = s.coverageComplaints(ctx, f, lo, hi, &violations)
		}
	})
	// The counters before any data: data read after them is at least as
	// new.
	if r.marks, err = s.coverageMarks(ctx, f); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	// The kept months beside the registry; and, for a city-wide query
	// whose last date may not have ended (today), that date's health.
	var kept []keptRow
	var kerr error
	var kwg sync.WaitGroup
	kwg.Go(func() { kept, kerr = r.keptRows(ctx) })
	if last, _ := time.Parse(time.DateOnly, r.dates[len(r.dates)-1]); f.CityWide() &&
		q.Now.Add(-rollupGrace).Before(last.Add(60*time.Hour)) { // a date's hours end at most 48 h after its local midnight
		r.spec = &specHealth{hi: q.Now.UnixMilli()}
		r.specWait.Add(1)
		wg.Go(func() {
			defer r.specWait.Done()
			if r.spec.lo, r.spec.err = s.firstMidnight(ctx, f, last); r.spec.err == nil && r.spec.lo < r.spec.hi {
				r.spec.h, r.spec.err = s.loadHealth(ctx, nil, r.spec.lo, r.spec.hi)
			}
		})
	}
	err = r.registry(ctx)
	kwg.Wait()
	if err = cmp.Or(err, kerr); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	r.kept(kept)
	if err := r.compute(ctx); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if rollupBeforeKeep != nil {
		rollupBeforeKeep()
	}
	cutoff := q.Now
	if started.Before(cutoff) {
		cutoff = started
	}
	if err := r.keep(ctx, cutoff.Add(-rollupGrace), started); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: keep days: %w", err)
	}
	wg.Wait()
	if verr != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", verr)
	}
	r.in.Violations, r.in.Complaints = violations.Violations, violations.Complaints
	if days != nil {
		days(r.days)
	}
	rep, err := coverage.Aggregate(r.in, r.days, q)
	if err != nil {
		return rep, fmt.Errorf("coverage: %w", err)
	}
	return rep, nil
}

// WarmCoverage computes the last days dates (today in
// coverage.DefaultTZ included) city-wide as of now, so that the days
// finished since the last call are kept before a dashboard asks: the
// first dashboard of the morning then reads yesterday from the rollup
// instead of computing it for every canteen.
func (s *Rates) WarmCoverage(ctx context.Context, now time.Time, days int) error {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	_, err = s.Coverage(ctx, registry.CanteenFilter{}, coverage.Query{From: to.AddDate(0, 0, 1-days), To: to, Now: now})
	return err
}

// errNotFolded: a month's days were not all kept by the rollup.
var errNotFolded = errors.New("month not kept by the rates' rollup")

// FoldMonth has the rollup keep every active canteen's days of month m
// (its first day, UTC), and checks that it did: retention, before it
// deletes the month's health, which the days can then no longer be
// computed from.
func (s *Rates) FoldMonth(ctx context.Context, m, now time.Time) error {
	last := m.AddDate(0, 1, -1)
	if _, err := s.coverage(ctx, registry.CanteenFilter{}, coverage.Query{From: m, To: last, Now: now}, false, nil); err != nil {
		return fmt.Errorf("fold %s: %w", m.Format("2006-01"), err)
	}
	var missing int
	err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM canteens c WHERE c.active AND NOT EXISTS (
		SELECT 1 FROM coverage_months x WHERE x.canteen_id = c.id AND x.month = $1)`, m.Format("2006-01")).Scan(&missing)
	if err != nil {
		return fmt.Errorf("fold %s: %w", m.Format("2006-01"), err)
	}
	if missing > 0 {
		return fmt.Errorf("fold %s: %d canteens: %w", m.Format("2006-01"), missing, errNotFolded)
	}
	return nil
}
