package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/rules"
)

const withDetect = `gateway: {id: gw-01}
plugins:
  - name: tamper
  - name: motion
    path: /opt/bk/motion
    deadline: 500ms
    ping_every: 1s
    max_restarts: 3
  - name: unused
cameras:
  - id: cam-1
    url: rtsp://10.0.0.5/main
    detect:
      fps: 2
      plugins:
        - name: tamper
        - name: motion
          params: {min_area: "0.01", warmup: 5}
      schedule:
        timezone: Asia/Shanghai
        hours: ["06:00-20:00"]
      rules:
        - type: camera_occluded
          plugin: tamper
        - type: after_hours_motion
          plugin: motion
          min_score: 0.6
          zone: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
          cooldown: 10m
  - id: cam-2
    url: rtsp://10.0.0.6/main
`

func TestDetect(t *testing.T) {
	c, err := Parse([]byte(withDetect), nil)
	if err != nil {
		t.Fatal(err)
	}
	cam1, cam2 := c.Cameras[0], c.Cameras[1]
	if !cam1.Detect.IsSet() || cam2.Detect.IsSet() {
		t.Fatalf("IsSet: cam-1 %v, cam-2 %v", cam1.Detect.IsSet(), cam2.Detect.IsSet())
	}
	if r := cam2.Detect.Rules(); !reflect.DeepEqual(r, rules.CameraRules{}) {
		t.Errorf("absent detect: %+v", r)
	}
	r := cam1.Detect.Rules()
	if r.FPS != 2 || len(r.Plugins) != 2 || r.Plugins[1].Params["warmup"] != "5" ||
		r.Schedule.Timezone != "Asia/Shanghai" || !slices.Equal(r.Schedule.Hours, []string{"06:00-20:00"}) ||
		len(r.Rules) != 2 || r.Rules[1].MinScore != 0.6 || r.Rules[1].Cooldown != 10*time.Minute ||
		len(r.Rules[1].Zone) != 4 || r.Rules[1].Zone[1][0] != 1 {
		t.Errorf("detect: %+v", r)
	}
	// what the config holds is what rules.Parse makes of the section
	section := withDetect[strings.Index(withDetect, "      fps"):strings.Index(withDetect, "  - id: cam-2")]
	direct, err := rules.Parse([]byte(strings.ReplaceAll(section, "\n      ", "\n")[6:]))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := NewDetect(direct); err != nil || d != cam1.Detect {
		t.Errorf("config's detect differs from rules.Parse's:\n%+v\n%+v", r, direct)
	}
	if _, err := rules.NewEngine("cam-1", r); err != nil {
		t.Errorf("NewEngine: %v", err)
	}

	// Rules is a copy: changing it changes nothing in the config
	r.Plugins[1].Params["warmup"] = "9"
	r.Rules[1].Zone[0][0] = 0.5
	if again := cam1.Detect.Rules(); again.Plugins[1].Params["warmup"] != "5" || again.Rules[1].Zone[0][0] != 0 {
		t.Errorf("Rules shares state with the config: %+v", again)
	}

	// a Camera is still comparable, and equal sections are ==
	c2, err := Parse([]byte(withDetect), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Cameras[0] != cam1 || c2.Cameras[0] == c2.Cameras[1] {
		t.Error("cameras with the same detect section are not ==")
	}
	if c.Redacted().Cameras[0].Detect != cam1.Detect {
		t.Error("Redacted changed the detect section")
	}
}

func TestDetectAliases(t *testing.T) {
	// a section shared through an anchor, and one brought in by a merge key
	doc := `gateway: {id: gw-01}
plugins: [{name: tamper}]
cameras:
  - id: a
    url: rtsp://h/a
    detect: &d
      plugins: [{name: tamper}]
      rules: [{type: camera_dark}]
  - id: b
    url: rtsp://h/b
    detect: *d
  - &c
    id: c
    url: rtsp://h/c
    detect:
      plugins: &p [{name: tamper}]
  - <<: *c
    id: e
  - id: f
    url: rtsp://h/f
    detect: {plugins: *p}
`
	c, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cameras[0].Detect != c.Cameras[1].Detect || c.Cameras[2].Detect != c.Cameras[3].Detect ||
		c.Cameras[2].Detect != c.Cameras[4].Detect || len(c.Cameras[0].Detect.Rules().Rules) != 1 {
		t.Errorf("aliased detect sections differ: %+v", c.Cameras)
	}
}

func TestDetectErrors(t *testing.T) {
	const head = "gateway: {id: gw-01}\nplugins: [{name: tamper}, {name: motion}]\ncameras:\n- id: a\n  url: rtsp://h/\n  detect:\n"
	for _, tc := range []struct {
		name string
		doc  string // after head, under detect
		want string
	}{
		{"unknown key", "    plugins: [{name: tamper}]\n    rule: []\n", `cameras[0].detect: unknown key "rule", did you mean "rules"? (line 8)`},
		{"unknown nested key", "    plugins: [{name: tamper}]\n    rules:\n    - type: camera_dark\n    - type: camera_dark\n      zonee: []\n",
			`cameras[0].detect.rules[1]: unknown key "zonee", did you mean "zone"? (line 11)`},
		{"zone out of range", "    plugins: [{name: tamper}]\n    rules:\n    - type: camera_dark\n    - type: camera_dark\n      zone:\n      - [0, 0]\n      - [1, 0]\n      - [1, 1.5]\n",
			"cameras[0].detect.rules[1].zone[2]: y 1.5 is outside 0..1 (coordinates are fractions of the picture) (line 14)"},
		{"zone too short", "    plugins: [{name: tamper}]\n    rules: [{type: camera_dark, zone: [[0, 0], [1, 1]]}]\n",
			"cameras[0].detect.rules[0].zone: polygon needs at least 3 points, got 2 (line 8)"},
		{"unknown plugin", "    plugins:\n    - name: tamper\n    - name: smoke\n",
			`cameras[0].detect.plugins[1].name: unknown plugin "smoke": not in the top-level plugins list (line 9)`},
		{"rule plugin not on camera", "    plugins: [{name: tamper}]\n    rules:\n    - {type: after_hours_motion, plugin: motion}\n    schedule: {hours: ['06:00-20:00']}\n",
			`cameras[0].detect.rules[0].plugin: "motion" is not in plugins (line 9)`},
		{"after hours without hours", "    plugins: [{name: motion}]\n    rules:\n    - type: after_hours_motion\n",
			"cameras[0].detect.rules[0].when: after_hours needs operating hours in schedule.hours (line 9)"},
		{"bad hours", "    plugins: [{name: tamper}]\n    schedule:\n      hours: ['6-20']\n",
			`cameras[0].detect.schedule.hours[0]: "6-20": want a range like "06:00-13:30" (HH:MM, 00:00 to 24:00) (line 9)`},
		{"fps type", "    fps: fast\n", `cameras[0].detect.fps: want a number, got "fast" (line 7)`},
		{"fps range", "    fps: 60\n", "cameras[0].detect.fps: 60 is outside 0..30 (0 = IDR frames only) (line 7)"},
		{"cooldown type", "    plugins: [{name: tamper}]\n    rules: [{type: camera_dark, cooldown: 10}]\n",
			`cameras[0].detect.rules[0].cooldown: want a duration like "30s", got "10" (line 8)`},
		{"params not a map", "    plugins: [{name: tamper, params: [a]}]\n", "cameras[0].detect.plugins[0].params: want a mapping, got a list (line 7)"},
		{"params duplicate", "    plugins: [{name: tamper, params: {a: 1, a: 2}}]\n",
			`cameras[0].detect.plugins[0].params: duplicate key "a" (first at line 7) (line 7)`},
		{"bad plugin name", "    plugins: [{name: Tamper}]\n",
			`cameras[0].detect.plugins[0].name: "Tamper": want lowercase letters, digits, _ and -, at most 64 (line 7)`},
		{"not a mapping", "    - tamper\n", "cameras[0].detect: want a mapping, got a list (line 7)"},
		{"rules without plugins", "    rules: [{type: camera_dark}]\n", "cameras[0].detect.plugins: the rules need at least one plugin to feed them (line 6)"},
		{"label role", "    plugins:\n    - name: tamper\n      labels:\n        hat: {role: hat}\n",
			`cameras[0].detect.plugins[0].labels.hat.role: "hat": want person, attribute or object (line 10)`},
		{"label role unknown key", "    plugins:\n    - name: tamper\n      labels:\n        hat: {role: attribute, zone: head}\n",
			`cameras[0].detect.plugins[0].labels.hat: unknown key "zone", did you mean "role"? (line 10)`},
		{"tracker", "    plugins: [{name: tamper}]\n    tracker:\n      max_age: 1h\n",
			"cameras[0].detect.tracker.max_age: 1h0m0s is outside 0..10m0s (line 9)"},
		{"min_overlap on the wrong type", "    plugins: [{name: tamper}]\n    rules:\n    - type: no_mask\n      min_overlap: 0.3\n",
			"cameras[0].detect.rules[0].min_overlap: only for smoking and phone (line 10)"},
		{"rodent hours", "    plugins: [{name: tamper}]\n    rules:\n    - type: rodent\n      when: operating\n",
			"cameras[0].detect.rules[0].when: rodent is a violation at any hour: leave it out (line 10)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head+tc.doc), nil)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if !slices.Contains(lines, tc.want) {
				t.Errorf("got\n  %s\nwant a line\n  %s", strings.Join(lines, "\n  "), tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%T is not an *Error", err)
			}
		})
	}
}

// A section built in Go is checked by Validate, with the same paths.
func TestDetectValidateGo(t *testing.T) {
	c := Default()
	c.Gateway.ID = "gw-01"
	p := defaultPlugin()
	p.Name, p.Path = "tamper", "/x"
	c.Plugins = []Plugin{p}
	det, err := NewDetect(rules.CameraRules{
		Plugins: []rules.PluginRef{{Name: "tamper"}, {Name: "smoke"}},
		Rules:   []rules.Rule{{Type: "camera_dark", Zone: [][]float64{{0, 0}, {1, 0}, {2, 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cam := defaultCamera()
	cam.ID, cam.URL, cam.Detect = "a", "rtsp://h/", det
	c.Cameras = []Camera{cam}
	err = c.Validate()
	for _, want := range []string{
		"cameras[0].detect.rules[0].zone[2]: x 2 is outside 0..1 (coordinates are fractions of the picture)",
		`cameras[0].detect.plugins[1].name: unknown plugin "smoke": not in the top-level plugins list`,
	} {
		if err == nil || !slices.Contains(strings.Split(err.Error(), "\n"), want) {
			t.Errorf("Validate: got %v, want a line %q", err, want)
		}
	}
}

func TestPlugins(t *testing.T) {
	c, err := Parse([]byte(withDetect), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Plugin{
		{Name: "tamper", Path: "/usr/lib/bk-gateway/plugins/bk-plugin-tamper", Deadline: 2 * time.Second, PingEvery: 5 * time.Second, MaxRestarts: 5},
		{Name: "motion", Path: "/opt/bk/motion", Deadline: 500 * time.Millisecond, PingEvery: time.Second, MaxRestarts: 3},
		{Name: "unused", Path: "/usr/lib/bk-gateway/plugins/bk-plugin-unused", Deadline: 2 * time.Second, PingEvery: 5 * time.Second, MaxRestarts: 5},
	}
	if !slices.Equal(c.Plugins, want) {
		t.Errorf("plugins:\n got %+v\nwant %+v", c.Plugins, want)
	}
	if p, ok := c.Plugin("motion"); !ok || p.Path != "/opt/bk/motion" {
		t.Errorf("Plugin(motion) = %+v, %v", p, ok)
	}
	if _, ok := c.Plugin("smoke"); ok {
		t.Error("Plugin(smoke) found")
	}

	c, err = Parse([]byte("gateway: {id: gw-01}\nplugin_dir: /srv/plugins\nplugins: [{name: a}, {name: b, path: rel/b}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Plugins[0].Path != "/srv/plugins/bk-plugin-a" || c.Plugins[1].Path != "rel/b" {
		t.Errorf("Parse paths: %+v", c.Plugins)
	}

	for _, tc := range []struct{ doc, want string }{
		{"plugins: [{name: ''}]", "plugins[0].name: required (line 2)"},
		{"plugins: [{path: /x}]", "plugins[0].name: required"},
		{"plugins: [{name: Motion}]", `plugins[0].name: "Motion" is not a valid plugin name (1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit) (line 2)`},
		{"plugins: [{name: _x}]", `plugins[0].name: "_x" is not a valid plugin name (1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit) (line 2)`},
		{"plugins:\n- {name: a}\n- {name: a}\n", `plugins[1].name: duplicate name "a" (also plugins[0]) (line 4)`},
		{"plugins: [{name: a, deadline: 10ms}]", "plugins[0].deadline: 10ms is too short, minimum 50ms (line 2)"},
		{"plugins: [{name: a, deadline: 2m}]", "plugins[0].deadline: 2m0s is too long, maximum 1m0s (line 2)"},
		{"plugins: [{name: a, ping_every: 50ms}]", "plugins[0].ping_every: 50ms is too short, minimum 100ms (line 2)"},
		{"plugins: [{name: a, ping_every: 11m}]", "plugins[0].ping_every: 11m0s is too long, maximum 10m0s (line 2)"},
		{"plugins: [{name: a, max_restarts: 0}]", "plugins[0].max_restarts: 0 is out of range 1 to 100 (line 2)"},
		{"plugins: [{name: a, max_restarts: 101}]", "plugins[0].max_restarts: 101 is out of range 1 to 100 (line 2)"},
		{"plugins: [{name: a, deadline: 2}]", `plugins[0].deadline: want a duration like "30s", got "2" (line 2)`},
		{"plugins: [{name: a, pth: /x}]", `plugins[0]: unknown key "pth", did you mean "path"? (line 2)`},
		{"plugins: {name: a}", "plugins: want a list, got a mapping (line 2)"},
		{"plugin_dir: ''", "plugin_dir: required (line 2)"},
	} {
		_, err := Parse([]byte("gateway: {id: gw-01}\n"+tc.doc), nil)
		if err == nil || !slices.Contains(strings.Split(err.Error(), "\n"), tc.want) {
			t.Errorf("%s: got %v, want a line %q", tc.doc, err, tc.want)
		}
	}
}

func TestPluginPathsLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "gateway.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(doc string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("gateway: {id: gw-01}\nplugins:\n- {name: a, path: ./bin/a}\n- {name: b, path: ../b}\n- {name: c, path: /abs/c}\n- {name: d}\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(dir, "etc")
	want := []string{filepath.Join(etc, "bin", "a"), filepath.Join(dir, "b"), "/abs/c", "/usr/lib/bk-gateway/plugins/bk-plugin-d"}
	for i, w := range want {
		if c.Plugins[i].Path != w {
			t.Errorf("plugins[%d].path = %q, want %q", i, c.Plugins[i].Path, w)
		}
	}

	// a relative plugin_dir is taken from the file's directory too
	write("gateway: {id: gw-01}\nplugin_dir: plugins\nplugins: [{name: d}]\n")
	if c, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if c.PluginDir != filepath.Join(etc, "plugins") || c.Plugins[0].Path != filepath.Join(etc, "plugins", "bk-plugin-d") {
		t.Errorf("relative plugin_dir: %q, %q", c.PluginDir, c.Plugins[0].Path)
	}

	// and BK_PLUGIN_DIR sets it
	t.Setenv("BK_PLUGIN_DIR", "/opt/plugins")
	if c, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if c.Plugins[0].Path != "/opt/plugins/bk-plugin-d" {
		t.Errorf("BK_PLUGIN_DIR: %q", c.Plugins[0].Path)
	}

	// what the JSON form carries is the resolved path
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Plugins[0].Path != "/opt/plugins/bk-plugin-d" {
		t.Errorf("after JSON: %q", c2.Plugins[0].Path)
	}
}

// YAML -> Config -> JSON -> Config gives the same config.
func TestDetectJSONRoundTrip(t *testing.T) {
	c, err := Parse([]byte(withDetect), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Cameras []map[string]json.RawMessage `json:"cameras"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if _, ok := generic.Cameras[0]["detect"]; !ok {
		t.Errorf("cam-1 has no detect in JSON: %s", b)
	}
	if _, ok := generic.Cameras[1]["detect"]; ok {
		t.Errorf("cam-2 has a detect in JSON, want it left out: %s", b)
	}
	for _, want := range []string{`"cooldown":"10m0s"`, `"params":{"min_area":"0.01","warmup":"5"}`, `"zone":[[0,0.5],[1,0.5],[1,1],[0,1]]`, `"fps":2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	c2, err := FromJSON(b)
	if err != nil {
		t.Fatalf("FromJSON: %v\n%s", err, b)
	}
	c.origin, c2.origin = nil, nil
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip changed the config:\n%+v\n%+v", c, c2)
	}
	if !reflect.DeepEqual(c.Cameras[0].Detect.Rules(), c2.Cameras[0].Detect.Rules()) {
		t.Error("round trip changed the rules")
	}

	// the fleet's form of a detect section: only the keys it needs
	_, err = FromJSON([]byte(`{"gateway": {"id": "gw-01"}, "plugins": [{"name": "tamper"}],
 "cameras": [{"id": "a", "url": "rtsp://h/", "detect": {"plugins": [{"name": "tamper"}],
  "rules": [{"type": "camera_dark", "zone": [[0, 0], [1, 0], [1, 1.5]]}]}}]}`))
	if err == nil || !strings.Contains(err.Error(), "cameras[0].detect.rules[0].zone[2]: y 1.5 is outside 0..1 (coordinates are fractions of the picture) (line 3)") {
		t.Errorf("FromJSON bad zone: %v", err)
	}
}

// The BK_* environment still works beside detect sections, and does not
// reach into them.
func TestDetectEnv(t *testing.T) {
	e := env(map[string]string{
		"BK_LOG_LEVEL":              "debug",
		"BK_CAMERAS_0_DETECT_FPS":   "30",
		"BK_CAMERAS_0_DETECT":       "{}",
		"BK_DETECT_FPS":             "30",
		"BK_PLUGINS_0_DEADLINE":     "1m",
		"BK_CAMERAS_0_URL":          "rtsp://evil/",
		"BK_UPLINK_HEARTBEAT":       "5s",
		"BK_DEBUG_SYNTHETIC_EVENTS": "1",
	})
	c, err := Parse([]byte(withDetect), e)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse([]byte(withDetect), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "debug" || c.Uplink.Heartbeat != 5*time.Second {
		t.Errorf("env not applied: %+v", c)
	}
	if c.Cameras[0] != want.Cameras[0] || !slices.Equal(c.Plugins, want.Plugins) {
		t.Errorf("env reached cameras or plugins:\n%+v\n%+v", c.Cameras[0], c.Plugins)
	}
}

// TestExampleAICamera: the commented AI camera of example.yaml, with its
// plugin and its model, once uncommented, is a valid config.
func TestExampleAICamera(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	blocks := 0
	for _, line := range strings.Split(string(data), "\n") {
		switch strings.TrimSpace(line) {
		case "# >>> ai example":
			in = true
			blocks++
			continue
		case "# <<< ai example":
			in = false
			continue
		}
		if in {
			i := strings.Index(line, "# ")
			if i < 0 {
				t.Fatalf("line %q in the example block is not commented", line)
			}
			line = line[:i] + line[i+2:]
		}
		out = append(out, line)
	}
	if blocks != 3 {
		t.Fatalf("%d example blocks, want the plugin's, its model's and the camera's", blocks)
	}
	c, err := Parse([]byte(strings.Join(out, "\n")), nil)
	if err != nil {
		t.Fatalf("uncommented AI camera: %v", err)
	}
	if m, path, ok := c.Model("onnx"); !ok || m.Name != "camsim-demo" || path != "/usr/lib/bk-gateway/models/camsim-demo.onnx" {
		t.Errorf("model of onnx: %+v %q", m, path)
	}
	cam, ok := c.Camera("cam-2")
	if !ok {
		t.Fatal("no cam-2")
	}
	r := cam.Detect.Rules()
	if len(r.Rules) != 9 || r.Plugins[0].Labels["hat"].Means != "chef_hat" || r.Tracker.MaxAge != 10*time.Second {
		t.Fatalf("detect %+v", r)
	}
	if _, err := rules.NewEngine(cam.ID, r); err != nil {
		t.Fatal(err)
	}
	// as the fleet pushes it: the same config back from its JSON form
	j, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromJSON(j)
	if err != nil {
		t.Fatalf("from JSON: %v", err)
	}
	if bc, _ := back.Camera("cam-2"); !reflect.DeepEqual(bc.Detect.Rules(), r) {
		t.Fatalf("JSON round trip:\n got %+v\nwant %+v", bc.Detect.Rules(), r)
	}
}
