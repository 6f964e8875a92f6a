package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// artifactDir is where browser tests save screenshots: $BK_ARTIFACTS, or
// artifacts/ at the repository root.
func artifactDir(t testing.TB) string {
	dir := os.Getenv("BK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// api calls the fleet's API with the admin token.
func (f *fleet) api(method, path string, body any) (int, string) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+f.http+path, rd)
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// addUser runs `bk-fleet user add` with the password on stdin.
func (f *fleet) addUser(login, role, password string, flags ...string) {
	f.t.Helper()
	args := append([]string{"user", "add", "--login", login, "--role", role, "--data", f.data}, flags...)
	cmd := exec.Command(filepath.Join(binDir, "bk-fleet"), args...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("user add %s: %v: %s", login, err, out)
	}
}

// session is one person's browser, logged in to the fleet's web UI.
type session struct {
	t    testing.TB
	ctx  context.Context
	base string
	errs chan string
}

// newSession starts a browser for one user and fails the test on any
// JavaScript exception the pages throw.
func newSession(t testing.TB, base string) *session {
	t.Helper()
	s := &session{t: t, ctx: browser(t), base: base, errs: make(chan string, 16)}
	err := chromedp.Listen(s.ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s at %s:%d:%d", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
			select {
			case s.errs <- msg:
			default:
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the browser: %v", err)
	}
	return s
}

// do runs steps with a bound and fails the test on error or on a
// JavaScript exception.
func (s *session) do(what string, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.t.Fatalf("%s: %v (page: %s)", what, err, s.text("body"))
	}
	select {
	case e := <-s.errs:
		s.t.Fatalf("%s: JavaScript exception: %s", what, e)
	default:
	}
}

func (s *session) text(sel string) string {
	ctx, cancel := context.WithTimeout(s.ctx, 3*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, headless.Text(chromedp.CSS(sel)))
	if len(v) > 600 {
		v = v[:600]
	}
	return v
}

func (s *session) eval(js string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

func (s *session) login(user, password string) {
	s.t.Helper()
	// A bound, not a speed: a session's first page is a new renderer
	// process, and on a loaded run (two Chromiums, three scenarios and
	// three other packages on two cores) two sign-ins took over 30 s.
	s.do("log in as "+user, 90*time.Second,
		chromedp.Navigate(s.base+"/#/login"),
		headless.WaitVisible(chromedp.CSS("#login")),
		headless.SendKeys(chromedp.CSS("#login"), user),
		headless.SendKeys(chromedp.CSS("#password"), password),
		headless.Click(chromedp.CSS("#login-submit")),
		headless.WaitReady(chromedp.CSS(`body[data-page]:not([data-page="login"])`)),
	)
}

func (s *session) screenshot(name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(s.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", path)
}

// injectAlarm stores a no_mask alarm with a snapshot for the rig's
// gateway, as the ingest path would, through the fleet's own database.
func injectAlarm(t *testing.T, f *fleet, camera string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := dbtest.Open(ctx, filepath.Join(f.data, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for y := range 360 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{uint8(x / 3), uint8(y / 2), 120, 255})
		}
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(jb.Bytes())
	ev := &wire.Event{V: wire.Version, EventID: "ui-alarm-1", Seq: 1 << 40, CameraID: camera, Type: "no_mask",
		Score: 0.93, StartedAt: time.Now().Add(-10 * time.Minute).UTC(), Phase: wire.PhaseStart,
		Boxes:    []wire.Box{{X: 0.3, Y: 0.2, W: 0.2, H: 0.4, Label: "no_mask", Score: 0.93}},
		Snapshot: &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: jb.Len()}}
	if _, err := st.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-l", Event: ev, Snapshot: jb.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	vs, err := st.Violations(ctx, alarms.ViolationFilter{GatewayID: "gw-l", Alarms: true})
	if err != nil || len(vs) == 0 {
		t.Fatalf("injected alarm: %v %v", vs, err)
	}
	return vs[0].ID
}

// TestWebUI walks the regulator's, the operator's and a parent's paths
// through the web UI in headless Chromium, with live video.
func TestWebUI(t *testing.T) {
	parallelBusy(t)
	r := startLiveRig(t, nil, camsim.Camera{Path: "cam-pub", Scene: "kitchen"}, camsim.Camera{Path: "cam-priv", Scene: "kitchen"})
	f := r.fleet
	base := "http://" + f.http
	always := [7][]string{}
	for d := range always {
		always[d] = []string{"00:00-24:00"}
	}
	if status, body := f.api("POST", "/api/v1/canteens", map[string]any{"id": "canteen-l", "name": "徐汇实验小学",
		"category": "school", "district": "xuhui", "required_areas": []string{"cooking", "washing"},
		"operating_hours": always, "viewing_windows": always}); status != 200 {
		t.Fatalf("register canteen: %d %s", status, body)
	}
	for cam, m := range map[string]map[string]any{"cam-pub": {"area": "cooking", "public": true}, "cam-priv": {"area": "washing", "public": false}} {
		if status, body := f.api("PUT", "/api/v1/cameras/"+cam, m); status != 200 {
			t.Fatalf("map %s: %d %s", cam, status, body)
		}
	}
	f.addUser("reg.li", "regulator", "regulator pw 1", "--district", "xuhui", "--name", "李科长")
	f.addUser("op.zhang", "operator", "operator pw 1", "--canteen", "canteen-l", "--name", "张经理")
	alarm := injectAlarm(t, f, "cam-priv")
	alarmSel := fmt.Sprintf(`#alarm[data-id="%d"]`, alarm)

	// The regulator: dashboard with rates, the canteen live, confirms the
	// alarm.
	reg := newSession(t, base)
	reg.login("reg.li", "regulator pw 1")
	reg.do("dashboard", 30*time.Second, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(base+"/#/dashboard"),
		headless.WaitReady(chromedp.CSS(`body[data-ready="dashboard"]`)))
	if got := strings.TrimSpace(reg.text(`[data-stat="canteens"]`)); got != "1" {
		t.Errorf("dashboard canteens = %q, want 1", got)
	}
	if got := reg.eval(`String(document.querySelectorAll("#chart-coverage canvas, #chart-coverage svg").length > 0)`); got != "true" {
		t.Errorf("no coverage chart drawn")
	}
	reg.screenshot("dashboard.png")
	reg.do("canteen page live", 60*time.Second, chromedp.Navigate(base+"/#/canteen/canteen-l"),
		headless.WaitReady(chromedp.CSS(`[data-area="cooking"][data-mapped="true"]`)),
		headless.WaitReady(chromedp.CSS(`[data-camera="cam-pub"][data-playing="true"]`)))
	reg.do("confirm the alarm", 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/#/alarm/%d", base, alarm)),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="new"]`)),
		headless.WaitReady(chromedp.CSS("#alarm-snapshot")),
		headless.SendKeys(chromedp.CSS("#review-note"), "未戴口罩，确认"),
		headless.Click(chromedp.CSS("#confirm")),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="confirmed"]`)))

	// The operator: the notice, a rectification with a photo, a parent
	// invite.
	op := newSession(t, base)
	op.login("op.zhang", "operator pw 1")
	op.do("the notice", 30*time.Second, chromedp.Navigate(base+"/#/my"),
		headless.WaitReady(chromedp.CSS(fmt.Sprintf(`[data-notice][data-violation="%d"]`, alarm))))
	photo := filepath.Join(t.TempDir(), "rectified.png")
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range 240 {
		img.Set(i, i, color.RGBA{0, 160, 0, 255})
	}
	var pb bytes.Buffer
	_ = png.Encode(&pb, img)
	if err := os.WriteFile(photo, pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	op.do("submit the rectification", 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/#/alarm/%d", base, alarm)),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="confirmed"]`)),
		headless.SendKeys(chromedp.CSS("#rect-note"), "已为员工配发口罩并培训"),
		headless.SetUploadFiles(chromedp.CSS("#rect-photo"), []string{photo}),
		headless.Click(chromedp.CSS("#rect-submit")),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="rectifying"]`)))
	op.do("invite a parent", 30*time.Second, chromedp.Navigate(base+"/#/my"),
		headless.WaitVisible(chromedp.CSS("#invite-label")),
		headless.SendKeys(chromedp.CSS("#invite-label"), "三年级二班"),
		headless.Click(chromedp.CSS("#invite-create")),
		headless.WaitVisible(chromedp.CSS("#invite-code")))
	code := strings.TrimSpace(op.text("#invite-code"))
	if len(code) != 11 {
		t.Fatalf("invite code %q", code)
	}

	// The regulator accepts; the alarm closes.
	reg.do("accept the rectification", 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/#/alarm/%d", base, alarm)),
		chromedp.Reload(),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="rectifying"]`)),
		headless.SendKeys(chromedp.CSS("#decision-note"), "整改到位"),
		headless.Click(chromedp.CSS("#accept")),
		headless.WaitReady(chromedp.CSS(alarmSel+`[data-status="closed"]`)))
	var v struct {
		Status  string                `json:"status"`
		History []alarms.HistoryEntry `json:"history"`
	}
	if status, body := f.api("GET", fmt.Sprintf("/api/v1/violations/%d", alarm), nil); status != 200 ||
		json.Unmarshal([]byte(body), &v) != nil || v.Status != "closed" || len(v.History) != 3 {
		t.Errorf("alarm after the flow: %d %s", status, body)
	}

	// A parent joins with the code and sees only the public camera, live.
	par := newSession(t, base)
	par.do("join with the code", 30*time.Second, chromedp.Navigate(base+"/#/join"),
		headless.WaitVisible(chromedp.CSS("#join-code")),
		headless.SendKeys(chromedp.CSS("#join-code"), code),
		headless.SendKeys(chromedp.CSS("#join-login"), "mum.wang"),
		headless.SendKeys(chromedp.CSS("#join-name"), "王妈妈"),
		headless.SendKeys(chromedp.CSS("#join-password"), "school run 1"),
		headless.Click(chromedp.CSS("#join-submit")),
		headless.WaitReady(chromedp.CSS(`body[data-page="parent"]`)))
	par.do("parent live", 60*time.Second, chromedp.EmulateViewport(390, 844),
		headless.WaitReady(chromedp.CSS(`#parent [data-camera="cam-pub"][data-playing="true"]`)))
	if n := par.eval(`String(document.querySelectorAll('[data-camera="cam-priv"]').length)`); n != "0" {
		t.Errorf("the parent page shows the private camera")
	}
	par.screenshot("parent.png")

	// Outside the window: a clear message in the UI, and the WHEP endpoint
	// itself refuses.
	if status, body := f.api("PUT", "/api/v1/canteens/canteen-l/viewing", map[string]any{"viewing_windows": [7][]string{}}); status != 200 {
		t.Fatalf("close the window: %d %s", status, body)
	}
	par.do("parent outside the window", 30*time.Second, chromedp.Reload(),
		headless.WaitVisible(chromedp.CSS("#viewing-closed")))
	if n := par.eval(`String(document.querySelectorAll("#parent video").length)`); n != "0" {
		t.Errorf("videos on the parent page outside the window: %s", n)
	}
	got := par.eval(`fetch("/whep/cam-pub", {method: "POST", headers: {"Content-Type": "application/sdp"}, body: "v=0\r\n"})
		.then(async r => r.status + " " + (await r.text()))`)
	if !strings.HasPrefix(got, "403") || !strings.Contains(got, "outside_window") {
		t.Errorf("parent WHEP outside the window: %s", got)
	}
	par.screenshot("parent-closed.png")
}
