package retention

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"30d", 30 * Day, false},
		{"0", 0, false},
		{"0d", 0, false},
		{"720h", 720 * time.Hour, false},
		{" 400d ", 400 * Day, false},
		{"-1d", 0, true},
		{"-5h", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"99999999d", 0, true},
		{"forever", 0, true},
	} {
		got, err := ParsePeriod(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// retNow is the time the retention tests run at.
var retNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return retNow.Add(-time.Duration(n) * Day) }

// retFixture stores alarms and events in every state retention tells
// apart, under Default, and says which must lose their snapshot,
// their photo, or themselves.
type retFixture struct {
	s  *testStore
	id map[string]int64
}

func newRetFixture(t *testing.T, url string) retFixture {
	t.Helper()
	s := open(t, url)
	if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true}); err != nil {
		t.Fatal(err)
	}
	addGateway(t, s, "gw-1", "c1")
	f := retFixture{s: s, id: map[string]int64{}}
	seq := uint64(0)
	add := func(name string, at time.Time, phase string) int64 {
		t.Helper()
		seq++
		ev, jpeg := withSnapshot(event(seq, "no_mask", at), []byte("jpeg of "+name))
		ev.Phase = phase
		if phase != "" {
			ev.Episode = "EP" + name
		}
		if _, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-1", Event: ev, Snapshot: jpeg}}); err != nil {
			t.Fatal(err)
		}
		vs, err := s.Violations(ctx, alarms.ViolationFilter{GatewayID: "gw-1", Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Seq == seq {
				f.id[name] = v.ID
				return v.ID
			}
		}
		t.Fatalf("event %s not stored", name)
		return 0
	}
	review := func(id int64, verdict string, at time.Time) {
		t.Helper()
		if _, err := s.Review(ctx, id, "reviewer", verdict, "", at); err != nil {
			t.Fatal(err)
		}
	}
	closeAlarm := func(id int64, at time.Time) {
		t.Helper()
		review(id, coverage.VerdictConfirmed, at.Add(-2*time.Hour))
		if _, err := s.SubmitRectification(ctx, id, "operator", "fixed", []byte("photo"), "image/jpeg", at.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideRectification(ctx, id, "reviewer", alarms.DecisionAccepted, "", at); err != nil {
			t.Fatal(err)
		}
	}
	review(add("dismissed-old", daysAgo(45), ""), coverage.VerdictDismissed, daysAgo(40))
	review(add("dismissed-new", daysAgo(45), ""), coverage.VerdictDismissed, daysAgo(20)) // 45 days old, dismissed 20 days ago
	closeAlarm(add("closed-old", daysAgo(420), ""), daysAgo(400))
	closeAlarm(add("closed-new", daysAgo(420), wire.PhaseStart), daysAgo(100)) // closed 100 days ago
	add("open-old", daysAgo(500), "")                                          // never reviewed: an open case
	review(add("confirmed-old", daysAgo(500), ""), coverage.VerdictConfirmed, daysAgo(499))
	add("update-old", daysAgo(400), wire.PhaseUpdate)
	add("update-new", daysAgo(100), wire.PhaseUpdate)
	add("ancient", daysAgo(1200), "")
	review(add("ancient-confirmed", daysAgo(1200), ""), coverage.VerdictConfirmed, daysAgo(1199))
	closeAlarm(add("ancient-closed", daysAgo(1200), ""), daysAgo(1190))
	add("ancient-update", daysAgo(1100), wire.PhaseEnd)

	// The audit log, user sessions and invites, by SQL: their times are
	// set by the clock otherwise.
	for i, at := range []time.Time{daysAgo(1100), daysAgo(1096), daysAgo(1094), daysAgo(10)} {
		if _, err := s.Write().ExecContext(ctx, `INSERT INTO audit (at, actor, action, detail) VALUES ($1, 'admin', 'test', $2)`,
			store.Ms(at), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddUser(ctx, auth.User{ID: "u1", Role: auth.RoleAdmin}, "a long enough password"); err != nil {
		t.Fatal(err)
	}
	for i, exp := range []time.Time{daysAgo(40), daysAgo(31), daysAgo(10), retNow.Add(time.Hour)} {
		if _, err := s.Write().ExecContext(ctx, `INSERT INTO user_sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, 'u1', $2, $3)`,
			fmt.Sprintf("s%d", i), store.Ms(exp.Add(-Day)), store.Ms(exp)); err != nil {
			t.Fatal(err)
		}
	}
	for i, inv := range []struct {
		exp  time.Time
		used any
	}{{daysAgo(40), nil}, {retNow.Add(Day), store.Ms(daysAgo(40))}, {daysAgo(10), nil}, {retNow.Add(Day), store.Ms(daysAgo(10))}, {retNow.Add(Day), nil}} {
		if _, err := s.Write().ExecContext(ctx, `INSERT INTO invites (code_hash, canteen_id, created_by, created_at, expires_at, used_at)
			VALUES ($1, 'c1', 'admin', $2, $3, $4)`, fmt.Sprintf("i%d", i), store.Ms(daysAgo(100)), store.Ms(inv.exp), inv.used); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []struct {
		exp           time.Time
		used, revoked any
	}{{daysAgo(40), nil, nil}, {retNow.Add(Day), store.Ms(daysAgo(40)), nil}, {daysAgo(10), nil, nil},
		{retNow.Add(Day), store.Ms(daysAgo(10)), nil}, {retNow.Add(Day), nil, store.Ms(daysAgo(40))}, {retNow.Add(Day), nil, nil}} {
		if _, err := s.Write().ExecContext(ctx, `INSERT INTO enrol_codes (id, code_hash, canteen_id, created_by, created_at, expires_at, used_at, revoked_at)
			VALUES ($1, $1, 'c1', 'admin', $2, $3, $4, $5)`, fmt.Sprintf("e%d", i), store.Ms(daysAgo(100)), store.Ms(c.exp), c.used, c.revoked); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f retFixture) column(t *testing.T, q string) []string {
	t.Helper()
	rows, err := f.s.Read().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestRetention: one pass of the default retention drops exactly the
// expired snapshots, photos, events, audit entries, sessions and invites,
// keeps every other row, and marks what it dropped from kept events.
func TestRetention(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := newRetFixture(t, url)
		s := f.s
		names := map[int64]string{}
		for n, id := range f.id {
			names[id] = n
		}
		n, err := s.Retain(ctx, Default(), retNow)
		if err != nil {
			t.Fatal(err)
		}

		// Events: the ancient ones go, but not an open case.
		vs, err := s.Violations(ctx, alarms.ViolationFilter{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		var kept, snap, expired []string
		for _, v := range vs {
			kept = append(kept, names[v.ID])
			if v.HasSnapshot {
				snap = append(snap, names[v.ID])
			}
			if v.SnapshotExpired {
				expired = append(expired, names[v.ID])
				if v.HasSnapshot || v.Snapshot == nil {
					t.Errorf("%s: expired, but has_snapshot %v, reference %v", names[v.ID], v.HasSnapshot, v.Snapshot)
				}
			}
		}
		slices.Sort(kept)
		slices.Sort(snap)
		slices.Sort(expired)
		want := func(what string, got []string, want ...string) {
			t.Helper()
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s = %v\nwant %v", what, got, want)
			}
		}
		want("events kept", kept, "dismissed-old", "dismissed-new", "closed-old", "closed-new", "open-old", "confirmed-old",
			"update-old", "update-new", "ancient-confirmed")
		want("snapshots kept", snap, "dismissed-new", "closed-new", "open-old", "confirmed-old", "update-new", "ancient-confirmed")
		want("snapshots expired", expired, "dismissed-old", "closed-old", "update-old")
		if _, err := s.Snapshot(ctx, f.id["dismissed-old"]); !errors.Is(err, store.ErrExpired) {
			t.Errorf("Snapshot of an expired one: %v, want store.ErrExpired", err)
		}
		if _, err := s.Snapshot(ctx, f.id["ancient"]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Snapshot of a deleted event: %v, want store.ErrNotFound", err)
		}
		if b, err := s.Snapshot(ctx, f.id["dismissed-new"]); err != nil || string(b) != "jpeg of dismissed-new" {
			t.Errorf("Snapshot of a kept one: %q, %v", b, err)
		}
		// Photos: of the alarm closed 400 days ago only.
		for name, wantExpired := range map[string]bool{"closed-old": true, "closed-new": false, "ancient-confirmed": false} {
			rs, err := s.Rectifications(ctx, f.id[name])
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.PhotoExpired != wantExpired || r.HasPhoto == wantExpired {
					t.Errorf("%s: rectification photo expired %v, has %v; want expired %v", name, r.PhotoExpired, r.HasPhoto, wantExpired)
				}
				_, _, err := s.RectificationPhoto(ctx, f.id[name], r.ID)
				if wantExpired && !errors.Is(err, store.ErrExpired) || !wantExpired && err != nil {
					t.Errorf("%s: RectificationPhoto: %v", name, err)
				}
			}
		}
		// The deleted events' rows in other tables went with them.
		want("orphan rows", f.column(t, `SELECT 'rect' FROM rectifications WHERE violation_id NOT IN (SELECT id FROM events)
			UNION ALL SELECT 'history' FROM violation_history WHERE violation_id NOT IN (SELECT id FROM events)
			UNION ALL SELECT 'snapshot' FROM snapshots x WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.gateway_id = x.gateway_id AND e.event_id = x.event_id)`))
		want("audit kept", f.column(t, `SELECT detail FROM audit WHERE actor = 'admin' AND action = 'test'`), "2", "3")
		want("sessions kept", f.column(t, `SELECT id_hash FROM user_sessions`), "s2", "s3")
		want("invites kept", f.column(t, `SELECT code_hash FROM invites`), "i2", "i3", "i4")
		want("enrolment codes kept", f.column(t, `SELECT id FROM enrol_codes`), "e2", "e3", "e5")

		// Snapshots counts those expired from kept events; the deleted
		// events' went with them.
		wantN := map[string]int64{RetainedSnapshots: 3, RetainedPhotos: 1, RetainedEvents: 3, RetainedAudit: 2,
			RetainedUserSessions: 2, RetainedInvites: 2, RetainedEnrolCodes: 3}
		for k, v := range n {
			if v != wantN[k] {
				t.Errorf("count %s = %d, want %d (all: %v)", k, v, wantN[k], n)
			}
		}

		// A second pass finds nothing more.
		if n, err := s.Retain(ctx, Default(), retNow); err != nil || sum(n) != 0 {
			t.Errorf("second pass: %v, %v", n, err)
		}
		// Zero keeps forever: a year later with everything at 0, nothing goes.
		if n, err := s.Retain(ctx, Policy{}, retNow.AddDate(5, 0, 0)); err != nil || sum(n) != 0 {
			t.Errorf("keep forever: %v, %v", n, err)
		}
	})
}

func sum(n map[string]int64) (t int64) {
	for _, v := range n {
		t += v
	}
	return t
}

// TestRetentionBatches: no transaction deletes more than Batch rows, and
// MaxBatches bounds one pass; the next passes finish the work.
func TestRetentionBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		for i := range 25 {
			if _, err := s.Write().ExecContext(ctx, `INSERT INTO audit (at, actor, action) VALUES ($1, 'admin', 'test')`, store.Ms(daysAgo(2000+i))); err != nil {
				t.Fatal(err)
			}
		}
		r := Policy{Audit: 1095 * Day, Batch: 4, MaxBatches: 3}
		var passes []int64
		for range 10 {
			n, err := s.Retain(ctx, r, retNow)
			if err != nil {
				t.Fatal(err)
			}
			if n[RetainedAudit] == 0 {
				break
			}
			passes = append(passes, n[RetainedAudit])
		}
		if want := []int64{12, 12, 1}; !reflect.DeepEqual(passes, want) {
			t.Fatalf("deleted per pass %v, want %v (3 batches of 4 at most)", passes, want)
		}
	})
}

// TestRetentionLease: one holder at a time; a lease frees itself when it
// expires; its holder renews it.
func TestRetentionLease(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		claim := func(holder string, at time.Time, want bool) {
			t.Helper()
			ok, err := s.ClaimLease(ctx, "retention", holder, at, time.Hour)
			if err != nil || ok != want {
				t.Fatalf("%s at %v: %v, %v; want %v", holder, at, ok, err, want)
			}
		}
		claim("a", retNow, true)
		claim("b", retNow.Add(time.Minute), false)
		claim("a", retNow.Add(30*time.Minute), true) // renewed to 1:30
		claim("b", retNow.Add(time.Hour+time.Minute), false)
		claim("b", retNow.Add(90*time.Minute), true)
		claim("a", retNow.Add(91*time.Minute), false)
	})
}

// TestRetentionHealth: deleting the health intervals of old months leaves
// their rates as they were, even after a registry change that makes the
// rollup recompute what it still can, and after late data for them; the
// intervals of the months not yet old enough stay.
func TestRetentionHealth(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		c := newRollupCity(t, s)
		march := coverage.Query{From: cst(1, "00:00"), To: cst(6, "00:00"), Now: cst(20, "00:00")}
		// March's rates as computed from the intervals, not kept: retention
		// must have the rollup keep them before deleting.
		in, err := s.CoverageInput(ctx, registry.CanteenFilter{ActiveOnly: true}, march.From, march.To)
		if err != nil {
			t.Fatal(err)
		}
		before, err := coverage.Compute(in, march)
		if err != nil {
			t.Fatal(err)
		}
		if keptMonths(t, s) != 0 {
			t.Fatal("March kept before retention")
		}
		// A status of April, which April's rates (not old enough) read.
		c.Ingest(t, c.Status("gw-2", "c2-a", time.Date(2025, 4, 20, 12, 0, 0, 0, time.UTC), wire.PictureOK, false))
		count := func(q string) int {
			t.Helper()
			var n int
			if err := s.Read().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		ivs, sts := count(`SELECT COUNT(*) FROM camera_intervals`), count(`SELECT COUNT(*) FROM camera_status`)

		// 400 days before 2026-05-10 is in April 2025: March is old.
		now := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
		r := Policy{Health: 400 * Day, Batch: 7}
		n, err := s.Retain(ctx, r, now)
		if err != nil {
			t.Fatal(err)
		}
		if n[RetainedIntervals] == 0 || n[RetainedStatuses] == 0 || n[RetainedGatewaySession] == 0 {
			t.Fatalf("nothing deleted: %v", n)
		}
		if got := count(`SELECT COUNT(*) FROM camera_intervals`); int64(got) != int64(ivs)-n[RetainedIntervals] || got == 0 {
			t.Fatalf("intervals %d -> %d, deleted %d", ivs, got, n[RetainedIntervals])
		}
		if got := count(`SELECT COUNT(*) FROM camera_intervals WHERE end_at IS NOT NULL AND end_at < ` +
			fmt.Sprint(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).Add(-14*time.Hour).UnixMilli())); got != 0 {
			t.Fatalf("%d intervals of March left", got)
		}
		if got := count(`SELECT COUNT(*) FROM camera_status WHERE at >= ` + fmt.Sprint(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).UnixMilli())); got != 1 {
			t.Fatalf("April's statuses: %d, want 1 (of %d)", got, sts)
		}
		after, err := s.Coverage(ctx, registry.CanteenFilter{}, march)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, before) {
			t.Fatalf("March's rates changed by retention:\n got %+v\nwant %+v", after.Total, before.Total)
		}
		// A registry change: the rollup would recompute March from the
		// intervals, which are gone; March is final instead.
		ct, err := s.Canteen(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		ct.Hours = coverage.EveryDay("07:00-19:00")
		if _, err := s.PutCanteen(ctx, ct); err != nil {
			t.Fatal(err)
		}
		// Late data of March.
		c.Ingest(t, c.Status("gw-1", "c1-a", cst(3, "10:00"), "dark", true))
		after, err = s.Coverage(ctx, registry.CanteenFilter{}, march)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after.Total, before.Total) {
			t.Fatalf("March's rates changed after retention and a registry change:\n got %+v\nwant %+v", after.Total, before.Total)
		}
	})
}

// TestRetentionEventsHorizon: once events are deleted, a period before
// the oldest kept is refused rather than counted without them.
func TestRetentionEventsHorizon(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		newRollupCity(t, s)
		q := coverage.Query{From: cst(1, "00:00"), To: cst(6, "00:00"), Now: cst(20, "00:00")}
		if _, err := s.Coverage(ctx, registry.CanteenFilter{}, q); err != nil {
			t.Fatal(err)
		}
		// Three years after March 4th: the 1st to the 3rd are gone.
		now := cst(4, "12:00").AddDate(3, 0, 0)
		if _, err := s.Retain(ctx, Policy{Events: 1095 * Day}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Coverage(ctx, registry.CanteenFilter{}, q); !errors.Is(err, coverage.ErrQuery) {
			t.Fatalf("Coverage of a period with deleted events: %v, want ErrQuery", err)
		}
		q.From = cst(6, "00:00")
		if _, err := s.Coverage(ctx, registry.CanteenFilter{}, q); err != nil {
			t.Fatalf("Coverage after the horizon: %v", err)
		}
	})
}

// BenchmarkRetainSnapshots: a pass that expires 10,000 dismissed alarms'
// 20 KB snapshots out of 20,000 events on SQLite, in batches of 1,000: the
// time per batch is how long retention holds the write lock at a time.
func BenchmarkRetainSnapshots(b *testing.B) {
	const events, batch = 20000, 1000
	jpeg := make([]byte, 20<<10)
	for i := range jpeg {
		jpeg[i] = byte(i * 7)
	}
	for b.Loop() {
		b.StopTimer()
		s := open(b, storetest.Backends()[0].Fresh(b))
		addGateway(b, s, "gw-1", "c1")
		for lo := 0; lo < events; lo += 500 {
			var items []registry.IngestItem
			for i := lo; i < lo+500; i++ {
				ev, snap := withSnapshot(event(uint64(i+1), "no_mask", daysAgo(90).Add(time.Duration(i)*time.Second)), jpeg)
				items = append(items, registry.IngestItem{GatewayID: "gw-1", Event: ev, Snapshot: snap})
			}
			if _, err := s.Ingest(ctx, items); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.Write().ExecContext(ctx, `UPDATE events SET status = 'dismissed', verdict = 'dismissed', reviewed_at = $1
			WHERE seq % 2 = 0`, store.Ms(daysAgo(60))); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		n, err := s.Retain(ctx, Policy{DismissedSnapshots: 30 * Day, Batch: batch}, retNow)
		if err != nil || n[RetainedSnapshots] != events/2 {
			b.Fatalf("Retain: %v, %v", n, err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(events/2/batch), "ms/batch")
		s.Close()
	}
}

// TestRetentionMarksForward: a horizon never moves back, whether a later
// pass keeps longer or an older pass finishes last.
func TestRetentionMarksForward(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		newRollupCity(t, s)
		now := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
		if _, err := s.Retain(ctx, Policy{Events: 400 * Day, Health: 400 * Day}, now); err != nil {
			t.Fatal(err)
		}
		m1, err := store.ReadMarks(ctx, s.Read())
		if err != nil || m1.Frozen.Format("2006-01") != "2025-04" || m1.EventsBefore != store.Ms(now.Add(-400*Day)) {
			t.Fatalf("marks %+v, %v", m1, err)
		}
		for _, at := range []time.Time{now.AddDate(0, -2, 0), now} {
			if _, err := s.Retain(ctx, Policy{Events: 1095 * Day, Health: 1000 * Day}, at); err != nil {
				t.Fatal(err)
			}
		}
		if m2, err := store.ReadMarks(ctx, s.Read()); err != nil || m2 != m1 {
			t.Fatalf("marks moved from %+v to %+v, %v", m1, m2, err)
		}
	})
}

// TestRetentionSnapshotUsage: the daily snapshot quota's counts of the days
// before yesterday go, whatever the settings; yesterday's and today's stay.
func TestRetentionSnapshotUsage(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		if _, _, err := s.AddGateway(ctx, "gw-q", "c-q"); err != nil {
			t.Fatal(err)
		}
		for _, d := range []int{0, 1, 2, 30} {
			day := retNow.UTC().AddDate(0, 0, -d).Format(time.DateOnly)
			if _, err := s.Write().ExecContext(ctx, `INSERT INTO snapshot_usage (gateway_id, day, bytes) VALUES ('gw-q', $1, 100)`, day); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.Retain(ctx, Policy{}, retNow)
		if err != nil {
			t.Fatal(err)
		}
		if n[RetainedSnapshotUsage] != 2 {
			t.Errorf("deleted %d usage rows, want 2", n[RetainedSnapshotUsage])
		}
		var left int
		if err := s.Write().QueryRowContext(ctx, `SELECT COUNT(*) FROM snapshot_usage`).Scan(&left); err != nil || left != 2 {
			t.Fatalf("%d rows left (%v), want today's and yesterday's", left, err)
		}
	})
}
