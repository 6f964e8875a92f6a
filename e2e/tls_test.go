package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/testpki"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestTLSEndToEnd: bk-fleet serves HTTPS and MQTT over TLS with
// certificates of a CA the test makes, requiring a gateway client
// certificate of it; bk-gateway, given the CA and its client certificate,
// connects, its events and cameras reach the fleet, and the API answers
// over HTTPS. Plain HTTP on the HTTPS port gets no API.
func TestTLSEndToEnd(t *testing.T) {
	parallelScenario(t)
	const events = 50
	dir := t.TempDir()
	ca := testpki.NewCA(t, "BrightKitchen test CA")
	srv, gwCert := ca.Server(t), ca.Client(t, "gw-tls")
	caFile := testpki.Write(t, dir, "ca.pem", ca.PEM)
	srvCert, srvKey := testpki.Write(t, dir, "fleet.pem", srv.CertPEM), testpki.Write(t, dir, "fleet-key.pem", srv.KeyPEM)

	cam := startCamsim(t, camsim.Camera{Path: "cam-1", Scene: "empty"})
	f := newFleet(t, "")
	mqtts := freePort(t)
	f.args = []string{"--tls-cert", srvCert, "--tls-key", srvKey,
		"--mqtt-tls-listen", mqtts, "--mqtt-tls-cert", srvCert, "--mqtt-tls-key", srvKey, "--mqtt-tls-client-ca", caFile}
	f.rootCAs = ca.Pool()
	f.start()

	// Plain HTTP to the HTTPS port: Go's server answers 400, never the API.
	if resp, err := http.Get("http://" + f.http + "/api/v1/gateways"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the HTTPS port: %d, want 400", resp.StatusCode)
		}
	}

	user, pass := f.addGateway("gw-tls", "canteen-tls")
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-tls", Broker: "mqtts://" + mqtts, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: freePort(t),
		Cameras:        map[string]string{"cam-1": cam.URL("cam-1")},
		SyntheticTotal: events, SyntheticRate: 100,
		CAFile:   caFile,
		CertFile: testpki.Write(t, dir, "gw.pem", gwCert.CertPEM),
		KeyFile:  testpki.Write(t, dir, "gw-key.pem", gwCert.KeyPEM),
	})
	startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)

	wait.For(t, 30*time.Second, "the gateway and its camera online at the fleet over TLS", func() bool {
		for _, g := range f.gateways() {
			if g.ID == "gw-tls" && g.Online && len(g.Cameras) == 1 && g.Cameras[0].Online {
				return true
			}
		}
		return false
	})
	wait.For(t, 30*time.Second, "every event stored, read over HTTPS", func() bool {
		vs, err := f.violations("gateway_id=gw-tls&type=synthetic&limit=1000")
		return err == nil && len(vs) == events
	})
	if n := f.metric("bk_fleet_mqtt_clients"); n < 0 {
		t.Errorf("metrics over HTTPS: %v", n)
	}
	if !strings.HasPrefix(f.url("/"), "https://") {
		t.Fatal("the harness did not speak HTTPS")
	}
}
