package web_test

import (
	"crypto/ed25519"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/api"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/release/releasetest"
)

// TestUIReleases: an admin uploads a bundle on the releases page (a
// wrongly signed one is refused with the fleet's reason), rolls it out
// to a gateway from the form, and pauses, resumes and aborts the rollout
// on its page; the gateway's page shows its update state from its
// heartbeat. Against the real API and store.
func TestUIReleases(t *testing.T) {
	st := dbtest.Fresh(t)
	key, priv := releasetest.Key(3)
	_, otherPriv := releasetest.Key(4)
	hs := httptest.NewServer((&api.Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: adminToken,
		OTA: ota.New(st.DB, ota.Config{Dir: t.TempDir(), Keys: []ed25519.PublicKey{key}})}).Handler())
	t.Cleanup(hs.Close)
	srv := hs.URL
	w := &world{t: t, base: srv}
	w.call("POST", "/api/v1/users", map[string]any{"id": "admin", "name": "系统管理员", "role": "admin", "password": password}, nil)
	ctx := t.Context()
	if _, _, err := st.AddGateway(ctx, "gw-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.GatewayState(ctx, "gw-1", wire.State{V: 1, Online: true, Session: 1, Version: "1.0.0", Arch: "arm64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Heartbeat(ctx, "gw-1", wire.Heartbeat{V: 1, At: time.Now(), Session: 1,
		OTA: &wire.OTAStatus{Version: "1.0.0", State: wire.OTADownloading, Progress: 40, Target: "2.0.0"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "bk-gateway-2.0.0-arm64.tar"), filepath.Join(dir, "other-key.tar")
	files := map[string]string{"bk-gateway": "#!/bin/sh\necho 2.0.0\n"}
	if err := os.WriteFile(good, releasetest.Bundle(t, priv, ota.Product, "2.0.0", "arm64", files), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, releasetest.Bundle(t, otherPriv, ota.Product, "2.1.0", "arm64", files), 0o644); err != nil {
		t.Fatal(err)
	}

	b := web.NewBrowser(t, srv)
	b.Login("admin", password)
	b.Do("the releases page", 30*time.Second, chromedp.Navigate(srv+"/#/releases"),
		headless.WaitReady(css(`body[data-page="releases"] #releases`)))
	b.Do("a wrongly signed bundle", 30*time.Second, headless.SetUploadFiles(css(`#releases input[type=file]`), []string{bad}),
		headless.Click(css(`#upload`)),
		headless.WaitVisible(css(`#upload-error:not(:empty)`)))
	if txt := b.Text(`#upload-error`); !strings.Contains(txt, "not signed by a trusted key") {
		t.Errorf("refusal shown: %q", txt)
	}
	b.Do("upload", 30*time.Second, headless.SetUploadFiles(css(`#releases input[type=file]`), []string{good}),
		headless.Click(css(`#upload`)),
		headless.WaitReady(css(`#release-list tr[data-version="2.0.0"]`)))
	b.Do("roll it out", 30*time.Second,
		headless.SetValue(css(`#rollout-new input[name="value"]`), "gw-1"),
		headless.SetValue(css(`#rollout-new input[name="stages"]`), "100"),
		headless.Click(css(`#rollout-create`)),
		headless.WaitReady(css(`body[data-page="rollout"] #rollout-targets tr[data-gateway="gw-1"][data-state="pending"][data-version="1.0.0"]`)),
		headless.WaitReady(css(`body[data-rollout-state="running"]`)))
	b.Do("pause", 30*time.Second, headless.Click(css(`#rollout-actions button[data-action="pause"]`)),
		headless.WaitReady(css(`body[data-rollout-state="paused"] #rollout-reason`)))
	b.Do("resume", 30*time.Second, headless.Click(css(`#rollout-actions button[data-action="resume"]`)),
		headless.WaitReady(css(`body[data-rollout-state="running"]`)))
	b.Do("abort", 30*time.Second, headless.Click(css(`#rollout-actions button.danger`)), headless.Click(css(`#rollout-actions button.danger`)),
		headless.WaitReady(css(`body[data-rollout-state="aborted"] #rollout-targets tr[data-gateway="gw-1"][data-state="skipped"]`)))
	b.Do("the list", 30*time.Second, chromedp.Navigate(srv+"/#/releases"),
		headless.WaitReady(css(`#rollout-list tr[data-state="aborted"]`)))
	b.Screenshot("releases.png")
	b.Do("the gateway's update state", 30*time.Second, chromedp.Navigate(srv+"/#/gateway/gw-1"),
		headless.WaitReady(css(`body[data-page="gateway"] .ota-state[data-ota-state="downloading"]`)))
	if txt := b.Text(`.ota-state`); !strings.Contains(txt, "40%") {
		t.Errorf("update state shown: %q", txt)
	}
	b.CheckErrors("end")
}
