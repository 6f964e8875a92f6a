package e2e

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// detectRig is camsim, a fleet and one gateway running detector plugins.
type detectRig struct {
	cam    *camsim.Server
	fleet  *fleet
	gw     *proc
	gwHTTP string
}

func startDetectRig(t testing.TB, cams []camsim.Camera, plugins string, detect map[string]string, env ...string) *detectRig {
	t.Helper()
	r := &detectRig{cam: startCamsim(t, cams...)}
	r.fleet = newFleet(t, "")
	r.fleet.start()
	user, pass := r.fleet.addGateway("gw-d", "canteen-d")
	r.gwHTTP = freePort(t)
	urls := map[string]string{}
	for _, c := range cams {
		urls[c.Path] = r.cam.URL(c.Path)
	}
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-d", Broker: "tcp://" + r.fleet.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: r.gwHTTP, Grace: 3 * time.Second,
		Cameras: urls, CameraYAML: detect, YAML: plugins,
	})
	r.gw = startProc(t, "gateway", env, "bk-gateway", "run", "--config", cfg)
	return r
}

// starts returns the fleet's start events of a camera and type.
func (r *detectRig) events(t testing.TB, camera, typ, phase string) []apiViolation {
	t.Helper()
	vs, err := r.fleet.violations("gateway_id=gw-d&type=" + typ + "&limit=1000")
	if err != nil {
		t.Fatalf("violations: %v", err)
	}
	var out []apiViolation
	for _, v := range vs {
		if v.CameraID == camera && v.Phase == phase {
			out = append(out, v)
		}
	}
	return out
}

// waitOnline waits until the gateway reports n cameras online.
func (r *detectRig) waitOnline(t testing.TB, n int, d time.Duration) {
	t.Helper()
	wait.For(t, d, "cameras online", func() bool {
		st, err := getGatewayStatus(r.gwHTTP)
		if err != nil {
			return false
		}
		on := 0
		for _, c := range st.Cameras {
			if c.Online {
				on++
			}
		}
		return on == n
	})
}

func (r *detectRig) status(t *testing.T) gatewayStatus {
	t.Helper()
	st, err := getGatewayStatus(r.gwHTTP)
	if err != nil {
		t.Fatalf("gateway status: %v", err)
	}
	return st
}

// snapshot fetches and decodes a violation's JPEG.
func (r *detectRig) snapshot(t *testing.T, id int64) (w, h int) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/violations/%d/snapshot", r.fleet.http, id), nil)
	req.Header.Set("Authorization", "Bearer "+r.fleet.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot %d: %d %s", id, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := jpeg.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("snapshot %d: %v", id, err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

func pluginsYAML(extra string) string {
	return fmt.Sprintf("plugins:\n  - name: tamper\n    path: %s\n  - name: motion\n    path: %s\n%s",
		filepath.Join(binDir, "bk-plugin-tamper"), filepath.Join(binDir, "bk-plugin-motion"), extra)
}

// tamperDetect is a camera's detect section for the camera-health types.
const tamperDetect = `    detect:
      plugins:
        - name: tamper
          params: {frozen_span: "4s"}
      rules:
        - type: camera_occluded
        - type: camera_dark
        - type: camera_frozen
        - type: camera_blurred
`

// motionDetect is after-hours motion in the lower two thirds of the
// picture, with operating hours hours.
func motionDetect(hours string) string {
	return fmt.Sprintf(`    detect:
      plugins:
        - name: motion
      schedule:
        timezone: Asia/Shanghai
        hours: [%q]
      rules:
        - type: after_hours_motion
          plugin: motion
          zone: [[0,0.3],[1,0.3],[1,1],[0,1]]
          cooldown: 10m
          end_after: 5s
`, hours)
}

// hoursAround is an operating-hours range "HH:MM-HH:MM" in Asia/Shanghai
// that starts from now+from and lasts d.
func hoursAround(from, d time.Duration) string {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	a := time.Now().In(loc).Add(from)
	b := a.Add(d)
	return a.Format("15:04") + "-" + b.Format("15:04")
}

var healthTypes = []string{"camera_occluded", "camera_dark", "camera_frozen", "camera_blurred"}

// TestDetectionScenes runs the built-in plugins on camsim's scenes through
// the real gateway and fleet: the covered, dark and frozen scenes each
// raise their camera-health alarm with a snapshot within 10 s; the busy
// kitchen raises none; the night scene raises after_hours_motion with a
// box on the moving blob only outside operating hours, as one episode for
// 60 s with an end when the camera stops, held back by the cooldown when
// it returns.
func TestDetectionScenes(t *testing.T) {
	quiet := parallelBusyFirst(t) // busy until the alarms, which have a bound, have come
	cams := []camsim.Camera{
		{Path: "covered", Scene: "covered"}, {Path: "dark", Scene: "night"}, {Path: "frozen", Scene: "frozen"},
		{Path: "kitchen", Scene: "kitchen"}, {Path: "closed", Scene: "night"}, {Path: "open", Scene: "night"},
	}
	r := startDetectRig(t, cams, pluginsYAML(""), map[string]string{
		"covered": tamperDetect, "dark": tamperDetect, "frozen": tamperDetect, "kitchen": tamperDetect,
		"closed": motionDetect(hoursAround(2*time.Hour, time.Hour)),
		"open":   motionDetect(hoursAround(-time.Hour, 2*time.Hour)),
	})
	r.waitOnline(t, len(cams), 20*time.Second)
	online := time.Now()

	want := []struct{ camera, typ string }{
		{"covered", "camera_occluded"}, {"dark", "camera_dark"}, {"frozen", "camera_frozen"}, {"closed", "after_hours_motion"},
	}
	for _, w := range want {
		var got []apiViolation
		took := wait.For(t, 20*time.Second, w.camera+" "+w.typ, func() bool {
			got = r.events(t, w.camera, w.typ, "start")
			return len(got) > 0 && got[0].HasSnapshot
		})
		t.Logf("%s: %s stored with its snapshot %v after the camera came online", w.camera, w.typ, time.Since(online).Round(10*time.Millisecond))
		_ = took
		if d := got[0].ReceivedAt.Sub(online); d > 10*time.Second {
			t.Errorf("%s: %s stored %v after the camera came online, want ≤ 10 s", w.camera, w.typ, d)
		}
		if sw, sh := r.snapshot(t, got[0].ID); sw != 640 || sh != 360 {
			t.Errorf("%s snapshot %dx%d", w.camera, sw, sh)
		}
	}
	// The blob of the night scene moves with x in 0.19..0.86 and y in
	// 0.54..0.90 of the picture (scripts/make-clips.sh); the box must be on
	// it and about its size, not the whole picture.
	m := r.events(t, "closed", "after_hours_motion", "start")[0]
	if len(m.Boxes) == 0 {
		t.Fatal("after_hours_motion without boxes")
	}
	for _, b := range m.Boxes {
		overlap := b.X < 0.86 && b.X+b.W > 0.19 && b.Y < 0.90 && b.Y+b.H > 0.54
		if !overlap || b.W*b.H > 0.25 {
			t.Errorf("motion box %+v is not on the blob", b)
		}
	}

	quiet() // what follows is waiting

	// Hold the episode for 25 s from its start (five times end_after,
	// the motion never stopping): still one alarm.
	started := m.ReceivedAt
	time.Sleep(time.Until(started.Add(25 * time.Second)))
	if n := len(r.events(t, "closed", "after_hours_motion", "start")); n != 1 {
		t.Errorf("after 25 s of night motion: %d after_hours_motion starts, want 1", n)
	}
	// The camera stops: the episode ends after end_after.
	if err := r.cam.StopPath("closed"); err != nil {
		t.Fatal(err)
	}
	var ends []apiViolation
	wait.For(t, 20*time.Second, "episode end", func() bool {
		ends = r.events(t, "closed", "after_hours_motion", "end")
		return len(ends) > 0
	})
	if len(ends) != 1 || ends[0].Episode != m.EventID || ends[0].EndedAt.IsZero() {
		t.Errorf("ends %+v, want one for episode %s with ended_at", ends, m.EventID)
	}
	// Back on: the cooldown holds the next episode back.
	if err := r.cam.StartPath("closed"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(12 * time.Second)
	if n := len(r.events(t, "closed", "after_hours_motion", "start")); n != 1 {
		t.Errorf("after the camera returned within the cooldown: %d starts, want 1", n)
	}

	// None of these on the busy kitchen, nor motion inside operating hours.
	for _, typ := range healthTypes {
		if n := len(r.events(t, "kitchen", typ, "start")); n != 0 {
			t.Errorf("kitchen: %d %s alarms", n, typ)
		}
	}
	if n := len(r.events(t, "open", "after_hours_motion", "start")); n != 0 {
		t.Errorf("night motion inside operating hours: %d alarms", n)
	}
	// One alarm per episode on the tamper cameras too.
	for _, w := range want[:3] {
		if n := len(r.events(t, w.camera, w.typ, "start")); n != 1 {
			t.Errorf("%s: %d %s starts, want 1", w.camera, n, w.typ)
		}
	}
	// The picture state follows the camera-health alarm.
	st := r.status(t)
	for _, c := range st.Cameras {
		want := map[string]string{"covered": "occluded", "dark": "dark", "frozen": "frozen", "kitchen": "ok"}[c.CameraID]
		if want != "" && c.Picture != want {
			t.Errorf("%s: picture %q, want %q", c.CameraID, c.Picture, want)
		}
	}
}

// TestPluginFailures runs a misbehaving plugin next to the tamper plugin on
// four cameras: killed with SIGKILL, it is relaunched and detections go on;
// hung, it is cut off at its deadline and relaunched; crashing on every
// frame, it is quarantined (and the fleet hears of it in the heartbeat);
// answering malformed detections, they are dropped and counted. Through
// all of it every camera streams and the tamper plugin keeps answering.
func TestPluginFailures(t *testing.T) {
	parallelBusy(t) // it counts frames and calls over seconds
	probe := filepath.Join(binDir, "testplugin")
	var extra strings.Builder
	for _, name := range []string{"probe-ok", "probe-hang", "probe-crash", "probe-garbage"} {
		fmt.Fprintf(&extra, "  - name: %s\n    path: %s\n    deadline: 500ms\n    max_restarts: 3\n", name, probe)
	}
	detect := func(plugin, mode string) string {
		return fmt.Sprintf(`    detect:
      plugins:
        - name: tamper
        - name: %s
          params: {mode: %s}
      rules:
        - type: camera_occluded
        - type: intruder
          label: probe
          persistence: {hits: 1, window: 1}
`, plugin, mode)
	}
	cams := []camsim.Camera{{Path: "k-ok", Scene: "kitchen"}, {Path: "k-hang", Scene: "kitchen"},
		{Path: "k-crash", Scene: "kitchen"}, {Path: "k-garbage", Scene: "kitchen"}}
	r := startDetectRig(t, cams, pluginsYAML(extra.String()), map[string]string{
		"k-ok": detect("probe-ok", "ok"), "k-hang": detect("probe-hang", "hang"),
		"k-crash": detect("probe-crash", "crash"), "k-garbage": detect("probe-garbage", "garbage"),
	})
	plugin := func(st gatewayStatus, name string) (p struct {
		Name        string `json:"name"`
		Ready       bool   `json:"ready"`
		Quarantined bool   `json:"quarantined"`
		Pid         int    `json:"pid"`
		Restarts    int    `json:"restarts"`
		Calls       uint64 `json:"calls"`
		Deadlines   uint64 `json:"deadlines"`
	}) {
		for _, p := range st.Plugins {
			if p.Name == name {
				return p
			}
		}
		return p
	}
	var st gatewayStatus
	wait.For(t, 30*time.Second, "probe-ok answering", func() bool {
		var err error
		if st, err = getGatewayStatus(r.gwHTTP); err != nil {
			return false
		}
		return plugin(st, "probe-ok").Calls > 2 && st.Detection["k-ok"].Detections > 2
	})

	// SIGKILL: relaunched, detections continue.
	pid := plugin(st, "probe-ok").Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	before := st.Detection["k-ok"].Detections
	wait.For(t, 20*time.Second, "probe-ok relaunched and detecting", func() bool {
		st = r.status(t)
		p := plugin(st, "probe-ok")
		return p.Ready && p.Pid != pid && p.Restarts >= 1 && st.Detection["k-ok"].Detections > before+2
	})

	// Hang: cut off at the deadline and relaunched.
	wait.For(t, 30*time.Second, "probe-hang cut off and relaunched", func() bool {
		st = r.status(t)
		p := plugin(st, "probe-hang")
		return p.Deadlines >= 1 && p.Restarts >= 1
	})
	// Crash on every frame: quarantined, and the fleet is told.
	wait.For(t, 60*time.Second, "probe-crash quarantined", func() bool {
		st = r.status(t)
		return plugin(st, "probe-crash").Quarantined
	})
	wait.For(t, 10*time.Second, "fleet sees the quarantine", func() bool {
		var out struct {
			Gateways []struct {
				ID            string `json:"id"`
				LastHeartbeat struct {
					Quarantined []string `json:"quarantined"`
				} `json:"last_heartbeat"`
			} `json:"gateways"`
		}
		if err := r.fleet.get("/api/v1/gateways", &out); err != nil {
			return false
		}
		for _, g := range out.Gateways {
			if g.ID == "gw-d" && strings.Contains(strings.Join(g.LastHeartbeat.Quarantined, ","), "probe-crash") {
				return true
			}
		}
		return false
	})
	// Garbage: dropped and counted; the good detection gets through.
	g := st.Detection["k-garbage"]
	if g.Dropped < 4 || g.Detections < 1 || plugin(st, "probe-garbage").Restarts != 0 {
		t.Errorf("garbage: %+v, plugin %+v", g, plugin(st, "probe-garbage"))
	}

	// Through all of it: every camera streams, tamper keeps answering on
	// every camera, and probe-ok's alarms got through.
	tamperBefore := plugin(st, "tamper").Calls
	time.Sleep(3 * time.Second)
	st = r.status(t)
	for _, c := range st.Cameras {
		if !c.Online || c.FPS < 5 {
			t.Errorf("camera %s: online %v fps %.1f", c.CameraID, c.Online, c.FPS)
		}
	}
	if calls := plugin(st, "tamper").Calls; calls < tamperBefore+8 || plugin(st, "tamper").Restarts != 0 {
		t.Errorf("tamper: %d calls in 3 s over 4 cameras, restarts %d", calls-tamperBefore, plugin(st, "tamper").Restarts)
	}
	if n := len(r.events(t, "k-ok", "intruder", "start")); n != 1 {
		t.Errorf("probe-ok: %d intruder alarms, want 1", n)
	}
}
