package alarms

// Long file: one test per step of the alarm workflow, each on both SQLite and
// PostgreSQL.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// wfFixture is a store with two registered canteens (c1 in xuhui, c2 in
// minhang), a gateway on each and one without a canteen, and their events:
//
//	a1:   gw-1, no_mask, phase "" at t0         (an alarm)
//	a2:   gw-1, smoking, phase start at t0+10m  (an alarm) with
//	upd:  its update and
//	end:  its end (not alarms)
//	b1:   gw-2, rodent at t0+20m                (an alarm)
//	n1:   gw-3 (no canteen), no_mask at t0+30m  (an alarm)
type wfFixture struct {
	s                        *testStore
	a1, a2, upd, end, b1, n1 int64
}

func wfSetup(t *testing.T, url string, wf Workflow) wfFixture {
	t.Helper()
	s := open(t, url)
	s.Workflow = wf
	for _, c := range []registry.Canteen{
		{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true},
		{ID: "c2", Name: "No. 2 Middle", District: "minhang", Active: true},
	} {
		if _, err := s.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	addGateway(t, s, "gw-1", "c1")
	addGateway(t, s, "gw-2", "c2")
	addGateway(t, s, "gw-3", "")
	ev := func(seq uint64, typ string, at time.Duration, phase string) *wire.Event {
		e := event(seq, typ, t0.Add(at))
		e.Phase = phase
		if phase != "" {
			e.Episode = "EV00000002"
		}
		return e
	}
	if _, err := s.Ingest(ctx, []registry.IngestItem{
		{GatewayID: "gw-1", Event: ev(1, "no_mask", 0, "")},
		{GatewayID: "gw-1", Event: ev(2, "smoking", 10*time.Minute, wire.PhaseStart)},
		{GatewayID: "gw-1", Event: ev(3, "smoking", 11*time.Minute, wire.PhaseUpdate)},
		{GatewayID: "gw-1", Event: ev(4, "smoking", 12*time.Minute, wire.PhaseEnd)},
		{GatewayID: "gw-2", Event: ev(1, "rodent", 20*time.Minute, "")},
		{GatewayID: "gw-3", Event: ev(1, "no_mask", 30*time.Minute, "")},
	}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Violations(ctx, ViolationFilter{})
	if err != nil || len(vs) != 6 {
		t.Fatalf("Violations = %d, %v", len(vs), err)
	}
	ids := map[string]int64{}
	for _, v := range vs {
		ids[fmt.Sprintf("%s/%d", v.GatewayID, v.Seq)] = v.ID
	}
	return wfFixture{s: s, a1: ids["gw-1/1"], a2: ids["gw-1/2"], upd: ids["gw-1/3"], end: ids["gw-1/4"],
		b1: ids["gw-2/1"], n1: ids["gw-3/1"]}
}

func wfGet(t *testing.T, s *testStore, id int64) Violation {
	t.Helper()
	v, err := s.Violation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wfIDs(vs []Violation) []int64 {
	out := []int64{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func wfNoticeKinds(ns []Notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, fmt.Sprintf("%d:%s", n.ViolationID, n.Kind))
	}
	return out
}

func TestWorkflowFullPath(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{Webhook: true})
		s := f.s
		v := wfGet(t, s, f.a1)
		if !v.Alarm || v.Status != StatusNew || v.CanteenName != "No. 1 Primary" || v.District != "xuhui" ||
			!v.ReviewDue.Equal(t0.Add(24*time.Hour)) || !v.ReviewedAt.IsZero() || !v.RectifyDue.IsZero() {
			t.Fatalf("new alarm: %+v", v)
		}
		if h, err := s.History(ctx, f.a1); err != nil || len(h) != 0 {
			t.Fatalf("History of a new alarm = %v, %v", h, err)
		}
		if r, err := s.Rectifications(ctx, f.a1); err != nil || len(r) != 0 {
			t.Fatalf("Rectifications of a new alarm = %v, %v", r, err)
		}

		// new → confirmed
		t1 := t0.Add(time.Hour)
		v, err := s.Review(ctx, f.a1, "reg-1", coverage.VerdictConfirmed, "no mask, clearly", t1)
		if err != nil {
			t.Fatal(err)
		}
		due1 := t1.Add(DefaultRectifyDeadline)
		if v.Status != StatusConfirmed || v.Verdict != coverage.VerdictConfirmed || !v.ReviewedAt.Equal(t1) ||
			v.ReviewedBy != "reg-1" || v.ReviewNote != "no mask, clearly" || !v.RectifyDue.Equal(due1) {
			t.Fatalf("confirmed: %+v", v)
		}
		ns, err := s.Notices(ctx, NoticeFilter{})
		if err != nil || len(ns) != 1 {
			t.Fatalf("Notices = %v, %v", ns, err)
		}
		want := fmt.Sprintf("Alarm %d (no_mask, cam1) confirmed: rectify by 2025-03-04 17:00 (Asia/Shanghai)", f.a1)
		if n := ns[0]; n.Kind != NoticeConfirmed || n.CanteenID != "c1" || n.CanteenName != "No. 1 Primary" ||
			n.ViolationID != f.a1 || n.ViolationType != "no_mask" || n.Text != want || !n.DueAt.Equal(due1) ||
			!n.At.Equal(t1) || !n.ReadAt.IsZero() {
			t.Fatalf("confirmed notice: %+v; want text %q", n, want)
		}

		// confirmed → rectifying, with a photo
		t2 := t1.Add(2 * time.Hour)
		photo := []byte("\xff\xd8\xff jpeg bytes")
		r1, err := s.SubmitRectification(ctx, f.a1, "op-1", "masks handed out", photo, "image/jpeg", t2)
		if err != nil {
			t.Fatal(err)
		}
		if r1.ID == 0 || r1.ViolationID != f.a1 || r1.SubmittedBy != "op-1" || !r1.SubmittedAt.Equal(t2) || !r1.HasPhoto ||
			r1.PhotoType != "image/jpeg" || r1.Decision != "" {
			t.Fatalf("rectification: %+v", r1)
		}
		if v := wfGet(t, s, f.a1); v.Status != StatusRectifying {
			t.Fatalf("after submitting: %s", v.Status)
		}

		// rectifying → confirmed (rejected), with a new due date
		t3 := t2.Add(time.Hour)
		v, err = s.DecideRectification(ctx, f.a1, "reg-1", DecisionRejected, "photo too dark", t3)
		if err != nil {
			t.Fatal(err)
		}
		due2 := t3.Add(DefaultRectifyDeadline)
		if v.Status != StatusConfirmed || !v.RectifyDue.Equal(due2) || !v.ClosedAt.IsZero() || !v.RectifiedAt.IsZero() {
			t.Fatalf("rejected: %+v", v)
		}

		// confirmed → rectifying (no photo) → closed (accepted)
		t4 := t3.Add(time.Hour)
		r2, err := s.SubmitRectification(ctx, f.a1, "op-2", "new photo on paper", nil, "", t4)
		if err != nil || r2.HasPhoto || r2.ID <= r1.ID {
			t.Fatalf("second rectification: %+v, %v", r2, err)
		}
		t5 := t4.Add(time.Hour)
		v, err = s.DecideRectification(ctx, f.a1, "reg-2", DecisionAccepted, "", t5)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != StatusClosed || !v.RectifiedAt.Equal(t5) || !v.ClosedAt.Equal(t5) || v.Overdue != "" {
			t.Fatalf("accepted: %+v", v)
		}

		h, err := s.History(ctx, f.a1)
		if err != nil {
			t.Fatal(err)
		}
		wantH := []HistoryEntry{
			{At: t1, Actor: "reg-1", Action: ActionReview, From: StatusNew, To: StatusConfirmed, Note: "no mask, clearly"},
			{At: t2, Actor: "op-1", Action: ActionRectification, From: StatusConfirmed, To: StatusRectifying, Note: "masks handed out"},
			{At: t3, Actor: "reg-1", Action: ActionDecision, From: StatusRectifying, To: StatusConfirmed, Note: "photo too dark"},
			{At: t4, Actor: "op-2", Action: ActionRectification, From: StatusConfirmed, To: StatusRectifying, Note: "new photo on paper"},
			{At: t5, Actor: "reg-2", Action: ActionDecision, From: StatusRectifying, To: StatusClosed},
		}
		if !slices.EqualFunc(h, wantH, func(a, b HistoryEntry) bool {
			return a.At.Equal(b.At) && a.Actor == b.Actor && a.Action == b.Action && a.From == b.From && a.To == b.To && a.Note == b.Note
		}) {
			t.Fatalf("History =\n%+v\nwant\n%+v", h, wantH)
		}

		rs, err := s.Rectifications(ctx, f.a1)
		if err != nil || len(rs) != 2 {
			t.Fatalf("Rectifications = %+v, %v", rs, err)
		}
		if r := rs[0]; r.ID != r1.ID || r.Decision != DecisionRejected || r.DecidedBy != "reg-1" || !r.DecidedAt.Equal(t3) ||
			r.DecisionNote != "photo too dark" || !r.HasPhoto || r.Note != "masks handed out" {
			t.Fatalf("first rectification: %+v", r)
		}
		if r := rs[1]; r.ID != r2.ID || r.Decision != DecisionAccepted || r.DecidedBy != "reg-2" || !r.DecidedAt.Equal(t5) || r.HasPhoto {
			t.Fatalf("second rectification: %+v", r)
		}
		if b, typ, err := s.RectificationPhoto(ctx, f.a1, r1.ID); err != nil || string(b) != string(photo) || typ != "image/jpeg" {
			t.Fatalf("RectificationPhoto = %q, %q, %v", b, typ, err)
		}
		for _, c := range []struct{ v, r int64 }{{f.a1, r2.ID}, {f.b1, r1.ID}, {f.a1, 99999}} {
			if _, _, err := s.RectificationPhoto(ctx, c.v, c.r); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RectificationPhoto(%d, %d): %v; want store.ErrNotFound", c.v, c.r, err)
			}
		}

		ns, err = s.Notices(ctx, NoticeFilter{})
		if got := wfNoticeKinds(ns); err != nil || !slices.Equal(got, []string{
			fmt.Sprintf("%d:%s", f.a1, NoticeRectificationRejected), fmt.Sprintf("%d:%s", f.a1, NoticeConfirmed)}) {
			t.Fatalf("Notices = %v, %v", got, err)
		}
		if !ns[0].DueAt.Equal(due2) || !strings.Contains(ns[0].Text, "rectification rejected: rectify by 2025-03-04 20:00 (Asia/Shanghai)") {
			t.Fatalf("rejected notice: %+v", ns[0])
		}
		if _, err := s.History(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("History(99999): %v", err)
		}
		if _, err := s.Rectifications(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Rectifications(99999): %v", err)
		}
	})
}

func TestWorkflowDismissed(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		v, err := f.s.Review(ctx, f.b1, "reg-1", coverage.VerdictDismissed, "a cat, not a rat", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != StatusDismissed || v.Verdict != coverage.VerdictDismissed || !v.RectifyDue.IsZero() ||
			v.ReviewedAt.IsZero() || time.Since(v.ReviewedAt) > time.Minute || v.Overdue != "" {
			t.Fatalf("dismissed: %+v", v)
		}
		if ns, _ := f.s.Notices(ctx, NoticeFilter{}); len(ns) != 0 {
			t.Fatalf("dismissing made notices: %v", wfNoticeKinds(ns))
		}
		if _, err := f.s.SubmitRectification(ctx, f.b1, "op", "", nil, "", t0); !errors.Is(err, store.ErrWrongState) {
			t.Fatalf("rectifying a dismissed alarm: %v", err)
		}
	})
}

func TestWorkflowRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		s := f.s
		if _, err := s.Review(ctx, f.a1, "reg", coverage.VerdictConfirmed, "", t0); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			do     func() error
			target error
			substr string
		}{
			{"review twice", func() error {
				_, err := s.Review(ctx, f.a1, "reg", coverage.VerdictDismissed, "", t0)
				return err
			}, store.ErrWrongState, "is confirmed, not new"},
			{"rectify a new alarm", func() error {
				_, err := s.SubmitRectification(ctx, f.b1, "op", "", nil, "", t0)
				return err
			}, store.ErrWrongState, "is new, not confirmed"},
			{"decide a confirmed alarm", func() error {
				_, err := s.DecideRectification(ctx, f.a1, "reg", DecisionAccepted, "", t0)
				return err
			}, store.ErrWrongState, "is confirmed, not rectifying"},
			{"review an update", func() error {
				_, err := s.Review(ctx, f.upd, "reg", coverage.VerdictConfirmed, "", t0)
				return err
			}, store.ErrNotAlarm, `"update"`},
			{"rectify an end", func() error {
				_, err := s.SubmitRectification(ctx, f.end, "op", "", nil, "", t0)
				return err
			}, store.ErrNotAlarm, `"end"`},
			{"review a missing one", func() error {
				_, err := s.Review(ctx, 99999, "reg", coverage.VerdictConfirmed, "", t0)
				return err
			}, store.ErrNotFound, "99999"},
			{"bad verdict", func() error {
				_, err := s.Review(ctx, f.b1, "reg", "maybe", "", t0)
				return err
			}, store.ErrInvalid, "verdict"},
			{"long note", func() error {
				_, err := s.Review(ctx, f.b1, "reg", coverage.VerdictConfirmed, strings.Repeat("x", MaxNote+1), t0)
				return err
			}, store.ErrInvalid, "note"},
			{"no actor", func() error {
				_, err := s.Review(ctx, f.b1, "", coverage.VerdictConfirmed, "", t0)
				return err
			}, store.ErrInvalid, "actor"},
			{"bad decision", func() error {
				_, err := s.DecideRectification(ctx, f.a1, "reg", "fine", "", t0)
				return err
			}, store.ErrInvalid, "decision"},
			{"big photo", func() error {
				_, err := s.SubmitRectification(ctx, f.a1, "op", "", make([]byte, MaxPhoto+1), "image/png", t0)
				return err
			}, store.ErrInvalid, "photo"},
			{"photo type", func() error {
				_, err := s.SubmitRectification(ctx, f.a1, "op", "", []byte("GIF89a"), "image/gif", t0)
				return err
			}, store.ErrInvalid, "photo_type"},
		}
		for _, c := range cases {
			err := c.do()
			if !errors.Is(err, c.target) || !strings.Contains(err.Error(), c.substr) {
				t.Errorf("%s: err = %v; want %v naming %q", c.name, err, c.target, c.substr)
			}
		}
		// Nothing refused left a trace.
		if h, _ := s.History(ctx, f.a1); len(h) != 1 {
			t.Errorf("history after refusals: %+v", h)
		}
		if h, _ := s.History(ctx, f.b1); len(h) != 0 {
			t.Errorf("history of b1 after refusals: %+v", h)
		}
		if v := wfGet(t, s, f.b1); v.Status != StatusNew {
			t.Errorf("b1 is %s", v.Status)
		}
		if rs, _ := s.Rectifications(ctx, f.a1); len(rs) != 0 {
			t.Errorf("rectifications after refusals: %+v", rs)
		}
	})
}

func TestWorkflowConcurrentReview(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{Webhook: true})
		for _, id := range []int64{f.a1, f.a2, f.b1} {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i := range errs {
				wg.Go(func() {
					<-start
					_, errs[i] = f.s.Review(ctx, id, fmt.Sprintf("reg-%d", i), coverage.VerdictConfirmed, "", t0.Add(time.Hour))
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrWrongState):
					t.Fatalf("alarm %d: loser's error %v; want store.ErrWrongState", id, err)
				}
			}
			if won != 1 {
				t.Fatalf("alarm %d: %d reviews won (%v)", id, won, errs)
			}
			if h, err := f.s.History(ctx, id); err != nil || len(h) != 1 {
				t.Fatalf("alarm %d: history %+v, %v", id, h, err)
			}
		}
		if ns, _ := f.s.Notices(ctx, NoticeFilter{}); len(ns) != 3 {
			t.Fatalf("notices: %v", wfNoticeKinds(ns))
		}
	})
}

func TestWorkflowOverdue(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{ReviewDeadline: 2 * time.Hour, RectifyDeadline: 10 * time.Hour})
		s := f.s
		// b1 (t0+20m) confirmed at t0+1h: rectify by t0+11h.
		if _, err := s.Review(ctx, f.b1, "reg", coverage.VerdictConfirmed, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// a2 (t0+10m) confirmed and being rectified: rectify by t0+11h.
		if _, err := s.Review(ctx, f.a2, "reg", coverage.VerdictConfirmed, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitRectification(ctx, f.a2, "op", "", nil, "", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// a1 (t0) and n1 (t0+30m) stay new: review by t0+2h, t0+2h30m.
		cases := []struct {
			now     time.Duration
			overdue string
			want    []int64
		}{
			{2 * time.Hour, OverdueReview, nil},
			{2*time.Hour + time.Millisecond, OverdueReview, []int64{f.a1}},
			{3 * time.Hour, OverdueReview, []int64{f.n1, f.a1}},
			{11 * time.Hour, OverdueRectification, nil},
			{11*time.Hour + 20*time.Minute, OverdueRectification, []int64{f.b1, f.a2}},
			{11*time.Hour + 20*time.Minute, OverdueAny, []int64{f.n1, f.b1, f.a2, f.a1}},
			{time.Hour, OverdueAny, nil},
		}
		for _, c := range cases {
			vs, err := s.Violations(ctx, ViolationFilter{Overdue: c.overdue, Now: t0.Add(c.now)})
			if err != nil || !slices.Equal(wfIDs(vs), append([]int64{}, c.want...)) {
				t.Errorf("Overdue %s at t0+%v: %v, %v; want %v", c.overdue, c.now, wfIDs(vs), err, c.want)
			}
			for _, v := range vs {
				if v.Overdue != c.overdue && c.overdue != OverdueAny {
					t.Errorf("Overdue %s at t0+%v: violation %d says %q", c.overdue, c.now, v.ID, v.Overdue)
				}
			}
		}
		// The field, as of the filter's Now; later events are never overdue.
		all, err := s.Violations(ctx, ViolationFilter{Now: t0.Add(12 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, v := range all {
			got[v.ID] = v.Overdue
			if v.Alarm != (v.ID != f.upd && v.ID != f.end) {
				t.Errorf("violation %d (phase %q): Alarm %v", v.ID, v.Phase, v.Alarm)
			}
		}
		want := map[int64]string{f.a1: OverdueReview, f.a2: OverdueRectification, f.upd: "", f.end: "", f.b1: OverdueRectification, f.n1: OverdueReview}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("violation %d: Overdue %q at t0+12h; want %q", id, got[id], w)
			}
		}
		// Violation judges as of now: t0 is long past.
		if v := wfGet(t, s, f.a1); v.Overdue != OverdueReview || !v.ReviewDue.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("Violation(a1): overdue %q, review due %v", v.Overdue, v.ReviewDue)
		}
		if v := wfGet(t, s, f.upd); v.Overdue != "" || !v.ReviewDue.IsZero() {
			t.Errorf("Violation(update): %+v", v)
		}
		alarms, err := s.Violations(ctx, ViolationFilter{Alarms: true})
		if err != nil || !slices.Equal(wfIDs(alarms), []int64{f.n1, f.b1, f.a2, f.a1}) {
			t.Errorf("Alarms: %v, %v", wfIDs(alarms), err)
		}
		if _, err := s.Violations(ctx, ViolationFilter{Overdue: "soon"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Overdue soon: %v; want store.ErrInvalid", err)
		}
	})
}

func TestWorkflowScope(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		s := f.s
		gw1 := []int64{f.end, f.upd, f.a2, f.a1}
		cases := []struct {
			name  string
			scope registry.Scope
			want  []int64
		}{
			{"any", registry.Scope{}, []int64{f.n1, f.b1, f.end, f.upd, f.a2, f.a1}},
			{"xuhui", registry.Scope{Districts: []string{"xuhui"}}, gw1},
			{"both districts", registry.Scope{Districts: []string{"minhang", "xuhui"}}, append([]int64{f.b1}, gw1...)},
			{"no districts", registry.Scope{Districts: []string{}}, nil},
			{"c2", registry.Scope{Canteens: []string{"c2"}}, []int64{f.b1}},
			{"no canteens", registry.Scope{Canteens: []string{}}, nil},
			{"c1 in minhang", registry.Scope{Districts: []string{"minhang"}, Canteens: []string{"c1"}}, nil},
			{"unregistered", registry.Scope{Canteens: []string{"ghost"}}, nil},
		}
		// n1 moves to a canteen that is not registered.
		if _, err := s.Write().ExecContext(ctx, `UPDATE events SET canteen_id = 'ghost' WHERE id = $1`, f.n1); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			vs, err := s.Violations(ctx, ViolationFilter{Scope: c.scope})
			if err != nil || !slices.Equal(wfIDs(vs), append([]int64{}, c.want...)) {
				t.Errorf("%s: %v, %v; want %v", c.name, wfIDs(vs), err, c.want)
			}
		}
		// registry.Scope combines with the other filters.
		vs, err := s.Violations(ctx, ViolationFilter{Scope: registry.Scope{Districts: []string{"xuhui"}}, Alarms: true, Limit: 1})
		if err != nil || !slices.Equal(wfIDs(vs), []int64{f.a2}) {
			t.Errorf("xuhui alarms, limit 1: %v, %v", wfIDs(vs), err)
		}
		if v := wfGet(t, s, f.n1); v.CanteenID != "ghost" || v.CanteenName != "" || v.District != "" {
			t.Errorf("unregistered canteen: %+v", v)
		}
	})
}

func TestFlagOverdue(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{RectifyDeadline: 10 * time.Hour})
		s := f.s
		for _, id := range []int64{f.a1, f.a2, f.b1, f.n1} {
			if _, err := s.Review(ctx, id, "reg", coverage.VerdictConfirmed, "", t0); err != nil {
				t.Fatal(err)
			}
		}
		// a2 is closed in time; b1 is being rectified; n1 has no canteen.
		if _, err := s.SubmitRectification(ctx, f.a2, "op", "", nil, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideRectification(ctx, f.a2, "reg", DecisionAccepted, "", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitRectification(ctx, f.b1, "op", "", nil, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		flag := func(at time.Duration, want int) {
			t.Helper()
			if n, err := s.FlagOverdue(ctx, t0.Add(at)); err != nil || n != want {
				t.Fatalf("FlagOverdue(t0+%v) = %d, %v; want %d", at, n, err, want)
			}
		}
		flag(10*time.Hour, 0)
		flag(11*time.Hour, 2) // a1, b1
		flag(12*time.Hour, 0) // once per due date
		flag(13*time.Hour, 0)
		// b1's rectification is rejected: a new due date, flagged again
		// once it passes.
		if _, err := s.DecideRectification(ctx, f.b1, "reg", DecisionRejected, "", t0.Add(14*time.Hour)); err != nil {
			t.Fatal(err)
		}
		flag(20*time.Hour, 0)
		flag(25*time.Hour, 1)
		flag(26*time.Hour, 0)
		ns, err := s.Notices(ctx, NoticeFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var overdue []string
		for _, n := range ns {
			if n.Kind == NoticeRectificationOverdue {
				overdue = append(overdue, fmt.Sprintf("%d@%v", n.ViolationID, n.DueAt.Sub(t0)))
				if !strings.Contains(n.Text, "rectification overdue: was due by") {
					t.Errorf("overdue notice text %q", n.Text)
				}
			}
		}
		want := []string{fmt.Sprintf("%d@24h0m0s", f.b1), fmt.Sprintf("%d@10h0m0s", f.b1), fmt.Sprintf("%d@10h0m0s", f.a1)}
		if !slices.Equal(overdue, want) {
			t.Fatalf("overdue notices %v; want %v", overdue, want)
		}
		for _, n := range ns {
			if n.ViolationID == f.n1 {
				t.Fatalf("a notice for an alarm without a canteen: %+v", n)
			}
		}
	})
}

func TestNotices(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		s := f.s
		for i, id := range []int64{f.a1, f.b1, f.a2} {
			if _, err := s.Review(ctx, id, "reg", coverage.VerdictConfirmed, "", t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Notices(ctx, NoticeFilter{})
		if err != nil || len(all) != 3 {
			t.Fatalf("Notices = %v, %v", wfNoticeKinds(all), err)
		}
		ids := func(ns []Notice) []int64 {
			out := []int64{}
			for _, n := range ns {
				out = append(out, n.ViolationID)
			}
			return out
		}
		if got := ids(all); !slices.Equal(got, []int64{f.a2, f.b1, f.a1}) {
			t.Fatalf("not newest first: %v", got)
		}
		bad := all[2].ID // a1's, in c1
		wantNF := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v; want store.ErrNotFound", what, err)
			}
		}
		wantNF("out of scope", s.MarkNoticeRead(ctx, bad, []string{"c2"}, "op-2", t0))
		wantNF("empty scope", s.MarkNoticeRead(ctx, bad, []string{}, "op-2", t0))
		wantNF("missing", s.MarkNoticeRead(ctx, 99999, nil, "op-2", t0))
		if err := s.MarkNoticeRead(ctx, bad, []string{"c2", "c1"}, "op-1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A second reading keeps the first.
		if err := s.MarkNoticeRead(ctx, bad, nil, "admin", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			f    NoticeFilter
			want []int64
		}{
			{"unread", NoticeFilter{Unread: true}, []int64{f.a2, f.b1}},
			{"c1", NoticeFilter{Canteens: []string{"c1"}}, []int64{f.a2, f.a1}},
			{"c1 unread", NoticeFilter{Canteens: []string{"c1"}, Unread: true}, []int64{f.a2}},
			{"none", NoticeFilter{Canteens: []string{}}, []int64{}},
			{"limit", NoticeFilter{Limit: 1}, []int64{f.a2}},
			{"before", NoticeFilter{BeforeID: all[0].ID, Limit: 1}, []int64{f.b1}},
		}
		for _, c := range cases {
			ns, err := s.Notices(ctx, c.f)
			if err != nil || !slices.Equal(ids(ns), c.want) {
				t.Errorf("%s: %v, %v; want %v", c.name, ids(ns), err, c.want)
			}
		}
		ns, _ := s.Notices(ctx, NoticeFilter{Canteens: []string{"c1"}})
		if n := ns[1]; n.ReadBy != "op-1" || !n.ReadAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("read notice: %+v", n)
		}
		// Without the webhook, nothing is queued for it.
		if p, err := s.PendingWebhooks(ctx, time.Now(), 10); err != nil || len(p) != 0 {
			t.Fatalf("PendingWebhooks without the webhook: %v, %v", wfNoticeKinds(p), err)
		}
	})
}

func TestWebhookOutbox(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{Webhook: true})
		s := f.s
		for _, id := range []int64{f.a1, f.b1, f.a2} {
			if _, err := s.Review(ctx, id, "reg", coverage.VerdictConfirmed, "", t0); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(time.Hour)
		pending := func(at time.Time) []int64 {
			t.Helper()
			ns, err := s.PendingWebhooks(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, n := range ns {
				out = append(out, n.ViolationID)
			}
			return out
		}
		if got := pending(now); !slices.Equal(got, []int64{f.a1, f.b1, f.a2}) {
			t.Fatalf("pending: %v (want oldest first)", got)
		}
		ns, _ := s.PendingWebhooks(ctx, now, 2)
		if len(ns) != 2 || ns[0].CanteenName != "No. 1 Primary" || ns[0].ViolationType != "no_mask" || ns[0].WebhookTries != 0 {
			t.Fatalf("limit 2: %+v", ns)
		}
		// a1 delivered; b1 failed, retried in 10 s.
		if err := s.WebhookDone(ctx, ns[0].ID, nil, time.Time{}, false); err != nil {
			t.Fatal(err)
		}
		if err := s.WebhookDone(ctx, ns[1].ID, errors.New("HTTP 500: "+strings.Repeat("é", 400)), now.Add(10*time.Second), false); err != nil {
			t.Fatal(err)
		}
		if got := pending(now); !slices.Equal(got, []int64{f.a2}) {
			t.Fatalf("pending after one sent, one failed: %v", got)
		}
		if got := pending(now.Add(10 * time.Second)); !slices.Equal(got, []int64{f.b1, f.a2}) {
			t.Fatalf("pending at the retry: %v", got)
		}
		retry, _ := s.PendingWebhooks(ctx, now.Add(10*time.Second), 1)
		if retry[0].WebhookTries != 1 {
			t.Fatalf("tries: %+v", retry[0])
		}
		var msg string
		if err := s.Write().QueryRowContext(ctx, `SELECT webhook_error FROM notices WHERE id = $1`, retry[0].ID).Scan(&msg); err != nil ||
			len(msg) > maxWebhookError || !strings.HasPrefix(msg, "HTTP 500: é") {
			t.Fatalf("stored error %q, %v", msg, err)
		}
		// b1 given up: never again.
		if err := s.WebhookDone(ctx, retry[0].ID, errors.New("HTTP 500"), now.Add(20*time.Second), true); err != nil {
			t.Fatal(err)
		}
		if got := pending(now.Add(24 * time.Hour)); !slices.Equal(got, []int64{f.a2}) {
			t.Fatalf("pending after giving up: %v", got)
		}
		if err := s.WebhookDone(ctx, 99999, nil, time.Time{}, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("WebhookDone(99999): %v", err)
		}
	})
}

func TestAlarmCounts(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		s := f.s
		// a1 closed, a2 dismissed, b1 rectifying (due t0+1h+72h), n1 new.
		if _, err := s.Review(ctx, f.a1, "reg", coverage.VerdictConfirmed, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitRectification(ctx, f.a1, "op", "", nil, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideRectification(ctx, f.a1, "reg", DecisionAccepted, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Review(ctx, f.a2, "reg", coverage.VerdictDismissed, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Review(ctx, f.b1, "reg", coverage.VerdictConfirmed, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitRectification(ctx, f.b1, "op", "", nil, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c2, err := s.Canteen(ctx, "c2")
		if err != nil {
			t.Fatal(err)
		}
		c2.Category = registry.CategoryHospital
		if _, err := s.PutCanteen(ctx, c2); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name     string
			scope    registry.Scope
			category string
			since    time.Duration
			now      time.Duration
			want     AlarmCounts
		}{
			{"all, early", registry.Scope{}, "", -1, time.Hour, AlarmCounts{New: 1, Rectifying: 1, Closed: 1, Dismissed: 1}},
			{"all, late", registry.Scope{}, "", -1, 74 * time.Hour, AlarmCounts{New: 1, Rectifying: 1, Closed: 1, Dismissed: 1, OverdueReview: 1, OverdueRectification: 1}},
			{"since", registry.Scope{}, "", 15 * time.Minute, 74 * time.Hour, AlarmCounts{New: 1, Rectifying: 1, OverdueReview: 1, OverdueRectification: 1}},
			{"xuhui", registry.Scope{Districts: []string{"xuhui"}}, "", -1, 74 * time.Hour, AlarmCounts{Closed: 1, Dismissed: 1}},
			{"c2", registry.Scope{Canteens: []string{"c2"}}, "", -1, 74 * time.Hour, AlarmCounts{Rectifying: 1, OverdueRectification: 1}},
			{"none", registry.Scope{Canteens: []string{}}, "", -1, 74 * time.Hour, AlarmCounts{}},
			{"hospitals", registry.Scope{}, registry.CategoryHospital, -1, 74 * time.Hour, AlarmCounts{Rectifying: 1, OverdueRectification: 1}},
			{"schools", registry.Scope{}, registry.CategorySchool, -1, 74 * time.Hour, AlarmCounts{}},
		}
		for _, c := range cases {
			var since time.Time
			if c.since >= 0 {
				since = t0.Add(c.since)
			}
			got, err := s.AlarmCounts(ctx, c.scope, c.category, since, t0.Add(c.now))
			if err != nil || got != c.want {
				t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
			}
		}
	})
}

func TestCoverageViolationsWorkflow(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{})
		s := f.s
		t1, t2 := t0.Add(time.Hour), t0.Add(5*time.Hour)
		if _, err := s.Review(ctx, f.a1, "reg", coverage.VerdictConfirmed, "", t1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitRectification(ctx, f.a1, "op", "", nil, "", t1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideRectification(ctx, f.a1, "reg", DecisionAccepted, "", t2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Review(ctx, f.b1, "reg", coverage.VerdictDismissed, "", t1); err != nil {
			t.Fatal(err)
		}
		in, err := s.CoverageInput(ctx, registry.CanteenFilter{}, t0, t0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]coverage.Violation{}
		for _, v := range in.Violations {
			got[v.ID] = v
		}
		want := map[int64]coverage.Violation{
			f.a1: {ID: f.a1, CanteenID: "c1", RaisedAt: t0, ReviewedAt: t1, Verdict: coverage.VerdictConfirmed, RectificationAcceptedAt: t2},
			f.a2: {ID: f.a2, CanteenID: "c1", RaisedAt: t0.Add(10 * time.Minute)},
			f.b1: {ID: f.b1, CanteenID: "c2", RaisedAt: t0.Add(20 * time.Minute), ReviewedAt: t1, Verdict: coverage.VerdictDismissed},
		}
		if len(got) != len(want) {
			t.Fatalf("coverage violations %+v; want %+v", in.Violations, want)
		}
		for id, w := range want {
			g := got[id]
			if g.ID != w.ID || g.CanteenID != w.CanteenID || !g.RaisedAt.Equal(w.RaisedAt) || !g.ReviewedAt.Equal(w.ReviewedAt) ||
				g.Verdict != w.Verdict || !g.RectificationAcceptedAt.Equal(w.RectificationAcceptedAt) {
				t.Errorf("violation %d: %+v; want %+v", id, g, w)
			}
		}
	})
}
