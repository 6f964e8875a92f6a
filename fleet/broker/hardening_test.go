package broker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// startWith starts a broker set up by f (on top of startBroker's settings).
func startWith(t *testing.T, f func(*Broker)) *Broker {
	t.Helper()
	b := &Broker{Listen: "127.0.0.1:0", Auth: creds, FleetUser: "fleet", FleetPassword: "fleet-secret"}
	f(b)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// dialFrom opens a TCP connection to addr from a given loopback address
// (127.0.0.x: Linux routes all of 127/8 to lo).
func dialFrom(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connectPacket encodes an MQTT 3.1.1 CONNECT.
func connectPacket(t *testing.T, clientID, user, pass string) []byte {
	t.Helper()
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: clientID,
			UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(pass),
		},
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawConnect sends a CONNECT on c and returns the CONNACK's return code.
func rawConnect(t *testing.T, c net.Conn, clientID, user, pass string) (byte, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(connectPacket(t, clientID, user, pass)); err != nil {
		return 0, err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil {
		return 0, err
	}
	if ack[0] != 0x20 {
		return 0, errors.New("not a CONNACK")
	}
	return ack[3], nil
}

// closedWithin reports how long the server took to close c (reading until
// EOF or a reset), failing the test after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 64)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v", limit)
		}
		return time.Since(start)
	}
}

// TestCloseWhileClientsLeave closes the broker while its clients are
// leaving. With mochi's own listener, Server.Close entered
// Clients.GetByListener (two read locks) and a client's Clients.Delete
// queued between them deadlocked it; the old Close then gave up after 5 s
// and left that goroutine behind (the goleak check of TestMain failed).
func TestCloseWhileClientsLeave(t *testing.T) {
	const rounds, clients = 8, 40
	many := fakeAuth{}
	for i := range clients {
		id := fmt.Sprintf("gw-%d", i)
		many[id] = [2]string{"pw", id}
	}
	for r := range rounds {
		b := &Broker{Listen: "127.0.0.1:0", Auth: many}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		conns := make([]net.Conn, clients)
		for i := range conns {
			c, err := net.DialTimeout("tcp", b.Addr(), wait)
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("gw-%d", i)
			if code, err := rawConnect(t, c, id, id, "pw"); err != nil || code != 0 {
				t.Fatalf("round %d client %d: code %d, %v", r, i, code, err)
			}
			conns[i] = c
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { c.Close() })
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- b.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(4 * time.Second):
			t.Fatalf("round %d: Close did not return within 4 s", r)
		}
		wg.Wait()
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("round %d: Close took %v", r, el)
		}
	}
}

// TestCloseWhileClientsLockIsBusy makes the race above likely: the
// clients' map is large (so a scan of it under the read lock takes a while)
// and the clients' write lock is taken over and over (as clients leaving
// do) while Close runs. Close must not scan the map under the read lock and
// take it again (mochi's GetByListener, which Close no longer enters).
func TestCloseWhileClientsLockIsBusy(t *testing.T) {
	b := &Broker{Listen: "127.0.0.1:0", Auth: creds}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	srv := b.srv
	// One client under many ids (cheap), on no listener of ours.
	ghost := srv.NewClient(nil, "ghost", "", false)
	for i := range 50_000 {
		ghost.ID = fmt.Sprintf("ghost-%d", i)
		srv.Clients.Add(ghost)
	}
	a := dialFrom(t, b.Addr(), "127.0.0.1")
	if code, err := rawConnect(t, a, "gw-a", "user-a", "pass-a"); err != nil || code != 0 {
		t.Fatalf("connect: %d %v", code, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				srv.Clients.Delete("nobody") // a writer, like a client leaving
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(4 * time.Second):
		t.Error("Close did not return within 4 s")
	}
	close(stop)
	wg.Wait()
}

// TestCloseEndsClients: after Close, nothing of the broker is left running
// and every connection it held is closed, also one still before CONNECT.
func TestCloseEndsClients(t *testing.T) {
	b := &Broker{Listen: "127.0.0.1:0", Auth: creds, ConnectTimeout: time.Minute}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	silent := dialFrom(t, b.Addr(), "127.0.0.1")
	a := dialFrom(t, b.Addr(), "127.0.0.1")
	if code, err := rawConnect(t, a, "gw-a", "user-a", "pass-a"); err != nil || code != 0 {
		t.Fatalf("connect: %d %v", code, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, silent, time.Second)
	closedWithin(t, a, time.Second)
}

func TestConnectDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	b := startWith(t, func(b *Broker) { b.ConnectTimeout = timeout })
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	events, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")

	full := connectPacket(t, "gw-a", "user-a", "pass-a")
	for _, c := range []struct {
		name string
		send []byte
	}{
		{"nothing", nil},
		{"one byte", []byte{0x10}},
		{"header only", full[:2]},
		{"partial connect", full[:len(full)-3]},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dialFrom(t, b.Addr(), "127.0.0.1")
			if _, err := conn.Write(c.send); err != nil {
				t.Fatal(err)
			}
			el := closedWithin(t, conn, 3*time.Second)
			if el < timeout/2 {
				t.Fatalf("dropped after %v, before the deadline", el)
			}
			t.Logf("dropped after %v", el)
		})
	}
	// The deadline ends with the CONNECT: the gateway connected before the
	// silent ones (each held at least the deadline) is still served.
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, "still here")
	if m := recv(t, events, "event"); m.payload != "still here" {
		t.Fatalf("got %+v", m)
	}
}

func TestConnectTooLarge(t *testing.T) {
	b := startBroker(t) // default ConnectTimeout: a drop within 1 s is the guard's
	for _, c := range []struct {
		name   string
		header []byte
	}{
		{"connect of 8 MiB", []byte{0x10, 0xff, 0xff, 0xff, 0x03}}, // under mochi's MaxPacketSize
		{"connect of 200 MB", []byte{0x10, 0x80, 0x84, 0xaf, 0x5f}},
		{"connect of 64 KiB + 1", []byte{0x10, 0x81, 0x80, 0x04}},
		{"publish first", []byte{0x30, 0x05, 0x00, 0x01, 'x', 'y', 'z'}},
		{"five length bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x01}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dialFrom(t, b.Addr(), "127.0.0.1")
			if _, err := conn.Write(c.header); err != nil {
				t.Fatal(err)
			}
			closedWithin(t, conn, time.Second)
		})
	}
	if n := b.Stats().RefusedFirstPacket; n < 5 {
		t.Fatalf("RefusedFirstPacket = %d, want >= 5", n)
	}

	// Ten connections each declaring an 8 MiB CONNECT and sending 1 KiB of
	// it: no buffer of the declared size is ever allocated.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var conns []net.Conn
	for range 10 {
		conn := dialFrom(t, b.Addr(), "127.0.0.1")
		if _, err := conn.Write(append([]byte{0x10, 0xff, 0xff, 0xff, 0x03}, make([]byte, 1024)...)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	for _, conn := range conns {
		closedWithin(t, conn, time.Second)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Fatalf("%d MiB allocated for 10 oversized CONNECTs", d>>20)
	}

	// A CONNECT just under the limit is fine (a big Will payload).
	o := paho.NewClientOptions().AddBroker("tcp://"+b.Addr()).SetClientID("gw-a").
		SetUsername("user-a").SetPassword("pass-a").SetAutoReconnect(false).SetConnectTimeout(wait).
		SetWill(wire.Topic("gw-a", wire.KindState), strings.Repeat("w", MaxConnectPacket-200), 1, true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("connect with a CONNECT of almost 64 KiB: %v", tok.Error())
	}
	c.Disconnect(50)
}

func TestPendingPerAddr(t *testing.T) {
	const max = 5
	b := startWith(t, func(b *Broker) { b.MaxPendingPerAddr = max; b.ConnectTimeout = time.Minute })
	// An authenticated connection from the address does not count.
	a := dialFrom(t, b.Addr(), "127.0.0.1")
	if code, err := rawConnect(t, a, "gw-a", "user-a", "pass-a"); err != nil || code != 0 {
		t.Fatalf("connect: %d %v", code, err)
	}
	var held []net.Conn
	for range max {
		held = append(held, dialFrom(t, b.Addr(), "127.0.0.1"))
	}
	// The server has admitted the five when it has accepted a sixth
	// connection and closed it: accept is sequential.
	over := dialFrom(t, b.Addr(), "127.0.0.1")
	closedWithin(t, over, time.Second)
	if n := b.Stats().RefusedPerAddr; n != 1 {
		t.Fatalf("RefusedPerAddr = %d, want 1", n)
	}
	// Another address still connects and authenticates.
	other := dialFrom(t, b.Addr(), "127.0.0.2")
	if code, err := rawConnect(t, other, "gw-b", "user-b", "pass-b"); err != nil || code != 0 {
		t.Fatalf("connect from another address: %d %v", code, err)
	}
	// One of the held ones authenticates: its slot is free again.
	if code, err := rawConnect(t, held[0], "fleet-x", "fleet", "fleet-secret"); err != nil || code != 0 {
		t.Fatalf("connect held: %d %v", code, err)
	}
	next := dialFrom(t, b.Addr(), "127.0.0.1")
	if code, err := rawConnect(t, next, "fleet-y", "fleet", "fleet-secret"); err != nil || code != 0 {
		t.Fatalf("connect after a slot was freed: %d %v", code, err)
	}
	// A held one that goes away frees its slot too.
	held[1].Close()
	deadline := time.Now().Add(wait)
	for {
		b.gate.mu.Lock()
		n := b.gate.pending["127.0.0.1"]
		b.gate.mu.Unlock()
		if n == max-2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending from 127.0.0.1 = %d, want %d", n, max-2)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientIDSquatting: a gateway may use only its own gateway id as its
// client id, so it can neither kick another gateway off nor take its id
// while it is away and lock it out on its return.
func TestClientIDSquatting(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	events, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindEvent))
	lost := make(chan struct{}, 1)
	a := mustDial(t, b, "gw-a", "user-a", "pass-a", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { lost <- struct{}{} })
	})
	if _, err := dial(t, b, "gw-a", "user-b", "pass-b"); err == nil {
		t.Fatal("gateway B connected with gateway A's client id")
	}
	if _, err := dial(t, b, "gw-a", "fleet", "fleet-secret"); err == nil {
		t.Fatal("the fleet's client took gateway A's connected client id")
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, "a still connected")
	if m := recv(t, events, "event"); m.payload != "a still connected" {
		t.Fatalf("got %+v", m)
	}
	select {
	case <-lost:
		t.Fatal("gateway A was disconnected")
	default:
	}
	a.Disconnect(50)

	// A away: B still cannot take its id, nor use any id but its own.
	for _, id := range []string{"gw-a", "something-else", ""} {
		if _, err := dial(t, b, id, "user-b", "pass-b"); err == nil {
			t.Fatalf("gateway B connected with client id %q", id)
		}
	}
	mustDial(t, b, "gw-a", "user-a", "pass-a") // A comes back
	mustDial(t, b, "gw-b", "user-b", "pass-b")
	// The same gateway may take its own session over (a reconnect).
	mustDial(t, b, "gw-a", "user-a", "pass-a")
}

// TestRetainOnlyStateAndDesired: a gateway's retained publishes other than
// its state are delivered but not kept, so nothing of them stays in the
// broker after it leaves; the fleet's are kept on config/desired only.
func TestRetainOnlyStateAndDesired(t *testing.T) {
	b := startBroker(t)
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	snaps, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindSnapshot+"/+"))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	jpeg := bytes.Repeat([]byte{0xd8}, 64<<10)
	for i := range 3 {
		mustPublish(t, a, wire.SnapshotTopic("gw-a", "ev"+string(rune('0'+i))), 1, true, jpeg)
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, true, "e")
	mustPublish(t, a, wire.Topic("gw-a", wire.KindHeartbeat), 0, true, "h")
	mustPublish(t, a, wire.Topic("gw-a", wire.KindState), 1, true, "s")
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindCmd), 1, true, "c")
	mustPublish(t, fleet, wire.Topic("gw-a", wire.KindConfigDesired), 1, true, "d")
	for range 3 {
		if m := recv(t, snaps, "snapshot"); len(m.payload) != len(jpeg) {
			t.Fatalf("snapshot of %d bytes", len(m.payload))
		}
	}
	a.Disconnect(50)

	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	var kept []string
	for _, pk := range srv.Topics.Messages(wire.TopicPrefix + "#") {
		kept = append(kept, pk.TopicName)
	}
	want := []string{wire.Topic("gw-a", wire.KindConfigDesired), wire.Topic("gw-a", wire.KindState)}
	if len(kept) != 2 || !(kept[0] == want[0] && kept[1] == want[1] || kept[0] == want[1] && kept[1] == want[0]) {
		t.Fatalf("retained topics %v, want %v", kept, want)
	}
	if n := b.Stats().RetainCleared; n != 6 {
		t.Fatalf("RetainCleared = %d, want 6", n)
	}
}

// TestGatewayPaced: the broker reads a gateway at GatewayBytesPerSec, so 4
// MiB at 2 MiB/s cannot arrive in much less than 2 s (the reads show as
// paced); the fleet's own client is never paced.
func TestGatewayPaced(t *testing.T) {
	b := startWith(t, func(b *Broker) { b.GatewayBytesPerSec = 2 << 20 })
	fleet := mustDial(t, b, "fleet-1", "fleet", "fleet-secret")
	snaps, _ := subscribe(t, fleet, wire.SharedFilter(wire.KindSnapshot+"/+"))
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	cmds, _ := subscribe(t, a, wire.Topic("gw-a", wire.KindCmd))

	jpeg := bytes.Repeat([]byte{0xab}, 256<<10)
	start := time.Now()
	for i := range 16 {
		mustPublish(t, a, wire.SnapshotTopic("gw-a", fmt.Sprintf("ev%d", i)), 0, false, jpeg)
	}
	for range 16 {
		recv(t, snaps, "snapshot")
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("4 MiB from a gateway paced at 2 MiB/s arrived in %v", took)
	}
	paced := b.Stats().PacedReads
	if paced == 0 {
		t.Fatal("no read was paced")
	}
	// 4 MiB from the fleet to the gateway: no read of the fleet's is paced.
	big := bytes.Repeat([]byte{'x'}, 256<<10)
	for range 16 {
		mustPublish(t, fleet, wire.Topic("gw-a", wire.KindCmd), 0, false, big)
	}
	for range 16 {
		recv(t, cmds, "command")
	}
	if got := b.Stats().PacedReads; got != paced {
		t.Errorf("the fleet's reads were paced: %d, was %d", got, paced)
	}
}
