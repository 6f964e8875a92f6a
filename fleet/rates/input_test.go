package rates

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// CoverageInput loads canteens in scope, their gateways with sessions, the
// cameras with intervals overlapping the period, and violation episodes.
func TestCoverageInput(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		day := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
		if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Category: registry.CategorySchool, District: "d1", Active: true,
			Hours: coverage.EveryDay("08:00-12:00")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c2", Category: registry.CategoryHospital, District: "d1", Active: true}); err != nil {
			t.Fatal(err)
		}
		addGateway(t, s, "gw-1", "c1")
		addGateway(t, s, "gw-2", "c2")
		if err := s.GatewayState(ctx, "gw-1", wire.State{V: 1, Online: true, Session: 1}, day); err != nil {
			t.Fatal(err)
		}
		if err := s.Heartbeat(ctx, "gw-1", wire.Heartbeat{V: 1, At: day, Session: 1, Cameras: []wire.CameraHealth{
			{CameraID: "cam1", Area: "cooking", Online: true, Picture: "ok"}}}, day); err != nil {
			t.Fatal(err)
		}
		var items []registry.IngestItem
		for i, at := range []time.Time{day.Add(-10 * 24 * time.Hour), day.Add(-9 * 24 * time.Hour), day.Add(time.Hour), day.Add(20 * 24 * time.Hour)} {
			items = append(items, registry.IngestItem{GatewayID: "gw-1", Status: &wire.CameraStatus{V: 1, Seq: uint64(i + 1), CameraID: "cam1", At: at, Online: true, Picture: "ok"}})
		}
		ev := event(100, "no_mask", day.Add(2*time.Hour))
		upd := event(101, "no_mask", day.Add(2*time.Hour+time.Second))
		upd.Phase = wire.PhaseUpdate
		items = append(items, registry.IngestItem{GatewayID: "gw-1", Event: ev}, registry.IngestItem{GatewayID: "gw-1", Event: upd})
		if _, err := s.Ingest(ctx, items); err != nil {
			t.Fatal(err)
		}
		in, err := s.CoverageInput(ctx, registry.CanteenFilter{Category: registry.CategorySchool}, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Canteens) != 1 || in.Canteens[0].ID != "c1" || len(in.Canteens[0].RequiredAreas) != 3 {
			t.Fatalf("canteens %+v", in.Canteens)
		}
		if len(in.Gateways) != 1 || in.Gateways[0].ID != "gw-1" || !in.Gateways[0].Enrolled || len(in.Gateways[0].Sessions) != 1 {
			t.Fatalf("gateways %+v", in.Gateways)
		}
		if len(in.Cameras) != 1 || in.Cameras[0].Area != "cooking" {
			t.Fatalf("cameras %+v", in.Cameras)
		}
		// The interval from day-9d (ending at day+1h) and the one from
		// day+1h overlap; those ending before day-2d or starting after
		// day+2d do not.
		ivs := in.Cameras[0].Intervals
		if len(ivs) != 2 || !ivs[0].Start.Equal(day.Add(-9*24*time.Hour)) || !ivs[1].Start.Equal(day.Add(time.Hour)) {
			t.Fatalf("intervals %+v", ivs)
		}
		if len(in.Violations) != 1 || in.Violations[0].CanteenID != "c1" || !in.Violations[0].RaisedAt.Equal(day.Add(2*time.Hour)) {
			t.Fatalf("violations %+v", in.Violations)
		}
	})
}
