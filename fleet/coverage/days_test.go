package coverage_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// checkAggregate checks that Aggregate over ComputeDays gives rep, what
// Compute gave; compute (helpers_test.go) calls it on every fixture.
func checkAggregate(t *testing.T, in coverage.Input, q coverage.Query, rep coverage.Report) {
	t.Helper()
	days, err := coverage.ComputeDays(in, q)
	if err != nil {
		t.Fatalf("ComputeDays: %v", err)
	}
	got, err := coverage.Aggregate(in, days, q)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	if !reflect.DeepEqual(got, rep) {
		t.Fatalf("Aggregate(ComputeDays) differs from Compute:\n got %+v\nwant %+v", got, rep)
	}
}

// A rollup mixes days computed by different queries: finished days kept
// from a wider query with a later Now, today's computed now. The report
// is still Compute's, whatever the threshold, filters or period.
func TestAggregateMixedDays(t *testing.T) {
	for seed := range uint64(20) {
		in := randomCity(seed, 30)
		q := coverage.Query{
			From:            cst("2026-03-02", "00:00"),
			To:              cst("2026-03-05", "00:00"),
			Now:             cst("2026-03-04", "00:00").Add(time.Duration(seed*97%2880) * time.Minute),
			OnlineThreshold: []float64{0, 0.5, 0.8, 1e-9}[seed%4],
		}
		if seed%3 == 0 {
			q.District = "east"
		}
		want := compute(t, in, q)

		// Kept days: a week around the query, as of a later Now, any
		// threshold, no filter.
		wide, err := coverage.ComputeDays(in, coverage.Query{From: cst("2026-02-28", "00:00"), To: cst("2026-03-07", "00:00"),
			Now: cst("2026-03-09", "00:00"), OnlineThreshold: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		live, err := coverage.ComputeDays(in, q)
		if err != nil {
			t.Fatal(err)
		}
		var days []coverage.CanteenDay
		kept := 0
		for _, d := range wide {
			if !d.End.After(q.Now) {
				days = append(days, d)
				kept++
			}
		}
		for _, d := range live {
			if d.End.After(q.Now) {
				days = append(days, d)
			}
		}
		if kept == 0 {
			t.Fatalf("seed %d: no finished day kept", seed)
		}
		got, err := coverage.Aggregate(in, days, q)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d: mixed days:\n got %+v\nwant %+v", seed, got.Total, want.Total)
		}
		// A finished day is the same whichever query computed it.
		byKey := map[[2]string]coverage.CanteenDay{}
		for _, d := range wide {
			byKey[[2]string{d.CanteenID, d.Day}] = d
		}
		for _, d := range live {
			if w, ok := byKey[[2]string{d.CanteenID, d.Day}]; ok && !d.End.After(q.Now) && w != d {
				t.Errorf("seed %d: %s %s: live %+v, kept %+v", seed, d.CanteenID, d.Day, d, w)
			}
		}
	}
}

// Day ends: the last window's end, past midnight for a night shift, cut
// where the next day's first window starts; a closed day's midnight.
func TestCanteenDayEnd(t *testing.T) {
	night := school("night", "cooking")
	night.Hours = coverage.Week{time.Monday: {"22:00-06:00"}, time.Tuesday: {"05:00-07:00"}}
	in := coverage.Input{Canteens: []coverage.Canteen{school("day", "cooking"), night}}
	days, err := coverage.ComputeDays(in, coverage.Query{From: cst("2026-03-02", "00:00"), To: cst("2026-03-04", "00:00"),
		Now: cst("2026-03-02", "12:00")})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, day string
		end     time.Time
		open    time.Duration
	}{
		{"day", "2026-03-02", cst("2026-03-02", "18:00"), 4 * time.Hour},
		{"day", "2026-03-03", cst("2026-03-03", "18:00"), 0},
		{"day", "2026-03-04", cst("2026-03-04", "18:00"), 0},
		{"night", "2026-03-02", cst("2026-03-03", "05:00"), 0},
		{"night", "2026-03-03", cst("2026-03-03", "07:00"), 0},
		{"night", "2026-03-04", cst("2026-03-04", "00:00"), 0},
	}
	if len(days) != len(want) {
		t.Fatalf("%d days, want %d", len(days), len(want))
	}
	for i, w := range want {
		d := days[i]
		if d.CanteenID != w.id || d.Day != w.day || !d.End.Equal(w.end) || d.Open != w.open {
			t.Errorf("days[%d] = %s %s end %v open %v, want %s %s end %v open %v", i, d.CanteenID, d.Day, d.End, d.Open, w.id, w.day, w.end, w.open)
		}
	}
}

func TestAggregateErrors(t *testing.T) {
	in := coverage.Input{Canteens: []coverage.Canteen{school("c1", "cooking")}}
	q := coverage.Query{From: cst("2026-03-02", "00:00"), To: cst("2026-03-03", "00:00"), Now: cst("2026-03-09", "00:00")}
	days, err := coverage.ComputeDays(in, q)
	if err != nil {
		t.Fatal(err)
	}
	other := coverage.CanteenDay{CanteenID: "c9", Day: "2026-03-02"}
	outside := coverage.CanteenDay{CanteenID: "c1", Day: "2026-03-04"}
	bad := coverage.CanteenDay{CanteenID: "c1", Day: "2026-02-30"}
	for _, tc := range []struct {
		name string
		days []coverage.CanteenDay
		err  error
	}{
		{"complete", days, nil},
		{"others ignored", append([]coverage.CanteenDay{other, outside}, days...), nil},
		{"missing", days[:1], coverage.ErrInput},
		{"repeated", append(days, days[0]), coverage.ErrInput},
		{"bad date", append(days, bad), coverage.ErrInput},
	} {
		_, err := coverage.Aggregate(in, tc.days, q)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
	}
	if _, err := coverage.Aggregate(in, days, coverage.Query{}); !errors.Is(err, coverage.ErrQuery) {
		t.Errorf("no from: %v", err)
	}
}

// The fingerprint changes with what a canteen's days depend on, and only
// with that.
func TestFingerprints(t *testing.T) {
	base := func() coverage.Input {
		return coverage.Input{
			Canteens: []coverage.Canteen{school("c1", "cooking", "washing"), school("c2", "cooking")},
			Gateways: []coverage.Gateway{gateway("g1", "c1"), gateway("g2", "c2")},
			Cameras: []coverage.Camera{camera("a", "g1", "cooking", healthyAllWeek()), camera("b", "g1", "washing", nil),
				camera("a", "g2", "cooking", nil)},
		}
	}
	fp0 := coverage.Fingerprints(base())
	if fp0["c1"] == fp0["c2"] || len(fp0) != 2 {
		t.Fatalf("fingerprints %v", fp0)
	}
	for _, tc := range []struct {
		name    string
		edit    func(in *coverage.Input)
		changed bool
	}{
		{"intervals", func(in *coverage.Input) { in.Cameras[0].Intervals = nil }, false},
		{"sessions", func(in *coverage.Input) { in.Gateways[0].Sessions = nil }, false},
		{"name and district", func(in *coverage.Input) { in.Canteens[0].District, in.Canteens[0].Category = "d9", "hospital" }, false},
		{"camera order", func(in *coverage.Input) { in.Cameras[0], in.Cameras[1] = in.Cameras[1], in.Cameras[0] }, false},
		{"hours", func(in *coverage.Input) { in.Canteens[0].Hours = coverage.EveryDay("08:00-17:00") }, true},
		{"tz", func(in *coverage.Input) { in.Canteens[0].TZ = "UTC" }, true},
		{"areas", func(in *coverage.Input) { in.Canteens[0].RequiredAreas = []string{"cooking"} }, true},
		{"mapping", func(in *coverage.Input) { in.Cameras[1].Area = "rough" }, true},
		{"camera added", func(in *coverage.Input) { in.Cameras = append(in.Cameras, camera("c", "g1", "", nil)) }, true},
		{"camera moved", func(in *coverage.Input) { in.Cameras[2].CanteenID = "c1" }, true},
		{"gateway moved", func(in *coverage.Input) { in.Gateways[1].CanteenID = "c1" }, true},
		{"gateway not enrolled", func(in *coverage.Input) { in.Gateways[0].Enrolled = false }, true},
	} {
		in := base()
		tc.edit(&in)
		fp := coverage.Fingerprints(in)
		if changed := fp["c1"] != fp0["c1"]; changed != tc.changed {
			t.Errorf("%s: c1 changed %v, want %v", tc.name, changed, tc.changed)
		}
	}
}

// A large random city, days and all: Aggregate(ComputeDays) is Compute.
func TestAggregateRandomCity(t *testing.T) {
	in := randomCity(99, 300)
	for _, q := range []coverage.Query{
		{From: cst("2026-03-01", "00:00"), To: cst("2026-03-06", "00:00"), Now: cst("2026-03-04", "17:30")},
		{From: cst("2026-03-02", "00:00"), To: cst("2026-03-04", "00:00"), Now: cst("2026-03-09", "00:00"), OnlineThreshold: 0.5, Category: "school"},
	} {
		compute(t, in, q) // checks Aggregate
	}
}
