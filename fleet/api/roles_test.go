package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

// world is a fleet with three schools: A and C in district xuhui, B in
// minhang. A's parents may watch at any time, C's never. Each has a
// gateway with a public and a private camera and one new alarm.
type world struct {
	srv    *httptest.Server
	st     *dbtest.DB
	api    *Server
	alarm  map[string]int64 // canteen → its alarm's id
	tokens map[string]string

	mu      sync.Mutex
	started []string // cameras the relay asked to start
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, dbtest.Fresh(t))
}

// newWorldOn is newWorld on the database st.
func newWorldOn(t *testing.T, st *dbtest.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: st, alarm: map[string]int64{}, tokens: map[string]string{"admin": "secret"}}
	always, never := coverage.EveryDay("00:00-24:00"), coverage.Week{}
	for _, c := range []registry.Canteen{
		{ID: "A", Name: "School A", Category: registry.CategorySchool, District: "xuhui", Active: true, Viewing: always,
			Hours: coverage.EveryDay("06:00-20:00")},
		{ID: "B", Name: "School B", Category: registry.CategorySchool, District: "minhang", Active: true, Viewing: always},
		{ID: "C", Name: "School C", Category: registry.CategorySchool, District: "xuhui", Active: true, Viewing: never},
	} {
		if _, err := st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
		gw := "gw-" + c.ID
		if _, _, err := st.AddGateway(ctx, gw, c.ID); err != nil {
			t.Fatal(err)
		}
		hb := wire.Heartbeat{V: wire.Version, At: time.Now(), Cameras: []wire.CameraHealth{
			{CameraID: "pub-" + c.ID, Online: true, Picture: wire.PictureOK, Area: "cooking", Public: true},
			{CameraID: "priv-" + c.ID, Online: true, Picture: wire.PictureOK, Area: "washing"},
		}}
		if err := st.Heartbeat(ctx, gw, hb, time.Now()); err != nil {
			t.Fatal(err)
		}
		ev := &wire.Event{V: wire.Version, EventID: "ev-" + c.ID, Seq: 1, CameraID: "priv-" + c.ID, Type: "no_mask",
			Score: 0.9, StartedAt: time.Now().Add(-time.Hour).UTC(), Boxes: []wire.Box{{X: 0.1, Y: 0.1, W: 0.2, H: 0.3}}}
		if _, err := st.Ingest(ctx, []registry.IngestItem{{GatewayID: gw, Event: ev}}); err != nil {
			t.Fatal(err)
		}
		vs, err := st.Violations(ctx, alarms.ViolationFilter{CanteenID: c.ID})
		if err != nil || len(vs) != 1 {
			t.Fatalf("violations of %s: %v, %v", c.ID, vs, err)
		}
		w.alarm[c.ID] = vs[0].ID
	}
	for name, tok := range map[string]auth.Token{
		"regulator": {Role: auth.RoleRegulator, Districts: []string{"xuhui"}},
		"city":      {Role: auth.RoleRegulator, Districts: []string{"*"}},
		"operatorA": {Role: auth.RoleOperator, Canteens: []string{"A"}},
		"parentA":   {Role: auth.RoleParent, Canteens: []string{"A"}},
		"parentC":   {Role: auth.RoleParent, Canteens: []string{"C"}},
	} {
		secret, _, err := st.AddToken(ctx, tok)
		if err != nil {
			t.Fatal(name, err)
		}
		w.tokens[name] = secret
	}
	relay, err := live.New(live.Config{Loopback: true, StartTimeout: 200 * time.Millisecond,
		Start: func(_ context.Context, camera string, _ live.Ticket) error {
			w.mu.Lock()
			w.started = append(w.started, camera)
			w.mu.Unlock()
			return fmt.Errorf("no gateway in this test")
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	w.api = &Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret", Live: relay,
		Enrol: st.Enrol, EnrolBrokerURLs: []string{"tcp://127.0.0.1:1883"}, Complaints: st.Complaints}
	w.srv = httptest.NewServer(w.api.Handler())
	t.Cleanup(w.srv.Close)
	return w
}

// req sends a request as the named principal ("" for none).
func (w *world) req(t *testing.T, who, method, path, contentType string, body []byte) (int, string) {
	t.Helper()
	return doCT(t, method, w.srv.URL+path, w.tokens[who], contentType, string(body))
}

func TestRoleBoundaries(t *testing.T) {
	w := newWorld(t)
	a, b := fmt.Sprint(w.alarm["A"]), fmt.Sprint(w.alarm["B"])
	review := []byte(`{"verdict":"confirmed","note":"seen"}`)
	cases := []struct {
		who, method, path string
		body              []byte
		status            int
		contains          string
	}{
		// An operator of A on B.
		{"operatorA", "GET", "/api/v1/violations/" + b, nil, 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/violations/" + b + "/snapshot", nil, 403, "forbidden"},
		{"operatorA", "POST", "/api/v1/violations/" + b + "/rectification", nil, 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/violations?canteen_id=B", nil, 200, `"violations":[]`},
		{"operatorA", "GET", "/api/v1/violations", nil, 200, `"canteen_id":"A"`},
		{"operatorA", "GET", "/api/v1/canteens/B", nil, 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/canteens/nope", nil, 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/canteens/B/cameras", nil, 403, "forbidden"},
		{"operatorA", "PUT", "/api/v1/cameras/pub-B", []byte(`{"public":false}`), 403, "forbidden"},
		{"operatorA", "PUT", "/api/v1/canteens/B/viewing", []byte(`{}`), 403, "forbidden"},
		{"operatorA", "POST", "/api/v1/canteens/B/invites", []byte(`{}`), 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/cameras/pub-B", nil, 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/users?canteen_id=B", nil, 403, "forbidden"},
		{"operatorA", "POST", "/api/v1/violations/" + a + "/review", review, 403, "role operator"},
		{"operatorA", "GET", "/api/v1/coverage", nil, 403, "role operator"},
		{"operatorA", "GET", "/api/v1/audit", nil, 403, "role operator"},
		{"operatorA", "GET", "/api/v1/canteens", nil, 200, `"id":"A"`},
		{"operatorA", "GET", "/api/v1/gateways", nil, 200, `"id":"gw-A"`},
		// A regulator of xuhui on minhang.
		{"regulator", "GET", "/api/v1/violations/" + b, nil, 403, "forbidden"},
		{"regulator", "POST", "/api/v1/violations/" + b + "/review", review, 403, "forbidden"},
		{"regulator", "GET", "/api/v1/canteens/B", nil, 403, "forbidden"},
		{"regulator", "GET", "/api/v1/coverage?district=minhang", nil, 403, "forbidden"},
		{"regulator", "GET", "/api/v1/dashboard?district=minhang", nil, 403, "forbidden"},
		{"regulator", "GET", "/api/v1/cameras/pub-B", nil, 403, "forbidden"},
		{"regulator", "POST", "/api/v1/violations/" + a + "/rectification", nil, 403, "role regulator"},
		{"regulator", "GET", "/api/v1/canteens/A", nil, 200, `"id":"A"`},
		{"regulator", "GET", "/api/v1/coverage?district=xuhui", nil, 200, `"days"`},
		{"city", "GET", "/api/v1/canteens/B", nil, 200, `"id":"B"`},
		// Parents.
		{"parentA", "GET", "/api/v1/violations", nil, 403, "role parent"},
		{"parentA", "GET", "/api/v1/canteens/B", nil, 403, "forbidden"},
		{"parentA", "GET", "/api/v1/canteens/A", nil, 200, `"viewing_open":true`},
		{"parentA", "GET", "/api/v1/canteens/C", nil, 403, "forbidden"},
		{"parentA", "GET", "/api/v1/gateways", nil, 403, "role parent"},
		{"parentC", "GET", "/api/v1/canteens/C", nil, 200, `"viewing_open":false`},
		{"parentA", "GET", "/api/v1/cameras/priv-A", nil, 403, "forbidden"},
		{"parentA", "PUT", "/api/v1/cameras/pub-A", []byte(`{"public":false}`), 403, "role parent"},
	}
	for _, c := range cases {
		ct := ""
		if c.body != nil {
			ct = "application/json"
		}
		status, body := w.req(t, c.who, c.method, c.path, ct, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s %s: %d %.300s; want %d containing %q", c.who, c.method, c.path, status, body, c.status, c.contains)
		}
	}

	// The parent's camera list holds only public cameras.
	_, body := w.req(t, "parentA", "GET", "/api/v1/canteens/A/cameras", "", nil)
	if !strings.Contains(body, `"pub-A"`) || strings.Contains(body, "priv-A") {
		t.Errorf("parent A's cameras: %s", body)
	}
	// The regulator's lists stop at its districts.
	for _, path := range []string{"/api/v1/violations", "/api/v1/canteens", "/api/v1/gateways", "/api/v1/dashboard"} {
		_, body := w.req(t, "regulator", "GET", path, "", nil)
		if strings.Contains(body, `"B"`) || strings.Contains(body, "gw-B") || strings.Contains(body, "minhang") {
			t.Errorf("regulator %s shows minhang: %.400s", path, body)
		}
	}
}

// TestLiveViewRefusals checks the WHEP endpoint itself enforces the
// parent limits and that every refusal is audited.
func TestLiveViewRefusals(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		who, camera string
		status      int
		code        string
	}{
		{"parentA", "priv-A", 403, "forbidden"},         // not public
		{"parentA", "pub-B", 403, "forbidden"},          // another school
		{"parentC", "pub-C", 403, "outside_window"},     // outside the window
		{"operatorA", "pub-B", 403, "forbidden"},        // another canteen
		{"regulator", "priv-B", 403, "forbidden"},       // another district
		{"parentA", "no-such-camera", 403, "forbidden"}, // unknown, same answer
	}
	for _, c := range cases {
		status, body := w.req(t, c.who, "POST", "/whep/"+c.camera, "application/sdp", []byte(rtctest.OfferMinimal))
		if status != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%s on %s: %d %s; want %d %s", c.who, c.camera, status, body, c.status, c.code)
		}
	}
	entries, err := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "live_view"})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, e := range entries {
		if e.Outcome == "refused" {
			refused[e.CameraID] = e.Detail
		}
	}
	for _, c := range cases {
		if _, ok := refused[c.camera]; !ok {
			t.Errorf("refusal of %s on %s not audited (audit: %+v)", c.who, c.camera, entries)
		}
	}
	if refused["pub-C"] != "outside_window" {
		t.Errorf("pub-C refusal detail %q", refused["pub-C"])
	}
	// Allowed viewers get past the checks (the test relay has no gateway,
	// so the camera never starts: 504, not 403).
	for _, who := range []string{"parentA", "operatorA", "regulator"} {
		status, body := w.req(t, who, "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal))
		if status == 403 || status == 401 {
			t.Errorf("%s on pub-A: %d %s", who, status, body)
		}
	}
}

// TestSameCameraID: schools A and B both have a camera named cam1 (ids
// are unique per gateway only). Each is addressed by its key
// gateway:camera; the bare id is ambiguous and serves no one.
func TestSameCameraID(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, c := range []string{"A", "B"} {
		hb := wire.Heartbeat{V: wire.Version, At: time.Now(), Cameras: []wire.CameraHealth{
			{CameraID: "pub-" + c, Online: true, Picture: wire.PictureOK, Area: "cooking", Public: true},
			{CameraID: "priv-" + c, Online: true, Picture: wire.PictureOK, Area: "washing"},
			{CameraID: "cam1", Online: true, Picture: wire.PictureOK, Area: "cooking"},
		}}
		if err := w.st.Heartbeat(ctx, "gw-"+c, hb, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	offer := []byte(rtctest.OfferMinimal)
	for _, c := range []struct {
		who, method, path string
		body              []byte
		status            int
		code              string
	}{
		{"operatorA", "POST", "/whep/gw-B:cam1", offer, 403, "forbidden"},
		{"operatorA", "POST", "/whep/cam1", offer, 403, "forbidden"}, // ambiguous: same answer as unknown
		{"admin", "POST", "/whep/cam1", offer, 409, "ambiguous"},
		{"admin", "POST", "/whep/gw-A:bad%20id", offer, 400, "bad_request"},
		{"operatorA", "PUT", "/api/v1/cameras/gw-B:cam1", []byte(`{"area":"rough_processing"}`), 403, "forbidden"},
		{"admin", "PUT", "/api/v1/cameras/cam1", []byte(`{"area":"rough_processing"}`), 409, "ambiguous"},
	} {
		ct := "application/sdp"
		if c.method == "PUT" {
			ct = "application/json"
		}
		status, body := w.req(t, c.who, c.method, c.path, ct, c.body)
		if status != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
			t.Errorf("%s %s %s: %d %s; want %d %s", c.who, c.method, c.path, status, body, c.status, c.code)
		}
	}
	// A's operator watches A's cam1: the relay is asked for it by key.
	if status, body := w.req(t, "operatorA", "POST", "/whep/gw-A:cam1", "application/sdp", offer); status == 403 || status == 401 {
		t.Fatalf("operatorA on gw-A:cam1: %d %s", status, body)
	}
	w.mu.Lock()
	started := slices.Clone(w.started)
	w.mu.Unlock()
	if !slices.Equal(started, []string{"gw-A:cam1"}) {
		t.Errorf("relay asked to start %v, want [gw-A:cam1]", started)
	}
	// A's operator maps A's cam1; B's keeps its area.
	if status, body := w.req(t, "operatorA", "PUT", "/api/v1/cameras/gw-A:cam1", "application/json",
		[]byte(`{"area":"rough_processing"}`)); status != 200 || !strings.Contains(body, `"key":"gw-A:cam1"`) {
		t.Fatalf("operatorA maps gw-A:cam1: %d %s", status, body)
	}
	for key, want := range map[string]string{"gw-A:cam1": "rough_processing", "gw-B:cam1": "cooking"} {
		if h, err := w.st.CameraHome(ctx, key); err != nil || h.Area != want {
			t.Errorf("%s: %+v, %v; want area %s", key, h, err, want)
		}
	}
	// The canteen's camera list gives each camera's key.
	if status, body := w.req(t, "operatorA", "GET", "/api/v1/canteens/A/cameras", "", nil); status != 200 ||
		!strings.Contains(body, `"key":"gw-A:cam1"`) || strings.Contains(body, "gw-B") {
		t.Errorf("A's cameras: %d %s", status, body)
	}
}

// TestViewsPerParent: one parent watching two cameras is refused a third
// (429 parent_views) while another parent of the school still gets in.
func TestViewsPerParent(t *testing.T) {
	w := newWorld(t)
	secret, tok, err := w.st.AddToken(context.Background(), auth.Token{Role: auth.RoleParent, Canteens: []string{"A"}})
	if err != nil {
		t.Fatal(err)
	}
	w.tokens["parentA2"] = secret
	// parentA2 holds two views (as two WHEP sessions that connected would).
	for range DefaultMaxViewsPerParent {
		if code := w.api.parents.reserve("A", 50, "token:"+tok.ID, DefaultMaxViewsPerParent); code != "" {
			t.Fatal(code)
		}
	}
	status, body := w.req(t, "parentA2", "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal))
	if status != 429 || !strings.Contains(body, `"parent_views"`) {
		t.Fatalf("a parent's third view: %d %s; want 429 parent_views", status, body)
	}
	status, body = w.req(t, "parentA", "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal))
	if status == 429 || status == 403 {
		t.Fatalf("another parent: %d %s", status, body)
	}
	// A view ending frees its parent's place.
	w.api.ViewerEnded(live.Viewer{Principal: "token:" + tok.ID, Role: auth.RoleParent, CanteenID: "A"}, "gw-A:pub-A",
		time.Now().Add(-time.Minute), time.Now())
	if status, body := w.req(t, "parentA2", "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal)); status == 429 {
		t.Fatalf("after one view ended: %d %s", status, body)
	}
}

// TestParentCap fills a school's parent places and checks one more parent
// is refused with 429 until a place frees.
func TestParentCap(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.st.SetViewing(ctx, "A", coverage.EveryDay("00:00-24:00"), 2); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if code := w.api.parents.reserve("A", 2, fmt.Sprintf("user:p%d", i), 2); code != "" {
			t.Fatalf("could not take place %d of 2: %s", i+1, code)
		}
	}
	status, body := w.req(t, "parentA", "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal))
	if status != 429 || !strings.Contains(body, "parent_cap") {
		t.Fatalf("third parent: %d %s; want 429 parent_cap", status, body)
	}
	w.api.ViewerEnded(live.Viewer{Principal: "user:p0", Role: auth.RoleParent, CanteenID: "A"}, "pub-A",
		time.Now().Add(-time.Minute), time.Now())
	status, _ = w.req(t, "parentA", "POST", "/whep/pub-A", "application/sdp", []byte(rtctest.OfferMinimal))
	if status == 429 {
		t.Fatal("a freed place is still refused")
	}
	// The ended view is in the audit log with its times.
	es, err := w.st.AuditLog(ctx, auth.AuditFilter{Action: "live_view", CanteenID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		found = found || (e.Outcome == "ok" && e.CameraID == "pub-A" && !e.From.IsZero() && e.To.After(e.From))
	}
	if !found {
		t.Errorf("live view not audited with from/to: %+v", es)
	}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for x := range 32 {
		img.Set(x, x%24, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func multipartBody(t *testing.T, note string, photo []byte, filename string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("note", note)
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(photo)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// TestWorkflowAPI walks an alarm from new to closed through the API, with
// the refusals of bad input and wrong states on the way.
func TestWorkflowAPI(t *testing.T) {
	w := newWorld(t)
	a := fmt.Sprint(w.alarm["A"])
	base := "/api/v1/violations/" + a
	steps := []struct {
		who, method, path, ct string
		body                  []byte
		status                int
		contains              string
	}{
		{"regulator", "POST", base + "/review", "application/json", []byte(`{"verdict":`), 400, "body"},
		{"regulator", "POST", base + "/review", "application/json", []byte(`{"verdict":"maybe"}`), 400, "verdict"},
		{"regulator", "POST", base + "/decision", "application/json", []byte(`{"decision":"accepted"}`), 409, "wrong_state"},
		{"operatorA", "POST", base + "/rectification", "", nil, 409, "wrong_state"},
		{"regulator", "POST", base + "/review", "application/json", []byte(`{"verdict":"confirmed","note":"no mask at the wok"}`), 200, `"status":"confirmed"`},
		{"regulator", "POST", base + "/review", "application/json", []byte(`{"verdict":"dismissed"}`), 409, "wrong_state"},
		{"operatorA", "POST", base + "/rectification", "", nil, 415, "multipart"},
		{"operatorA", "GET", "/api/v1/notices", "", nil, 200, `"kind":"confirmed"`},
	}
	for _, s := range steps {
		status, body := w.req(t, s.who, s.method, s.path, s.ct, s.body)
		if status != s.status || !strings.Contains(body, s.contains) {
			t.Fatalf("%s %s %s: %d %.300s; want %d containing %q", s.who, s.method, s.path, status, body, s.status, s.contains)
		}
	}
	// Rectification photos: not an image, a broken PNG, too big, then a
	// real one.
	photo := pngBytes(t)
	for _, c := range []struct {
		photo    []byte
		status   int
		contains string
	}{
		{[]byte("%PDF-1.4 not a photo"), 415, "not a JPEG or PNG"},
		{photo[:len(photo)/2], 415, "not a readable"},
		{append([]byte("\xff\xd8\xff\xe0"), make([]byte, MaxPhoto+10)...), 413, "too_large"},
		{nil, 400, "photo: required"},
	} {
		ct, body := multipartBody(t, "fixed", c.photo, "p.bin")
		status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body)
		if status != c.status || !strings.Contains(resp, c.contains) {
			t.Errorf("photo %.10q: %d %.200s; want %d %q", c.photo, status, resp, c.status, c.contains)
		}
	}
	ct, body := multipartBody(t, "masks handed out, staff briefed", photo, "fix.png")
	status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body)
	if status != 201 || !strings.Contains(resp, `"status":"rectifying"`) {
		t.Fatalf("rectification: %d %s", status, resp)
	}
	var d struct {
		Rectifications []alarms.Rectification `json:"rectifications"`
		History        []alarms.HistoryEntry  `json:"history"`
	}
	if err := json.Unmarshal([]byte(resp), &d); err != nil || len(d.Rectifications) != 1 {
		t.Fatalf("detail: %v %s", err, resp)
	}
	status, got := w.req(t, "regulator", "GET", fmt.Sprintf("%s/rectifications/%d/photo", base, d.Rectifications[0].ID), "", nil)
	if status != 200 || got != string(photo) {
		t.Errorf("photo back: %d, %d bytes", status, len(got))
	}
	status, resp = w.req(t, "regulator", "POST", base+"/decision", "application/json", []byte(`{"decision":"accepted","note":"ok"}`))
	if status != 200 || !strings.Contains(resp, `"status":"closed"`) {
		t.Fatalf("decision: %d %s", status, resp)
	}
	if err := json.Unmarshal([]byte(resp), &d); err != nil || len(d.History) != 3 {
		t.Errorf("history: %v %+v", err, d.History)
	}
	// Every decision is in the audit log.
	es, err := w.st.AuditLog(context.Background(), auth.AuditFilter{CanteenID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		if e.ViolationID == w.alarm["A"] {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "decision,rectification,review" {
		t.Errorf("audited actions %v", actions)
	}
}
