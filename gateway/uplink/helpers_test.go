package uplink

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// testLogger logs to stderr when BK_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("BK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// ---- in-memory outbox ----

type memOutbox struct {
	mu      sync.Mutex
	seq     uint64
	session uint64
	recs    map[uint64]Record
	order   []uint64 // ascending; may hold deleted seqs
	notify  chan struct{}
	deletes atomic.Int64
}

func newMemOutbox() *memOutbox {
	return &memOutbox{recs: map[uint64]Record{}, notify: make(chan struct{}, 1)}
}

func (o *memOutbox) append(kind string, payload, blob []byte, blobDropped bool) uint64 {
	o.mu.Lock()
	o.seq++
	seq := o.seq
	o.recs[seq] = Record{Seq: seq, Kind: kind, Payload: payload, Blob: blob, BlobDropped: blobDropped, At: time.Now()}
	o.order = append(o.order, seq)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return seq
}

// appendEvents appends n events with ids ev-{seq} and returns their seqs.
func (o *memOutbox) appendEvents(t testing.TB, n int) []uint64 {
	var seqs []uint64
	for range n {
		o.mu.Lock()
		next := o.seq + 1
		o.mu.Unlock()
		seqs = append(seqs, o.append(wire.KindEvent, eventPayload(t, fmt.Sprintf("ev-%d", next)), nil, false))
	}
	return seqs
}

func eventPayload(t testing.TB, id string) []byte {
	b, err := json.Marshal(wire.Event{V: wire.Version, EventID: id, CameraID: "cam-1", Type: "no_mask",
		Score: 0.9, Boxes: []wire.Box{{X: 0.1, Y: 0.1, W: 0.2, H: 0.2}}, StartedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (o *memOutbox) Read(after uint64, max int) ([]Record, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.order), func(i int) bool { return o.order[i] > after })
	var out []Record
	for ; i < len(o.order) && len(out) < max; i++ {
		if r, ok := o.recs[o.order[i]]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (o *memOutbox) Delete(seqs ...uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		delete(o.recs, s)
	}
	o.deletes.Add(1)
	o.compact()
	return nil
}

func (o *memOutbox) DeleteUpTo(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.order {
		if s > seq {
			break
		}
		delete(o.recs, s)
	}
	o.deletes.Add(1)
	o.compact()
	return nil
}

func (o *memOutbox) compact() {
	if len(o.order) > 2*len(o.recs)+64 {
		o.order = slices.DeleteFunc(o.order, func(s uint64) bool { _, ok := o.recs[s]; return !ok })
	}
}

func (o *memOutbox) Notify() <-chan struct{} { return o.notify }

func (o *memOutbox) NextSession() (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.session++
	return o.session, nil
}

func (o *memOutbox) LastSeq() (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seq, nil
}

func (o *memOutbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.recs)
}

// ---- broker ----

// allowAll lets every client connect and use every topic. (mochi's own
// hooks/auth pulls in a YAML module this repository does not carry.)
type allowAll struct{ mochi.HookBase }

func (h *allowAll) ID() string { return "allow-all" }

func (h *allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (h *allowAll) OnACLCheck(*mochi.Client, string, bool) bool { return true }

type broker struct {
	srv  *mochi.Server
	addr string
}

// startBroker starts a mochi broker on addr ("127.0.0.1:0" for any port).
func startBroker(t testing.TB, addr string) *broker {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	var err error
	for range 100 { // the old listener's port may take a moment to free
		if err = srv.AddListener(l); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b := &broker{srv: srv, addr: l.Address()}
	return b
}

func (b *broker) url() string { return "tcp://" + b.addr }

// close closes the broker once its clients have left (up to a second).
// mochi v2.7.9 can deadlock when a client leaves while Close runs
// (Clients.GetByListener takes its read lock twice), so tests close their
// clients first.
func (b *broker) close() {
	for i := 0; i < 200 && atomic.LoadInt64(&b.srv.Info.ClientsConnected) > 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	_ = b.srv.Close()
}

// stop closes the broker at once, clients connected.
func (b *broker) stop() { _ = b.srv.Close() }

// kill drops a client's TCP connection from the broker's side, as a
// network failure would: the broker then publishes its Will.
func (b *broker) kill(t testing.TB, clientID string) {
	t.Helper()
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok {
		t.Fatalf("client %q not on the broker", clientID)
	}
	cl.Stop(fmt.Errorf("killed by test"))
}

// ---- fake fleet ----

type delivery struct {
	seq        uint64
	kind       string
	historical bool
	phase      int32
}

type fleet struct {
	t   testing.TB
	gw  string
	cl  mqtt.Client
	ack atomic.Bool // send acks
	// phase is stamped on each delivery, so a test can tell deliveries
	// before and after an outage apart.
	phase atomic.Int32

	mu         sync.Mutex
	deliveries []delivery
	count      map[uint64]int
	events     map[uint64]wire.Event
	statuses   map[uint64]wire.CameraStatus
	snapshots  map[string][]byte
	snapFirst  map[string]bool // snapshot arrived before its event
	states     []wire.State
	heartbeats []wire.Heartbeat
	cmdAcks    []wire.CmdAck
	reported   []wire.ConfigReported
	bad        []string
	pending    []uint64

	stop chan struct{}
	done chan struct{}
}

func startFleet(t testing.TB, b *broker, gw string) *fleet {
	t.Helper()
	f := &fleet{t: t, gw: gw, count: map[uint64]int{}, events: map[uint64]wire.Event{},
		statuses: map[uint64]wire.CameraStatus{}, snapshots: map[string][]byte{}, snapFirst: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	f.ack.Store(true)
	subscribed := make(chan struct{}, 1)
	opts := mqtt.NewClientOptions().AddBroker(b.url()).SetClientID("fleet-" + gw).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(20 * time.Millisecond).SetMaxReconnectInterval(50 * time.Millisecond).
		SetOnConnectHandler(func(cl mqtt.Client) {
			tok := cl.Subscribe(wire.Root(gw)+"#", 1, f.onMessage)
			tok.WaitTimeout(5 * time.Second)
			select {
			case subscribed <- struct{}{}:
			default:
			}
		})
	f.cl = mqtt.NewClient(opts)
	f.cl.Connect()
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("fleet did not subscribe")
	}
	go f.acker()
	return f
}

func (f *fleet) close() {
	close(f.stop)
	<-f.done
	f.cl.Disconnect(250)
}

func (f *fleet) onMessage(_ mqtt.Client, m mqtt.Message) {
	p, err := wire.ParseTopic(m.Topic())
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.bad = append(f.bad, err.Error())
		return
	}
	switch p.Kind {
	case wire.KindEvent:
		ev, err := wire.DecodeEvent(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		if ev.Snapshot != nil {
			if _, ok := f.snapshots[ev.EventID]; ok {
				f.snapFirst[ev.EventID] = true
			}
		}
		f.events[ev.Seq] = ev
		f.deliver(delivery{seq: ev.Seq, kind: p.Kind, historical: ev.Historical, phase: f.phase.Load()})
	case wire.KindCameraStatus:
		cs, err := wire.DecodeCameraStatus(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		f.statuses[cs.Seq] = cs
		f.deliver(delivery{seq: cs.Seq, kind: p.Kind, historical: cs.Historical, phase: f.phase.Load()})
	case wire.KindSnapshot:
		f.snapshots[p.EventID] = slices.Clone(m.Payload())
	case wire.KindState:
		s, err := wire.DecodeState(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		f.states = append(f.states, s)
	case wire.KindHeartbeat:
		h, err := wire.DecodeHeartbeat(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		f.heartbeats = append(f.heartbeats, h)
	case wire.KindCmdAck:
		a, err := wire.DecodeCmdAck(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		f.cmdAcks = append(f.cmdAcks, a)
	case wire.KindConfigReported:
		r, err := wire.DecodeConfigReported(m.Payload())
		if err != nil {
			f.bad = append(f.bad, err.Error())
			return
		}
		f.reported = append(f.reported, r)
	}
}

func (f *fleet) deliver(d delivery) {
	f.deliveries = append(f.deliveries, d)
	f.count[d.seq]++
	f.pending = append(f.pending, d.seq)
}

// acker acknowledges what arrived, in batches, every few milliseconds.
func (f *fleet) acker() {
	defer close(f.done)
	t := time.NewTicker(3 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		if !f.ack.Load() || !f.cl.IsConnectionOpen() {
			continue // keep what is pending: acks sent now would be lost
		}
		f.mu.Lock()
		seqs := f.pending
		f.pending = nil
		f.mu.Unlock()
		for len(seqs) > 0 {
			n := min(len(seqs), 500)
			b, _ := wire.Marshal(wire.Ack{V: wire.Version, Seqs: seqs[:n]})
			// QoS 0: paho v1.5.1 races (go test -race) when its auto-reconnect
			// resends stored QoS 1 publishes; a lost ack only means a resend.
			f.cl.Publish(wire.Topic(f.gw, wire.KindAck), 0, false, b)
			seqs = seqs[n:]
		}
	}
}

// send publishes a raw payload to the gateway on kind's topic.
func (f *fleet) send(kind string, retained bool, payload []byte) {
	f.t.Helper()
	tok := f.cl.Publish(wire.Topic(f.gw, kind), 1, retained, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		f.t.Fatalf("publish %s: %v", kind, tok.Error())
	}
}

func (f *fleet) sendJSON(kind string, retained bool, v any) {
	f.t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	f.send(kind, retained, b)
}

// snapshot returns a copy of what the fleet has seen, under its lock.
func (f *fleet) with(fn func(f *fleet)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fleet) seen(seq uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[seq]
}

func (f *fleet) hasState(online bool, session uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.states {
		if s.Online == online && s.Session == session {
			return true
		}
	}
	return false
}

func (f *fleet) checkNoBad(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Errorf("fleet got %d bad messages, first: %s", len(f.bad), f.bad[0])
	}
}

// ---- helpers ----

// newClient returns a Client on b with short timers for tests.
func newClient(b *broker, o Outbox, gw string) *Client {
	return &Client{
		GatewayID:      gw,
		BrokerURL:      b.url(),
		Version:        "test",
		ConnectTimeout: 2 * time.Second,
		KeepAlive:      5 * time.Second,
		RetryMin:       50 * time.Millisecond,
		RetryMax:       300 * time.Millisecond,
		Outbox:         o,
		Logger:         testLogger(),
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
