package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/testpki"
)

// The sections with checks of their own: listen addresses, broker TLS, the
// fleet URL, models and the board.

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		env       map[string]string
		want, err string
	}{
		{"bare port", "http: {listen: 8081}", nil, "127.0.0.1:8081", ""},
		{"quoted bare port", "http: {listen: '9000'}", nil, "127.0.0.1:9000", ""},
		{"port 0", "http: {listen: 0}", nil, "127.0.0.1:0", ""},
		{"host port", "http: {listen: '0.0.0.0:8081'}", nil, "0.0.0.0:8081", ""},
		{"all interfaces", "http: {listen: ':8081'}", nil, ":8081", ""},
		{"ipv6", "http: {listen: '[::1]:8081'}", nil, "[::1]:8081", ""},
		{"off", "http: {listen: ''}", nil, "", ""},
		{"env bare port", "", map[string]string{"BK_HTTP_LISTEN": "18080"}, "127.0.0.1:18080", ""},
		{"port too big", "http: {listen: 99999}", nil, "",
			`http.listen: port "99999" is not a number from 0 to 65535 (line 2)`},
		{"env port too big", "", map[string]string{"BK_HTTP_LISTEN": "70000"}, "",
			`http.listen: port "70000" is not a number from 0 to 65535 (from BK_HTTP_LISTEN)`},
		{"no port", "http: {listen: 'example.com'}", nil, "",
			`http.listen: want host:port, a port or "" (off), got "example.com" (line 2)`},
		{"negative", "http: {listen: '-1'}", nil, "",
			`http.listen: want host:port, a port or "" (off), got "-1" (line 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("gateway: {id: gw-01}\n"+tc.doc+"\n"), env(tc.env))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTP.Listen != tc.want {
				t.Errorf("listen %q, want %q", c.HTTP.Listen, tc.want)
			}
		})
	}
}

// TestBrokerTLS: ca_file, cert_file and key_file are checked at load, each
// problem naming its key; a good set gives a tls.Config with the CA as
// roots and the client certificate.
func TestBrokerTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	cli := ca.Client(t, "gw-01")
	other := testpki.NewCA(t, "other").Client(t, "x")
	caFile := testpki.Write(t, dir, "ca.pem", ca.PEM)
	certFile := testpki.Write(t, dir, "gw.crt", cli.CertPEM)
	keyFile := testpki.Write(t, dir, "gw.key", cli.KeyPEM)
	otherKey := testpki.Write(t, dir, "other.key", other.KeyPEM)
	junk := testpki.Write(t, dir, "junk.pem", []byte("not a certificate\n"))
	missing := dir + "/missing.pem"
	doc := func(url, ca, cert, key string) string {
		return fmt.Sprintf("gateway: {id: gw-01}\nbroker: {url: %q, ca_file: %q, cert_file: %q, key_file: %q}\n", url, ca, cert, key)
	}
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"ok", doc("mqtts://127.0.0.1:8883", caFile, certFile, keyFile), ""},
		{"ca only", doc("ssl://127.0.0.1:8883", caFile, "", ""), ""},
		{"missing ca", doc("ssl://h:8883", missing, "", ""), "broker.ca_file: open " + missing + ": no such file or directory (line 2)"},
		{"junk ca", doc("ssl://h:8883", junk, "", ""), "broker.ca_file: " + junk + ": no PEM certificate in it (line 2)"},
		{"cert without key", doc("ssl://h:8883", "", certFile, ""), "broker.key_file: required with broker.cert_file (line 2)"},
		{"key without cert", doc("ssl://h:8883", "", "", keyFile), "broker.cert_file: required with broker.key_file (line 2)"},
		{"wrong key", doc("ssl://h:8883", "", certFile, otherKey), "broker.cert_file: " + certFile + " with key " + otherKey +
			": tls: private key does not match public key (line 2)"},
		{"plain url", doc("tcp://h:1883", caFile, "", ""), "broker.ca_file: set, but broker.url is not a TLS URL (ssl, tls, mqtts, wss) (line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), nil)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v\nwant %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc, err := c.Broker.TLSConfig()
			if err != nil || tc == nil || tc.RootCAs == nil {
				t.Fatalf("%+v %v", tc, err)
			}
		})
	}
	c, err := Parse([]byte("gateway: {id: gw-01}\n"), nil)
	if tc, err2 := c.Broker.TLSConfig(); err != nil || err2 != nil || tc != nil {
		t.Fatalf("no TLS keys: %v %v %v", tc, err, err2)
	}
}

func TestFleetURL(t *testing.T) {
	for doc, want := range map[string]string{
		"live: {fleet_url: 'https://fleet.example'}":      "",
		"live: {fleet_url: 'http://10.0.0.5:8080'}":       "",
		"live: {fleet_url: 'fleet.example'}":              `live.fleet_url: want http(s)://host[:port], got "fleet.example" (line 2)`,
		"live: {fleet_url: 'rtsp://fleet.example'}":       `live.fleet_url: want http(s)://host[:port], got "rtsp://fleet.example" (line 2)`,
		"live: {fleet_url: 'https://fleet.example:0x50'}": `live.fleet_url: want http(s)://host[:port], got "https://fleet.example:0x50" (line 2)`,
	} {
		_, err := Parse([]byte("gateway: {id: gw-01}\n"+doc+"\n"), nil)
		if (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// TestModels: the models section names a model in model_dir by file stem
// and checksum, for a plugin in the plugins list; anything that could be a
// path, a checksum that is not 64 lowercase hex digits and a plugin this
// gateway does not have are refused naming the key, from the file and
// from the fleet's JSON alike.
func TestModels(t *testing.T) {
	const sum = "9f2c4e4b8a1d3c5e7f60718293a4b5c6d7e8f90112233445566778899aabbccd"
	head := "gateway: {id: gw-01}\nplugins: [{name: onnx}, {name: tamper}]\nmodels:\n"
	c, err := Parse([]byte(head+"  onnx: {name: camsim-demo.v2_1, sha256: "+sum+"}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, path, ok := c.Model("onnx"); !ok || m.SHA256 != sum || path != "/usr/lib/bk-gateway/models/camsim-demo.v2_1.onnx" {
		t.Errorf("model: %+v %q %v", m, path, ok)
	}
	if _, _, ok := c.Model("tamper"); ok {
		t.Error("tamper has a model")
	}
	b, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"models":{"onnx":{"name":"camsim-demo.v2_1","sha256":"`+sum+`"}}`) {
		t.Errorf("JSON: %s", b)
	}
	if back, err := FromJSON(b); err != nil || !reflect.DeepEqual(back.Models, c.Models) {
		t.Errorf("JSON round trip: %+v %v", back.Models, err)
	}

	for _, tc := range []struct{ entry, want string }{
		{"onnx: {name: '../../etc/passwd', sha256: " + sum + "}",
			`models.onnx.name: "../../etc/passwd" is not a valid model name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, no ".."; a name in model_dir, not a path) (line 4)`},
		{"onnx: {name: sub/model, sha256: " + sum + "}", `models.onnx.name: "sub/model" is not a valid model name`},
		{"onnx: {name: /abs/model, sha256: " + sum + "}", `models.onnx.name: "/abs/model" is not a valid model name`},
		{"onnx: {name: 'a..b', sha256: " + sum + "}", `models.onnx.name: "a..b" is not a valid model name`},
		{"onnx: {name: .hidden, sha256: " + sum + "}", `models.onnx.name: ".hidden" is not a valid model name`},
		{"onnx: {name: 'sp ace', sha256: " + sum + "}", `models.onnx.name: "sp ace" is not a valid model name`},
		{"onnx: {name: " + strings.Repeat("m", 65) + ", sha256: " + sum + "}", `models.onnx.name: "` + strings.Repeat("m", 65) + `" is not a valid model name`},
		{"onnx: {name: demo.onnx, sha256: " + sum + "}", `models.onnx.name: "demo.onnx": give the name without .onnx (line 4)`},
		{"onnx: {sha256: " + sum + "}", "models.onnx.name: required"},
		{"onnx: {name: demo}", "models.onnx.sha256: required"},
		{"onnx: {name: demo, sha256: " + strings.ToUpper(sum) + "}", `models.onnx.sha256: "` + strings.ToUpper(sum) + `" is not 64 lowercase hex digits (line 4)`},
		{"onnx: {name: demo, sha256: " + sum[:63] + "}", `models.onnx.sha256: "` + sum[:63] + `" is not 64 lowercase hex digits`},
		{"onnx: {name: demo, sha256: " + sum[:62] + "zz}", `models.onnx.sha256: "` + sum[:62] + `zz" is not 64 lowercase hex digits`},
		{"motion: {name: demo, sha256: " + sum + "}", `models.motion: unknown plugin "motion": not in the top-level plugins list (line 4)`},
		{"Onnx: {name: demo, sha256: " + sum + "}", `models.Onnx: "Onnx" is not a valid plugin name`},
		{"onnx: {name: demo, sha256: " + sum + ", path: /x}", `models.onnx: unknown key "path" (line 4)`},
		{"onnx: demo", `models.onnx: want a mapping, got "demo" (line 4)`},
	} {
		_, err := Parse([]byte(head+"  "+tc.entry+"\n"), nil)
		if err == nil || !slices.ContainsFunc(strings.Split(err.Error(), "\n"), func(l string) bool { return strings.HasPrefix(l, tc.want) }) {
			t.Errorf("%s:\n got %v\nwant %s", tc.entry, err, tc.want)
		}
	}

	// as the fleet pushes it
	_, err = FromJSON([]byte(`{"gateway": {"id": "gw-01"}, "plugins": [{"name": "onnx"}],
		"models": {"onnx": {"name": "../x", "sha256": "` + sum + `"}}}`))
	if want := `models.onnx.name: "../x" is not a valid model name`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("from JSON: %v, want %s", err, want)
	}

	// model_dir: relative to the file, from the environment, required
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(head+"  onnx: {name: demo, sha256: "+sum+"}\nmodel_dir: models\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, p, _ := c.Model("onnx"); p != filepath.Join(dir, "models", "demo.onnx") {
		t.Errorf("relative model_dir: %q", p)
	}
	t.Setenv("BK_MODEL_DIR", "/opt/models")
	if c, err = Load(path); err != nil || c.ModelDir != "/opt/models" {
		t.Errorf("BK_MODEL_DIR: %q %v", c.ModelDir, err)
	}
	t.Setenv("BK_MODEL_DIR", "")
	if _, err = Load(path); err == nil || !strings.Contains(err.Error(), "model_dir: required (from BK_MODEL_DIR)") {
		t.Errorf("empty BK_MODEL_DIR: %v", err)
	}
}

// A board section that names real devices loads, by name or by directory,
// and the environment reaches it.
func TestBoard(t *testing.T) {
	c, err := Parse([]byte("gateway: {id: gw-01}\nboard:\n  watchdog: {device: /dev/watchdog0, timeout: 15s, grace: 0s}\n"+
		"  status_led: 'beaglebone:green:usr0'\n  buzzer: {device: /sys/class/leds/beeper, min_gap: 10s}\n"+
		"  reboot: {allow: true, command: [/bin/true, now]}\n"),
		env(map[string]string{"BK_BOARD_WATCHDOG_GRACE": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Board{Watchdog: Watchdog{Device: "/dev/watchdog0", Timeout: 15 * time.Second, Grace: 30 * time.Second},
		StatusLED: "beaglebone:green:usr0", Buzzer: Buzzer{Device: "/sys/class/leds/beeper", MinGap: 10 * time.Second},
		Reboot: Reboot{Allow: true, Command: []string{"/bin/true", "now"}}}
	if !reflect.DeepEqual(c.Board, want) {
		t.Errorf("board %+v, want %+v", c.Board, want)
	}
	if d := Default().Board; d.Watchdog.Device != "" || d.StatusLED != "" || d.Buzzer.Device != "" || d.Reboot.Allow {
		t.Errorf("the board is not off by default: %+v", d)
	}
	if _, err := Parse([]byte("gateway: {id: gw-01}\nboard: {reboot: {allow: true, command: []}}\n"), env(nil)); err == nil ||
		!strings.Contains(err.Error(), "board.reboot.command") {
		t.Errorf("reboot allowed with no command: %v", err)
	}
	if _, err := Parse([]byte("gateway: {id: gw-01}\nlog: {file_size: 1KiB}\n"), env(nil)); err == nil ||
		!strings.Contains(err.Error(), "log.file_size") {
		t.Errorf("a 1KiB log file: %v", err)
	}
}
