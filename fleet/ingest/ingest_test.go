package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/broker"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

type rig struct {
	st   *dbtest.DB
	gw   mqtt.Client
	acks chan wire.Ack
	c    *Consumer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Fresh(t)
	user, pass, err := st.AddGateway(ctx, "gw-1", "canteen-1")
	if err != nil {
		t.Fatal(err)
	}
	b := &broker.Broker{Listen: "127.0.0.1:0", Auth: st, FleetUser: "fleet", FleetPassword: "pw"}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := &Consumer{BrokerURL: "tcp://" + b.Addr(), Username: "fleet", Password: "pw", Registry: st.Registry, SnapshotWait: time.Second}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	wait.For(t, 10*time.Second, "the consumer connected", c.Connected)
	r := &rig{st: st, acks: make(chan wire.Ack, 64), c: c}
	r.gw = mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("gw-1").
		SetUsername(user).SetPassword(pass))
	if tok := r.gw.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("gateway connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.gw.Disconnect(50) })
	tok := r.gw.Subscribe(wire.Topic("gw-1", wire.KindAck), 1, func(_ mqtt.Client, m mqtt.Message) {
		if a, err := wire.DecodeAck(m.Payload()); err == nil {
			r.acks <- a
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return r
}

func (r *rig) publish(t *testing.T, topic string, payload []byte) {
	t.Helper()
	// A generous bound: a 2 MiB snapshot through the broker under -race
	// on a loaded 2-core machine took over 5 s.
	tok := r.gw.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(30 * time.Second) {
		t.Fatalf("publish %s: not acknowledged within 30 s", topic)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func (r *rig) event(t *testing.T, id string, seq uint64, jpeg []byte, lie bool) {
	t.Helper()
	sum := sha256.Sum256(jpeg)
	ref := &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpeg)}
	if lie {
		ref.SHA256 = strings.Repeat("0", 64)
	}
	ev := wire.Event{V: 1, EventID: id, Seq: seq, CameraID: "cam-1", Type: "camera_occluded", Score: 0.9,
		Boxes: []wire.Box{{W: 1, H: 1}}, StartedAt: time.Now().UTC(), Phase: wire.PhaseStart, Snapshot: ref}
	b, _ := wire.Marshal(ev)
	r.publish(t, wire.Topic("gw-1", wire.KindEvent), b)
}

func (r *rig) waitAck(t *testing.T, seq uint64, within time.Duration) bool {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case a := <-r.acks:
			for _, s := range a.Seqs {
				if s == seq {
					return true
				}
			}
		case <-deadline:
			return false
		}
	}
}

// TestLargeSnapshotPairs: a snapshot over PendingBytes (2 MiB by default)
// still pairs with its event: a gateway's newest pending snapshot is always
// kept, and a gateway sends its snapshot just before its event, so one is
// all that normally waits.
func TestLargeSnapshotPairs(t *testing.T) {
	r := newRig(t)
	if r.c.PendingBytes != 2<<20 {
		t.Fatalf("PendingBytes defaults to %d, want 2 MiB", r.c.PendingBytes)
	}
	// the largest snapshot there may be, its event right behind it: the
	// gateway's queue has room for both
	jpeg := bytes.Repeat([]byte{0xab}, wire.MaxSnapshot)
	r.publish(t, wire.SnapshotTopic("gw-1", "ev-big"), jpeg)
	r.event(t, "ev-big", 1, jpeg, false)
	if !r.waitAck(t, 1, 10*time.Second) {
		t.Fatal("event with a snapshot of wire.MaxSnapshot bytes not acked")
	}
	vs, err := r.st.Violations(context.Background(), alarms.ViolationFilter{GatewayID: "gw-1", Limit: 10})
	if err != nil || len(vs) != 1 || !vs[0].HasSnapshot {
		t.Fatalf("stored %+v, %v; want the event with its snapshot", vs, err)
	}
}

func TestSnapshotPairing(t *testing.T) {
	r := newRig(t)
	jpeg := []byte("\xff\xd8 fake jpeg \xff\xd9")

	// Snapshot first, then its event (the gateway's order).
	r.publish(t, wire.SnapshotTopic("gw-1", "ev-1"), jpeg)
	r.event(t, "ev-1", 1, jpeg, false)
	if !r.waitAck(t, 1, 5*time.Second) {
		t.Fatal("event with snapshot not acked")
	}
	// Event first, snapshot after: paired once it arrives.
	r.event(t, "ev-2", 2, jpeg, false)
	time.Sleep(100 * time.Millisecond)
	r.publish(t, wire.SnapshotTopic("gw-1", "ev-2"), jpeg)
	if !r.waitAck(t, 2, 5*time.Second) {
		t.Fatal("event whose snapshot came later not acked")
	}
	// A snapshot that does not match its reference is not acked.
	r.publish(t, wire.SnapshotTopic("gw-1", "ev-3"), jpeg)
	r.event(t, "ev-3", 3, jpeg, true)
	if r.waitAck(t, 3, 2*time.Second) {
		t.Fatal("event with a mismatching snapshot was acked")
	}
	// An event whose snapshot never comes is not acked either.
	r.event(t, "ev-4", 4, jpeg, false)
	if r.waitAck(t, 4, 2500*time.Millisecond) {
		t.Fatal("event without its snapshot was acked")
	}

	vs, err := r.st.Violations(context.Background(), alarms.ViolationFilter{GatewayID: "gw-1"})
	if err != nil || len(vs) != 2 {
		t.Fatalf("stored %d violations (%v), want 2", len(vs), err)
	}
	for _, v := range vs {
		got, err := r.st.Snapshot(context.Background(), v.ID)
		if err != nil || string(got) != string(jpeg) {
			t.Errorf("violation %d snapshot %q, %v", v.ID, got, err)
		}
	}
}
