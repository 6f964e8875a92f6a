package web

// Long file: the fake API the UI tests run against where no real store is
// needed (to shrink with issue 13's UI work, planned).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// fakeAPI answers the fleet's /api/v1 (docs/SPEC.md §4) with canned data
// for the browser tests: four users, one school canteen with two cameras,
// one alarm that walks the review workflow, two gateways. Requests the UI
// makes to paths the fake does not know are recorded as unexpected.
type fakeAPI struct {
	t   testing.TB
	now time.Time

	mu     sync.Mutex
	status string // alarm 42
	// expired: alarm 42's snapshot was deleted by retention.
	expired    bool
	history    []map[string]any
	rects      []map[string]any
	viewing    bool
	unexpected []string
	reads      int
	puts       []string // PUT bodies, summarised
	// canteenPosts are the bodies of POST /api/v1/canteens.
	canteenPosts []string
	cmds         []string // commands sent, "gateway name"
	coverageDays []int    // the periods GET /api/v1/coverage was asked for
	cmdPolls     int      // GETs of a command's status
	added        []string // users added, "id:role:districts"
	deleted      []string // users deleted
}

const (
	fakeCanteen  = "c-xh-001"
	fakeAlarm    = 42
	fakePassword = "secret pw 1"
	fakeCode     = "7KQ2M9XD4PA" // 11 characters, as the fleet makes them
	fakeInvite   = "GOOD-CODE-1"
)

// FakeUsers are the fake's principals as /me answers. Their permissions
// are fleet/api's for their roles (TestFakeMe checks, from outside: this
// package cannot import fleet/api).
var FakeUsers = map[string]map[string]any{
	"li.reg": {"id": "li.reg", "name": "李科长", "role": "regulator", "canteens": []string{}, "districts": []string{"徐汇区"},
		"permissions": fakePermissions["regulator"], "scope": map[string]any{"canteens": nil, "districts": []string{"徐汇区"}}},
	"zhang.op": {"id": "zhang.op", "name": "张经理", "role": "operator", "canteens": []string{fakeCanteen}, "districts": []string{},
		"permissions": fakePermissions["operator"], "scope": map[string]any{"canteens": []string{fakeCanteen}, "districts": nil}},
	"wang.mum": {"id": "wang.mum", "name": "王妈妈", "role": "parent", "canteens": []string{fakeCanteen}, "districts": []string{},
		"permissions": fakePermissions["parent"], "scope": map[string]any{"canteens": []string{fakeCanteen}, "districts": nil}},
	"admin": {"id": "admin", "name": "系统管理员", "role": "admin", "canteens": []string{}, "districts": []string{},
		"permissions": fakePermissions["admin"], "scope": map[string]any{"canteens": nil, "districts": nil}},
}

var fakePermissions = map[string][]string{
	"admin": {"live.watch", "canteen.view", "canteens.list", "canteens.manage", "canteens.viewing", "invites.manage",
		"cameras.map", "gateways.list", "gateways.manage", "alarms.view", "alarms.review", "alarms.rectify", "notices.read",
		"dashboard.view", "coverage.view", "audit.view", "users.list", "users.add", "metrics.view"},
	"regulator": {"live.watch", "canteen.view", "canteens.list", "gateways.list", "alarms.view", "alarms.review",
		"dashboard.view", "coverage.view", "audit.view"},
	"operator": {"live.watch", "canteen.view", "canteens.list", "canteens.viewing", "invites.manage", "cameras.map",
		"gateways.list", "alarms.view", "alarms.rectify", "notices.read", "users.list", "canteen.work"},
	"parent": {"live.watch", "canteen.view", "parent.view"},
}

func newFakeAPI(t testing.TB) *fakeAPI {
	return &fakeAPI{t: t, now: time.Now().UTC().Truncate(time.Second), status: "new"}
}

func (f *fakeAPI) ts(d time.Duration) string { return f.now.Add(d).Format(time.RFC3339) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

// user is the principal of the request's session cookie, or nil (and a
// 401 answered).
func (f *fakeAPI) user(w http.ResponseWriter, r *http.Request) map[string]any {
	c, err := r.Cookie("bk_session")
	if err == nil {
		if u, ok := FakeUsers[c.Value]; ok {
			return u
		}
	}
	writeErr(w, http.StatusUnauthorized, "unauthorized", "log in first")
	return nil
}

// decode reads a JSON body and insists on the content type the UI must send.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeErr(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
		return false
	}
	return true
}

func (f *fakeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", Handler())
	mux.Handle("GET /static/", Handler())
	mux.HandleFunc("POST /api/v1/login", f.login)
	mux.HandleFunc("POST /api/v1/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "bk_session", Value: "", Path: "/", MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/invites/redeem", f.redeem)
	auth := func(fn func(w http.ResponseWriter, r *http.Request, u map[string]any)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if u := f.user(w, r); u != nil {
				fn(w, r, u)
			}
		}
	}
	mux.HandleFunc("GET /api/v1/me", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) { writeJSON(w, 200, u) }))
	mux.HandleFunc("GET /api/v1/violation-types", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, map[string]any{"types": wire.ViolationTypes})
	}))
	mux.HandleFunc("GET /api/v1/dashboard", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, f.dashboard())
	}))
	mux.HandleFunc("GET /api/v1/coverage", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		days := 7
		if from, err := time.Parse(time.DateOnly, r.URL.Query().Get("from")); err == nil {
			days = int(f.now.Sub(from).Hours()/24) + 1
		}
		f.mu.Lock()
		f.coverageDays = append(f.coverageDays, days)
		f.mu.Unlock()
		writeJSON(w, 200, f.report(days))
	}))
	mux.HandleFunc("GET /api/v1/violations", auth(f.violations))
	mux.HandleFunc("GET /api/v1/violations/{id}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		if r.PathValue("id") != fmt.Sprint(fakeAlarm) {
			writeErr(w, 403, "forbidden", "not allowed: violation "+r.PathValue("id"))
			return
		}
		writeJSON(w, 200, f.alarm(true))
	}))
	mux.HandleFunc("GET /api/v1/violations/{id}/snapshot", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(snapshotJPEG())
	}))
	mux.HandleFunc("GET /api/v1/violations/{id}/rectifications/{rid}/photo", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(snapshotJPEG())
	}))
	mux.HandleFunc("POST /api/v1/violations/{id}/review", auth(f.review))
	mux.HandleFunc("POST /api/v1/violations/{id}/rectification", auth(f.rectify))
	mux.HandleFunc("POST /api/v1/violations/{id}/decision", auth(f.decide))
	mux.HandleFunc("GET /api/v1/canteens", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, map[string]any{"canteens": []any{f.canteen(), f.otherCanteen()}})
	}))
	mux.HandleFunc("POST /api/v1/canteens", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req map[string]any
		if decode(w, r, &req) {
			b, _ := json.Marshal(req)
			f.mu.Lock()
			f.canteenPosts = append(f.canteenPosts, string(b))
			f.mu.Unlock()
			writeJSON(w, 200, req)
		}
	}))
	mux.HandleFunc("GET /api/v1/canteens/{id}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		if r.PathValue("id") != fakeCanteen {
			writeErr(w, 403, "forbidden", "not allowed: canteen "+r.PathValue("id"))
			return
		}
		writeJSON(w, 200, f.canteen())
	}))
	mux.HandleFunc("GET /api/v1/canteens/{id}/cameras", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		cams := []map[string]any{}
		for _, c := range f.cameras() {
			if u["role"] != "parent" || c["public"] == true {
				c["gateway_id"], c["gateway_online"] = "gw-xh-001", true
				cams = append(cams, c)
			}
		}
		writeJSON(w, 200, map[string]any{"cameras": cams})
	}))
	mux.HandleFunc("PUT /api/v1/canteens/{id}/viewing", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req struct {
			Viewing [7][]string `json:"viewing_windows"`
			Max     int         `json:"max_parent_viewers"`
		}
		if decode(w, r, &req) {
			f.mu.Lock()
			f.puts = append(f.puts, fmt.Sprintf("viewing %v max %d", req.Viewing, req.Max))
			f.mu.Unlock()
			writeJSON(w, 200, f.canteen())
		}
	}))
	mux.HandleFunc("GET /api/v1/canteens/{id}/invites", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, map[string]any{"invites": []any{
			map[string]any{"canteen_id": fakeCanteen, "label": "一年级一班", "created_by": "user:zhang.op", "created_at": f.ts(-48 * time.Hour),
				"expires_at": f.ts(24 * time.Hour), "used_by": "wang.mum", "used_at": f.ts(-47 * time.Hour)},
		}})
	}))
	mux.HandleFunc("POST /api/v1/canteens/{id}/invites", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req struct {
			Label string `json:"label"`
			TTL   int    `json:"ttl_h"`
		}
		if !decode(w, r, &req) {
			return
		}
		writeJSON(w, 201, map[string]any{"code": fakeCode, "expires_at": f.ts(time.Duration(req.TTL) * time.Hour),
			"label": req.Label, "canteen_id": fakeCanteen})
	}))
	mux.HandleFunc("PUT /api/v1/cameras/{id}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req struct {
			Area   string `json:"area"`
			Public bool   `json:"public"`
		}
		if decode(w, r, &req) {
			f.mu.Lock()
			f.puts = append(f.puts, fmt.Sprintf("camera %s %s %v", r.PathValue("id"), req.Area, req.Public))
			f.mu.Unlock()
			writeJSON(w, 200, map[string]any{"camera_id": r.PathValue("id"), "area": req.Area, "public": req.Public, "mapped": true})
		}
	}))
	mux.HandleFunc("POST /api/v1/gateways/{id}/commands", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req struct {
			Name string `json:"name"`
			TTL  int    `json:"ttl_s"`
		}
		if decode(w, r, &req) {
			f.mu.Lock()
			f.cmds = append(f.cmds, fmt.Sprintf("%s %s %ds", r.PathValue("id"), req.Name, req.TTL))
			f.mu.Unlock()
			writeJSON(w, 202, map[string]any{"cmd_id": "C1", "status": "sent"})
		}
	}))
	mux.HandleFunc("GET /api/v1/gateways/{id}/commands/{cmd}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		f.mu.Lock()
		f.cmdPolls++
		status := "received"
		if f.cmdPolls > 2 { // the gateway answers on the third look
			status = "ok"
		}
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"cmd_id": r.PathValue("cmd"), "gateway_id": r.PathValue("id"), "name": "ping",
			"status": status, "detail": "pong"})
	}))
	mux.HandleFunc("GET /api/v1/gateways", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, map[string]any{"gateways": f.gateways()})
	}))
	mux.HandleFunc("GET /api/v1/notices", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		n := map[string]any{"id": 3, "canteen_id": fakeCanteen,
			"canteen_name": "徐汇实验小学食堂", "violation_id": fakeAlarm, "violation_type": "no_mask", "kind": "confirmed",
			"text": "告警 #42（未戴口罩）已确认，请于期限前整改", "due_at": f.ts(72 * time.Hour), "at": f.ts(-time.Hour)}
		f.mu.Lock()
		read := f.reads > 0
		f.mu.Unlock()
		if read {
			n["read_at"] = f.ts(0)
		}
		list := []any{n}
		if read && r.URL.Query().Get("unread") == "1" {
			list = []any{}
		}
		writeJSON(w, 200, map[string]any{"notices": list})
	}))
	mux.HandleFunc("POST /api/v1/notices/{id}/read", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		f.mu.Lock()
		f.reads++
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"id": 3, "read_at": f.ts(0)})
	}))
	mux.HandleFunc("GET /api/v1/users", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		us := []any{}
		for _, x := range []string{"admin", "li.reg", "zhang.op", "wang.mum"} {
			v := FakeUsers[x]
			if role := r.URL.Query().Get("role"); role == "" || role == v["role"] {
				us = append(us, map[string]any{"id": v["id"], "name": v["name"], "role": v["role"], "canteens": v["canteens"],
					"districts": v["districts"], "created_at": f.ts(-240 * time.Hour), "updated_at": f.ts(-240 * time.Hour)})
			}
		}
		writeJSON(w, 200, map[string]any{"users": us})
	}))
	mux.HandleFunc("POST /api/v1/users", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		var req struct {
			ID        string   `json:"id"`
			Name      string   `json:"name"`
			Role      string   `json:"role"`
			Canteens  []string `json:"canteens"`
			Districts []string `json:"districts"`
			Password  string   `json:"password"`
		}
		if !decode(w, r, &req) {
			return
		}
		if len(req.Password) < 8 {
			writeErr(w, 400, "bad_request", "password: at least 8 characters")
			return
		}
		f.mu.Lock()
		f.added = append(f.added, req.ID+":"+req.Role+":"+strings.Join(req.Districts, ","))
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": req.ID, "name": req.Name, "role": req.Role, "districts": req.Districts,
			"created_at": f.ts(0), "updated_at": f.ts(0)})
	}))
	mux.HandleFunc("DELETE /api/v1/users/{id}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		f.mu.Lock()
		f.deleted = append(f.deleted, r.PathValue("id"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /api/v1/audit", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		writeJSON(w, 200, map[string]any{"entries": []any{
			map[string]any{"id": 9, "at": f.ts(-time.Minute), "actor": "user:li.reg", "role": "regulator", "action": "review",
				"outcome": "ok", "canteen_id": fakeCanteen, "camera_id": "cam-1", "violation_id": fakeAlarm, "detail": "confirmed: 未戴口罩"},
			map[string]any{"id": 8, "at": f.ts(-time.Hour), "actor": "user:wang.mum", "role": "parent", "action": "live_view",
				"outcome": "ok", "canteen_id": fakeCanteen, "camera_id": "cam-1", "from": f.ts(-time.Hour), "to": f.ts(-50 * time.Minute)},
			map[string]any{"id": 7, "at": f.ts(-2 * time.Hour), "actor": "user:li.reg", "action": "login", "outcome": "failed",
				"detail": "from 127.0.0.1"},
		}})
	}))
	mux.HandleFunc("POST /whep/{camera}", auth(func(w http.ResponseWriter, r *http.Request, u map[string]any) {
		if ct := r.Header.Get("Content-Type"); ct != "application/sdp" {
			writeErr(w, 415, "unsupported_media_type", "want application/sdp, got "+ct)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(string(body), "v=0") || !strings.Contains(string(body), "a=recvonly") {
			writeErr(w, 400, "bad_request", "not a recvonly offer")
			return
		}
		writeErr(w, 403, "forbidden", "the fake API relays no video")
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.String())
		f.mu.Unlock()
		writeErr(w, 404, "not_found", "not in the fake API: "+r.URL.Path)
	})
	return mux
}

func (f *fakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	u, ok := FakeUsers[req.Login]
	if !ok || req.Password != fakePassword {
		writeErr(w, 401, "bad_credentials", "wrong login or password")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "bk_session", Value: req.Login, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, 200, u)
}

func (f *fakeAPI) redeem(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code, Login, Name, Password string
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Code != fakeInvite {
		writeErr(w, 400, "bad_invite", "unknown, used or expired invite code")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "bk_session", Value: "wang.mum", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, 201, FakeUsers["wang.mum"])
}

func ratio(num, den int) map[string]any {
	m := map[string]any{"num": num, "den": den, "rate": nil}
	if den > 0 {
		m["rate"] = float64(num) / float64(den)
	}
	return m
}

// report is a coverage.Report of the last n days.
func (f *fakeAPI) report(n int) map[string]any {
	var days []any
	for i := n - 1; i >= 0; i-- {
		d := f.now.AddDate(0, 0, -i)
		days = append(days, map[string]any{"day": d.Format(time.DateOnly), "online": ratio(9+i%3, 12),
			"camera_online": ratio(3900+i*17, 4400), "handling": ratio(4, 5), "rectification": ratio(i%2, 2)})
	}
	total := map[string]any{"built": ratio(10, 12), "online": ratio(70, 84), "camera_online": ratio(28000, 30800),
		"handling": ratio(28, 35), "rectification": ratio(6, 10)}
	return map[string]any{
		"query": map[string]any{"from": f.now.AddDate(0, 0, -(n - 1)).Format(time.RFC3339), "to": f.now.Format(time.RFC3339),
			"online_threshold": 0.9},
		"days":   days,
		"groups": []any{map[string]any{"category": "school", "district": "徐汇区", "days": days, "total": total}},
		"total":  total,
	}
}

func (f *fakeAPI) dashboard() map[string]any {
	return map[string]any{
		"canteens": 12,
		"gateways": map[string]any{"online": 9, "total": 11},
		"cameras":  map[string]any{"online": 40, "healthy": 37, "total": 44},
		"alarms": map[string]any{"new": 5, "confirmed": 2, "rectifying": 1, "closed": 7, "dismissed": 3,
			"overdue_review": 2, "overdue_rectification": 1},
		"districts": []any{
			map[string]any{"district": "徐汇区", "canteens": 5, "gateways_online": 4, "gateways_total": 5, "cameras_healthy": 16, "cameras_total": 18},
			map[string]any{"district": "浦东新区", "canteens": 4, "gateways_online": 3, "gateways_total": 3, "cameras_healthy": 12, "cameras_total": 14},
			map[string]any{"district": "黄浦区", "canteens": 3, "gateways_online": 2, "gateways_total": 3, "cameras_healthy": 9, "cameras_total": 12},
		},
		"coverage": f.report(7),
		"at":       f.ts(0),
		"scope":    map[string]any{"category": "", "district": "", "districts": []string{"徐汇区", "浦东新区", "黄浦区"}},
	}
}

func (f *fakeAPI) canteen() map[string]any {
	f.mu.Lock()
	open := f.viewing
	f.mu.Unlock()
	every := make([][]string, 7)
	viewing := make([][]string, 7)
	for d := range every {
		every[d] = []string{"06:00-20:00"}
		viewing[d] = []string{}
		if d >= 1 && d <= 5 {
			viewing[d] = []string{"11:00-13:00"}
		}
	}
	c := map[string]any{"id": fakeCanteen, "name": "徐汇实验小学食堂", "category": "school", "district": "徐汇区",
		"address": "漕溪北路 100 号", "active": true, "required_areas": []string{"rough_processing", "cooking", "washing"},
		"operating_hours": every, "tz": "Asia/Shanghai", "viewing_windows": viewing, "max_parent_viewers": 50,
		"created_at": f.ts(-720 * time.Hour), "viewing_open": open}
	if open {
		c["viewing_until"] = f.ts(time.Hour)
	} else {
		c["viewing_next"] = f.ts(20 * time.Hour)
	}
	return c
}

func (f *fakeAPI) otherCanteen() map[string]any {
	return map[string]any{"id": "c-pd-007", "name": "浦东康桥幼儿园食堂", "category": "kindergarten", "district": "浦东新区",
		"address": "康桥路 7 号", "active": true, "required_areas": []string{"cooking"}, "tz": "Asia/Shanghai",
		"created_at": f.ts(-720 * time.Hour)}
}

func (f *fakeAPI) cameras() []map[string]any {
	return []map[string]any{
		{"camera_id": "cam-1", "area": "cooking", "public": true, "mapped": true, "online": true, "picture": "ok", "fps": 15, "kbps": 900},
		{"camera_id": "cam-2", "area": "rough_processing", "public": false, "mapped": false, "online": true, "picture": "occluded",
			"fps": 15, "kbps": 700},
	}
}

func (f *fakeAPI) gateways() []any {
	cams := []any{}
	for _, c := range f.cameras() {
		cams = append(cams, c)
	}
	return []any{
		map[string]any{"id": "gw-xh-001", "canteen_id": fakeCanteen, "username": "gw-xh-001", "created_at": f.ts(-720 * time.Hour),
			"online": true, "session": 3, "version": "1.4.2", "started_at": f.ts(-50 * time.Hour), "last_seen": f.ts(-20 * time.Second),
			"last_heartbeat": map[string]any{"v": 1, "at": f.ts(-20 * time.Second), "session": 3,
				"spool":       map[string]any{"depth": 12, "bytes": 40960, "dropped_snapshots": 0, "dropped_records": 0},
				"quarantined": []string{}},
			"config_version": 2, "config_reported_version": 2, "cameras": cams},
		map[string]any{"id": "gw-pd-004", "canteen_id": "c-pd-007", "username": "gw-pd-004", "created_at": f.ts(-720 * time.Hour),
			"online": false, "session": 9, "version": "1.3.9", "last_seen": f.ts(-5 * time.Hour), "config_version": 0,
			"config_reported_version": 0, "cameras": []any{}},
	}
}

// alarm is alarm 42 as the list (detail false) or GET /violations/{id}
// answers.
func (f *fakeAPI) alarm(detail bool) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := map[string]any{"id": fakeAlarm, "gateway_id": "gw-xh-001", "canteen_id": fakeCanteen, "event_id": "01HZX3V7Q8M2K4N6P8R0T2V4X6",
		"seq": 7, "camera_id": "cam-1", "type": "no_mask", "score": 0.91,
		"boxes":      []any{map[string]any{"x": 0.3, "y": 0.2, "w": 0.2, "h": 0.4, "label": "no_mask", "score": 0.91}},
		"started_at": f.ts(-26 * time.Hour), "historical": false, "has_snapshot": true, "received_at": f.ts(-26 * time.Hour),
		"status": f.status, "alarm": true, "canteen_name": "徐汇实验小学食堂", "district": "徐汇区", "review_due": f.ts(-2 * time.Hour)}
	if f.expired {
		v["has_snapshot"], v["snapshot_expired"] = false, true
	}
	switch f.status {
	case "new":
		v["overdue"] = "review"
	case "confirmed", "rectifying", "closed":
		v["reviewed_at"], v["reviewed_by"], v["verdict"] = f.ts(-time.Hour), "user:li.reg", "confirmed"
		v["rectify_due"] = f.ts(71 * time.Hour)
	}
	if detail {
		v["history"] = append([]map[string]any{}, f.history...)
		v["rectifications"] = append([]map[string]any{}, f.rects...)
	}
	return v
}

func (f *fakeAPI) violations(w http.ResponseWriter, r *http.Request, u map[string]any) {
	q := r.URL.Query()
	if q.Get("alarms") != "1" {
		f.t.Errorf("violations listed without alarms=1: %s", r.URL)
	}
	v := f.alarm(false)
	closed := map[string]any{"id": 41, "gateway_id": "gw-xh-001", "canteen_id": fakeCanteen, "camera_id": "cam-2",
		"type": "rodent", "score": 0.8, "boxes": []any{}, "started_at": f.ts(-100 * time.Hour), "status": "closed", "alarm": true,
		"canteen_name": "徐汇实验小学食堂", "district": "徐汇区", "received_at": f.ts(-100 * time.Hour)}
	var out []any
	for _, x := range []map[string]any{v, closed} {
		if s := q.Get("status"); s != "" && x["status"] != s {
			continue
		}
		if q.Get("overdue") != "" && x["overdue"] == nil {
			continue
		}
		if c := q.Get("canteen_id"); c != "" && x["canteen_id"] != c {
			continue
		}
		if ty := q.Get("type"); ty != "" && x["type"] != ty {
			continue
		}
		out = append(out, x)
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, 200, map[string]any{"violations": out})
}

// step moves alarm 42 from one status to the next, or answers 409.
func (f *fakeAPI) step(w http.ResponseWriter, actor, action, from, to, note string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != from {
		writeErr(w, 409, "wrong_state", fmt.Sprintf("alarm is %s, want %s", f.status, from))
		return false
	}
	f.status = to
	f.history = append(f.history, map[string]any{"at": f.ts(0), "actor": actor, "action": action, "from": from, "to": to, "note": note})
	return true
}

func (f *fakeAPI) review(w http.ResponseWriter, r *http.Request, u map[string]any) {
	var req struct{ Verdict, Note string }
	if !decode(w, r, &req) {
		return
	}
	if req.Verdict != "confirmed" && req.Verdict != "dismissed" {
		writeErr(w, 400, "bad_request", "verdict: want confirmed or dismissed")
		return
	}
	if f.step(w, "user:"+u["id"].(string), "review", "new", req.Verdict, req.Note) {
		writeJSON(w, 200, f.alarm(true))
	}
}

func (f *fakeAPI) rectify(w http.ResponseWriter, r *http.Request, u map[string]any) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		writeErr(w, 415, "unsupported_media_type", "send multipart/form-data: "+err.Error())
		return
	}
	file, hdr, err := r.FormFile("photo")
	if err != nil {
		writeErr(w, 400, "bad_request", "photo: required")
		return
	}
	defer file.Close()
	head := make([]byte, 8)
	_, _ = io.ReadFull(file, head)
	if !bytes.HasPrefix(head, []byte("\x89PNG")) && !bytes.HasPrefix(head, []byte("\xff\xd8")) {
		writeErr(w, 415, "unsupported_media_type", "photo: want JPEG or PNG, got "+hdr.Header.Get("Content-Type"))
		return
	}
	note := r.FormValue("note")
	if f.step(w, "user:"+u["id"].(string), "rectification", "confirmed", "rectifying", note) {
		f.mu.Lock()
		f.rects = append(f.rects, map[string]any{"id": 1, "violation_id": fakeAlarm, "submitted_by": "user:" + u["id"].(string),
			"submitted_at": f.ts(0), "note": note, "has_photo": true, "photo_type": "image/png"})
		f.mu.Unlock()
		writeJSON(w, 200, f.alarm(true))
	}
}

func (f *fakeAPI) decide(w http.ResponseWriter, r *http.Request, u map[string]any) {
	var req struct{ Decision, Note string }
	if !decode(w, r, &req) {
		return
	}
	to := map[string]string{"accepted": "closed", "rejected": "confirmed"}[req.Decision]
	if to == "" {
		writeErr(w, 400, "bad_request", "decision: want accepted or rejected")
		return
	}
	if f.step(w, "user:"+u["id"].(string), "decision", "rectifying", to, req.Note) {
		f.mu.Lock()
		if n := len(f.rects); n > 0 {
			f.rects[n-1]["decision"], f.rects[n-1]["decided_by"] = req.Decision, "user:"+u["id"].(string)
			f.rects[n-1]["decided_at"], f.rects[n-1]["decision_note"] = f.ts(0), req.Note
		}
		f.mu.Unlock()
		writeJSON(w, 200, f.alarm(true))
	}
}

var snapshotOnce = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for y := range 360 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{uint8(x / 3), uint8(y / 2), 120, 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
})

func snapshotJPEG() []byte { return snapshotOnce() }
