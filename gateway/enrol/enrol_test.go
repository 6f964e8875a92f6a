package enrol

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/internal/testpki"
)

// fleetStub answers POST /api/v1/enrol as the fleet does (the real fleet
// answers in e2e/enrol_test.go; the gateway may not import it): the code
// "GOOD" once, anything else bad_code.
func fleetStub(t *testing.T, resp wire.EnrolResponse) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	used := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != "POST" || r.URL.Path != wire.EnrolPath {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		req, err := wire.DecodeEnrolRequest(b)
		switch {
		case err != nil:
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"bad request","code":"bad_request"}`))
		case req.Code == "RATE":
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(429)
		case req.Code != "GOOD" || used.Swap(true):
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"unknown, used, revoked or expired enrolment code","code":"bad_code"}`))
		case req.Hardware == nil || req.Hardware.Arch == "":
			w.WriteHeader(500)
		default:
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(resp)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

var answer = wire.EnrolResponse{V: 1, GatewayID: "gw-new", CanteenID: "canteen-a", Username: "gw-new",
	Password: "0123456789abcdef", BrokerURLs: []string{"tcp://127.0.0.1:1883"}}

func TestExchange(t *testing.T) {
	srv, calls := fleetStub(t, answer)
	ctx := context.Background()
	r, err := Exchange(ctx, srv.URL+"/", "GOOD", Options{})
	if err != nil || r.GatewayID != "gw-new" || r.Password != answer.Password {
		t.Fatalf("exchange: %+v %v", r, err)
	}
	if _, err := Exchange(ctx, srv.URL, "GOOD", Options{}); !errors.Is(err, ErrRefused) {
		t.Errorf("reuse: %v", err)
	}
	if _, err := Exchange(ctx, srv.URL, "RATE", Options{}); !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "42 s") {
		t.Errorf("rate limited: %v", err)
	}
	n := calls.Load()
	for _, c := range []struct {
		url, name string
		o         Options
		want      string
	}{
		{"http://192.0.2.1:8080", "", Options{}, "plain http://"},
		{"ftp://127.0.0.1", "", Options{}, "want https://"},
		{"https://", "", Options{}, "want https://"},
		{srv.URL, "../etc", Options{}, "name"},
	} {
		c.o.Name = c.name
		if _, err := Exchange(ctx, c.url, "GOOD", c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want %q", c.url, c.name, err, c.want)
		}
	}
	if calls.Load() != n {
		t.Error("a refused URL or name reached the fleet")
	}
	if _, err := Exchange(ctx, "http://192.0.2.1:1", "GOOD", Options{Insecure: true}); errors.Is(err, ErrInsecure) {
		t.Errorf("--insecure still refused: %v", err)
	}
}

// TestExchangeHTTPS: the fleet's certificate is verified with the CA
// file given, and refused without it.
func TestExchangeHTTPS(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(answer)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := testpki.Write(t, t.TempDir(), "ca.pem", ca.PEM)
	if _, err := Exchange(context.Background(), srv.URL, "GOOD", Options{CAFile: caFile}); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	if _, err := Exchange(context.Background(), srv.URL, "GOOD", Options{}); err == nil {
		t.Error("an unknown CA was trusted")
	}
}

// TestWriteConfigTemplate: with no config, WriteConfig makes one that
// passes the check, mode 0600.
func TestWriteConfigTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "gateway.yaml")
	if err := CheckConfig(path); err != nil {
		t.Fatalf("check an absent config: %v", err)
	}
	if err := WriteConfig(path, answer); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the written config: %v", err)
	}
	if c.Gateway.ID != "gw-new" || c.Broker.Password != answer.Password || c.Broker.URL != answer.BrokerURLs[0] {
		t.Errorf("config %+v", c)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v, want 0600", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWriteConfigEdits: an existing config keeps its other keys and its
// comments; a TLS URL with a CA gets broker.ca_file; a plain one loses it.
func TestWriteConfigEdits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	orig := `# the installer's notes
gateway:
  id: ""
broker:
  url: tcp://old:1883 # to be replaced
  username: ""
  keepalive: 20s
spool:
  path: ` + filepath.Join(dir, "spool.db") + `
cameras:
  # the stove
  - id: cam-1
    url: rtsp://192.0.2.10:554/main
    area: cooking
`
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA(t, "fleet CA")
	r := answer
	r.BrokerURLs = []string{"mqtts://fleet.example:8883", "tcp://fleet.example:1883"}
	r.CAPEM = string(ca.PEM)
	if err := WriteConfig(path, r); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"# the installer's notes", "# the stove", "keepalive: 20s", "rtsp://192.0.2.10:554/main",
		`ca_file: "fleet-ca.pem"`, `url: "mqtts://fleet.example:8883"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the edited config: %v\n%s", err, b)
	}
	if c.Broker.Keepalive.Seconds() != 20 || len(c.Cameras) != 1 || c.Broker.CAFile != filepath.Join(dir, CAFileName) {
		t.Errorf("config %+v", c.Broker)
	}
	// Enrolled again with a plain URL: no CA file any more.
	if err := WriteConfig(path, answer); err != nil {
		t.Fatal(err)
	}
	if c, err := config.Load(path); err != nil || c.Broker.CAFile != "" || c.Broker.URL != "tcp://127.0.0.1:1883" {
		t.Errorf("re-enrolled: %+v %v", c.Broker, err)
	}
}

// TestCheckConfig: a file enrolment cannot edit, or whose other keys are
// wrong, is refused before a code is spent, naming the trouble.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ doc, want string }{
		{"gateway: [1, 2]\n", "gateway: a mapping"},
		{"- a\n- b\n", "not a YAML mapping"},
		{"gateway:\n  id: x\n  bad: [\n", "invalid YAML"},
		{"spool:\n  max_bytes: 1k\n", "spool.max_bytes"},
		{"cameras:\n  - id: c\n    url: http://x\n", "cameras[0].url"},
	} {
		path := filepath.Join(dir, "g.yaml")
		if err := os.WriteFile(path, []byte(c.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := CheckConfig(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".enrol-check-*")); len(left) != 0 {
		t.Errorf("check files left: %v", left)
	}
}
