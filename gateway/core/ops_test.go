package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
)

// twoCameras is YAML for two cameras that never connect.
const twoCameras = "cameras:\n  - {id: cam1, url: 'rtsp://127.0.0.1:1/a', area: kitchen}\n  - {id: cam2, url: 'rtsp://127.0.0.1:1/b'}\n"

// TestCommands: the answer (or the error the uplink reports as failed) of
// each command the gateway runs without a camera streaming.
func TestCommands(t *testing.T) {
	g, _ := newTestGateway(t, t.TempDir(), twoCameras)
	for _, tc := range []struct {
		name, args string
		want       string // the answer, or with err the error's text
		err        bool
	}{
		{wire.CmdPing, "", "pong", false},
		// camera.probe answers the cameras' health as JSON: see probed
		{wire.CmdCameraProbe, "", "cam1 kitchen offline unknown,cam2  offline unknown", false},
		{wire.CmdCameraProbe, `{"camera_id": "cam2"}`, "cam2  offline unknown", false},
		{wire.CmdCameraProbe, `{"camera_id": "cam9"}`, `camera "cam9" is not configured`, true},
		{wire.CmdCameraProbe, `["cam1"]`, "args: json: cannot unmarshal", true},
		{wire.CmdLiveStart, `{"camera_id": 7}`, "args: json: cannot unmarshal", true},
		{wire.CmdLiveStart, `{"camera_id": "cam9", "whip_url": "http://127.0.0.1:8080/whip/cam9"}`, `camera "cam9" is not configured`, true},
		{wire.CmdLiveStop, `{"camera_id": "cam1", "session": "s1"}`, "stopped cam1", false},
		{wire.CmdLiveStop, `nope`, "args: invalid character", true},
		{wire.CmdReboot, "", `reboot is not allowed by this gateway's local config (board.reboot.allow)`, true},
		{wire.CmdSnapshot, `{"camera_id": "cam9"}`, `camera "cam9" is not configured`, true},
		{wire.CmdSnapshot, `{"camera_id": "cam1"}`, `camera "cam1": no picture yet`, true},
		{wire.CmdSnapshot, `{}`, `camera_id "" invalid`, true},
		{wire.CmdLogsUpload, `{"url": "file:///etc/passwd", "token": "t"}`, "url: want an http:// or https:// URL", true},
		{wire.CmdLogsUpload, `{"url": "http://127.0.0.1:1/x", "token": "t", "max_bytes": 1e12}`, "max_bytes", true},
		{"rm -rf", "", `command "rm -rf" is not supported by this gateway`, true},
	} {
		out, err := g.command(context.Background(), wire.Cmd{Name: tc.name, Args: json.RawMessage(tc.args)})
		if tc.name == wire.CmdCameraProbe && err == nil {
			out = probed(t, out)
		}
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s: %q, %v; want the error %q", tc.name, tc.args, out, err, tc.want)
		case !tc.err && (err != nil || out != tc.want):
			t.Errorf("%s %s: %q, %v;\nwant %q", tc.name, tc.args, out, err, tc.want)
		}
	}
}

// probed sums up a camera.probe answer: per camera, its id, area, online
// or offline and picture.
func probed(t *testing.T, answer string) string {
	var hs []wire.CameraHealth
	if err := json.Unmarshal([]byte(answer), &hs); err != nil {
		t.Fatalf("camera.probe answered %q: %v", answer, err)
	}
	var out []string
	for _, h := range hs {
		online := "offline"
		if h.Online {
			online = "online"
		}
		out = append(out, strings.Join([]string{h.CameraID, h.Area, online, h.Picture}, " "))
	}
	return strings.Join(out, ",")
}

// TestApplyCameras: a desired config's cameras replace the running ones
// camera by camera: one that is unchanged keeps running untouched, one
// whose settings changed is restarted, one no longer named is stopped and
// a new one started. The version is kept in the spool for the next start.
func TestApplyCameras(t *testing.T) {
	dir := t.TempDir()
	g, _ := newTestGateway(t, dir, twoCameras)
	runs := func() map[string]*cameraRun {
		g.mu.Lock()
		defer g.mu.Unlock()
		out := map[string]*cameraRun{}
		for id, c := range g.cameras {
			out[id] = c
		}
		return out
	}
	before := runs()
	doc := `{"cameras": [
		{"id": "cam1", "url": "rtsp://127.0.0.1:1/a", "area": "kitchen"},
		{"id": "cam2", "url": "rtsp://127.0.0.1:1/b2"},
		{"id": "cam3", "url": "rtsp://127.0.0.1:1/c"}]}`
	if err := g.applyConfig(context.Background(), desired(7, doc)); err != nil {
		t.Fatal(err)
	}
	after := runs()
	if after["cam1"] != before["cam1"] {
		t.Error("cam1, unchanged, was restarted")
	}
	if after["cam2"] == before["cam2"] || after["cam2"].cfg.URL != "rtsp://127.0.0.1:1/b2" {
		t.Errorf("cam2, changed, was not restarted with its new URL: %+v", after["cam2"].cfg)
	}
	select {
	case <-before["cam2"].done:
	default:
		t.Error("the old cam2 is still reporting")
	}
	if after["cam3"] == nil || len(after) != 3 {
		t.Errorf("cameras after the push: %v", after)
	}
	var ids []string
	for _, h := range g.Cameras() {
		ids = append(ids, h.CameraID)
	}
	if strings.Join(ids, ",") != "cam1,cam2,cam3" {
		t.Errorf("Cameras() in config order: %v", ids)
	}

	// cam1 alone: the others stop
	if err := g.applyConfig(context.Background(), desired(8, `{"cameras": [{"id": "cam1", "url": "rtsp://127.0.0.1:1/a", "area": "kitchen"}]}`)); err != nil {
		t.Fatal(err)
	}
	if r := runs(); len(r) != 1 || r["cam1"] != before["cam1"] {
		t.Errorf("cameras after the second push: %v", r)
	}
	for _, id := range []string{"cam2", "cam3"} {
		select {
		case <-after[id].done:
		default:
			t.Errorf("%s, removed, is still reporting", id)
		}
	}
	if v := savedVersion(t, g); v != 8 {
		t.Errorf("saved config version %d, want 8", v)
	}
}

// savedVersion is the version of the desired config the gateway kept.
func savedVersion(t *testing.T, g *Gateway) int64 {
	t.Helper()
	b, err := g.spool.Meta(metaConfig)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct{ Version int64 }
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatalf("saved config %q: %v", b, err)
	}
	return saved.Version
}

// TestApplyRefusals: desired configs that are not a JSON object, or whose
// cameras do not validate, are refused with the reason, and nothing
// changes; so is a log.level change when the gateway's level is fixed
// (New was given no LevelVar).
func TestApplyRefusals(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, twoCameras)
	g, err := New(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, tc := range []struct{ doc, err string }{
		{`[1, 2]`, "config: json: cannot unmarshal array"},
		{`{"cameras": `, "config: unexpected end of JSON input"},
		{`{"cameras": [{"id": "cam1", "url": "http://127.0.0.1/a"}]}`, "cameras[0].url"},
		{`{"cameras": [{"id": "cam1", "url": "rtsp://h/a"}, {"id": "cam1", "url": "rtsp://h/b"}]}`, "cameras[1].id"},
		{`{"cameras": [{"id": "cam1", "url": "rtsp://h/a", "fps": 5}]}`, `cameras[0]: unknown key "fps"`},
		{`{"log": {"level": "debug"}}`, "log.level: cannot change while the gateway runs"},
	} {
		err := g.applyConfig(context.Background(), desired(3, tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.err)
		}
	}
	if b, _ := g.spool.Meta(metaConfig); len(b) != 0 {
		t.Errorf("a refused config was kept: %s", b)
	}
	if h := g.Cameras(); len(h) != 2 || h[0].CameraID != "cam1" || h[1].CameraID != "cam2" {
		t.Errorf("cameras after refusals: %+v", h)
	}
	// the level as it runs is no change
	if err := g.applyConfig(context.Background(), desired(4, `{"log": {"level": "info"}}`)); err != nil {
		t.Errorf("the running level refused: %v", err)
	}
}

// TestSavedConfigIgnored: a saved desired config that no longer merges
// (unreadable, or naming a section the fleet may not set) is logged and
// ignored at the next start, which runs the local file's config.
func TestSavedConfigIgnored(t *testing.T) {
	for name, saved := range map[string]string{
		"not JSON":      `{"version": 5, "config": `,
		"local section": `{"version": 5, "config": {"spool": {"max_bytes": "1KiB"}}}`,
		"bad camera":    `{"version": 5, "config": {"cameras": [{"id": "", "url": "rtsp://h/a"}]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, twoCameras)
			q, err := spool.Open(spool.Options{Path: cfg.Spool.Path})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.SetMeta(metaConfig, []byte(saved)); err != nil {
				t.Fatal(err)
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			g, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if h := g.Cameras(); len(h) != 2 {
				t.Errorf("cameras %+v, want the file's two", h)
			}
			if v := g.uplink.Stats().ConfigVersion; v != 0 {
				t.Errorf("config version %d, want 0", v)
			}
			if !strings.Contains(logs.String(), "ignoring saved config") {
				t.Errorf("not logged:\n%s", logs.String())
			}
		})
	}
}

// TestCheckModels: a model choice that changed must name a file in
// model_dir with the chosen sha256; one that did not change is not read
// again; the first model that fails is named.
func TestCheckModels(t *testing.T) {
	models := t.TempDir()
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	a, b := []byte("model a"), []byte("model b")
	for name, data := range map[string][]byte{"a": a, "b": b} {
		if err := os.WriteFile(filepath.Join(models, name+".onnx"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(models, "dir.onnx"), 0o700); err != nil {
		t.Fatal(err)
	}
	mk := func(m map[string]config.Model) config.Config { return config.Config{ModelDir: models, Models: m} }
	wrong := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name      string
		cur, next map[string]config.Model
		err       string
	}{
		{"none", nil, nil, ""},
		{"right sum", nil, map[string]config.Model{"onnx": {Name: "a", SHA256: sum(a)}}, ""},
		{"two, right", nil, map[string]config.Model{"onnx": {Name: "a", SHA256: sum(a)}, "yolo": {Name: "b", SHA256: sum(b)}}, ""},
		{"wrong sum", nil, map[string]config.Model{"onnx": {Name: "a", SHA256: sum(b)}},
			"models.onnx: " + filepath.Join(models, "a.onnx") + " has sha256 " + sum(a) + ", not the chosen " + sum(b)},
		{"the other file", map[string]config.Model{"onnx": {Name: "a", SHA256: sum(a)}}, map[string]config.Model{"onnx": {Name: "b", SHA256: sum(a)}},
			"models.onnx: " + filepath.Join(models, "b.onnx") + " has sha256 " + sum(b)},
		{"missing", nil, map[string]config.Model{"onnx": {Name: "gone", SHA256: sum(a)}},
			"models.onnx: open " + filepath.Join(models, "gone.onnx") + ": no such file or directory"},
		{"a directory", nil, map[string]config.Model{"onnx": {Name: "dir", SHA256: sum(a)}}, "models.onnx: read " + filepath.Join(models, "dir.onnx")},
		{"second of two wrong", nil, map[string]config.Model{"a1": {Name: "a", SHA256: sum(a)}, "b1": {Name: "b", SHA256: wrong}}, "models.b1:"},
		{"unchanged, not read", map[string]config.Model{"onnx": {Name: "gone", SHA256: wrong}}, map[string]config.Model{"onnx": {Name: "gone", SHA256: wrong}}, ""},
		{"same file, new sum", map[string]config.Model{"onnx": {Name: "a", SHA256: wrong}}, map[string]config.Model{"onnx": {Name: "a", SHA256: sum(a)}}, ""},
	} {
		err := checkModels(mk(tc.cur), mk(tc.next))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestCut: a plugin's error is cut for the heartbeat at a rune boundary,
// never inside a UTF-8 sequence.
func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"模型校验失败", 7, "模型"}, // 3 bytes a rune: 7 falls inside the third
		{"模型校验失败", 6, "模型"},
		{"模型", 2, ""},
		{"", 0, ""},
	} {
		if got := cut(tc.s, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
