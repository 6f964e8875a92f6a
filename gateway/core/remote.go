package core

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/gateway/snapshot"
	"github.com/brightkitchen/brightkitchen/gateway/uplink"
	"github.com/brightkitchen/brightkitchen/internal/logging"
)

// The remote operations (SPEC.md §2): restart, reboot, logs.upload and
// snapshot. Each reports progress with uplink.Progress and answers ok
// with a detail, or an error.

// Restarting is closed once the fleet's restart command has been answered
// ok: main then stops the gateway and exits with wire.ExitRestart, for
// systemd to start it again.
func (g *Gateway) Restarting() <-chan struct{} { return g.restarting }

// afterCommand runs once a command's final ack has gone out.
func (g *Gateway) afterCommand(cmd wire.Cmd, status string) {
	if cmd.Name == wire.CmdRestart && status == wire.CmdOK {
		g.restartOnce.Do(func() { close(g.restarting) })
	}
}

// restart answers at once: the stop happens after the ok ack
// (afterCommand). A gateway run by hand, without systemd, stays stopped.
func (g *Gateway) restart(ctx context.Context) (string, error) {
	uplink.Progress(ctx, "stopping")
	return fmt.Sprintf("restarting (exit status %d)", wire.ExitRestart), nil
}

// rebootTimeout bounds the board's reboot command.
const rebootTimeout = 30 * time.Second

// reboot runs board.reboot.command when the local config allows it.
func (g *Gateway) reboot(ctx context.Context) (string, error) {
	g.mu.Lock()
	rb := g.cfg.Board.Reboot
	g.mu.Unlock()
	if !rb.Allow || len(rb.Command) == 0 {
		return "", errors.New("reboot is not allowed by this gateway's local config (board.reboot.allow)")
	}
	uplink.Progress(ctx, "running "+strings.Join(rb.Command, " "))
	ctx, cancel := context.WithTimeout(ctx, rebootTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, rb.Command[0], rb.Command[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("reboot command: %w: %s", err, cut(strings.TrimSpace(string(out)), 200))
	}
	g.log.Warn("reboot command ran", "command", rb.Command)
	return "reboot command ran; the gateway goes offline until the board is back", nil
}

// uploadTimeout bounds one log upload.
const uploadTimeout = 2 * time.Minute

// uploadLogs gzips the newest bytes of the log file and PUTs them to the
// fleet with the command's one-time token.
func (g *Gateway) uploadLogs(ctx context.Context, raw json.RawMessage) (string, error) {
	a, err := wire.DecodeLogsUpload(raw)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	path := g.cfg.LogFile()
	g.mu.Unlock()
	if path == "" {
		return "", errors.New("this gateway keeps no log file (log.file_size is 0)")
	}
	uplink.Progress(ctx, "reading log")
	tail, err := logging.Tail(path, a.MaxBytes)
	if err != nil {
		return "", fmt.Errorf("read log: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(tail); err != nil {
		return "", fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("gzip: %w", err)
	}
	uplink.Progress(ctx, fmt.Sprintf("uploading %d bytes (gzip of %d)", buf.Len(), len(tail)))
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, a.URL, bytes.NewReader(buf.Bytes()))
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/gzip")
	resp, err := g.httpClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("upload: %s: %s", resp.Status, cut(strings.TrimSpace(string(msg)), 200))
	}
	b, _ := json.Marshal(wire.LogsResult{Bytes: int64(len(tail)), Gzip: int64(buf.Len())})
	return string(b), nil
}

// httpClient is the client of log uploads: the broker's TLS settings
// (its CA) verify an https fleet.
func (g *Gateway) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tc, err := g.cfg.Broker.TLSConfig(); err == nil && tc != nil {
		tr.TLSClientConfig = tc.Clone()
	}
	return &http.Client{Transport: tr}
}

// snapshotMaxW and snapshotMaxH bound a snapshot taken on request.
const snapshotMaxW, snapshotMaxH = 1920, 1080

// snapshotNow decodes the newest key frame of a camera (its GOP cache,
// without a second connection) into a JPEG and spools it as an event of
// wire.TypeSnapshot with the picture, on the path alarms' snapshots take.
func (g *Gateway) snapshotNow(ctx context.Context, cmdID string, raw json.RawMessage) (string, error) {
	a, err := wire.DecodeSnapshotArgs(raw)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	c := g.cameras[a.CameraID]
	g.mu.Unlock()
	if c == nil {
		return "", fmt.Errorf("camera %q is not configured", a.CameraID)
	}
	jpeg, err := grabJPEG(c)
	if err != nil {
		return "", fmt.Errorf("camera %q: %w", a.CameraID, err)
	}
	uplink.Progress(ctx, fmt.Sprintf("spooling %d bytes", len(jpeg)))
	ev := wire.Event{V: wire.Version, EventID: ulid.Make().String(), CameraID: a.CameraID, Type: wire.TypeSnapshot,
		Score: 1, Boxes: []wire.Box{}, StartedAt: time.Now().UTC(), Phase: wire.PhaseSnapshot,
		Attrs: map[string]string{"cmd_id": cmdID}}
	if err := g.appendRecord(ctx, wire.KindEvent, ev, jpeg); err != nil {
		return "", err
	}
	b, _ := json.Marshal(wire.SnapshotResult{EventID: ev.EventID, CameraID: a.CameraID, Bytes: len(jpeg)})
	return string(b), nil
}

// grabJPEG decodes the first picture of the camera's cached GOP.
func grabJPEG(c *cameraRun) ([]byte, error) {
	gop := c.src.GOP()
	media, ok := c.src.Media()
	if len(gop) == 0 || !ok {
		return nil, errors.New("no picture yet (offline, or waiting for a key frame)")
	}
	d, err := decode.New(decode.Codec(media.Codec))
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	defer d.Close()
	got := false
	for _, au := range gop {
		if got, err = d.Decode(au.NALUs, au.PTS); got {
			break
		}
	}
	if !got {
		if err == nil {
			err = errors.New("no picture in the cached frames")
		}
		return nil, fmt.Errorf("decode: %w", err)
	}
	fr, err := d.Scale(decode.RGB24, snapshotMaxW, snapshotMaxH)
	if err != nil {
		return nil, err
	}
	return snapshot.Annotate(snapshot.FromRGB24(fr.Width, fr.Height, fr.Data), nil, 0)
}

// editCamera changes the fields camera.config names of one camera and
// applies the result as the desired config last applied with its cameras
// replaced (same version): validated whole, the camera restarted, kept
// across restarts; the next desired config from the fleet replaces the
// cameras as a whole.
func (g *Gateway) editCamera(ctx context.Context, raw json.RawMessage) (string, error) {
	a, err := wire.DecodeCameraEdit(raw)
	if err != nil {
		return "", err
	}
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	g.mu.Lock()
	cur, err := g.cfg.JSON()
	g.mu.Unlock()
	if err != nil {
		return "", err
	}
	var running struct {
		Cameras []map[string]any `json:"cameras"`
	}
	if err := json.Unmarshal(cur, &running); err != nil {
		return "", err
	}
	i := slices.IndexFunc(running.Cameras, func(c map[string]any) bool { return c["id"] == a.CameraID })
	if i < 0 {
		return "", fmt.Errorf("camera %q is not configured", a.CameraID)
	}
	c := running.Cameras[i]
	for k, v := range map[string]*string{"name": a.Name, "url": a.URL, "transport": a.Transport, "area": a.Area, "live_url": a.LiveURL} {
		if v != nil {
			c[k] = *v
		}
	}
	if a.Public != nil {
		c["public"] = *a.Public
	}
	desired := map[string]json.RawMessage{}
	var version int64
	if b, err := g.spool.Meta(metaConfig); err == nil && len(b) > 0 {
		var saved struct {
			Version int64           `json:"version"`
			Config  json.RawMessage `json:"config"`
		}
		if json.Unmarshal(b, &saved) == nil && json.Unmarshal(saved.Config, &desired) == nil {
			version = saved.Version
		}
	}
	if desired["cameras"], err = json.Marshal(running.Cameras); err != nil {
		return "", err
	}
	doc, err := json.Marshal(desired)
	if err != nil {
		return "", err
	}
	if err := g.applyConfigLocked(ctx, wire.ConfigDesired{V: wire.Version, Version: version, Config: doc}); err != nil {
		return "", err
	}
	return fmt.Sprintf("camera %s updated", a.CameraID), nil
}
