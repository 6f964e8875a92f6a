package core

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/onnx/onnxtest"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
	"github.com/brightkitchen/brightkitchen/plugins/sdk/sdktest"
)

// logBuffer is a log the test can read while the gateway writes it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func pluginState(g *Gateway, name string) sdk.State {
	for _, st := range g.pluginStates() {
		if st.Name == name {
			return st
		}
	}
	return sdk.State{}
}

// TestModelChecksum: a gateway whose config chooses a model for the onnx
// plugin (models.onnx) starts bk-plugin-onnx on <model_dir>/<name>.onnx
// with the sha256 to check. With a sum the file does not have, the plugin
// refuses the model: the gateway logs the error and shows it as the
// plugin's error on the status page and in the heartbeat, sends it no
// frames, and the camera keeps streaming through tamper. The fleet then
// pushes the right sum: the onnx plugin alone is relaunched, describes
// itself with the model and gets frames; tamper and the camera go on
// untouched.
func TestModelChecksum(t *testing.T) {
	lib, _ := filepath.Abs(filepath.Join("..", "..", "third_party", "onnxruntime", "linux-"+runtime.GOARCH, "libonnxruntime.so.1"))
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("ONNX Runtime not found (%v): run scripts/onnxruntime.sh", err)
	}
	t.Setenv(onnx.LibEnv, lib) // the plugin inherits the gateway's environment
	onnxBin := sdktest.Build(t, "github.com/brightkitchen/brightkitchen/plugins/onnx/cmd/bk-plugin-onnx")
	tamperBin := sdktest.Build(t, "github.com/brightkitchen/brightkitchen/plugins/tamper/cmd/bk-plugin-tamper")
	models := t.TempDir()
	_, sum := onnxtest.WriteModel(t, models, "camsim-demo")
	wrong := strings.Repeat("0", 64)

	cam := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, NoScenes: true,
		Cameras: []camsim.Camera{{Path: "k", Scene: "kitchen"}}, Logger: slog.New(slog.DiscardHandler)}
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cam.Close() })

	dir := t.TempDir()
	doc := fmt.Sprintf(`gateway: {id: gw-t}
broker: {url: 'tcp://127.0.0.1:1', connect_timeout: 100ms}
http: {listen: ''}
spool: {path: %q}
model_dir: %q
plugins:
  - {name: tamper, path: %q}
  - {name: onnx, path: %q, max_restarts: 3}
models:
  onnx: {name: camsim-demo, sha256: %s}
cameras:
  - id: cam1
    url: %s
    detect:
      fps: 4
      plugins: [{name: tamper}, {name: onnx}]
      rules: [{type: camera_occluded}]
`, filepath.Join(dir, "spool.db"), models, tamperBin, onnxBin, wrong, cam.URL("k"))
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	g, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })

	// the wrong sum: refused, shown, logged, no frames
	refusal := "model " + filepath.Join(models, "camsim-demo.onnx") + ": sha256 " + sum + " does not match the desired " + wrong
	wait.For(t, 30*time.Second, "onnx refusing its model", func() bool {
		st := pluginState(g, "onnx")
		return !st.Ready && strings.Contains(st.LastError, refusal) && st.Restarts >= 1
	})
	tamperBefore := pluginState(g, "tamper").Calls
	wait.For(t, 20*time.Second, "the camera streaming and tamper answering", func() bool {
		h := g.Cameras()
		return len(h) == 1 && h[0].Online && h[0].FPS > 0 && pluginState(g, "tamper").Calls >= tamperBefore+4
	})
	if st := pluginState(g, "onnx"); st.Calls != 0 {
		t.Errorf("onnx was sent %d frames with a refused model", st.Calls)
	}
	hb := g.heartbeat()
	if len(hb.PluginErrors) != 1 || hb.PluginErrors[0].Name != "onnx" || !strings.Contains(hb.PluginErrors[0].Error, refusal) {
		t.Errorf("heartbeat plugin_errors %+v, want onnx's refusal", hb.PluginErrors)
	}
	var page bytes.Buffer
	if err := statusPage.Execute(&page, g.Status()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), refusal) {
		t.Errorf("the status page does not show the refusal:\n%s", page.String())
	}
	if !strings.Contains(logs.String(), "does not match the desired") {
		t.Errorf("the refusal is not logged:\n%s", logs.String())
	}
	tamper := pluginState(g, "tamper")
	if !tamper.Ready || tamper.Restarts != 0 {
		t.Errorf("tamper: %+v", tamper)
	}
	g.mu.Lock()
	run := g.cameras["cam1"]
	g.mu.Unlock()

	// a sum the file does not have, or a model not on the box, from the
	// fleet: the desired config is refused, naming the model, and the
	// running one stays
	for cfg, want := range map[string]string{
		`{"models": {"onnx": {"name": "camsim-demo", "sha256": "` + strings.Repeat("1", 64) + `"}}}`: "models.onnx: " + filepath.Join(models, "camsim-demo.onnx") + " has sha256 " + sum + ", not the chosen 111",
		`{"models": {"onnx": {"name": "elsewhere", "sha256": "` + sum + `"}}}`:                       "models.onnx: open " + filepath.Join(models, "elsewhere.onnx") + ": no such file",
	} {
		if err := g.applyConfig(context.Background(), desired(1, cfg)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("applied %s: %v, want %q", cfg, err, want)
		}
	}
	g.mu.Lock()
	kept := g.cfg.Models["onnx"].SHA256
	g.mu.Unlock()
	if kept != wrong {
		t.Errorf("a refused config changed the model's sum to %s", kept)
	}

	// the right sum, from the fleet: onnx alone is relaunched and runs
	if err := g.applyConfig(context.Background(), desired(1,
		`{"models": {"onnx": {"name": "camsim-demo", "sha256": "`+sum+`"}}}`)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 30*time.Second, "onnx describing itself and detecting", func() bool {
		st := pluginState(g, "onnx")
		return st.Ready && strings.Contains(st.Version, "model camsim-demo") && st.Calls > 2
	})
	if st := pluginState(g, "onnx"); st.Quarantined || st.LastError != "" {
		t.Errorf("onnx after the right sum: %+v", st)
	}
	if hb := g.heartbeat(); len(hb.PluginErrors) != 0 {
		t.Errorf("heartbeat plugin_errors %+v after the right sum", hb.PluginErrors)
	}
	if st := pluginState(g, "tamper"); st.Pid != tamper.Pid || st.Restarts != 0 {
		t.Errorf("tamper was relaunched: %+v, before %+v", st, tamper)
	}
	g.mu.Lock()
	same := g.cameras["cam1"] == run
	g.mu.Unlock()
	if !same {
		t.Error("the camera was restarted for a model change")
	}
	if d := g.detectionStats()["cam1"]; d.Detections == 0 {
		t.Errorf("no detections from onnx: %+v", d)
	}
	// detection's counters are on /metrics, the units it missed among them
	mfs, err := g.metricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "camera" && l.GetValue() == "cam1" {
					exported[mf.GetName()] = true
				}
			}
		}
	}
	for _, name := range []string{"bk_gateway_detection_frames_total", "bk_gateway_detection_missed_total"} {
		if !exported[name] {
			t.Errorf("/metrics has no %s for cam1", name)
		}
	}
	// the model's time per frame is in the plugin's state and on the page
	st := pluginState(g, "onnx")
	if st.DetectMeanMS <= 0 || st.InferLastMS <= 0 || st.InferLastMS > st.DetectLastMS+1000 {
		t.Errorf("onnx times: %+v", st)
	}
	page.Reset()
	if err := statusPage.Execute(&page, g.Status()); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`<td>onnx</td>.*<td>[0-9.]+ / [0-9.]+</td><td>[0-9.]+</td>`).MatchString(page.String()) {
		t.Errorf("the status page has no inference time:\n%s", page.String())
	}
}
