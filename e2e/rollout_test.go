package e2e

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/release"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// versionsMu guards versionsBuilt: the versions built into
// binDir/versions by this test binary, shared by the tests that install
// releases (sharedVersions).
var (
	versionsMu    sync.Mutex
	versionsBuilt = map[string]bool{}
)

// sharedVersions builds bk-gateway stamped with each version (as
// buildVersions does) into binDir/versions/{version}/, once per test
// binary, and returns that directory. A binary there from an earlier run
// (binDir is kept between make test runs) is built over: the go command
// links it again only if it is not what this tree builds.
func sharedVersions(t testing.TB, versions ...string) string {
	t.Helper()
	versionsMu.Lock()
	defer versionsMu.Unlock()
	dir := filepath.Join(binDir, "versions")
	var missing []string
	for _, v := range versions {
		if !versionsBuilt[v] {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		buildVersions(t, dir, missing...)
		for _, v := range missing {
			versionsBuilt[v] = true
		}
	}
	return dir
}

type rolloutTarget struct {
	GatewayID string `json:"gateway_id"`
	Stage     int    `json:"stage"`
	State     string `json:"state"`
	Detail    string `json:"detail"`
	Version   string `json:"version"`
}

type rolloutView struct {
	Rollout struct {
		ID     string         `json:"id"`
		Stage  int            `json:"stage"`
		State  string         `json:"state"`
		Reason string         `json:"reason"`
		Counts map[string]int `json:"counts"`
	} `json:"rollout"`
	Targets []rolloutTarget `json:"targets"`
}

// TestOTARollout: a bundle uploaded through the fleet's API, rolled out
// to three real gateways (launcher services, as systemd runs them) in
// stages [67, 100] with manual advance: exactly two update and confirm
// in stage 1 while the third stays on the old version, until "next
// stage" updates it too and the rollout is done. The fleet's page shows
// the rollout and each gateway's version and state in headless Chromium.
func TestOTARollout(t *testing.T) {
	parallelScenario(t)
	vers := sharedVersions(t, "1.0.0", "2.0.0")
	pub, priv, _ := ed25519.GenerateKey(nil)
	keyLine := release.FormatPublicKey(pub)
	cam := startCamsim(t, camsim.Camera{Path: "cam-1", Scene: "empty"})
	fl := newFleet(t, "")
	fl.args = []string{"--release-keys", keyLine, "--rollout-tick", "500ms"}
	fl.start()

	ids := []string{"gw-r1", "gw-r2", "gw-r3"}
	status := map[string]string{} // gateway → its status page address
	for _, id := range ids {
		user, pass := fl.addGateway(id, "canteen-1")
		status[id] = freePort(t)
		cfg := writeGatewayConfig(t, gatewayConfig{
			ID: id, Broker: "tcp://" + fl.mqtt, User: user, Pass: pass,
			Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: status[id],
			Cameras: map[string]string{"cam-1": cam.URL("cam-1")},
			YAML:    fmt.Sprintf("ota:\n  dir: /nonexistent/overridden-by-the-launcher\n  confirm_timeout: 60s\n  trusted_keys: [%q]\n", keyLine),
		})
		svc := startService(t, filepath.Join(vers, "1.0.0", "bk-gateway"), "launch", "--ota-dir", filepath.Join(t.TempDir(), "ota"),
			"--max-starts", "2", "run", "--config", cfg)
		defer svc.close()
	}
	// running reports the version a gateway's process runs, connected
	// with its camera online ("" otherwise).
	running := func(id string) string {
		var st struct {
			Version   string `json:"version"`
			Connected bool   `json:"connected"`
			Cameras   []struct {
				Online bool `json:"online"`
			} `json:"cameras"`
		}
		resp, err := http.Get("http://" + status[id] + "/api/status")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&st) != nil || !st.Connected || len(st.Cameras) != 1 || !st.Cameras[0].Online {
			return ""
		}
		return st.Version
	}
	fleetVersion := func(id string) string {
		for _, g := range fl.gateways() {
			if g.ID == id && g.Online {
				var full struct {
					Gateways []struct{ ID, Version string }
				}
				_ = fl.get("/api/v1/gateways", &full)
				for _, f := range full.Gateways {
					if f.ID == id {
						return f.Version
					}
				}
			}
		}
		return ""
	}
	wait.For(t, 60*time.Second, "three gateways online as 1.0.0", func() bool {
		for _, id := range ids {
			if running(id) != "1.0.0" || fleetVersion(id) != "1.0.0" {
				return false
			}
		}
		return true
	})

	// The bundle, uploaded through the API.
	src := t.TempDir()
	bin, err := os.ReadFile(filepath.Join(vers, "2.0.0", "bk-gateway"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bk-gateway"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if _, err := release.Build(&bundle, release.Manifest{Product: "bk-gateway", Version: "2.0.0", Arch: goarch()}, src, priv, true); err != nil {
		t.Fatal(err)
	}
	var rel struct{ ID, Version, Arch string }
	if code, err := fl.send("POST", "/api/v1/releases", bundle.String(), &rel); err != nil || code != 201 || rel.Version != "2.0.0" {
		t.Fatalf("upload: %d %v %+v", code, err, rel)
	}
	t.Logf("uploaded %s for %s (%d bytes)", rel.Version, rel.Arch, bundle.Len())

	began := time.Now()
	var ro struct{ ID string }
	body := fmt.Sprintf(`{"version":"2.0.0","target":{"gateways":["%s"]},"stages":[67,100],"advance":"manual"}`, strings.Join(ids, `","`))
	if code, err := fl.send("POST", "/api/v1/rollouts", body, &ro); err != nil || code != 201 {
		t.Fatalf("create rollout: %d %v", code, err)
	}
	view := func() rolloutView {
		var v rolloutView
		_ = fl.get("/api/v1/rollouts/"+ro.ID, &v)
		return v
	}
	v := view()
	var first []string
	var last string
	for _, tr := range v.Targets {
		if tr.Stage == 1 {
			first = append(first, tr.GatewayID)
		} else {
			last = tr.GatewayID
		}
	}
	if len(first) != 2 || last == "" {
		t.Fatalf("stages: %+v", v.Targets)
	}

	// Stage 1: exactly those two update and confirm.
	wait.For(t, 150*time.Second, "stage 1 confirmed on 2.0.0", func() bool {
		v := view()
		n := 0
		for _, tr := range v.Targets {
			if tr.Stage == 1 && tr.State == "confirmed" && running(tr.GatewayID) == "2.0.0" {
				n++
			}
		}
		return n == 2
	})
	stage1 := time.Since(began)
	// Ticks go by: the third is left alone until "next".
	time.Sleep(1500 * time.Millisecond)
	v = view()
	for _, tr := range v.Targets {
		if tr.GatewayID == last && (tr.State != "pending" || running(last) != "1.0.0") {
			t.Fatalf("%s before next stage: %s %q, running %q", last, tr.State, tr.Detail, running(last))
		}
	}
	if v.Rollout.State != "running" || v.Rollout.Stage != 1 {
		t.Fatalf("rollout after stage 1: %+v", v.Rollout)
	}

	began = time.Now()
	rolloutPageNext(t, fl, ro.ID, first, last)
	wait.For(t, 150*time.Second, "the rollout done, the third on 2.0.0", func() bool {
		v := view()
		return v.Rollout.State == "done" && v.Rollout.Counts["confirmed"] == 3 && running(last) == "2.0.0"
	})
	t.Logf("rollout: stage 1 (2 gateways) confirmed %s after creation; stage 2 %s after next", stage1.Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
	// Each command the rollout sent is audited as its creator's, the
	// download token blanked.
	var audit struct {
		Entries []struct{ Actor, Action, Outcome, Detail string }
	}
	if err := fl.get("/api/v1/audit?action=command", &audit); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, e := range audit.Entries {
		if strings.Contains(e.Detail, "ota.install 2.0.0 (rollout "+ro.ID) && e.Actor == "admin-token" && e.Outcome == "ok" {
			sent++
		}
	}
	if sent != 3 {
		t.Errorf("%d ota.install commands audited, want 3: %+v", sent, audit.Entries)
	}
	wait.For(t, 30*time.Second, "the fleet shows all three on 2.0.0", func() bool {
		for _, id := range ids {
			if fleetVersion(id) != "2.0.0" {
				return false
			}
		}
		return true
	})
}

// rolloutPageNext checks in headless Chromium, as an admin, that the
// rollout's page shows stage 1 done (first confirmed on 2.0.0, last
// pending on 1.0.0) and the gateway list each one's version and update
// state, then presses "next stage" on the page.
func rolloutPageNext(t *testing.T, fl *fleet, id string, first []string, last string) {
	t.Helper()
	fl.addUser("ota.admin", "admin", "a long password 1")
	s := newSession(t, "http://"+fl.http)
	s.login("ota.admin", "a long password 1")
	row := func(gw, state, version string) chromedp.Action[chromedp.Void] {
		return headless.WaitReady(chromedp.CSS(fmt.Sprintf(`#rollout-targets tr[data-gateway=%q][data-state=%q][data-version=%q]`, gw, state, version)))
	}
	s.do("the gateway list", 30*time.Second, chromedp.Navigate(s.base+"/#/gateways"),
		headless.WaitReady(chromedp.CSS(fmt.Sprintf(`tr[data-gateway=%q] .gw-version .ota-state[data-ota-state="idle"]`, first[0]))))
	for _, gw := range append(slices.Clone(first), last) {
		want := "2.0.0"
		if gw == last {
			want = "1.0.0"
		}
		if txt := s.text(fmt.Sprintf(`tr[data-gateway=%q] .gw-version`, gw)); !strings.Contains(txt, want) {
			t.Errorf("gateway list: %s shows %q, want %s", gw, txt, want)
		}
	}
	s.do("the rollout page", 30*time.Second, chromedp.Navigate(s.base+"/#/rollout/"+id),
		row(first[0], "confirmed", "2.0.0"), row(first[1], "confirmed", "2.0.0"), row(last, "pending", "1.0.0"),
		headless.WaitReady(chromedp.CSS(`#rollout-stage[data-stage="1"]`)),
		headless.WaitReady(chromedp.CSS(`body[data-rollout-state="running"]`)))
	s.screenshot("rollout-stage1.png")
	s.do("next stage", 30*time.Second, headless.Click(chromedp.CSS(`#rollout-actions button[data-action="next"]`)),
		headless.WaitReady(chromedp.CSS(`#rollout-stage[data-stage="2"]`)))
	s.do("the rollout done on the page", 150*time.Second, row(last, "confirmed", "2.0.0"),
		headless.WaitReady(chromedp.CSS(`body[data-rollout-state="done"]`)))
}
