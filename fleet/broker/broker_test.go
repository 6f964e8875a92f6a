package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

type fakeAuth map[string][2]string // username -> {password, gateway id}

func (f fakeAuth) GatewayByCredentials(_ context.Context, user, pass string) (string, bool, error) {
	e, ok := f[user]
	if !ok || e[0] != pass {
		return "", false, nil
	}
	return e[1], true, nil
}

var creds = fakeAuth{"user-a": {"pass-a", "gw-a"}, "user-b": {"pass-b", "gw-b"}}

func startBroker(t *testing.T) *Broker {
	t.Helper()
	b := &Broker{Listen: "127.0.0.1:0", Auth: creds, FleetUser: "fleet", FleetPassword: "fleet-secret"}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

type clientOpt func(*paho.ClientOptions)

func withWill(topic string) clientOpt {
	return func(o *paho.ClientOptions) { o.SetWill(topic, `{"v":1,"online":false,"session":1}`, 1, true) }
}

// dial connects a paho (MQTT 3.1.1) client and returns it with the connect error.
func dial(t *testing.T, b *Broker, clientID, user, pass string, opts ...clientOpt) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetCleanSession(true).SetAutoReconnect(false).
		SetConnectTimeout(wait).SetWriteTimeout(wait).SetOrderMatters(true)
	for _, f := range opts {
		f(o)
	}
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

func mustDial(t *testing.T, b *Broker, clientID, user, pass string, opts ...clientOpt) paho.Client {
	t.Helper()
	c, err := dial(t, b, clientID, user, pass, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", clientID, err)
	}
	return c
}

type msg struct {
	topic    string
	payload  string
	retained bool
}

// subscribe subscribes and returns a channel of messages and the granted QoS.
func subscribe(t *testing.T, c paho.Client, filter string) (<-chan msg, byte) {
	t.Helper()
	ch := make(chan msg, 10000)
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		ch <- msg{m.Topic(), string(m.Payload()), m.Retained()}
	})
	if !tok.WaitTimeout(wait) {
		t.Fatalf("subscribe %s: timed out", filter)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	// paho keys the result by the filter without "$share/{group}/".
	res := tok.(*paho.SubscribeToken).Result()
	if len(res) != 1 {
		t.Fatalf("subscribe %s: result %v", filter, res)
	}
	for _, qos := range res {
		return ch, qos
	}
	return ch, 0
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, retained bool, payload any) error {
	t.Helper()
	tok := c.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(wait) {
		return fmt.Errorf("publish %s: timed out", topic)
	}
	return tok.Error()
}

func mustPublish(t *testing.T, c paho.Client, topic string, qos byte, retained bool, payload any) {
	t.Helper()
	if err := publish(t, c, topic, qos, retained, payload); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, ch <-chan msg, what string) msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatalf("%s: nothing received within %v", what, wait)
		return msg{}
	}
}

func TestGatewayOwnTopics(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	events, qos := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))
	if qos != 1 {
		t.Fatalf("shared subscription granted %#x, want 1", qos)
	}
	states, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindState))
	snaps, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindSnapshot+"/+"))

	a := mustDial(t, b, "gw-a", "user-a", "pass-a", withWill(wire.Topic("gw-a", wire.KindState)))
	cmds, qos := subscribe(t, a, wire.Topic("gw-a", wire.KindCmd))
	if qos != 1 {
		t.Fatalf("own cmd subscription granted %#x", qos)
	}

	mustPublish(t, a, wire.Topic("gw-a", wire.KindState), 1, true, `{"state":1}`)
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, `{"event":1}`)
	mustPublish(t, a, wire.SnapshotTopic("gw-a", "01J0000000000000000000000A"), 1, false, []byte{0xff, 0xd8})
	if m := recv(t, states, "state"); m.topic != "bk/v1/gw/gw-a/state" || m.payload != `{"state":1}` {
		t.Fatalf("state: got %+v", m)
	}
	if m := recv(t, events, "event"); m.topic != "bk/v1/gw/gw-a/event" || m.payload != `{"event":1}` {
		t.Fatalf("event: got %+v", m)
	}
	if m := recv(t, snaps, "snapshot"); m.payload != "\xff\xd8" {
		t.Fatalf("snapshot: got %+v", m)
	}

	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindCmd), 1, false, `{"cmd":1}`)
	if m := recv(t, cmds, "cmd"); m.payload != `{"cmd":1}` {
		t.Fatalf("cmd: got %+v", m)
	}
}

func TestGatewayCannotPublishUnderAnotherRoot(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	all, _ := subscribe(t, fleet, "bk/v1/gw/#") // plain subscription: per-publisher order is kept
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")

	// QoS 0: dropped silently; the marker published after it arrives alone.
	for _, topic := range []string{
		wire.Topic("gw-b", wire.KindEvent),
		wire.Topic("gw-b", wire.KindState),
		wire.Topic("gw-a", wire.KindCmd), // a fleet kind, even on its own root
		wire.Topic("gw-a", "nonsense"),
		"elsewhere/topic",
	} {
		mustPublish(t, a, topic, 0, false, "forged")
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, "marker")
	if m := recv(t, all, "marker"); m.payload != "marker" {
		t.Fatalf("fleet received %+v before the marker", m)
	}

	// QoS 1: a 3.1.1 client cannot be told "not authorised" in a PUBACK, so
	// mochi disconnects it; nothing reaches the fleet either.
	lost := make(chan struct{})
	a2 := mustDial(t, b, "gw-a", "user-a", "pass-a", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	tok := a2.Publish(wire.Topic("gw-b", wire.KindEvent), 1, false, "forged")
	tok.WaitTimeout(wait)
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("gateway publishing under another root was not disconnected")
	}
	mustPublish(t, fleet, wire.Topic("gw-b", wire.KindCmd), 1, false, "marker2")
	if m := recv(t, all, "marker2"); m.payload != "marker2" {
		t.Fatalf("fleet received %+v before marker2", m)
	}
	if d := b.Stats().ACLDenials; d < 6 {
		t.Fatalf("ACLDenials = %d, want >= 6", d)
	}
}

func TestGatewayCannotSubscribeElsewhere(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	for _, filter := range []string{
		wire.Topic("gw-b", wire.KindCmd),
		"bk/v1/gw/+/cmd",
		"bk/v1/gw/#",
		"#",
		wire.Topic("gw-a", "#"),
		wire.Topic("gw-a", wire.KindEvent), // a gateway kind: not for it to read
		"$share/fleet/bk/v1/gw/gw-a/cmd",
		"$SYS/#",
	} {
		if _, qos := subscribe(t, a, filter); qos != 0x80 {
			t.Errorf("subscribe %q granted %#x, want failure 0x80", filter, qos)
		}
	}
	own, _ := subscribe(t, a, wire.Topic("gw-a", wire.KindAck))
	// Everything the fleet sends to B or to A's other topics stays away from A.
	mustPublish(t, fleet, wire.Topic("gw-b", wire.KindCmd), 1, false, "for-b")
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindEvent), 1, false, "not-for-a")
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindAck), 1, false, "for-a")
	if m := recv(t, own, "own ack"); m.payload != "for-a" {
		t.Fatalf("gateway A received %+v", m)
	}
}

func TestConnectRefused(t *testing.T) {
	b := startBroker(t)
	cases := []struct {
		name, user, pass string
		opts             []clientOpt
	}{
		{"wrong password", "user-a", "pass-b", nil},
		{"unknown user", "user-x", "pass-a", nil},
		{"anonymous", "", "", nil},
		{"wrong fleet password", "fleet", "nope", nil},
		{"will on another gateway", "user-a", "pass-a", []clientOpt{withWill(wire.Topic("gw-b", wire.KindState))}},
		{"will on own event", "user-a", "pass-a", []clientOpt{withWill(wire.Topic("gw-a", wire.KindEvent))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dial(t, b, "gw-a", c.user, c.pass, c.opts...)
			if err == nil {
				t.Fatal("connected")
			}
		})
	}
	if f := b.Stats().AuthFailures; f < int64(len(cases)) {
		t.Fatalf("AuthFailures = %d, want >= %d", f, len(cases))
	}
}

func TestSharedSubscriptionSplits(t *testing.T) {
	b := startBroker(t)
	f1 := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	f2 := mustDial(t, b, "fleet-2", "fleet", "fleet-secret")
	c1, _ := subscribe(t, f1, wire.SharedFilter(wire.KindEvent))
	c2, _ := subscribe(t, f2, wire.SharedFilter(wire.KindEvent))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	gb := mustDial(t, b, "gw-b", "user-b", "pass-b")
	const n = 200
	for i := range n {
		gw, cl := "gw-a", a
		if i%2 == 1 {
			gw, cl = "gw-b", gb
		}
		mustPublish(t, cl, wire.Topic(gw, wire.KindEvent), 1, false, fmt.Sprint(i))
	}
	seen := map[string]int{}
	n1, n2 := 0, 0
	deadline := time.After(wait)
	for n1+n2 < n {
		select {
		case m := <-c1:
			seen[m.payload]++
			n1++
		case m := <-c2:
			seen[m.payload]++
			n2++
		case <-deadline:
			t.Fatalf("received %d+%d of %d", n1, n2, n)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d (duplicates: %v)", len(seen), n, seen)
	}
	if n1 == 0 || n2 == 0 {
		t.Fatalf("share group did not split: %d / %d", n1, n2)
	}
	t.Logf("split %d / %d", n1, n2)
	// Nothing more arrives: each message went to exactly one member.
	select {
	case m := <-c1:
		t.Fatalf("extra message %+v", m)
	case m := <-c2:
		t.Fatalf("extra message %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestRetainedDesiredConfig(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindConfigDesired), 1, true, `{"version":3}`)
	mustPublish(t, fleet, wire.Topic("gw-b", wire.KindConfigDesired), 1, true, `{"version":9}`)

	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	ch, _ := subscribe(t, a, wire.Topic("gw-a", wire.KindConfigDesired))
	m := recv(t, ch, "retained config")
	if m.payload != `{"version":3}` || !m.retained {
		t.Fatalf("got %+v, want retained version 3", m)
	}
	// Nothing more of it: a subscription keeps the order of one
	// publisher's messages, so the next message is a live one published
	// now, not the retained one again (no wait for what does not come).
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindConfigDesired), 1, false, `{"version":4}`)
	if m := recv(t, ch, "live config"); m.payload != `{"version":4}` || m.retained {
		t.Fatalf("after the retained config got %+v, want the live version 4", m)
	}
}

// TestWillOnOwnState drops a gateway's TCP connection without DISCONNECT:
// its Last Will (on its own state topic, retained) reaches the fleet.
func TestWillOnOwnState(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	states, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindState))

	conn, err := net.DialTimeout("tcp", b.Addr(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: "gw-a",
			UsernameFlag: true, Username: []byte("user-a"), PasswordFlag: true, Password: []byte("pass-a"),
			WillFlag: true, WillTopic: wire.Topic("gw-a", wire.KindState), WillPayload: []byte("gone"), WillQos: 1, WillRetain: true,
		},
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(wait))
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := conn.Read(ack); err != nil {
		t.Fatal(err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK % x", ack)
	}
	conn.Close()
	if m := recv(t, states, "will"); m.topic != wire.Topic("gw-a", wire.KindState) || m.payload != "gone" {
		t.Fatalf("will: got %+v", m)
	}
}

func TestLargeSnapshot(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	snaps, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindSnapshot+"/+"))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	jpeg := bytes.Repeat([]byte{0xab}, wire.MaxSnapshot+1<<20) // 9 MiB
	mustPublish(t, a, wire.SnapshotTopic("gw-a", "ev1"), 1, false, jpeg)
	if m := recv(t, snaps, "snapshot"); len(m.payload) != len(jpeg) {
		t.Fatalf("snapshot of %d bytes, want %d", len(m.payload), len(jpeg))
	}
}

// TestThroughputQoS1 pushes 5,000 QoS 1 events through one gateway client to
// one shared-subscription fleet client and checks none is lost.
func TestThroughputQoS1(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	events, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	const n = 5000
	payload := bytes.Repeat([]byte("x"), 1024)
	start := time.Now()
	var wg sync.WaitGroup
	toks := make(chan paho.Token, n)
	wg.Go(func() {
		for range n {
			toks <- a.Publish(wire.Topic("gw-a", wire.KindEvent), 1, false, payload)
		}
		close(toks)
	})
	for tok := range toks {
		if !tok.WaitTimeout(4*wait) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	wg.Wait()
	deadline := time.After(4 * wait)
	for i := range n {
		select {
		case <-events:
		case <-deadline:
			t.Fatalf("received %d of %d", i, n)
		}
	}
	el := time.Since(start)
	t.Logf("%d QoS 1 messages of 1 KiB in %v: %.0f msg/s", n, el, n/el.Seconds())
	if s := b.Stats(); s.MessagesDropped != 0 || s.InflightDropped != 0 {
		t.Fatalf("broker dropped messages: %+v", s)
	}
}

func TestStartErrors(t *testing.T) {
	if err := (&Broker{Listen: "127.0.0.1:0"}).Start(); err == nil {
		t.Fatal("started with no Auth and no FleetUser")
	}
	if err := (&Broker{Listen: "127.0.0.1:0", FleetUser: "f"}).Start(); err == nil {
		t.Fatal("started with a fleet user without password")
	}
	b := startBroker(t)
	if err := (&Broker{Listen: b.Addr(), Auth: creds}).Start(); err == nil {
		t.Fatal("second broker bound the same address")
	}
	if err := b.Start(); err == nil {
		t.Fatal("started twice")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
