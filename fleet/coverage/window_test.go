package coverage_test

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

func TestWeekOpen(t *testing.T) {
	var w coverage.Week
	w[time.Monday] = []string{"08:00-12:00", "12:00-13:00"} // adjoining: one window
	w[time.Tuesday] = []string{"22:00-02:00"}               // past midnight into Wednesday…
	w[time.Wednesday] = []string{"01:00-03:00"}             // …overlapping Wednesday's own
	w[time.Saturday] = []string{"23:00-01:00"}              // past midnight into Sunday
	onlyMonday := coverage.Week{time.Monday: {"08:00-13:00"}}
	berlin := mustLoc("Europe/Berlin")
	never := time.Time{}
	for _, c := range []struct {
		name        string
		w           coverage.Week
		loc         *time.Location
		t           time.Time
		open        bool
		until, next time.Time
	}{
		{"before", w, shanghai, cst("2026-03-02", "07:59"), false, never, cst("2026-03-02", "08:00")},
		{"at start", w, shanghai, cst("2026-03-02", "08:00"), true, cst("2026-03-02", "13:00"), never},
		{"inside, merged with the adjoining range", w, shanghai, cst("2026-03-02", "11:59"), true, cst("2026-03-02", "13:00"), never},
		{"at end", w, shanghai, cst("2026-03-02", "13:00"), false, never, cst("2026-03-03", "22:00")},
		{"a millisecond before the end", w, shanghai, cst("2026-03-02", "13:00").Add(-time.Millisecond), true, cst("2026-03-02", "13:00"), never},
		{"past midnight, merged with the next day's", w, shanghai, cst("2026-03-03", "23:00"), true, cst("2026-03-04", "03:00"), never},
		{"after midnight, from the previous day", w, shanghai, cst("2026-03-04", "00:30"), true, cst("2026-03-04", "03:00"), never},
		{"after the merged end", w, shanghai, cst("2026-03-04", "03:00"), false, never, cst("2026-03-07", "23:00")},
		{"sunday, from saturday", w, shanghai, cst("2026-03-08", "00:59"), true, cst("2026-03-08", "01:00"), never},
		{"sunday evening", w, shanghai, cst("2026-03-08", "20:00"), false, never, cst("2026-03-09", "08:00")},
		{"another zone's clock", w, time.UTC, cst("2026-03-02", "15:00"), false, never, at(time.UTC, "2026-03-02", "08:00")},
		{"nil loc is UTC", w, nil, at(time.UTC, "2026-03-02", "09:00"), true, at(time.UTC, "2026-03-02", "13:00"), never},
		{"next a week on", onlyMonday, shanghai, cst("2026-03-02", "13:00"), false, never, cst("2026-03-09", "08:00")},
		{"empty week", coverage.Week{}, shanghai, cst("2026-03-02", "08:00"), false, never, never},
		{"malformed week", coverage.Week{time.Monday: {"08:00"}}, shanghai, cst("2026-03-02", "09:00"), false, never, never},
		// Berlin springs forward at 02:00 on Sunday 29 March 2026 and falls
		// back at 03:00 on Sunday 25 October 2026.
		{"dst: before a range across the gap", coverage.Week{time.Sunday: {"01:00-04:00"}}, berlin,
			at(berlin, "2026-03-29", "00:30"), false, never, at(berlin, "2026-03-29", "01:00")},
		{"dst: inside, after the gap", coverage.Week{time.Sunday: {"01:00-04:00"}}, berlin,
			at(berlin, "2026-03-29", "03:30"), true, time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC), never},
		{"dst: a range across the repeated hour", coverage.Week{time.Sunday: {"00:00-06:00"}}, berlin,
			time.Date(2026, 10, 25, 4, 0, 0, 0, time.UTC), true, time.Date(2026, 10, 25, 5, 0, 0, 0, time.UTC), never},
	} {
		t.Run(c.name, func(t *testing.T) {
			open, until, next := c.w.Open(c.t, c.loc)
			if open != c.open || !until.Equal(c.until) || !next.Equal(c.next) {
				t.Fatalf("Open(%v) = %v, %v, %v; want %v, %v, %v", c.t, open, until, next, c.open, c.until, c.next)
			}
			loc := c.loc
			if loc == nil {
				loc = time.UTC
			}
			for _, x := range []time.Time{until, next} {
				if !x.IsZero() && x.Location() != loc {
					t.Errorf("%v not in %v", x, loc)
				}
			}
		})
	}
}

// A week open around the clock stays open past the days Open looks at.
func TestWeekOpenAlways(t *testing.T) {
	now := cst("2026-03-02", "10:00")
	open, until, next := coverage.EveryDay("00:00-24:00").Open(now, shanghai)
	if !open || until.Before(now.Add(7*24*time.Hour)) || !next.IsZero() {
		t.Fatalf("Open = %v, %v, %v", open, until, next)
	}
}
