package web_test

// The UI in headless Chromium against the real fleet/api over a real
// in-memory SQLite store: what the pages show and send is what the API
// answers and keeps. fleet/web's own tests (package web) keep a small
// fake API for what needs a gateway on the other end (fake_test.go).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/api"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

const (
	canteenID  = "c-xh-001"
	gatewayID  = "gw-xh-001"
	adminToken = "admin-token-secret"
	password   = "secret pw 1"
)

// world is a fleet with one school canteen (c-xh-001 in 徐汇区, kitchen
// open 06:00-20:00, closed to parents), its gateway with a public camera
// (cam-1, cooking) and an unmapped private one (cam-2), a new alarm on
// each (no_mask with a snapshot on cam-2, smoking on cam-1), and a user
// of each role: admin, li.reg (regulator of 徐汇区), zhang.op and old.op
// (operators of the school), wang.mum (a parent there).
type world struct {
	t      *testing.T
	st     *dbtest.DB
	base   string
	mask   int64 // the no_mask alarm
	smoke  int64 // the smoking alarm
	hours  [7][]string
	closed [7][]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st := dbtest.Fresh(t)
	srv := httptest.NewServer((&api.Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, Push: st.Push, AdminToken: adminToken, Complaints: st.Complaints,
		Enrol: st.Enrol, EnrolBrokerURLs: []string{"tcp://{host}:1883"}}).Handler())
	t.Cleanup(srv.Close)
	w := &world{t: t, st: st, base: srv.URL}
	for d := range w.hours {
		w.hours[d] = []string{"06:00-20:00"}
	}
	// Through the API: the canteen and the users.
	w.call("POST", "/api/v1/canteens", map[string]any{"id": canteenID, "name": "徐汇实验小学食堂", "category": "school",
		"district": "徐汇区", "address": "漕溪北路 100 号", "active": true, "required_areas": []string{"rough_processing", "cooking", "washing"},
		"operating_hours": w.hours, "viewing_windows": w.closed, "max_parent_viewers": 30}, nil)
	for _, u := range []map[string]any{
		{"id": "li.reg", "name": "李科长", "role": "regulator", "districts": []string{"徐汇区"}},
		{"id": "zhang.op", "name": "张经理", "role": "operator", "canteens": []string{canteenID}},
		{"id": "old.op", "name": "老王", "role": "operator", "canteens": []string{canteenID}},
		{"id": "admin", "name": "系统管理员", "role": "admin"},
		{"id": "wang.mum", "name": "王妈妈", "role": "parent", "canteens": []string{canteenID}},
	} {
		u["password"] = password
		w.call("POST", "/api/v1/users", u, nil)
	}
	// What only a gateway makes.
	if err := seed(t, st); err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Violations []struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		} `json:"violations"`
	}
	w.call("GET", "/api/v1/violations?alarms=1", nil, &vs)
	for _, v := range vs.Violations {
		switch v.Type {
		case "no_mask":
			w.mask = v.ID
		case "smoking":
			w.smoke = v.ID
		}
	}
	if w.mask == 0 || w.smoke == 0 {
		t.Fatalf("alarms: %+v", vs)
	}
	return w
}

// seed puts in st what the school's gateway would have sent: the gateway
// itself, a heartbeat with its two cameras and two events. These are the
// only store calls of these tests; the rest goes through the API.
func seed(t *testing.T, st *dbtest.DB) error {
	ctx := t.Context()
	if _, _, err := st.AddGateway(ctx, gatewayID, canteenID); err != nil {
		return err
	}
	now := time.Now().UTC()
	hb := wire.Heartbeat{V: wire.Version, At: now, Cameras: []wire.CameraHealth{
		{CameraID: "cam-1", Online: true, Picture: wire.PictureOK, Area: "cooking", Public: true},
		{CameraID: "cam-2", Online: true, Picture: wire.PictureOK},
	}}
	if err := st.Heartbeat(ctx, gatewayID, hb, now); err != nil {
		return err
	}
	jpg := snapshot(t)
	sum := sha256.Sum256(jpg)
	_, err := st.Ingest(ctx, []registry.IngestItem{
		{GatewayID: gatewayID, Snapshot: jpg, Event: &wire.Event{V: wire.Version, EventID: "ev-1", Seq: 1,
			CameraID: "cam-2", Type: "no_mask", Score: 0.91, StartedAt: now.Add(-time.Hour),
			Boxes:    []wire.Box{{X: 0.3, Y: 0.2, W: 0.2, H: 0.4, Label: "no_mask", Score: 0.91}},
			Snapshot: &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpg)}}},
		{GatewayID: gatewayID, Event: &wire.Event{V: wire.Version, EventID: "ev-2", Seq: 2,
			CameraID: "cam-1", Type: "smoking", Score: 0.8, StartedAt: now.Add(-30 * time.Minute)}},
	})
	return err
}

// snapshot is a grey 640×360 JPEG.
func snapshot(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for y := range 360 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{90, 90, 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// call sends a request with the admin token and decodes the answer into
// out (when not nil); anything but 2xx fails the test.
func (w *world) call(method, path string, body, out any) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		w.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// canteen is GET /api/v1/canteens/{id} as a map.
func (w *world) canteen(id string) map[string]any {
	var c map[string]any
	w.call("GET", "/api/v1/canteens/"+id, nil, &c)
	return c
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestUIRoles: each role signs in, has the navigation its permissions
// (from the real /me) open and lands on its home; a wrong password is
// refused; the regulator's dashboard shows the API's numbers, in both
// languages and on a phone.
func TestUIRoles(t *testing.T) {
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	b.Do("wrong password", 30*time.Second, chromedp.Navigate(w.base+"/"),
		headless.WaitVisible(css(`body[data-page="login"] #login`)),
		headless.SendKeys(css("#login"), "li.reg"), headless.SendKeys(css("#password"), "wrong"),
		headless.Click(css("#login-submit")), headless.WaitVisible(css("#login-error")))
	if got := b.Text("#login-error"); got != "账号或密码错误。" {
		t.Errorf("login error %q", got)
	}
	for _, c := range []struct{ user, home, nav string }{
		{"admin", "dashboard", "dashboard,review,complaints,canteens,gateways,releases,audit,push,users"},
		{"zhang.op", "my", "my,review,complaints,canteens,gateways,push"},
		{"li.reg", "dashboard", "dashboard,review,complaints,canteens,gateways,audit,push"},
	} {
		b.Login(c.user, password)
		b.Do(c.user+" home", 30*time.Second, headless.WaitReady(css(`body[data-page="`+c.home+`"]`)))
		if got := b.Navs(); got != c.nav {
			t.Errorf("%s: nav %q, want %q", c.user, got, c.nav)
		}
		if c.user == "admin" { // the logins so far, in the audit log
			b.Do("audit", 30*time.Second, chromedp.Navigate(w.base+"/#/audit"),
				headless.WaitReady(css(`body[data-page="audit"] [data-entry]`)))
		}
		if c.user != "li.reg" {
			b.Logout()
		}
	}
	// A page the regulator may not open sends it home.
	b.Do("users as a regulator", 30*time.Second, chromedp.Navigate(w.base+"/#/users"),
		headless.WaitReady(css(`body[data-page="dashboard"]`)))

	// The dashboard: the API's numbers, its charts, another period.
	b.Do("dashboard", 30*time.Second, headless.WaitReady(css(`body[data-ready="dashboard"] #dash`)))
	var d struct {
		Canteens int
		Gateways struct{ Online int }
		Cameras  struct{ Healthy int }
		Alarms   struct {
			New                  int
			OverdueReview        int `json:"overdue_review"`
			OverdueRectification int `json:"overdue_rectification"`
		}
	}
	w.call("GET", "/api/v1/dashboard", nil, &d)
	if d.Canteens != 1 || d.Alarms.New != 2 {
		t.Errorf("the API's dashboard: %+v", d)
	}
	for stat, n := range map[string]int{"canteens": d.Canteens, "gateways_online": d.Gateways.Online, "cameras_healthy": d.Cameras.Healthy,
		"alarms_new": d.Alarms.New, "overdue": d.Alarms.OverdueReview + d.Alarms.OverdueRectification} {
		want := fmt.Sprint(n)
		if got := b.Text(fmt.Sprintf(`[data-stat=%q]`, stat)); got != want {
			t.Errorf("stat %s = %q, want %q", stat, got, want)
		}
	}
	for _, sel := range []string{"#chart-coverage canvas", "#chart-districts canvas", "#chart-rates canvas"} {
		if b.Eval(fmt.Sprintf(`String(!!document.querySelector(%q))`, sel)) != "true" {
			t.Errorf("no %s", sel)
		}
	}
	b.Eval(`(() => { const s = document.querySelector("#dash-period"); s.value = "30"; s.dispatchEvent(new Event("change")); return ""; })()`)
	b.Do("30 days", 30*time.Second, headless.WaitReady(css(`#dash-period:not([disabled])`)))
	if got := b.Text(`.rates-block h2`); got != "近 30 日指标" {
		t.Errorf("period title %q", got)
	}

	// English and back; the violation types' names come from fleet/wire.
	b.Do("review", 30*time.Second, chromedp.Navigate(w.base+"/#/review"),
		headless.WaitReady(css(fmt.Sprintf(`body[data-page="review"] [data-alarm="%d"]`, w.mask))))
	if got := b.Text(fmt.Sprintf(`tr:has([data-alarm="%d"]) .c-type`, w.mask)); got != "未戴口罩" {
		t.Errorf("type shown as %q", got)
	}
	if got := b.Eval(`[...document.querySelectorAll("#f-type option")].map(o => o.value).join(",")`); !strings.HasPrefix(got, ",no_chef_hat,no_mask,") ||
		strings.Contains(got, "synthetic") {
		t.Errorf("type filter %q", got)
	}
	b.Do("english", 30*time.Second, headless.Click(css("#lang")), headless.WaitReady(css(`body[data-page="review"] [data-alarm]`)))
	if got := b.Text(fmt.Sprintf(`tr:has([data-alarm="%d"]) .c-type`, w.mask)); got != "No mask" {
		t.Errorf("English type %q", got)
	}
	if got := b.Text(`a[data-nav="dashboard"]`); got != "Dashboard" {
		t.Errorf("English nav label %q", got)
	}
	b.Do("chinese", 30*time.Second, headless.Click(css("#lang")), headless.WaitReady(css(`body[data-page="review"] [data-alarm]`)))

	// A phone: nothing wider than the screen.
	b.Do("phone dashboard", 30*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Navigate(w.base+"/#/dashboard"),
		headless.WaitReady(css(`body[data-ready="dashboard"]`)))
	if got := b.Eval(`String(document.documentElement.scrollWidth <= 390 ? "ok" : document.documentElement.scrollWidth)`); got != "ok" {
		t.Errorf("dashboard at 390 px is %s px wide", got)
	}
	b.Do("desktop", 30*time.Second, chromedp.EmulateViewport(1440, 900))

	// The regulator's other pages.
	b.Do("canteens", 30*time.Second, chromedp.Navigate(w.base+"/#/canteens"),
		headless.WaitReady(css(`body[data-page="canteens"] [data-canteen="`+canteenID+`"]`)))
	if b.Eval(`String(!!document.querySelector(".admin-tools"))`) != "false" {
		t.Errorf("a regulator has the canteen registration tools")
	}
	b.Do("gateways", 30*time.Second, chromedp.Navigate(w.base+"/#/gateways"),
		headless.WaitReady(css(`body[data-page="gateways"] [data-gateway="`+gatewayID+`"]`)))
	if b.Eval(`String(!!document.querySelector("[data-ping]"))`) != "false" {
		t.Errorf("a regulator may ping gateways")
	}
	b.Do("audit", 30*time.Second, chromedp.Navigate(w.base+"/#/audit"),
		headless.WaitReady(css(`body[data-page="audit"] #audit`)))
	b.CheckErrors("end")
}

// TestUIAlarmWorkflow: the regulator confirms an alarm (its snapshot drawn
// with the box); the operator gets the notice, reads it, maps a camera,
// sets the viewing windows and rectifies with a photo; the regulator
// accepts and the alarm closes. An alarm changed meanwhile shows the
// API's refusal.
func TestUIAlarmWorkflow(t *testing.T) {
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	alarm := fmt.Sprintf(`#alarm[data-id="%d"]`, w.mask)
	alarmURL := fmt.Sprintf("%s/#/alarm/%d", w.base, w.mask)

	b.Login("li.reg", password)
	b.Do("alarm", 30*time.Second, chromedp.Navigate(alarmURL),
		headless.WaitReady(css(alarm+`[data-status="new"]`)),
		headless.WaitReady(css(`#alarm-snapshot[data-drawn="snapshot"][data-boxes="1"]`)),
		headless.WaitVisible(css("#confirm")), headless.WaitVisible(css("#dismiss")))
	if got := b.Text("#alarm h1"); !strings.Contains(got, "未戴口罩") {
		t.Errorf("alarm title %q", got)
	}
	if got := b.Eval(`(() => { const c = document.querySelector("#alarm-snapshot");
		const d = c.getContext("2d").getImageData(Math.round(0.3 * c.width), Math.round(0.4 * c.height), 1, 1).data;
		return d[0] > 200 && d[1] < 100 ? "red" : d.join(","); })()`); got != "red" {
		t.Errorf("no box edge at the detection's left side: %s", got)
	}
	b.Do("confirm", 30*time.Second, headless.SendKeys(css("#review-note"), "未戴口罩，确认"),
		headless.Click(css("#confirm")), headless.WaitReady(css(alarm+`[data-status="confirmed"]`)),
		headless.WaitReady(css(`#history li[data-action="review"]`)))
	if n := b.Eval(`String(document.querySelectorAll("#confirm, #accept, #rect-submit").length)`); n != "0" {
		t.Errorf("a regulator has %s actions on a confirmed alarm", n)
	}
	// The other alarm is dismissed meanwhile (by an admin, through the
	// API): confirming it shows the API's refusal.
	b.Do("smoking alarm", 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/#/alarm/%d", w.base, w.smoke)),
		headless.WaitReady(css(fmt.Sprintf(`#alarm[data-id="%d"][data-status="new"]`, w.smoke))))
	w.call("POST", fmt.Sprintf("/api/v1/violations/%d/review", w.smoke), map[string]any{"verdict": "dismissed", "note": "误报"}, nil)
	b.Do("stale confirm", 30*time.Second, headless.Click(css("#confirm")), headless.WaitVisible(css("#alarm-error")))
	if got := b.Text("#alarm-error"); !strings.Contains(got, "告警状态已变化") {
		t.Errorf("alarm error %q", got)
	}
	b.Logout()

	// The operator: the notice of the confirmed alarm, read.
	b.Login("zhang.op", password)
	b.Do("operator home", 30*time.Second,
		headless.WaitReady(css(fmt.Sprintf(`body[data-page="my"] [data-notice][data-violation="%d"][data-kind="confirmed"]`, w.mask))),
		headless.WaitReady(css(`#top a[data-nav="my"] .count[data-unread="1"]`)))
	b.Do("mark read", 30*time.Second, headless.Click(css(`[data-notice] button`)),
		headless.WaitReady(css(`[data-notice]:not(.unread)`)))
	wait.For(t, 10*time.Second, "the unread badge gone after the notice was read", func() bool {
		return b.Eval(`String(!!document.querySelector('#top a[data-nav="my"] .count'))`) == "false"
	})
	// Maps the private camera to washing and opens the kitchen to parents
	// at weekday lunches.
	hideToast := `(() => { const t = document.getElementById("toast"); if (t) t.className = ""; return ""; })()`
	b.Do("canteen", 30*time.Second, chromedp.Navigate(w.base+"/#/canteen/"+canteenID),
		headless.WaitReady(css(`body[data-page="canteen"] #canteen[data-id="`+canteenID+`"]`)),
		headless.WaitReady(css(`[data-area="cooking"][data-mapped="true"]`)),
		headless.WaitReady(css(`[data-area="washing"][data-mapped="false"]`)),
		headless.WaitReady(css(`[data-camera="cam-1"] video`)))
	if b.Eval(`String(!!document.querySelector("#canteen-edit"))`) != "false" {
		t.Errorf("an operator may edit the canteen's registration")
	}
	b.Do("map a camera", 30*time.Second,
		headless.WaitReady(css(`[data-camera="cam-2"] .cam-edit`)),
		headless.Click(css(`[data-camera="cam-2"] .cam-edit summary`)),
		headless.SetValue(css(`[data-camera="cam-2"] .cam-form select`), "washing"),
		headless.Click(css(`[data-camera="cam-2"] .cam-form button[type=submit]`)),
		headless.WaitVisible(css(`#toast.show.ok`)))
	b.Eval(hideToast)
	b.Do("viewing windows", 30*time.Second, headless.Click(css(`#canteen .viewing-editor summary`)),
		headless.Click(css(`#canteen .viewing-form .row button`)),
		headless.Click(css(`#viewing-save`)),
		headless.WaitVisible(css(`#toast.show.ok`)))
	var cams struct {
		Cameras []struct {
			CameraID string `json:"camera_id"`
			Area     string `json:"area"`
			Public   bool   `json:"public"`
		} `json:"cameras"`
	}
	w.call("GET", "/api/v1/canteens/"+canteenID+"/cameras", nil, &cams)
	for _, c := range cams.Cameras {
		if c.CameraID == "cam-2" && (c.Area != "washing" || c.Public) {
			t.Errorf("cam-2 after mapping: %+v", c)
		}
	}
	c := w.canteen(canteenID)
	if got, _ := json.Marshal(c["viewing_windows"]); string(got) != `[[],["11:00-13:00"],["11:00-13:00"],["11:00-13:00"],["11:00-13:00"],["11:00-13:00"],[]]` ||
		c["max_parent_viewers"] != float64(30) {
		t.Errorf("viewing after saving: %s, max %v", got, c["max_parent_viewers"])
	}

	// Rectifies with a photo.
	b.Do("rectify", 30*time.Second, chromedp.Navigate(alarmURL),
		headless.WaitReady(css(alarm+`[data-status="confirmed"]`)),
		headless.SendKeys(css("#rect-note"), "已为员工配发口罩并培训"),
		headless.SetUploadFiles(css("#rect-photo"), []string{web.PNGFile(t)}),
		headless.Click(css("#rect-submit")),
		headless.WaitReady(css(alarm+`[data-status="rectifying"]`)),
		headless.WaitReady(css(`#rectifications [data-rect] img`)))
	if n := b.Eval(`String(document.querySelectorAll("#confirm, #rect-photo").length)`); n != "0" {
		t.Errorf("%s review or rectification controls left for the operator", n)
	}
	b.Logout()

	// The regulator accepts; the alarm closes.
	b.Login("li.reg", password)
	b.Do("accept", 30*time.Second, chromedp.Navigate(alarmURL),
		headless.WaitReady(css(alarm+`[data-status="rectifying"]`)),
		headless.SendKeys(css("#decision-note"), "整改到位"), headless.Click(css("#accept")),
		headless.WaitReady(css(alarm+`[data-status="closed"]`)))
	if n := b.Eval(`String(document.querySelectorAll("#history li").length)`); n != "3" {
		t.Errorf("history has %s items, want 3", n)
	}
	var v struct {
		Status string `json:"status"`
	}
	w.call("GET", fmt.Sprintf("/api/v1/violations/%d", w.mask), nil, &v)
	if v.Status != "closed" {
		t.Errorf("the API says the alarm is %q", v.Status)
	}
	b.CheckErrors("end")
}

// TestUIAdmin: the admin adds and deletes users, edits the canteen (what
// the form does not show is kept) and registers another.
func TestUIAdmin(t *testing.T) {
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	b.Login("admin", password)
	b.Do("users", 30*time.Second, chromedp.Navigate(w.base+"/#/users"),
		headless.WaitReady(css(`body[data-page="users"] [data-user="old.op"]`)))
	b.Do("add a user", 30*time.Second, headless.Click(css(`#users details summary`)),
		headless.SendKeys(css(`#users form input[name="id"]`), "zhao.reg"),
		headless.SendKeys(css(`#users form input[name="name"]`), "赵科员"),
		headless.SendKeys(css(`#users form input[name="districts"]`), "徐汇区, 黄浦区"),
		headless.SendKeys(css(`#users form input[name="password"]`), "long enough 1"),
		headless.Click(css(`#users form button[type=submit]`)),
		headless.WaitVisible(css(`#toast.show.ok`)),
		headless.WaitReady(css(`body[data-page="users"] [data-user="zhao.reg"]`)),
		headless.WaitReady(css(`[data-user="old.op"] button`)),
		headless.Click(css(`[data-user="old.op"] button`)),
		headless.Click(css(`[data-user="old.op"] button`)))
	type user struct {
		ID        string   `json:"id"`
		Role      string   `json:"role"`
		Districts []string `json:"districts"`
	}
	var us struct {
		Users []user `json:"users"`
	}
	wait.For(t, 10*time.Second, "old.op deleted", func() bool {
		w.call("GET", "/api/v1/users", nil, &us)
		return !slices.ContainsFunc(us.Users, func(u user) bool { return u.ID == "old.op" })
	})
	if i := slices.IndexFunc(us.Users, func(u user) bool { return u.ID == "zhao.reg" }); i < 0 ||
		us.Users[i].Role != "regulator" || !slices.Equal(us.Users[i].Districts, []string{"徐汇区", "黄浦区"}) {
		t.Errorf("users: %+v", us.Users)
	}

	// Edits the canteen: what the form does not show is sent back as it was.
	before := w.canteen(canteenID)
	b.Do("edit a canteen", 30*time.Second, chromedp.Navigate(w.base+"/#/canteen/"+canteenID),
		headless.WaitReady(css(`body[data-page="canteen"] #canteen-edit`)),
		headless.Click(css(`#canteen-edit summary`)),
		headless.SetValue(css(`#canteen-form input[name="name"]`), "徐汇实验小学新食堂"),
		headless.SetValue(css(`#canteen-form input[name="address"]`), "漕溪北路 102 号"),
		headless.Click(css(`#canteen-save`)),
		headless.WaitVisible(css(`#toast.show.ok`)))
	// The toast may still be the one of adding a user (4 s): wait for
	// the save itself.
	wait.For(t, 10*time.Second, "canteen saved", func() bool { return w.canteen(canteenID)["name"] == "徐汇实验小学新食堂" })
	after := w.canteen(canteenID)
	for _, k := range []string{"operating_hours", "viewing_windows", "max_parent_viewers", "tz", "category", "district", "required_areas", "active"} {
		g, _ := json.Marshal(after[k])
		wnt, _ := json.Marshal(before[k])
		if string(g) != string(wnt) {
			t.Errorf("edited canteen %s: %s, want %s", k, g, wnt)
		}
	}
	if after["name"] != "徐汇实验小学新食堂" || after["address"] != "漕溪北路 102 号" {
		t.Errorf("edited canteen: %v", after)
	}
	// Registers a new one (the same form, empty).
	b.Do("register a canteen", 30*time.Second, chromedp.Navigate(w.base+"/#/canteens"),
		headless.WaitReady(css(`body[data-page="canteens"] .admin-tools`)),
		headless.Click(css(`.admin-tools details summary`)),
		headless.SendKeys(css(`.admin-tools form input[name="id"]`), "xh-042"),
		headless.SendKeys(css(`.admin-tools form input[name="name"]`), "徐汇第四十二中学食堂"),
		headless.SendKeys(css(`.admin-tools form input[name="district"]`), "徐汇区"),
		headless.Click(css(`#canteen-add`)),
		headless.WaitReady(css(`body[data-page="canteen"] #canteen[data-id="xh-042"]`)))
	c := w.canteen("xh-042")
	if got, _ := json.Marshal(c["operating_hours"]); c["category"] != "school" || c["district"] != "徐汇区" ||
		string(got) != `[["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"]]` {
		t.Errorf("registered canteen: %v", c)
	}
	b.CheckErrors("end")
}

// TestUIParent: the operator makes an invite; a parent on a phone joins
// with it (after a wrong code) and sees, outside the viewing windows, the
// hours and the next opening and no video; inside them, the public
// camera only.
func TestUIParent(t *testing.T) {
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	b.Login("zhang.op", password)
	b.Do("invite", 30*time.Second, headless.WaitVisible(css("#invite-label")),
		headless.SendKeys(css("#invite-label"), "三年级二班"), headless.Click(css("#invite-create")),
		headless.WaitVisible(css("#invite-code")))
	code := b.Text("#invite-code")
	if len(code) != 11 {
		t.Fatalf("invite code %q", code)
	}
	b.Logout()

	// The kitchen opens to parents tomorrow (school time) at lunch only.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tomorrow := (int(time.Now().In(shanghai).Weekday()) + 1) % 7
	var windows [7][]string
	windows[tomorrow] = []string{"11:00-13:00"}
	w.call("PUT", "/api/v1/canteens/"+canteenID+"/viewing", map[string]any{"viewing_windows": windows, "max_parent_viewers": 30}, nil)

	b.Do("phone", 30*time.Second, chromedp.EmulateViewport(390, 844))
	b.Do("join with a bad code", 30*time.Second, chromedp.Navigate(w.base+"/#/join"),
		headless.WaitVisible(css("#join-code")),
		headless.SendKeys(css("#join-code"), "NOPE-NOPE-1"), headless.SendKeys(css("#join-login"), "li.mum"),
		headless.SendKeys(css("#join-name"), "王妈妈"), headless.SendKeys(css("#join-password"), "school run 1"),
		headless.Click(css("#join-submit")), headless.WaitVisible(css("#join-error")))
	b.Do("join", 30*time.Second, headless.SetValue(css("#join-code"), code), headless.Click(css("#join-submit")),
		headless.WaitReady(css(`body[data-page="parent"] #parent`)),
		headless.WaitVisible(css("#viewing-closed")))
	if n := b.Eval(`String(document.querySelectorAll("#parent video").length)`); n != "0" {
		t.Errorf("%s videos on the parent page outside the window", n)
	}
	day := []string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[tomorrow]
	if got := b.Text("#viewing-closed"); !strings.Contains(got, "直播开放时间："+day+" 11:00-13:00") || !strings.Contains(got, "下次开放") {
		t.Errorf("closed message %q", got)
	}
	if got := b.Navs(); got != "parent" {
		t.Errorf("parent nav %q", got)
	}
	// Complaints: the parents' view links to the school's complaint form.
	if got := b.Eval(`document.querySelector("#parent-complain").getAttribute("href")`); got != "/complain?canteen="+canteenID {
		t.Errorf("the parent's complaint link is %q", got)
	}
	if got := b.Eval(`String(document.documentElement.scrollWidth <= 390 ? "ok" : document.documentElement.scrollWidth)`); got != "ok" {
		t.Errorf("parent page at 390 px is %s px wide", got)
	}

	// Open all day: the public camera only, with a video.
	for d := range windows {
		windows[d] = []string{"00:00-24:00"}
	}
	w.call("PUT", "/api/v1/canteens/"+canteenID+"/viewing", map[string]any{"viewing_windows": windows, "max_parent_viewers": 30}, nil)
	b.Do("parent live", 30*time.Second, chromedp.Reload(),
		headless.WaitReady(css(`#parent [data-camera="cam-1"] video`)))
	if n := b.Eval(`String(document.querySelectorAll('[data-camera="cam-2"], #viewing-closed').length)`); n != "0" {
		t.Errorf("the parent page shows the private camera or the closed message")
	}
	b.CheckErrors("end")
}

// TestFakeMe: the fake API's principals have the permissions fleet/api
// gives their roles, so the fake cannot show pages the API would not.
func TestFakeMe(t *testing.T) {
	for login, u := range web.FakeUsers {
		var got []api.Permission
		for _, p := range u["permissions"].([]string) {
			got = append(got, api.Permission(p))
		}
		if want := api.Permissions(u["role"].(string)); !slices.Equal(got, want) {
			t.Errorf("%s: fake permissions %v, fleet/api's %v", login, got, want)
		}
	}
}
