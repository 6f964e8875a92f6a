package api

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/export"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// dashboard is the regulator's overview in one answer: what is
// registered, what is online now, the alarm backlog and the last 7 days'
// rates.
type dashboard struct {
	Canteens  int                `json:"canteens"`
	Gateways  onlineCount        `json:"gateways"`
	Cameras   cameraCount        `json:"cameras"`
	Alarms    alarms.AlarmCounts `json:"alarms"`
	Districts []districtCount    `json:"districts"`
	Coverage  coverage.Report    `json:"coverage"`
	At        time.Time          `json:"at"`
	Scope     map[string]any     `json:"scope"`
	byName    map[string]*districtCount
}

type onlineCount struct {
	Online int `json:"online"`
	Total  int `json:"total"`
}

type cameraCount struct {
	Online  int `json:"online"`
	Healthy int `json:"healthy"`
	Total   int `json:"total"`
}

type districtCount struct {
	District       string `json:"district"`
	Canteens       int    `json:"canteens"`
	GatewaysOnline int    `json:"gateways_online"`
	GatewaysTotal  int    `json:"gateways_total"`
	CamerasHealthy int    `json:"cameras_healthy"`
	CamerasTotal   int    `json:"cameras_total"`
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	f, query, ok := coverageQuery(w, r)
	if !ok {
		return
	}
	f.ActiveOnly = true
	ctx := r.Context()
	cs, err := s.Registry.ListCanteens(ctx, f)
	if err != nil {
		s.internal(w, "list canteens", err)
		return
	}
	gws, err := s.Registry.GatewaysIn(ctx, f)
	if err != nil {
		s.internal(w, "list gateways", err)
		return
	}
	d := dashboard{Canteens: len(cs), At: query.Now.UTC(), byName: map[string]*districtCount{},
		Scope: map[string]any{"category": f.Category, "district": f.District, "districts": f.Scope.Districts}}
	district := make(map[string]string, len(cs))
	for _, c := range cs {
		district[c.ID] = c.District
		d.district(c.District).Canteens++
	}
	for _, g := range gws {
		dn, ok := district[g.CanteenID]
		if !ok {
			continue
		}
		dc := d.district(dn)
		dc.GatewaysTotal++
		d.Gateways.Total++
		if g.Online {
			dc.GatewaysOnline++
			d.Gateways.Online++
		}
		for _, c := range g.Cameras {
			d.Cameras.Total++
			dc.CamerasTotal++
			if g.Online && c.Online {
				d.Cameras.Online++
			}
			if g.Online && c.Online && c.Picture == wire.PictureOK {
				d.Cameras.Healthy++
				dc.CamerasHealthy++
			}
		}
	}
	d.Districts = make([]districtCount, 0, len(d.byName))
	for _, dc := range d.byName {
		d.Districts = append(d.Districts, *dc)
	}
	slices.SortFunc(d.Districts, func(a, b districtCount) int { return strings.Compare(a.District, b.District) })
	scope := f.Scope
	if f.District != "" {
		scope.Districts = []string{f.District}
	}
	if d.Alarms, err = s.Alarms.AlarmCounts(ctx, scope, f.Category, time.Time{}, query.Now); err != nil {
		s.internal(w, "count alarms", err)
		return
	}
	query.To = today(query.Now)
	query.From = query.To.AddDate(0, 0, -(DefaultCoverageDays - 1))
	if d.Coverage, ok = s.rates(w, r, f, query); !ok {
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (d *dashboard) district(name string) *districtCount {
	dc := d.byName[name]
	if dc == nil {
		dc = &districtCount{District: name}
		d.byName[name] = dc
	}
	return dc
}

// writeTables answers with tables as a CSV (the first table) or an XLSX
// workbook, named name.
func (s *Server) writeTables(w http.ResponseWriter, format, name string, tables ...export.Table) {
	var buf bytes.Buffer
	var err error
	if format == "csv" {
		err = export.WriteCSV(&buf, tables[0])
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		err = export.WriteXLSX(&buf, tables...)
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	}
	if err != nil {
		s.internal(w, "write "+format, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name,
		time.Now().Format("20060102-1504"), format))
	_, _ = w.Write(buf.Bytes())
}

// violationTable is the alarm list as a sheet, times in
// coverage.DefaultTZ (Excel dates carry no zone).
func violationTable(vs []alarms.Violation) export.Table {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	t := export.Table{Name: "alarms", Header: []string{
		"编号 id", "食堂 canteen_id", "食堂名称 canteen", "区 district", "摄像头 camera_id", "类型 type", "置信度 score",
		"发生时间 started_at", "结束时间 ended_at", "状态 status", "逾期 overdue", "审核期限 review_due",
		"审核时间 reviewed_at", "审核人 reviewed_by", "审核意见 review_note", "整改期限 rectify_due",
		"整改完成 rectified_at", "办结 closed_at"}}
	opt := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.In(loc)
	}
	for _, v := range vs {
		t.Rows = append(t.Rows, []any{v.ID, v.CanteenID, v.CanteenName, v.District, v.CameraID, v.Type, v.Score,
			opt(v.StartedAt), opt(v.EndedAt), v.Status, v.Overdue, opt(v.ReviewDue), opt(v.ReviewedAt), v.ReviewedBy,
			v.ReviewNote, opt(v.RectifyDue), opt(v.RectifiedAt), opt(v.ClosedAt)})
	}
	return t
}
