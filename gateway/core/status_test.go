package core

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/spool"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestStatusPage: the local status page, its JSON and /healthz show what
// an installer needs: the gateway, that the fleet is not connected, each
// camera online or offline in config order, what waits in the spool.
func TestStatusPage(t *testing.T) {
	cam := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, NoScenes: true,
		Cameras: []camsim.Camera{{Path: "k", Scene: "kitchen"}}, Logger: slog.New(slog.DiscardHandler)}
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cam.Close() })

	cfg := testConfig(t, t.TempDir(), "cameras:\n  - {id: cam1, url: '"+cam.URL("k")+"', area: 后厨}\n"+
		"  - {id: cam2, url: 'rtsp://127.0.0.1:1/gone'}\n")
	cfg.HTTP.Listen = "127.0.0.1:0"
	g, err := New(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	base := "http://" + g.HTTPAddr()
	if g.HTTPAddr() == "" || strings.HasSuffix(base, ":0") {
		t.Fatalf("status page at %q", g.HTTPAddr())
	}
	wait.For(t, 20*time.Second, "cam1 online and its status spooled", func() bool {
		h := g.Cameras()
		return len(h) == 2 && h[0].Online && h[0].FPS > 0 && g.spool.Stats().Depth > 0
	})

	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _, _ := get("/nope"); code != http.StatusNotFound {
		t.Errorf("/nope: %d, want 404", code)
	}

	code, ct, body := get("/api/status")
	if code != 200 || ct != "application/json" {
		t.Fatalf("/api/status: %d %s %s", code, ct, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/status %s: %v", body, err)
	}
	if st.GatewayID != "gw-t" || st.Connected || st.Version == "" || st.Goroutines == 0 {
		t.Errorf("status %+v", st)
	}
	if len(st.Cameras) != 2 || st.Cameras[0].CameraID != "cam1" || !st.Cameras[0].Online || st.Cameras[0].Area != "后厨" ||
		st.Cameras[1].CameraID != "cam2" || st.Cameras[1].Online {
		t.Errorf("status cameras %+v, want cam1 online, cam2 offline", st.Cameras)
	}
	if st.Spool.Depth == 0 {
		t.Errorf("status spool %+v, spool %+v", st.Spool, g.spool.Stats())
	}
	if len(st.Live) != 0 || len(st.Plugins) != 0 || len(st.Detection) != 0 {
		t.Errorf("nothing live, no plugins, no detection: %+v", st)
	}

	code, ct, page := get("/")
	if code != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("/: %d %s", code, ct)
	}
	for _, want := range []string{"<h1>网关 gw-t</h1>", `<b class="bad">未连接</b>`,
		`<td>cam1</td><td>后厨</td><td><span class="ok">在线</span></td><td>ok</td>`,
		`<td>cam2</td><td></td><td><span class="bad">离线</span></td><td>unknown</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s:\n%s", want, page)
		}
	}
	if strings.Index(page, "cam1") > strings.Index(page, "cam2") {
		t.Error("the page lists the cameras out of config order")
	}
	if strings.Contains(page, "检测插件") {
		t.Error("a plugin table without plugins")
	}

	// /metrics on the same listener: the cameras, spool and uplink.
	code, ct, metrics := get("/metrics")
	if code != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics: %d %s", code, ct)
	}
	for _, want := range []string{`bk_gateway_camera_up{camera="cam1"} 1`, `bk_gateway_camera_up{camera="cam2"} 0`,
		`bk_gateway_camera_frames_total{camera="cam1"} `, `bk_gateway_camera_reconnects_total{camera="cam2"} `,
		`bk_gateway_camera_fps{camera="cam1"} `, "\nbk_gateway_spool_depth ", "\nbk_gateway_spool_bytes ",
		`bk_gateway_spool_dropped_total{what="snapshots"} 0`, "\nbk_gateway_uplink_connected 0",
		"\nbk_gateway_uplink_retries_total ", "\nbk_gateway_uplink_acked_total 0", `bk_gateway_info{version="`,
		`bk_gateway_ota_state{slot="",state="idle",target=""} 1`, "\nbk_gateway_ota_progress 0", "\ngo_goroutines "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	if strings.Contains(metrics, `bk_gateway_camera_frames_total{camera="cam1"} 0`) {
		t.Error("cam1 streams, yet no frames counted")
	}
}

// TestStatusPageOff: without http.listen there is no status page.
func TestStatusPageOff(t *testing.T) {
	g, _ := newTestGateway(t, t.TempDir(), "")
	if a := g.HTTPAddr(); a != "" {
		t.Errorf("HTTPAddr %q with the page off", a)
	}
	// Status reads the spool as the page would
	if _, err := g.spool.Append(context.Background(), spool.Item{Kind: "x", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if st := g.Status(); st.Spool.Depth != 1 || st.GatewayID != "gw-t" {
		t.Errorf("Status() %+v", st)
	}
}
