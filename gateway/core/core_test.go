package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/live"
)

// newTestGateway starts a gateway with no cameras on a spool in dir, its
// broker unreachable (the uplink retries in the background), no status
// page. extra is YAML appended to the config.
func newTestGateway(t *testing.T, dir, extra string) (*Gateway, *slog.LevelVar) {
	t.Helper()
	cfg := testConfig(t, dir, extra)
	var level slog.LevelVar
	level.Set(cfg.Log.SlogLevel())
	g, err := New(context.Background(), cfg, nil, &level)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g, &level
}

// testConfig is newTestGateway's config: gateway gw-t, its spool in dir,
// the broker unreachable, no status page, then extra (YAML).
func testConfig(t *testing.T, dir, extra string) config.Config {
	t.Helper()
	doc := fmt.Sprintf("gateway: {id: gw-t}\nbroker: {url: 'tcp://127.0.0.1:1', connect_timeout: 100ms}\n"+
		"http: {listen: ''}\n%s", extra)
	env := func(k string) (string, bool) {
		if k == "BK_SPOOL_PATH" {
			return filepath.Join(dir, "spool.db"), true
		}
		return "", false
	}
	cfg, err := config.Parse([]byte(doc), env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func desired(v int64, doc string) wire.ConfigDesired {
	return wire.ConfigDesired{V: wire.Version, Version: v, Config: json.RawMessage(doc)}
}

// TestApplyConfig: what the fleet may set takes effect (cameras, log.level
// at once, and again after a restart); what cannot change while the gateway
// runs (uplink, log.format) or is local only (broker, spool...) is refused
// naming the keys, and not kept.
func TestApplyConfig(t *testing.T) {
	dir := t.TempDir()
	g, level := newTestGateway(t, dir, "")
	ctx := context.Background()

	for _, tc := range []struct{ doc, err string }{
		{`{"uplink": {"heartbeat": "5s", "max_inflight": 10}}`, "uplink.heartbeat, uplink.max_inflight: cannot change while the gateway runs"},
		{`{"log": {"format": "json"}}`, "log.format: cannot change while the gateway runs"},
		{`{"broker": {"url": "tcp://evil:1883"}}`, "broker: set only in the gateway's local file"},
		{`{"plugins": []}`, "plugins: set only in the gateway's local file"},
		{`{"model_dir": "/tmp"}`, "model_dir: set only in the gateway's local file"},
		{`{"models": {"onnx": {"name": "../../bin/sh", "sha256": "` + strings.Repeat("a", 64) + `"}}}`, `models.onnx: unknown plugin "onnx"`},
		{`{"models": {"onnx": {"name": "../../bin/sh", "sha256": "` + strings.Repeat("a", 64) + `"}}}`, `models.onnx.name: "../../bin/sh" is not a valid model name`},
		{`{"log": {"level": "loud"}}`, "log.level"},
	} {
		err := g.applyConfig(ctx, desired(1, tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", tc.doc, err, tc.err)
		}
	}
	if b, _ := g.spool.Meta(metaConfig); len(b) != 0 {
		t.Fatalf("a refused config was kept: %s", b)
	}

	// the running values, sent back as a whole config does, are fine
	doc := `{"uplink": {"heartbeat": "30s", "max_inflight": 256}, "log": {"level": "debug", "format": "text"},
		"cameras": [{"id": "cam1", "url": "rtsp://127.0.0.1:1/x"}]}`
	if err := g.applyConfig(ctx, desired(2, doc)); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after the push, want debug", level.Level())
	}
	if h := g.Cameras(); len(h) != 1 || h[0].CameraID != "cam1" {
		t.Errorf("cameras %+v", h)
	}
	_ = g.Close()

	// after a restart, the pushed config holds: level and cameras
	g2, level2 := newTestGateway(t, dir, "")
	if level2.Level() != slog.LevelDebug {
		t.Errorf("log level %v after restart, want debug", level2.Level())
	}
	if h := g2.Cameras(); len(h) != 1 {
		t.Errorf("cameras after restart %+v", h)
	}
	if v := g2.uplink.Stats().ConfigVersion; v != 2 {
		t.Errorf("config version %d after restart, want 2", v)
	}
}

// TestLiveStartForeignWHIP: live.start publishes only to the fleet: a
// whip_url elsewhere fails (the uplink acks it failed with this detail)
// before any camera is touched.
func TestLiveStartForeignWHIP(t *testing.T) {
	for _, tc := range []struct {
		name, extra, whip string
		ok                bool
	}{
		{"other host", "", "https://evil.example/whip/cam1", false},
		{"broker host", "", "http://127.0.0.1:8080/whip/cam1", true},
		{"fleet_url other port", "live: {fleet_url: 'https://127.0.0.1:8443'}\n", "https://127.0.0.1:9443/whip/cam1", false},
		{"fleet_url other scheme", "live: {fleet_url: 'https://127.0.0.1:8443'}\n", "http://127.0.0.1:8443/whip/cam1", false},
		{"fleet_url", "live: {fleet_url: 'https://127.0.0.1:8443'}\n", "https://127.0.0.1:8443/whip/cam1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newTestGateway(t, t.TempDir(), tc.extra)
			args, _ := json.Marshal(live.StartArgs{CameraID: "cam1", Session: "s1", Token: "t", WHIPURL: tc.whip})
			_, err := g.command(context.Background(), wire.Cmd{Name: wire.CmdLiveStart, Args: args})
			if tc.ok {
				// allowed: it goes on to the camera, which is not configured
				if err == nil || errors.Is(err, live.ErrForeignWHIP) {
					t.Fatalf("err %v, want camera not configured", err)
				}
				return
			}
			if !errors.Is(err, live.ErrForeignWHIP) || !strings.Contains(err.Error(), "is not on") {
				t.Fatalf("err %v, want ErrForeignWHIP", err)
			}
		})
	}
}

// TestHeartbeatReportsLoss: the spool's byte budget dropping snapshots
// and a disk that is full both show in the heartbeat.
func TestHeartbeatReportsLoss(t *testing.T) {
	g, _ := newTestGateway(t, t.TempDir(), "spool: {max_bytes: 1MiB}\n")
	ctx := context.Background()
	blob := make([]byte, 200<<10)
	for i := range 12 {
		ev := wire.Event{V: wire.Version, EventID: fmt.Sprintf("ev-%d", i), CameraID: "cam1", Type: "test",
			Score: 1, Boxes: []wire.Box{}, StartedAt: time.Now().UTC(), Phase: wire.PhaseStart}
		if err := g.appendRecord(ctx, wire.KindEvent, ev, blob); err != nil {
			t.Fatal(err)
		}
	}
	hb := g.heartbeat()
	if hb.Spool.DroppedSnapshots == 0 || hb.Spool.DroppedRecords != 0 || hb.Spool.Depth < 12 {
		t.Errorf("over budget: spool %+v, want snapshots dropped, records kept", hb.Spool)
	}
	if hb.Spool.WriteErrors != 0 || hb.Spool.DiskFull {
		t.Errorf("no write failed yet: %+v", hb.Spool)
	}

	// a write the disk has no room for: counted and flagged
	_ = g.noteWrite(fmt.Errorf("spool: write: %w", &wrapErr{syscall.ENOSPC}))
	hb = g.heartbeat()
	if hb.Spool.WriteErrors != 1 || !hb.Spool.DiskFull {
		t.Errorf("disk full: %+v", hb.Spool)
	}
	b, _ := wire.Marshal(hb)
	if !strings.Contains(string(b), `"disk_full":true`) || !strings.Contains(string(b), `"write_errors":1`) {
		t.Errorf("heartbeat JSON %s", b)
	}
	// the next write that succeeds clears the flag, not the count
	if err := g.appendRecord(ctx, wire.KindEvent, wire.Event{V: wire.Version, EventID: "ev-x", CameraID: "cam1", Type: "test",
		Score: 1, Boxes: []wire.Box{}, StartedAt: time.Now().UTC(), Phase: wire.PhaseStart}, nil); err != nil {
		t.Fatal(err)
	}
	if hb := g.heartbeat(); hb.Spool.WriteErrors != 1 || hb.Spool.DiskFull {
		t.Errorf("after a good write: %+v", hb.Spool)
	}
	// a write cut short by shutdown is not a loss to report
	_ = g.noteWrite(context.Canceled)
	if hb := g.heartbeat(); hb.Spool.WriteErrors != 1 {
		t.Errorf("shutdown counted: %+v", hb.Spool)
	}
}

// wrapErr wraps an errno as bbolt's write errors do (*os.PathError).
type wrapErr struct{ err error }

func (e *wrapErr) Error() string { return "write /spool.db: " + e.err.Error() }
func (e *wrapErr) Unwrap() error { return e.err }
