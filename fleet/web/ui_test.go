package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// browser is one headless Chromium tab that records the page's
// JavaScript exceptions and console errors.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	ctx := headless.Start(t, chromedp.WindowSize(1440, 900))
	b := &browser{t: t, ctx: ctx, base: base}
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg = fmt.Sprintf("exception: %s at %s:%d:%d", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.errs = append(b.errs, msg)
		b.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs steps within limit (≤ 30 s) and fails on an error or on any
// JavaScript exception or console error so far.
func (b *browser) do(what string, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.eval(`document.body.dataset.page + " | " + document.body.innerText.slice(0, 500)`))
	}
	b.checkErrors(what)
}

func (b *browser) checkErrors(what string) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: %s", what, e)
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return "eval " + js + ": " + err.Error()
	}
	return v
}

func (b *browser) text(sel string) string {
	return strings.TrimSpace(b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: a PNG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("BK_ARTIFACTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, img, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

func (b *browser) login(user string) {
	b.t.Helper()
	b.do("open the login page", 30*time.Second, chromedp.Navigate(b.base+"/#/login"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="login"] #login`)))
	// The same page may be there still, with what was typed before.
	b.eval(`document.querySelector("#login").value = document.querySelector("#password").value = ""`)
	b.do("log in as "+user, 30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#login"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), fakePassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitReady(chromedp.CSS(`body[data-page]:not([data-page="login"])`)))
}

func (b *browser) logout() {
	b.t.Helper()
	// Clicked from script: a page re-rendering its header (after a
	// change) may replace the button between finding and clicking it.
	b.do("log out", 30*time.Second, chromedp.WaitReady(chromedp.CSS("#logout")))
	b.eval(`(document.getElementById("logout").click(), "")`)
	b.do("logged out", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`body[data-page="login"] #login`)))
}

func (b *browser) navs() string {
	return b.eval(`[...document.querySelectorAll("a[data-nav]")].map(a => a.dataset.nav).join(",")`)
}

// startFake starts the fake API with the UI on 127.0.0.1.
func startFake(t *testing.T) (*fakeAPI, string) {
	f := newFakeAPI(t)
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

func pngFile(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range 240 {
		img.Set(i, i, color.RGBA{0, 160, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rectified.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUI drives the web UI in headless Chromium against the fake API:
// each role's pages, the alarm workflow, the language switch, the phone
// layout and the parent's closed viewing window.
func TestUI(t *testing.T) {
	f, base := startFake(t)
	b := newBrowser(t, base)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Without a session, the UI asks to log in; a wrong password says so.
	b.do("first load", 30*time.Second, chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css(`body[data-page="login"] #login`)),
		chromedp.SendKeys(css("#login"), "li.reg"),
		chromedp.SendKeys(css("#password"), "wrong"),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#login-error")))
	if got := b.text("#login-error"); got != "账号或密码错误。" {
		t.Errorf("login error %q", got)
	}

	// The regulator lands on the dashboard with the fake's numbers.
	b.login("li.reg")
	b.do("dashboard", 30*time.Second, chromedp.WaitReady(css(`body[data-page="dashboard"][data-ready="dashboard"] #dash`)))
	for stat, want := range map[string]string{"canteens": "12", "gateways_online": "9", "cameras_healthy": "37", "alarms_new": "5", "overdue": "3"} {
		if got := b.text(fmt.Sprintf(`[data-stat=%q]`, stat)); got != want {
			t.Errorf("stat %s = %q, want %q", stat, got, want)
		}
	}
	for _, sel := range []string{"#chart-coverage canvas", "#chart-districts canvas", "#chart-rates canvas"} {
		if b.eval(fmt.Sprintf(`String(!!document.querySelector(%q))`, sel)) != "true" {
			t.Errorf("no %s", sel)
		}
	}
	if got := b.text(`[data-rate="online"] .stat-value`); got != "83.3%" {
		t.Errorf("online coverage shown as %q, want 83.3%% (70/84)", got)
	}
	if got := b.eval(`String(window.bkFirstPaint > 0)`); got != "true" {
		t.Errorf("bkFirstPaint not set: %s", got)
	}
	if b.eval(`String(!!document.querySelector('#overdue-list [data-alarm="42"][href="#/alarm/42"]'))`) != "true" {
		t.Errorf("overdue alarm 42 not listed")
	}
	if got := b.eval(`document.querySelector('[data-export="coverage-xlsx"]').getAttribute("href")`); !strings.Contains(got, "/api/v1/coverage?") || !strings.Contains(got, "format=xlsx") {
		t.Errorf("coverage export link %q", got)
	}
	if got := b.navs(); got != "dashboard,review,canteens,gateways,audit" {
		t.Errorf("regulator nav %q", got)
	}
	b.screenshot("web-dashboard.png")

	// Another period asks /coverage and redraws.
	b.eval(`(() => { const s = document.querySelector("#dash-period"); s.value = "30"; s.dispatchEvent(new Event("change")); return ""; })()`)
	b.do("30 days", 30*time.Second, chromedp.WaitReady(css(`#dash-period:not([disabled])`)))
	if got := b.text(`.rates-block h2`); got != "近 30 日指标" {
		t.Errorf("period title %q", got)
	}
	wait.For(t, 10*time.Second, "GET /coverage for 30 days", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Contains(f.coverageDays, 30)
	})

	// English and back.
	b.do("english", 30*time.Second, chromedp.Click(css("#lang")),
		chromedp.WaitReady(css(`body[data-ready="dashboard"]`)))
	if got := b.text(`a[data-nav="dashboard"]`); got != "Dashboard" {
		t.Errorf("English nav label %q", got)
	}
	if got := b.eval(`document.documentElement.lang`); got != "en-GB" {
		t.Errorf("html lang %q", got)
	}
	b.do("chinese", 30*time.Second, chromedp.Click(css("#lang")), chromedp.WaitReady(css(`body[data-ready="dashboard"]`)))
	if got := b.text(`a[data-nav="dashboard"]`); got != "监管总览" {
		t.Errorf("Chinese nav label %q", got)
	}

	// A phone: nothing wider than the screen.
	b.do("phone dashboard", 30*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Reload(),
		chromedp.WaitReady(css(`body[data-ready="dashboard"]`)))
	if got := b.eval(`String(document.documentElement.scrollWidth <= 390 ? "ok" : document.documentElement.scrollWidth)`); got != "ok" {
		t.Errorf("dashboard at 390 px is %s px wide", got)
	}
	b.screenshot("web-dashboard-phone.png")
	b.do("desktop", 30*time.Second, chromedp.EmulateViewport(1440, 900))

	// The review queue, a canteen, the gateways, the audit log.
	b.do("review queue", 30*time.Second, chromedp.Navigate(base+"/#/review"),
		chromedp.WaitReady(css(`body[data-page="review"] [data-alarm="42"]`)))
	b.do("canteen", 30*time.Second, chromedp.Navigate(base+"/#/canteen/"+fakeCanteen),
		chromedp.WaitReady(css(`body[data-page="canteen"] #canteen[data-id="c-xh-001"]`)),
		chromedp.WaitReady(css(`[data-area="cooking"][data-mapped="true"]`)),
		chromedp.WaitReady(css(`[data-area="washing"][data-mapped="false"]`)),
		chromedp.WaitReady(css(`[data-camera="cam-1"] video`)))
	b.do("gateways", 30*time.Second, chromedp.Navigate(base+"/#/gateways"),
		chromedp.WaitReady(css(`body[data-page="gateways"] [data-gateway="gw-xh-001"]`)),
		chromedp.WaitReady(css(`[data-gateway="gw-pd-004"]`)))
	b.do("audit", 30*time.Second, chromedp.Navigate(base+"/#/audit"),
		chromedp.WaitReady(css(`body[data-page="audit"] [data-entry="9"]`)))
	b.do("canteens", 30*time.Second, chromedp.Navigate(base+"/#/canteens"),
		chromedp.WaitReady(css(`body[data-page="canteens"] [data-canteen="c-pd-007"]`)))

	// The alarm: snapshot with its box, confirmed by the regulator.
	alarm := `#alarm[data-id="42"]`
	b.do("alarm", 30*time.Second, chromedp.Navigate(base+"/#/alarm/42"),
		chromedp.WaitReady(css(alarm+`[data-status="new"]`)),
		chromedp.WaitReady(css(`#alarm-snapshot[data-drawn="snapshot"][data-boxes="1"]`)),
		chromedp.WaitVisible(css("#confirm")), chromedp.WaitVisible(css("#dismiss")))
	if got := b.text("#alarm h1"); !strings.Contains(got, "未戴口罩") {
		t.Errorf("alarm title %q", got)
	}
	// The box is drawn in red where the detection is.
	if got := b.eval(`(() => { const c = document.querySelector("#alarm-snapshot");
		const d = c.getContext("2d").getImageData(Math.round(0.3 * c.width), Math.round(0.4 * c.height), 1, 1).data;
		return d[0] > 200 && d[1] < 100 ? "red" : d.join(","); })()`); got != "red" {
		t.Errorf("no box edge at the detection's left side: %s", got)
	}
	b.do("confirm", 30*time.Second, chromedp.SendKeys(css("#review-note"), "未戴口罩，确认"),
		chromedp.Click(css("#confirm")), chromedp.WaitReady(css(alarm+`[data-status="confirmed"]`)),
		chromedp.WaitReady(css(`#history li[data-action="review"]`)))
	if n := b.eval(`String(document.querySelectorAll("#confirm, #accept, #rect-submit").length)`); n != "0" {
		t.Errorf("a regulator has %s actions on a confirmed alarm", n)
	}
	// A snapshot deleted by retention: the placeholder, and why.
	f.mu.Lock()
	f.expired = true
	f.mu.Unlock()
	b.do("expired snapshot", 30*time.Second, chromedp.Reload(),
		chromedp.WaitReady(css(`#alarm-snapshot[data-drawn="placeholder"]`)), chromedp.WaitVisible(css("#snapshot-expired")))
	f.mu.Lock()
	f.expired = false
	f.mu.Unlock()
	b.logout()

	// The operator: the notice, a rectification with a photo, an invite.
	b.login("zhang.op")
	b.do("operator home", 30*time.Second,
		chromedp.WaitReady(css(`body[data-page="my"] [data-notice="3"][data-violation="42"][data-kind="confirmed"]`)))
	if got := b.navs(); got != "my,review,canteens,gateways" {
		t.Errorf("operator nav %q", got)
	}
	b.do("unread badge", 30*time.Second, chromedp.WaitReady(css(`#top a[data-nav="my"] .count[data-unread="1"]`)))
	b.do("mark read", 30*time.Second, chromedp.Click(css(`[data-notice="3"] button`)),
		chromedp.WaitReady(css(`[data-notice="3"]:not(.unread)`)))
	wait.For(t, 10*time.Second, "the unread badge gone after the notice was read", func() bool {
		return b.eval(`String(!!document.querySelector('#top a[data-nav="my"] .count'))`) == "false"
	})
	b.do("invite", 30*time.Second, chromedp.WaitVisible(css("#invite-label")),
		chromedp.SendKeys(css("#invite-label"), "三年级二班"), chromedp.Click(css("#invite-create")),
		chromedp.WaitVisible(css("#invite-code")))
	if got := b.text("#invite-code"); got != fakeCode {
		t.Errorf("invite code %q, want %q", got, fakeCode)
	}
	// The operator maps a camera and opens the kitchen to parents at lunch.
	hideToast := `(() => { const t = document.getElementById("toast"); if (t) t.className = ""; return ""; })()`
	b.do("map a camera", 30*time.Second, chromedp.Navigate(base+"/#/canteen/"+fakeCanteen),
		chromedp.WaitReady(css(`body[data-page="canteen"] [data-camera="cam-2"] .cam-edit`)),
		chromedp.Click(css(`[data-camera="cam-2"] .cam-edit summary`)),
		chromedp.SetValue(css(`[data-camera="cam-2"] .cam-form select`), "washing"),
		chromedp.Click(css(`[data-camera="cam-2"] .cam-form button[type=submit]`)),
		chromedp.WaitVisible(css(`#toast.show.ok`)))
	b.eval(hideToast)
	b.do("viewing windows", 30*time.Second, chromedp.Click(css(`#canteen .viewing-editor summary`)),
		chromedp.Click(css(`#canteen .viewing-form .row button`)),
		chromedp.Click(css(`#viewing-save`)),
		chromedp.WaitVisible(css(`#toast.show.ok`)))
	f.mu.Lock()
	puts := strings.Join(f.puts, "; ")
	f.mu.Unlock()
	if want := "camera gw-xh-001:cam-2 washing false; viewing [[] [11:00-13:00] [11:00-13:00] [11:00-13:00] [11:00-13:00] [11:00-13:00] []] max 50"; puts != want {
		t.Errorf("PUTs:\n got %s\nwant %s", puts, want)
	}

	b.do("rectify", 30*time.Second, chromedp.Navigate(base+"/#/alarm/42"),
		chromedp.WaitReady(css(alarm+`[data-status="confirmed"]`)),
		chromedp.SendKeys(css("#rect-note"), "已为员工配发口罩并培训"),
		chromedp.SetUploadFiles(css("#rect-photo"), []string{pngFile(t)}),
		chromedp.Click(css("#rect-submit")),
		chromedp.WaitReady(css(alarm+`[data-status="rectifying"]`)),
		chromedp.WaitReady(css(`#rectifications [data-rect="1"] img`)))
	if got := b.eval(`document.querySelector("#rect-photo") ? "form" : "none"`); got != "none" {
		t.Errorf("the rectification form stays after submitting")
	}
	b.logout()

	// The regulator accepts; the alarm closes.
	b.login("li.reg")
	b.do("accept", 30*time.Second, chromedp.Navigate(base+"/#/alarm/42"),
		chromedp.WaitReady(css(alarm+`[data-status="rectifying"]`)),
		chromedp.SendKeys(css("#decision-note"), "整改到位"), chromedp.Click(css("#accept")),
		chromedp.WaitReady(css(alarm+`[data-status="closed"]`)))
	if n := b.eval(`String(document.querySelectorAll("#history li").length)`); n != "3" {
		t.Errorf("history has %s items, want 3", n)
	}
	// A refused action shows the API's error.
	f.mu.Lock()
	f.status = "new"
	f.mu.Unlock()
	b.do("stale confirm", 30*time.Second, chromedp.Reload(), chromedp.WaitReady(css(alarm+`[data-status="new"]`)))
	f.mu.Lock()
	f.status = "dismissed"
	f.mu.Unlock()
	b.do("stale confirm", 30*time.Second, chromedp.Click(css("#confirm")), chromedp.WaitVisible(css("#alarm-error")))
	if got := b.text("#alarm-error"); !strings.Contains(got, "告警状态已变化") {
		t.Errorf("alarm error %q", got)
	}
	b.logout()

	// The admin sees the users.
	b.login("admin")
	b.do("users", 30*time.Second, chromedp.Navigate(base+"/#/users"),
		chromedp.WaitReady(css(`body[data-page="users"] [data-user="wang.mum"]`)))
	if got := b.navs(); got != "dashboard,review,canteens,gateways,audit,users" {
		t.Errorf("admin nav %q", got)
	}
	b.do("add a user", 30*time.Second, chromedp.Click(css(`#users details summary`)),
		chromedp.SendKeys(css(`#users form input[name="id"]`), "zhao.reg"),
		chromedp.SendKeys(css(`#users form input[name="name"]`), "赵科员"),
		chromedp.SendKeys(css(`#users form input[name="districts"]`), "徐汇区, 黄浦区"),
		chromedp.SendKeys(css(`#users form input[name="password"]`), "long enough 1"),
		chromedp.Click(css(`#users form button[type=submit]`)),
		chromedp.WaitVisible(css(`#toast.show.ok`)),
		chromedp.WaitReady(css(`body[data-page="users"] [data-user="wang.mum"] button`)),
		chromedp.Click(css(`[data-user="wang.mum"] button`)),
		chromedp.Click(css(`[data-user="wang.mum"] button`)),
		chromedp.WaitReady(css(`body[data-page="users"]`)))
	wait.For(t, 10*time.Second, "the user deleted", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.deleted) == 1 && f.deleted[0] == "wang.mum"
	})
	f.mu.Lock()
	if got := strings.Join(f.added, " "); got != "zhao.reg:regulator:徐汇区,黄浦区" {
		t.Errorf("users added: %s", got)
	}
	f.mu.Unlock()

	// The admin pings a gateway: the command, then its status until ok.
	b.do("ping a gateway", 30*time.Second, chromedp.Navigate(base+"/#/gateways"),
		chromedp.WaitReady(css(`body[data-page="gateways"] [data-ping="gw-xh-001"]`)),
		chromedp.Click(css(`[data-ping="gw-xh-001"]`)),
		chromedp.WaitReady(css(`tr[data-gateway="gw-xh-001"] .ping-result[data-result="ok"]`)))
	f.mu.Lock()
	if got := strings.Join(f.cmds, "; "); got != "gw-xh-001 ping 30s" || f.cmdPolls != 3 {
		t.Errorf("commands sent %q, status read %d times; want one ping, read 3 times", got, f.cmdPolls)
	}
	f.mu.Unlock()

	// The admin edits the canteen: what the form does not show (viewing
	// windows, parent cap, zone) is sent back as it was.
	b.do("edit a canteen", 30*time.Second, chromedp.Navigate(base+"/#/canteen/"+fakeCanteen),
		chromedp.WaitReady(css(`body[data-page="canteen"] #canteen-edit`)),
		chromedp.Click(css(`#canteen-edit summary`)),
		chromedp.SetValue(css(`#canteen-form input[name="name"]`), "徐汇实验小学新食堂"),
		chromedp.SetValue(css(`#canteen-form input[name="address"]`), "漕溪北路 102 号"),
		chromedp.Click(css(`#canteen-save`)),
		chromedp.WaitVisible(css(`#toast.show.ok`)))
	f.mu.Lock()
	posts := slices.Clone(f.canteenPosts)
	f.mu.Unlock()
	var post map[string]any
	if len(posts) != 1 || json.Unmarshal([]byte(posts[0]), &post) != nil {
		t.Fatalf("canteen posts: %q", posts)
	}
	want := f.canteen()
	for _, k := range []string{"operating_hours", "viewing_windows", "max_parent_viewers", "tz", "category", "district", "required_areas", "id"} {
		g, _ := json.Marshal(post[k])
		w, _ := json.Marshal(want[k])
		if string(g) != string(w) {
			t.Errorf("edited canteen %s: %s, want %s", k, g, w)
		}
	}
	if post["name"] != "徐汇实验小学新食堂" || post["address"] != "漕溪北路 102 号" || post["active"] != true {
		t.Errorf("edited canteen: %s", posts[0])
	}
	// And registers a new one (the same form, empty).
	b.do("register a canteen", 30*time.Second, chromedp.Navigate(base+"/#/canteens"),
		chromedp.WaitReady(css(`body[data-page="canteens"] .admin-tools`)),
		chromedp.Click(css(`.admin-tools details summary`)),
		chromedp.SendKeys(css(`.admin-tools form input[name="id"]`), "xh-042"),
		chromedp.SendKeys(css(`.admin-tools form input[name="name"]`), "徐汇第四十二中学食堂"),
		chromedp.SendKeys(css(`.admin-tools form input[name="district"]`), "徐汇区"),
		chromedp.Click(css(`#canteen-add`)),
		chromedp.WaitVisible(css(`#toast.show.ok`)))
	f.mu.Lock()
	posts = slices.Clone(f.canteenPosts)
	f.mu.Unlock()
	if len(posts) != 2 || !strings.Contains(posts[1], `"id":"xh-042"`) || !strings.Contains(posts[1], `"category":"school"`) ||
		!strings.Contains(posts[1], `"operating_hours":[["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"]]`) {
		t.Errorf("registered canteen: %q", posts)
	}
	b.logout()

	// A parent on a phone, outside the viewing window: no video, the
	// hours and the next opening.
	b.do("phone", 30*time.Second, chromedp.EmulateViewport(390, 844))
	b.do("join with a bad code", 30*time.Second, chromedp.Navigate(base+"/#/join"),
		chromedp.WaitVisible(css("#join-code")),
		chromedp.SendKeys(css("#join-code"), "NOPE"), chromedp.SendKeys(css("#join-login"), "wang.mum"),
		chromedp.SendKeys(css("#join-name"), "王妈妈"), chromedp.SendKeys(css("#join-password"), "school run 1"),
		chromedp.Click(css("#join-submit")), chromedp.WaitVisible(css("#join-error")))
	b.do("join", 30*time.Second, chromedp.SetValue(css("#join-code"), fakeInvite), chromedp.Click(css("#join-submit")),
		chromedp.WaitReady(css(`body[data-page="parent"] #parent`)),
		chromedp.WaitVisible(css("#viewing-closed")))
	if n := b.eval(`String(document.querySelectorAll("#parent video").length)`); n != "0" {
		t.Errorf("%s videos on the parent page outside the window", n)
	}
	if got := b.text("#viewing-closed"); !strings.Contains(got, "直播开放时间：周一至周五 11:00-13:00") || !strings.Contains(got, "下次开放") {
		t.Errorf("closed message %q", got)
	}
	if got := b.navs(); got != "parent" {
		t.Errorf("parent nav %q", got)
	}
	if got := b.eval(`String(document.documentElement.scrollWidth <= 390 ? "ok" : document.documentElement.scrollWidth)`); got != "ok" {
		t.Errorf("parent page at 390 px is %s px wide", got)
	}
	b.screenshot("web-parent.png")

	// Inside the window: the public camera only, with a video.
	f.mu.Lock()
	f.viewing = true
	f.mu.Unlock()
	b.do("parent live", 30*time.Second, chromedp.Reload(),
		chromedp.WaitReady(css(`#parent [data-camera="cam-1"] video`)))
	if n := b.eval(`String(document.querySelectorAll('[data-camera="cam-2"], #viewing-closed').length)`); n != "0" {
		t.Errorf("the parent page shows the private camera or the closed message")
	}
	b.checkErrors("end")
}
