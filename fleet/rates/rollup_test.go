package rates

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/registry/registrytest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// cst and the test city are registrytest's (shared with fleet/rates).
var cst = registrytest.CST

func newRollupCity(t *testing.T, s *testStore) *registrytest.City {
	return registrytest.NewCity(t, s.Registry)
}

// rollupQuery is the 1st to the 5th, as of the 5th 13:00 (today partial).
func rollupQuery() coverage.Query {
	return coverage.Query{From: cst(1, "00:00"), To: cst(5, "00:00"), Now: cst(5, "13:00")}
}

// sameAsCompute checks Rates.Coverage against coverage.Compute over
// CoverageInput, and returns the report.
func sameAsCompute(t *testing.T, s *testStore, f registry.CanteenFilter, q coverage.Query, what string) coverage.Report {
	t.Helper()
	got, err := s.Coverage(ctx, f, q)
	if err != nil {
		t.Fatalf("%s: Coverage: %v", what, err)
	}
	in, err := s.CoverageInput(ctx, f, q.From, q.To)
	if err != nil {
		t.Fatal(err)
	}
	want, err := coverage.Compute(in, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Coverage differs from Compute(CoverageInput):\n got %+v\nwant %+v", what, got, want)
	}
	return got
}

func keptMonths(t *testing.T, s *testStore) int {
	t.Helper()
	var n int
	if err := s.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM coverage_months`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCoverageRollup: Rates.Coverage equals Compute(CoverageInput) cold,
// warm, and after each kind of change that must invalidate kept days.
func TestCoverageRollup(t *testing.T) {
	t.Run("by id", func(t *testing.T) { eachDB(t, testCoverageRollup) })
	t.Run("all gateways", func(t *testing.T) {
		defer func(n int) { rollupListMax = n }(rollupListMax)
		rollupListMax = 0
		eachDB(t, testCoverageRollup)
	})
}

func testCoverageRollup(t *testing.T, url string) {
	{
		s := open(t, url)
		c := newRollupCity(t, s)
		q := rollupQuery()
		all := registry.CanteenFilter{}

		cold := sameAsCompute(t, s, all, q, "cold")
		if cold.Total.Online.Den == 0 || cold.Total.CameraOnline.Den == 0 || cold.Total.Handling.Den == 0 || len(cold.Groups) != 3 {
			t.Fatalf("degenerate fixture: %+v", cold.Total)
		}
		if keptMonths(t, s) != 3 {
			t.Fatalf("kept months = %d, want 3 (c1, c2, c3 in March)", keptMonths(t, s))
		}
		warm := sameAsCompute(t, s, all, q, "warm")
		if !reflect.DeepEqual(warm, cold) {
			t.Fatal("warm differs from cold")
		}

		// The kept days are what answers: doctor c2's month and the
		// answer moves; forget it and it is recomputed.
		if _, err := s.Write().ExecContext(ctx, `UPDATE coverage_months SET days = $1 WHERE canteen_id = 'c2'`,
			[]byte{monthFormat, 1, 1, 0, 1, 1, 0}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Coverage(ctx, all, q); reflect.DeepEqual(got, cold) {
			t.Fatal("a doctored kept day did not change the answer: kept days are not used")
		}
		if _, err := s.Write().ExecContext(ctx, `DELETE FROM coverage_months WHERE canteen_id = 'c2'`); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "recomputed")

		// Other thresholds, filters, periods and Nows share the kept days.
		for _, tc := range []struct {
			name string
			f    registry.CanteenFilter
			q    func(q *coverage.Query)
		}{
			{"threshold 0.5", all, func(q *coverage.Query) { q.OnlineThreshold = 0.5 }},
			{"district d2", registry.CanteenFilter{District: "d2"}, func(q *coverage.Query) { q.District = "d2" }},
			{"category in the query only", all, func(q *coverage.Query) { q.Category = registry.CategorySchool }},
			{"regulator scope", registry.CanteenFilter{Scope: registry.Scope{Districts: []string{"d1"}}}, func(*coverage.Query) {}},
			{"one day", all, func(q *coverage.Query) { q.From = cst(3, "00:00"); q.To = q.From }},
			{"next day", all, func(q *coverage.Query) { q.To, q.Now = cst(6, "00:00"), cst(6, "09:00") }},
			{"as of before kept days ended", all, func(q *coverage.Query) { q.Now = cst(3, "15:00") }},
			{"future dates", all, func(q *coverage.Query) { q.To = cst(8, "00:00") }},
			{"into April", all, func(q *coverage.Query) {
				q.From, q.To, q.Now = cst(28, "00:00"), cst(28, "00:00").AddDate(0, 0, 5), cst(28, "00:00").AddDate(0, 0, 9)
			}},
		} {
			q := rollupQuery()
			tc.q(&q)
			sameAsCompute(t, s, tc.f, q, tc.name)
		}

		// A status replayed after an outage, for a kept day: the answer
		// changes, and is Compute's.
		before := sameAsCompute(t, s, all, q, "before replay")
		c.Ingest(t, c.Status("gw-2", "c2-a", cst(2, "13:00"), "offline", true), c.Status("gw-2", "c2-a", cst(2, "17:00"), wire.PictureOK, true))
		after := sameAsCompute(t, s, all, q, "replayed status")
		if reflect.DeepEqual(after.Days[1], before.Days[1]) {
			t.Fatalf("a replayed status on the 2nd did not change the 2nd: %+v", after.Days[1])
		}
		// Sessions recorded late, for the past: gw-3 was down from 23:00
		// on the 4th to 01:00 on the 5th, inside c3's night shift of the
		// 4th (22:00-06:00 in Tokyo, 21:00-05:00 here).
		before = after
		c.State(t, "gw-3", 1, false, cst(4, "23:00"))
		c.State(t, "gw-3", 2, true, cst(5, "01:00"))
		after = sameAsCompute(t, s, all, q, "late session")
		if reflect.DeepEqual(after.Days[3], before.Days[3]) {
			t.Fatalf("a late session change did not change the 4th: %+v", after.Days[3])
		}

		// registry.Registry changes: hours, required areas, mapping, binding, a new
		// camera, the zone, active.
		c2, err := s.Canteen(ctx, "c2")
		if err != nil {
			t.Fatal(err)
		}
		c2.Hours = coverage.EveryDay("07:00-12:00", "13:00-19:00")
		if _, err := s.PutCanteen(ctx, c2); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "hours changed")
		c1, _ := s.Canteen(ctx, "c1")
		c1.RequiredAreas = []string{registry.AreaCooking}
		if err := s.ImportCanteens(ctx, []registry.Canteen{c1}); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "areas changed")
		if err := s.MapCamera(ctx, "c1-a", registry.AreaWashing, false); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "camera mapped")
		if err := s.Heartbeat(ctx, "gw-3", wire.Heartbeat{V: 1, At: cst(5, "10:00"), Session: 2,
			Cameras: []wire.CameraHealth{{CameraID: "c3-x", Area: registry.AreaCooking}}}, cst(5, "10:00")); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "area from a heartbeat")
		if err := s.BindGateway(ctx, "gw-2", "c1"); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "gateway moved")
		c3, _ := s.Canteen(ctx, "c3")
		c3.TZ = "Asia/Shanghai"
		if _, err := s.PutCanteen(ctx, c3); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "zone changed")
		c4, _ := s.Canteen(ctx, "c4")
		c4.Active = true
		if _, err := s.PutCanteen(ctx, c4); err != nil {
			t.Fatal(err)
		}
		sameAsCompute(t, s, all, q, "canteen activated")

		// A later Now: the 5th is finished and kept too.
		q2 := q
		q2.Now = cst(7, "12:00")
		sameAsCompute(t, s, all, q2, "a later now")
		sameAsCompute(t, s, all, q2, "a later now, warm")
	}
}

// TestCoverageLateDataRace: a status stored after Coverage read its data
// but before it keeps days stops that canteen's days from being kept, so
// the next answer includes the status.
func TestCoverageLateDataRace(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		c := newRollupCity(t, s)
		q := rollupQuery()
		rollupBeforeKeep = func() {
			rollupBeforeKeep = nil
			c.Ingest(t, c.Status("gw-1", "c1-w", cst(2, "09:00"), "offline", true), c.Status("gw-1", "c1-w", cst(2, "17:00"), wire.PictureOK, true))
		}
		t.Cleanup(func() { rollupBeforeKeep = nil })
		if _, err := s.Coverage(ctx, registry.CanteenFilter{}, q); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM coverage_months WHERE canteen_id = 'c1'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("c1's days were kept though a late status arrived meanwhile")
		}
		if keptMonths(t, s) != 2 {
			t.Errorf("kept months = %d, want 2 (c2, c3)", keptMonths(t, s))
		}
		sameAsCompute(t, s, registry.CanteenFilter{}, q, "after the race")
	})
}

// The in-memory database has a single connection for reads and writes:
// Coverage's concurrent reads take turns on it.
func TestCoverageInMemory(t *testing.T) {
	s := open(t, "")
	newRollupCity(t, s)
	sameAsCompute(t, s, registry.CanteenFilter{}, rollupQuery(), "in memory")
	sameAsCompute(t, s, registry.CanteenFilter{}, rollupQuery(), "in memory, warm")
	if _, err := s.Coverage(ctx, registry.CanteenFilter{}, coverage.Query{}); err == nil || !errors.Is(err, coverage.ErrQuery) {
		t.Errorf("no from: %v", err)
	}
}

// A packed month round-trips, later days replacing earlier ones.
func TestPackedMonth(t *testing.T) {
	day := func(d int, open time.Duration, built bool) coverage.CanteenDay {
		return coverage.CanteenDay{Day: fmt.Sprintf("2025-03-%02d", d), Open: open, Built: built, Covered: open / 2,
			Healthy: open / 3, Camera: open, End: cst(d, "18:00")}
	}
	blob, ends, err := mergeMonth(nil, []coverage.CanteenDay{day(1, time.Hour, true), day(31, 10*time.Hour, false)})
	if err != nil {
		t.Fatal(err)
	}
	if ends != cst(31, "18:00").UnixMilli() {
		t.Errorf("first merge: ends %v", time.UnixMilli(ends))
	}
	blob, ends, err = mergeMonth(blob, []coverage.CanteenDay{day(1, 2*time.Hour, true), day(15, 0, false)})
	if err != nil {
		t.Fatal(err)
	}
	if ends != cst(31, "18:00").UnixMilli() {
		t.Errorf("ends %v", time.UnixMilli(ends))
	}
	var got []coverage.CanteenDay
	if err := decodeMonth(blob, func(dom int, x coverage.CanteenDay, end int64) {
		x.Day, x.End = fmt.Sprintf("2025-03-%02d", dom), time.UnixMilli(end)
		got = append(got, x)
	}); err != nil {
		t.Fatal(err)
	}
	want := []coverage.CanteenDay{day(1, 2*time.Hour, true), day(15, 0, false), day(31, 10*time.Hour, false)}
	for i := range want {
		want[i].End = time.UnixMilli(want[i].End.UnixMilli())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range [][]byte{nil, {9}, {monthFormat, 1, 2}, {monthFormat, 40, 0, 0, 0, 0, 0}} {
		if err := decodeMonth(bad, func(int, coverage.CanteenDay, int64) {}); !errors.Is(err, errBadMonth) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// A canceled call returns its error and leaves no goroutine behind
// (goleak checks, TestMain).
func TestCoverageCanceled(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		newRollupCity(t, s)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Coverage(c, registry.CanteenFilter{}, rollupQuery()); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v", err)
		}
	})
}

// TestWarmCoverage: warming keeps the finished days of the period, and
// the rates read afterwards are the same.
func TestWarmCoverage(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		newRollupCity(t, s)
		q := rollupQuery()
		if err := s.WarmCoverage(ctx, q.Now, 5); err != nil {
			t.Fatal(err)
		}
		if n := keptMonths(t, s); n != 3 { // c1, c2, c3: March (c4 is inactive)
			t.Fatalf("kept months after warming: %d, want 3", n)
		}
		sameAsCompute(t, s, registry.CanteenFilter{}, q, "after warming")
		if err := s.WarmCoverage(ctx, q.Now, 0); err == nil || !errors.Is(err, coverage.ErrQuery) {
			t.Fatalf("warming 0 days: %v, want a query error", err)
		}
	})
}
