package alarms

import (
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// TestGatewayAlarms, on a fixed clock: a gateway offline past the grace,
// one whose disk is nearly full or whose board is too hot is alarmed once
// while it lasts, with a notice to its canteen; the alarm clears when the
// condition ends, and a new one is raised when it comes back.
func TestGatewayAlarms(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		for _, c := range []registry.Canteen{
			{ID: "c1", Name: "School 1", Category: registry.CategorySchool, District: "d1", Active: true, TZ: "Asia/Shanghai"},
			{ID: "c2", Name: "School 2", Category: registry.CategorySchool, District: "d2", Active: true},
		} {
			if _, err := s.PutCanteen(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		addGateway(t, s, "gw-1", "c1")
		addGateway(t, s, "gw-2", "c1")
		addGateway(t, s, "gw-3", "") // bound to no canteen: never alarmed
		state := func(gw string, online bool, at time.Time) {
			t.Helper()
			if err := s.GatewayState(ctx, gw, wire.State{V: wire.Version, Online: online, Session: 1, StartedAt: t0}, at); err != nil {
				t.Fatal(err)
			}
		}
		beat := func(gw string, diskFree uint64, temp float64, at time.Time) {
			t.Helper()
			hb := wire.Heartbeat{V: wire.Version, At: at, Session: 1, System: wire.System{DiskFree: diskFree, TempC: temp}}
			if err := s.Heartbeat(ctx, gw, hb, at); err != nil {
				t.Fatal(err)
			}
		}
		flag := func(at time.Time, wantRaised, wantCleared int) {
			t.Helper()
			r, c, err := s.FlagGateways(ctx, GatewayThresholds{OfflineGrace: 10 * time.Minute}, at)
			if err != nil || r != wantRaised || c != wantCleared {
				t.Fatalf("at %v: raised %d, cleared %d (%v); want %d, %d", at.Sub(t0), r, c, err, wantRaised, wantCleared)
			}
		}
		open := func() string {
			t.Helper()
			as, err := s.GatewayAlarms(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range as {
				out = append(out, a.GatewayID+" "+a.Kind)
			}
			return strings.Join(out, ", ")
		}
		for _, gw := range []string{"gw-1", "gw-2", "gw-3"} {
			state(gw, true, t0)
		}
		beat("gw-1", 100<<20, 85, t0)
		beat("gw-2", 10<<30, 50, t0)
		beat("gw-3", 1<<20, 99, t0)

		flag(t0, 2, 0)
		if got := open(); got != "gw-1 gateway_disk, gw-1 gateway_hot" {
			t.Fatalf("open alarms: %s", got)
		}
		flag(t0.Add(time.Minute), 0, 0) // once while it lasts

		state("gw-2", false, t0.Add(2*time.Minute))
		flag(t0.Add(9*time.Minute), 0, 0) // last seen 9 minutes ago: within the grace
		flag(t0.Add(10*time.Minute), 1, 0)
		beat("gw-1", 10<<30, 40, t0.Add(13*time.Minute))
		flag(t0.Add(13*time.Minute), 0, 2)
		state("gw-2", true, t0.Add(14*time.Minute))
		flag(t0.Add(14*time.Minute), 0, 1)
		if got := open(); got != "" {
			t.Fatalf("open alarms after recovery: %s", got)
		}
		beat("gw-1", 10<<30, 81, t0.Add(20*time.Minute))
		flag(t0.Add(20*time.Minute), 1, 0) // hot again: a new alarm

		ns, err := s.Notices(ctx, NoticeFilter{Canteens: []string{"c1"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range ns {
			if n.GatewayID == "" || n.ViolationID != 0 || n.CanteenName != "School 1" {
				t.Errorf("notice %+v", n)
			}
			got = append(got, n.Kind+": "+n.Text)
		}
		want := []string{
			"gateway_hot: Gateway gw-1 board too hot: 81.0 °C",
			"gateway_offline: Gateway gw-2 offline: last seen 2025-03-01 16:00 (Asia/Shanghai)",
			"gateway_hot: Gateway gw-1 board too hot: 85.0 °C",
			"gateway_disk: Gateway gw-1 disk nearly full: 100 MiB free",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("notices, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if as, _ := s.GatewayAlarms(ctx, []string{"c2"}); len(as) != 0 {
			t.Errorf("c2's alarms: %+v", as)
		}
		if as, _ := s.GatewayAlarms(ctx, []string{"c1"}); len(as) != 1 || as[0].CanteenID != "c1" {
			t.Errorf("c1's alarms: %+v", as)
		}
		// Unbound, its alarms end.
		if err := s.BindGateway(ctx, "gw-1", ""); err != nil {
			t.Fatal(err)
		}
		flag(t0.Add(21*time.Minute), 0, 1)
	})
}
