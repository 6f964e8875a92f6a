package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/freeport"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

var binDir string

// The tests run side by side, but not all at once: at most
// scenarioTurn of them, and besides them one that is busy (busyTurn).
var (
	// scenarioTurn is held by a test for its whole run (parallelScenario).
	scenarioTurn = make(chan struct{}, 3)
	// busyTurn is held by a test while it needs a core to itself: a
	// browser decoding live video in several tabs, a gateway whose alarms
	// must come within a bound of the spec, a stream of thousands of
	// events. Two such side by side (with a fleet hashing passwords under
	// -race) miss their deadlines on a two-core machine.
	busyTurn = make(chan struct{}, 1)
)

// parallelScenario marks t parallel (go test's -parallel is raised so that
// every test can be waiting at once), then waits for its turn, held until
// t ends.
func parallelScenario(t *testing.T) {
	t.Parallel()
	scenarioTurn <- struct{}{}
	ran := profile.turn(t)
	t.Cleanup(func() { ran(); <-scenarioTurn })
}

// parallelBusy marks t parallel and makes it wait for busyTurn, held
// until t ends: the test is busy from start to end.
func parallelBusy(t *testing.T) {
	t.Parallel()
	busyTurn <- struct{}{}
	ran := profile.turn(t)
	t.Cleanup(func() { ran(); <-busyTurn })
}

// parallelBusyFirst is for a test that is busy at first and then waits a
// long time: it takes both turns before marking t parallel, when no other
// test has started, so that its wait overlaps the others rather than
// coming last. quiet gives busyTurn back (t's end does, if the test did
// not). No test holds busyTurn and waits for scenarioTurn, nor the other
// way round, but this one, which has both before the others start.
func parallelBusyFirst(t *testing.T) (quiet func()) {
	busyTurn <- struct{}{}
	scenarioTurn <- struct{}{}
	var once sync.Once
	quiet = func() { once.Do(func() { <-busyTurn }) }
	ran := profile.turn(t)
	t.Cleanup(func() { ran(); <-scenarioTurn; quiet() })
	t.Parallel()
	return quiet
}

func TestMain(m *testing.M) {
	flag.Parse()
	// Every test is a scenario of its own (its own ports, directories and
	// processes) that spends most of its time waiting for the processes
	// it runs, so they run side by side, as their turns allow
	// (scenarioTurn, busyTurn). -parallel is raised so that every test can
	// wait for its turn at once: the turns decide, not -parallel (a lower
	// one could hold back the test that holds a turn).
	if err := flag.Set("test.parallel", "64"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bench := false
	if b := flag.Lookup("test.bench"); b != nil && b.Value.String() != "" {
		bench = true
	}
	dir, cleanup, err := binaries(bench)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build the binaries:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	headless.Close()
	profile.print()
	cleanup()
	os.Exit(code)
}

// binaries builds the programs the tests run into a directory: with the
// race detector for tests, as shipped for benchmarks. With $BK_E2E_BIN
// set (scripts/test.sh sets it for its two runs of this package, to a
// directory it keeps between runs), they are built there, one test binary
// at a time on a lock: the go command links only those whose build ID
// differs from what it would build, so the second finds them up to date.
func binaries(bench bool) (dir string, cleanup func(), err error) {
	// Tests run the binaries with the race detector; benchmarks measure
	// them as shipped.
	build := []string{"build", "-race"}
	if bench {
		build = []string{"build", "-trimpath"}
	}
	dir = os.Getenv("BK_E2E_BIN")
	cleanup = func() {}
	if dir == "" || bench {
		if dir, err = os.MkdirTemp("", "bk-e2e-bin"); err != nil {
			return "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return "", nil, err
		}
		defer lock.Close() // and with it the lock
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			return "", nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
		}
	}
	// One go build for all of them: the go command links them side by
	// side (the links, with -race, are most of the cost: the packages are
	// in the build cache), where one go build each linked them in turn.
	build = append(build, "-o", dir+"/")
	for _, pkg := range []string{"gateway/cmd/bk-gateway", "fleet/cmd/bk-fleet", "hw/cmd/bk-camsim",
		"plugins/tamper/cmd/bk-plugin-tamper", "plugins/motion/cmd/bk-plugin-motion", "plugins/onnx/cmd/bk-plugin-onnx",
		"e2e/testplugin"} {
		build = append(build, "../"+pkg)
	}
	cmd := exec.Command("go", build...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	built := time.Now()
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, err
	}
	profile.add("go build (binaries)", time.Since(built), cmd.ProcessState)
	return dir, cleanup, nil
}

// freePort returns a loopback address that was free a moment ago (see
// internal/freeport). The processes under test must keep their ports
// across kill -9 and restart.
func freePort(t testing.TB) string { return freeport.Addr(t) }

// proc is a child process whose output goes to a log file in the test dir.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

func startProc(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); profile.add(bin, 0, cmd.ProcessState); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		// The binaries are built with -race: a report in any log fails the test.
		if b, err := os.ReadFile(logPath); err == nil && bytes.Contains(b, []byte("WARNING: DATA RACE")) {
			t.Errorf("%s reported a data race", name)
			i := bytes.Index(b, []byte("WARNING: DATA RACE"))
			t.Logf("%s", b[i:min(len(b), i+6000)])
		}
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not die after SIGKILL", p.name)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with %d", p.name, code)
		}
		return nil
	case <-time.After(15 * time.Second):
		p.kill()
		return fmt.Errorf("%s did not stop within 15 s", p.name)
	}
}

func (p *proc) dumpLog() {
	b, _ := os.ReadFile(p.log.Name())
	lines := strings.Split(string(b), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	p.t.Logf("--- last lines of %s log ---\n%s", p.name, strings.Join(lines, "\n"))
}

// fleet is one bk-fleet serve with fixed ports and data dir, restartable.
type fleet struct {
	t      testing.TB
	http   string
	mqtt   string // embedded broker address, "" with an external broker
	broker string // external broker URL
	data   string
	token  string
	args   []string // more flags for serve
	// rootCAs, when set, makes the harness speak HTTPS to the fleet
	// (started with --tls-cert) and trust these roots.
	rootCAs *x509.CertPool
	p       *proc
	started int
}

func newFleet(t testing.TB, externalBroker string) *fleet {
	f := &fleet{t: t, http: freePort(t), data: t.TempDir(), token: "test-admin-token", broker: externalBroker}
	if externalBroker == "" {
		f.mqtt = freePort(t)
	}
	return f
}

func (f *fleet) start() {
	f.t.Helper()
	f.started++
	args := append([]string{"serve", "--http", f.http, "--data", f.data, "--log-level", "debug"}, f.args...)
	if f.broker != "" {
		args = append(args, "--broker", f.broker)
	} else {
		args = append(args, "--mqtt-listen", f.mqtt)
	}
	f.p = startProc(f.t, fmt.Sprintf("fleet-%d", f.started), []string{"BK_ADMIN_TOKEN=" + f.token}, "bk-fleet", args...)
	wait.For(f.t, 20*time.Second, "fleet healthy", func() bool {
		resp, err := f.client().Get(f.url("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// url is the fleet's address for path, https with rootCAs set.
func (f *fleet) url(path string) string {
	if f.rootCAs != nil {
		return "https://" + f.http + path
	}
	return "http://" + f.http + path
}

// client is the HTTP client for the fleet: one trusting rootCAs, if set.
func (f *fleet) client() *http.Client {
	if f.rootCAs == nil {
		return http.DefaultClient
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: f.rootCAs, MinVersion: tls.VersionTLS12}}}
}

// addGateway runs `bk-fleet gateway add` and returns the credentials.
func (f *fleet) addGateway(id, canteen string) (user, pass string) {
	f.t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "bk-fleet"), "gateway", "add", "--id", id,
		"--canteen", canteen, "--json", "--data", f.data).CombinedOutput()
	if err != nil {
		f.t.Fatalf("gateway add: %v: %s", err, out)
	}
	var creds struct{ Username, Password string }
	if err := json.Unmarshal(out, &creds); err != nil {
		f.t.Fatalf("gateway add output %q: %v", out, err)
	}
	return creds.Username, creds.Password
}

func (f *fleet) get(path string, v any) error {
	req, _ := http.NewRequest("GET", f.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// metric returns the sum of a Prometheus counter's samples whose line
// contains every one of the given label fragments.
func (f *fleet) metric(name string, labels ...string) float64 {
	req, _ := http.NewRequest("GET", f.url("/metrics"), nil)
	req.Header.Set("Authorization", "Bearer "+f.token) // /metrics is the admin's
	resp, err := f.client().Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		var v float64
		fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
		sum += v
	}
	return sum
}

type apiGateway struct {
	ID        string `json:"id"`
	CanteenID string `json:"canteen_id"`
	Online    bool   `json:"online"`
	Cameras   []struct {
		CameraID string `json:"camera_id"`
		Online   bool   `json:"online"`
		Area     string `json:"area"`
	} `json:"cameras"`
}

func (f *fleet) gateways() []apiGateway {
	var out struct {
		Gateways []apiGateway `json:"gateways"`
	}
	if err := f.get("/api/v1/gateways", &out); err != nil {
		return nil
	}
	return out.Gateways
}

type apiViolation struct {
	ID        int64  `json:"id"`
	GatewayID string `json:"gateway_id"`
	EventID   string `json:"event_id"`
	Seq       uint64 `json:"seq"`
	CameraID  string `json:"camera_id"`
	Type      string `json:"type"`
	Phase     string `json:"phase"`
	Episode   string `json:"episode"`
	Boxes     []struct {
		X, Y, W, H float64
		Label      string
	} `json:"boxes"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	ReceivedAt  time.Time `json:"received_at"`
	HasSnapshot bool      `json:"has_snapshot"`
}

func (f *fleet) violations(query string) ([]apiViolation, error) {
	var out struct {
		Violations []apiViolation `json:"violations"`
	}
	err := f.get("/api/v1/violations?"+query, &out)
	return out.Violations, err
}

// gatewayConfig is what a test gateway needs in its YAML.
type gatewayConfig struct {
	ID, Broker, User, Pass, Spool, HTTP string
	Grace                               time.Duration
	Cameras                             map[string]string // id -> rtsp url
	SyntheticTotal                      int
	SyntheticRate                       float64
	AckTimeout                          time.Duration
	// CameraYAML is added under each named camera (keys indented by 4).
	CameraYAML map[string]string
	// YAML is added at the top level.
	YAML string
	// CAFile, CertFile, KeyFile go to broker.ca_file, cert_file, key_file.
	CAFile, CertFile, KeyFile string
}

func writeGatewayConfig(t testing.TB, c gatewayConfig) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "gateway:\n  id: %s\nbroker:\n  url: %s\n  username: %q\n  password: %q\n", c.ID, c.Broker, c.User, c.Pass)
	for k, v := range map[string]string{"ca_file": c.CAFile, "cert_file": c.CertFile, "key_file": c.KeyFile} {
		if v != "" {
			fmt.Fprintf(&b, "  %s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "spool:\n  path: %s\nhttp:\n  listen: %s\nlog:\n  level: debug\n", c.Spool, c.HTTP)
	grace := c.Grace
	if grace == 0 {
		grace = 2 * time.Second
	}
	ack := c.AckTimeout
	if ack == 0 {
		ack = 3 * time.Second
	}
	fmt.Fprintf(&b, "uplink:\n  heartbeat: 1s\n  offline_grace: %s\n  ack_timeout: %s\n", grace, ack)
	if len(c.Cameras) > 0 {
		b.WriteString("cameras:\n")
		for id, url := range c.Cameras {
			fmt.Fprintf(&b, "  - id: %s\n    url: %s\n    area: area-%s\n", id, url, id)
			b.WriteString(c.CameraYAML[id])
		}
	}
	if c.SyntheticTotal > 0 {
		fmt.Fprintf(&b, "debug:\n  synthetic_events:\n    total: %d\n    rate: %g\n", c.SyntheticTotal, c.SyntheticRate)
	}
	b.WriteString(c.YAML)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// gatewayStatus reads the gateway's local status page.
type gatewayStatus struct {
	Connected  bool     `json:"connected"`
	Goroutines int      `json:"goroutines"`
	Live       []string `json:"live"`
	Cameras    []struct {
		CameraID string  `json:"camera_id"`
		Online   bool    `json:"online"`
		FPS      float64 `json:"fps"`
		Picture  string  `json:"picture"`
	} `json:"cameras"`
	Spool struct {
		Depth int `json:"depth"`
	} `json:"spool"`
	Plugins []struct {
		Name        string `json:"name"`
		Ready       bool   `json:"ready"`
		Quarantined bool   `json:"quarantined"`
		Pid         int    `json:"pid"`
		Restarts    int    `json:"restarts"`
		Calls       uint64 `json:"calls"`
		Deadlines   uint64 `json:"deadlines"`
	} `json:"plugins"`
	Detection map[string]struct {
		Sampled      uint64 `json:"sampled"`
		PluginCalls  uint64 `json:"plugin_calls"`
		PluginErrors uint64 `json:"plugin_errors"`
		Detections   uint64 `json:"detections"`
		Dropped      uint64 `json:"dropped"`
		Missed       uint64 `json:"missed"`
		Skipped      uint64 `json:"skipped"`
	} `json:"detection"`
}

func getGatewayStatus(addr string) (gatewayStatus, error) {
	var st gatewayStatus
	resp, err := http.Get("http://" + addr + "/api/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

var _ = context.Background
var _ sync.Mutex

// startAbs starts a program that is not one of ours (by absolute path).
func startAbs(t *testing.T, name, path string, args ...string) *proc {
	rel, err := filepath.Rel(binDir, path)
	if err != nil {
		t.Fatal(err)
	}
	return startProc(t, name, nil, rel, args...)
}

func splitHostPort(a string) (string, string, error) { return net.SplitHostPort(a) }

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
