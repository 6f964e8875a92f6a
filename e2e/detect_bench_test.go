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
				gw, plug := measureDetect(b, c.cameras, c.detect, 20*time.Second)
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

func measureDetect(b *testing.B, cameras int, fps string, window time.Duration) (gw, plugin usage) {
	rtsp := freePort(b)
	args := []string{"--listen", rtsp, "--gop", "2", "--no-scenes"}
	for i := range cameras {
		args = append(args, "--camera", fmt.Sprintf("cam%d=kitchen-1080", i))
	}
	dir := b.TempDir()
	cam := startProc(b, "camsim", nil, "bk-camsim", args...)
	defer cam.kill()
	var y strings.Builder
	fmt.Fprintf(&y, "gateway:\n  id: gw-bench\nbroker:\n  url: tcp://127.0.0.1:1\nspool:\n  path: %s\nhttp:\n  listen: \"\"\nlog:\n  level: warn\n",
		filepath.Join(dir, "spool.db"))
	fmt.Fprintf(&y, "plugins:\n  - name: tamper\n    path: %s\n", filepath.Join(binDir, "bk-plugin-tamper"))
	y.WriteString("cameras:\n")
	for i := range cameras {
		fmt.Fprintf(&y, "  - id: cam%d\n    url: rtsp://%s/cam%d\n    transport: tcp\n", i, rtsp, i)
		if fps != "" {
			fmt.Fprintf(&y, "    detect:\n      fps: %s\n      plugins: [{name: tamper}]\n      rules: [{type: camera_occluded}]\n", fps)
		}
	}
	cfg := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	g := startProc(b, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	defer g.kill()
	time.Sleep(8 * time.Second) // connect, launch the plugin, settle
	pids := []int{g.cmd.Process.Pid}
	if fps != "" {
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

// BenchmarkEpisodeLatency measures, for the covered-lens scene on four
// cameras (GOP 1 s, IDR-only decoding, the tamper plugin with its default
// hysteresis of 3 frames and the rule's default persistence), the time from
// the first frame of the episode (the event's started_at: the capture time
// of the first hit) to the event committed at the fleet (received_at), and
// from the camera coming online to the commit.
func BenchmarkEpisodeLatency(b *testing.B) {
	for range b.N {
		cams := []camsim.Camera{{Path: "c1", Scene: "covered"}, {Path: "c2", Scene: "covered"},
			{Path: "c3", Scene: "covered"}, {Path: "c4", Scene: "covered"}}
		detect := map[string]string{}
		for _, c := range cams {
			detect[c.Path] = tamperDetect
		}
		r := startDetectRig(b, cams, pluginsYAML(""), detect)
		waitFor(b, 30*time.Second, "cameras online", func() bool {
			st, err := getGatewayStatus(r.gwHTTP)
			if err != nil {
				return false
			}
			n := 0
			for _, c := range st.Cameras {
				if c.Online {
					n++
				}
			}
			return n == len(cams)
		})
		online := time.Now()
		var got []apiViolation
		waitFor(b, 30*time.Second, "four camera_occluded events", func() bool {
			vs, err := r.fleet.violations("gateway_id=gw-d&type=camera_occluded&limit=100")
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
}
