package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// freeUDPPort is a loopback UDP address that was free a moment ago.
func freeUDPPort(t testing.TB) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// TestSetupPage is the installer's path on the gateway's setup page, in a
// phone-sized headless Chromium: a gateway with no cameras, a camera
// simulator that answers ONVIF discovery and the media service on
// loopback; a wrong setup password refused, the right one signs in; a
// camera answering hostile XML gives a clear error and the page goes on;
// discover, connect with the camera's password, probe with a preview,
// name, map, save; the saved file passes bk-gateway check, the camera
// streams and the fleet sees it with its area. Wrong passwords end in
// 429. With BK_DOCS_SCREENSHOTS=1 the screenshots also go to docs/img.
func TestSetupPage(t *testing.T) {
	parallelScenario(t)
	rtsp, onvifHTTP, disc := freePort(t), freePort(t), freeUDPPort(t)
	startProc(t, "camsim", nil, "bk-camsim", "--listen", rtsp, "--gop", "1", "--no-scenes",
		"--camera", "main=kitchen", "--camera", "sub=empty",
		"--onvif", onvifHTTP, "--onvif-discovery", disc, "--onvif-user", "admin", "--onvif-password", "cam-pw",
		"--onvif-name", "后厨 1 号", "--onvif-profile", "main=main", "--onvif-profile", "sub=sub")

	f := newFleet(t, "")
	f.start()
	user, pass := f.addGateway("gw-setup", "canteen-1")
	spoolDir := t.TempDir()
	gwHTTP := freePort(t)
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-setup", Broker: "tcp://" + f.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(spoolDir, "spool.db"), HTTP: gwHTTP,
		YAML: fmt.Sprintf("plugins:\n  - name: tamper\n    path: %s\n", filepath.Join(binDir, "bk-plugin-tamper")),
	})
	gw := startProc(t, "gateway", []string{"BK_HTTP_ONVIF_DISCOVERY=" + disc}, "bk-gateway", "run", "--config", cfg)
	wait.For(t, 20*time.Second, "the setup page up", func() bool {
		resp, err := http.Get("http://" + gwHTTP + "/setup")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	pwb, err := os.ReadFile(filepath.Join(spoolDir, "setup-password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(pwb))
	if st, _ := os.Stat(filepath.Join(spoolDir, "setup-password.txt")); st.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode %v", st.Mode())
	}
	if log, _ := os.ReadFile(gw.log.Name()); !strings.Contains(string(log), password) {
		t.Fatal("the first start did not print the setup password")
	}

	// A fake camera whose every answer is hostile XML.
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><e>&b;`+strings.Repeat("<x>", 5000))
	}))
	defer hostile.Close()

	base := "http://" + gwHTTP
	s := newSession(t, base)
	shots := []string{artifactDir(t)}
	if os.Getenv("BK_DOCS_SCREENSHOTS") == "1" {
		shots = append(shots, filepath.Join("..", "docs", "img"))
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, dir := range shots {
			if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.do("open the setup page on a phone", 30*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/setup"),
		headless.WaitVisible(chromedp.CSS("#password")),
	)
	if w := s.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the page is %s px wide on a 390 px phone", w)
	}
	if lang := s.eval(`document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("page language %q, want zh-CN first", lang)
	}
	shot("setup-login.png")
	s.do("a wrong password", 20*time.Second,
		headless.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		headless.Click(chromedp.CSS("#login-btn")),
		headless.WaitVisible(chromedp.CSS("#login-error:not(:empty)")),
	)
	if msg := s.text("#login-error"); !strings.Contains(msg, "密码错误") {
		t.Fatalf("wrong password says %q", msg)
	}
	s.do("sign in", 20*time.Second,
		headless.SendKeys(chromedp.CSS("#password"), password),
		headless.Click(chromedp.CSS("#login-btn")),
		headless.WaitVisible(chromedp.CSS("#discover-btn")),
	)

	s.do("a hostile camera", 30*time.Second,
		headless.Click(chromedp.CSS("#manual summary")),
		headless.SendKeys(chromedp.CSS("#manual-url"), hostile.URL+"/onvif/device_service"),
		headless.Click(chromedp.CSS("#manual-btn")),
		headless.WaitVisible(chromedp.CSS("#probe-msg.error")),
	)
	if msg := s.text("#probe-msg"); !strings.Contains(msg, "malformed") {
		t.Fatalf("hostile camera says %q", msg)
	}

	s.eval(`(() => { document.getElementById("manual").open = false; document.getElementById("manual-url").value = ""; return "" })()`)
	s.do("discover", 30*time.Second,
		headless.Click(chromedp.CSS("#cancel-btn")),
		headless.Click(chromedp.CSS("#discover-btn")),
		headless.WaitVisible(chromedp.CSS("#devices li.device")),
		headless.SendKeys(chromedp.CSS("#devices li.device .dev-user"), "admin"),
		headless.SendKeys(chromedp.CSS("#devices li.device .dev-pass"), "cam-pw"),
	)
	if d := s.text("#devices li.device"); !strings.Contains(d, "后厨 1 号") {
		t.Fatalf("device shows %q", d)
	}
	shot("setup-discover.png")
	s.do("connect and probe", 60*time.Second,
		headless.Click(chromedp.CSS("#devices li.device .connect")),
		headless.WaitVisible(chromedp.CSS(`#probe-msg[data-probed]`)),
		headless.WaitVisible(chromedp.CSS("#preview")),
	)
	if info := s.text("#probe-msg"); !strings.Contains(info, "H264 · 640×360") {
		t.Fatalf("probe says %q", info)
	}
	if w := s.eval(`(async () => { const i = document.getElementById("preview"); await i.decode(); return String(i.naturalWidth); })()`); w != "640" {
		t.Fatalf("preview is %s px wide", w)
	}
	s.eval(`(() => { for (const id of ["cam-id", "cam-name"]) document.getElementById(id).value = ""; return "" })()`)
	s.do("name and map", 20*time.Second,
		headless.SendKeys(chromedp.CSS("#cam-id"), "stove"),
		headless.SendKeys(chromedp.CSS("#cam-name"), "灶台"),
		headless.SendKeys(chromedp.CSS("#cam-area"), "cooking"),
		headless.Click(chromedp.CSS("#cam-public")),
	)
	if v := s.eval(`document.getElementById("cam-live").value = "sub"`); v != "sub" {
		t.Fatalf("live stream %q", v)
	}
	shot("setup-camera.png")
	s.do("save", 30*time.Second, headless.Click(chromedp.CSS("#save-btn")))
	wait.For(t, 30*time.Second, "saved", func() bool {
		m := s.eval(`document.getElementById("save-msg").className + ": " + document.getElementById("save-msg").textContent`)
		if strings.HasPrefix(m, "error") {
			t.Fatalf("save: %s", m)
		}
		return strings.HasPrefix(m, "ok")
	})
	s.do("saved", 30*time.Second,
		headless.WaitVisible(chromedp.CSS(`#cameras li[data-camera="stove"]`)),
	)
	shot("setup-saved.png")

	out, err := exec.Command(filepath.Join(binDir, "bk-gateway"), "check", "--config", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 cameras") {
		t.Fatalf("bk-gateway check of the saved file: %v: %s", err, out)
	}
	saved, _ := os.ReadFile(cfg)
	for _, want := range []string{`id: "stove"`, `area: "cooking"`, "public: true", "admin:cam-pw@", "/sub", "name: \"tamper\""} {
		if !strings.Contains(string(saved), want) {
			t.Errorf("saved config lacks %q:\n%s", want, saved)
		}
	}
	wait.For(t, 30*time.Second, "the camera streaming at the gateway", func() bool {
		st, err := getGatewayStatus(gwHTTP)
		return err == nil && len(st.Cameras) == 1 && st.Cameras[0].Online && st.Cameras[0].FPS > 0
	})
	wait.For(t, 30*time.Second, "the camera online at the fleet with its area", func() bool {
		for _, g := range f.gateways() {
			for _, c := range g.Cameras {
				if g.ID == "gw-setup" && c.CameraID == "stove" && c.Online && c.Area == "cooking" {
					return true
				}
			}
		}
		return false
	})

	// Wrong passwords from one address end in 429 with Retry-After.
	limited := false
	for i := 0; i < 6 && !limited; i++ {
		resp, err := http.Post(base+"/setup/api/login", "application/json", strings.NewReader(`{"password":"guess"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		limited = resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != ""
	}
	if !limited {
		t.Fatal("wrong passwords were never rate-limited")
	}
	// The signed-in browser keeps working.
	if n := s.eval(`fetch("/setup/api/state").then(r => r.json()).then(j => String(j.cameras.length))`); n != "1" {
		t.Fatalf("state after the rate limit: %s cameras", n)
	}
}
