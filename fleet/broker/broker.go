// Package broker is the fleet's embedded MQTT broker (mochi-mqtt v2) with the
// device contract's authentication and access control: each gateway connects
// with its own credentials and may publish and subscribe only under its own
// bk/v1/gw/{gateway_id}/ (SPEC.md §2); the fleet's own client may use all of
// bk/v1/gw/ and shared subscriptions ($share/{group}/bk/v1/gw/...). Anonymous
// clients are refused.
//
// A gateway's MQTT client id must be its own gateway id, so no gateway can
// take over (and disconnect) another's session; the fleet's client may use
// any client id not held by a session of another user. Only a gateway's
// state and the fleet's config/desired are kept as retained messages: the
// retain flag of any other publish is cleared (the message is still
// delivered), so no one can make the broker keep data after it leaves.
//
// Before a connection has authenticated it is held to little: its CONNECT
// must arrive within ConnectTimeout (default 5 s, TLS handshake included),
// its first packet must be a CONNECT of at most MaxConnectPacket bytes
// (64 KiB; checked on the fixed header, before any buffer of the declared
// length exists), and one remote address may hold at most
// MaxPendingPerAddr such connections at once (default 20). The broker
// listens on plain TCP (Listen, loopback by default) and, when TLSListen is
// set, on TLS as well (optionally requiring client certificates).
//
// The broker keeps everything in memory: durability is the gateway spool's
// job (an event leaves the spool only on the fleet's application-level ack),
// so a broker restart loses nothing that matters. Retained messages (state,
// config/desired) live as long as the process.
package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// DefaultListen is the broker's default TCP address.
const DefaultListen = "127.0.0.1:1883"

// Limits set on mochi. They are sized for snapshots (wire.MaxSnapshot, 8 MiB,
// plus topic and header) and for several thousand QoS 1 messages a second to
// one fleet consumer.
const (
	// MaxPacketSize is the largest MQTT packet accepted (16 MiB).
	MaxPacketSize = 16 << 20
	// MaxInflight is how many unacknowledged QoS 1/2 messages the broker
	// keeps per client before it drops further ones for that client (the MQTT
	// packet id space, 65535, is the ceiling).
	MaxInflight = 65535
	// ReceiveMaximum is how many QoS 2 (or concurrent QoS 1) publishes one
	// client may have unacknowledged towards the broker.
	ReceiveMaximum = 4096
	// MaxWritesPending is the depth of each client's outbound queue; a
	// subscriber that falls this far behind loses messages (counted in
	// Stats().MessagesDropped; the gateways resend unacknowledged events).
	// mochi allocates it (8 bytes a slot) for every connection as it is
	// accepted, before authentication: 64 KiB each.
	MaxWritesPending = 8192
	// MaxConnectPacket is the largest first packet (the CONNECT) accepted
	// from a connection that has not authenticated yet (64 KiB).
	MaxConnectPacket = 64 << 10
	// DefaultConnectTimeout is how long a new connection has for its TLS
	// handshake and CONNECT.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultMaxPendingPerAddr is how many unauthenticated connections one
	// remote IP address may hold at once.
	DefaultMaxPendingPerAddr = 20
	// DefaultGatewayBytesPerSec is the rate at which the broker reads from
	// one gateway (8 MiB/s, 64 Mbit/s: more than a canteen's uplink, and
	// 80 snapshots of 100 KB a second).
	DefaultGatewayBytesPerSec = 8 << 20
)

// Authenticator looks gateway credentials up; the store implements it.
type Authenticator interface {
	// GatewayByCredentials returns the gateway id for a username and
	// password; ok is false for unknown users and wrong passwords.
	GatewayByCredentials(ctx context.Context, username, password string) (gatewayID string, ok bool, err error)
}

// Broker is the embedded MQTT broker. Set the fields, then Start; Close stops
// it and every connection.
type Broker struct {
	// Listen is the TCP address (default 127.0.0.1:1883). Port 0 picks a free
	// port; Addr reports the bound address.
	Listen string
	// Auth checks gateway credentials. Nil means no gateway can connect.
	Auth Authenticator
	// FleetUser and FleetPassword are the fleet's own client: it may publish
	// and subscribe anywhere under bk/v1/gw/, and use $share subscriptions.
	// An empty FleetUser disables that account.
	FleetUser, FleetPassword string
	// TLSListen, when set, is a second address where the broker speaks
	// MQTT over TLS (default: none), with the certificate chain and key in
	// TLSCertFile and TLSKeyFile (PEM). TLSClientCAFile, when set, is a PEM
	// bundle of CAs: every TLS client must then present a certificate one
	// of them signed (credentials are still required). The plain listener
	// stays; keep it on loopback unless gateways are to use plain MQTT.
	TLSListen, TLSCertFile, TLSKeyFile, TLSClientCAFile string
	// ConnectTimeout is how long a new connection has for its TLS handshake
	// and CONNECT packet (default DefaultConnectTimeout, 5 s).
	ConnectTimeout time.Duration
	// MaxPendingPerAddr caps the connections one remote IP address may hold
	// before they have authenticated (default DefaultMaxPendingPerAddr,
	// 20); further ones are closed at once. Authenticated connections do
	// not count: many gateways may share one NAT address.
	MaxPendingPerAddr int
	// GatewayBytesPerSec is the most the broker reads from one gateway's
	// connection a second (default DefaultGatewayBytesPerSec; negative:
	// no limit). Beyond it the broker reads later, so TCP holds a flooding
	// gateway back and the fleet's memory does not take its excess. The
	// fleet's own client is never paced.
	GatewayBytesPerSec int
	// Logger receives mochi's logs, demoted to Debug except its errors
	// (default: discard).
	Logger *slog.Logger

	mu   sync.Mutex
	srv  *mqtt.Server
	tcp  *listener
	tls  *listener // nil without TLSListen
	gate *gate
	hook *aclHook
}

// tlsConfig loads the TLS listener's certificate and client CAs.
func (b *Broker) tlsConfig() (*tls.Config, error) {
	if b.TLSCertFile == "" || b.TLSKeyFile == "" {
		return nil, errors.New("TLSListen set without TLSCertFile and TLSKeyFile")
	}
	cert, err := tls.LoadX509KeyPair(b.TLSCertFile, b.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if b.TLSClientCAFile != "" {
		pem, err := os.ReadFile(b.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS client CA %s: no PEM certificate in it", b.TLSClientCAFile)
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// Start binds the listener and serves in the background.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return errors.New("broker: already started")
	}
	if b.Auth == nil && b.FleetUser == "" {
		return errors.New("broker: neither Auth nor FleetUser set: no client could connect")
	}
	if b.FleetUser != "" && b.FleetPassword == "" {
		return errors.New("broker: FleetUser set without FleetPassword")
	}
	log := b.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	listen := b.Listen
	if listen == "" {
		listen = DefaultListen
	}
	if b.ConnectTimeout < 0 || b.MaxPendingPerAddr < 0 {
		return errors.New("broker: ConnectTimeout and MaxPendingPerAddr must not be negative")
	}
	var tlsConf *tls.Config
	if b.TLSListen != "" {
		var err error
		if tlsConf, err = b.tlsConfig(); err != nil {
			return fmt.Errorf("broker: %w", err)
		}
	} else if b.TLSCertFile != "" || b.TLSKeyFile != "" || b.TLSClientCAFile != "" {
		return errors.New("broker: TLS certificate files set without TLSListen")
	}
	g := &gate{
		connectTimeout: cmp.Or(b.ConnectTimeout, DefaultConnectTimeout),
		maxPerAddr:     cmp.Or(b.MaxPendingPerAddr, DefaultMaxPendingPerAddr),
		pending:        map[string]int{},
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketSize
	caps.MaximumInflight = MaxInflight
	caps.ReceiveMaximum = ReceiveMaximum
	caps.MaximumClientWritesPending = MaxWritesPending
	caps.SharedSubAvailable = 1
	caps.RetainAvailable = 1
	caps.MaximumQos = 2
	// Sessions of clients that asked for a persistent session (clean=false)
	// are kept a day, not forever.
	caps.MaximumSessionExpiryInterval = 24 * 60 * 60
	// $SYS topics are refused to every client by the ACL: refresh them
	// rarely.
	srv := mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		Logger:                   slog.New(quietHandler{log.Handler()}),
		ClientNetReadBufferSize:  32 << 10,
		ClientNetWriteBufferSize: 32 << 10,
		SysTopicResendInterval:   60,
		InlineClient:             true, // the fleet's in-process client: Subscribe, Publish
	})
	gwRate := cmp.Or(b.GatewayBytesPerSec, DefaultGatewayBytesPerSec)
	hook := &aclHook{
		gatewayRate: max(gwRate, 0),
		auth:        b.Auth,
		fleetUser:   b.FleetUser,
		fleetPass:   b.FleetPassword,
		srv:         srv,
		log:         log,
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return fmt.Errorf("broker: add hook: %w", err)
	}
	tcp, err := newListener("tcp", listen, nil, g)
	if err != nil {
		return fmt.Errorf("broker: listen %s: %w", listen, err)
	}
	var tlsLn *listener
	if tlsConf != nil {
		if tlsLn, err = newListener("tls", b.TLSListen, tlsConf, g); err != nil {
			_ = tcp.ln.Close()
			return fmt.Errorf("broker: listen %s (TLS): %w", b.TLSListen, err)
		}
	}
	for _, l := range []*listener{tcp, tlsLn} {
		if l == nil {
			continue
		}
		if err := srv.AddListener(l); err != nil {
			_ = tcp.ln.Close()
			if tlsLn != nil {
				_ = tlsLn.ln.Close()
			}
			return fmt.Errorf("broker: add listener: %w", err)
		}
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.srv, b.tcp, b.tls, b.gate, b.hook = srv, tcp, tlsLn, g, hook
	if tlsLn != nil {
		log.Info("mqtt broker listening", "addr", tcp.Address(), "tls_addr", tlsLn.Address())
	} else {
		log.Info("mqtt broker listening", "addr", tcp.Address())
	}
	return nil
}

// Addr is the bound TCP address (host:port), or "" before Start.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tcp == nil {
		return ""
	}
	return b.tcp.Address()
}

// TLSAddr is the bound TLS address (host:port), or "" before Start or
// without TLSListen.
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tls == nil {
		return ""
	}
	return b.tls.Address()
}

// Stats are the broker's counters.
type Stats struct {
	ClientsConnected int64
	MessagesReceived int64
	MessagesSent     int64
	// MessagesDropped counts messages dropped because a subscriber's outbound
	// queue was full; InflightDropped those dropped because it had too many
	// unacknowledged QoS messages.
	MessagesDropped int64
	InflightDropped int64
	Retained        int64
	Subscriptions   int64
	// AuthFailures counts refused CONNECTs; ACLDenials refused publishes and
	// subscriptions.
	AuthFailures int64
	ACLDenials   int64
	// RefusedPerAddr counts connections closed at once because their address
	// held MaxPendingPerAddr unauthenticated ones; RefusedFirstPacket those
	// whose first packet was not a CONNECT of at most MaxConnectPacket
	// bytes. RetainCleared counts publishes whose retain flag was cleared.
	RefusedPerAddr     int64
	RefusedFirstPacket int64
	RetainCleared      int64
	// PacedReads counts reads from gateways delayed by GatewayBytesPerSec.
	PacedReads int64
}

// Stats reads the broker's counters (zero before Start).
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	srv, hook, g := b.srv, b.hook, b.gate
	b.mu.Unlock()
	if srv == nil {
		return Stats{}
	}
	i := srv.Info.Clone()
	return Stats{
		ClientsConnected: i.ClientsConnected,
		MessagesReceived: i.MessagesReceived,
		MessagesSent:     i.MessagesSent,
		MessagesDropped:  i.MessagesDropped,
		InflightDropped:  i.InflightDropped,
		Retained:         i.Retained,
		Subscriptions:    i.Subscriptions,
		AuthFailures:     hook.authFailures.Load(),
		ACLDenials:       hook.aclDenials.Load(),

		RefusedPerAddr:     g.refusedAddr.Load(),
		RefusedFirstPacket: g.refusedLarge.Load(),
		RetainCleared:      hook.retainCleared.Load(),
		PacedReads:         g.paced.Load(),
	}
}

// Close stops the listeners, closes every connection and waits until each
// client has ended. It may be called more than once.
//
// The listeners close their own connections and do not hand that to mochi
// (see listener.Close), which keeps Server.Close away from the path where
// mochi v2.7.9 read-locks its clients twice and can deadlock.
func (b *Broker) Close() error {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}
