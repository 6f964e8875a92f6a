package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

func TestZZDebug(t *testing.T) {
	s, err := Open(ctx, filepath.Join(os.TempDir(), "bk-city-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, 12, 31, 14, 0, 0, 0, shanghai)
	today := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	q, _ := coverage.Query{From: today.AddDate(0, 0, -6), To: today, Now: now}.Normalize()
	f := CanteenFilter{ActiveOnly: true}
	for range 2 {
		r := rollup{s: s, f: f, q: q, dates: q.Dates()}
		t0 := time.Now()
		r.marks, _ = s.coverageMarks(ctx, f)
		t1 := time.Now()
		if err := r.registry(ctx); err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		r.kept(ctx)
		t3 := time.Now()
		nd := len(r.dates)
		groups := map[span]int{}
		for k := range r.scope {
			has := r.has[k*nd : (k+1)*nd]
			lo := -1
			hi := -1
			for d, h := range has {
				if !h {
					if lo < 0 {
						lo = d
					}
					hi = d
				}
			}
			groups[span{lo, hi}]++
		}
		r.compute(ctx)
		t4 := time.Now()
		n := 0
		for _, x := range r.fresh {
			if !x.End.After(now.Add(-rollupGrace)) {
				n++
			}
		}
		r.keep(ctx, now.Add(-rollupGrace), time.Now())
		t5 := time.Now()
		t.Logf("marks %v registry %v kept %v compute %v keep %v; groups %v fresh %d finished %d", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), groups, len(r.fresh), n)
	}
}
