package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a leaf certificate for 127.0.0.1 (server) or a client, and
// returns its PEM certificate and key.
func (ca *testCA) issue(t *testing.T, cn string, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if client {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
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

func pool(pems ...[]byte) *x509.CertPool {
	p := x509.NewCertPool()
	for _, b := range pems {
		p.AppendCertsFromPEM(b)
	}
	return p
}

func TestTLSListener(t *testing.T) {
	ca, other := newCA(t, "bk test CA"), newCA(t, "someone else's CA")
	certPEM, keyPEM := ca.issue(t, "fleet", false)
	b := startWith(t, func(b *Broker) {
		b.TLSListen = "127.0.0.1:0"
		b.TLSCertFile, b.TLSKeyFile = writeTemp(t, "cert.pem", certPEM), writeTemp(t, "key.pem", keyPEM)
	})
	if b.TLSAddr() == "" || b.TLSAddr() == b.Addr() {
		t.Fatalf("TLSAddr %q, Addr %q", b.TLSAddr(), b.Addr())
	}
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret") // plain, loopback
	events, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))

	a, err := dialTLS(t, b, &tls.Config{RootCAs: pool(ca.pem)}, "gw-a", "user-a", "pass-a")
	if err != nil {
		t.Fatalf("TLS connect trusting the CA: %v", err)
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, "over tls")
	if m := recv(t, events, "event"); m.payload != "over tls" {
		t.Fatalf("got %+v", m)
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: pool(other.pem)}, "gw-b", "user-b", "pass-b"); err == nil {
		t.Fatal("a client trusting another CA connected")
	}
	// Credentials are still required over TLS.
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: pool(ca.pem)}, "gw-b", "user-b", "wrong"); err == nil {
		t.Fatal("connected over TLS with a wrong password")
	}
}

func TestTLSClientCertificates(t *testing.T) {
	ca, clientCA, other := newCA(t, "server CA"), newCA(t, "gateway CA"), newCA(t, "rogue CA")
	certPEM, keyPEM := ca.issue(t, "fleet", false)
	b := startWith(t, func(b *Broker) {
		b.TLSListen = "127.0.0.1:0"
		b.TLSCertFile, b.TLSKeyFile = writeTemp(t, "cert.pem", certPEM), writeTemp(t, "key.pem", keyPEM)
		b.TLSClientCAFile = writeTemp(t, "clients.pem", clientCA.pem)
	})
	clientCert := func(ca *testCA) tls.Certificate {
		c, k := ca.issue(t, "gw-a", true)
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: pool(ca.pem)}, "gw-a", "user-a", "pass-a"); err == nil {
		t.Fatal("connected without a client certificate")
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: pool(ca.pem), Certificates: []tls.Certificate{clientCert(other)}},
		"gw-a", "user-a", "pass-a"); err == nil {
		t.Fatal("connected with a client certificate of another CA")
	}
	if _, err := dialTLS(t, b, &tls.Config{RootCAs: pool(ca.pem), Certificates: []tls.Certificate{clientCert(clientCA)}},
		"gw-a", "user-a", "pass-a"); err != nil {
		t.Fatalf("connect with a client certificate: %v", err)
	}
}

func TestTLSStartErrors(t *testing.T) {
	ca := newCA(t, "ca")
	certPEM, keyPEM := ca.issue(t, "fleet", false)
	cert, key := writeTemp(t, "cert.pem", certPEM), writeTemp(t, "key.pem", keyPEM)
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
