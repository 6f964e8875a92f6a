package coverage_test

import (
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// One school canteen whose only required area's camera was occluded from
// 11:00 to 12:30 (15% of its 08:00-18:00 day): 85% online, below the 90%
// a day needs to count as online-covered. The caller would load these from
// the database (coverage.Interval(iv) converts a registry.Interval).
func ExampleCompute() {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(hm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", "2026-03-02 "+hm, sh)
		return t
	}
	in := coverage.Input{
		Canteens: []coverage.Canteen{{ID: "school-1", Category: "school", District: "xuhui", Active: true,
			RequiredAreas: []string{"cooking"}, Hours: coverage.EveryDay("08:00-18:00")}},
		Gateways: []coverage.Gateway{{ID: "gw-1", CanteenID: "school-1", Enrolled: true,
			Sessions: []coverage.Session{{Session: 1, Connected: at("06:00")}}}},
		Cameras: []coverage.Camera{{ID: "cam-1", GatewayID: "gw-1", Area: "cooking", Intervals: []coverage.Interval{
			{Start: at("07:00"), End: at("11:00"), Online: true, Picture: "ok", Seq: 1},
			{Start: at("11:00"), End: at("12:30"), Online: true, Picture: "occluded", Seq: 2},
			{Start: at("12:30"), Online: true, Picture: "ok", Seq: 3},
		}}},
	}
	rep, err := coverage.Compute(in, coverage.Query{From: at("00:00"), Now: at("23:59")})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range rep.Groups {
		for _, d := range g.Days {
			rate, _ := d.CameraOnline.Rate()
			fmt.Printf("%s %s/%s: built %d/%d, online %d/%d, camera online %d/%d s (%.1f%%)\n",
				d.Day, g.Category, g.District, g.Total.Built.Num, g.Total.Built.Den,
				d.Online.Num, d.Online.Den, d.CameraOnline.Num, d.CameraOnline.Den, rate*100)
		}
	}
	// Output:
	// 2026-03-02 school/xuhui: built 1/1, online 0/1, camera online 30600/36000 s (85.0%)
}
