package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/onvif"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

const baseConfig = `# the installer's gateway
gateway:
  id: gw-1 # keep this comment
spool:
  path: %s/spool.db
plugins:
  - name: tamper
    path: /bin/true
  - name: motion
    path: /bin/true
cameras:
  - id: old
    url: rtsp://10.0.0.1/stream
    area: washing
`

type fixture struct {
	t       *testing.T
	page    *Page
	srv     *httptest.Server
	file    string
	dir     string
	applied []config.Config
	mu      sync.Mutex
	now     time.Time
}

func init() {
	// The tests sign in often, under -race: a cheaper hash (a stored hash
	// carries its own work factor, so checking is the same code).
	pbkdf2Iter = 2000
}

// newFixture serves a setup page whose discovery asks target; tune, if
// given, changes the page before it starts.
func newFixture(t *testing.T, target string, tune ...func(*Page)) *fixture {
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, file: filepath.Join(dir, "gateway.yaml"), now: time.Unix(1_800_000_000, 0)}
	if err := os.WriteFile(f.file, fmt.Appendf(nil, baseConfig, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg
	f.page = &Page{
		ConfigFile: f.file, DataDir: dir,
		Current: func() config.Config { f.mu.Lock(); defer f.mu.Unlock(); return cur },
		Apply: func(c config.Config) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			cur = c
			f.applied = append(f.applied, c)
			return nil
		},
		Discovery:    onvif.Discovery{Target: target, Wait: time.Second},
		ProbeTimeout: 10 * time.Second,
		Now:          func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now },
	}
	for _, fn := range tune {
		fn(f.page)
	}
	if err := f.page.Init(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.page.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) password() string {
	b, err := os.ReadFile(filepath.Join(f.dir, PasswordFile))
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func do(t *testing.T, c *http.Client, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

func TestPasswordFiles(t *testing.T) {
	f := newFixture(t, "127.0.0.1:9")
	st, err := os.Stat(filepath.Join(f.dir, PasswordFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file %v %v", st, err)
	}
	h, _ := os.ReadFile(filepath.Join(f.dir, HashFile))
	if strings.Contains(string(h), f.password()) || !checkPassword(string(h), f.password()) {
		t.Fatal("hash file")
	}
	if !checkPassword(string(h), " "+strings.ToUpper(f.password())+" ") {
		t.Fatal("a password typed in capitals, with spaces, is refused")
	}
	// A second start keeps the password.
	pw := f.password()
	if again, err := ensurePassword(f.dir); err != nil || again != "" || f.password() != pw {
		t.Fatalf("second start: %q %v", again, err)
	}
}

func TestSignInAndRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "127.0.0.1:9")
	c := f.client()
	if code := do(t, c, "GET", f.srv.URL+"/setup/api/state", nil, nil); code != 401 {
		t.Fatalf("state before sign-in: %d", code)
	}
	var e map[string]string
	for i := range maxFails {
		if code := do(t, c, "POST", f.srv.URL+"/setup/api/login", map[string]string{"password": fmt.Sprint("guess", i)}, &e); code != 401 || e["code"] != "bad_password" {
			t.Fatalf("wrong password %d: %d %v", i, code, e)
		}
	}
	// Now even the right password waits.
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/login", map[string]string{"password": f.password()}, &e); code != 429 {
		t.Fatalf("after %d failures: %d %v", maxFails, code, e)
	}
	f.mu.Lock()
	f.now = f.now.Add(failWindow)
	f.mu.Unlock()
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/login", map[string]string{"password": f.password()}, nil); code != 200 {
		t.Fatalf("right password after the window: %d", code)
	}
	var st struct {
		GatewayID string `json:"gateway_id"`
		Plugins   []string
		Cameras   []cameraView
	}
	if code := do(t, c, "GET", f.srv.URL+"/setup/api/state", nil, &st); code != 200 || st.GatewayID != "gw-1" || len(st.Cameras) != 1 {
		t.Fatalf("state: %d %+v", code, st)
	}
	// No enroller plugged in: a code is refused plainly.
	if code := do(t, f.client(), "POST", f.srv.URL+"/setup/api/login", map[string]string{"code": "ABCD"}, &e); code != 501 || e["code"] != "enrol_unavailable" {
		t.Fatalf("code without enroller: %d %v", code, e)
	}
	// A foreign page cannot post.
	req, _ := http.NewRequest("POST", f.srv.URL+"/setup/api/login", strings.NewReader(`{"password":"x"}`))
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin login: %v %v", resp, err)
	}
	resp.Body.Close()
}

type fakeEnroller struct {
	good     string
	enrolled bool
}

func (e fakeEnroller) Enrol(_ context.Context, fleet, code string) (Enrolled, error) {
	switch {
	case e.enrolled:
		return Enrolled{}, ErrEnrolled
	case fleet == "https://down.example":
		return Enrolled{}, fmt.Errorf("fleet unreachable")
	case code != e.good:
		return Enrolled{}, ErrCodeRefused
	}
	return Enrolled{GatewayID: "gw-new", CanteenID: "c-1"}, nil
}

func TestEnrolmentCodeSignsIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "127.0.0.1:9")
	f.page.SetEnroller(fakeEnroller{good: "K7M2-Q9XV"})
	var e map[string]any
	login := func(c *http.Client, body map[string]string) int {
		e = nil
		return do(t, c, "POST", f.srv.URL+"/setup/api/login", body, &e)
	}
	if code := login(f.client(), map[string]string{"code": "nope", "fleet": "https://fleet.example"}); code != 401 || e["code"] != "bad_code" {
		t.Fatalf("wrong code: %d %v", code, e)
	}
	if code := login(f.client(), map[string]string{"code": "K7M2-Q9XV"}); code != 400 || e["code"] != "missing_fleet" {
		t.Fatalf("no fleet address: %d %v", code, e)
	}
	if code := login(f.client(), map[string]string{"code": "K7M2-Q9XV", "fleet": "https://down.example"}); code != 502 || e["code"] != "enrol_failed" {
		t.Fatalf("fleet down: %d %v", code, e)
	}
	c := f.client()
	if code := login(c, map[string]string{"code": "K7M2-Q9XV", "fleet": "https://fleet.example"}); code != 200 {
		t.Fatalf("good code: %d %v", code, e)
	}
	// The holder of a good code is shown the setup password, for after
	// the restart that the enrolment brings.
	pw, _ := os.ReadFile(filepath.Join(f.page.DataDir, PasswordFile))
	if e["restarting"] != true || e["password"] != strings.TrimSpace(string(pw)) || e["enrolled"].(map[string]any)["gateway_id"] != "gw-new" {
		t.Fatalf("good code's answer: %v", e)
	}
	if code := do(t, c, "GET", f.srv.URL+"/setup/api/state", nil, &e); code != 200 || e["enrol"] != true {
		t.Fatalf("state: %d %v", code, e)
	}
	// Enrolled already: a code would make a second identity.
	f.page.SetEnroller(fakeEnroller{good: "K7M2-Q9XV", enrolled: true})
	if code := login(f.client(), map[string]string{"code": "K7M2-Q9XV", "fleet": "https://fleet.example"}); code != 409 || e["code"] != "enrolled" {
		t.Fatalf("enrolled gateway: %d %v", code, e)
	}
}

func TestDiscoverProbeSave(t *testing.T) {
	t.Parallel()
	s := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := &camsim.ONVIF{Server: s, Discovery: "127.0.0.1:0", Username: "admin", Password: "cam-pw",
		Profiles: []camsim.ONVIFProfile{{Token: "main", Path: "kitchen"}, {Token: "sub", Path: "empty"}}}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	f := newFixture(t, o.DiscoveryAddr())
	c := f.client()
	do(t, c, "POST", f.srv.URL+"/setup/api/login", map[string]string{"password": f.password()}, nil)

	var disc onvif.Result
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/discover", map[string]any{}, &disc); code != 200 || len(disc.Devices) != 1 {
		t.Fatalf("discover: %d %+v", code, disc)
	}
	var e map[string]string
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/onvif", map[string]string{"xaddr": disc.Devices[0].XAddrs[0], "username": "admin", "password": "bad"}, &e); code != 502 || e["code"] != "camera_auth" {
		t.Fatalf("wrong camera password: %d %v", code, e)
	}
	var streams struct{ Profiles []onvif.Profile }
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/onvif", map[string]string{"xaddr": disc.Devices[0].XAddrs[0], "username": "admin", "password": "cam-pw"}, &streams); code != 200 || len(streams.Profiles) != 2 {
		t.Fatalf("streams: %d %+v", code, streams)
	}
	var probe struct {
		Codec        string
		Width        int
		FPS          float64
		Preview      string
		PreviewError string `json:"preview_error"`
	}
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/probe", map[string]string{"url": streams.Profiles[0].URI}, &probe); code != 200 {
		t.Fatalf("probe: %d %+v", code, probe)
	}
	if probe.Codec != "H264" || probe.Width != 640 || probe.FPS < 8 || probe.FPS > 12 || !strings.HasPrefix(probe.Preview, "data:image/jpeg;base64,/9j/") {
		t.Fatalf("probe %+v", probe)
	}

	sub := streams.Profiles[1].URI
	edit := map[string]any{"name": "灶台", "url": streams.Profiles[0].URI, "live_url": sub, "username": "admin", "password": "cam-pw",
		"area": "cooking", "public": true, "detectors": []string{"tamper"}}
	var st struct{ Cameras []cameraView }
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-1", edit, &st); code != 200 || len(st.Cameras) != 2 {
		t.Fatalf("save: %d %+v", code, st)
	}
	if st.Cameras[1].URL != strings.Replace(streams.Profiles[0].URI, "rtsp://", "rtsp://admin:xxxxx@", 1) {
		t.Fatalf("listed url %q", st.Cameras[1].URL)
	}
	b, _ := os.ReadFile(f.file)
	cfg, err := config.Load(f.file)
	if err != nil {
		t.Fatalf("saved file does not load: %v\n%s", err, b)
	}
	cam, _ := cfg.Camera("cam-1")
	if cam.Name != "灶台" || cam.Area != "cooking" || !cam.Public || !strings.Contains(cam.URL, "admin:cam-pw@") || !strings.HasSuffix(cam.LiveURL, "/empty") ||
		len(cam.Detect.Rules().Rules) != 4 {
		t.Fatalf("saved camera %+v\n%s", cam, b)
	}
	if !strings.Contains(string(b), "# keep this comment") {
		t.Fatalf("comments lost:\n%s", b)
	}
	if len(f.applied) != 1 || len(f.applied[0].Cameras) != 2 {
		t.Fatalf("applied %d", len(f.applied))
	}

	// Edited without a URL: the URL and live stream stay.
	edit = map[string]any{"name": "灶台 2", "area": "cooking", "public": false, "live_url": nil, "detectors": []string{"tamper"}}
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-1", edit, &st); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	cfg, _ = config.Load(f.file)
	if cam2, _ := cfg.Camera("cam-1"); cam2.URL != cam.URL || cam2.LiveURL != cam.LiveURL || cam2.Name != "灶台 2" || cam2.Public {
		t.Fatalf("edited camera %+v", cam2)
	}

	// Refused by the loader: the file stays as it was, the error names the key.
	before, _ := os.ReadFile(f.file)
	bad := map[string]any{"url": "rtsp://10.0.0.5/x", "area": strings.Repeat("a", 65)}
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-2", bad, &e); code != 400 || !strings.Contains(e["error"], "cameras[2].area") {
		t.Fatalf("bad area: %d %v", code, e)
	}
	bad = map[string]any{"url": "http://10.0.0.5/x"}
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-2", bad, &e); code != 400 || !strings.Contains(e["error"], "rtsp") {
		t.Fatalf("bad url: %d %v", code, e)
	}
	bad = map[string]any{"url": "rtsp://10.0.0.5/x", "detectors": []string{"nope"}}
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-2", bad, &e); code != 400 || !strings.Contains(e["error"], "nope") {
		t.Fatalf("unknown detector: %d %v", code, e)
	}
	bad = map[string]any{"url": "rtsp://10.0.0.5/x", "name": "a\"\nplugins: []\n", "detectors": []string{"tamper\"]\nevil: [1"}}
	if code := do(t, c, "PUT", f.srv.URL+"/setup/api/cameras/cam-2", bad, &e); code != 400 || !strings.Contains(e["error"], "detect") {
		t.Fatalf("injected detector: %d %v", code, e)
	}
	if after, _ := os.ReadFile(f.file); string(after) != string(before) {
		t.Fatal("a refused save changed the file")
	}
	if code := do(t, c, "DELETE", f.srv.URL+"/setup/api/cameras/old", nil, &st); code != 200 || len(st.Cameras) != 1 {
		t.Fatalf("delete: %d %+v", code, st)
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 3 { // gateway.yaml, the two password files, no temporaries
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("dir holds %v", names)
	}
}

// A fake camera that answers with hostile XML: each request gets a clear
// error, and the page goes on working.
func TestHostileCamera(t *testing.T) {
	t.Parallel()
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(`<?xml version="1.0"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>`))
			w.Write([]byte(strings.Repeat("<x>", onvif.MaxResponse/3+10)))
		case "/entity":
			w.Write([]byte(`<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>&b;</e:Body></e:Envelope>`))
		default:
			w.Write([]byte("<<<not xml"))
		}
	}))
	defer hostile.Close()
	// The probe of a port where nothing listens retries until its
	// timeout: a short one, as the answer is the same.
	f := newFixture(t, "127.0.0.1:9", func(p *Page) { p.ProbeTimeout = 2 * time.Second })
	c := f.client()
	do(t, c, "POST", f.srv.URL+"/setup/api/login", map[string]string{"password": f.password()}, nil)
	for path, want := range map[string]string{"/big": "too large", "/entity": "malformed", "/x": "malformed"} {
		var e map[string]string
		code := do(t, c, "POST", f.srv.URL+"/setup/api/onvif", map[string]string{"xaddr": hostile.URL + path}, &e)
		if code != 502 || !strings.Contains(e["error"], want) {
			t.Errorf("%s: %d %v, want %q", path, code, e, want)
		}
	}
	var e map[string]string
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/onvif", map[string]string{"xaddr": "file:///etc/passwd"}, &e); code != 502 || !strings.Contains(e["error"], "not an http(s) URL") {
		t.Errorf("file xaddr: %d %v", code, e)
	}
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/probe", map[string]string{"url": "rtsp://127.0.0.1:9/none"}, &e); code != 502 || e["code"] != "probe_failed" {
		t.Errorf("probe of nothing: %d %v", code, e)
	}
	var st map[string]any
	if code := do(t, c, "GET", f.srv.URL+"/setup/api/state", nil, &st); code != 200 {
		t.Fatalf("page after hostile camera: %d", code)
	}
	big := strings.Repeat("a", 70<<10)
	if code := do(t, c, "POST", f.srv.URL+"/setup/api/probe", map[string]string{"url": big}, &e); code != 413 {
		t.Errorf("oversized body: %d", code)
	}
}
