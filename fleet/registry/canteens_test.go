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

func TestCanteenPutGetList(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		hours := coverage.EveryDay("06:00-13:30", "16:00-20:00")
		got, err := s.PutCanteen(ctx, Canteen{ID: "c1", Name: "No. 1 Primary", Category: CategorySchool, District: "xuhui",
			Address: "1 Road", Active: true, Hours: hours})
		if err != nil {
			t.Fatal(err)
		}
		if got.TZ != coverage.DefaultTZ || !slices.Equal(got.RequiredAreas, DefaultRequiredAreas(CategorySchool)) ||
			got.Hours[time.Monday][1] != "16:00-20:00" || !got.Active || got.CreatedAt.IsZero() || got.Address != "1 Road" {
			t.Fatalf("PutCanteen = %+v", got)
		}
		created := got.CreatedAt
		// An update keeps created_at and replaces the rest.
		got, err = s.PutCanteen(ctx, Canteen{ID: "c1", Name: "renamed", Category: CategorySchool, District: "xuhui",
			RequiredAreas: []string{"cooking", "special_room"}, TZ: "Asia/Urumqi"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "renamed" || got.Active || !got.CreatedAt.Equal(created) || got.TZ != "Asia/Urumqi" ||
			!slices.Equal(got.RequiredAreas, []string{"cooking", "special_room"}) || len(got.Hours[0]) != 0 {
			t.Fatalf("updated = %+v", got)
		}
		for _, c := range []Canteen{
			{ID: "c2", Category: CategoryHospital, District: "xuhui", Active: true},
			{ID: "c3", Category: CategorySchool, District: "minhang", Active: true},
		} {
			if _, err := s.PutCanteen(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// A canteen created with a gateway gets the defaults.
		addGateway(t, s, "gw-1", "c4")
		c4, err := s.Canteen(ctx, "c4")
		if err != nil || c4.Category != CategoryOther || !c4.Active || len(c4.RequiredAreas) != 3 || c4.TZ != coverage.DefaultTZ {
			t.Fatalf("Canteen(c4) = %+v, %v", c4, err)
		}
		if _, err := s.Canteen(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Canteen(nope) err = %v", err)
		}
		for _, c := range []struct {
			f    CanteenFilter
			want []string
		}{
			{CanteenFilter{}, []string{"c1", "c2", "c3", "c4"}},
			{CanteenFilter{Category: CategorySchool}, []string{"c1", "c3"}},
			{CanteenFilter{District: "xuhui"}, []string{"c1", "c2"}},
			{CanteenFilter{Category: CategorySchool, District: "xuhui"}, []string{"c1"}},
			{CanteenFilter{Category: CategorySchool, ActiveOnly: true}, []string{"c3"}},
		} {
			cs, err := s.ListCanteens(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range cs {
				ids = append(ids, x.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("ListCanteens(%+v) = %v; want %v", c.f, ids, c.want)
			}
		}
	})
}

func TestCanteenValidation(t *testing.T) {
	s := open(t, "")
	for _, c := range []Canteen{
		{ID: "bad id"},
		{ID: "c1", Category: "restaurant"},
		{ID: "c1", RequiredAreas: []string{"cooking", "cooking"}},
		{ID: "c1", RequiredAreas: []string{"has space"}},
		{ID: "c1", Hours: coverage.EveryDay("25:00-26:00")},
		{ID: "c1", TZ: "Mars/Base"},
	} {
		if _, err := s.PutCanteen(ctx, c); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutCanteen(%+v) err = %v; want store.ErrInvalid", c, err)
		}
	}
	if cs, _ := s.ListCanteens(ctx, CanteenFilter{}); len(cs) != 0 {
		t.Fatalf("stored %+v", cs)
	}
}

func TestImportCanteensAtomic(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		if _, err := s.PutCanteen(ctx, Canteen{ID: "keep", Name: "before", Active: true}); err != nil {
			t.Fatal(err)
		}
		rows := []Canteen{
			{ID: "keep", Name: "after", Active: true},
			{ID: "bad id", Active: true},
			{ID: "n1", Category: "nope", Active: true},
			{ID: "n2", Active: true},
			{ID: "n2", Active: true},
		}
		err := s.ImportCanteens(ctx, rows)
		var ie *ImportError
		if !errors.As(err, &ie) || !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("ImportCanteens err = %v; want *ImportError", err)
		}
		var idx []int
		for _, r := range ie.Rows {
			idx = append(idx, r.Index)
		}
		if !slices.Equal(idx, []int{1, 2, 4}) {
			t.Fatalf("bad rows %v; want [1 2 4]", idx)
		}
		cs, _ := s.ListCanteens(ctx, CanteenFilter{})
		if len(cs) != 1 || cs[0].Name != "before" {
			t.Fatalf("after a refused import: %+v", cs)
		}
		if err := s.ImportCanteens(ctx, []Canteen{rows[0], rows[3], {ID: "n3", Category: CategoryScenic, Active: true}}); err != nil {
			t.Fatal(err)
		}
		cs, _ = s.ListCanteens(ctx, CanteenFilter{})
		if len(cs) != 3 || cs[0].Name != "after" || cs[2].Category != CategoryScenic {
			t.Fatalf("after import: %+v", cs)
		}
	})
}

// TestScope: a scope matches its canteens and districts exactly, with
// LIKE's wildcards in ids and names taken literally.
func TestScope(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		ctx := t.Context()
		for _, c := range []Canteen{
			{ID: "c_1", District: "a_b", Active: true}, {ID: "cx1", District: "axb", Active: true},
			{ID: "c-2", District: "d%", Active: true},
		} {
			if _, err := s.PutCanteen(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// A gateway per canteen (gw-<canteen>, with a camera) and one bound
		// to none.
		for _, gw := range [][2]string{{"gw-c_1", "c_1"}, {"gw-cx1", "cx1"}, {"gw-c-2", "c-2"}, {"gw-none", ""}} {
			addGateway(t, s, gw[0], gw[1])
			if err := s.Heartbeat(ctx, gw[0], wire.Heartbeat{V: 1, At: t0, Cameras: []wire.CameraHealth{{CameraID: "cam1"}}}, t0); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			scope Scope
			want  []string
		}{
			{Scope{}, []string{"c-2", "c_1", "cx1"}},
			{Scope{Canteens: []string{"c_1"}}, []string{"c_1"}},
			{Scope{Districts: []string{"a_b"}}, []string{"c_1"}},
			{Scope{Districts: []string{"d%"}}, []string{"c-2"}},
			{Scope{Districts: []string{"d"}}, nil},
			{Scope{Canteens: []string{}}, nil},
			{Scope{Districts: []string{"axb"}, Canteens: []string{"c_1", "cx1"}}, []string{"cx1"}},
		} {
			cs, err := s.ListCanteens(ctx, CanteenFilter{Scope: c.scope})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range cs {
				got = append(got, x.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("scope %+v: %v, want %v", c.scope, got, c.want)
			}
			// GatewaysIn: the gateways of the same canteens, with cameras.
			gws, err := s.GatewaysIn(ctx, CanteenFilter{Scope: c.scope})
			if err != nil {
				t.Fatal(err)
			}
			var gotGws, wantGws []string
			for _, g := range gws {
				if len(g.Cameras) != 1 || g.Cameras[0].ID != "cam1" {
					t.Errorf("scope %+v: gateway %s cameras %+v", c.scope, g.ID, g.Cameras)
				}
				gotGws = append(gotGws, g.ID)
			}
			for _, id := range c.want {
				wantGws = append(wantGws, "gw-"+id)
			}
			slices.Sort(wantGws)
			if !slices.Equal(gotGws, wantGws) {
				t.Errorf("scope %+v: gateways %v, want %v", c.scope, gotGws, wantGws)
			}
		}
		if all, err := s.ListGateways(ctx); err != nil || len(all) != 4 {
			t.Errorf("ListGateways: %d gateways, %v; want 4 with the unbound one", len(all), err)
		}
	})
}
