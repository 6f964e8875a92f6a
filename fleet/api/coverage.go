package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/export"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// DefaultCoverageDays is the period GET /api/v1/coverage reports without
// from: the last 7 days, today included.
const DefaultCoverageDays = 7

// coverage answers GET /api/v1/coverage?category&district&from&to (dates
// YYYY-MM-DD, inclusive; default the last 7 days as dated in
// coverage.DefaultTZ) with coverage.Report as JSON, with format=csv one
// row per day and (category, district), with format=xlsx a workbook
// (export.CoverageTables). A regulator sees its districts only.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format, ok := exportFormat(w, r)
	if !ok {
		return
	}
	f, query, ok := coverageQuery(w, r)
	if !ok {
		return
	}
	var err error
	if query.From, err = parseDate(q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "from: "+err.Error())
		return
	}
	if query.To, err = parseDate(q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "to: "+err.Error())
		return
	}
	if query.To.IsZero() {
		query.To = today(query.Now)
	}
	if query.From.IsZero() {
		query.From = query.To.AddDate(0, 0, -(DefaultCoverageDays - 1))
	}
	if days := query.To.Sub(query.From).Hours()/24 + 1; days < 1 || days > coverage.MaxDays {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("from..to: want 1 to %d days", coverage.MaxDays))
		return
	}
	rep, ok := s.rates(w, r, f, query)
	if !ok {
		return
	}
	switch format {
	case "csv":
		writeCoverageCSV(w, rep)
	case "xlsx":
		s.writeTables(w, "xlsx", "coverage", export.CoverageTables(rep)...)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// exportFormat reads ?format: "" or json, csv, xlsx; it has answered 400
// when ok is false.
func exportFormat(w http.ResponseWriter, r *http.Request) (string, bool) {
	switch format := r.URL.Query().Get("format"); format {
	case "", "json", "csv", "xlsx":
		return format, true
	}
	writeError(w, http.StatusBadRequest, "bad_request", "format: want json, csv or xlsx")
	return "", false
}

// coverageQuery reads ?category&district into a filter in the principal's
// scope; a regulator asking for a district not theirs is refused.
func coverageQuery(w http.ResponseWriter, r *http.Request) (registry.CanteenFilter, coverage.Query, bool) {
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := registry.CanteenFilter{Category: q.Get("category"), District: q.Get("district"), Scope: p.Scope()}
	if f.District != "" && f.Scope.Districts != nil && !slices.Contains(f.Scope.Districts, f.District) {
		refuse(w, "district "+f.District)
		return f, coverage.Query{}, false
	}
	return f, coverage.Query{Category: f.Category, District: f.District, Now: time.Now()}, true
}

// today is the current date in coverage.DefaultTZ, as midnight UTC.
func today(now time.Time) time.Time {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// rates computes the rates of the canteens f selects (Rates.Coverage:
// finished days from the rollup); it has answered when ok is false.
func (s *Server) rates(w http.ResponseWriter, r *http.Request, f registry.CanteenFilter, query coverage.Query) (coverage.Report, bool) {
	rep, err := s.Rates.Coverage(r.Context(), f, query)
	if errors.Is(err, coverage.ErrQuery) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return rep, false
	} else if err != nil {
		s.internal(w, "compute coverage", err)
		return rep, false
	}
	return rep, true
}

// parseDate parses YYYY-MM-DD as that date's midnight UTC (coverage uses
// only the date); "" is the zero time.
func parseDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, fmt.Errorf("%q is not YYYY-MM-DD", v)
	}
	return t, nil
}

// coverageCSVHeader: per day and group, each rate as numerator,
// denominator and rate (empty when the denominator is 0). Built coverage
// has no history: its columns repeat the group's current value on each day.
var coverageCSVHeader = []string{"day", "category", "district",
	"built_num", "built_den", "built_rate",
	"online_num", "online_den", "online_rate",
	"camera_online_num", "camera_online_den", "camera_online_rate",
	"handling_num", "handling_den", "handling_rate",
	"rectification_num", "rectification_den", "rectification_rate",
	"reply_num", "reply_den", "reply_rate",
	"reply_on_time_num", "reply_on_time_den", "reply_on_time_rate"}

func writeCoverageCSV(w http.ResponseWriter, rep coverage.Report) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="coverage.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write(coverageCSVHeader)
	for _, g := range rep.Groups {
		for _, d := range g.Days {
			row := []string{d.Day, g.Category, g.District}
			for _, r := range []coverage.Ratio{g.Total.Built, d.Online, d.CameraOnline, d.Handling, d.Rectification, d.Reply, d.ReplyOnTime} {
				rate := ""
				if x, ok := r.Rate(); ok {
					rate = strconv.FormatFloat(x, 'f', -1, 64)
				}
				row = append(row, strconv.FormatInt(r.Num, 10), strconv.FormatInt(r.Den, 10), rate)
			}
			_ = cw.Write(row)
		}
	}
	cw.Flush()
}
