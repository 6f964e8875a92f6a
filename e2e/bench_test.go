package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procSample is a process's CPU time and resident memory at one moment.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system
	rss int64         // bytes
}

func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name (which may contain spaces).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			s.rss = kb * 1024
		}
	}
	return s, nil
}

// BenchmarkGatewayIngest measures bk-gateway's CPU and RSS while ingesting
// N simulated 1080p H.264 cameras (25 fps, GOP 2 s, about 1.7 Mbit/s each),
// with the camera simulator in its own process. Baseline in the same run:
// the same gateway with no cameras. Each iteration samples 20 s.
func BenchmarkGatewayIngest(b *testing.B) {
	for _, n := range []int{0, 1, 8} {
		b.Run(fmt.Sprintf("cameras=%d", n), func(b *testing.B) {
			for range b.N {
				cpuPct, rss := measureGateway(b, n, 20*time.Second)
				b.ReportMetric(cpuPct, "cpu%")
				if n > 0 {
					b.ReportMetric(cpuPct/float64(n), "cpu%/camera")
				}
				b.ReportMetric(float64(rss)/(1<<20), "RSS-MB")
			}
		})
	}
}

func measureGateway(b *testing.B, cameras int, window time.Duration) (float64, int64) {
	rtsp := freePort(b)
	args := []string{"--listen", rtsp, "--gop", "2", "--no-scenes"}
	for i := range max(cameras, 1) {
		args = append(args, "--camera", fmt.Sprintf("cam%d=kitchen-1080", i))
	}
	dir := b.TempDir()
	cam := startProc(b, "camsim", nil, "bk-camsim", args...)
	defer cam.kill()
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "gateway:\n  id: gw-bench\nbroker:\n  url: tcp://127.0.0.1:1\nspool:\n  path: %s\nhttp:\n  listen: \"\"\nlog:\n  level: warn\n",
		filepath.Join(dir, "spool.db"))
	if cameras > 0 {
		yaml.WriteString("cameras:\n")
		for i := range cameras {
			fmt.Fprintf(&yaml, "  - id: cam%d\n    url: rtsp://%s/cam%d\n    transport: tcp\n", i, rtsp, i)
		}
	}
	cfg := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(cfg, []byte(yaml.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	gw := startProc(b, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	defer gw.kill()
	time.Sleep(5 * time.Second) // connect and settle
	s0, err := sampleProc(gw.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(window)
	s1, err := sampleProc(gw.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return 100 * float64(s1.cpu-s0.cpu) / float64(s1.at.Sub(s0.at)), s1.rss
}
