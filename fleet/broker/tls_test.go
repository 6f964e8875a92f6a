package broker

import (
	"crypto/tls"
	"errors"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/testpki"
)

// serverFiles issues the broker's certificate of ca and writes it and its
// key to files.
func serverFiles(t *testing.T, ca *testpki.CA) (cert, key string) {
	p, dir := ca.Server(t), t.TempDir()
	return testpki.Write(t, dir, "cert.pem", p.CertPEM), testpki.Write(t, dir, "key.pem", p.KeyPEM)
}

// dialTLS connects a paho client over TLS to the broker's TLS listener.
func dialTLS(t *testing.T, b *Broker, conf *tls.Config, clientID, user, pass string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tls://" + b.TLSAddr()).SetTLSConfig(conf).
		SetClientID(clientID).SetUsername(user).SetPassword(pass).SetAutoReconnect(false).
		SetConnectTimeout(wait).SetWriteTimeout(wait)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(wait) {
		return c, errors.New("connect timed out")
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(50) })
	}
	return c, tok.Error()
}

func TestTLSListener(t *testing.T) {
	ca, other := testpki.NewCA(t, "bk test CA"), testpki.NewCA(t, "someone else's CA")
	b := startWith(t, func(b *Broker) {
		b.TLSListen = "127.0.0.1:0"
		b.TLSCertFile, b.TLSKeyFile = serverFiles(t, ca)
	})
	if b.TLSAddr() == "" || b.TLSAddr() == b.Addr() {
		t.Fatalf("TLSAddr %q, Addr %q", b.TLSAddr(), b.Addr())
	}
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret") // plain, loopback
	events, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))

	a, err := dialTLS(t, b, &tls.Config{RootCAs: ca.Pool()}, "gw-a", "user-a", "pass-a")
	if err != nil {
		t.Fatalf("TLS connect trusting the CA: %v", err)
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, "over tls")
	if m := recv(t, events, "event"); m.payload != "over tls" {
		t.Fatalf("got %+v", m)
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: other.Pool()}, "gw-b", "user-b", "pass-b"); err == nil {
		t.Fatal("a client trusting another CA connected")
	}
	// Credentials are still required over TLS.
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: ca.Pool()}, "gw-b", "user-b", "wrong"); err == nil {
		t.Fatal("connected over TLS with a wrong password")
	}
}

func TestTLSClientCertificates(t *testing.T) {
	ca, clientCA, other := testpki.NewCA(t, "server CA"), testpki.NewCA(t, "gateway CA"), testpki.NewCA(t, "rogue CA")
	b := startWith(t, func(b *Broker) {
		b.TLSListen = "127.0.0.1:0"
		b.TLSCertFile, b.TLSKeyFile = serverFiles(t, ca)
		b.TLSClientCAFile = testpki.Write(t, t.TempDir(), "clients.pem", clientCA.PEM)
	})
	clientCert := func(ca *testpki.CA) tls.Certificate { return ca.Client(t, "gw-a").TLS(t) }
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: ca.Pool()}, "gw-a", "user-a", "pass-a"); err == nil {
		t.Fatal("connected without a client certificate")
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{clientCert(other)}},
		"gw-a", "user-a", "pass-a"); err == nil {
		t.Fatal("connected with a client certificate of another CA")
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{clientCert(clientCA)}},
		"gw-a", "user-a", "pass-a"); err != nil {
		t.Fatalf("connect with a client certificate: %v", err)
	}
}

func TestTLSStartErrors(t *testing.T) {
	cert, key := serverFiles(t, testpki.NewCA(t, "ca"))
	for _, c := range []struct {
		name string
		b    *Broker
	}{
		{"listen without cert", &Broker{TLSListen: "127.0.0.1:0"}},
		{"cert without listen", &Broker{TLSCertFile: cert, TLSKeyFile: key}},
		{"missing cert file", &Broker{TLSListen: "127.0.0.1:0", TLSCertFile: cert + ".nope", TLSKeyFile: key}},
		{"key is not a key", &Broker{TLSListen: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: cert}},
		{"client CA not PEM", &Broker{TLSListen: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: key}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			b.Listen, b.Auth = "127.0.0.1:0", creds
			if err := b.Start(); err == nil {
				b.Close()
				t.Fatal("started")
			} else {
				t.Log(err)
			}
		})
	}
}
