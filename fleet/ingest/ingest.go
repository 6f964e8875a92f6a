// Package ingest is the fleet's MQTT consumer: it subscribes (with shared
// subscriptions, so fleet replicas split the load) to every gateway's
// topics, validates each payload against the device contract, commits events
// and camera statuses to the store in batches, and only then acknowledges
// them to the gateway with an application-level ack. Ingest is idempotent by
// (gateway_id, event_id): a replay is acknowledged again but stored once.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Consumer reads the device topics and writes them to the store.
type Consumer struct {
	// BrokerURL is the broker to consume from, e.g. tcp://127.0.0.1:1883.
	BrokerURL string
	// Username and Password authenticate the fleet's own client.
	Username, Password string
	// ClientID defaults to "bk-fleet-" and a random suffix.
	ClientID string
	// Store receives everything; required.
	Store *store.Store
	// BatchMax is the most records committed in one transaction (default 512).
	BatchMax int
	// BatchWait is how long a batch waits to fill (default 5 ms).
	BatchWait time.Duration
	// SnapshotWait is how long an event waits for its snapshot before it is
	// dropped unacknowledged (the gateway resends both; default 10 s).
	SnapshotWait time.Duration
	// Registerer receives the metrics; nil means none are registered.
	Registerer prometheus.Registerer
	Logger     *slog.Logger

	client  mqtt.Client
	in      chan inbound
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	metrics metrics

	mu        sync.Mutex
	connected bool
	known     map[string]bool // gateway ids known to exist
}

type inbound struct {
	topic   wire.ParsedTopic
	payload []byte
	at      time.Time
}

type metrics struct {
	received  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	committed *prometheus.CounterVec
	acks      prometheus.Counter
	batchDur  prometheus.Histogram
}

func newMetrics(r prometheus.Registerer) metrics {
	m := metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_fleet_ingest_received_total", Help: "MQTT messages received from gateways, by kind.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_fleet_ingest_rejected_total", Help: "Messages rejected as malformed or not allowed, by kind and reason.",
		}, []string{"kind", "reason"}),
		committed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_fleet_ingest_committed_total", Help: "Records committed to the store (new ones, not replays), by kind.",
		}, []string{"kind"}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bk_fleet_ingest_acks_total", Help: "Ack messages sent to gateways.",
		}),
		batchDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bk_fleet_ingest_batch_seconds", Help: "Time to commit one ingest batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if r != nil {
		r.MustRegister(m.received, m.rejected, m.committed, m.acks, m.batchDur)
	}
	return m
}

// Start connects to the broker and subscribes; it keeps reconnecting in the
// background if the broker goes away.
func (c *Consumer) Start(ctx context.Context) error {
	if c.Store == nil {
		return errors.New("ingest: no store")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With("component", "ingest")
	if c.BatchMax <= 0 {
		c.BatchMax = 512
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 5 * time.Millisecond
	}
	if c.SnapshotWait <= 0 {
		c.SnapshotWait = 10 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "bk-fleet-" + randomSuffix()
	}
	c.metrics = newMetrics(c.Registerer)
	c.in = make(chan inbound, 4*c.BatchMax)
	c.known = map[string]bool{}
	ctx, c.cancel = context.WithCancel(ctx)

	opts := mqtt.NewClientOptions().
		AddBroker(c.BrokerURL).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(true).
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(15 * time.Second).
		SetMessageChannelDepth(8192).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.setConnected(false)
			c.Logger.Warn("broker connection lost", "err", err)
		})
	c.client = mqtt.NewClient(opts)
	c.client.Connect() // with ConnectRetry this returns at once and keeps trying

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run(ctx)
	}()
	return nil
}

// Connected reports whether the consumer is subscribed to the broker.
func (c *Consumer) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

func (c *Consumer) setConnected(v bool) {
	c.mu.Lock()
	c.connected = v
	c.mu.Unlock()
}

// Close disconnects and waits for the batcher to finish its last batch.
func (c *Consumer) Close() error {
	if c.cancel == nil {
		return nil
	}
	c.client.Disconnect(250)
	c.cancel()
	c.wg.Wait()
	c.cancel = nil
	return nil
}

// Publish sends a message to a gateway (commands, desired config).
func (c *Consumer) Publish(topic string, retained bool, payload []byte, timeout time.Duration) error {
	tok := c.client.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("publish %s: timed out", topic)
	}
	return tok.Error()
}

func (c *Consumer) onConnect(cl mqtt.Client) {
	kinds := []string{wire.KindState, wire.KindHeartbeat, wire.KindCameraStatus, wire.KindEvent,
		wire.KindSnapshot + "/+", wire.KindCmdAck, wire.KindConfigReported}
	filters := make(map[string]byte, len(kinds))
	for _, k := range kinds {
		filters[wire.SharedFilter(k)] = 1
	}
	tok := cl.SubscribeMultiple(filters, c.onMessage)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Logger.Error("subscribe failed", "err", tok.Error())
		return
	}
	c.setConnected(true)
	c.Logger.Info("consuming", "broker", c.BrokerURL)
}

// onMessage runs on paho's goroutine: parse the topic and hand over.
func (c *Consumer) onMessage(_ mqtt.Client, m mqtt.Message) {
	p, err := wire.ParseTopic(m.Topic())
	if err != nil {
		c.reject("topic", "bad_topic", err)
		return
	}
	c.metrics.received.WithLabelValues(p.Kind).Inc()
	c.in <- inbound{topic: p, payload: m.Payload(), at: time.Now()}
}

func (c *Consumer) reject(kind, reason string, err error) {
	c.metrics.rejected.WithLabelValues(kind, reason).Inc()
	c.Logger.Debug("rejected message", "kind", kind, "reason", reason, "err", err)
}

// pendingEvent is an event waiting for its snapshot.
type pendingEvent struct {
	gw    string
	ev    wire.Event
	since time.Time
}

// run is the batcher: it groups records into one store transaction, then acks.
func (c *Consumer) run(ctx context.Context) {
	snaps := map[string][]byte{} // gw/event_id -> JPEG received before its event
	var waiting []pendingEvent
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var batch []store.IngestItem
		var first inbound
		select {
		case <-ctx.Done():
			return
		case first = <-c.in:
		case <-timer.C:
		}
		var msgs []inbound
		if first.topic.Kind != "" {
			msgs = append(msgs, first)
			fillTimer := time.NewTimer(c.BatchWait)
		fill:
			for len(msgs) < c.BatchMax {
				select {
				case m := <-c.in:
					msgs = append(msgs, m)
				case <-fillTimer.C:
					break fill
				}
			}
			fillTimer.Stop()
		}
		for _, m := range msgs {
			if item, ok := c.decode(ctx, m, snaps, &waiting); ok {
				batch = append(batch, item)
			}
		}
		// Events whose snapshot has arrived since, or that waited too long.
		still := waiting[:0]
		for _, w := range waiting {
			key := w.gw + "/" + w.ev.EventID
			if jpeg, ok := snaps[key]; ok {
				delete(snaps, key)
				ev := w.ev
				batch = append(batch, store.IngestItem{GatewayID: w.gw, Event: &ev, Snapshot: jpeg})
			} else if time.Since(w.since) < c.SnapshotWait {
				still = append(still, w)
			} else {
				c.reject(wire.KindEvent, "snapshot_missing", nil)
			}
		}
		waiting = still
		if len(waiting) > 0 {
			timer.Reset(time.Second)
		}
		// Snapshots whose event never came are forgotten after a while.
		if len(snaps) > 1024 {
			clear(snaps)
		}
		if len(batch) > 0 {
			c.commit(ctx, batch)
		}
	}
}

// decode validates one message. Events and camera statuses become batch
// items; the rest is applied at once.
func (c *Consumer) decode(ctx context.Context, m inbound, snaps map[string][]byte, waiting *[]pendingEvent) (store.IngestItem, bool) {
	gw := m.topic.GatewayID
	kind := m.topic.Kind
	if !c.knownGateway(ctx, gw) {
		c.reject(kind, "unknown_gateway", fmt.Errorf("gateway %q is not registered", gw))
		return store.IngestItem{}, false
	}
	switch kind {
	case wire.KindEvent:
		ev, err := wire.DecodeEvent(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		item := store.IngestItem{GatewayID: gw, Event: &ev}
		if ev.Snapshot != nil {
			key := gw + "/" + ev.EventID
			jpeg, ok := snaps[key]
			if !ok {
				*waiting = append(*waiting, pendingEvent{gw: gw, ev: ev, since: m.at})
				return store.IngestItem{}, false
			}
			delete(snaps, key)
			item.Snapshot = jpeg
		}
		return item, true
	case wire.KindSnapshot:
		if len(m.payload) == 0 || len(m.payload) > wire.MaxSnapshot {
			c.reject(kind, "malformed", fmt.Errorf("snapshot of %d bytes", len(m.payload)))
			return store.IngestItem{}, false
		}
		key := gw + "/" + m.topic.EventID
		snaps[key] = m.payload
		// The event may already be waiting for it; run() pairs them.
		return store.IngestItem{}, false
	case wire.KindCameraStatus:
		st, err := wire.DecodeCameraStatus(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		return store.IngestItem{GatewayID: gw, Status: &st}, true
	case wire.KindState:
		st, err := wire.DecodeState(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		if err := c.Store.GatewayState(ctx, gw, st, m.at); err != nil {
			c.Logger.Error("store gateway state", "gateway_id", gw, "err", err)
		}
	case wire.KindHeartbeat:
		hb, err := wire.DecodeHeartbeat(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		if err := c.Store.Heartbeat(ctx, gw, hb, m.at); err != nil {
			c.Logger.Error("store heartbeat", "gateway_id", gw, "err", err)
		}
	case wire.KindCmdAck:
		a, err := wire.DecodeCmdAck(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		if err := c.Store.UpdateCmd(ctx, gw, a.CmdID, a.Status, a.Detail); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.Logger.Error("store cmd ack", "gateway_id", gw, "err", err)
		}
	case wire.KindConfigReported:
		r, err := wire.DecodeConfigReported(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return store.IngestItem{}, false
		}
		if err := c.Store.ConfigReported(ctx, gw, r); err != nil {
			c.Logger.Error("store config report", "gateway_id", gw, "err", err)
		}
	default:
		c.reject(kind, "unexpected_kind", nil)
	}
	return store.IngestItem{}, false
}

// knownGateway caches which gateway ids exist; a message from an unknown one
// (possible only with an external broker without our ACL) is rejected.
func (c *Consumer) knownGateway(ctx context.Context, gw string) bool {
	c.mu.Lock()
	ok := c.known[gw]
	c.mu.Unlock()
	if ok {
		return true
	}
	exists, err := c.Store.GatewayExists(ctx, gw)
	if err != nil || !exists {
		return false
	}
	c.mu.Lock()
	c.known[gw] = true
	c.mu.Unlock()
	return true
}

// commit stores a batch in one transaction, then acks each gateway's seqs.
func (c *Consumer) commit(ctx context.Context, batch []store.IngestItem) {
	for i := range batch {
		if ev := batch[i].Event; ev != nil && ev.Snapshot != nil && batch[i].Snapshot != nil {
			sum := sha256.Sum256(batch[i].Snapshot)
			if hex.EncodeToString(sum[:]) != ev.Snapshot.SHA256 || len(batch[i].Snapshot) != ev.Snapshot.Bytes {
				c.reject(wire.KindSnapshot, "checksum", fmt.Errorf("event %s: snapshot does not match its reference", ev.EventID))
				batch[i].Event = nil // not acked: the gateway sends both again
			}
		}
	}
	var res int
	for attempt := 0; ; attempt++ {
		start := time.Now()
		var err error
		res, err = c.Store.Ingest(ctx, batch)
		c.metrics.batchDur.Observe(time.Since(start).Seconds())
		var ie *store.ItemError
		if errors.As(err, &ie) && attempt < 16 && ie.Index >= 0 && ie.Index < len(batch) {
			// One bad record refuses the batch: drop it (unacked, so the
			// gateway sends it again) and commit the rest.
			c.reject(itemKind(batch[ie.Index]), "refused", ie)
			batch = append(batch[:ie.Index], batch[ie.Index+1:]...)
			if len(batch) == 0 {
				return
			}
			continue
		}
		if err != nil {
			// Nothing is acked; the gateways resend after their ack timeout.
			c.Logger.Error("commit batch", "records", len(batch), "err", err)
			return
		}
		break
	}
	c.metrics.committed.WithLabelValues("record").Add(float64(res))
	acks := map[string][]uint64{}
	for _, it := range batch {
		switch {
		case it.Event != nil:
			acks[it.GatewayID] = append(acks[it.GatewayID], it.Event.Seq)
		case it.Status != nil:
			acks[it.GatewayID] = append(acks[it.GatewayID], it.Status.Seq)
		}
	}
	for gw, seqs := range acks {
		b, _ := wire.Marshal(wire.Ack{V: wire.Version, Seqs: seqs})
		c.client.Publish(wire.Topic(gw, wire.KindAck), 1, false, b) // async; a lost ack means a resend, which is idempotent
		c.metrics.acks.Inc()
	}
}

func itemKind(it store.IngestItem) string {
	if it.Status != nil {
		return wire.KindCameraStatus
	}
	return wire.KindEvent
}
