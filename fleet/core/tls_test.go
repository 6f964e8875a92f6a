package core

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/testpki"
)

// TestTLS: with a certificate from a CA made here, the API answers over
// HTTPS to a client that trusts the CA, and /metrics on MetricsListen.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	srv := ca.Server(t)
	certFile, keyFile := testpki.Write(t, dir, "cert.pem", srv.CertPEM), testpki.Write(t, dir, "key.pem", srv.KeyPEM)

	f, err := Start(context.Background(), Options{HTTP: "127.0.0.1:0", MQTTListen: "127.0.0.1:0", DataDir: t.TempDir(),
		TLSCert: certFile, TLSKey: keyFile, MetricsListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	var status int
	for range 50 { // healthz is 503 until the consumer is connected
		resp, err := c.Get("https://" + f.HTTPAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if status = resp.StatusCode; status == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("healthz over TLS: %d", status)
	}
	// A client that does not trust the CA is refused.
	if _, err := http.Get("https://" + f.HTTPAddr() + "/healthz"); err == nil {
		t.Error("an untrusting client got through")
	}
	resp, err := http.Get("http://" + f.MetricsAddr() + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics listener: %v %v", resp, err)
	}
	resp.Body.Close()
}
