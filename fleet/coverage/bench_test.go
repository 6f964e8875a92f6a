package coverage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/coverage/coveragetest"
)

// BenchmarkCity reports ms per Compute on the generated city for the
// dashboard's queries: the last 30 days and the last day of the year, with
// Now at the year's end; also a district's 30 days and the whole year.
func BenchmarkCity(b *testing.B) {
	start := time.Now()
	in, stats := coveragetest.City(1)
	city := fmt.Sprintf("city: %d canteens, %d gateways, %d cameras, %d intervals, %d sessions, %d violations (generated in %v)",
		len(in.Canteens), len(in.Gateways), len(in.Cameras), stats.Intervals, stats.Sessions, stats.Violations, time.Since(start).Round(time.Millisecond))
	end := coveragetest.Year.AddDate(1, 0, 0)
	last := end.AddDate(0, 0, -1)
	for _, bc := range []struct {
		name string
		q    coverage.Query
	}{
		{"30d", coverage.Query{From: end.AddDate(0, 0, -30), To: last}},
		{"1d", coverage.Query{From: last}},
		{"30d-district", coverage.Query{From: end.AddDate(0, 0, -30), To: last, District: "d03"}},
		{"365d", coverage.Query{From: coveragetest.Year, To: last}},
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
