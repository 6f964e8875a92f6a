package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

func auditIDs(t *testing.T, s *testStore, f AuditFilter) []int64 {
	t.Helper()
	es, err := s.AuditLog(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestAudit(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "a", District: "xuhui"}, registry.Canteen{ID: "b", District: "minhang"}, registry.Canteen{ID: "c", District: "x_hui"})
		old := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		from, to := old.Add(-time.Hour), old.Add(-time.Minute)
		long := strings.Repeat("李", 400) // 1200 bytes
		for _, e := range []AuditEntry{
			{At: old, Actor: "admin-token", Role: RoleAdmin, Action: "gateway_bind", CanteenID: "a", Detail: "gw-1"},           // 1
			{Actor: "user:li.wei", Role: RoleParent, Action: "login"},                                                          // 2
			{Actor: "user:op", Role: RoleOperator, Action: "live_view", CanteenID: "a", CameraID: "cam-1", From: from, To: to}, // 3
			{Actor: "user:reg", Role: RoleRegulator, Action: "review", CanteenID: "b", ViolationID: 42},                        // 4
			{Actor: "user:li.wei", Role: RoleParent, Action: "live_refused", Outcome: OutcomeRefused, CanteenID: "a"},          // 5
			{Actor: "user:op", Role: RoleOperator, Action: "invite_add", CanteenID: "c", Detail: long},                         // 6
		} {
			if err := s.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "Audit without an action", s.Audit(ctx, AuditEntry{Actor: "x"}), store.ErrInvalid, "action")

		es, err := s.AuditLog(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 6 || es[0].ID <= es[5].ID {
			t.Fatalf("AuditLog = %+v; want 6, newest first", es)
		}
		byAction := map[string]AuditEntry{}
		for _, e := range es {
			byAction[e.Action] = e
		}
		if e := byAction["live_view"]; e.Outcome != OutcomeOK || !e.From.Equal(from) || !e.To.Equal(to) || e.CameraID != "cam-1" ||
			e.ViolationID != 0 || time.Since(e.At) > time.Minute || e.Role != RoleOperator {
			t.Errorf("live_view = %+v", e)
		}
		if e := byAction["review"]; e.ViolationID != 42 || !e.From.IsZero() || e.CanteenID != "b" {
			t.Errorf("review = %+v", e)
		}
		if e := byAction["gateway_bind"]; !e.At.Equal(old) || e.Detail != "gw-1" || e.Actor != "admin-token" {
			t.Errorf("gateway_bind = %+v", e)
		}
		if e := byAction["live_refused"]; e.Outcome != OutcomeRefused {
			t.Errorf("live_refused = %+v", e)
		}
		if d := byAction["invite_add"].Detail; len(d) > 1000 || len(d) < 997 || !utf8.ValidString(d) {
			t.Errorf("detail of %d bytes stored as %d bytes (valid UTF-8: %v)", len(long), len(d), utf8.ValidString(d))
		}

		id := func(action string) int64 { return byAction[action].ID }
		ids := func(actions ...string) []int64 {
			out := []int64{}
			for _, a := range actions {
				out = append(out, id(a))
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    AuditFilter
			want []int64
		}{
			{"actor", AuditFilter{Actor: "user:li.wei"}, ids("live_refused", "login")},
			{"action", AuditFilter{Action: "review"}, ids("review")},
			{"canteen", AuditFilter{CanteenID: "a"}, ids("live_refused", "live_view", "gateway_bind")},
			{"district", AuditFilter{Districts: []string{"xuhui"}}, ids("live_refused", "live_view", "gateway_bind")},
			{"districts", AuditFilter{Districts: []string{"minhang", "x_hui"}}, ids("invite_add", "review")},
			{"district and actor", AuditFilter{Districts: []string{"xuhui"}, Actor: "user:op"}, ids("live_view")},
			{"no district", AuditFilter{Districts: []string{}}, ids()},
			{"unknown district", AuditFilter{Districts: []string{"nowhere"}}, ids()},
			{"the whole city", AuditFilter{Districts: []string{"*"}}, auditIDs(t, s, AuditFilter{})},
			{"since, inclusive", AuditFilter{Since: old}, auditIDs(t, s, AuditFilter{})},
			{"since", AuditFilter{Since: old.Add(time.Millisecond)}, ids("invite_add", "live_refused", "review", "live_view", "login")},
			{"until, exclusive", AuditFilter{Until: old}, ids()},
			{"until", AuditFilter{Until: old.Add(time.Millisecond)}, ids("gateway_bind")},
			{"limit", AuditFilter{Limit: 2}, ids("invite_add", "live_refused")},
			{"limit beyond the most", AuditFilter{Limit: 5000}, auditIDs(t, s, AuditFilter{})},
			{"before", AuditFilter{BeforeID: id("review"), Limit: 2}, ids("live_view", "login")},
		} {
			if got := auditIDs(t, s, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: AuditLog(%+v) = %v; want %v", c.name, c.f, got, c.want)
			}
		}

		// Paging back through everything, two at a time.
		var all []int64
		f := AuditFilter{Limit: 2}
		for range 10 {
			page := auditIDs(t, s, f)
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			f.BeforeID = page[len(page)-1]
		}
		if want := auditIDs(t, s, AuditFilter{}); !slices.Equal(all, want) {
			t.Errorf("paged %v; want %v", all, want)
		}
	})
}

// The default page is 100 entries, the most 1000.
func TestAuditLimit(t *testing.T) {
	s := open(t, "")
	for i := range 1001 {
		if err := s.Audit(ctx, AuditEntry{Actor: "a", Action: "login", At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1000}} {
		if got := len(auditIDs(t, s, AuditFilter{Limit: c.limit})); got != c.want {
			t.Errorf("Limit %d: %d entries; want %d", c.limit, got, c.want)
		}
	}
}
