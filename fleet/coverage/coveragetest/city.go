// Package coveragetest generates the city the rates are benchmarked on,
// for coverage's and the store's benchmarks.
package coveragetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// The generated city of the goal (≤ 200 ms per dashboard query):
// 5,000 canteens with one gateway and 4 cameras each (20,000 cameras), a
// year (2025) of health intervals, gateway sessions and violations.
//
// A camera has on average 0.65 incidents a day (offline, occluded, dark,
// blurred or frozen; 5 min to 3 h, at any hour), each two status changes,
// so about 1.3 intervals per camera per day: ~9.5 M intervals, the ~10 M
// the memory of one process holds comfortably (80 bytes each). A gateway
// loses its uplink on 10% of days (1 min to 6 h); intervals meanwhile say
// what the camera did, as replayed ones would. Canteens raise 0.5 violations
// a day.
const (
	Canteens         = 5000
	CamerasPer       = 4
	IncidentsPerDay  = 0.65
	OutagesPerDay    = 0.10
	ViolationsPerDay = 0.5
)

// Year is the city's year: 2025, from midnight in Asia/Shanghai.
var Year = time.Date(2025, 1, 1, 0, 0, 0, 0, shanghai)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Stats counts what City generated.
type Stats struct{ Intervals, Sessions, Violations int }

// City generates the city from a seed; the same seed gives the same city.
func City(seed uint64) (coverage.Input, Stats) {
	rnd := rand.New(rand.NewPCG(seed, 42))
	var stats Stats
	weekdays := func(ranges ...string) coverage.Week {
		var w coverage.Week
		for d := time.Monday; d <= time.Friday; d++ {
			w[d] = ranges
		}
		return w
	}
	hours := map[string]coverage.Week{
		"school":          weekdays("06:30-09:00", "10:30-13:30", "16:30-19:00"),
		"kindergarten":    weekdays("07:00-16:30"),
		"hospital":        coverage.EveryDay("05:30-20:30"),
		"elder_care":      coverage.EveryDay("06:00-19:00"),
		"scenic":          coverage.EveryDay("09:00-21:00"),
		"construction":    coverage.EveryDay("05:00-09:00", "10:30-13:00", "16:30-19:30"),
		"central_kitchen": coverage.EveryDay("22:00-06:00", "09:00-11:00"),
		"other":           coverage.EveryDay("10:00-14:00", "16:30-22:00"),
	}
	categories := []string{"school", "school", "school", "kindergarten", "hospital", "elder_care", "scenic", "construction", "central_kitchen", "other"}
	areas := []string{"rough", "cooking", "washing"}
	bad := []string{"offline", "occluded", "dark", "blurred", "frozen"}
	const day = 24 * time.Hour
	yearMs := Year.UnixMilli()
	dayMs := day.Milliseconds()
	days := 365
	in := coverage.Input{
		Canteens: make([]coverage.Canteen, 0, Canteens),
		Gateways: make([]coverage.Gateway, 0, Canteens),
		Cameras:  make([]coverage.Camera, 0, Canteens*CamerasPer),
	}
	for i := range Canteens {
		cat := categories[rnd.IntN(len(categories))]
		c := coverage.Canteen{ID: fmt.Sprintf("c%05d", i), Category: cat, District: fmt.Sprintf("d%02d", rnd.IntN(16)),
			Active: rnd.IntN(50) > 0, RequiredAreas: areas, Hours: hours[cat]}
		in.Canteens = append(in.Canteens, c)
		gw := coverage.Gateway{ID: fmt.Sprintf("g%05d", i), CanteenID: c.ID, Enrolled: rnd.IntN(40) > 0}
		// Sessions: connected from the start, with outages.
		conn := yearMs - dayMs
		for d := range days {
			if rnd.Float64() >= OutagesPerDay {
				continue
			}
			down := yearMs + int64(d)*dayMs + rnd.Int64N(dayMs)
			up := down + 60_000 + rnd.Int64N(6*3600_000)
			if down <= conn {
				continue
			}
			gw.Sessions = append(gw.Sessions, coverage.Session{Session: uint64(len(gw.Sessions) + 1),
				Connected: time.UnixMilli(conn), Disconnected: time.UnixMilli(down)})
			conn = up
		}
		gw.Sessions = append(gw.Sessions, coverage.Session{Session: uint64(len(gw.Sessions) + 1), Connected: time.UnixMilli(conn)})
		stats.Sessions += len(gw.Sessions)
		in.Gateways = append(in.Gateways, gw)
		for k := range CamerasPer {
			area := areas[k%len(areas)] // the fourth camera doubles the first area
			if k == 2 && rnd.IntN(50) == 0 {
				area = "" // an unmapped washing area now and then
			}
			cam := coverage.Camera{ID: fmt.Sprintf("cam%d", k), GatewayID: gw.ID, Area: area,
				Intervals: make([]coverage.Interval, 0, int(float64(days)*IncidentsPerDay*2.2)+1)}
			seq := uint64(0)
			add := func(at int64, pic string) {
				seq++
				iv := coverage.Interval{Start: time.UnixMilli(at), Online: pic != "offline", Picture: pic, Seq: seq}
				if pic == "offline" {
					iv.Picture = "unknown"
				}
				if n := len(cam.Intervals); n > 0 {
					cam.Intervals[n-1].End = iv.Start
				}
				cam.Intervals = append(cam.Intervals, iv)
			}
			add(yearMs-dayMs, "ok")
			last := yearMs - dayMs
			for d := range days {
				// 0, 1 or 2 incidents a day: 0.50 + 0.15 = IncidentsPerDay.
				n := 0
				if rnd.Float64() < 0.50 {
					n++
				}
				if rnd.Float64() < 0.15 {
					n++
				}
				for range n {
					at := yearMs + int64(d)*dayMs + rnd.Int64N(dayMs)
					if at <= last {
						continue
					}
					end := at + 300_000 + rnd.Int64N(3*3600_000)
					add(at, bad[rnd.IntN(len(bad))])
					add(end, "ok")
					last = end
				}
			}
			stats.Intervals += len(cam.Intervals)
			in.Cameras = append(in.Cameras, cam)
		}
		for d := range days {
			if rnd.Float64() >= ViolationsPerDay {
				continue
			}
			raised := time.UnixMilli(yearMs + int64(d)*dayMs + rnd.Int64N(dayMs))
			v := coverage.Violation{ID: int64(len(in.Violations) + 1), CanteenID: c.ID, RaisedAt: raised}
			if rnd.IntN(10) > 0 {
				v.ReviewedAt = raised.Add(time.Duration(rnd.Int64N(int64(36 * time.Hour))))
				v.Verdict = coverage.VerdictConfirmed
				if rnd.IntN(3) == 0 {
					v.Verdict = coverage.VerdictDismissed
				} else if rnd.IntN(4) > 0 {
					v.RectificationAcceptedAt = v.ReviewedAt.Add(time.Duration(rnd.Int64N(int64(72 * time.Hour))))
				}
			}
			in.Violations = append(in.Violations, v)
		}
	}
	stats.Violations = len(in.Violations)
	return in, stats
}
