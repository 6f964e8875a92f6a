package export

import "github.com/brightkitchen/brightkitchen/fleet/coverage"

// Bilingual column headers of the coverage tables (SPEC §5 names).
const (
	hDay      = "日期 day"
	hCategory = "类别 category"
	hDistrict = "区域 district"
	// totalCategory marks the period table's row for all canteens in scope.
	totalCategory = "合计 total"
)

// rateHeads are the header cells of one Ratio: numerator, denominator, rate.
func rateHeads(zh, en string) []string {
	return []string{zh + "分子 " + en + " num", zh + "分母 " + en + " den", zh + " " + en}
}

// dayHeads are the rate headers of a DayRates, in dayCells order.
func dayHeads() []string {
	var h []string
	h = append(h, rateHeads("在线覆盖率", "online coverage")...)
	h = append(h, rateHeads("摄像头在线率", "camera online rate")...)
	h = append(h, rateHeads("处置率", "handling rate")...)
	h = append(h, rateHeads("整改率", "rectification rate")...)
	h = append(h, rateHeads("投诉回复率", "complaint reply rate")...)
	h = append(h, rateHeads("投诉按时回复率", "complaint on-time reply rate")...)
	return h
}

// CoverageTables turns a rates report into three tables:
//
//   - "totals": one row per day for all canteens in scope: the day, then
//     num, den and rate of online coverage, camera online rate, handling
//     rate, rectification rate, complaint reply rate and on-time reply
//     rate;
//   - "groups": one row per (category, district) × day, in the report's
//     order (category, district, then day), with the same columns after
//     category, district and day (the rows of SPEC §4's format=csv, which
//     fleet/api writes with its own machine-readable header);
//   - "period": the whole period's Rates, built coverage first, one row per
//     (category, district) then a "合计 total" row for all of them.
//
// Headers are Chinese and English ("在线覆盖率 online coverage"). A rate
// is a share 0..1 marked as a Percent column; a rate whose Den is 0 is an
// empty cell, not 0.
func CoverageTables(rep coverage.Report) []Table {
	totals := Table{Name: "totals", Header: append([]string{hDay}, dayHeads()...), Percent: ratePercents(1, 6)}
	for _, d := range rep.Days {
		totals.Rows = append(totals.Rows, append([]any{d.Day}, dayCells(d)...))
	}

	groups := Table{Name: "groups", Header: append([]string{hCategory, hDistrict, hDay}, dayHeads()...), Percent: ratePercents(3, 6)}
	for _, g := range rep.Groups {
		for _, d := range g.Days {
			groups.Rows = append(groups.Rows, append([]any{g.Category, g.District, d.Day}, dayCells(d)...))
		}
	}

	period := Table{Name: "period", Header: append([]string{hCategory, hDistrict}, rateHeads("建设覆盖率", "built coverage")...), Percent: ratePercents(2, 7)}
	period.Header = append(period.Header, dayHeads()...)
	for _, g := range rep.Groups {
		period.Rows = append(period.Rows, append([]any{g.Category, g.District}, ratesCells(g.Total)...))
	}
	period.Rows = append(period.Rows, append([]any{totalCategory, ""}, ratesCells(rep.Total)...))

	return []Table{totals, groups, period}
}

// ratePercents are the rate columns of n Ratios starting at column first.
func ratePercents(first, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = first + 3*i + 2
	}
	return p
}

func dayCells(d coverage.DayRates) []any {
	return ratioCells(d.Online, d.CameraOnline, d.Handling, d.Rectification, d.Reply, d.ReplyOnTime)
}

func ratesCells(r coverage.Rates) []any {
	return ratioCells(r.Built, r.Online, r.CameraOnline, r.Handling, r.Rectification, r.Reply, r.ReplyOnTime)
}

// ratioCells are num, den and rate (nil when Den is 0) of each Ratio.
func ratioCells(rs ...coverage.Ratio) []any {
	cells := make([]any, 0, 3*len(rs))
	for _, r := range rs {
		var rate any
		if x, ok := r.Rate(); ok {
			rate = x
		}
		cells = append(cells, r.Num, r.Den, rate)
	}
	return cells
}
