package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/web"
)

// The public kitchen pages (网络厨房, no login): GET /kitchens lists the
// participating canteens (registry.PublicCanteens: active, with a camera
// published to everyone) by district and category, a page of
// registry.DefaultPublicPage at a time; GET /kitchens/{id} is one
// canteen's public notice and, inside its viewing windows, the live
// players of its published cameras (fleet/web renders both). The public
// notice (公示) is kept through GET/PUT /api/v1/canteens/{id}/publicity.

// onlineDays is the period of the public notices' online rate.
const onlineDays = 30

// maxPublicPages bounds ?page= (5,000 canteens are 250 pages of 20).
const maxPublicPages = 10000

// kitchenTime is how the public pages show a time, in the canteen's zone.
const kitchenTime = "2006-01-02 15:04"

// onlinePeriod is the last onlineDays days to now, in the default zone.
func onlinePeriod(now time.Time) coverage.Query {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return coverage.Query{From: to.AddDate(0, 0, 1-onlineDays), To: to, Now: now}
}

// onlineRates are the camera online rates of canteens ids over the last
// onlineDays days, as "96.5%" ("" where there is no camera time); an
// error leaves them all "" (the page still shows, logged).
func (s *Server) onlineRates(r *http.Request, ids []string, q coverage.Query) map[string]string {
	out := map[string]string{}
	if len(ids) == 0 || s.Rates == nil {
		return out
	}
	rates, err := s.Rates.CameraOnlineByCanteen(r.Context(), registry.CanteenFilter{Scope: registry.Scope{Canteens: ids}}, q)
	if err != nil {
		s.Logger.Warn("public pages: online rates", "err", err)
		return out
	}
	for id, x := range rates {
		if v, ok := x.Rate(); ok {
			out[id] = strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
		}
	}
	return out
}

// summaryOf is a participating canteen as the public pages show it.
func summaryOf(c registry.PublicCanteen, online string, now time.Time) web.KitchenSummary {
	v := viewOf(c.Canteen, now)
	k := web.KitchenSummary{ID: c.ID, Name: c.Name, District: c.District, Category: c.Category,
		Grade: c.Publicity.Grade, Inspection: c.Publicity.InspectionResult, InspectedOn: c.Publicity.InspectedOn,
		Online: online, OpenNow: v.ViewingOpen, Cameras: c.Cameras}
	if loc, err := time.LoadLocation(c.TZ); err == nil && !v.ViewingNext.IsZero() {
		k.NextOpen = v.ViewingNext.In(loc).Format(kitchenTime)
	}
	return k
}

// kitchens is GET /kitchens: ?district, ?category, ?q (a part of the
// name), ?page (from 1), ?lang=en. Unknown categories and pages past the
// end show nothing rather than an error: it is a page for people.
func (s *Server) kitchens(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := web.TextsOf(web.KitchenLang(r))
	v := web.KitchenList{T: t, District: q.Get("district"), Category: q.Get("category"), Name: strings.TrimSpace(q.Get("q")),
		Categories: registry.Categories, Page: 1}
	if utf8.RuneCountInString(v.Name) > 64 || !utf8.ValidString(v.Name) {
		v.Name = ""
	}
	if utf8.RuneCountInString(v.District) > 64 || !utf8.ValidString(v.District) {
		v.District = ""
	}
	if v.Category != "" && !slices.Contains(registry.Categories, v.Category) {
		v.Category = ""
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p >= 1 && p <= maxPublicPages {
		v.Page = p
	}
	per := registry.DefaultPublicPage
	cs, total, err := s.Registry.PublicCanteens(r.Context(), registry.PublicFilter{District: v.District, Category: v.Category,
		Name: v.Name, Offset: (v.Page - 1) * per, Limit: per})
	if err != nil {
		s.internal(w, "list public canteens", err)
		return
	}
	if v.Districts, err = s.Registry.PublicDistricts(r.Context(), ""); err != nil {
		s.internal(w, "list public districts", err)
		return
	}
	now := time.Now()
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	online := s.onlineRates(r, ids, onlinePeriod(now))
	for _, c := range cs {
		v.Items = append(v.Items, summaryOf(c, online[c.ID], now))
	}
	v.Total, v.Pages = total, (total+per-1)/per
	keep := url.Values{}
	for _, kv := range [][2]string{{"district", v.District}, {"category", v.Category}, {"q", v.Name}} {
		if kv[1] != "" {
			keep.Set(kv[0], kv[1])
		}
	}
	v.Query = template.URL(keep.Encode()) // url.Values.Encode: escaped
	page := func(n int) string {
		u := url.Values{}
		for k, vs := range keep {
			u[k] = vs
		}
		if t.Lang() == "en" {
			u.Set("lang", "en")
		}
		u.Set("page", strconv.Itoa(n))
		return "/kitchens?" + u.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = page(min(v.Page-1, max(v.Pages, 1)))
	}
	if v.Page < v.Pages {
		v.NextURL = page(v.Page + 1)
	}
	s.writePage(w, web.CSP, func(b *strings.Builder) error { return web.RenderKitchenList(b, v) })
}

// kitchen is GET /kitchens/{id}: 404 for a canteen that does not take
// part (unknown, inactive, nothing published).
func (s *Server) kitchen(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t := web.TextsOf(web.KitchenLang(r))
	c, err := s.Registry.PublicCanteen(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, t.T("pub.none"))
		return
	} else if err != nil {
		s.internal(w, "get public canteen", err)
		return
	}
	cams, err := s.Registry.PublishedCameras(r.Context(), id)
	if err != nil {
		s.internal(w, "list published cameras", err)
		return
	}
	now := time.Now()
	period := onlinePeriod(now)
	k := web.Kitchen{T: t, KitchenSummary: summaryOf(c, s.onlineRates(r, []string{id}, period)[id], now),
		Address: c.Address, LicenceNo: c.Publicity.LicenceNo, PersonInCharge: c.Publicity.PersonInCharge,
		OnlineDetail: period.From.Format(time.DateOnly) + " – " + period.To.Format(time.DateOnly),
		ComplainURL:  "/complain?canteen=" + url.QueryEscape(id)}
	vw := viewOf(c.Canteen, now)
	if loc, err := time.LoadLocation(c.TZ); err == nil && vw.ViewingOpen {
		k.Until = vw.ViewingUntil.In(loc).Format(kitchenTime)
	}
	for _, cm := range cams {
		k.Cameras = append(k.Cameras, web.KitchenCamera{Key: cm.Key, CameraID: cm.CameraID, Area: cm.Area, Online: cm.Online})
	}
	k.ListURL, k.LangURL = "/kitchens", "/kitchens/"+url.PathEscape(id)+"?lang=en"
	if t.Lang() == "en" {
		k.ListURL, k.LangURL = "/kitchens?lang=en", "/kitchens/"+url.PathEscape(id)
	}
	csp := web.CSP
	if k.OpenNow {
		csp = web.KitchenCSP()
	}
	s.writePage(w, csp, func(b *strings.Builder) error { return web.RenderKitchen(b, k) })
}

// writePage renders a public page and sends it with csp, revalidated on
// every load (it shows what is open now).
func (s *Server) writePage(w http.ResponseWriter, csp string, render func(*strings.Builder) error) {
	var b strings.Builder
	if err := render(&b); err != nil {
		s.internal(w, "render page", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

// publicityView is GET/PUT …/publicity's answer: the notice, and which
// fields the principal may change.
type publicityView struct {
	registry.Publicity
	Editable []string `json:"editable"`
}

// operatorFields and regulatorFields of the notice: who may set them.
var (
	operatorFields  = []string{"licence_no", "person_in_charge"}
	regulatorFields = []string{"grade", "inspection_result", "inspected_on"}
)

// publicityEditable is the fields of the notice p may change: the
// operator's (an operator of the canteen, an admin) and the regulator's
// (a regulator of its district, an admin). The scope is checked by the
// caller.
func publicityEditable(p Principal) []string {
	var out []string
	if p.Role == auth.RoleAdmin || p.Role == auth.RoleOperator {
		out = append(out, operatorFields...)
	}
	if p.Role == auth.RoleAdmin || p.Role == auth.RoleRegulator {
		out = append(out, regulatorFields...)
	}
	return nonNil(out)
}

func (s *Server) getPublicity(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	x, err := s.Registry.Publicity(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "get publicity", err)
		return
	}
	writeJSON(w, http.StatusOK, publicityView{Publicity: x, Editable: publicityEditable(p)})
}

// putPublicity changes the fields of the notice the body names; a field
// the principal may not change is 403 naming it, and nothing is changed.
// Audited (publicity_set) with the fields and their new values.
func (s *Server) putPublicity(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var patch registry.PublicityPatch
	if !decodeBody(w, r, &patch) {
		return
	}
	fields := append(patch.OperatorFields(), patch.RegulatorFields()...)
	if len(fields) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "body: no field to change (licence_no, person_in_charge, grade, inspection_result, inspected_on)")
		return
	}
	editable := publicityEditable(p)
	for _, f := range fields {
		if !slices.Contains(editable, f) {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s: role %s may not change it", f, p.Role))
			return
		}
	}
	x, err := s.Registry.SetPublicity(r.Context(), c.ID, patch, p.ID, time.Now())
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "set publicity", err)
		return
	}
	var detail []string
	for _, f := range fields {
		detail = append(detail, f+"="+strconv.Quote(publicityField(x, f)))
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "publicity_set", CanteenID: c.ID, Detail: strings.Join(detail, " ")})
	writeJSON(w, http.StatusOK, publicityView{Publicity: x, Editable: editable})
}

func publicityField(x registry.Publicity, f string) string {
	switch f {
	case "licence_no":
		return x.LicenceNo
	case "person_in_charge":
		return x.PersonInCharge
	case "grade":
		return x.Grade
	case "inspection_result":
		return x.InspectionResult
	}
	return x.InspectedOn
}
