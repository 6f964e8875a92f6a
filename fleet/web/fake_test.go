package web

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// fakeAPI answers the part of the fleet's /api/v1 (docs/SPEC.md §4) that
// the UI tests of this package need where the real fleet/api cannot
// serve them on its own: a gateway that answers a command (the real one
// would need MQTT and a gateway on the other end), and an alarm whose
// snapshot retention has deleted. Everything else the UI does is tested
// against the real fleet/api over a real store (realapi_test.go, package
// web_test: this package cannot import fleet/api, which imports it).
// Requests the UI makes to paths the fake does not know are recorded as
// unexpected.
type fakeAPI struct {
	t   testing.TB
	now time.Time

	mu         sync.Mutex
	unexpected []string
	cmds       []string // commands sent, "gateway name ttl"
	cmdPolls   int      // GETs of a command's status
}

const (
	fakeCanteen  = "c-xh-001"
	fakeAlarm    = 42
	fakePassword = "secret pw 1"
)

// FakeUsers are the fake's principals as /me answers. Their permissions
// are fleet/api's for their roles (TestFakeMe checks, from package
// web_test: this package cannot import fleet/api).
var FakeUsers = map[string]map[string]any{
	"li.reg": {"id": "li.reg", "name": "李科长", "role": "regulator", "canteens": []string{}, "districts": []string{"徐汇区"},
		"permissions": []string{"live.watch", "canteen.view", "canteens.list", "gateways.list", "alarms.view", "alarms.review",
			"dashboard.view", "coverage.view", "audit.view", "push.subscribe", "complaints.view", "complaints.handle", "canteens.publicity"},
		"scope": map[string]any{"canteens": nil, "districts": []string{"徐汇区"}}},
	"admin": {"id": "admin", "name": "系统管理员", "role": "admin", "canteens": []string{}, "districts": []string{},
		"permissions": []string{"live.watch", "canteen.view", "canteens.list", "canteens.manage", "canteens.viewing",
			"invites.manage", "gateways.enrol", "cameras.map", "gateways.list", "gateways.manage", "gateways.operate", "alarms.view", "alarms.review", "alarms.rectify",
			"notices.read", "dashboard.view", "coverage.view", "audit.view", "users.list", "users.add", "push.subscribe",
			"complaints.view", "complaints.handle", "complaints.account", "complaints.poster", "canteens.publicity", "metrics.view", "releases.manage"},
		"scope": map[string]any{"canteens": nil, "districts": nil}},
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
	auth := func(fn http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if f.user(w, r) != nil {
				fn(w, r)
			}
		}
	}
	mux.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
		if u := f.user(w, r); u != nil {
			writeJSON(w, 200, u)
		}
	})
	mux.HandleFunc("GET /api/v1/violation-types", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"types": wire.ViolationTypes})
	}))
	mux.HandleFunc("GET /api/v1/violations/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != fmt.Sprint(fakeAlarm) {
			writeErr(w, 403, "forbidden", "not allowed: violation "+r.PathValue("id"))
			return
		}
		writeJSON(w, 200, f.alarm())
	}))
	mux.HandleFunc("GET /api/v1/canteens", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"canteens": []any{map[string]any{"id": fakeCanteen, "name": "徐汇实验小学食堂",
			"category": "school", "district": "徐汇区", "active": true, "tz": "Asia/Shanghai"}}})
	}))
	mux.HandleFunc("GET /api/v1/canteens/{id}/enrolment-codes", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"codes": []any{}})
	}))
	mux.HandleFunc("GET /api/v1/gateways", auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"gateways": []any{map[string]any{"id": "gw-xh-001", "canteen_id": fakeCanteen,
			"online": true, "version": "1.4.2", "last_seen": f.ts(-20 * time.Second), "cameras": []any{
				map[string]any{"camera_id": "cam-1", "area": "cooking", "public": true, "online": true, "picture": "ok"}}}}})
	}))
	mux.HandleFunc("POST /api/v1/gateways/{id}/commands", auth(func(w http.ResponseWriter, r *http.Request) {
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
	mux.HandleFunc("GET /api/v1/gateways/{id}/commands/{cmd}", auth(func(w http.ResponseWriter, r *http.Request) {
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

// alarm is alarm 42 as GET /violations/{id} answers once retention has
// deleted its snapshot.
func (f *fakeAPI) alarm() map[string]any {
	return map[string]any{"id": fakeAlarm, "gateway_id": "gw-xh-001", "canteen_id": fakeCanteen, "event_id": "01HZX3V7Q8M2K4N6P8R0T2V4X6",
		"seq": 7, "camera_id": "cam-1", "type": "no_mask", "score": 0.91,
		"boxes":      []any{map[string]any{"x": 0.3, "y": 0.2, "w": 0.2, "h": 0.4, "label": "no_mask", "score": 0.91}},
		"started_at": f.ts(-26 * time.Hour), "historical": false, "has_snapshot": false, "snapshot_expired": true,
		"received_at": f.ts(-26 * time.Hour), "status": "new", "alarm": true, "canteen_name": "徐汇实验小学食堂", "district": "徐汇区",
		"review_due": f.ts(-2 * time.Hour), "overdue": "review", "history": []any{}, "rectifications": []any{}}
}

// startFake starts the fake API with the UI on 127.0.0.1.
func startFake(t *testing.T) (*fakeAPI, string) {
	f := &fakeAPI{t: t, now: time.Now().UTC().Truncate(time.Second)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f.handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, u := range f.unexpected {
			t.Errorf("the UI asked the API for %s", u)
		}
	})
	return f, srv.URL
}
