package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fleetcore "github.com/brightkitchen/brightkitchen/fleet/core"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	gwcore "github.com/brightkitchen/brightkitchen/gateway/core"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
	"github.com/brightkitchen/brightkitchen/gateway/uplink"
)

func startFleetInProcess(b *testing.B) (*fleetcore.Fleet, string, string) {
	b.Helper()
	f, err := fleetcore.Start(context.Background(), fleetcore.Options{
		HTTP: "127.0.0.1:0", MQTTListen: "127.0.0.1:0", DataDir: b.TempDir(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	user, pass, err := f.Registry.AddGateway(context.Background(), "gw-bench", "canteen-1")
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !f.Ingest.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return f, user, pass
}

func benchEvent(i int) []byte {
	ev := wire.Event{V: wire.Version, EventID: fmt.Sprintf("bench-%08d", i), CameraID: "cam-1",
		Type: "no_mask", Score: 0.9, Boxes: []wire.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4, Label: "person", Score: 0.9}},
		StartedAt: time.Now().UTC(), Phase: wire.PhaseStart,
		Attrs: map[string]string{"note": strings.Repeat("x", 720)}} // about 1 KB on the wire
	b, _ := wire.Marshal(ev)
	return b
}

// BenchmarkDrainBacklog measures how fast a gateway drains a 100,000-event
// backlog (1 KB events) to the fleet: spool → uplink → embedded broker →
// ingest → SQLite → ack → spool delete, all real, in one process.
func BenchmarkDrainBacklog(b *testing.B) {
	const backlog = 100_000
	for range b.N {
		f, user, pass := startFleetInProcess(b)
		spoolPath := filepath.Join(b.TempDir(), "spool.db")
		q, err := spool.Open(spool.Options{Path: spoolPath, MaxBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < backlog; i += 1000 {
			items := make([]spool.Item, 1000)
			for j := range items {
				items[j] = spool.Item{Kind: wire.KindEvent, Payload: benchEvent(i + j)}
			}
			if _, err := q.Append(context.Background(), items...); err != nil {
				b.Fatal(err)
			}
		}
		up := &uplink.Client{GatewayID: "gw-bench", BrokerURL: "tcp://" + f.MQTTAddr(), Username: user, Password: pass,
			Outbox: gwcore.NewOutbox(q), MaxInflight: 1024, ReplayRate: 10000, Logger: slog.New(slog.DiscardHandler)}
		b.ResetTimer()
		start := time.Now()
		if err := up.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		deadline := start.Add(5 * time.Minute)
		for q.Stats().Depth > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		n, _ := f.Registry.CountEvents(context.Background(), "gw-bench")
		if n != backlog {
			b.Fatalf("fleet has %d events, want %d", n, backlog)
		}
		b.ReportMetric(float64(backlog)/took.Seconds(), "events/s")
		up.Close()
		q.Close()
	}
}

// timedOutbox records when each seq was appended and when the fleet's ack
// deleted it.
type timedOutbox struct {
	uplink.Outbox
	mu       sync.Mutex
	appended map[uint64]time.Time
	lat      []time.Duration
}

func (o *timedOutbox) Delete(seqs ...uint64) error {
	now := time.Now()
	o.mu.Lock()
	for _, s := range seqs {
		if t, ok := o.appended[s]; ok {
			o.lat = append(o.lat, now.Sub(t))
			delete(o.appended, s)
		}
	}
	o.mu.Unlock()
	return o.Outbox.Delete(seqs...)
}

// BenchmarkEventLatency measures, at 200 events/s, the time from the start
// of an append to the gateway's spool until the fleet's ack for that event
// deletes it: fsync at the gateway, MQTT, commit at the fleet, ack back.
func BenchmarkEventLatency(b *testing.B) {
	const rate, total = 200, 2000
	for range b.N {
		f, user, pass := startFleetInProcess(b)
		q, err := spool.Open(spool.Options{Path: filepath.Join(b.TempDir(), "spool.db")})
		if err != nil {
			b.Fatal(err)
		}
		ob := &timedOutbox{Outbox: gwcore.NewOutbox(q), appended: map[uint64]time.Time{}}
		up := &uplink.Client{GatewayID: "gw-bench", BrokerURL: "tcp://" + f.MQTTAddr(), Username: user, Password: pass,
			Outbox: ob, Logger: slog.New(slog.DiscardHandler)}
		if err := up.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for !up.Connected() {
			time.Sleep(10 * time.Millisecond)
		}
		tick := time.NewTicker(time.Second / rate)
		for i := range total {
			<-tick.C
			t0 := time.Now()
			seqs, err := q.Append(context.Background(), spool.Item{Kind: wire.KindEvent, Payload: benchEvent(i)})
			if err != nil {
				b.Fatal(err)
			}
			ob.mu.Lock()
			if _, acked := ob.appended[seqs[0]]; !acked {
				ob.appended[seqs[0]] = t0
			}
			ob.mu.Unlock()
		}
		tick.Stop()
		deadline := time.Now().Add(30 * time.Second)
		for q.Stats().Depth > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		ob.mu.Lock()
		lat := slices.Clone(ob.lat)
		ob.mu.Unlock()
		slices.Sort(lat)
		if len(lat) < total*9/10 {
			b.Fatalf("only %d of %d latencies measured", len(lat), total)
		}
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		up.Close()
		q.Close()
	}
}
