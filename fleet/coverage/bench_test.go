package coverage_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
	cityCanteens         = 5000
	cityCamerasPer       = 4
	cityIncidentsPerDay  = 0.65
	cityOutagesPerDay    = 0.10
	cityViolationsPerDay = 0.5
)

var cityYear = time.Date(2025, 1, 1, 0, 0, 0, 0, shanghai)

type cityStats struct{ intervals, sessions, violations int }

func genCity(seed uint64) (coverage.Input, cityStats) {
	rnd := rand.New(rand.NewPCG(seed, 42))
	var stats cityStats
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
	yearMs := cityYear.UnixMilli()
	dayMs := day.Milliseconds()
	days := 365
	in := coverage.Input{
		Canteens: make([]coverage.Canteen, 0, cityCanteens),
		Gateways: make([]coverage.Gateway, 0, cityCanteens),
		Cameras:  make([]coverage.Camera, 0, cityCanteens*cityCamerasPer),
	}
	for i := range cityCanteens {
		cat := categories[rnd.IntN(len(categories))]
		c := coverage.Canteen{ID: fmt.Sprintf("c%05d", i), Category: cat, District: fmt.Sprintf("d%02d", rnd.IntN(16)),
			Active: rnd.IntN(50) > 0, RequiredAreas: areas, Hours: hours[cat]}
		in.Canteens = append(in.Canteens, c)
		gw := coverage.Gateway{ID: fmt.Sprintf("g%05d", i), CanteenID: c.ID, Enrolled: rnd.IntN(40) > 0}
		// Sessions: connected from the start, with outages.
		conn := yearMs - dayMs
		for d := range days {
			if rnd.Float64() >= cityOutagesPerDay {
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
		stats.sessions += len(gw.Sessions)
		in.Gateways = append(in.Gateways, gw)
		for k := range cityCamerasPer {
			area := areas[k%len(areas)] // the fourth camera doubles the first area
			if k == 2 && rnd.IntN(50) == 0 {
				area = "" // an unmapped washing area now and then
			}
			cam := coverage.Camera{ID: fmt.Sprintf("cam%d", k), GatewayID: gw.ID, Area: area,
				Intervals: make([]coverage.Interval, 0, int(float64(days)*cityIncidentsPerDay*2.2)+1)}
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
				// 0, 1 or 2 incidents a day: 0.50 + 0.15 = cityIncidentsPerDay.
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
			stats.intervals += len(cam.Intervals)
			in.Cameras = append(in.Cameras, cam)
		}
		for d := range days {
			if rnd.Float64() >= cityViolationsPerDay {
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
	stats.violations = len(in.Violations)
	return in, stats
}

// BenchmarkCity reports ms per Compute on the generated city for the
// dashboard's queries: the last 30 days and the last day of the year, with
// Now at the year's end; also a district's 30 days and the whole year.
func BenchmarkCity(b *testing.B) {
	start := time.Now()
	in, stats := genCity(1)
	city := fmt.Sprintf("city: %d canteens, %d gateways, %d cameras, %d intervals, %d sessions, %d violations (generated in %v)",
		len(in.Canteens), len(in.Gateways), len(in.Cameras), stats.intervals, stats.sessions, stats.violations, time.Since(start).Round(time.Millisecond))
	end := cityYear.AddDate(1, 0, 0)
	last := end.AddDate(0, 0, -1)
	for _, bc := range []struct {
		name string
		q    coverage.Query
	}{
		{"30d", coverage.Query{From: end.AddDate(0, 0, -30), To: last}},
		{"1d", coverage.Query{From: last}},
		{"30d-district", coverage.Query{From: end.AddDate(0, 0, -30), To: last, District: "d03"}},
		{"365d", coverage.Query{From: cityYear, To: last}},
	} {
		bc.q.Now = end
		b.Run(bc.name, func(b *testing.B) {
			var rep coverage.Report
			for b.Loop() {
				var err error
				if rep, err = coverage.Compute(in, bc.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
			rate, _ := rep.Total.CameraOnline.Rate()
			online, _ := rep.Total.Online.Rate()
			b.Log(city)
			b.Logf("%s: built %d/%d, online %d/%d (%.3f), camera online %.3f, handling %d/%d",
				bc.name, rep.Total.Built.Num, rep.Total.Built.Den, rep.Total.Online.Num, rep.Total.Online.Den, online,
				rate, rep.Total.Handling.Num, rep.Total.Handling.Den)
		})
	}
}
