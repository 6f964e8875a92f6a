package registry

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func sameWeek(a, b coverage.Week) bool {
	for d := range a {
		if !slices.Equal(a[d], b[d]) {
			return false
		}
	}
	return true
}

func TestCanteenViewing(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		lunch := coverage.Week{time.Monday: {"11:30-12:30"}, time.Friday: {"11:00-12:00", "17:00-18:00"}}
		got, err := s.PutCanteen(ctx, Canteen{ID: "school", Category: CategorySchool, District: "xuhui", Active: true,
			Viewing: lunch, MaxParentViewers: 30})
		if err != nil {
			t.Fatal(err)
		}
		if !sameWeek(got.Viewing, lunch) || got.MaxParentViewers != 30 {
			t.Fatalf("PutCanteen = %+v", got)
		}
		putCanteens(t, s, Canteen{ID: "plain", Active: true})
		cs, err := s.ListCanteens(ctx, CanteenFilter{})
		if err != nil || len(cs) != 2 {
			t.Fatalf("ListCanteens = %+v, %v", cs, err)
		}
		if cs[0].ID != "plain" || !sameWeek(cs[0].Viewing, coverage.Week{}) || cs[0].MaxParentViewers != 0 ||
			!sameWeek(cs[1].Viewing, lunch) || cs[1].MaxParentViewers != 30 {
			t.Fatalf("ListCanteens = %+v", cs)
		}
		var stored string
		if err := s.Read().QueryRowContext(ctx, `SELECT viewing FROM canteens WHERE id = 'plain'`).Scan(&stored); err != nil || stored != "" {
			t.Fatalf("no viewing windows stored as %q, %v", stored, err)
		}

		for _, c := range []struct {
			c     Canteen
			field string
		}{
			{Canteen{ID: "x", Viewing: coverage.Week{time.Monday: {"11:30"}}}, "viewing_windows"},
			{Canteen{ID: "x", MaxParentViewers: -1}, "max_parent_viewers"},
			{Canteen{ID: "x", MaxParentViewers: 10001}, "max_parent_viewers"},
		} {
			_, err := s.PutCanteen(ctx, c.c)
			wantErr(t, "PutCanteen", err, store.ErrInvalid, c.field)
			if err := s.ImportCanteens(ctx, []Canteen{c.c}); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ImportCanteens(%+v): %v", c.c, err)
			}
			wantErr(t, "SetViewing", s.SetViewing(ctx, "school", c.c.Viewing, c.c.MaxParentViewers), store.ErrInvalid, c.field)
		}
		wantErr(t, "SetViewing(nope)", s.SetViewing(ctx, "nope", lunch, 0), store.ErrNotFound, "nope")

		// SetViewing replaces both and nothing else.
		evening := coverage.EveryDay("22:00-01:00")
		if err := s.SetViewing(ctx, "plain", evening, 10000); err != nil {
			t.Fatal(err)
		}
		c, err := s.Canteen(ctx, "plain")
		if err != nil || !sameWeek(c.Viewing, evening) || c.MaxParentViewers != 10000 || !c.Active {
			t.Fatalf("after SetViewing: %+v, %v", c, err)
		}
		// A CSV import (no viewing columns) keeps them; a row that has them
		// replaces them.
		if err := s.ImportCanteens(ctx, []Canteen{{ID: "plain", Name: "renamed", Active: true}, {ID: "school", Viewing: evening, MaxParentViewers: 5}}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Canteen(ctx, "plain"); c.Name != "renamed" || !sameWeek(c.Viewing, evening) || c.MaxParentViewers != 10000 {
			t.Fatalf("import dropped the viewing windows: %+v", c)
		}
		if c, _ := s.Canteen(ctx, "school"); !sameWeek(c.Viewing, evening) || c.MaxParentViewers != 5 {
			t.Fatalf("import did not replace the viewing windows: %+v", c)
		}
		// Cleared.
		if err := s.SetViewing(ctx, "plain", coverage.Week{}, 0); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Canteen(ctx, "plain"); !sameWeek(c.Viewing, coverage.Week{}) || c.MaxParentViewers != 0 {
			t.Fatalf("after clearing: %+v", c)
		}
		// PutCanteen replaces them like every other field.
		if c, err := s.PutCanteen(ctx, Canteen{ID: "school", Active: true}); err != nil || !sameWeek(c.Viewing, coverage.Week{}) || c.MaxParentViewers != 0 {
			t.Fatalf("PutCanteen without viewing = %+v, %v", c, err)
		}
	})
}

func TestBindGateway(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		putCanteens(t, s, Canteen{ID: "c2"})
		for _, c := range []struct{ canteen, want string }{{"c2", "c2"}, {"", ""}, {"c1", "c1"}} {
			if err := s.BindGateway(ctx, "gw-a", c.canteen); err != nil {
				t.Fatal(err)
			}
			if g, err := s.Gateway(ctx, "gw-a"); err != nil || g.CanteenID != c.want {
				t.Fatalf("after BindGateway(%q): %+v, %v", c.canteen, g, err)
			}
		}
		wantErr(t, "unknown gateway", s.BindGateway(ctx, "nope", "c2"), store.ErrNotFound, "nope")
		wantErr(t, "unknown canteen", s.BindGateway(ctx, "gw-a", "c3"), store.ErrInvalid, "c3")
		wantErr(t, "bad canteen id", s.BindGateway(ctx, "gw-a", "c 3"), store.ErrInvalid, "canteen_id")
		if g, _ := s.Gateway(ctx, "gw-a"); g.CanteenID != "c1" {
			t.Fatalf("a refused bind changed the canteen to %q", g.CanteenID)
		}
	})
}

func TestMapCamera(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		addGateway(t, s, "gw-b", "c1")
		hb := func(gw string, at time.Time, cams ...wire.CameraHealth) {
			t.Helper()
			if err := s.Heartbeat(ctx, gw, wire.Heartbeat{V: 1, At: at, Cameras: cams}, at); err != nil {
				t.Fatal(err)
			}
		}
		cams := func() map[string]Camera {
			t.Helper()
			g, err := s.Gateway(ctx, "gw-a")
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]Camera{}
			for _, c := range g.Cameras {
				out[c.ID] = c
			}
			return out
		}
		hb("gw-a", t0,
			wire.CameraHealth{CameraID: "cam-1", Online: true, Area: "cooking"},
			wire.CameraHealth{CameraID: "cam-2", Online: true, Area: "washing", Public: true})
		if c := cams()["cam-1"]; c.Mapped || c.Area != "cooking" || c.Public {
			t.Fatalf("before mapping: %+v", c)
		}
		if err := s.MapCamera(ctx, "cam-1", "rough_processing", true); err != nil {
			t.Fatal(err)
		}
		if c := cams()["cam-1"]; !c.Mapped || c.Area != "rough_processing" || !c.Public {
			t.Fatalf("after mapping: %+v", c)
		}
		// The gateway keeps reporting its own idea; health still follows it,
		// area and public no longer do (except on the unmapped camera).
		hb("gw-a", t0.Add(time.Minute),
			wire.CameraHealth{CameraID: "cam-1", Online: false, Area: "cooking", Public: false, FPS: 12},
			wire.CameraHealth{CameraID: "cam-2", Online: true, Area: "cooking", Public: false})
		got := cams()
		if c := got["cam-1"]; !c.Mapped || c.Area != "rough_processing" || !c.Public || c.FPS != 12 || !c.StatusAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("mapped camera after a heartbeat: %+v", c)
		}
		if c := got["cam-2"]; c.Mapped || c.Area != "cooking" || c.Public {
			t.Fatalf("unmapped camera after a heartbeat: %+v", c)
		}
		if h, err := s.CameraHome(ctx, "cam-1"); err != nil || h.Area != "rough_processing" || !h.Public {
			t.Fatalf("CameraHome = %+v, %v", h, err)
		}
		// No area: the camera covers none, whatever the gateway says.
		if err := s.MapCamera(ctx, "cam-1", "", false); err != nil {
			t.Fatal(err)
		}
		hb("gw-a", t0.Add(2*time.Minute), wire.CameraHealth{CameraID: "cam-1", Online: true, Area: "cooking", Public: true})
		if c := cams()["cam-1"]; !c.Mapped || c.Area != "" || c.Public {
			t.Fatalf("mapped to no area, after a heartbeat: %+v", c)
		}

		wantErr(t, "unknown camera", s.MapCamera(ctx, "cam-9", "cooking", false), store.ErrNotFound, "cam-9")
		wantErr(t, "bad area", s.MapCamera(ctx, "cam-1", "hot kitchen", false), store.ErrInvalid, "area")
		hb("gw-b", t0, wire.CameraHealth{CameraID: "cam-2", Online: true})
		wantErr(t, "bad key", s.MapCamera(ctx, "gw a:cam-1", "cooking", false), store.ErrInvalid, "gateway id")
		wantErr(t, "bad key", s.MapCamera(ctx, "gw-a:", "cooking", false), store.ErrInvalid, "want gateway:camera")
		// Two gateways report cam-2: its bare id is ambiguous, its key is not.
		hb("gw-b", t0, wire.CameraHealth{CameraID: "cam-2", Online: true})
		wantErr(t, "one id on two gateways", s.MapCamera(ctx, "cam-2", "cooking", false), store.ErrAmbiguous, "on gateways gw-a, gw-b; use gateway:camera")
		if _, err := s.CameraHome(ctx, "cam-2"); !errors.Is(err, store.ErrAmbiguous) {
			t.Fatalf("CameraHome(bare id on two gateways) = %v, want store.ErrAmbiguous", err)
		}
		if c := cams()["cam-2"]; c.Mapped || c.Area != "cooking" {
			t.Fatalf("a refused mapping changed the camera: %+v", c)
		}
		if err := s.MapCamera(ctx, "gw-b:cam-2", "washing", true); err != nil {
			t.Fatal(err)
		}
		if h, err := s.CameraHome(ctx, "gw-b:cam-2"); err != nil || h.Key() != "gw-b:cam-2" || h.CameraID != "cam-2" || h.Area != "washing" || !h.Public {
			t.Fatalf("CameraHome(gw-b:cam-2) = %+v, %v", h, err)
		}
		if c := cams()["cam-2"]; c.Mapped || c.Area != "cooking" {
			t.Fatalf("mapping gw-b's cam-2 changed gw-a's: %+v", c)
		}
		wantErr(t, "camera not on that gateway", s.MapCamera(ctx, "gw-b:cam-1", "cooking", false), store.ErrNotFound, "gw-b:cam-1")
		if g, _ := s.ListGateways(ctx); len(g) != 2 || len(g[0].Cameras) != 2 || !g[0].Cameras[0].Mapped || !g[1].Cameras[0].Mapped {
			t.Fatalf("ListGateways = %+v", g)
		}
	})
}
