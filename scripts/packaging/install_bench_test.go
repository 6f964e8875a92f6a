package packaging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/freeport"
	"github.com/brightkitchen/brightkitchen/internal/wait"
	"github.com/brightkitchen/brightkitchen/scripts/packaging/qemuns"
)

// installScript is the installer's part, run inside a copy of the arm64
// root: install the package, enrol with the code, put the camera's
// address into the config (what the setup page saves), and start the
// gateway as its unit does. Each step prints a marker line when done.
const installScript = `set -e
dpkg -i "/tmp/$1" >/dev/null
echo installed
bk-gateway enrol --fleet "$2" --code "$3" >/dev/null
echo enrolled
sed -i "s|rtsp://127.0.0.1:8554/kitchen|$4|; s|listen: \"127.0.0.1:8081\"|listen: \"$5\"|" /etc/brightkitchen/gateway.yaml
bk-gateway check >/dev/null
echo configured
exec bk-gateway run --config /etc/brightkitchen/gateway.yaml`

// BenchmarkInstallToOnline scripts an installer's path on loopback and
// times it: dpkg -i of the arm64 bk-gateway package into a copy of the
// arm64 Debian root, bk-gateway enrol with a code the fleet made, the
// camera's address into the config, and the gateway started, until the
// fleet shows its camera online. The root's programs, the gateway among
// them, run under qemu-user on this amd64 machine, so every step is
// emulated and slower than on a board: an upper bound. The fleet and the
// camera (bk-camsim) run natively.
func BenchmarkInstallToOnline(b *testing.B) {
	if os.Getuid() != 0 {
		b.Skip("not root: chroot, mount and the Debian root need it")
	}
	need(b, "qemu-aarch64-static", "debootstrap", "flock", "chroot")
	ns := newQemuNS(b, "aarch64")
	cache := strings.TrimSpace(ns.run(b, 60*time.Minute, "bash", "../debroot.sh", "arm64"))
	gwDeb := debs(b, "arm64", "1.0.0", "bk-gateway")["bk-gateway"]
	dir := b.TempDir()
	run(b, time.Minute, nil, "dpkg-deb", "-x", debs(b, "amd64", "1.0.0", "bk-fleet")["bk-fleet"], dir)
	camsim := filepath.Join(dir, "bk-camsim")
	run(b, 10*time.Minute, []string{"GOTOOLCHAIN=go1.27.3"}, "go", "build", "-trimpath", "-o", camsim, "../../hw/cmd/bk-camsim")

	for range b.N {
		work := b.TempDir()
		rtsp, httpAddr, mqtt, gwHTTP := freeport.Addr(b), freeport.Addr(b), freeport.Addr(b), freeport.Addr(b)
		start(b, work, "camsim", camsim, "--listen", rtsp, "--no-scenes", "--camera", "kitchen=kitchen")
		const token = "bench-admin-token"
		b.Setenv("BK_ADMIN_TOKEN", token) // the fleet's, inherited
		start(b, work, "fleet", filepath.Join(dir, "usr/bin/bk-fleet"), "serve", "--http", httpAddr,
			"--mqtt-listen", mqtt, "--data", filepath.Join(work, "fleet"))
		api := func(method, path string, body any, out any) {
			b.Helper()
			var rd io.Reader
			if body != nil {
				j, _ := json.Marshal(body)
				rd = bytes.NewReader(j)
			}
			req, _ := http.NewRequest(method, "http://"+httpAddr+path, rd)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatalf("%s %s: %v", method, path, err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode/100 != 2 {
				b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
			}
			if out != nil {
				if err := json.Unmarshal(data, out); err != nil {
					b.Fatalf("%s %s: %v: %s", method, path, err, data)
				}
			}
		}
		wait.For(b, 30*time.Second, "the fleet's /healthz", func() bool {
			resp, err := http.Get("http://" + httpAddr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		api("POST", "/api/v1/canteens", map[string]any{"id": "canteen-i", "name": "Bench School", "category": "school", "district": "pudong"}, nil)
		var code struct{ Code string }
		api("POST", "/api/v1/canteens/canteen-i/enrolment-codes", map[string]any{"gateway_name": "gw-install", "ttl_h": 1}, &code)

		root := filepath.Join(work, "root")
		run(b, 10*time.Minute, nil, "flock", "-s", filepath.Join(filepath.Dir(cache), "arm64.lock"),
			"cp", "-a", "--reflink=auto", cache+"/.", root)
		run(b, time.Minute, nil, "cp", gwDeb, filepath.Join(root, "tmp"))

		began := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		cmd, err := qemuns.Command(ctx, "aarch64", "bash", "-c", chrootScript, "chroot", root,
			"bash", "-c", installScript, "install", filepath.Base(gwDeb), "http://"+httpAddr, code.Code,
			"rtsp://"+rtsp+"/kitchen", gwHTTP)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		logf, _ := os.Create(filepath.Join(work, "install.log"))
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			cancel()
			b.Fatal(err)
		}
		steps := map[string]time.Duration{}
		markers := make(chan struct{})
		go func() {
			defer close(markers)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				steps[sc.Text()] = time.Since(began)
			}
		}()
		online := func() bool {
			var gws struct {
				Gateways []struct {
					ID      string `json:"id"`
					Cameras []struct {
						Online bool `json:"online"`
					} `json:"cameras"`
				} `json:"gateways"`
			}
			api("GET", "/api/v1/gateways", nil, &gws)
			for _, g := range gws.Gateways {
				if g.ID == "gw-install" && len(g.Cameras) > 0 && g.Cameras[0].Online {
					return true
				}
			}
			return false
		}
		deadline := time.Now().Add(10 * time.Minute)
		var up bool
		for !up && time.Now().Before(deadline) && ctx.Err() == nil {
			if up = online(); !up {
				time.Sleep(200 * time.Millisecond)
			}
		}
		total := time.Since(began)
		cancel() // the namespace's first process: all inside die with it
		_ = cmd.Wait()
		<-markers
		logf.Close()
		if !up {
			log, _ := os.ReadFile(filepath.Join(work, "install.log"))
			b.Fatalf("camera not online at the fleet after %v (steps %v)\n%s", total, steps, log)
		}
		for _, s := range []string{"installed", "enrolled", "configured"} {
			if _, ok := steps[s]; !ok {
				b.Fatalf("step %q did not print its marker (steps %v)", s, steps)
			}
		}
		b.ReportMetric(steps["installed"].Seconds(), "dpkg-i-s")
		b.ReportMetric((steps["enrolled"] - steps["installed"]).Seconds(), "enrol-s")
		b.ReportMetric((total - steps["configured"]).Seconds(), "start-to-camera-online-s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.Logf("dpkg -i %v, enrol %v, config + check %v, start → camera online at the fleet %v; total %v (under qemu-user)",
			steps["installed"].Round(time.Millisecond), (steps["enrolled"] - steps["installed"]).Round(time.Millisecond),
			(steps["configured"] - steps["enrolled"]).Round(time.Millisecond), (total - steps["configured"]).Round(time.Millisecond),
			total.Round(time.Millisecond))
	}
}
