package coverage_test

// Long file: one table-driven test per rate, with the calendars and edge days
// each needs.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// An uplink outage during which the camera was healthy: the gateway spooled
// no change, so after the outage the intervals say online+ok throughout,
// but the gateway had no session from 12:00 to 13:00. Those seconds are not
// healthy.
//
//	hours      08:00-18:00                    36,000 s
//	camera     online, ok from 07:00 (open)
//	sessions   ..-12:00, 13:00-..   outage    3,600 s inside hours
//	healthy    08:00-12:00 + 13:00-18:00     32,400 s = 90.0 %
//
// 90.0 % meets the 0.90 threshold exactly, so the canteen is online-covered;
// at 0.95 it is not. A two-hour outage (12:00-14:00) leaves 28,800 s = 80 %.
func TestUplinkOutage(t *testing.T) {
	input := func(reconnect string) coverage.Input {
		return coverage.Input{
			Canteens: []coverage.Canteen{school("c1", "cooking")},
			Gateways: []coverage.Gateway{gateway("g1", "c1",
				coverage.Session{Session: 1, Connected: cst("2026-03-01", "00:00"), Disconnected: cst("2026-03-02", "12:00")},
				coverage.Session{Session: 2, Connected: cst("2026-03-02", reconnect)},
			)},
			Cameras: []coverage.Camera{camera("cam1", "g1", "cooking", statuses(st{cst("2026-03-02", "07:00"), "ok"}))},
		}
	}
	rep := compute(t, input("13:00"), monday())
	check(t, "camera online", rep.Total.CameraOnline, r(32400, 36000))
	check(t, "online coverage (0.90)", rep.Total.Online, r(1, 1))
	check(t, "built", rep.Total.Built, r(1, 1))

	q := monday()
	q.OnlineThreshold = 0.95
	check(t, "online coverage (0.95)", compute(t, input("13:00"), q).Total.Online, r(0, 1))

	rep = compute(t, input("14:00"), monday())
	check(t, "camera online, 2 h outage", rep.Total.CameraOnline, r(28800, 36000))
	check(t, "online coverage, 2 h outage", rep.Total.Online, r(0, 1))
}

// A camera occluded for 15% of operating hours:
//
//	07:00 ok, 11:00 occluded, 12:30 ok     occluded 1.5 h = 5,400 s = 15 % of 36,000 s
//	healthy 30,600 s → camera online rate 85 %
//
// At the default threshold 0.90 the canteen is not online-covered that
// day; at 0.80 it is; at exactly 0.85 it is too (≥).
func TestOccluded15Percent(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras: []coverage.Camera{camera("cam1", "g1", "cooking", statuses(
			st{cst("2026-03-02", "07:00"), "ok"},
			st{cst("2026-03-02", "11:00"), "occluded"},
			st{cst("2026-03-02", "12:30"), "ok"},
		))},
	}
	for _, tc := range []struct {
		threshold float64
		covered   int64
	}{{0, 0}, {0.90, 0}, {0.80, 1}, {0.85, 1}, {0.851, 0}} {
		q := monday()
		q.OnlineThreshold = tc.threshold
		rep := compute(t, in, q)
		check(t, "camera online", rep.Total.CameraOnline, r(30600, 36000))
		check(t, "online coverage at "+ftoa(tc.threshold), rep.Total.Online, r(tc.covered, 1))
		check(t, "day online coverage", rep.Days[0].Online, r(tc.covered, 1))
	}
}

func ftoa(f float64) string { b, _ := json.Marshal(f); return string(b) }

// A canteen with an unmapped required area is neither built- nor
// online-covered, though its mapped cameras are healthy all day:
//
//	c1 needs rough, cooking, washing; cameras on cooking and washing only
//	c2 has all three mapped, but its gateway is not enrolled: its cameras do not count
//	c3 has all three mapped on an enrolled gateway, healthy all day
//
//	built          c3          = 1/3
//	online         c3          = 1/3
//	camera online  c1 2 cameras + c3 3 cameras, all healthy: 5 × 36,000 s
func TestUnmappedArea(t *testing.T) {
	areas := []string{"rough", "cooking", "washing"}
	g2 := gateway("g2", "c2")
	g2.Enrolled = false
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", areas...), school("c2", areas...), school("c3", areas...)},
		Gateways: []coverage.Gateway{gateway("g1", "c1"), g2, gateway("g3", "c3")},
		Cameras: []coverage.Camera{
			camera("a", "g1", "cooking", healthyAllWeek()),
			camera("b", "g1", "washing", healthyAllWeek()),
			camera("a", "g2", "rough", healthyAllWeek()),
			camera("b", "g2", "cooking", healthyAllWeek()),
			camera("c", "g2", "washing", healthyAllWeek()),
			camera("a", "g3", "rough", healthyAllWeek()),
			camera("b", "g3", "cooking", healthyAllWeek()),
			camera("c", "g3", "washing", healthyAllWeek()),
		},
	}
	rep := compute(t, in, monday())
	check(t, "built", rep.Total.Built, r(1, 3))
	check(t, "online", rep.Total.Online, r(1, 3))
	check(t, "camera online", rep.Total.CameraOnline, r(5*36000, 5*36000))
}

// Health changes outside operating hours count neither way:
//
//	cam1 (cooking): offline 00:00, dark 06:00, ok 07:59, occluded 18:00, offline 23:00
//	                → ok throughout 08:00-18:00: 36,000 / 36,000
//	cam2 (storage, not required): ok 00:00, offline 08:00, ok 18:00
//	                → healthy only outside hours: 0 / 36,000
//	gateway: disconnected 19:00-23:00, outside hours
//
//	camera online 36,000 / 72,000; online coverage 1/1 (storage is not required)
func TestEventsOutsideHours(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1",
			coverage.Session{Session: 1, Connected: cst("2026-03-01", "00:00"), Disconnected: cst("2026-03-02", "19:00")},
			coverage.Session{Session: 2, Connected: cst("2026-03-02", "23:00")},
		)},
		Cameras: []coverage.Camera{
			camera("cam1", "g1", "cooking", statuses(
				st{cst("2026-03-02", "00:00"), "offline"},
				st{cst("2026-03-02", "06:00"), "dark"},
				st{cst("2026-03-02", "07:59"), "ok"},
				st{cst("2026-03-02", "18:00"), "occluded"},
				st{cst("2026-03-02", "23:00"), "offline"},
			)),
			camera("cam2", "g1", "storage", statuses(
				st{cst("2026-03-02", "00:00"), "ok"},
				st{cst("2026-03-02", "08:00"), "offline"},
				st{cst("2026-03-02", "18:00"), "ok"},
			)),
		},
	}
	rep := compute(t, in, monday())
	check(t, "camera online", rep.Total.CameraOnline, r(36000, 72000))
	check(t, "online", rep.Total.Online, r(1, 1))
}

// Past-midnight hours and the Asia/Shanghai day versus the UTC day.
//
// Both canteens open Mondays only, 22:00-02:00 local (14,400 s), and belong
// to Monday. Their cameras report the same instants: ok, occluded
// 17:00-17:30 UTC (= Tuesday 01:00-01:30 in Shanghai), ok.
//
//	sh  (Asia/Shanghai): window Mon 14:00Z-18:00Z, occlusion inside
//	    Mon: camera 12,600/14,400 = 87.5 % → not covered at 0.90: online 0/1
//	    Tue: closed → online 0/0, camera 0/0
//	utc (UTC): window Mon 22:00Z-Tue 02:00Z, occlusion before it
//	    Mon: camera 14,400/14,400, online 1/1;  Tue: closed
//
// Violations, by local date raised:
//
//	2026-03-02 15:30Z = Mon 23:30 in Shanghai, Mon in UTC
//	2026-03-02 20:00Z = Tue 04:00 in Shanghai, Mon in UTC
//	→ sh: Mon 1, Tue 1;  utc: Mon 2
func TestPastMidnightAndTimezones(t *testing.T) {
	var mondayNight coverage.Week
	mondayNight[time.Monday] = []string{"22:00-02:00"}
	sh := coverage.Canteen{ID: "sh", Category: "school", District: "sh", Active: true,
		RequiredAreas: []string{"cooking"}, Hours: mondayNight} // TZ "" = Asia/Shanghai
	utc := sh
	utc.ID, utc.District, utc.TZ = "utc", "utc", "UTC"
	ivs := statuses(
		st{at(time.UTC, "2026-03-02", "00:00"), "ok"},
		st{at(time.UTC, "2026-03-02", "17:00"), "occluded"},
		st{at(time.UTC, "2026-03-02", "17:30"), "ok"},
	)
	in := coverage.Input{
		Canteens: []coverage.Canteen{sh, utc},
		Gateways: []coverage.Gateway{gateway("g-sh", "sh"), gateway("g-utc", "utc")},
		Cameras:  []coverage.Camera{camera("c", "g-sh", "cooking", ivs), camera("c", "g-utc", "cooking", ivs)},
		Violations: []coverage.Violation{
			{ID: 1, CanteenID: "sh", RaisedAt: at(time.UTC, "2026-03-02", "15:30")},
			{ID: 2, CanteenID: "sh", RaisedAt: at(time.UTC, "2026-03-02", "20:00")},
			{ID: 3, CanteenID: "utc", RaisedAt: at(time.UTC, "2026-03-02", "15:30")},
			{ID: 4, CanteenID: "utc", RaisedAt: at(time.UTC, "2026-03-02", "20:00")},
		},
	}
	q := monday()
	q.To = cst("2026-03-03", "00:00")
	rep := compute(t, in, q)
	if len(rep.Groups) != 2 || rep.Groups[0].District != "sh" || rep.Groups[1].District != "utc" {
		t.Fatalf("groups = %+v", rep.Groups)
	}
	shr, utcr := rep.Groups[0], rep.Groups[1]
	if shr.Days[0].Day != "2026-03-02" || shr.Days[1].Day != "2026-03-03" {
		t.Errorf("days = %s, %s", shr.Days[0].Day, shr.Days[1].Day)
	}
	check(t, "sh Mon camera", shr.Days[0].CameraOnline, r(12600, 14400))
	check(t, "sh Mon online", shr.Days[0].Online, r(0, 1))
	check(t, "sh Tue camera", shr.Days[1].CameraOnline, r(0, 0))
	check(t, "sh Tue online", shr.Days[1].Online, r(0, 0))
	check(t, "utc Mon camera", utcr.Days[0].CameraOnline, r(14400, 14400))
	check(t, "utc Mon online", utcr.Days[0].Online, r(1, 1))
	check(t, "utc Tue online", utcr.Days[1].Online, r(0, 0))
	check(t, "sh Mon violations", shr.Days[0].Handling, r(0, 1))
	check(t, "sh Tue violations", shr.Days[1].Handling, r(0, 1))
	check(t, "utc Mon violations", utcr.Days[0].Handling, r(0, 2))
	check(t, "utc Tue violations", utcr.Days[1].Handling, r(0, 0))
	check(t, "all Mon online", rep.Days[0].Online, r(1, 2))
	check(t, "all Tue online", rep.Days[1].Online, r(0, 0))
	check(t, "total camera", rep.Total.CameraOnline, r(27000, 28800))
	check(t, "total online", rep.Total.Online, r(1, 2))
	check(t, "total violations", rep.Total.Handling, r(0, 4))

	// A 1-day query for Tuesday sees nothing of Monday's night shift.
	q = monday()
	q.From = cst("2026-03-03", "00:00")
	rep = compute(t, in, q)
	check(t, "Tue alone camera", rep.Total.CameraOnline, r(0, 0))
	check(t, "Tue alone online", rep.Total.Online, r(0, 0))
	check(t, "Tue alone violations", rep.Total.Handling, r(0, 1))
}

// A past-midnight range that runs into the next day's first range is cut
// there: Mon 20:00-03:00 and Tue 01:00-05:00 give Monday 20:00-01:00
// (18,000 s) and Tuesday 01:00-05:00 (14,400 s), no second twice.
func TestPastMidnightOverlap(t *testing.T) {
	c := school("c1", "cooking")
	c.Hours = coverage.Week{}
	c.Hours[time.Monday] = []string{"20:00-03:00"}
	c.Hours[time.Tuesday] = []string{"01:00-05:00"}
	in := coverage.Input{
		Canteens: []coverage.Canteen{c},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek())},
	}
	q := monday()
	q.To = cst("2026-03-03", "00:00")
	rep := compute(t, in, q)
	check(t, "Mon camera", rep.Days[0].CameraOnline, r(18000, 18000))
	check(t, "Tue camera", rep.Days[1].CameraOnline, r(14400, 14400))
	check(t, "online", rep.Total.Online, r(2, 2))
}

// Time zones with DST are laid out by the wall clock: in Europe/Berlin,
// Sunday 29 March 2026 springs forward at 02:00, so "00:00-24:00" is 23 h.
func TestDSTDay(t *testing.T) {
	c := school("c1", "cooking")
	c.TZ, c.Hours = "Europe/Berlin", coverage.EveryDay("00:00-24:00")
	berlin := mustLoc("Europe/Berlin")
	in := coverage.Input{
		Canteens: []coverage.Canteen{c},
		Gateways: []coverage.Gateway{gateway("g1", "c1", coverage.Session{Connected: at(berlin, "2026-03-01", "00:00")})},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", statuses(st{at(berlin, "2026-03-01", "00:00"), "ok"}))},
	}
	q := coverage.Query{From: at(berlin, "2026-03-28", "00:00"), To: at(berlin, "2026-03-29", "00:00"), Now: at(berlin, "2026-04-01", "00:00")}
	rep := compute(t, in, q)
	check(t, "Sat", rep.Days[0].CameraOnline, r(24*3600, 24*3600))
	check(t, "Sun", rep.Days[1].CameraOnline, r(23*3600, 23*3600))
}

// Handling and rectification, raised Monday 10:00 unless said:
//
//	v1 reviewed +2 h, confirmed, rectification accepted       handled, rectified
//	v2 reviewed +30 h, confirmed (after the 24 h deadline)     late, confirmed, not rectified
//	v3 reviewed +1 h, dismissed                                handled, not confirmed
//	v4 not reviewed                                            not handled
//	v5 reviewed +24 h exactly, confirmed, accepted             handled (at the deadline), rectified
//	v6 raised Sunday, before the period                        ignored
//	v7 raised in an inactive canteen                           ignored
//	v8 raised Tuesday, reviewed +1 h, confirmed, accepted
//	   on 12 March, after Now (9 March)                        handled, confirmed, not rectified yet
//	v9 raised after Now                                        ignored
//
//	Mon: handling 3/5 (v1 v3 v5 of v1-v5), rectification 2/3 (v1 v5 of v1 v2 v5)
//	Tue: handling 1/1, rectification 0/1
//	total: handling 4/6, rectification 2/4; with a 48 h deadline Monday is 4/5
func TestHandlingAndRectification(t *testing.T) {
	raised := cst("2026-03-02", "10:00")
	tue := cst("2026-03-03", "10:00")
	h := time.Hour
	off := school("off", "cooking")
	off.Active = false
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking"), off},
		Violations: []coverage.Violation{
			{ID: 1, CanteenID: "c1", RaisedAt: raised, ReviewedAt: raised.Add(2 * h), Verdict: "confirmed", RectificationAcceptedAt: raised.Add(50 * h)},
			{ID: 2, CanteenID: "c1", RaisedAt: raised, ReviewedAt: raised.Add(30 * h), Verdict: "confirmed"},
			{ID: 3, CanteenID: "c1", RaisedAt: raised, ReviewedAt: raised.Add(1 * h), Verdict: "dismissed"},
			{ID: 4, CanteenID: "c1", RaisedAt: raised},
			{ID: 5, CanteenID: "c1", RaisedAt: raised, ReviewedAt: raised.Add(24 * h), Verdict: "confirmed", RectificationAcceptedAt: raised.Add(72 * h)},
			{ID: 6, CanteenID: "c1", RaisedAt: raised.Add(-24 * h), ReviewedAt: raised.Add(-23 * h), Verdict: "confirmed"},
			{ID: 7, CanteenID: "off", RaisedAt: raised, ReviewedAt: raised.Add(1 * h), Verdict: "confirmed"},
			{ID: 8, CanteenID: "c1", RaisedAt: tue, ReviewedAt: tue.Add(1 * h), Verdict: "confirmed", RectificationAcceptedAt: cst("2026-03-12", "09:00")},
			{ID: 9, CanteenID: "c1", RaisedAt: cst("2026-03-09", "10:00")},
		},
	}
	q := monday()
	q.To = cst("2026-03-03", "00:00")
	rep := compute(t, in, q)
	check(t, "Mon handling", rep.Days[0].Handling, r(3, 5))
	check(t, "Mon rectification", rep.Days[0].Rectification, r(2, 3))
	check(t, "Tue handling", rep.Days[1].Handling, r(1, 1))
	check(t, "Tue rectification", rep.Days[1].Rectification, r(0, 1))
	check(t, "total handling", rep.Total.Handling, r(4, 6))
	check(t, "total rectification", rep.Total.Rectification, r(2, 4))

	q.ReviewDeadline = 48 * time.Hour
	check(t, "Mon handling, 48 h", compute(t, in, q).Days[0].Handling, r(4, 5))
}

// Category and district filters, and grouping:
//
//	A school/east        all mapped, healthy     built, online
//	B school/west        washing unmapped        not built, not online
//	C hospital/east      all mapped, healthy     built, online
//	D school/east        inactive                out of scope
//	E kindergarten/east  all mapped, healthy     built, online
//	one violation each at A, B, C, D, E (D's is ignored)
func TestFiltersAndGroups(t *testing.T) {
	mk := func(id, cat, dist string) coverage.Canteen {
		c := school(id, "cooking", "washing")
		c.Category, c.District = cat, dist
		return c
	}
	d := mk("D", "school", "east")
	d.Active = false
	in := coverage.Input{Canteens: []coverage.Canteen{
		mk("A", "school", "east"), mk("B", "school", "west"), mk("C", "hospital", "east"), d, mk("E", "kindergarten", "east"),
	}}
	for _, id := range []string{"A", "B", "C", "D", "E"} {
		in.Gateways = append(in.Gateways, gateway("g"+id, id))
		in.Cameras = append(in.Cameras, camera("cook", "g"+id, "cooking", healthyAllWeek()))
		if id != "B" {
			in.Cameras = append(in.Cameras, camera("wash", "g"+id, "washing", healthyAllWeek()))
		}
		in.Violations = append(in.Violations, coverage.Violation{CanteenID: id, RaisedAt: cst("2026-03-02", "09:00")})
	}
	type group struct {
		cat, dist             string
		built, online, viols  coverage.Ratio
		cameraSecs, cameraDen int64
	}
	for _, tc := range []struct {
		name           string
		category, dist string
		groups         []group
		built, online  coverage.Ratio
		violations     int64
	}{
		{"all", "", "", []group{
			{"hospital", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"kindergarten", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"school", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"school", "west", r(0, 1), r(0, 1), r(0, 1), 36000, 36000},
		}, r(3, 4), r(3, 4), 4},
		{"school", "school", "", []group{
			{"school", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"school", "west", r(0, 1), r(0, 1), r(0, 1), 36000, 36000},
		}, r(1, 2), r(1, 2), 2},
		{"east", "", "east", []group{
			{"hospital", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"kindergarten", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
			{"school", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
		}, r(3, 3), r(3, 3), 3},
		{"school east", "school", "east", []group{
			{"school", "east", r(1, 1), r(1, 1), r(0, 1), 72000, 72000},
		}, r(1, 1), r(1, 1), 1},
		{"nothing", "scenic", "", nil, r(0, 0), r(0, 0), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := monday()
			q.Category, q.District = tc.category, tc.dist
			rep := compute(t, in, q)
			if len(rep.Groups) != len(tc.groups) {
				t.Fatalf("%d groups, want %d: %+v", len(rep.Groups), len(tc.groups), rep.Groups)
			}
			for i, want := range tc.groups {
				g := rep.Groups[i]
				if g.Category != want.cat || g.District != want.dist {
					t.Fatalf("group %d = %s/%s, want %s/%s", i, g.Category, g.District, want.cat, want.dist)
				}
				check(t, want.cat+"/"+want.dist+" built", g.Total.Built, want.built)
				check(t, want.cat+"/"+want.dist+" online", g.Days[0].Online, want.online)
				check(t, want.cat+"/"+want.dist+" handling", g.Days[0].Handling, want.viols)
				check(t, want.cat+"/"+want.dist+" camera", g.Total.CameraOnline, r(want.cameraSecs, want.cameraDen))
			}
			check(t, "built", rep.Total.Built, tc.built)
			check(t, "online", rep.Total.Online, tc.online)
			check(t, "day online", rep.Days[0].Online, tc.online)
			check(t, "handling", rep.Total.Handling, r(0, tc.violations))
		})
	}
}

// Two cameras on one area: the area is covered when either is healthy, and
// the overlap is not counted twice.
//
//	cam1 ok 08:00-13:00 then offline; cam2 offline until 12:00 then ok
//	area covered 08:00-18:00 = 100 % → online 1/1
//	camera online (5 h + 6 h) / 20 h = 39,600 / 72,000
func TestTwoCamerasOneArea(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras: []coverage.Camera{
			camera("cam1", "g1", "cooking", statuses(st{cst("2026-03-02", "07:00"), "ok"}, st{cst("2026-03-02", "13:00"), "offline"})),
			camera("cam2", "g1", "cooking", statuses(st{cst("2026-03-02", "07:00"), "offline"}, st{cst("2026-03-02", "12:00"), "ok"})),
		},
	}
	rep := compute(t, in, monday())
	check(t, "online", rep.Total.Online, r(1, 1))
	check(t, "camera online", rep.Total.CameraOnline, r(39600, 72000))
}

// A canteen closed on a day is left out of that day's online coverage:
// Monday to Sunday 2-8 March, open Monday to Friday; healthy throughout.
// Online 5/5 canteen-days, not 5/7 (closed days as uncovered) nor 7/7.
func TestClosedDays(t *testing.T) {
	c := school("c1", "cooking")
	c.Hours = coverage.Week{}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Hours[d] = []string{"08:00-18:00"}
	}
	in := coverage.Input{
		Canteens: []coverage.Canteen{c},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek())},
	}
	q := monday()
	q.To = cst("2026-03-08", "00:00")
	rep := compute(t, in, q)
	check(t, "online", rep.Total.Online, r(5, 5))
	check(t, "Saturday", rep.Days[5].Online, r(0, 0))
	check(t, "camera", rep.Total.CameraOnline, r(5*36000, 5*36000))
	if len(rep.Days) != 7 || rep.Days[6].Day != "2026-03-08" {
		t.Errorf("days = %+v", rep.Days)
	}
}

// Nothing after Now counts: at Monday 13:00 the day so far is 08:00-13:00
// (18,000 s); Tuesday has not begun and is left out.
func TestNow(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek())},
		Violations: []coverage.Violation{
			{CanteenID: "c1", RaisedAt: cst("2026-03-02", "09:00"), ReviewedAt: cst("2026-03-02", "10:00"), Verdict: "confirmed"},
			{CanteenID: "c1", RaisedAt: cst("2026-03-02", "12:00"), ReviewedAt: cst("2026-03-02", "14:00"), Verdict: "confirmed"},
		},
	}
	q := coverage.Query{From: cst("2026-03-02", "00:00"), To: cst("2026-03-03", "00:00"), Now: cst("2026-03-02", "13:00")}
	rep := compute(t, in, q)
	check(t, "Mon camera", rep.Days[0].CameraOnline, r(18000, 18000))
	check(t, "Mon online", rep.Days[0].Online, r(1, 1))
	check(t, "Tue online", rep.Days[1].Online, r(0, 0))
	// The second review comes after Now: not yet reviewed, not yet confirmed.
	check(t, "handling", rep.Total.Handling, r(1, 2))
	check(t, "rectification", rep.Total.Rectification, r(0, 1))
}

// A camera's seconds start at its first status: one that first reported at
// 13:00 has 5 h of camera-seconds that day, all healthy; its area was
// covered for only 50 % of the day.
func TestCameraStartsAtFirstStatus(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", statuses(st{cst("2026-03-02", "13:00"), "ok"}))},
	}
	rep := compute(t, in, monday())
	check(t, "camera", rep.Total.CameraOnline, r(18000, 18000))
	check(t, "online", rep.Total.Online, r(0, 1))
}

// A canteen with no required areas has not been set up: not covered.
// A camera with no intervals adds no camera-seconds.
func TestNoRequiredAreas(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek()), camera("new", "g1", "cooking", nil)},
	}
	rep := compute(t, in, monday())
	check(t, "built", rep.Total.Built, r(0, 1))
	check(t, "online", rep.Total.Online, r(0, 1))
	check(t, "camera", rep.Total.CameraOnline, r(36000, 36000))
}

// A camera's canteen is its gateway's unless it names its own.
func TestCameraCanteen(t *testing.T) {
	in := coverage.Input{
		Canteens: []coverage.Canteen{school("c1", "cooking"), school("c2", "cooking")},
		Gateways: []coverage.Gateway{gateway("g1", "c1")},
		Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek())},
	}
	in.Cameras[0].CanteenID = "c2"
	rep := compute(t, in, monday())
	check(t, "built", rep.Total.Built, r(1, 2))
}

func TestQueryErrors(t *testing.T) {
	from := cst("2026-03-02", "00:00")
	for _, tc := range []struct {
		name string
		q    coverage.Query
		want string
	}{
		{"no from", coverage.Query{}, "from is required"},
		{"to before from", coverage.Query{From: from, To: from.AddDate(0, 0, -1)}, "before"},
		{"too long", coverage.Query{From: from, To: from.AddDate(1, 1, 0)}, "at most 366"},
		{"threshold > 1", coverage.Query{From: from, OnlineThreshold: 1.5}, "online threshold"},
		{"threshold < 0", coverage.Query{From: from, OnlineThreshold: -0.1}, "online threshold"},
		{"negative deadline", coverage.Query{From: from, ReviewDeadline: -time.Hour}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coverage.Compute(coverage.Input{}, tc.q)
			if !errors.Is(err, coverage.ErrQuery) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrQuery with %q", err, tc.want)
			}
		})
	}
	// A year (leap or not) is fine.
	if _, err := coverage.Compute(coverage.Input{}, coverage.Query{From: from, To: from.AddDate(1, 0, -1)}); err != nil {
		t.Errorf("a year: %v", err)
	}
}

func TestInputErrors(t *testing.T) {
	bad := func(edit func(*coverage.Input)) coverage.Input {
		in := coverage.Input{
			Canteens: []coverage.Canteen{school("c1", "cooking")},
			Gateways: []coverage.Gateway{gateway("g1", "c1")},
			Cameras:  []coverage.Camera{camera("cam", "g1", "cooking", healthyAllWeek())},
		}
		edit(&in)
		return in
	}
	for _, tc := range []struct {
		name string
		in   coverage.Input
		want string
	}{
		{"bad hours", bad(func(in *coverage.Input) { in.Canteens[0].Hours[time.Tuesday] = []string{"8-18"} }), `canteen "c1": hours[tue][0] "8-18"`},
		{"bad tz", bad(func(in *coverage.Input) { in.Canteens[0].TZ = "Mars/Olympus" }), `tz "Mars/Olympus"`},
		{"local tz", bad(func(in *coverage.Input) { in.Canteens[0].TZ = "Local" }), `tz "Local"`},
		{"two canteens", bad(func(in *coverage.Input) { in.Canteens = append(in.Canteens, in.Canteens[0]) }), `canteen "c1" listed twice`},
		{"two gateways", bad(func(in *coverage.Input) { in.Gateways = append(in.Gateways, in.Gateways[0]) }), `gateway "g1" listed twice`},
		{"unordered", bad(func(in *coverage.Input) {
			in.Cameras[0].Intervals = append(statuses(st{cst("2026-03-02", "09:00"), "ok"}), statuses(st{cst("2026-03-02", "08:30"), "dark"})...)
		}), `camera "cam" of gateway "g1": intervals out of order`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coverage.Compute(tc.in, monday())
			if !errors.Is(err, coverage.ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInput with %q", err, tc.want)
			}
		})
	}
	// An out-of-scope canteen's hours are not read.
	in := bad(func(in *coverage.Input) { in.Canteens[0].Hours[time.Tuesday] = []string{"8-18"} })
	in.Canteens[0].Active = false
	if _, err := coverage.Compute(in, monday()); err != nil {
		t.Errorf("inactive canteen with bad hours: %v", err)
	}
}

func TestWeekValidate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = valid
	}{
		{"08:00-18:00", ""},
		{" 06:30 - 09:00 ", ""},
		{"22:00-02:00", ""},
		{"22:00-00:00", ""},
		{"00:00-24:00", ""},
		{"23:59-24:00", ""},
		{"08:00-08:00", "empty range"},
		{"24:00-02:00", "cannot start at 24:00"},
		{"08:00", "HH:MM-HH:MM"},
		{"8:00-18:00", "want HH:MM"},
		{"08:60-18:00", "no such time"},
		{"25:00-26:00", "no such time"},
		{"08:00-24:30", "no such time"},
		{"0a:00-18:00", "want HH:MM"},
	} {
		var w coverage.Week
		w[time.Wednesday] = []string{"07:00-08:00", tc.in}
		err := w.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "hours[wed][1]")):
			t.Errorf("%q: err = %v, want hours[wed][1] … %q", tc.in, err, tc.want)
		}
	}
}

func TestRatioJSON(t *testing.T) {
	b, err := json.Marshal(struct{ A, B coverage.Ratio }{r(3, 4), r(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A":{"num":3,"den":4,"rate":0.75},"B":{"num":0,"den":0,"rate":null}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back coverage.Ratio
	if err := json.Unmarshal([]byte(`{"num":3,"den":4,"rate":0.75}`), &back); err != nil || back != r(3, 4) {
		t.Errorf("unmarshal: %v %+v", err, back)
	}
	if v, ok := r(1, 4).Rate(); !ok || v != 0.25 {
		t.Errorf("Rate = %v %v", v, ok)
	}
	if _, ok := r(0, 0).Rate(); ok {
		t.Error("Rate of 0/0 ok")
	}
}

// The report's totals are the sums of its parts.
func TestReportSums(t *testing.T) {
	in := randomCity(7, 40)
	q := coverage.Query{From: cst("2026-03-02", "00:00"), To: cst("2026-03-05", "00:00"), Now: cst("2026-03-05", "15:00")}
	rep := compute(t, in, q)
	var total coverage.Rates
	for _, g := range rep.Groups {
		total.Built.Num += g.Total.Built.Num
		total.Built.Den += g.Total.Built.Den
		for d, day := range g.Days {
			if day.Day != rep.Days[d].Day {
				t.Fatalf("group day %s, report day %s", day.Day, rep.Days[d].Day)
			}
		}
	}
	var days coverage.DayRates
	for _, d := range rep.Days {
		days.Online.Num += d.Online.Num
		days.Online.Den += d.Online.Den
		days.Handling.Num += d.Handling.Num
		days.Handling.Den += d.Handling.Den
		days.Rectification.Num += d.Rectification.Num
		days.Rectification.Den += d.Rectification.Den
	}
	if total.Built != rep.Total.Built || total.Built.Den != int64(len(in.Canteens)-countInactive(in)) {
		t.Errorf("built %+v, groups sum %+v", rep.Total.Built, total.Built)
	}
	if days.Online != rep.Total.Online || days.Handling != rep.Total.Handling || days.Rectification != rep.Total.Rectification {
		t.Errorf("days sum %+v, total %+v", days, rep.Total)
	}
	if rep.Total.Online.Den == 0 || rep.Total.Handling.Den == 0 || rep.Total.CameraOnline.Den == 0 {
		t.Errorf("degenerate fixture: %+v", rep.Total)
	}
}

func countInactive(in coverage.Input) int {
	n := 0
	for _, c := range in.Canteens {
		if !c.Active {
			n++
		}
	}
	return n
}
