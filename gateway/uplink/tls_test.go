package uplink

import (
	"context"
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/brightkitchen/brightkitchen/internal/testpki"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestTLS: the uplink reaches a broker that serves TLS with a certificate
// of the test's CA and requires a client certificate of it, given the CA
// and a client certificate in TLSConfig; without the client certificate,
// or trusting another CA, it does not connect.
func TestTLS(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tls", Address: "127.0.0.1:0", TLSConfig: &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.Server(t).TLS(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
	}})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &broker{srv: srv, addr: l.Address()}
	defer b.close()
	client := ca.Client(t, "gw-1").TLS(t)
	other := testpki.NewCA(t, "other CA")

	for _, tc := range []struct {
		name string
		tls  *tls.Config
		ok   bool
	}{
		{"ca and client cert", &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client}}, true},
		{"no client cert", &tls.Config{RootCAs: ca.Pool()}, false},
		{"other ca", &tls.Config{RootCAs: other.Pool(), Certificates: []tls.Certificate{client}}, false},
		{"system roots", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(b, newMemOutbox(), "gw-1")
			c.BrokerURL = "mqtts://" + b.addr
			c.TLSConfig = tc.tls
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.ok {
				wait.For(t, 10*time.Second, "connected over TLS", c.Connected)
				return
			}
			wait.For(t, 10*time.Second, "two failed attempts", func() bool { return c.Stats().ConnectFailures >= 2 })
			if st := c.Stats(); st.Connects != 0 || c.Connected() {
				t.Fatalf("connected: %+v", st)
			}
		})
	}
}
