package alarms

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// TestFlagDueSoon: the review and the rectification deadlines are warned
// of once each, within the warning time before them, never after them,
// never for an alarm without a canteen; AlarmsSince and NoticesSince read
// after a cursor in id order.
func TestFlagDueSoon(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		f := wfSetup(t, url, Workflow{ReviewDeadline: 10 * time.Hour, RectifyDeadline: 10 * time.Hour})
		s := f.s
		flag := func(at time.Duration, want int) {
			t.Helper()
			if n, err := s.FlagDueSoon(ctx, 2*time.Hour, t0.Add(at)); err != nil || n != want {
				t.Fatalf("FlagDueSoon(t0+%v) = %d, %v; want %d", at, n, err, want)
			}
		}
		flag(7*time.Hour, 0)                // the first review is due at 10 h: not within 2 h yet
		flag(8*time.Hour+30*time.Minute, 3) // a1 (10 h), a2 (10 h 10), b1 (10 h 20); n1 has no canteen
		flag(9*time.Hour, 0)                // once per alarm and due date
		if _, err := s.Review(ctx, f.a1, "reg", coverage.VerdictConfirmed, "", t0.Add(9*time.Hour)); err != nil {
			t.Fatal(err)
		}
		flag(17*time.Hour+30*time.Minute, 1) // a1's rectification, due at 19 h
		flag(18*time.Hour, 0)
		flag(20*time.Hour, 0) // past: FlagOverdue's business
		ns, err := s.NoticesSince(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for i, n := range ns {
			kinds[n.Kind]++
			if i > 0 && n.ID <= ns[i-1].ID {
				t.Errorf("notices out of order: %d after %d", n.ID, ns[i-1].ID)
			}
			if n.CanteenID != "" && n.District == "" {
				t.Errorf("notice %d without its district", n.ID)
			}
		}
		if kinds[NoticeReviewDueSoon] != 3 || kinds[NoticeRectificationDueSoon] != 1 {
			t.Errorf("notice kinds %v", kinds)
		}
		if later, err := s.NoticesSince(ctx, ns[len(ns)-1].ID, 100); err != nil || len(later) != 0 {
			t.Errorf("NoticesSince(last) = %v, %v", later, err)
		}
		as, err := s.AlarmsSince(ctx, 0, 100)
		if err != nil || len(as) != 3 { // a1, a2, b1: not the episode's later events, not n1
			t.Fatalf("AlarmsSince = %+v, %v", as, err)
		}
		if as[0].ID != f.a1 || as[0].District != "xuhui" || as[0].CanteenName != "No. 1 Primary" {
			t.Errorf("first alarm %+v", as[0])
		}
		if rest, _ := s.AlarmsSince(ctx, as[0].ID, 100); len(rest) != 2 {
			t.Errorf("AlarmsSince(a1) = %+v", rest)
		}
	})
}
