package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/release"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// buildVersions builds bk-gateway once per version, each stamped with it
// as a release is (-ldflags -X), into dir/{version}/bk-gateway. Without
// -race: these are the binaries a bundle carries.
func buildVersions(t testing.TB, dir string, versions ...string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(versions))
	for i, v := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, v, "bk-gateway"),
				"-ldflags", "-s -w -X github.com/brightkitchen/brightkitchen/internal/version.Version="+v,
				"../gateway/cmd/bk-gateway").CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("build %s: %v: %s", v, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// service runs the gateway as systemd's unit does (Restart=always): the
// launcher, started again whenever it exits, until closed.
type service struct {
	t       testing.TB
	bin     string
	args    []string
	mu      sync.Mutex
	env     []string // for the next start only
	cur     *proc
	starts  atomic.Int32
	stop    chan struct{}
	stopped chan struct{}
}

func startService(t testing.TB, bin string, args ...string) *service {
	s := &service{t: t, bin: bin, args: args, stop: make(chan struct{}), stopped: make(chan struct{})}
	rel, err := filepath.Rel(binDir, bin)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.stopped)
		for i := 0; i < 40; i++ { // bounded: a test needs far fewer starts
			s.mu.Lock()
			env := s.env
			s.env = nil
			s.mu.Unlock()
			p := startProc(t, fmt.Sprintf("gateway-%02d", i), env, rel, s.args...)
			s.starts.Add(1)
			s.mu.Lock()
			s.cur = p
			s.mu.Unlock()
			select {
			case <-p.done:
			case <-s.stop:
				return
			}
			select { // systemd's RestartSec, shortened
			case <-time.After(200 * time.Millisecond):
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// restart kills the running gateway with SIGKILL; the next start gets env.
func (s *service) restart(env ...string) {
	s.mu.Lock()
	s.env = env
	p := s.cur
	s.mu.Unlock()
	p.kill()
}

func (s *service) close() {
	close(s.stop)
	s.mu.Lock()
	p := s.cur
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
	<-s.stopped
}

// bundleServer serves files from a directory with Range support, counting
// the requests that ask for a range.
type bundleServer struct {
	*httptest.Server
	dir    string
	ranged atomic.Int32
}

func newBundleServer(t testing.TB) *bundleServer {
	b := &bundleServer{dir: t.TempDir()}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			b.ranged.Add(1)
		}
		http.ServeFile(w, r, filepath.Join(b.dir, filepath.Base(r.URL.Path)))
	}))
	t.Cleanup(b.Close)
	return b
}

// otaArgs is ota.install's args for a bundle file served by b.
func (b *bundleServer) otaArgs(t testing.TB, name string, force bool) string {
	data, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	a, _ := json.Marshal(map[string]any{"url": b.URL + "/" + name, "sha256": hex.EncodeToString(sum[:]), "size": len(data), "force": force})
	return string(a)
}

// makeBundle packs files (name → path to copy, or "#!" content) as a
// bundle of version, signed by priv, into b's directory.
func (b *bundleServer) makeBundle(t testing.TB, name, version string, priv ed25519.PrivateKey, files map[string]string) int64 {
	src := t.TempDir()
	for n, from := range files {
		data := []byte(from)
		if !strings.HasPrefix(from, "#!") {
			var err error
			if data, err = os.ReadFile(from); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(src, n), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(b.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := release.Build(f, release.Manifest{Product: "bk-gateway", Version: version, Arch: goarch()}, src, priv, strings.HasSuffix(name, ".gz")); err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	return info.Size()
}

func goarch() string {
	out, _ := exec.Command("go", "env", "GOARCH").Output()
	return strings.TrimSpace(string(out))
}

// tarOf is a tar of the entries, in order.
func tarOf(t testing.TB, entries [][2]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e[0], Size: int64(len(e[1])), Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type otaGateway struct {
	ID      string `json:"id"`
	Online  bool   `json:"online"`
	Version string `json:"version"`
	Cameras []struct {
		CameraID string `json:"camera_id"`
		Online   bool   `json:"online"`
	} `json:"cameras"`
	LastHeartbeat struct {
		OTA *struct {
			Version, Slot, State string
			Last                 *struct{ Version, Outcome, Reason string }
		} `json:"ota"`
	} `json:"last_heartbeat"`
}

// otaRig is a fleet, a camera and one gateway run as a service through
// the launcher of 1.0.0 (the packaged binary), with 2.0.0 and 2.1.0 built
// beside it and a key the gateway trusts.
type otaRig struct {
	t      testing.TB
	vers   string
	priv   ed25519.PrivateKey
	fl     *fleet
	svc    *service
	otaDir string
	bs     *bundleServer
	http   string // the gateway's status page
}

func startOTARig(t testing.TB, maxStarts int) *otaRig {
	r := &otaRig{t: t, vers: sharedVersions(t, "1.0.0", "2.0.0", "2.1.0")}
	_, r.priv, _ = ed25519.GenerateKey(nil)
	cam := startCamsim(t, camsim.Camera{Path: "cam-1", Scene: "empty"})
	r.fl = newFleet(t, "")
	r.fl.start()
	user, pass := r.fl.addGateway("gw-ota", "canteen-1")
	r.otaDir = filepath.Join(t.TempDir(), "ota")
	r.http = freePort(t)
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-ota", Broker: "tcp://" + r.fl.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: r.http,
		Cameras: map[string]string{"cam-1": cam.URL("cam-1")},
		YAML: fmt.Sprintf("ota:\n  dir: /nonexistent/overridden-by-the-launcher\n  confirm_timeout: 60s\n  max_bundle: 256MiB\n  trusted_keys: [%q]\n",
			release.FormatPublicKey(r.priv.Public().(ed25519.PublicKey))),
	})
	// The packaged binary is 1.0.0: it is the launcher, and runs itself
	// while no slot is current.
	packaged := filepath.Join(r.vers, "1.0.0", "bk-gateway")
	r.svc = startService(t, packaged, "launch", "--ota-dir", r.otaDir, "--max-starts", fmt.Sprint(maxStarts), "run", "--config", cfg)
	r.bs = newBundleServer(t)
	return r
}

func (r *otaRig) gateway() otaGateway {
	var out struct{ Gateways []otaGateway }
	_ = r.fl.get("/api/v1/gateways", &out)
	for _, g := range out.Gateways {
		if g.ID == "gw-ota" {
			return g
		}
	}
	return otaGateway{}
}

// waitVersion waits for the running gateway process to be v, connected
// (so subscribed to its commands: the fleet does not repeat a command
// sent while none is) with its camera online, and the fleet to show it so.
func (r *otaRig) waitVersion(v string, d time.Duration) time.Duration {
	r.t.Helper()
	return wait.For(r.t, d, "gw-ota online as "+v+" with its camera", func() bool {
		var st struct {
			Version   string `json:"version"`
			Connected bool   `json:"connected"`
			Cameras   []struct {
				Online bool `json:"online"`
			} `json:"cameras"`
		}
		resp, err := http.Get("http://" + r.http + "/api/status")
		if err != nil {
			return false
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || st.Version != v || !st.Connected || len(st.Cameras) != 1 || !st.Cameras[0].Online {
			return false
		}
		g := r.gateway()
		return g.Online && g.Version == v && len(g.Cameras) == 1 && g.Cameras[0].Online
	})
}

func (r *otaRig) send(args string) string {
	r.t.Helper()
	var sent struct {
		CmdID string `json:"cmd_id"`
	}
	if code, err := r.fl.send("POST", "/api/v1/gateways/gw-ota/commands", `{"name":"ota.install","args":`+args+`,"ttl_s":300}`, &sent); err != nil || code != 202 {
		r.t.Fatalf("send ota.install: %d %v", code, err)
	}
	return sent.CmdID
}

func (r *otaRig) waitCmd(id, status, detail string, d time.Duration) string {
	r.t.Helper()
	var cmd struct{ Status, Detail string }
	wait.For(r.t, d, fmt.Sprintf("command %s %s (%q)", id, status, detail), func() bool {
		_, _ = r.fl.send("GET", "/api/v1/gateways/gw-ota/commands/"+id, "", &cmd)
		return cmd.Status == status && strings.Contains(cmd.Detail, detail)
	})
	return cmd.Detail
}

func (r *otaRig) current() string {
	target, _ := os.Readlink(filepath.Join(r.otaDir, "current"))
	return target
}

// TestOTA: signed updates end to end with real processes, under a
// launcher restarted as systemd would: bad bundles are refused before
// anything is installed; a good one survives a SIGKILL mid-download
// (resumed with Range), installs, restarts and confirms; a SIGKILL at the
// switch leaves a version that starts; a release that exits at start is
// rolled back by the launcher and reported.
func TestOTA(t *testing.T) {
	parallelScenario(t)
	r := startOTARig(t, 2)
	defer r.svc.close()
	vers, priv, svc, otaDir := r.vers, r.priv, r.svc, r.otaDir
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	gateway, waitVersion, send, waitCmd, current := r.gateway, r.waitVersion, r.send, r.waitCmd, r.current

	waitVersion("1.0.0", 30*time.Second)

	// Refused before installing, with the reason; nothing switched, and
	// the gateway keeps working.
	bs := r.bs
	bin2 := filepath.Join(vers, "2.0.0", "bk-gateway")
	size2 := bs.makeBundle(t, "v2.tar", "2.0.0", priv, map[string]string{"bk-gateway": bin2})
	bs.makeBundle(t, "other-key.tar", "2.0.0", otherPriv, map[string]string{"bk-gateway": "#!/bin/sh\nexit 0\n"})
	bs.makeBundle(t, "old.tar", "0.9.0", priv, map[string]string{"bk-gateway": "#!/bin/sh\nexit 0\n"})
	bs.makeBundle(t, "corrupt.tar", "2.0.0", priv, map[string]string{"bk-gateway": "#!/bin/sh\necho good\n"})
	data, _ := os.ReadFile(filepath.Join(bs.dir, "corrupt.tar"))
	os.WriteFile(filepath.Join(bs.dir, "corrupt.tar"), bytes.Replace(data, []byte("echo good"), []byte("echo evil"), 1), 0o644)
	// unsigned: a manifest and the file, no manifest.sig
	body := "#!/bin/sh\nexit 0\n"
	sum := sha256.Sum256([]byte(body))
	m := release.Manifest{Format: release.Format, Product: "bk-gateway", Version: "2.0.0", Arch: goarch(), Created: time.Now().UTC(),
		Files: []release.File{{Path: "bk-gateway", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), Mode: "0755"}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	unsigned := tarOf(t, [][2]string{{"manifest.json", string(mb)}, {"bk-gateway", body}})
	os.WriteFile(filepath.Join(bs.dir, "unsigned.tar"), unsigned, 0o644)
	// traversal: signed, with an entry that climbs out
	traversal := tarOf(t, [][2]string{{"manifest.json", string(mb)}, {"manifest.sig", string(release.Sign(priv, mb))},
		{"bk-gateway", body}, {"../../evil", "x"}})
	os.WriteFile(filepath.Join(bs.dir, "traversal.tar"), traversal, 0o644)
	for _, c := range []struct{ name, args, want string }{
		{"unsigned", bs.otaArgs(t, "unsigned.tar", false), "where manifest.sig must be"},
		{"traversal", bs.otaArgs(t, "traversal.tar", false), `entry "../../evil" is not in the manifest`},
		{"wrong key", bs.otaArgs(t, "other-key.tar", false), "not signed by a trusted key"},
		{"corrupted", bs.otaArgs(t, "corrupt.tar", false), "has sha256"},
		{"downgrade", bs.otaArgs(t, "old.tar", false), "downgrade refused"},
		{"oversized", strings.Replace(bs.otaArgs(t, "v2.tar", false), fmt.Sprintf(`"size":%d`, size2), `"size":300000000`, 1), "want 1 to 268435456"},
		{"wrong sha256", `{"url":"` + bs.URL + `/unsigned.tar","sha256":"` + strings.Repeat("0", 64) + fmt.Sprintf(`","size":%d}`, len(unsigned)), "checksum mismatch"},
		{"foreign url", `{"url":"http://192.0.2.1/x.tar","sha256":"` + strings.Repeat("0", 64) + `","size":10}`, "not on the fleet"},
		{"bad args", `{"url":"` + bs.URL + `/v2.tar","unknown":1}`, "unknown field"},
	} {
		id := send(c.args)
		detail := waitCmd(id, "failed", c.want, 20*time.Second)
		t.Logf("%s: refused: %s", c.name, detail)
		if cur := current(); cur != "" {
			t.Fatalf("%s: current is %q after a refused bundle", c.name, cur)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(otaDir, "slots")); len(ents) != 0 {
		t.Fatalf("refused bundles left %v in slots/", ents)
	}
	waitVersion("1.0.0", 10*time.Second)

	// SIGKILL half way through the download: the next install resumes it.
	svc.restart("BK_OTA_KILL_AT=download-half")
	waitVersion("1.0.0", 30*time.Second)
	starts := svc.starts.Load()
	send(bs.otaArgs(t, "v2.tar", false))
	wait.For(t, 60*time.Second, "the gateway killed mid-download and started again", func() bool { return svc.starts.Load() > starts })
	waitVersion("1.0.0", 30*time.Second)
	part, _ := filepath.Glob(filepath.Join(otaDir, "download", "*.part"))
	if len(part) != 1 {
		t.Fatalf("no partial download left: %v", part)
	}
	began := time.Now()
	id := send(bs.otaArgs(t, "v2.tar", false))
	detail := waitCmd(id, "ok", "2.0.0 confirmed", 90*time.Second)
	took := time.Since(began)
	if bs.ranged.Load() == 0 {
		t.Error("the second download did not resume with a Range request")
	}
	if current() != "slots/a" {
		t.Fatalf("current %q, want slots/a", current())
	}
	waitVersion("2.0.0", 10*time.Second)
	t.Logf("OTA: bundle %d bytes; resumed download + verify + switch + restart + confirm took %s (%s)", size2, took.Round(time.Millisecond), detail)

	// SIGKILL after the pending marker, before the switch: the launcher
	// clears it and the running version stays, reporting the failure.
	bs.makeBundle(t, "v21.tar", "2.1.0", priv, map[string]string{"bk-gateway": filepath.Join(vers, "2.1.0", "bk-gateway")})
	svc.restart("BK_OTA_KILL_AT=pending")
	waitVersion("2.0.0", 30*time.Second)
	id = send(bs.otaArgs(t, "v21.tar", false))
	waitCmd(id, "failed", "interrupted before the switch", 60*time.Second)
	waitVersion("2.0.0", 30*time.Second)

	// SIGKILL right after the switch: the new version starts on trial and
	// confirms, answering the command.
	svc.restart("BK_OTA_KILL_AT=switched")
	waitVersion("2.0.0", 30*time.Second)
	id = send(bs.otaArgs(t, "v21.tar", false))
	waitCmd(id, "ok", "2.1.0 confirmed", 90*time.Second)
	waitVersion("2.1.0", 30*time.Second)
	if current() != "slots/b" {
		t.Fatalf("current %q, want slots/b", current())
	}

	// A release that exits at start: the launcher gives it --max-starts
	// starts, rolls back to 2.1.0 by itself, and 2.1.0 reports why.
	bs.makeBundle(t, "crash.tar", "3.0.0", priv, map[string]string{"bk-gateway": "#!/bin/sh\necho 'release 3.0.0 cannot start' >&2\nexit 3\n"})
	began = time.Now()
	id = send(bs.otaArgs(t, "crash.tar", false))
	detail = waitCmd(id, "failed", "crash loop", 90*time.Second)
	t.Logf("OTA: a release that exits at start rolled back in %s: %s", time.Since(began).Round(time.Millisecond), detail)
	waitVersion("2.1.0", 30*time.Second)
	if current() != "slots/b" {
		t.Fatalf("current %q after the rollback, want slots/b", current())
	}
	wait.For(t, 10*time.Second, "the heartbeat's OTA state shows the rollback", func() bool {
		o := gateway().LastHeartbeat.OTA
		return o != nil && o.Version == "2.1.0" && o.Slot == "b" && o.State == "idle" && o.Last != nil &&
			o.Last.Version == "3.0.0" && o.Last.Outcome == "rolled_back"
	})
	// A downgrade to 2.0.0 is refused, and done when forced.
	id = send(bs.otaArgs(t, "v2.tar", false))
	waitCmd(id, "failed", "downgrade refused", 20*time.Second)
	id = send(bs.otaArgs(t, "v2.tar", true))
	waitCmd(id, "ok", "2.0.0 confirmed", 90*time.Second)
	waitVersion("2.0.0", 30*time.Second)
}

// BenchmarkOTA measures an update of a real gateway: the bundle's size,
// ota.install sent → the new version confirmed (download, verify, unpack,
// switch, restart, reconnect, cameras back), the camera's interruption as
// the fleet sees it, and a release that exits at start rolled back by the
// launcher (3 starts).
func BenchmarkOTA(b *testing.B) {
	for range b.N {
		r := startOTARig(b, 3)
		r.waitVersion("1.0.0", 60*time.Second)
		size := r.bs.makeBundle(b, "v2.tar.gz", "2.0.0", r.priv, map[string]string{"bk-gateway": filepath.Join(r.vers, "2.0.0", "bk-gateway")})
		began := time.Now()
		id := r.send(r.bs.otaArgs(b, "v2.tar.gz", false))
		// the camera's interruption: from the last moment the fleet saw
		// it online under 1.0.0 to the first under 2.0.0
		var lastOld, firstNew time.Time
		wait.For(b, 120*time.Second, "2.0.0 online with its camera", func() bool {
			g := r.gateway()
			up := g.Online && len(g.Cameras) == 1 && g.Cameras[0].Online
			switch {
			case up && g.Version == "1.0.0":
				lastOld = time.Now()
			case up && g.Version == "2.0.0":
				firstNew = time.Now()
				return true
			}
			return false
		})
		r.waitCmd(id, "ok", "2.0.0 confirmed", 120*time.Second)
		confirmed := time.Since(began)
		r.bs.makeBundle(b, "crash.tar", "3.0.0", r.priv, map[string]string{"bk-gateway": "#!/bin/sh\nexit 3\n"})
		began = time.Now()
		id = r.send(r.bs.otaArgs(b, "crash.tar", false))
		r.waitCmd(id, "failed", "crash loop", 120*time.Second)
		rollback := time.Since(began)
		r.svc.close()
		b.ReportMetric(float64(size)/1e6, "bundle-MB")
		b.ReportMetric(confirmed.Seconds(), "install-to-confirm-s")
		if !lastOld.IsZero() {
			b.ReportMetric(firstNew.Sub(lastOld).Seconds(), "camera-gap-s")
		}
		b.ReportMetric(rollback.Seconds(), "crash-rollback-s")
	}
}
