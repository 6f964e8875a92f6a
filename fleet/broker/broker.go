// Package broker is the fleet's embedded MQTT broker (mochi-mqtt v2) with the
// device contract's authentication and access control: each gateway connects
// with its own credentials and may publish and subscribe only under its own
// bk/v1/gw/{gateway_id}/ (SPEC.md §2); the fleet's own client may use all of
// bk/v1/gw/ and shared subscriptions ($share/{group}/bk/v1/gw/...). Anonymous
// clients are refused.
//
// The broker keeps everything in memory: durability is the gateway spool's
// job (an event leaves the spool only on the fleet's application-level ack),
// so a broker restart loses nothing that matters. Retained messages (state,
// config/desired) live as long as the process.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
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
	MaxWritesPending = 32768
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
	// Logger receives mochi's logs, demoted to Debug except its errors
	// (default: discard).
	Logger *slog.Logger

	mu   sync.Mutex
	srv  *mqtt.Server
	tcp  *listeners.TCP
	hook *aclHook
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
	})
	hook := &aclHook{
		auth:      b.Auth,
		fleetUser: b.FleetUser,
		fleetPass: b.FleetPassword,
		srv:       srv,
		log:       log,
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return fmt.Errorf("broker: add hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: listen})
	if err := srv.AddListener(tcp); err != nil {
		return fmt.Errorf("broker: listen %s: %w", listen, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.srv, b.tcp, b.hook = srv, tcp, hook
	log.Info("mqtt broker listening", "addr", tcp.Address())
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
}

// Stats reads the broker's counters (zero before Start).
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	srv, hook := b.srv, b.hook
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
	}
}

// Close disconnects every client, stops the listener and waits for the
// connections to end. It may be called more than once.
func (b *Broker) Close() error {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv == nil {
		return nil
	}
	// mochi v2.7.9's Clients.GetByListener takes its read lock twice, so
	// Server.Close can deadlock when a client disconnects at that moment
	// (a writer queued between the two read locks). The listeners are
	// closed before that point, so after a bounded wait we move on rather
	// than hang the fleet's shutdown.
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		if b.Logger != nil {
			b.Logger.Warn("mqtt broker close timed out (mochi lock bug); continuing shutdown")
		}
		return nil
	}
}
