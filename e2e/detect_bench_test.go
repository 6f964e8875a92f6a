package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// BenchmarkGatewayDetect measures bk-gateway's CPU and RSS with N simulated
// 1080p cameras (kitchen-1080: 25 fps, GOP 2 s) each running the tamper
// plugin: ingest, decoding (IDR only, or every frame sampled at detect.fps
// 5) and scaling the frame for the plugin. The plugin's own process is
// measured too. Baseline in the same run: the same cameras without
// detection (ingest only). Each iteration samples 20 s after 8 s of
// warm-up.
func BenchmarkGatewayDetect(b *testing.B) {
	for _, c := range []struct {
		name    string
		cameras int
		detect  string
	}{
		{"ingest-only/cameras=1", 1, ""},
		{"idr-only/cameras=1", 1, "0"},
		{"fps5/cameras=1", 1, "5"},
		{"ingest-only/cameras=8", 8, ""},
		{"idr-only/cameras=8", 8, "0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				var d *detectLoad
				if c.detect != "" {
					d = &detectLoad{plugin: "tamper", detect: fmt.Sprintf("      fps: %s\n      plugins: [{name: tamper}]\n      rules: [{type: camera_occluded}]\n", c.detect)}
				}
				gw, plug := measureDetect(b, c.cameras, "kitchen-1080", d, 20*time.Second)
				b.ReportMetric(gw.cpu, "cpu%")
				b.ReportMetric(gw.cpu/float64(c.cameras), "cpu%/camera")
				b.ReportMetric(gw.rssMB, "RSS-MB")
				b.ReportMetric(plug.cpu, "plugin-cpu%")
				b.ReportMetric(plug.rssMB, "plugin-RSS-MB")
			}
		})
	}
}

type usage struct{ cpu, rssMB float64 }

// detectLoad is the detection a measured camera runs: one plugin (built
// into binDir as bk-plugin-<plugin>, started with env) and the camera's
// detect section (indented 6 spaces).
type detectLoad struct {
	plugin, detect string
	env            []string
}

// measureDetect measures the gateway and its plugin with cameras playing
// scene, each running d (nil: no detection), over window.
func measureDetect(b *testing.B, cameras int, scene string, d *detectLoad, window time.Duration) (gw, plugin usage) {
	rtsp := freePort(b)
	args := []string{"--listen", rtsp, "--gop", "2", "--no-scenes"}
	for i := range cameras {
		args = append(args, "--camera", fmt.Sprintf("cam%d=%s", i, scene))
	}
	dir := b.TempDir()
	cam := startProc(b, "camsim", nil, "bk-camsim", args...)
	defer cam.kill()
	var y strings.Builder
	fmt.Fprintf(&y, "gateway:\n  id: gw-bench\nbroker:\n  url: tcp://127.0.0.1:1\nspool:\n  path: %s\nhttp:\n  listen: \"\"\nlog:\n  level: warn\n",
		filepath.Join(dir, "spool.db"))
	var env []string
	if d != nil {
		fmt.Fprintf(&y, "plugins:\n  - name: %s\n    path: %s\n", d.plugin, filepath.Join(binDir, "bk-plugin-"+d.plugin))
		env = d.env
	}
	y.WriteString("cameras:\n")
	for i := range cameras {
		fmt.Fprintf(&y, "  - id: cam%d\n    url: rtsp://%s/cam%d\n    transport: tcp\n", i, rtsp, i)
		if d != nil {
			fmt.Fprintf(&y, "    detect:\n%s", d.detect)
		}
	}
	cfg := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	g := startProc(b, "gateway", env, "bk-gateway", "run", "--config", cfg)
	defer g.kill()
	time.Sleep(8 * time.Second) // connect, launch the plugin, settle
	pids := []int{g.cmd.Process.Pid}
	if d != nil {
		kids := childPids(g.cmd.Process.Pid)
		if len(kids) != 1 {
			b.Fatalf("plugin processes: %v", kids)
		}
		pids = append(pids, kids[0])
	}
	s0 := make([]procSample, len(pids))
	for i, pid := range pids {
		var err error
		if s0[i], err = sampleProc(pid); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(window)
	out := make([]usage, 2)
	for i, pid := range pids {
		s1, err := sampleProc(pid)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = usage{100 * float64(s1.cpu-s0[i].cpu) / float64(s1.at.Sub(s0[i].at)), float64(s1.rss) / (1 << 20)}
	}
	return out[0], out[1]
}

// childPids lists the direct children of pid.
func childPids(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var child int
		if _, err := fmt.Sscan(e.Name(), &child); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		var ppid int
		if _, err := fmt.Sscan(f[1], &ppid); err == nil && ppid == pid {
			out = append(out, child)
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkEpisodeLatency measures the time from the first frame of an
// episode (the event's started_at: the capture time of the first hit) to
// the event committed at the fleet (received_at), and from the camera
// coming online to the commit, on four cameras with the rule's default
// persistence: the covered-lens scene (GOP 1 s) with the tamper plugin
// (IDR-only decoding, its hysteresis of 3 frames), and the no-hat scene
// (GOP 2 s) with the demo model in bk-plugin-onnx (models/demo/rules.yaml:
// 2 frames/s).
func BenchmarkEpisodeLatency(b *testing.B) {
	for _, c := range []struct{ name, scene, typ string }{
		{"covered/tamper", "covered", "camera_occluded"},
		{"no-hat/onnx", "no-hat", "no_chef_hat"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				episodeLatency(b, c.scene, c.typ)
			}
		})
	}
}

func episodeLatency(b *testing.B, scene, typ string) {
	gop := camsim.SceneGOPs(scene)[0] // 1 s where there is one; the AI scenes have 2 s only
	cams := []camsim.Camera{{Path: "c1", Scene: scene, GOP: gop}, {Path: "c2", Scene: scene, GOP: gop},
		{Path: "c3", Scene: scene, GOP: gop}, {Path: "c4", Scene: scene, GOP: gop}}
	plugins, env, section := pluginsYAML(""), []string(nil), tamperDetect
	if typ == "no_chef_hat" {
		model, lib := demoModel(b)
		plugins = onnxPluginYAML()
		env = []string{"BK_ONNX_MODEL=" + model, "BK_ONNXRUNTIME_LIB=" + lib}
		section = demoDetect(b)
	}
	detect := map[string]string{}
	for _, c := range cams {
		detect[c.Path] = section
	}
	r := startDetectRig(b, cams, plugins, detect, env...)
	r.waitOnline(b, len(cams), 30*time.Second)
	online := time.Now()
	var got []apiViolation
	wait.For(b, 30*time.Second, "four "+typ+" events", func() bool {
		vs, err := r.fleet.violations("gateway_id=gw-d&type=" + typ + "&limit=100")
		got = got[:0]
		for _, v := range vs {
			if v.Phase == "start" {
				got = append(got, v)
			}
		}
		return err == nil && len(got) == len(cams)
	})
	var fromFirst, fromOnline []float64
	for _, v := range got {
		fromFirst = append(fromFirst, v.ReceivedAt.Sub(v.StartedAt).Seconds()*1000)
		fromOnline = append(fromOnline, v.ReceivedAt.Sub(online).Seconds()*1000)
	}
	slices.Sort(fromFirst)
	slices.Sort(fromOnline)
	b.ReportMetric(fromFirst[len(fromFirst)/2], "first-frame-to-commit-ms")
	b.ReportMetric(fromOnline[len(fromOnline)/2], "online-to-commit-ms")
	r.gw.kill()
	r.fleet.p.kill()
}

// BenchmarkGatewayONNX measures bk-gateway and bk-plugin-onnx (one
// intra-op thread) with 8 cameras playing camsim's no-hat scene (640×360,
// 10 fps, GOP 2 s, decoded every frame) analysed 1 or 2 times a second:
// with the demo model, and with a network of YOLOv8n's size at 640×640
// (random weights; scripts/bench.sh writes it into $BK_BENCH_MODELS,
// skipped without it). CPU is in % of one core, RSS with the runtime and
// the model loaded.
func BenchmarkGatewayONNX(b *testing.B) {
	demo, lib := demoModel(b)
	for _, c := range []struct {
		name, model, fps string
	}{
		{"demo/fps1/cameras=8", "demo", "1"},
		{"demo/fps2/cameras=8", "demo", "2"},
		{"yolov8n-640/fps1/cameras=8", "640", "1"},
		{"yolov8n-640/fps2/cameras=8", "640", "2"},
		{"yolov8n-640x384/fps1/cameras=8", "640x384", "1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			model := demo
			if c.model != "demo" {
				y8n := filepath.Join(os.Getenv("BK_BENCH_MODELS"), "yolov8n-random-"+c.model+".onnx")
				if _, err := os.Stat(y8n); err != nil {
					b.Skipf("%v: scripts/bench.sh writes it", err)
				}
				model = yoloManifest(b, y8n, c.model)
			}
			d := &detectLoad{plugin: "onnx",
				detect: "      fps: " + c.fps + "\n      plugins: [{name: onnx}]\n      rules: [{type: no_chef_hat}]\n",
				env:    []string{"BK_ONNX_MODEL=" + model, "BK_ONNXRUNTIME_LIB=" + lib, "BK_ONNX_THREADS=1"}}
			for range b.N {
				gw, plug := measureDetect(b, 8, "no-hat", d, 20*time.Second)
				b.ReportMetric(gw.cpu, "cpu%")
				b.ReportMetric(plug.cpu, "plugin-cpu%")
				b.ReportMetric((gw.cpu+plug.cpu)/8, "cpu%/camera")
				b.ReportMetric(gw.rssMB+plug.rssMB, "RSS-MB")
				b.ReportMetric(plug.rssMB, "plugin-RSS-MB")
			}
		})
	}
}

// yoloManifest links a YOLOv8n-size model with 80 classes into a temp dir
// with its manifest, and returns the link. Random weights score every one
// of the 8,400 anchors between 0.5 and 0.6, where a trained network finds a
// handful of boxes in a kitchen: the threshold of 0.6 keeps the Go side's
// work (a scan of every anchor's scores) and leaves out thousands of
// candidates no real model gives, whose sorting and NMS would cost up to
// 30 ms a frame.
func yoloManifest(b *testing.B, model, size string) string {
	dir := b.TempDir()
	w, h, ok := strings.Cut(size, "x")
	if !ok {
		h = w
	}
	var m strings.Builder
	fmt.Fprintf(&m, "name: yolov8n-random-%s\ninput: {width: %s, height: %s}\noutput: {format: yolov8}\nclasses:\n  - {name: person, role: person, min_score: 0.6}\n", size, w, h)
	for i := 1; i < 80; i++ {
		fmt.Fprintf(&m, "  - {name: c%d, min_score: 0.6}\n", i)
	}
	link := filepath.Join(dir, "y8n.onnx")
	if err := os.Symlink(model, link); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "y8n.yaml"), []byte(m.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return link
}
