// Package registrytest builds registry fixtures for the tests of the
// domains that read the registry's data (alarms, rates, retention): a gateway,
// an event, and a city of
// canteens, gateways and cameras with a month of health and violations.
package registrytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Shanghai is Asia/Shanghai, the city's zone.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// CST is a time of March 2025 in Asia/Shanghai: CST(3, "13:00").
func CST(day int, hm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", fmt.Sprintf("2025-03-%02d %s", day, hm), Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// City is the fixture of the rates' and retention's tests, March 2025:
//
//	c1  school, d1, 08:00-18:00, cooking + washing: gw-1 with two cooking
//	    cameras and a washing one; gw-1 loses its uplink on the 3rd
//	    12:00-13:30
//	c2  hospital, d1, 06:00-20:00, cooking: gw-2, one camera
//	c3  central kitchen, d2, Asia/Tokyo, 22:00-06:00 (past midnight),
//	    cooking: gw-3, a cooking camera and an unmapped one
//	c4  inactive: gw-4
//	gw-5 bound to no canteen, one violation
//
// Cameras change health at random times from the 1st to the 6th; each
// canteen raises violations, some reviewed.
type City struct {
	Reg *registry.Registry
	seq map[string]uint64 // per gateway, the last status seq
	ev  int
}

func NewCity(t *testing.T, s *registry.Registry) *City {
	t.Helper()
	ctx := context.Background()
	c := &City{Reg: s, seq: map[string]uint64{}}
	for _, ct := range []registry.Canteen{
		{ID: "c1", Category: registry.CategorySchool, District: "d1", Active: true, Hours: coverage.EveryDay("08:00-18:00"),
			RequiredAreas: []string{registry.AreaCooking, registry.AreaWashing}},
		{ID: "c2", Category: registry.CategoryHospital, District: "d1", Active: true, Hours: coverage.EveryDay("06:00-20:00"),
			RequiredAreas: []string{registry.AreaCooking}},
		{ID: "c3", Category: registry.CategoryCentralKitchen, District: "d2", Active: true, Hours: coverage.EveryDay("22:00-06:00"),
			RequiredAreas: []string{registry.AreaCooking}, TZ: "Asia/Tokyo"},
		{ID: "c4", Category: registry.CategoryOther, District: "d1", Active: false, Hours: coverage.EveryDay("08:00-18:00")},
	} {
		if _, err := s.PutCanteen(ctx, ct); err != nil {
			t.Fatal(err)
		}
	}
	cams := map[string][]wire.CameraHealth{
		"gw-1": {{CameraID: "c1-a", Area: registry.AreaCooking}, {CameraID: "c1-b", Area: registry.AreaCooking}, {CameraID: "c1-w", Area: registry.AreaWashing}},
		"gw-2": {{CameraID: "c2-a", Area: registry.AreaCooking}},
		"gw-3": {{CameraID: "c3-a", Area: registry.AreaCooking}, {CameraID: "c3-x"}},
		"gw-4": {{CameraID: "c4-a", Area: registry.AreaCooking}},
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	pics := []string{wire.PictureOK, wire.PictureOK, wire.PictureOK, "occluded", "dark", "offline"}
	for i, gw := range []string{"gw-1", "gw-2", "gw-3", "gw-4"} {
		AddGateway(t, s, gw, fmt.Sprintf("c%d", i+1))
		c.State(t, gw, 1, true, CST(1, "00:00"))
		if err := s.Heartbeat(ctx, gw, wire.Heartbeat{V: 1, At: CST(1, "00:00"), Session: 1, Cameras: cams[gw]}, CST(1, "00:00")); err != nil {
			t.Fatal(err)
		}
		var items []registry.IngestItem
		for _, cam := range cams[gw] {
			for at := CST(1, "00:00").Add(time.Duration(rnd.IntN(600)) * time.Minute); at.Before(CST(6, "12:00")); at = at.Add(time.Duration(20+rnd.IntN(900)) * time.Minute) {
				items = append(items, c.Status(gw, cam.CameraID, at, pics[rnd.IntN(len(pics))], false))
			}
		}
		for d := 1; d <= 6; d++ {
			for range rnd.IntN(3) {
				c.ev++
				ev := Event(uint64(c.ev), "no_mask", CST(d, "00:00").Add(time.Duration(rnd.IntN(1440))*time.Minute))
				items = append(items, registry.IngestItem{GatewayID: gw, Event: ev})
			}
		}
		if _, err := s.Ingest(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	// gw-5, not bound to a canteen yet, raises a violation: stored with
	// no canteen, counted nowhere.
	AddGateway(t, s, "gw-5", "")
	c.ev++
	if _, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-5", Event: Event(uint64(c.ev), "no_mask", CST(2, "10:00"))}}); err != nil {
		t.Fatal(err)
	}
	// gw-1's uplink outage.
	c.State(t, "gw-1", 1, false, CST(3, "12:00"))
	c.State(t, "gw-1", 2, true, CST(3, "13:30"))
	return c
}

// State records gw's state (connect or loss) at at.
func (c *City) State(t *testing.T, gw string, session uint64, online bool, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := c.Reg.GatewayState(ctx, gw, wire.State{V: 1, Online: online, Session: session}, at); err != nil {
		t.Fatal(err)
	}
}

// Status is a camera-status item of gw, its seq next after the last.
func (c *City) Status(gw, cam string, at time.Time, pic string, historical bool) registry.IngestItem {
	c.seq[gw]++
	st := &wire.CameraStatus{V: 1, Seq: c.seq[gw], CameraID: cam, At: at, Online: pic != "offline", Picture: pic, Historical: historical}
	if pic == "offline" {
		st.Picture = wire.PictureUnknown
	}
	return registry.IngestItem{GatewayID: gw, Status: st}
}

// Ingest stores items.
func (c *City) Ingest(t *testing.T, items ...registry.IngestItem) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Reg.Ingest(ctx, items); err != nil {
		t.Fatal(err)
	}
}

// AddGateway adds gateway id bound to canteen ("" for none).
func AddGateway(t testing.TB, s *registry.Registry, id, canteen string) {
	t.Helper()
	if _, _, err := s.AddGateway(context.Background(), id, canteen); err != nil {
		t.Fatal(err)
	}
}

// Event is a violation of camera cam1 with the given seq, type and start.
func Event(seq uint64, typ string, at time.Time) *wire.Event {
	return &wire.Event{V: 1, EventID: fmt.Sprintf("EV%08d", seq), Seq: seq, CameraID: "cam1", Type: typ, Score: 0.9,
		Boxes: []wire.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4, Label: "head"}}, StartedAt: at}
}
