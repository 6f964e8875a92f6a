package broker

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

type inprocMsg struct {
	topic string
	n     int
	first byte
}

// TestInProcessClient: Subscribe hands the fleet's own process every
// message on its filter, without a copy of its own; Publish reaches
// gateways, retained where the fleet may retain; both keep to the fleet's
// topics.
func TestInProcessClient(t *testing.T) {
	b := startBroker(t)
	got := make(chan inprocMsg, 16)
	handler := func(topic string, payload []byte) { got <- inprocMsg{topic, len(payload), payload[0]} }
	for _, f := range []string{wire.Filter(wire.KindEvent), wire.Filter(wire.KindSnapshot + "/+")} {
		if err := b.Subscribe(f, handler); err != nil {
			t.Fatal(err)
		}
	}
	a := mustDial(t, b, "gw-a", "user-a", "pass-a")
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, `{"v":1}`)
	select {
	case m := <-got:
		if m.topic != wire.Topic("gw-a", wire.KindEvent) || m.n != 7 {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(wait):
		t.Fatal("event not delivered in process")
	}

	// A 9 MiB snapshot: the gateway's client (in this process) encodes it
	// once, the broker reads it (mochi: the bytes read and a copy to decode
	// them from) and hands that to the handler, nothing more: 3 copies.
	// Over MQTT the fleet's client would cost four more (the packet's copy
	// for its queue, its encoding, and the client's read and decode).
	jpeg := bytes.Repeat([]byte{0xab}, wire.MaxSnapshot+1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mustPublish(t, a, wire.SnapshotTopic("gw-a", "ev1"), 1, false, jpeg)
	select {
	case m := <-got:
		if m.n != len(jpeg) || m.first != 0xab {
			t.Fatalf("snapshot: got %+v", m)
		}
	case <-time.After(4 * wait):
		t.Fatal("snapshot not delivered in process")
	}
	runtime.ReadMemStats(&after)
	// TotalAlloc is the whole process's (the race detector, buffers grown
	// on the way): 5.5 copies still tells 3 from 7
	if d := after.TotalAlloc - before.TotalAlloc; d > 11*uint64(len(jpeg))/2 {
		t.Fatalf("%.1f MiB allocated to pass a %d MiB snapshot in process, want about 3 copies (over MQTT: 7)", float64(d)/(1<<20), len(jpeg)>>20)
	}

	// Publish: retained config/desired stays retained for a later subscriber.
	desired := wire.Topic("gw-a", wire.KindConfigDesired)
	if err := b.Publish(desired, []byte(`{"v":1,"version":2}`), true, 1); err != nil {
		t.Fatal(err)
	}
	cfg, _ := subscribe(t, a, desired)
	if m := recv(t, cfg, "config/desired"); !m.retained || m.payload != `{"v":1,"version":2}` {
		t.Fatalf("config/desired: got %+v, want it retained", m)
	}
	// Not retained where the fleet may not retain.
	acks, _ := subscribe(t, a, wire.Topic("gw-a", wire.KindAck))
	if err := b.Publish(wire.Topic("gw-a", wire.KindAck), []byte(`{"v":1,"seqs":[1]}`), true, 1); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, acks, "ack"); m.retained {
		t.Fatalf("ack delivered retained: %+v", m)
	}
	if n := b.Stats().RetainCleared; n != 1 {
		t.Fatalf("RetainCleared = %d, want 1", n)
	}

	for _, topic := range []string{"other/topic", "$SYS/broker/clients"} {
		if err := b.Publish(topic, []byte("x"), false, 0); err == nil {
			t.Errorf("Publish(%s): no error", topic)
		}
		if err := b.Subscribe(topic, handler); err == nil {
			t.Errorf("Subscribe(%s): no error", topic)
		}
	}

	if err := b.Unsubscribe(wire.Filter(wire.KindEvent)); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, a, wire.Topic("gw-a", wire.KindEvent), 1, false, `{"v":1}`)
	select {
	case m := <-got:
		t.Fatalf("delivered after Unsubscribe: %+v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestInProcessNotStarted(t *testing.T) {
	var b Broker
	if err := b.Subscribe(wire.Filter(wire.KindEvent), func(string, []byte) {}); err == nil {
		t.Error("Subscribe before Start: no error")
	}
	if err := b.Publish(wire.Topic("gw-a", wire.KindAck), nil, false, 1); err == nil {
		t.Error("Publish before Start: no error")
	}
}
