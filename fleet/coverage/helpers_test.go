package coverage_test

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// The fixtures live on Monday 2 March 2026 in Asia/Shanghai (UTC+8, no DST)
// unless they say otherwise; operating hours are 08:00-18:00 = 36,000 s.

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a local time, "2026-03-02", "08:00".
func at(loc *time.Location, day, hm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func cst(day, hm string) time.Time { return at(shanghai, day, hm) }

// st is a camera status: picture "offline" means online false.
type st struct {
	at  time.Time
	pic string
}

// statuses turns status changes into intervals the way the store does:
// each lasts until the next, the last is open.
func statuses(ss ...st) []coverage.Interval {
	out := make([]coverage.Interval, len(ss))
	for i, s := range ss {
		out[i] = coverage.Interval{Start: s.at, Online: s.pic != "offline", Picture: s.pic, Seq: uint64(i + 1)}
		if s.pic == "offline" {
			out[i].Picture = "unknown"
		}
		if i > 0 {
			out[i-1].End = s.at
		}
	}
	return out
}

// healthyAllWeek is a camera that came up before the fixtures' week and
// stayed online with a good picture.
func healthyAllWeek() []coverage.Interval {
	return statuses(st{cst("2026-03-01", "00:00"), "ok"})
}

// connected is a gateway session open since before the fixtures' week.
func connected() []coverage.Session {
	return []coverage.Session{{Session: 1, Connected: cst("2026-03-01", "00:00")}}
}

func school(id string, areas ...string) coverage.Canteen {
	return coverage.Canteen{ID: id, Category: "school", District: "d1", Active: true,
		RequiredAreas: areas, Hours: coverage.EveryDay("08:00-18:00")}
}

func gateway(id, canteen string, sessions ...coverage.Session) coverage.Gateway {
	if sessions == nil {
		sessions = connected()
	}
	return coverage.Gateway{ID: id, CanteenID: canteen, Enrolled: true, Sessions: sessions}
}

func camera(id, gw, area string, ivs []coverage.Interval) coverage.Camera {
	return coverage.Camera{ID: id, GatewayID: gw, Area: area, Intervals: ivs}
}

// monday asks for 2 March 2026 as of a week later.
func monday() coverage.Query {
	return coverage.Query{From: cst("2026-03-02", "00:00"), Now: cst("2026-03-09", "00:00")}
}

func compute(t *testing.T, in coverage.Input, q coverage.Query) coverage.Report {
	t.Helper()
	rep, err := coverage.Compute(in, q)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	checkAggregate(t, in, q, rep)
	return rep
}

func r(num, den int64) coverage.Ratio { return coverage.Ratio{Num: num, Den: den} }

func check(t *testing.T, what string, got, want coverage.Ratio) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d/%d, want %d/%d", what, got.Num, got.Den, want.Num, want.Den)
	}
}
