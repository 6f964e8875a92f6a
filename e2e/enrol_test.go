package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// freshGatewayConfig is a gateway's config as installed, before
// enrolment: its spool, status page and camera, no identity and no
// credentials.
func freshGatewayConfig(t *testing.T, camURL string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	writeFile(t, path, fmt.Sprintf(`# as the package installs it, with the installer's camera
spool:
  path: %s
http:
  listen: %s
log:
  level: debug
uplink:
  heartbeat: 1s
  offline_grace: 2s
cameras:
  - id: cam-1
    url: %s
    area: cooking
`, filepath.Join(dir, "spool.db"), freePort(t), camURL))
	return path
}

// runGateway runs the bk-gateway binary to its end (bounded) and returns
// its exit code and output.
func runGateway(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "bk-gateway"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("bk-gateway %v: no end within 90 s: %s", args, out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("bk-gateway %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestEnrolment: an operator signs in, makes an enrolment code on the
// canteen page and reads it off the page; a fresh gateway (the real
// bk-gateway, no credentials) enrols with it, passes its check, runs,
// comes online with its camera and shows on the canteen's page. A wrong,
// an expired and a reused code are refused by the CLI with a clear
// message, and create nothing. Every exchange is audited.
func TestEnrolment(t *testing.T) {
	parallelScenario(t)
	cam := startCamsim(t, camsim.Camera{Path: "cam-1", Scene: "empty"})
	f := newFleet(t, "")
	f.start()
	base := "http://" + f.http
	if status, body := f.api("POST", "/api/v1/canteens", map[string]any{"id": "canteen-e", "name": "浦东第二小学",
		"category": "school", "district": "pudong"}); status != 200 {
		t.Fatalf("register canteen: %d %s", status, body)
	}
	f.addUser("op.wang", "operator", "operator pw 1", "--canteen", "canteen-e", "--name", "王经理")

	op := newSession(t, base)
	op.login("op.wang", "operator pw 1")
	op.do("make an enrolment code on the canteen page", 30*time.Second, chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/#/canteen/canteen-e"),
		headless.WaitVisible(chromedp.CSS("#enrol-name")),
		headless.SendKeys(chromedp.CSS("#enrol-name"), "gw-enrolled"),
		headless.Click(chromedp.CSS("#enrol-create")),
		headless.WaitVisible(chromedp.CSS("#enrol-code")),
		headless.WaitReady(chromedp.CSS(`#enrol-codes [data-status="valid"]`)))
	code := strings.TrimSpace(op.text("#enrol-code"))
	if len(code) != 19 || strings.Count(code, "-") != 3 {
		t.Fatalf("enrolment code on the page: %q", code)
	}
	if cmd := op.text("#enrol-command"); !strings.Contains(cmd, "bk-gateway enrol --fleet "+base+" --code "+code) {
		t.Errorf("the command shown: %q", cmd)
	}
	op.screenshot("enrol-code.png")

	// An expired code: made through the API, then aged in the database.
	status, body := f.api("POST", "/api/v1/canteens/canteen-e/enrolment-codes", map[string]any{"ttl_h": 1})
	var expired struct{ ID, Code string }
	if status != 201 || json.Unmarshal([]byte(body), &expired) != nil {
		t.Fatalf("make a code: %d %s", status, body)
	}
	st, err := dbtest.Open(context.Background(), filepath.Join(f.data, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write().ExecContext(context.Background(), `UPDATE enrol_codes SET expires_at = $2 WHERE id = $1`,
		expired.ID, time.Now().Add(-time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	camURL := cam.URL("cam-1")
	refusedCfg := freshGatewayConfig(t, camURL)
	refusedBefore, _ := os.ReadFile(refusedCfg)
	refuse := func(what, code string) {
		t.Helper()
		rc, out := runGateway(t, "enrol", "--fleet", base, "--code", code, "--config", refusedCfg)
		if rc != 1 || !strings.Contains(out, "refused the code") {
			t.Errorf("%s code: exit %d, %q; want 1 and a refusal", what, rc, out)
		}
		if b, _ := os.ReadFile(refusedCfg); !bytes.Equal(b, refusedBefore) {
			t.Errorf("%s code: the config changed", what)
		}
	}
	refuse("a wrong", "AAAA-BBBB-CCCC-DDDD")
	refuse("an expired", expired.Code)

	cfg := freshGatewayConfig(t, camURL)
	rc, out := runGateway(t, "enrol", "--fleet", base, "--code", strings.ToLower(code), "--config", cfg)
	if rc != 0 || !strings.Contains(out, "enrolled as gateway gw-enrolled of canteen canteen-e") {
		t.Fatalf("enrol: exit %d: %s", rc, out)
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v %v; want 0600", fi.Mode(), err)
	}
	if rc, out := runGateway(t, "check", "--config", cfg); rc != 0 || !strings.Contains(out, "gateway gw-enrolled, 1 cameras") {
		t.Errorf("check after enrolment: exit %d: %s", rc, out)
	}
	refuse("a reused", code)
	if gws := f.gateways(); len(gws) != 1 || gws[0].ID != "gw-enrolled" || gws[0].CanteenID != "canteen-e" {
		t.Fatalf("gateways after enrolment and refusals: %+v", gws)
	}

	startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	wait.For(t, 60*time.Second, "the enrolled gateway and its camera online at the fleet", func() bool {
		gws := f.gateways()
		return len(gws) == 1 && gws[0].Online && len(gws[0].Cameras) == 1 && gws[0].Cameras[0].Online
	})
	op.do("the gateway on the canteen page", 30*time.Second, chromedp.Reload(),
		headless.WaitReady(chromedp.CSS(`#gateways [data-gateway="gw-enrolled"][data-online="true"]`)),
		headless.WaitReady(chromedp.CSS(`#enrol-codes [data-status="used"]`)))
	if got := op.text(`#enrol-codes [data-status="used"]`); !strings.Contains(got, "gw-enrolled") {
		t.Errorf("the used code's line: %q", got)
	}
	op.screenshot("enrol-online.png")

	// Without a terminal: a second fresh gateway enrols from its setup
	// page with a code, shows the installer the setup password, restarts
	// into its identity (exit 75, which systemd restarts) and comes
	// online.
	var pageCode struct{ Code string }
	if status, body := f.api("POST", "/api/v1/canteens/canteen-e/enrolment-codes", map[string]any{"gateway_name": "gw-page"}); status != 201 ||
		json.Unmarshal([]byte(body), &pageCode) != nil {
		t.Fatalf("make a code: %d %s", status, body)
	}
	cfg2 := freshGatewayConfig(t, camURL)
	b, _ := os.ReadFile(cfg2)
	// the package's config names the gateway gw-01 until it is enrolled
	writeFile(t, cfg2, "gateway:\n  id: gw-01\n"+string(b))
	gwHTTP := regexp.MustCompile(`listen: (\S+)`).FindStringSubmatch(string(b))[1]
	gw2 := startProc(t, "gateway-page", nil, "bk-gateway", "run", "--config", cfg2)
	wait.For(t, 30*time.Second, "the unenrolled gateway's setup page", func() bool {
		resp, err := http.Get("http://" + gwHTTP + "/setup")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	inst := newSession(t, "http://"+gwHTTP)
	inst.do("enrol on the setup page", 60*time.Second, chromedp.EmulateViewport(390, 844),
		chromedp.Navigate("http://"+gwHTTP+"/setup"),
		headless.WaitVisible(chromedp.CSS("#fleet")),
		headless.SendKeys(chromedp.CSS("#fleet"), base),
		headless.SendKeys(chromedp.CSS("#code"), pageCode.Code),
		headless.Click(chromedp.CSS("#code-btn")),
		headless.WaitVisible(chromedp.CSS("#enrolled")))
	pw, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg2), "setup-password.txt"))
	if got := inst.text("#enrolled"); !strings.Contains(got, "gw-page") || len(pw) < 10 || !strings.Contains(got, strings.TrimSpace(string(pw))) {
		t.Errorf("the page after enrolling: %q", got)
	}
	select {
	case <-gw2.done:
		if c := gw2.cmd.ProcessState.ExitCode(); c != 75 {
			t.Fatalf("the gateway exited with %d after enrolling, want 75 (restart)", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not restart after enrolling")
	}
	startProc(t, "gateway-page-2", nil, "bk-gateway", "run", "--config", cfg2)
	wait.For(t, 60*time.Second, "the gateway enrolled from its page online at the fleet", func() bool {
		for _, g := range f.gateways() {
			if g.ID == "gw-page" && g.CanteenID == "canteen-e" && g.Online && len(g.Cameras) == 1 && g.Cameras[0].Online {
				return true
			}
		}
		return false
	})

	var audit struct {
		Entries []struct{ Action, Outcome, Actor, Detail string } `json:"entries"`
	}
	if err := f.get("/api/v1/audit?action=enrol", &audit); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, e := range audit.Entries {
		outcomes[e.Outcome]++
	}
	if outcomes["ok"] != 2 || outcomes["refused"] != 3 {
		t.Errorf("enrolments audited: %v (%+v)", outcomes, audit.Entries)
	}
}
