package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func strp(s string) *string { return &s }

// TestCameraAudience: the three audiences are set from the fleet and
// read back by CameraHome and the camera list; public stays what it was
// for parents and everyone; MapCamera (public only) keeps a published
// camera published while public, and unpublishes it when made private;
// the gateway's heartbeat changes none of it.
func TestCameraAudience(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, Canteen{ID: "school", District: "xuhui", Active: true})
		addGateway(t, s, "gw1", "school")
		hb := wire.Heartbeat{V: 1, At: time.Now(), Cameras: []wire.CameraHealth{{CameraID: "cam-1", Online: true, Public: false}}}
		if err := s.Heartbeat(ctx, "gw1", hb, time.Now()); err != nil {
			t.Fatal(err)
		}
		check := func(step, want string, public bool) {
			t.Helper()
			h, err := s.CameraHome(ctx, "gw1:cam-1")
			if err != nil || h.Audience() != want || h.Public != public {
				t.Errorf("%s: home %+v (%s), %v; want %s public %v", step, h, h.Audience(), err, want, public)
			}
			g, err := s.Gateway(ctx, "gw1")
			if err != nil || len(g.Cameras) != 1 || g.Cameras[0].Audience != want || g.Cameras[0].Public != public {
				t.Errorf("%s: camera list %+v, %v", step, g.Cameras, err)
			}
		}
		check("reported", AudiencePrivate, false)
		if err := s.SetCameraAudience(ctx, "gw1:cam-1", "cooking", AudienceEveryone); err != nil {
			t.Fatal(err)
		}
		check("published", AudienceEveryone, true)
		hb.At = time.Now()
		if err := s.Heartbeat(ctx, "gw1", hb, time.Now()); err != nil {
			t.Fatal(err)
		}
		check("after a heartbeat saying private", AudienceEveryone, true)
		if err := s.MapCamera(ctx, "gw1:cam-1", "cooking", true); err != nil {
			t.Fatal(err)
		}
		check("mapped public", AudienceEveryone, true)
		if err := s.MapCamera(ctx, "gw1:cam-1", "cooking", false); err != nil {
			t.Fatal(err)
		}
		check("mapped private", AudiencePrivate, false)
		if err := s.SetCameraAudience(ctx, "gw1:cam-1", "cooking", AudienceParents); err != nil {
			t.Fatal(err)
		}
		check("parents", AudienceParents, true)
		wantErr(t, "bad audience", s.SetCameraAudience(ctx, "gw1:cam-1", "cooking", "world"), store.ErrInvalid, "audience")
		wantErr(t, "unknown camera", s.SetCameraAudience(ctx, "gw1:cam-9", "", AudienceEveryone), store.ErrNotFound, "cam-9")
	})
}

// TestPublicity: the notice's fields are checked (naming the field),
// patched part by part with who changed each part, and an unknown
// canteen is not found.
func TestPublicity(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, Canteen{ID: "school", District: "xuhui", Active: true})
		now := time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC)
		if x, err := s.Publicity(ctx, "school"); err != nil || x != (Publicity{CanteenID: "school"}) {
			t.Fatalf("empty notice: %+v, %v", x, err)
		}
		if _, err := s.Publicity(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown canteen: %v", err)
		}
		if _, err := s.SetPublicity(ctx, "nope", PublicityPatch{Grade: strp("A")}, "user:x", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("set on unknown canteen: %v", err)
		}
		x, err := s.SetPublicity(ctx, "school", PublicityPatch{LicenceNo: strp(" jy13101040001234 "), PersonInCharge: strp("张经理")}, "user:op", now)
		if err != nil || x.LicenceNo != "JY13101040001234" || x.PersonInCharge != "张经理" || x.OperatorBy != "user:op" ||
			!x.OperatorAt.Equal(now) || x.RegulatorBy != "" {
			t.Fatalf("operator's part: %+v, %v", x, err)
		}
		later := now.Add(time.Hour)
		x, err = s.SetPublicity(ctx, "school", PublicityPatch{Grade: strp("B"), InspectionResult: strp(InspectionBasically),
			InspectedOn: strp("2026-04-20")}, "user:reg", later)
		if err != nil || x.Grade != "B" || x.InspectionResult != InspectionBasically || x.InspectedOn != "2026-04-20" ||
			x.LicenceNo != "JY13101040001234" || x.RegulatorBy != "user:reg" || !x.RegulatorAt.Equal(later) || x.OperatorBy != "user:op" {
			t.Fatalf("regulator's part: %+v, %v", x, err)
		}
		got, err := s.Publicity(ctx, "school")
		if err != nil || got != x {
			t.Errorf("read back %+v, %v; want %+v", got, err, x)
		}
		for _, c := range []struct {
			p    PublicityPatch
			name string
		}{
			{PublicityPatch{LicenceNo: strp("JY1234")}, "licence_no"},
			{PublicityPatch{LicenceNo: strp("XX13101040001234")}, "licence_no"},
			{PublicityPatch{PersonInCharge: strp("a\nb")}, "person_in_charge"},
			{PublicityPatch{PersonInCharge: strp(fmt.Sprintf("%040d", 0))}, "person_in_charge"},
			{PublicityPatch{Grade: strp("A+")}, "grade"},
			{PublicityPatch{InspectionResult: strp("great")}, "inspection_result"},
			{PublicityPatch{InspectedOn: strp("2026-13-01")}, "inspected_on"},
			{PublicityPatch{InspectedOn: strp("2026-05-07")}, "after today"},
			{PublicityPatch{InspectionResult: strp("")}, "both or neither"},
		} {
			if _, err := s.SetPublicity(ctx, "school", c.p, "user:x", now); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.name) {
				t.Errorf("%+v: %v; want invalid naming %q", c.p, err, c.name)
			}
		}
		if got2, _ := s.Publicity(ctx, "school"); got2 != x {
			t.Errorf("a refused patch changed the notice: %+v", got2)
		}
	})
}

// TestPublicCanteens: a canteen takes part when it is active and has a
// camera published to everyone; the list filters by district, category
// and name (wildcards taken literally), pages, and counts; the districts
// and one canteen with its cameras are found the same way.
func TestPublicCanteens(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s,
			Canteen{ID: "s1", Name: "徐汇一小", Category: CategorySchool, District: "xuhui", Active: true},
			Canteen{ID: "s2", Name: "徐汇二小_100%", Category: CategorySchool, District: "xuhui", Active: true},
			Canteen{ID: "h1", Name: "长宁医院", Category: CategoryHospital, District: "changning", Active: true},
			Canteen{ID: "off", Name: "停用食堂", Category: CategorySchool, District: "xuhui", Active: false},
			Canteen{ID: "parents", Name: "只给家长", Category: CategorySchool, District: "xuhui", Active: true})
		for _, id := range []string{"s1", "s2", "h1", "off", "parents"} {
			addGateway(t, s, "gw-"+id, id)
			hb := wire.Heartbeat{V: 1, At: time.Now(), Cameras: []wire.CameraHealth{{CameraID: "a", Online: true}, {CameraID: "b"}}}
			if err := s.Heartbeat(ctx, "gw-"+id, hb, time.Now()); err != nil {
				t.Fatal(err)
			}
			aud := AudienceEveryone
			if id == "parents" {
				aud = AudienceParents
			}
			if err := s.SetCameraAudience(ctx, "gw-"+id+":a", "cooking", aud); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetPublicity(ctx, "s1", PublicityPatch{Grade: strp("A"), InspectionResult: strp(InspectionCompliant),
			InspectedOn: strp("2025-01-02")}, "user:reg", time.Now()); err != nil {
			t.Fatal(err)
		}
		ids := func(cs []PublicCanteen) (out []string) {
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		for _, c := range []struct {
			f     PublicFilter
			want  string
			total int
		}{
			{PublicFilter{}, "[h1 s1 s2]", 3},
			{PublicFilter{District: "xuhui"}, "[s1 s2]", 2},
			{PublicFilter{Category: CategoryHospital}, "[h1]", 1},
			{PublicFilter{Name: "二小"}, "[s2]", 1},
			{PublicFilter{Name: "_"}, "[s2]", 1},
			{PublicFilter{Name: "%"}, "[s2]", 1},
			{PublicFilter{Limit: 2}, "[h1 s1]", 3},
			{PublicFilter{Limit: 2, Offset: 2}, "[s2]", 3},
		} {
			cs, total, err := s.PublicCanteens(ctx, c.f)
			if err != nil || fmt.Sprint(ids(cs)) != c.want || total != c.total {
				t.Errorf("%+v: %v (%d), %v; want %s (%d)", c.f, ids(cs), total, err, c.want, c.total)
			}
		}
		cs, _, _ := s.PublicCanteens(ctx, PublicFilter{Name: "一小"})
		if len(cs) != 1 || cs[0].Publicity.Grade != "A" || cs[0].Publicity.CanteenID != "s1" || cs[0].Name != "徐汇一小" || cs[0].Cameras != 1 {
			t.Errorf("s1 with its notice: %+v", cs)
		}
		if ds, err := s.PublicDistricts(ctx, ""); err != nil || fmt.Sprint(ds) != "[changning xuhui]" {
			t.Errorf("districts: %v, %v", ds, err)
		}
		if ds, err := s.PublicDistricts(ctx, CategoryHospital); err != nil || fmt.Sprint(ds) != "[changning]" {
			t.Errorf("districts of hospitals: %v, %v", ds, err)
		}
		if c, err := s.PublicCanteen(ctx, "s1"); err != nil || c.Publicity.InspectionResult != InspectionCompliant {
			t.Errorf("PublicCanteen(s1): %+v, %v", c, err)
		}
		for _, id := range []string{"off", "parents", "nope"} {
			if _, err := s.PublicCanteen(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("PublicCanteen(%s): %v, want not found", id, err)
			}
		}
		cams, err := s.PublishedCameras(ctx, "s1")
		if err != nil || len(cams) != 1 || cams[0].Key != "gw-s1:a" || cams[0].Area != "cooking" || !cams[0].Online {
			t.Errorf("published cameras: %+v, %v", cams, err)
		}
		// Unpublishing the last camera takes the canteen off the list.
		if err := s.SetCameraAudience(ctx, "gw-s1:a", "cooking", AudienceParents); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.PublicCanteens(ctx, PublicFilter{}); total != 2 {
			t.Errorf("after unpublishing s1's camera: %d canteens, want 2", total)
		}
	})
}
