package uplink

// Long file: the uplink's protocol cases against a real broker: sessions,
// acks, commands, config.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startClient(t testing.TB, c *Client) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "connected", c.Connected)
}

// 5,000 records drain in seq order, each delivered once, the fleet acks
// in batches and the outbox ends empty. Records already there at connect
// are historical, records appended after are not.
func TestDrainInOrder(t *testing.T) {
	const n = 5000
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	before := o.appendEvents(t, n/2)

	c := newClient(b, o, "gw-1")
	c.ReplayRate = -1
	began := time.Now()
	startClient(t, c)
	defer c.Close()
	after := o.appendEvents(t, n-n/2)

	wait.For(t, 60*time.Second, "outbox empty", func() bool { return o.len() == 0 })
	elapsed := time.Since(began)
	t.Logf("drained %d records in %v: %.0f records/s (acks applied in %d deletes)",
		n, elapsed, n/elapsed.Seconds(), o.deletes.Load())

	f.with(func(f *fleet) {
		var last uint64
		for _, d := range f.deliveries {
			if f.count[d.seq] == 1 && d.seq < last {
				t.Fatalf("seq %d delivered after %d", d.seq, last)
			}
			last = max(last, d.seq)
		}
		for _, s := range before {
			if f.count[s] == 0 {
				t.Fatalf("seq %d never delivered", s)
			}
			if !f.events[s].Historical {
				t.Fatalf("seq %d was in the outbox at connect but not historical", s)
			}
		}
		for _, s := range after {
			if f.count[s] == 0 {
				t.Fatalf("seq %d never delivered", s)
			}
			if f.events[s].Historical {
				t.Fatalf("seq %d appended after connect but historical", s)
			}
		}
		if ev := f.events[before[0]]; ev.EventID != "ev-1" || ev.Seq != 1 {
			t.Fatalf("first event %+v", ev)
		}
	})
	f.checkNoBad(t)
	st := c.Stats()
	if st.Published != n || st.Acked < n || st.Inflight != 0 || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A fleet that does not ack: records stay in the outbox, at most
// MaxInflight are in flight, and they are sent again after AckTimeout.
func TestNoDeleteWithoutAck(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	f.ack.Store(false)
	o := newMemOutbox()
	seqs := o.appendEvents(t, 30)

	c := newClient(b, o, "gw-1")
	c.MaxInflight = 10
	c.AckTimeout = 300 * time.Millisecond
	startClient(t, c)
	defer c.Close()

	wait.For(t, 10*time.Second, "first 10 sent twice", func() bool {
		for _, s := range seqs[:10] {
			if f.seen(s) < 2 {
				return false
			}
		}
		return true
	})
	if got := o.len(); got != 30 {
		t.Fatalf("outbox has %d records, want 30: nothing may be deleted without an ack", got)
	}
	for _, s := range seqs[10:] {
		if f.seen(s) != 0 {
			t.Fatalf("seq %d sent beyond MaxInflight", s)
		}
	}
	st := c.Stats()
	if st.Inflight != 10 || st.Resent < 10 || st.Acked != 0 {
		t.Fatalf("stats %+v", st)
	}
	f.with(func(f *fleet) {
		for _, d := range f.deliveries {
			if f.count[d.seq] > 1 && !d.historical {
				t.Fatalf("resent seq %d lost its historical flag", d.seq)
			}
		}
	})

	f.ack.Store(true)
	wait.For(t, 10*time.Second, "outbox empty once acked", func() bool { return o.len() == 0 })
	f.checkNoBad(t)
}

// An ack by upto deletes everything up to it.
func TestAckUpto(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	f.ack.Store(false)
	o := newMemOutbox()
	seqs := o.appendEvents(t, 20)
	c := newClient(b, o, "gw-1")
	startClient(t, c)
	defer c.Close()
	wait.For(t, 10*time.Second, "all sent", func() bool { return f.seen(seqs[19]) > 0 })
	f.sendJSON(wire.KindAck, false, wire.Ack{V: wire.Version, Upto: seqs[14]})
	wait.For(t, 10*time.Second, "15 deleted", func() bool { return o.len() == 5 })
	wait.For(t, 10*time.Second, "5 in flight", func() bool { return c.Stats().Inflight == 5 })
}

// Killing the gateway's TCP connection at the broker publishes its Will
// (offline, same session); the gateway reconnects with the next session.
func TestLastWill(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	c := newClient(b, o, "gw-1")
	c.StartedAt = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	startClient(t, c)
	defer c.Close()
	s1 := c.Session()
	wait.For(t, 5*time.Second, "online state", func() bool { return f.hasState(true, s1) })

	b.kill(t, c.ClientID)
	wait.For(t, 5*time.Second, "the Will", func() bool { return f.hasState(false, s1) })
	wait.For(t, 10*time.Second, "reconnect", func() bool { return c.Session() > s1 && c.Connected() })
	s2 := c.Session()
	wait.For(t, 5*time.Second, "online with the new session", func() bool { return f.hasState(true, s2) })

	// A newcomer sees the retained state of the new session.
	got := retainedState(t, b, "gw-1")
	if !got.Online || got.Session != s2 || got.Version != "test" || !got.StartedAt.Equal(c.StartedAt) {
		t.Fatalf("retained state %+v, want online session %d", got, s2)
	}
	if st := c.Stats(); st.Connects != 2 {
		t.Fatalf("stats %+v", st)
	}
	f.checkNoBad(t)
}

func retainedState(t *testing.T, b *broker, gw string) wire.State {
	t.Helper()
	got := make(chan wire.State, 8)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.url()).SetClientID("peek"))
	if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("peek connect", tok.Error())
	}
	defer cl.Disconnect(100)
	cl.Subscribe(wire.Topic(gw, wire.KindState), 1, func(_ mqtt.Client, m mqtt.Message) {
		if s, err := wire.DecodeState(m.Payload()); err == nil && m.Retained() {
			got <- s
		}
	})
	select {
	case s := <-got:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no retained state")
		return wire.State{}
	}
}

// The broker stops mid-drain and a new one starts on the same port: the
// gateway reconnects with the next session, replays what is unacked as
// historical, and the fleet ends with every record.
func TestBrokerRestart(t *testing.T) {
	const n = 3000
	b := startBroker(t, "127.0.0.1:0")
	addr := b.addr
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	c := newClient(b, o, "gw-1")
	c.AckTimeout = 2 * time.Second
	c.MaxInflight = 64
	startClient(t, c)
	defer c.Close()
	s1 := c.Session()
	seqs := o.appendEvents(t, n) // after connect: not historical

	wait.For(t, 20*time.Second, "a third delivered", func() bool {
		var k int
		f.with(func(f *fleet) { k = len(f.count) })
		return k >= n/3
	})
	b.stop()
	time.Sleep(200 * time.Millisecond) // let the fleet take in what it had
	f.phase.Store(1)
	wait.For(t, 5*time.Second, "disconnected", func() bool { return !c.Connected() })
	remaining := o.len()
	b = startBroker(t, addr)
	t.Cleanup(b.close) // after the client and the fleet

	wait.For(t, 20*time.Second, "reconnected", func() bool { return c.Connected() && c.Session() > s1 })
	s2 := c.Session()
	wait.For(t, 30*time.Second, "outbox empty", func() bool { return o.len() == 0 })
	wait.For(t, 5*time.Second, "online state of the new session", func() bool { return f.hasState(true, s2) })

	var replayed int
	f.with(func(f *fleet) {
		for _, s := range seqs {
			if f.count[s] == 0 {
				t.Fatalf("seq %d never delivered", s)
			}
		}
		for _, d := range f.deliveries {
			switch {
			case d.phase == 0 && d.historical:
				t.Fatalf("seq %d historical before the outage", d.seq)
			case d.phase == 1 && !d.historical:
				t.Fatalf("seq %d replayed after the outage without historical", d.seq)
			case d.phase == 1:
				replayed++
			}
		}
	})
	if replayed == 0 || remaining == 0 {
		t.Fatalf("nothing replayed (%d left in the outbox at the outage)", remaining)
	}
	t.Logf("session %d -> %d, %d left at the outage, %d replayed deliveries", s1, s2, remaining, replayed)
	f.checkNoBad(t)
}

// A replay after reconnect is paced by ReplayRate.
func TestReplayRate(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	o.appendEvents(t, 300)
	c := newClient(b, o, "gw-1")
	c.ReplayRate = 1000 // burst 100: 300 records take >= 200 ms
	began := time.Now()
	startClient(t, c)
	defer c.Close()
	wait.For(t, 10*time.Second, "outbox empty", func() bool { return o.len() == 0 })
	if d := time.Since(began); d < 190*time.Millisecond {
		t.Fatalf("300 records at 1000/s took only %v", d)
	}
}

func TestCommands(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	c := newClient(b, o, "gw-1")
	var mu sync.Mutex
	runs := map[string]int{}
	release := make(chan struct{})
	c.OnCommand = func(ctx context.Context, cmd wire.Cmd) (string, error) {
		mu.Lock()
		runs[cmd.CmdID]++
		mu.Unlock()
		switch cmd.Name {
		case "slow":
			select {
			case <-release:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		case "boom":
			return "", errors.New("no such camera")
		}
		return "pong", nil
	}
	startClient(t, c)
	defer c.Close()

	future := time.Now().Add(time.Hour)
	acksOf := func(id string) []wire.CmdAck {
		var out []wire.CmdAck
		f.with(func(f *fleet) {
			for _, a := range f.cmdAcks {
				if a.CmdID == id {
					out = append(out, a)
				}
			}
		})
		return out
	}
	last := func(id string) wire.CmdAck {
		a := acksOf(id)
		if len(a) == 0 {
			return wire.CmdAck{}
		}
		return a[len(a)-1]
	}

	// Run once, ack received, running, ok.
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c1", Name: wire.CmdPing, ExpiresAt: future})
	wait.For(t, 5*time.Second, "c1 ok", func() bool { return last("c1").Status == wire.CmdOK })
	if a := acksOf("c1"); len(a) != 3 || a[0].Status != wire.CmdReceived || a[1].Status != wire.CmdRunning || a[2].Detail != "pong" {
		t.Fatalf("c1 acks %+v", a)
	}
	// The same id again: answered from memory, not run.
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c1", Name: wire.CmdPing, ExpiresAt: future})
	wait.For(t, 5*time.Second, "c1 answered again", func() bool { return len(acksOf("c1")) == 4 })
	if a := last("c1"); a.Status != wire.CmdOK || a.Detail != "pong" {
		t.Fatalf("repeat answered %+v", a)
	}

	// Repeated while still running: answered with its current status.
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c2", Name: "slow"})
	wait.For(t, 5*time.Second, "c2 running", func() bool { return last("c2").Status == wire.CmdRunning })
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c2", Name: "slow"})
	wait.For(t, 5*time.Second, "c2 answered again", func() bool { return len(acksOf("c2")) == 3 })
	if a := last("c2"); a.Status != wire.CmdRunning {
		t.Fatalf("repeat while running answered %+v", a)
	}
	close(release)
	wait.For(t, 5*time.Second, "c2 ok", func() bool { return last("c2").Status == wire.CmdOK })

	// A failure carries its error as detail.
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c3", Name: "boom"})
	wait.For(t, 5*time.Second, "c3 failed", func() bool { return last("c3").Status == wire.CmdFailed })
	if a := last("c3"); a.Detail != "no such camera" {
		t.Fatalf("c3 %+v", a)
	}

	// Expired: failed "expired", never run.
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "c4", Name: wire.CmdPing, ExpiresAt: time.Now().Add(-time.Minute)})
	wait.For(t, 5*time.Second, "c4 failed", func() bool { return last("c4").Status == wire.CmdFailed })
	if a := acksOf("c4"); len(a) != 1 || a[0].Detail != "expired" {
		t.Fatalf("c4 acks %+v", a)
	}

	// Malformed: counted, ignored.
	f.send(wire.KindCmd, false, []byte(`{"v":1,"name":"ping"}`))
	f.send(wire.KindCmd, false, []byte(`not json`))
	f.send(wire.KindAck, false, []byte(`{"v":1}`))
	wait.For(t, 5*time.Second, "malformed counted", func() bool { return c.Stats().Malformed == 3 })

	mu.Lock()
	defer mu.Unlock()
	if runs["c1"] != 1 || runs["c2"] != 1 || runs["c3"] != 1 || runs["c4"] != 0 {
		t.Fatalf("runs %v", runs)
	}
	st := c.Stats()
	if st.Commands != 3 || st.DuplicateCommands != 2 || st.ExpiredCommands != 1 {
		t.Fatalf("stats %+v", st)
	}
	f.checkNoBad(t)
}

func TestConfigDesired(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	// Retained before the gateway connects: delivered at subscribe.
	f.sendJSON(wire.KindConfigDesired, true, wire.ConfigDesired{V: 1, Version: 3, Config: []byte(`{"cameras":[]}`)})

	o := newMemOutbox()
	c := newClient(b, o, "gw-1")
	var mu sync.Mutex
	var applied []int64
	c.OnConfig = func(ctx context.Context, d wire.ConfigDesired) error {
		mu.Lock()
		defer mu.Unlock()
		applied = append(applied, d.Version)
		if string(d.Config) == `{"bad":true}` {
			return errors.New("cameras: missing")
		}
		return nil
	}
	dbg := func() string {
		var s string
		f.with(func(f *fleet) { s = fmt.Sprintf("reported %+v states %+v", f.reported, f.states) })
		return fmt.Sprintf("%s stats %+v", s, c.Stats())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("state: %s", dbg())
		}
	})
	startClient(t, c)
	defer c.Close()

	reports := func() []wire.ConfigReported {
		var out []wire.ConfigReported
		f.with(func(f *fleet) { out = append(out, f.reported...) })
		return out
	}
	// last waits for a report of version v after the first n, and returns
	// the newest. The desired config comes at QoS 1, at least once: the
	// retained one may be delivered twice, and each delivery is reported.
	last := func(v int64, n int) wire.ConfigReported {
		t.Helper()
		var r []wire.ConfigReported
		wait.For(t, 5*time.Second, fmt.Sprintf("v%d reported", v), func() bool {
			r = reports()
			return len(r) > n && r[len(r)-1].Version == v
		})
		return r[len(r)-1]
	}
	if r := last(3, 0); !r.Applied || r.Error != "" {
		t.Fatalf("report %+v", r)
	}
	// The same version again: reported applied, not re-applied.
	n := len(reports())
	f.sendJSON(wire.KindConfigDesired, true, wire.ConfigDesired{V: 1, Version: 3, Config: []byte(`{"cameras":[]}`)})
	if r := last(3, n); !r.Applied {
		t.Fatalf("report %+v", r)
	}
	// An older one too.
	f.sendJSON(wire.KindConfigDesired, true, wire.ConfigDesired{V: 1, Version: 2, Config: []byte(`{"cameras":[]}`)})
	if r := last(2, 0); !r.Applied {
		t.Fatalf("report %+v", r)
	}
	// A failing one: reported not applied, and the version does not move.
	f.sendJSON(wire.KindConfigDesired, true, wire.ConfigDesired{V: 1, Version: 4, Config: []byte(`{"bad":true}`)})
	if r := last(4, 0); r.Applied || r.Error != "cameras: missing" {
		t.Fatalf("report %+v", r)
	}
	for _, r := range reports() {
		if r.Version == 3 && (!r.Applied || r.Error != "") {
			t.Fatalf("report %+v", r)
		}
	}
	// Malformed: counted.
	f.send(wire.KindConfigDesired, false, []byte(`{"v":1,"version":5,"config":[1]}`))
	wait.For(t, 5*time.Second, "malformed counted", func() bool { return c.Stats().Malformed == 1 })

	mu.Lock()
	defer mu.Unlock()
	if len(applied) != 2 || applied[0] != 3 || applied[1] != 4 {
		t.Fatalf("OnConfig called for %v, want [3 4]", applied)
	}
	if v := c.Stats().ConfigVersion; v != 3 {
		t.Fatalf("config version %d, want 3", v)
	}
}

// An event with a snapshot goes JPEG first; a dropped snapshot is flagged;
// camera-status records carry their seq; an unsendable record is removed.
func TestSnapshotsAndKinds(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
	withBlob := o.append(wire.KindEvent, eventPayload(t, "ev-blob"), jpeg, false)
	dropped := o.append(wire.KindEvent, eventPayload(t, "ev-dropped"), nil, true)
	status, _ := wire.Marshal(wire.CameraStatus{V: 1, CameraID: "cam-1", At: time.Now().UTC(), Online: false, Picture: wire.PictureDark})
	cs := o.append(wire.KindCameraStatus, status, nil, false)
	junk := o.append("mystery", []byte("{}"), nil, false)
	broken := o.append(wire.KindEvent, []byte("{not json"), nil, false)
	last := o.appendEvents(t, 1)[0]

	c := newClient(b, o, "gw-1")
	c.HeartbeatEvery = 50 * time.Millisecond
	c.Heartbeat = func() wire.Heartbeat {
		return wire.Heartbeat{Cameras: []wire.CameraHealth{{CameraID: "cam-1", Online: true, Picture: wire.PictureOK}},
			Spool: wire.SpoolStats{Depth: o.len()}}
	}
	startClient(t, c)
	defer c.Close()
	wait.For(t, 10*time.Second, "outbox empty", func() bool { return o.len() == 0 })
	wait.For(t, 5*time.Second, "heartbeats", func() bool {
		var n int
		f.with(func(f *fleet) { n = len(f.heartbeats) })
		return n >= 3
	})

	sum := sha256.Sum256(jpeg)
	f.with(func(f *fleet) {
		ev := f.events[withBlob]
		if ev.Snapshot == nil || ev.Snapshot.SHA256 != hex.EncodeToString(sum[:]) || ev.Snapshot.Bytes != len(jpeg) || ev.SnapshotDropped {
			t.Fatalf("event with blob: %+v", ev)
		}
		if string(f.snapshots["ev-blob"]) != string(jpeg) || !f.snapFirst["ev-blob"] {
			t.Fatalf("snapshot missing or after its event")
		}
		if ev := f.events[dropped]; ev.Snapshot != nil || !ev.SnapshotDropped {
			t.Fatalf("event with dropped blob: %+v", ev)
		}
		if _, ok := f.snapshots["ev-dropped"]; ok {
			t.Fatal("a dropped snapshot was sent")
		}
		if s := f.statuses[cs]; s.Seq != cs || s.Picture != wire.PictureDark || !s.Historical {
			t.Fatalf("camera status %+v", s)
		}
		if f.count[junk] != 0 || f.count[broken] != 0 || f.count[last] != 1 {
			t.Fatalf("deliveries %v", f.count)
		}
		h := f.heartbeats[0]
		if h.Session != c.Session() || len(h.Cameras) != 1 || h.At.IsZero() {
			t.Fatalf("heartbeat %+v", h)
		}
	})
	if st := c.Stats(); st.Rejected != 2 || st.Published != 4 {
		t.Fatalf("stats %+v", st)
	}
	f.checkNoBad(t)
}

// The first connection fails (no broker yet) and is retried.
func TestFirstConnectRetries(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	addr := b.addr
	b.close()
	o := newMemOutbox()
	c := newClient(b, o, "gw-1")
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wait.For(t, 5*time.Second, "a failed attempt", func() bool { return c.Stats().ConnectFailures > 0 })
	b = startBroker(t, addr)
	t.Cleanup(b.close) // after the client
	wait.For(t, 10*time.Second, "connected", c.Connected)
}

// Close says offline with the session, disconnects, and leaves nothing
// running.
func TestCloseNoLeak(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	f := startFleet(t, b, "gw-1")
	o := newMemOutbox()
	o.appendEvents(t, 100)
	c := newClient(b, o, "gw-1")
	c.OnCommand = func(ctx context.Context, _ wire.Cmd) (string, error) {
		<-ctx.Done() // still running at Close
		return "", ctx.Err()
	}
	startClient(t, c)
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "hang", Name: "slow"})
	wait.For(t, 5*time.Second, "command running", func() bool { return c.Stats().Commands == 1 })
	s := c.Session()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 5*time.Second, "offline state", func() bool { return f.hasState(false, s) })
	if got := retainedState(t, b, "gw-1"); got.Online || got.Session != s {
		t.Fatalf("retained state after Close %+v", got)
	}
	if c.Connected() {
		t.Fatal("connected after Close")
	}
	f.close()
	b.close()
	goleak.VerifyNone(t)
}

func TestStartErrors(t *testing.T) {
	for _, c := range []*Client{
		{GatewayID: "a/b", BrokerURL: "tcp://x:1", Outbox: newMemOutbox()},
		{GatewayID: "gw", Outbox: newMemOutbox()},
		{GatewayID: "gw", BrokerURL: "tcp://x:1"},
	} {
		if err := c.Start(context.Background()); err == nil {
			t.Errorf("%+v started", c)
		}
	}
	c := &Client{GatewayID: "gw", BrokerURL: "tcp://127.0.0.1:1", Outbox: newMemOutbox(), RetryMin: time.Millisecond}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err == nil || !contains(err.Error(), "already started") {
		t.Fatalf("second Start: %v", err)
	}
	c.Close()
}

func TestCmdLRU(t *testing.T) {
	l := newCmdLRU(3)
	for _, id := range []string{"a", "b", "c"} {
		l.put(wire.CmdAck{CmdID: id, Status: wire.CmdOK})
	}
	l.get("a") // a is now the most recent
	l.put(wire.CmdAck{CmdID: "d", Status: wire.CmdOK})
	if _, ok := l.get("b"); ok {
		t.Fatal("b should have been evicted")
	}
	for _, id := range []string{"a", "c", "d"} {
		if _, ok := l.get(id); !ok {
			t.Fatalf("%s evicted", id)
		}
	}
}

// BenchmarkDrain measures records/s from outbox to fleet ack over a real
// broker on loopback.
func BenchmarkDrain(b *testing.B) {
	br := startBroker(b, "127.0.0.1:0")
	defer br.close()
	f := startFleet(b, br, "gw-1")
	defer f.close()
	o := newMemOutbox()
	c := newClient(br, o, "gw-1")
	c.ReplayRate = -1
	startClient(b, c)
	defer c.Close()
	payload := eventPayload(b, "ev-bench")
	b.ResetTimer()
	began := time.Now()
	for range b.N {
		o.append(wire.KindEvent, payload, nil, false)
	}
	wait.For(b, 5*time.Minute, "outbox empty", func() bool { return o.len() == 0 })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "records/s")
}

// hideLastSeq is an Outbox without LastSeq: historical is then told by
// the records' append time.
type hideLastSeq struct{ Outbox }

func TestHistoricalByTime(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	o := newMemOutbox()
	old := o.appendEvents(t, 5)
	c := newClient(b, hideLastSeq{o}, "gw-1")
	startClient(t, c)
	defer c.Close()
	time.Sleep(10 * time.Millisecond)
	fresh := o.appendEvents(t, 5)
	wait.For(t, 10*time.Second, "outbox empty", func() bool { return o.len() == 0 })
	f.with(func(f *fleet) {
		for _, s := range old {
			if !f.events[s].Historical {
				t.Errorf("seq %d not historical", s)
			}
		}
		for _, s := range fresh {
			if f.events[s].Historical {
				t.Errorf("seq %d historical", s)
			}
		}
	})
}

// TestCommandProgress: a command's Progress calls reach the fleet as
// "running" acks with their detail, before its final ack; AfterCommand
// runs after the final ack, with its status.
func TestCommandProgress(t *testing.T) {
	b := startBroker(t, "127.0.0.1:0")
	defer b.close()
	f := startFleet(t, b, "gw-1")
	defer f.close()
	c := newClient(b, newMemOutbox(), "gw-1")
	c.OnCommand = func(ctx context.Context, cmd wire.Cmd) (string, error) {
		for _, p := range []string{"25%", "50%", "100%"} {
			Progress(ctx, p)
		}
		if cmd.Name == "boom" {
			return "", errors.New("no")
		}
		return "done", nil
	}
	after := make(chan string, 2)
	c.AfterCommand = func(cmd wire.Cmd, status string) { after <- cmd.CmdID + " " + status }
	startClient(t, c)
	defer c.Close()
	Progress(context.Background(), "ignored outside a command")

	future := time.Now().Add(time.Hour)
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "p1", Name: "work", ExpiresAt: future})
	var got []string
	wait.For(t, 5*time.Second, "final ack", func() bool {
		got = got[:0]
		f.with(func(f *fleet) {
			for _, a := range f.cmdAcks {
				if a.CmdID == "p1" {
					got = append(got, a.Status+":"+a.Detail)
				}
			}
		})
		return len(got) > 0 && got[len(got)-1] == "ok:done"
	})
	want := []string{"received:", "running:", "running:25%", "running:50%", "running:100%", "ok:done"}
	if !slices.Equal(got, want) {
		t.Errorf("acks %v, want %v", got, want)
	}
	if a := <-after; a != "p1 ok" {
		t.Errorf("AfterCommand %q", a)
	}
	f.sendJSON(wire.KindCmd, false, wire.Cmd{V: 1, CmdID: "p2", Name: "boom", ExpiresAt: future})
	if a := <-after; a != "p2 failed" {
		t.Errorf("AfterCommand %q", a)
	}
}
