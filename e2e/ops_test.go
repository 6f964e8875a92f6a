package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestRemoteOperationsUI: the canteen's operator, in the fleet's web UI
// (headless Chromium), takes a snapshot of a camera and sees it, edits
// the camera's area in its form (applied by the gateway), has the
// gateway upload the end of its log and downloads it (its content
// checked), and restarts the gateway service, which exits with
// wire.ExitRestart and comes back online when started again (as systemd
// does). Each command is in the audit log under the operator's name. An
// unknown command is answered failed with a clear reason, and the
// gateway keeps working.
func TestRemoteOperationsUI(t *testing.T) {
	parallelScenario(t)
	cam := startCamsim(t, camsim.Camera{Path: "cam-hot", Scene: "kitchen"})
	f := newFleet(t, "")
	f.start()
	user, pass := f.addGateway("gw-1", "canteen-1")
	gwHTTP := freePort(t)
	spoolDir := t.TempDir()
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-1", Broker: "tcp://" + f.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(spoolDir, "spool.db"), HTTP: gwHTTP,
		Cameras: map[string]string{"cam-hot": cam.URL("cam-hot")},
	})
	gw := startProc(t, "gateway-1", nil, "bk-gateway", "run", "--config", cfg)
	online := func(session *uint64) func() bool {
		return func() bool {
			for _, g := range f.gateways() {
				if g.ID == "gw-1" && g.Online && len(g.Cameras) == 1 && g.Cameras[0].Online {
					var full struct {
						Gateways []struct {
							ID      string `json:"id"`
							Session uint64 `json:"session"`
						} `json:"gateways"`
					}
					if f.get("/api/v1/gateways", &full) == nil {
						for _, x := range full.Gateways {
							if x.ID == "gw-1" {
								*session = x.Session
							}
						}
					}
					return true
				}
			}
			return false
		}
	}
	var session1 uint64
	wait.For(t, 30*time.Second, "gw-1 and its camera online", online(&session1))
	f.addUser("op.wu", "operator", "operator pw 1", "--canteen", "canteen-1", "--name", "吴经理")

	base := "http://" + f.http
	op := newSession(t, base)
	op.login("op.wu", "operator pw 1")
	op.do("the gateway's page", 30*time.Second, chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/#/gateway/gw-1"),
		headless.WaitReady(chromedp.CSS(`#gw-ops`)),
		headless.WaitReady(chromedp.CSS(`#gw-state[data-online="true"]`)))

	// A snapshot of the camera, shown once it reached the fleet.
	op.do("snapshot", 60*time.Second,
		headless.Click(chromedp.CSS(`[data-camera="cam-hot"] button[data-op="snapshot"]`)),
		headless.WaitReady(chromedp.CSS(`#op-result[data-cmd="snapshot"][data-status="ok"]`)),
		headless.WaitReady(chromedp.CSS(`#snapshot-img[data-loaded="true"]`)))
	if w := op.eval(`String(document.getElementById("snapshot-img").naturalWidth)`); w == "0" || w == "" {
		t.Errorf("the snapshot has width %s", w)
	}
	// It came as an event of its own kind, and is no alarm.
	if vs, err := f.violations("type=snapshot"); err != nil || len(vs) != 1 || vs[0].Phase != wire.PhaseSnapshot || !vs[0].HasSnapshot {
		t.Errorf("the snapshot's event: %+v %v", vs, err)
	}
	if vs, err := f.violations("alarms=1&type=snapshot"); err != nil || len(vs) != 0 {
		t.Errorf("the snapshot is listed as an alarm: %+v %v", vs, err)
	}

	// The camera's config, edited in its form: the gateway applies it and
	// reports the new area.
	op.do("camera config", 60*time.Second,
		headless.Click(chromedp.CSS(`[data-camera="cam-hot"] button[data-op="camera.config"]`)),
		headless.WaitVisible(chromedp.CSS(`form[data-camera-form="cam-hot"] input[name="area"]`)),
		headless.SetValue(chromedp.CSS(`form[data-camera-form="cam-hot"] input[name="area"]`), "cooking"),
		headless.Click(chromedp.CSS(`form[data-camera-form="cam-hot"] button[type="submit"]`)),
		headless.WaitReady(chromedp.CSS(`#op-result[data-cmd="camera.config"][data-status="ok"]`)))
	wait.For(t, 20*time.Second, "the new area at the fleet", func() bool {
		for _, g := range f.gateways() {
			if g.ID == "gw-1" && len(g.Cameras) == 1 && g.Cameras[0].Area == "cooking" && g.Cameras[0].Online {
				return true
			}
		}
		return false
	})

	// The log: uploaded on request, then downloaded from the page.
	op.do("logs upload", 60*time.Second,
		headless.SetValue(chromedp.CSS(`#logs-mb`), "1"),
		headless.Click(chromedp.CSS(`button[data-op="logs.upload"]`)),
		headless.WaitReady(chromedp.CSS(`#op-result[data-cmd="logs.upload"][data-status="ok"]`)),
		headless.WaitReady(chromedp.CSS(`a.log-download`)))
	logText := op.eval(`(async () => {
  const a = document.querySelector("a.log-download");
  const r = await fetch(a.href, {credentials: "same-origin"});
  if (!r.ok) return "HTTP " + r.status;
  return await new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).text();
})()`)
	if !strings.Contains(logText, "gateway started") || !strings.Contains(logText, "gateway_id=gw-1") ||
		!strings.Contains(logText, "name=snapshot") || len(logText) > 1<<20 {
		b, _ := os.ReadFile(filepath.Join(spoolDir, "gateway.log"))
		t.Errorf("the downloaded log (%d bytes) lacks the gateway's lines: %.300s\non disk (%d bytes): %s", len(logText), logText, len(b), b)
	}

	// Restart: asked twice, answered ok; the service exits with 75 and,
	// started again, is back online in a new session.
	op.do("restart", 60*time.Second,
		headless.Click(chromedp.CSS(`button[data-op="restart"]`)),
		headless.Click(chromedp.CSS(`button[data-op="restart"]`)),
		headless.WaitReady(chromedp.CSS(`#op-result[data-cmd="restart"][data-status="ok"]`)))
	select {
	case <-gw.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not exit after the restart command")
	}
	if code := gw.cmd.ProcessState.ExitCode(); code != wire.ExitRestart {
		t.Fatalf("the gateway exited with %d, want %d", code, wire.ExitRestart)
	}
	startProc(t, "gateway-2", nil, "bk-gateway", "run", "--config", cfg)
	var session2 uint64
	wait.For(t, 30*time.Second, "gw-1 back online", func() bool { return online(&session2)() && session2 > session1 })
	op.do("back online on the page", 30*time.Second, chromedp.Reload(),
		headless.WaitReady(chromedp.CSS(`#gw-state[data-online="true"]`)),
		headless.WaitReady(chromedp.CSS(`#cmd-history tr[data-cmd="restart"][data-status="ok"]`)),
		headless.WaitReady(chromedp.CSS(`#cmd-history tr[data-cmd="snapshot"][data-status="ok"]`)),
		headless.WaitReady(chromedp.CSS(`#cmd-history tr[data-cmd="logs.upload"][data-status="ok"]`)))
	op.screenshot("gateway-ops.png")

	// Every command of the operator is in the audit log.
	var audit struct{ Entries []auth.AuditEntry }
	if err := f.get("/api/v1/audit?action=command", &audit); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range audit.Entries {
		if e.Actor == "user:op.wu" && e.Outcome == auth.OutcomeOK && e.CanteenID == "canteen-1" {
			for _, name := range []string{"snapshot", "camera.config", "logs.upload", "restart"} {
				if strings.HasPrefix(e.Detail, "gateway gw-1: "+name+" ") {
					got[name] = true
				}
			}
		}
		if strings.Contains(e.Detail, `"token":"`) && !strings.Contains(e.Detail, `"token":"…"`) {
			t.Errorf("a token in the audit log: %s", e.Detail)
		}
	}
	if len(got) != 4 {
		t.Errorf("audited commands of op.wu: %v; entries %+v", got, audit.Entries)
	}

	// An unknown command fails with a reason; the gateway keeps working.
	var sent struct {
		CmdID string `json:"cmd_id"`
	}
	if code, err := f.send("POST", "/api/v1/gateways/gw-1/commands", `{"name":"self.destruct"}`, &sent); err != nil || code != 202 {
		t.Fatalf("send an unknown command: %d %v", code, err)
	}
	var c struct{ Status, Detail string }
	wait.For(t, 10*time.Second, "the unknown command failed", func() bool {
		_, _ = f.send("GET", "/api/v1/gateways/gw-1/commands/"+sent.CmdID, "", &c)
		return c.Status == "failed"
	})
	if c.Detail != `command "self.destruct" is not supported by this gateway` {
		t.Errorf("unknown command's detail %q", c.Detail)
	}
	if code, err := f.send("POST", "/api/v1/gateways/gw-1/commands", `{"name":"ping"}`, &sent); err != nil || code != 202 {
		t.Fatalf("ping: %d %v", code, err)
	}
	wait.For(t, 10*time.Second, "ping answered", func() bool {
		_, _ = f.send("GET", "/api/v1/gateways/gw-1/commands/"+sent.CmdID, "", &c)
		return c.Status == "ok" && c.Detail == "pong"
	})
	if st, err := getGatewayStatus(gwHTTP); err != nil || !st.Connected || len(st.Cameras) != 1 || !st.Cameras[0].Online {
		t.Errorf("gateway status after all: %+v %v", st, err)
	}
}
