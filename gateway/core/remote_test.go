package core

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/logging"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// restart answers ok and only then (after its final ack) asks main to
// stop; a failed restart does not.
func TestRestartCommand(t *testing.T) {
	g, _ := newTestGateway(t, t.TempDir(), "")
	out, err := g.command(context.Background(), wire.Cmd{CmdID: "r1", Name: wire.CmdRestart})
	if err != nil || !strings.Contains(out, "restarting (exit status 75)") {
		t.Fatalf("restart: %q %v", out, err)
	}
	select {
	case <-g.Restarting():
		t.Fatal("restarting before the ack went out")
	default:
	}
	g.afterCommand(wire.Cmd{CmdID: "x", Name: wire.CmdRestart}, wire.CmdFailed)
	g.afterCommand(wire.Cmd{CmdID: "p", Name: wire.CmdPing}, wire.CmdOK)
	select {
	case <-g.Restarting():
		t.Fatal("restarting after a failed restart or a ping")
	default:
	}
	g.afterCommand(wire.Cmd{CmdID: "r1", Name: wire.CmdRestart}, wire.CmdOK)
	g.afterCommand(wire.Cmd{CmdID: "r2", Name: wire.CmdRestart}, wire.CmdOK) // twice is harmless
	select {
	case <-g.Restarting():
	case <-time.After(5 * time.Second):
		t.Fatal("not restarting after the ok ack")
	}
}

// reboot runs the local config's command, only when the local config
// allows it, and reports a failing command.
func TestRebootCommand(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "rebooted")
	script := filepath.Join(dir, "fake-reboot")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" > "+mark+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	g, _ := newTestGateway(t, dir, fmt.Sprintf("board: {reboot: {allow: true, command: [%s, now]}}\n", script))
	out, err := g.command(context.Background(), wire.Cmd{Name: wire.CmdReboot})
	if err != nil || !strings.Contains(out, "reboot command ran") {
		t.Fatalf("reboot: %q %v", out, err)
	}
	if b, _ := os.ReadFile(mark); string(b) != "now\n" {
		t.Fatalf("the fake reboot command wrote %q", b)
	}

	g2, _ := newTestGateway(t, t.TempDir(), "board: {reboot: {allow: true, command: [/bin/false]}}\n")
	if _, err := g2.command(context.Background(), wire.Cmd{Name: wire.CmdReboot}); err == nil ||
		!strings.Contains(err.Error(), "reboot command: exit status 1") {
		t.Fatalf("a failing reboot command: %v", err)
	}
}

// logs.upload sends the gzipped tail of the log file with the token, and
// reports the fleet's refusal.
func TestLogsUploadCommand(t *testing.T) {
	dir := t.TempDir()
	g, _ := newTestGateway(t, dir, "log: {file_size: 64KiB}\n")
	path := g.cfg.LogFile()
	if path != filepath.Join(dir, "gateway.log") {
		t.Fatalf("log file %q", path)
	}
	lf, err := logging.OpenFile(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(lf, nil))
	for i := range 2000 {
		log.Info("filler", "i", i)
	}
	log.Info("the newest line")
	lf.Close()

	var got []byte
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if auth != "Bearer tok-1" {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err == nil {
			got, err = io.ReadAll(zr)
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
		}
	}))
	defer srv.Close()
	out, err := g.command(context.Background(), wire.Cmd{Name: wire.CmdLogsUpload,
		Args: json.RawMessage(`{"url": "` + srv.URL + `/up", "token": "tok-1", "max_bytes": 10000}`)})
	if err != nil {
		t.Fatal(err)
	}
	var res wire.LogsResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Bytes != int64(len(got)) || res.Gzip <= 0 {
		t.Fatalf("answer %q (%v); uploaded %d bytes", out, err, len(got))
	}
	if len(got) > 10000 || len(got) < 9000 || !bytes.HasSuffix(got, []byte("msg=\"the newest line\"\n")) {
		t.Fatalf("uploaded %d bytes ending %q", len(got), got[max(0, len(got)-40):])
	}
	if _, err := g.command(context.Background(), wire.Cmd{Name: wire.CmdLogsUpload,
		Args: json.RawMessage(`{"url": "` + srv.URL + `/up", "token": "wrong"}`)}); err == nil ||
		!strings.Contains(err.Error(), "401 Unauthorized: {\"error\":\"bad token\"}") {
		t.Fatalf("a refused upload: %v", err)
	}

	off, _ := newTestGateway(t, t.TempDir(), "log: {file_size: 0}\n")
	if _, err := off.command(context.Background(), wire.Cmd{Name: wire.CmdLogsUpload,
		Args: json.RawMessage(`{"url": "` + srv.URL + `/up", "token": "tok-1"}`)}); err == nil ||
		!strings.Contains(err.Error(), "no log file") {
		t.Fatalf("upload without a log file: %v", err)
	}
}

// snapshot decodes a streaming camera's newest key frame and spools it as
// a snapshot event (no alarm) with the JPEG.
func TestSnapshotCommand(t *testing.T) {
	cam := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, NoScenes: true,
		Cameras: []camsim.Camera{{Path: "k", Scene: "kitchen"}}, Logger: slog.New(slog.DiscardHandler)}
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	g, _ := newTestGateway(t, t.TempDir(), fmt.Sprintf("cameras:\n  - {id: k1, url: '%s'}\n", cam.URL("k")))
	var out string
	wait.For(t, 20*time.Second, "a snapshot", func() bool {
		var err error
		out, err = g.command(context.Background(), wire.Cmd{CmdID: "s1", Name: wire.CmdSnapshot,
			Args: json.RawMessage(`{"camera_id": "k1"}`)})
		return err == nil
	})
	var res wire.SnapshotResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.CameraID != "k1" || res.Bytes == 0 {
		t.Fatalf("answer %q: %v", out, err)
	}
	recs, err := g.spool.Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found *spool.Record
	for i := range recs {
		if recs[i].Kind == wire.KindEvent && bytes.Contains(recs[i].Payload, []byte(res.EventID)) {
			found = &recs[i]
		}
	}
	if found == nil {
		t.Fatalf("no spooled event %s", res.EventID)
	}
	var ev wire.Event // its seq is the uplink's to set
	err = json.Unmarshal(found.Payload, &ev)
	if err != nil || ev.Type != wire.TypeSnapshot || ev.Phase != wire.PhaseSnapshot || ev.Attrs["cmd_id"] != "s1" {
		t.Fatalf("spooled %+v (%v)", ev, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(found.Blob))
	if err != nil || img.Bounds().Dx() == 0 || len(found.Blob) != res.Bytes {
		t.Fatalf("the snapshot is no JPEG of %d bytes: %v", res.Bytes, err)
	}
}

// camera.config changes one camera's fields, validated, applied at once
// and kept for the next start; the other cameras and sections stay.
func TestCameraConfigCommand(t *testing.T) {
	dir := t.TempDir()
	g, _ := newTestGateway(t, dir, twoCameras)
	run := func(args string) (string, error) {
		return g.command(context.Background(), wire.Cmd{Name: wire.CmdCameraConfig, Args: json.RawMessage(args)})
	}
	if out, err := run(`{"camera_id": "cam2", "area": "washing", "public": true, "transport": "tcp"}`); err != nil || out != "camera cam2 updated" {
		t.Fatalf("edit: %q %v", out, err)
	}
	hs := g.Cameras()
	if len(hs) != 2 || hs[0].Area != "kitchen" || hs[1].Area != "washing" || !hs[1].Public {
		t.Fatalf("cameras after the edit: %+v", hs)
	}
	g.mu.Lock()
	tr := g.cfg.Cameras[1].Transport
	g.mu.Unlock()
	if tr != "tcp" {
		t.Errorf("transport %q", tr)
	}
	for args, want := range map[string]string{
		`{"camera_id": "cam9", "area": "x"}`:                                `camera "cam9" is not configured`,
		`{"camera_id": "cam1", "url": "http://example/x"}`:                  "url: want an rtsp://",
		`{"camera_id": "cam1"}`:                                             "nothing to change",
		`{"camera_id": "cam1", "area": "` + strings.Repeat("a", 600) + `"}`: "area: 600 bytes",
	} {
		if _, err := run(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.80s: %v, want %q", args, err, want)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g2, _ := newTestGateway(t, dir, twoCameras)
	if hs := g2.Cameras(); len(hs) != 2 || hs[1].Area != "washing" || !hs[1].Public {
		t.Fatalf("after a restart: %+v", hs)
	}
}
