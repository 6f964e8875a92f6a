package config

import (
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

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// The example is the reference: it loads, it shows every key, and every
// value it shows is the default (except the ones a real file must set).
func TestExample(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, nil)
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}

	want := Default()
	want.Gateway.ID = "gw-01"
	want.Broker.ClientID = "gw-01"
	cam := defaultCamera()
	cam.ID, cam.URL, cam.Area, cam.Name = "cam-1", "rtsp://127.0.0.1:8554/kitchen", "cooking", "Hot line, stove side"
	tamper := func(typ string) rules.Rule { return rules.Rule{Type: typ, Plugin: "tamper", When: rules.WhenAlways} }
	cam.Detect, err = NewDetect(rules.CameraRules{
		Plugins:  []rules.PluginRef{{Name: "tamper"}, {Name: "motion", Params: map[string]string{"min_area": "0.002"}}},
		Schedule: rules.Schedule{Timezone: "Asia/Shanghai", Hours: []string{"06:00-20:00"}},
		Rules: []rules.Rule{tamper("camera_occluded"), tamper("camera_dark"), tamper("camera_blurred"), tamper("camera_frozen"),
			{Type: "after_hours_motion", Plugin: "motion", Zone: [][]float64{{0.05, 0.45}, {0.95, 0.45}, {0.95, 1}, {0.05, 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want.Cameras = []Camera{cam}
	for _, name := range []string{"tamper", "motion"} {
		p := defaultPlugin()
		p.Name, p.Path = name, "/usr/lib/bk-gateway/plugins/bk-plugin-"+name
		want.Plugins = append(want.Plugins, p)
	}
	gj, _ := got.JSON()
	wj, _ := want.JSON()
	if string(gj) != string(wj) {
		t.Errorf("example.yaml differs from the defaults:\n got %s\nwant %s", gj, wj)
	}

	// every key of the schema, cameras' included, appears in the example
	var missing []string
	var walk func(rt reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		for _, f := range fieldList(rt) {
			p := join(path, f.name)
			if _, ok := got.origin[p]; !ok {
				missing = append(missing, p)
			}
			ft := rt.Field(f.index).Type
			switch {
			case ft.Kind() == reflect.Struct:
				walk(ft, p)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), p+"[0]")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if len(missing) > 0 {
		t.Errorf("example.yaml does not show %v", missing)
	}

	// and it names every environment override
	for _, ev := range []string{"BK_GATEWAY_ID", "BK_BROKER_URL", "BK_BROKER_USERNAME", "BK_BROKER_PASSWORD",
		"BK_SPOOL_PATH", "BK_SPOOL_MAX_BYTES", "BK_HTTP_LISTEN", "BK_LOG_LEVEL", "BK_LOG_FORMAT", "BK_PLUGIN_DIR", "BK_MODEL_DIR"} {
		if !strings.Contains(string(data), ev) {
			t.Errorf("example.yaml does not mention %s", ev)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte("gateway: {id: gw-file}\nspool: {max_bytes: 1GB}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BK_GATEWAY_ID", "gw-env")
	t.Setenv("BK_BROKER_PASSWORD", "s3cret")
	t.Setenv("BK_HTTP_LISTEN", "")
	t.Setenv("BK_UPLINK_HEARTBEAT", "5s")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.ID != "gw-env" || c.Broker.ClientID != "gw-env" || c.Broker.Password != "s3cret" ||
		c.HTTP.Listen != "" || c.Uplink.Heartbeat != 5*time.Second || c.Spool.MaxBytes != 1e9 {
		t.Errorf("env not applied: %+v", c)
	}

	t.Setenv("BK_SPOOL_MAX_BYTES", "lots")
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), "BK_SPOOL_MAX_BYTES") || !strings.Contains(err.Error(), path) {
		t.Errorf("bad env value: got %v, want an error naming BK_SPOOL_MAX_BYTES and the file", err)
	}

	if _, err := Load(filepath.Join(dir, "nope.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
}

const good = `gateway: {id: gw-01}
cameras:
  - id: cam-1
    url: rtsp://10.0.0.5/main
  - id: cam-2
    url: rtsps://user:pw@10.0.0.6:322/main
    transport: tcp
    area: washing
    public: true
    live_url: rtsp://10.0.0.6/sub
    name: 洗消间
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Cameras) != 2 || c.Cameras[0].Transport != "auto" || c.Cameras[1].Transport != "tcp" ||
		!c.Cameras[1].Public || c.Cameras[1].Name != "洗消间" {
		t.Errorf("cameras: %+v", c.Cameras)
	}
	if cam, ok := c.Camera("cam-2"); !ok || cam.Area != "washing" {
		t.Errorf("Camera(cam-2) = %+v, %v", cam, ok)
	}
	if c.Log.SlogLevel().String() != "INFO" {
		t.Errorf("SlogLevel = %v", c.Log.SlogLevel())
	}
	r := c.Redacted()
	if strings.Contains(r.Cameras[1].URL, "pw") || c.Cameras[1].URL != "rtsps://user:pw@10.0.0.6:322/main" {
		t.Errorf("Redacted: %q (original %q)", r.Cameras[1].URL, c.Cameras[1].URL)
	}
}

func TestParseEmptyAndNull(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "---\n", "gateway:\n", "gateway: {id: gw-01}\nspool:\nuplink: {heartbeat: }\n"} {
		_, err := Parse([]byte(doc), env(map[string]string{"BK_GATEWAY_ID": "gw-01"}))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

func TestMergeAndAliases(t *testing.T) {
	doc := `gateway: {id: gw-01}
x-cam: &cam {transport: tcp, area: cooking}
cameras:
  - <<: *cam
    id: cam-1
    url: rtsp://h/1
  - <<: *cam
    id: cam-2
    url: rtsp://h/2
    area: washing
`
	_, err := Parse([]byte(doc), nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "x-cam" (line 2)`) {
		t.Fatalf("a stray top-level anchor key should be unknown: %v", err)
	}
	doc = strings.Replace(doc, "x-cam: &cam {transport: tcp, area: cooking}\ncameras:\n  - <<: *cam",
		"cameras:\n  - &cam\n    transport: tcp\n    area: cooking", 1)
	doc = strings.Replace(doc, "  - <<: *cam\n    id: cam-1\n", "", 1)
	c, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(doc, err)
	}
	if c.Cameras[1].Transport != "tcp" || c.Cameras[1].Area != "washing" {
		t.Errorf("merge: %+v", c.Cameras[1])
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		env  map[string]string
		want string // the exact message, or the line of it that matters
	}{
		{"missing id", "broker: {}", nil, "gateway.id: required"},
		{"bad id", "gateway: {id: 'gw 01'}", nil, `gateway.id: "gw 01" is not a valid id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit) (line 1)`},
		{"unknown top", "gateway: {id: gw-01}\ncamera: []\n", nil, `unknown key "camera", did you mean "cameras"? (line 2)`},
		{"unknown nested", "gateway: {id: gw-01}\nspool:\n  maxbytes: 1GB\n", nil, `spool: unknown key "maxbytes", did you mean "max_bytes"? (line 3)`},
		{"unknown camera key", "gateway: {id: gw-01}\ncameras:\n  - id: a\n    url: rtsp://h/\n  - id: b\n    urll: rtsp://h/\n", nil,
			`cameras[1]: unknown key "urll", did you mean "url"? (line 6)`},
		{"duplicate key", "gateway: {id: gw-01}\nlog:\n  level: info\n  level: debug\n", nil, `log: duplicate key "level" (first at line 3) (line 4)`},
		{"camera url scheme", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/'}\n- {id: b, url: 'rtsp://h/'}\n- {id: c, url: 'http://h/'}\n", nil,
			"cameras[2].url: scheme must be rtsp or rtsps (line 5)"},
		{"camera url missing", "gateway: {id: gw-01}\ncameras:\n- {id: a}\n", nil, "cameras[0].url: required"},
		{"camera url no host", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp:///x'}\n", nil, "cameras[0].url: missing host (line 3)"},
		{"camera id missing", "gateway: {id: gw-01}\ncameras:\n- {url: 'rtsp://h/'}\n", nil, "cameras[0].id: required"},
		{"camera id dup", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/'}\n- {id: a, url: 'rtsp://h/'}\n", nil,
			`cameras[1].id: duplicate id "a" (also cameras[0]) (line 4)`},
		{"transport", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/', transport: quic}\n", nil,
			`cameras[0].transport: "quic" is not one of tcp, udp, auto (line 3)`},
		{"live url", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/', live_url: 'rtmp://h/'}\n", nil,
			"cameras[0].live_url: scheme must be rtsp or rtsps (line 3)"},
		{"public type", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/', public: yes}\n", nil,
			`cameras[0].public: want true or false, got "yes" (line 3)`},
		{"cameras not a list", "gateway: {id: gw-01}\ncameras: {id: a}\n", nil, "cameras: want a list, got a mapping (line 2)"},
		{"section not a map", "gateway: gw-01\n", nil, `gateway: want a mapping, got "gw-01" (line 1)`},
		{"string got map", "gateway: {id: {a: b}}\n", nil, "gateway.id: want a string, got a mapping (line 1)"},
		{"broker scheme", "gateway: {id: gw-01}\nbroker: {url: 'http://h:1883'}\n", nil,
			"broker.url: scheme must be one of tcp, ssl, tls, mqtt, mqtts, ws, wss (line 2)"},
		{"broker port", "gateway: {id: gw-01}\nbroker: {url: 'tcp://h:99999'}\n", nil, `broker.url: port "99999" is not a number from 1 to 65535 (line 2)`},
		{"keepalive unitless", "gateway: {id: gw-01}\nbroker: {keepalive: 30}\n", nil, `broker.keepalive: want a duration like "30s", got "30" (line 2)`},
		{"keepalive short", "gateway: {id: gw-01}\nbroker: {keepalive: 10ms}\n", nil, "broker.keepalive: 10ms is too short, minimum 1s (line 2)"},
		{"size", "gateway: {id: gw-01}\nspool: {max_bytes: 12 parsecs}\n", nil, `spool.max_bytes: want a size like "256MiB" or a number of bytes, got "12 parsecs" (line 2)`},
		{"size small", "gateway: {id: gw-01}\nspool: {max_bytes: 1000}\n", nil, "spool.max_bytes: 1000 is too small, minimum 1MiB (line 2)"},
		{"spool path", "gateway: {id: gw-01}\nspool: {path: ''}\n", nil, "spool.path: required (line 2)"},
		{"inflight", "gateway: {id: gw-01}\nuplink: {max_inflight: 0}\n", nil, "uplink.max_inflight: 0 is out of range 1 to 65535 (line 2)"},
		{"inflight type", "gateway: {id: gw-01}\nuplink: {max_inflight: many}\n", nil, `uplink.max_inflight: want an integer, got "many" (line 2)`},
		{"inflight float", "gateway: {id: gw-01}\nuplink: {max_inflight: 1.5}\n", nil, `uplink.max_inflight: want an integer, got "1.5" (line 2)`},
		{"negative grace", "gateway: {id: gw-01}\nuplink: {offline_grace: -1s}\n", nil, "uplink.offline_grace: must not be negative (line 2)"},
		{"listen", "gateway: {id: gw-01}\nhttp: {listen: 'localhost'}\n", nil, `http.listen: want host:port, a port or "" (off), got "localhost" (line 2)`},
		{"log level", "gateway: {id: gw-01}\nlog: {level: loud}\n", nil, `log.level: "loud" is not one of debug, info, warn, error (line 2)`},
		{"log format", "gateway: {id: gw-01}\nlog: {format: xml}\n", nil, `log.format: "xml" is not one of text, json (line 2)`},
		{"synthetic", "gateway: {id: gw-01}\ndebug: {synthetic_events: {total: -1}}\n", nil, "debug.synthetic_events.total: must not be negative (line 2)"},
		{"synthetic rate", "gateway: {id: gw-01}\ndebug: {synthetic_events: {rate: .nan}}\n", nil, `debug.synthetic_events.rate: want a number, got ".nan" (line 2)`},
		{"watchdog relative", "gateway: {id: gw-01}\nboard: {watchdog: {device: dev/watchdog}}\n", nil,
			`board.watchdog.device: "dev/watchdog": want an absolute path such as /dev/watchdog, or "" (off) (line 2)`},
		{"watchdog timeout fraction", "gateway: {id: gw-01}\nboard: {watchdog: {timeout: 1500ms}}\n", nil,
			"board.watchdog.timeout: 1.5s: want whole seconds, or 0 for the driver's own (line 2)"},
		{"watchdog timeout long", "gateway: {id: gw-01}\nboard: {watchdog: {timeout: 2h}}\n", nil,
			"board.watchdog.timeout: 2h0m0s is too long, maximum 1h0m0s (line 2)"},
		{"watchdog grace", "gateway: {id: gw-01}\nboard: {watchdog: {grace: -1s}}\n", nil,
			"board.watchdog.grace: must not be negative (line 2)"},
		{"status led name", "gateway: {id: gw-01}\nboard: {status_led: '../../etc'}\n", nil,
			`board.status_led: "../../etc": want an LED's name in /sys/class/leds (1 to 64 letters, digits, '.', '_', ':', '+' or '-', not "." or "..") or an absolute path (line 2)`},
		{"status led path", "gateway: {id: gw-01}\nboard: {status_led: '/sys/class/leds/../x'}\n", nil,
			`board.status_led: "/sys/class/leds/../x": want a clean absolute path (line 2)`},
		{"buzzer is the led", "gateway: {id: gw-01}\nboard: {status_led: ACT, buzzer: {device: /sys/class/leds/ACT}}\n", nil,
			`board.buzzer.device: "/sys/class/leds/ACT" is the status LED too (line 2)`},
		{"buzzer gap", "gateway: {id: gw-01}\nboard: {buzzer: {min_gap: 0s}}\n", nil,
			"board.buzzer.min_gap: 0s is too short, minimum 1s (line 2)"},
		{"ota key", "gateway: {id: gw-01}\nota: {trusted_keys: [abc]}\n", nil,
			"ota.trusted_keys: [0]: want the base64 of a 32-byte ed25519 public key (bk-fleet release keygen prints it) (line 2)"},
		{"ota confirm", "gateway: {id: gw-01}\nota: {confirm_timeout: 1s}\n", nil,
			"ota.confirm_timeout: 1s is too short, minimum 30s (line 2)"},
		{"ota bundle", "gateway: {id: gw-01}\nota: {max_bundle: 5GiB}\n", nil,
			"ota.max_bundle: 5368709120 bytes: want 1MiB to 4GiB (line 2)"},
		{"board typo", "gateway: {id: gw-01}\nboard: {status_lde: ACT}\n", nil,
			`board: unknown key "status_lde", did you mean "status_led"? (line 2)`},
		{"env watchdog", "gateway: {id: gw-01}\n", map[string]string{"BK_BOARD_WATCHDOG_DEVICE": "watchdog0"},
			`board.watchdog.device: "watchdog0": want an absolute path such as /dev/watchdog, or "" (off) (from BK_BOARD_WATCHDOG_DEVICE)`},
		{"control char", "gateway: {id: gw-01}\ncameras:\n- {id: a, url: 'rtsp://h/', name: \"a\\tb\"}\n", nil,
			"cameras[0].name: contains a control character (line 3)"},
		{"yaml syntax", "gateway: {id: gw-01\n", nil, "invalid YAML: line 1: did not find expected ',' or '}'"},
		{"two documents", "gateway: {id: gw-01}\n---\ngateway: {id: gw-02}\n", nil, "invalid YAML: more than one document"},
		{"top level list", "- a\n", nil, "want a mapping, got a list (line 1)"},

		{"env names variable", "gateway: {id: gw-01}\n", map[string]string{"BK_SPOOL_MAX_BYTES": "big"},
			`spool.max_bytes: want a size like "256MiB" or a number of bytes, got "big" (from BK_SPOOL_MAX_BYTES)`},
		{"env bad id", "gateway: {id: gw-01}\n", map[string]string{"BK_GATEWAY_ID": "no/slash"},
			`gateway.id: "no/slash" is not a valid id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit) (from BK_GATEWAY_ID)`},
		{"env bad level", "", map[string]string{"BK_GATEWAY_ID": "gw", "BK_LOG_LEVEL": "chatty"},
			`log.level: "chatty" is not one of debug, info, warn, error (from BK_LOG_LEVEL)`},
		{"env bad duration", "gateway: {id: gw-01}\n", map[string]string{"BK_UPLINK_ACK_TIMEOUT": "soon"},
			`uplink.ack_timeout: want a duration like "30s", got "soon" (from BK_UPLINK_ACK_TIMEOUT)`},
		{"env bad url", "gateway: {id: gw-01}\n", map[string]string{"BK_BROKER_URL": "localhost:1883"},
			"broker.url: scheme must be one of tcp, ssl, tls, mqtt, mqtts, ws, wss (from BK_BROKER_URL)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), env(tc.env))
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

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse([]byte("gateway: {id: ''}\nlog: {level: x, format: y}\n"), nil)
	if err == nil || len(strings.Split(err.Error(), "\n")) != 3 {
		t.Errorf("want 3 problems, got %v", err)
	}
}

func TestJSON(t *testing.T) {
	c, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"keepalive":"30s"`, `"max_bytes":"256MiB"`, `"name":"洗消间"`, `"public":true`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	c2, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := c2.JSON()
	if string(b) != string(b2) {
		t.Errorf("round trip:\n%s\n%s", b, b2)
	}

	// valid JSON that yaml.v3 would refuse
	c3, err := FromJSON([]byte("\t{\"gateway\": {\"id\": \"gw-01\"}, \"cameras\": [{\"id\": \"a\", \"url\": \"rtsp:\\/\\/h\\/x\", \"name\": \"\\ud83d\\ude00\"}]}"))
	if err != nil {
		t.Fatal(err)
	}
	if c3.Cameras[0].URL != "rtsp://h/x" || c3.Cameras[0].Name != "😀" {
		t.Errorf("escapes: %+v", c3.Cameras[0])
	}

	for _, tc := range []struct{ doc, want string }{
		{`{"gateway": {"id": "gw-01"}, "spool": {"max_bytes": "1GB", "maxbytes": 1}}`, `spool: unknown key "maxbytes", did you mean "max_bytes"? (line 1)`},
		{"{\"gateway\": {\"id\": \"gw-01\"},\n \"uplink\": {\"max_inflight\": \"10\"}}", `uplink.max_inflight: want an integer, got "10" (line 2)`},
		{`{"gateway": {"id": "gw-01"}, "cameras": [{"id": "a", "url": "ftp://h/"}]}`, "cameras[0].url: scheme must be rtsp or rtsps (line 1)"},
		{`{"gateway": {"id": "gw-01"}} {}`, "invalid JSON: trailing data after the document"},
		{`{"gateway": `, "invalid JSON: unexpected EOF"},
		{`gateway: {id: gw-01}`, "invalid JSON: invalid character 'g' looking for beginning of value"},
	} {
		_, err := FromJSON([]byte(tc.doc))
		if err == nil || !slices.Contains(strings.Split(err.Error(), "\n"), tc.want) {
			t.Errorf("FromJSON(%s): got %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestEnvVars(t *testing.T) {
	var names []string
	for _, ev := range EnvVars() {
		names = append(names, ev.Name)
		if EnvName(ev.Path) != ev.Name {
			t.Errorf("%v", ev)
		}
	}
	for _, want := range []string{"BK_GATEWAY_ID", "BK_BROKER_URL", "BK_BROKER_USERNAME", "BK_BROKER_PASSWORD",
		"BK_SPOOL_PATH", "BK_SPOOL_MAX_BYTES", "BK_HTTP_LISTEN", "BK_LOG_LEVEL", "BK_LOG_FORMAT",
		"BK_DEBUG_SYNTHETIC_EVENTS_TOTAL", "BK_PLUGIN_DIR"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvVars lacks %s", want)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "BK_CAMERAS") || strings.HasPrefix(n, "BK_PLUGINS") || strings.Contains(n, "DETECT") {
			t.Errorf("lists and detect sections have no env override, got %s", n)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"0", 0, true}, {"4096", 4096, true}, {"256MiB", 256 << 20, true}, {"256mib", 256 << 20, true},
		{"1GB", 1e9, true}, {"1G", 1e9, true}, {"512k", 512e3, true}, {"2Ki", 2048, true}, {"1.5GiB", 3 << 29, true},
		{"1_000", 1000, true}, {" 1 MB ", 1e6, true},
		{"", 0, false}, {"MB", 0, false}, {"-1", 0, false}, {"1XB", 0, false}, {"0.5", 0, false},
		{"9999999999TiB", 0, false}, {"1e9", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			back, err := ParseSize(got.String())
			if err != nil || back != got {
				t.Errorf("ParseSize(%q.String()=%q) = %d, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

// TestListen: http.listen takes host:port, a bare port (on 127.0.0.1) or ""
// (off), from the file and from BK_HTTP_LISTEN; anything else is an error
// naming the key.
