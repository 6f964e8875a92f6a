package packaging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/freeport"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// BenchmarkPackages reports, for each architecture, the size of the
// packaged (stripped) bk-gateway, of its plugins, of the .deb (xz, as
// make deb makes it) and installed, and bk-fleet's size.
func BenchmarkPackages(b *testing.B) {
	archs := []string{"amd64", "arm64"}
	if _, err := os.Stat("/usr/lib/arm-linux-gnueabihf/pkgconfig/libavcodec.pc"); err == nil {
		archs = append(archs, "armhf")
	}
	for _, arch := range archs {
		b.Run(arch, func(b *testing.B) {
			pkgs := []string{"bk-gateway", "bk-fleet"}
			if arch == "armhf" {
				pkgs = pkgs[:1]
			}
			for range b.N {
				d := debsCompressed(b, arch, "1.0.0", "xz", pkgs...)
				dir := b.TempDir()
				run(b, time.Minute, nil, "dpkg-deb", "-x", d["bk-gateway"], dir)
				mb := func(paths ...string) float64 {
					var n int64
					for _, p := range paths {
						fi, err := os.Stat(p)
						if err != nil {
							b.Fatal(err)
						}
						n += fi.Size()
					}
					return float64(n) / 1e6
				}
				plugins, _ := filepath.Glob(filepath.Join(dir, "usr/lib/bk-gateway/plugins/*"))
				b.ReportMetric(mb(filepath.Join(dir, "usr/bin/bk-gateway")), "gateway-MB")
				b.ReportMetric(mb(plugins...), "plugins-MB")
				b.ReportMetric(mb(d["bk-gateway"]), "deb-MB")
				kb, _ := strconv.Atoi(control(b, d["bk-gateway"])["Installed-Size"])
				b.ReportMetric(float64(kb)/1e3, "installed-MB")
				if f := d["bk-fleet"]; f != "" {
					fdir := b.TempDir()
					run(b, time.Minute, nil, "dpkg-deb", "-x", f, fdir)
					b.ReportMetric(mb(filepath.Join(fdir, "usr/bin/bk-fleet")), "fleet-MB")
				}
			}
		})
	}
}

// BenchmarkGatewayIdleRSS runs the amd64 package's bk-gateway natively on
// loopback with one bk-camsim camera (kitchen, 640×360, 10 fps) and the package's
// bk-fleet, connected, with nothing happening, and reports its resident
// memory: the largest of 10 samples a second apart after 15 s of settling.
// Two cases: the camera ingested only, and with the packaged example's
// detection (tamper and motion on key frames; the plugins' processes
// apart).
func BenchmarkGatewayIdleRSS(b *testing.B) {
	d := debs(b, "amd64", "1.0.0", "bk-gateway", "bk-fleet")
	dir := b.TempDir()
	for _, deb := range d {
		run(b, time.Minute, nil, "dpkg-deb", "-x", deb, dir)
	}
	camsim := filepath.Join(dir, "bk-camsim")
	run(b, 10*time.Minute, []string{"GOTOOLCHAIN=go1.27.3"}, "go", "build", "-trimpath", "-o", camsim, "../../hw/cmd/bk-camsim")

	// ingest-only: the camera connected, nothing decoded; detect: key
	// frames decoded for the two plugins, as the packaged example has it.
	for _, detect := range []bool{false, true} {
		name := "ingest-only"
		if detect {
			name = "detect"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				gw, plugins := idleGateway(b, dir, camsim, detect)
				b.ReportMetric(gw, "RSS-MB")
				if detect {
					b.ReportMetric(plugins, "plugins-RSS-MB")
				}
			}
		})
	}
}

func idleGateway(b *testing.B, dir, camsim string, detect bool) (gwMB, pluginsMB float64) {
	work := b.TempDir()
	rtsp, httpAddr, mqtt := freeport.Addr(b), freeport.Addr(b), freeport.Addr(b)
	start(b, work, "camsim", camsim, "--listen", rtsp, "--no-scenes", "--camera", "cam-1=kitchen")
	fleetBin := filepath.Join(dir, "usr/bin/bk-fleet")
	data := filepath.Join(work, "fleet")
	start(b, work, "fleet", fleetBin, "serve", "--http", httpAddr, "--mqtt-listen", mqtt, "--data", data)
	wait.For(b, 30*time.Second, "the fleet's /healthz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	out := run(b, time.Minute, nil, fleetBin, "gateway", "add", "--id", "gw-rss", "--canteen", "canteen-rss", "--json", "--data", data)
	var creds struct{ Username, Password string }
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		b.Fatalf("gateway add printed %q: %v", out, err)
	}
	cfg := fmt.Sprintf(`gateway: {id: gw-rss}
broker: {url: "tcp://%s", username: %q, password: %q}
spool: {path: %s}
http: {listen: ""}
log: {level: warn}
plugin_dir: %s
plugins: [{name: tamper}, {name: motion}]
cameras:
  - id: cam-1
    url: rtsp://%s/cam-1
    transport: tcp
`, mqtt, creds.Username, creds.Password, filepath.Join(work, "spool.db"), filepath.Join(dir, "usr/lib/bk-gateway/plugins"), rtsp)
	if detect {
		cfg += "    detect:\n      plugins: [{name: tamper}, {name: motion}]\n"
	}
	path := filepath.Join(work, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	gw := start(b, work, "gateway", filepath.Join(dir, "usr/bin/bk-gateway"), "run", "--config", path)
	time.Sleep(15 * time.Second) // connect, first key frames, plugins started
	var gwMax, plMax, anonMax int64
	for range 10 {
		g, p := rss(gw.Process.Pid)
		gwMax, plMax = max(gwMax, g), max(plMax, p)
		anonMax = max(anonMax, procStatus(gw.Process.Pid, "RssAnon:"))
		time.Sleep(time.Second)
	}
	if gwMax == 0 {
		b.Fatalf("the gateway is not running: see %s", filepath.Join(work, "gateway.log"))
	}
	// RSS counts the clean pages of the binary and its libraries mapped
	// in, which a kernel with large page-cache folios maps 2 MB at a
	// time; RssAnon is the process's own memory (heap, stacks, buffers).
	b.ReportMetric(float64(anonMax)/(1<<20), "anon-MB")
	return float64(gwMax) / (1 << 20), float64(plMax) / (1 << 20)
}

// rss returns a process's resident memory and that of its children (each
// thread's: a Go program starts a child from any of its threads).
func rss(pid int) (own, children int64) {
	own = vmRSS(pid)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, c := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(c); err == nil {
				children += vmRSS(n)
			}
		}
	}
	return own, children
}

func vmRSS(pid int) int64 { return procStatus(pid, "VmRSS:") }

// procStatus reads a size in kB from /proc/pid/status, in bytes.
func procStatus(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// start starts a process that dies with the test (and with the test
// binary), its output in dir/name.log.
func start(t testing.TB, dir, name, bin string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	return cmd
}
