package api

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release"
	"github.com/brightkitchen/brightkitchen/internal/release/releasetest"
)

// TestReleasesAPI: only an admin uploads; unsigned, wrongly signed,
// corrupted, oversized and traversing bundles are refused with the
// reason and leave nothing stored; a good one is stored, rolled out, its
// bundle downloaded with Range by the token of its command (blanked in
// the history) until the rollout is aborted; each step is audited.
func TestReleasesAPI(t *testing.T) {
	w := newWorld(t)
	pub := &cmdPublisher{}
	w.api.MQTT = pub
	key, priv := releasetest.Key(7)
	_, otherPriv := releasetest.Key(8)
	dir := t.TempDir()
	const max = 2 << 20 // over MaxBody: a bundle is no JSON request
	w.api.OTA = ota.New(w.st.DB, ota.Config{Dir: dir, Keys: []ed25519.PublicKey{key}, MaxBundle: max})
	ctx := context.Background()

	files := map[string]string{"bk-gateway": "#!/bin/sh\necho 2.0.0\n", "lib/data": strings.Repeat("0123456789abcdef", 3<<15)} // 1.5 MiB: over MaxBody
	good := releasetest.Bundle(t, priv, ota.Product, "2.0.0", "arm64", files)
	m := releasetest.Manifest(ota.Product, "2.0.0", "arm64", files)
	head := releasetest.Head(t, m, priv)
	mb, _ := m.Encode()
	bad := map[string][]byte{
		"unsigned":  releasetest.Tar(t, releasetest.Entry{Name: release.ManifestName, Body: string(mb)}, releasetest.Entry{Name: "bk-gateway", Body: files["bk-gateway"]}),
		"wrong key": releasetest.Bundle(t, otherPriv, ota.Product, "2.0.0", "arm64", files),
		"corrupted": releasetest.Tar(t, append(head, releasetest.Entry{Name: "bk-gateway", Body: "#!/bin/sh\necho 6.6.6\n"})...),
		"traversal": releasetest.Tar(t, append(head, releasetest.Entry{Name: "bk-gateway", Body: files["bk-gateway"]}, releasetest.Entry{Name: "../../evil", Body: "x"})...),
		"oversized": releasetest.Bundle(t, priv, ota.Product, "2.0.0", "arm64", map[string]string{"bk-gateway": strings.Repeat("x", max)}),
	}
	for _, c := range []struct {
		who, method, path string
		body              []byte
		status            int
		contains          string
	}{
		{"regulator", "GET", "/api/v1/releases", nil, 403, "may not do this"},
		{"operatorA", "POST", "/api/v1/releases", good, 403, "may not do this"},
		{"operatorA", "GET", "/api/v1/rollouts", nil, 403, "may not do this"},
		{"operatorA", "POST", "/api/v1/rollouts", []byte(`{"version":"2.0.0","target":{"all":true}}`), 403, "may not do this"},
		{"", "POST", "/api/v1/releases", good, 401, ""},
		{"admin", "POST", "/api/v1/releases", bad["unsigned"], 422, "where manifest.sig must be"},
		{"admin", "POST", "/api/v1/releases", bad["wrong key"], 422, "not signed by a trusted key"},
		{"admin", "POST", "/api/v1/releases", bad["corrupted"], 422, "has sha256"},
		{"admin", "POST", "/api/v1/releases", bad["traversal"], 422, `../../evil\" is not in the manifest`},
		{"admin", "POST", "/api/v1/releases", bad["oversized"], 413, "over the fleet's limit of 2097152"},
		{"admin", "POST", "/api/v1/releases", []byte("{not a bundle"), 422, "bad bundle"},
	} {
		status, body := w.req(t, c.who, c.method, c.path, "application/octet-stream", c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s %s: %d %s; want %d with %q", c.who, c.method, c.path, status, body, c.status, c.contains)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("refused uploads left %v", ents)
	}
	status, body := w.req(t, "admin", "POST", "/api/v1/releases", "application/octet-stream", good)
	var rel ota.Release
	if status != 201 || json.Unmarshal([]byte(body), &rel) != nil || rel.Version != "2.0.0" || rel.Arch != "arm64" {
		t.Fatalf("upload: %d %s", status, body)
	}
	if status, _ := w.req(t, "admin", "POST", "/api/v1/releases", "", good); status != 200 {
		t.Errorf("same bundle again: %d", status)
	}
	if status, body := w.req(t, "admin", "GET", "/api/v1/releases", "", nil); status != 200 || !strings.Contains(body, rel.ID) ||
		!strings.Contains(body, release.FormatPublicKey(key)) {
		t.Errorf("list: %d %s", status, body)
	}

	// A rollout to gw-A (arm64, 1.0.0): the engine sends ota.install
	// through the command path, the bundle downloads with Range.
	if err := w.st.GatewayState(ctx, "gw-A", wire.State{V: 1, Online: true, Session: 1, Version: "1.0.0", Arch: "arm64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body, want string
		status     int
	}{
		{`{"version":"2.0.0","target":{"gateways":["gw-A"]},"stages":[50]}`, "the last must be 100", 400},
		{`{"version":"9.0.0","target":{"gateways":["gw-A"]}}`, "no release 9.0.0", 400},
		{`{"version":"2.0.0","target":{"gateways":["gw-A"]},"extra":1}`, "unknown field", 400},
	} {
		if status, body := w.req(t, "admin", "POST", "/api/v1/rollouts", "application/json", []byte(c.body)); status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.body, status, body)
		}
	}
	status, body = w.req(t, "admin", "POST", "/api/v1/rollouts", "application/json", []byte(`{"version":"2.0.0","target":{"gateways":["gw-A","gw-B"]}}`))
	var ro ota.Rollout
	if status != 201 || json.Unmarshal([]byte(body), &ro) != nil || ro.Counts["pending"] != 1 || ro.Counts["skipped"] != 1 {
		t.Fatalf("create: %d %s", status, body)
	}
	eng := &ota.Engine{OTA: w.api.OTA, PublicURL: w.srv.URL, Send: func(ctx context.Context, gw, cmdID string, args wire.OTAInstallArgs, ttl time.Duration) error {
		_, err := w.api.CommandWithID(ctx, gw, cmdID, wire.CmdOTAInstall, args, ttl)
		return err
	}}
	if err := eng.Step(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	cmd := pub.last()
	var args wire.OTAInstallArgs
	if err := json.Unmarshal(cmd.Args, &args); err != nil || cmd.Name != wire.CmdOTAInstall || args.SHA256 != rel.ID || args.Size != int64(len(good)) {
		t.Fatalf("command %+v %+v", cmd, args)
	}
	get := func(url, rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, b := get(args.URL, ""); status != 200 || string(b) != string(good) {
		t.Errorf("download: %d, %d bytes", status, len(b))
	}
	if status, b := get(args.URL, "bytes=100-"); status != 206 || string(b) != string(good[100:]) {
		t.Errorf("ranged download: %d, %d bytes", status, len(b))
	}
	if status, _ := get(w.srv.URL+ota.DownloadPath+strings.Repeat("ab", 32), ""); status != 404 {
		t.Errorf("wrong token: %d", status)
	}
	// the token is the command's secret: blanked in the history and the audit
	token := args.URL[strings.LastIndex(args.URL, "/")+1:]
	if _, body := w.req(t, "regulator", "GET", "/api/v1/gateways/gw-A/commands", "", nil); strings.Contains(body, token) || !strings.Contains(body, ota.DownloadPath+"…") {
		t.Errorf("history shows the token: %s", body)
	}
	if status, body := w.req(t, "admin", "GET", "/api/v1/rollouts/"+ro.ID, "", nil); status != 200 || !strings.Contains(body, `"gateway_id":"gw-A"`) ||
		!strings.Contains(body, `"state":"sent"`) || !strings.Contains(body, `"arch":"arm64"`) {
		t.Errorf("rollout: %d %s", status, body)
	}
	if status, body := w.req(t, "admin", "DELETE", "/api/v1/releases/"+rel.ID, "", nil); status != 409 || !strings.Contains(body, "in use") {
		t.Errorf("delete in use: %d %s", status, body)
	}
	for _, c := range []struct {
		action string
		status int
		want   string
	}{
		{"resume", 409, "resume a running rollout"},
		{"jump", 404, "no such action"},
		{"pause", 200, `"state":"paused"`},
		{"abort", 200, `"state":"aborted"`},
		{"next", 409, "aborted"},
	} {
		if status, body := w.req(t, "admin", "POST", "/api/v1/rollouts/"+ro.ID+"/"+c.action, "", nil); status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.action, status, body)
		}
	}
	if status, _ := get(args.URL, ""); status != 410 {
		t.Errorf("download after abort: %d", status)
	}
	if status, _ := w.req(t, "admin", "DELETE", "/api/v1/releases/"+rel.ID, "", nil); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("deleted release left %v", ents)
	}
	entries, err := w.st.AuditLog(ctx, auth.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action+"/"+e.Outcome] = true
		if strings.Contains(e.Detail, token) {
			t.Errorf("audit shows the token: %+v", e)
		}
	}
	for _, want := range []string{"release_upload/ok", "release_upload/refused", "rollout_create/ok", "rollout_pause/ok", "rollout_abort/ok", "release_delete/ok"} {
		if !seen[want] {
			t.Errorf("no %s audit entry (have %v)", want, seen)
		}
	}
}
