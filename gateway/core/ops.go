package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"golang.org/x/time/rate"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
)

// command runs one command from the fleet. The uplink has already answered
// "received", de-duplicated the cmd_id and will report ok or failed.
func (g *Gateway) command(ctx context.Context, cmd wire.Cmd) (string, error) {
	switch cmd.Name {
	case wire.CmdPing:
		return "pong", nil
	case wire.CmdCameraProbe:
		var args struct {
			CameraID string `json:"camera_id"`
		}
		if len(cmd.Args) > 0 {
			if err := json.Unmarshal(cmd.Args, &args); err != nil {
				return "", fmt.Errorf("args: %w", err)
			}
		}
		var out []wire.CameraHealth
		for _, h := range g.Cameras() {
			if args.CameraID == "" || args.CameraID == h.CameraID {
				out = append(out, h)
			}
		}
		if args.CameraID != "" && len(out) == 0 {
			return "", fmt.Errorf("camera %q is not configured", args.CameraID)
		}
		b, _ := json.Marshal(out)
		return string(b), nil
	case wire.CmdLiveStart:
		return g.liveStart(ctx, cmd.Args)
	case wire.CmdLiveStop:
		return g.liveStop(cmd.Args)
	case wire.CmdRestart:
		return g.restart(ctx)
	case wire.CmdReboot:
		return g.reboot(ctx)
	case wire.CmdLogsUpload:
		return g.uploadLogs(ctx, cmd.Args)
	case wire.CmdSnapshot:
		return g.snapshotNow(ctx, cmd.CmdID, cmd.Args)
	case wire.CmdCameraConfig:
		return g.editCamera(ctx, cmd.Args)
	case wire.CmdOTAInstall:
		return g.otaInstall(ctx, cmd)
	default:
		return "", fmt.Errorf("command %q is not supported by this gateway", cmd.Name)
	}
}

const metaConfig = "config.applied"

// applyConfig applies the fleet's desired config, all of it or nothing:
// cameras (restarted as needed), models (the plugins whose model changed
// are relaunched) and log.level take effect at once. The
// running uplink and the logger's format cannot change, so a desired config
// whose uplink or log.format differs from the running one is refused,
// naming the keys, rather than reported applied and silently ignored, and
// so is one that chooses a model the gateway cannot run (see checkModels).
// Identity, broker, spool and plugins stay as the local file has them.
func (g *Gateway) applyConfig(ctx context.Context, d wire.ConfigDesired) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	return g.applyConfigLocked(ctx, d)
}

// applyConfigLocked is applyConfig with applyMu held.
func (g *Gateway) applyConfigLocked(ctx context.Context, d wire.ConfigDesired) error {
	next, err := g.mergeDesired(d.Config)
	if err != nil {
		return err
	}
	g.mu.Lock()
	cur := g.cfg
	g.mu.Unlock()
	fixed := append(diffKeys("uplink", cur.Uplink, next.Uplink), diffKeys("log", cur.Log, next.Log)...)
	fixed = slices.DeleteFunc(fixed, func(k string) bool { return k == "log.level" && g.level != nil })
	if len(fixed) > 0 {
		return fmt.Errorf("%s: cannot change while the gateway runs; set in the gateway's local file", strings.Join(fixed, ", "))
	}
	if err := checkModels(cur, next); err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		Version int64           `json:"version"`
		Config  json.RawMessage `json:"config"`
	}{d.Version, d.Config})
	if err != nil {
		return err
	}
	if err := g.spool.SetMeta(metaConfig, b); err != nil {
		return fmt.Errorf("persist config: %w", err)
	}
	g.mu.Lock()
	g.cfg.Models = next.Models
	g.mu.Unlock()
	g.reconcilePlugins() // before the cameras, which may start plugins
	g.reconcileCameras(next.Cameras)
	g.mu.Lock()
	g.cfg.Cameras = next.Cameras
	g.cfg.Log.Level = next.Log.Level
	g.mu.Unlock()
	if g.level != nil {
		g.level.Set(next.Log.SlogLevel())
	}
	g.log.Info("applied desired config", "version", d.Version, "cameras", len(next.Cameras), "models", len(next.Models), "log_level", next.Log.Level)
	return nil
}

// loadAppliedConfig returns the file config with the cameras, models and
// log level of the last config the fleet pushed, if any. Anything else a config saved
// by an older gateway may hold (uplink, log.format) yields to the file.
func (g *Gateway) loadAppliedConfig() (config.Config, int64, bool) {
	b, err := g.spool.Meta(metaConfig)
	if err != nil || len(b) == 0 {
		return config.Config{}, 0, false
	}
	var saved struct {
		Version int64           `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		g.log.Warn("ignoring saved config", "err", err)
		return config.Config{}, 0, false
	}
	next, err := g.mergeDesired(saved.Config)
	if err != nil {
		g.log.Warn("ignoring saved config", "err", err)
		return config.Config{}, 0, false
	}
	next.Uplink, next.Log.Format = g.cfg.Uplink, g.cfg.Log.Format
	return next, saved.Version, true
}

// diffKeys names the fields (by their YAML key, under prefix) in which two
// config sections of the same struct type differ.
func diffKeys(prefix string, a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("yaml"), ",")
			out = append(out, prefix+"."+name)
		}
	}
	return out
}

// remoteKeys are the config sections the fleet may set; the rest stays as
// the local file has it. (uplink and log may be sent, with the running
// values but for log.level: see applyConfig.)
var remoteKeys = []string{"cameras", "models", "uplink", "log"}

// mergeDesired lays the remote sections of a desired config over the local
// config and validates the result. A desired config naming a local-only
// section is refused, so nobody believes it took effect.
func (g *Gateway) mergeDesired(desired json.RawMessage) (config.Config, error) {
	var remote map[string]json.RawMessage
	if err := json.Unmarshal(desired, &remote); err != nil {
		return config.Config{}, fmt.Errorf("config: %w", err)
	}
	g.mu.Lock()
	local, err := g.cfg.JSON()
	g.mu.Unlock()
	if err != nil {
		return config.Config{}, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(local, &merged); err != nil {
		return config.Config{}, err
	}
	for k, v := range remote {
		if !slices.Contains(remoteKeys, k) {
			return config.Config{}, fmt.Errorf("%s: set only in the gateway's local file, not by the fleet", k)
		}
		merged[k] = v
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return config.Config{}, err
	}
	return config.FromJSON(b)
}

// reportDrops turns the spool's drop reports into spool_dropped events, so
// the fleet learns what the byte budget cost.
func (g *Gateway) reportDrops(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-g.spool.Dropped():
			g.log.Warn("spool over budget: dropped data", "snapshots", d.Blobs, "records", d.Records, "bytes", d.Bytes)
			ev := wire.Event{V: wire.Version, EventID: ulid.Make().String(), Type: wire.TypeSpoolDropped,
				Score: 1, Boxes: []wire.Box{}, StartedAt: time.Now().UTC(), Phase: wire.PhaseStart,
				Attrs: map[string]string{
					"snapshots": fmt.Sprint(d.Blobs), "records": fmt.Sprint(d.Records), "bytes": fmt.Sprint(d.Bytes),
					"oldest_seq_lost": fmt.Sprint(d.OldestSeqLost), "newest_seq_lost": fmt.Sprint(d.NewestSeqLost),
				}}
			if err := g.appendRecord(ctx, wire.KindEvent, ev, nil); err != nil {
				g.log.Error("spool spool_dropped", "err", err)
			}
		}
	}
}

// reconcileCameras stops removed or changed cameras and starts new ones.
func (g *Gateway) reconcileCameras(want []config.Camera) {
	g.mu.Lock()
	var stop []*cameraRun
	keep := map[string]bool{}
	for id, c := range g.cameras {
		i := slices.IndexFunc(want, func(w config.Camera) bool { return w.ID == id })
		if i >= 0 && want[i] == c.cfg {
			keep[id] = true
			continue
		}
		stop = append(stop, c)
		delete(g.cameras, id)
	}
	g.mu.Unlock()
	for _, c := range stop {
		c.stop()
	}
	for _, w := range want {
		if !keep[w.ID] {
			g.startCamera(w)
		}
	}
}

// synthesize spools total synthetic events at rate per second, for load and
// durability tests. Event i has the id syn-{i}, so a restarted gateway that
// regenerates an event it may already have spooled produces the same id,
// which the fleet stores once. Progress is kept in the spool's metadata.
func (g *Gateway) synthesize(ctx context.Context, total int, perSec float64) {
	const metaKey = "synthetic.next"
	next := 1
	if b, err := g.spool.Meta(metaKey); err == nil && len(b) > 0 {
		fmt.Sscan(string(b), &next)
	}
	if perSec <= 0 {
		perSec = 1000
	}
	batch := max(1, int(perSec/50))
	lim := rate.NewLimiter(rate.Limit(perSec), batch)
	for next <= total {
		n := min(batch, total-next+1)
		if err := lim.WaitN(ctx, n); err != nil {
			return
		}
		now := time.Now().UTC()
		items := make([]spool.Item, n)
		for i := range items {
			ev := wire.Event{V: wire.Version, EventID: fmt.Sprintf("syn-%08d", next+i), CameraID: "synthetic",
				Type: wire.TypeSynthetic, Score: 0.5, Boxes: []wire.Box{}, StartedAt: now, Phase: wire.PhaseStart}
			b, _ := wire.Marshal(ev)
			items[i] = spool.Item{Kind: wire.KindEvent, Payload: b}
		}
		if _, err := g.spool.Append(ctx, items...); g.noteWrite(err) != nil {
			if !errors.Is(err, context.Canceled) {
				g.log.Error("synthetic events", "err", err)
			}
			return
		}
		next += n
		if err := g.spool.SetMeta(metaKey, []byte(fmt.Sprint(next))); err != nil {
			g.log.Error("synthetic progress", "err", err)
			return
		}
	}
	g.log.Info("synthetic events spooled", "total", total)
}

// systemStats is the board's health for the heartbeat.
func (g *Gateway) systemStats() wire.System {
	in := g.sys.Read()
	return wire.System{
		CPUPercent:   in.CPUPercent,
		MemUsedBytes: in.MemUsed,
		MemTotal:     in.MemTotal,
		DiskFree:     in.DiskFree,
		TempC:        in.TempC,
		UptimeS:      int64(time.Since(g.started).Seconds()),
	}
}

// checkModels refuses a desired config that chooses a model this gateway
// cannot run: for each choice that changed, the file must be in model_dir
// and have the sha256 chosen. The config is then reported failed, naming
// the model, and the running one stays (the fleet sends it again while the
// reported version is behind, so it applies once the file has arrived).
// The plugin checks the sum again when it loads the file.
func checkModels(cur, next config.Config) error {
	for _, plugin := range slices.Sorted(maps.Keys(next.Models)) {
		m, path, _ := next.Model(plugin)
		if old, ok := cur.Models[plugin]; ok && old == m {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("models.%s: %w", plugin, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("models.%s: %w", plugin, err)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 {
			return fmt.Errorf("models.%s: %s has sha256 %s, not the chosen %s", plugin, path, sum, m.SHA256)
		}
	}
	return nil
}
