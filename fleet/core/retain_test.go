package core

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/retention"
)

// TestRetainer: two fleets on one database; the one holding the lease
// runs retention, the other skips until the lease expires; the counts
// reach the metrics.
func TestRetainer(t *testing.T) {
	ctx := context.Background()
	st, err := dbtest.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{now.AddDate(-4, 0, 0), now.AddDate(-4, 0, 1), now.AddDate(0, 0, -1)} {
		if err := st.Audit(ctx, auth.AuditEntry{At: at, Actor: "admin", Action: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	fleet := func() *retainer {
		f := &Fleet{DB: st.DB, registry: prometheus.NewRegistry(), log: slog.New(slog.DiscardHandler)}
		rt := f.newRetainer(retention.Default(), time.Hour)
		rt.now = func() time.Time { return now }
		return rt
	}
	a, b := fleet(), fleet()
	a.pass(ctx)
	b.pass(ctx)
	if got := value(t, a.deleted.WithLabelValues(retention.RetainedAudit)); got != 2 {
		t.Errorf("a deleted %v audit entries, want 2", got)
	}
	if got := value(t, b.runs.WithLabelValues("skipped")); got != 1 {
		t.Errorf("b skipped %v times, want 1 (a holds the lease)", got)
	}
	now = now.Add(time.Hour)
	b.pass(ctx)
	if got := value(t, b.runs.WithLabelValues("ok")); got != 1 {
		t.Errorf("b ran %v times after the lease expired, want 1", got)
	}
	if got := value(t, a.runs.WithLabelValues("ok")); got != 1 {
		t.Errorf("a ran %v times, want 1", got)
	}
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
