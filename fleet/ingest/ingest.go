package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// InProcess is a broker in the same process that the consumer uses without
// an MQTT connection (the embedded broker, broker.Broker).
type InProcess interface {
	// Subscribe calls handler with every message on filter (handler must
	// not block, and must not change payload).
	Subscribe(filter string, handler func(topic string, payload []byte)) error
	Unsubscribe(filter string) error
	Publish(topic string, payload []byte, retain bool, qos byte) error
}

// Consumer reads the device topics and writes them to the store.
type Consumer struct {
	// BrokerURL is the broker to consume from, e.g. tcp://127.0.0.1:1883.
	BrokerURL string
	// InProcess, when set, is the broker to consume from instead of
	// BrokerURL (which, with Username, Password and ClientID, is then
	// unused): its messages come to the consumer as the broker read them,
	// not encoded again and read back over a connection, so a snapshot is
	// in memory once on its way instead of four times. It subscribes to
	// the device topics without a share group ($share is for replicas
	// sharing one broker; an embedded broker has one consumer).
	InProcess InProcess
	// Username and Password authenticate the fleet's own client.
	Username, Password string
	// ClientID defaults to "bk-fleet-" and a random suffix.
	ClientID string
	// Registry receives everything; required.
	Registry *registry.Registry
	// BatchMax is the most records committed in one transaction (default 512).
	BatchMax int
	// BatchWait is how long a batch waits to fill (default 5 ms).
	BatchWait time.Duration
	// SnapshotWait is how long an event waits for its snapshot before it is
	// dropped unacknowledged (the gateway resends both; default 10 s).
	SnapshotWait time.Duration
	// QueueMax and QueueBytes bound one gateway's messages waiting to be
	// processed (defaults 1024 messages and DefaultQueueBytes, about a
	// second of the broker's read rate per gateway; a message larger than
	// QueueBytes is still taken when the queue is empty). Over either, the
	// gateway's new messages are dropped unacknowledged.
	QueueMax   int
	QueueBytes int
	// PendingMax and PendingBytes bound one gateway's snapshots waiting for
	// their event, and PendingMax its events waiting for their snapshot
	// (defaults 256 and 2 MiB); over them, that gateway's oldest go. The
	// newest snapshot is kept whatever its size, and a gateway sends each
	// snapshot just before its event, so one normally waits at a time;
	// more are a flood of snapshots whose event never comes.
	PendingMax   int
	PendingBytes int
	// SnapshotQuota is the most snapshot bytes stored per gateway and UTC
	// day (default 1 GiB; negative: no limit). Over it, events are stored
	// without their snapshot, marked snapshot_dropped.
	SnapshotQuota int64
	// ConfigResend is the least time between two re-sends of a gateway's
	// desired config prompted by its heartbeats (default 1 min); a state
	// message (the gateway connecting) always prompts one.
	ConfigResend time.Duration
	// Registerer receives the metrics; nil means none are registered.
	Registerer prometheus.Registerer
	// Committed, when set, is called after a batch with events was
	// committed (the fleet wakes its push with it); it must not block.
	Committed func()
	Logger    *slog.Logger

	client  mqtt.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	metrics metrics

	mu        sync.Mutex
	connected bool
	known     map[string]bool      // gateway ids known to exist
	queues    map[string]*gwQueue  // gateways with messages waiting
	ready     []string             // round-robin order of queues
	resent    map[string]time.Time // gateway -> last desired-config re-send
	wake      chan struct{}        // capacity 1: a queue got a message
}

// gwQueue is one gateway's messages waiting for the batcher.
type gwQueue struct {
	msgs  []inbound
	bytes int
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

	configResent prometheus.Counter
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
		configResent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bk_fleet_ingest_config_resent_total", Help: "Desired configs sent again to gateways whose reported version was behind.",
		}),
		batchDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bk_fleet_ingest_batch_seconds", Help: "Time to commit one ingest batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if r != nil {
		r.MustRegister(m.received, m.rejected, m.committed, m.acks, m.batchDur, m.configResent)
	}
	return m
}

// Start connects to the broker and subscribes; it keeps reconnecting in the
// background if the broker goes away.
func (c *Consumer) Start(ctx context.Context) error {
	if c.Registry == nil {
		return errors.New("ingest: no registry")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.BatchMax <= 0 {
		c.BatchMax = 512
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 5 * time.Millisecond
	}
	if c.SnapshotWait <= 0 {
		c.SnapshotWait = 10 * time.Second
	}
	if c.QueueMax <= 0 {
		c.QueueMax = 1024
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.PendingMax <= 0 {
		c.PendingMax = 256
	}
	if c.PendingBytes <= 0 {
		c.PendingBytes = 2 << 20
	}
	if c.SnapshotQuota == 0 {
		c.SnapshotQuota = 1 << 30
	}
	if c.ConfigResend <= 0 {
		c.ConfigResend = time.Minute
	}
	if c.ClientID == "" {
		c.ClientID = "bk-fleet-" + randomSuffix()
	}
	c.metrics = newMetrics(c.Registerer)
	c.known = map[string]bool{}
	c.queues = map[string]*gwQueue{}
	c.resent = map[string]time.Time{}
	c.wake = make(chan struct{}, 1)
	ctx, c.cancel = context.WithCancel(ctx)

	if c.InProcess != nil {
		for _, f := range c.filters(false) {
			if err := c.InProcess.Subscribe(f, c.receive); err != nil {
				c.cancel()
				return fmt.Errorf("ingest: subscribe %s: %w", f, err)
			}
		}
		c.setConnected(true)
		c.Logger.Info("consuming", "broker", "in process")
	} else {
		c.connect()
	}

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run(ctx)
	}()
	return nil
}

// filters are the device topics the consumer takes, shared among fleet
// replicas or not.
func (c *Consumer) filters(shared bool) []string {
	kinds := []string{wire.KindState, wire.KindHeartbeat, wire.KindCameraStatus, wire.KindEvent,
		wire.KindSnapshot + "/+", wire.KindCmdAck, wire.KindConfigReported}
	filters := make([]string, len(kinds))
	for i, k := range kinds {
		if shared {
			filters[i] = wire.SharedFilter(k)
		} else {
			filters[i] = wire.Filter(k)
		}
	}
	return filters
}

// connect starts the MQTT client, which keeps reconnecting in the background.
func (c *Consumer) connect() {
	opts := mqtt.NewClientOptions().
		AddBroker(c.BrokerURL).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(true).
		SetOrderMatters(true). // onMessage never blocks: no goroutine per message

		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(15 * time.Second).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.setConnected(false)
			c.Logger.Warn("broker connection lost", "err", err)
		})
	c.client = mqtt.NewClient(opts)
	c.client.Connect() // with ConnectRetry this returns at once and keeps trying
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
	if c.InProcess != nil {
		for _, f := range c.filters(false) {
			_ = c.InProcess.Unsubscribe(f)
		}
		c.setConnected(false)
	} else {
		c.client.Disconnect(250)
	}
	c.cancel()
	c.wg.Wait()
	c.cancel = nil
	return nil
}

// Publish sends a message to a gateway (commands, desired config).
func (c *Consumer) Publish(topic string, retained bool, payload []byte, timeout time.Duration) error {
	if c.InProcess != nil {
		return c.InProcess.Publish(topic, payload, retained, 1)
	}
	tok := c.client.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("publish %s: timed out", topic)
	}
	return tok.Error()
}

// publishAsync publishes at QoS 1 without waiting for the broker's ack (a
// lost message is sent again by the caller's next round).
func (c *Consumer) publishAsync(topic string, retained bool, payload []byte) {
	if c.InProcess != nil {
		if err := c.InProcess.Publish(topic, payload, retained, 1); err != nil {
			c.Logger.Warn("publish", "topic", topic, "err", err)
		}
		return
	}
	c.client.Publish(topic, 1, retained, payload)
}

func (c *Consumer) onConnect(cl mqtt.Client) {
	filters := map[string]byte{}
	for _, f := range c.filters(true) {
		filters[f] = 1
	}
	tok := cl.SubscribeMultiple(filters, c.onMessage)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Logger.Error("subscribe failed", "err", tok.Error())
		return
	}
	c.setConnected(true)
	c.Logger.Info("consuming", "broker", c.BrokerURL)
}

func (c *Consumer) onMessage(_ mqtt.Client, m mqtt.Message) { c.receive(m.Topic(), m.Payload()) }

// DefaultQueueBytes is room for the largest snapshot and its event right
// behind it: with less, a gateway whose snapshot is near wire.MaxSnapshot
// would see that event dropped each time it sends both, and never be
// acknowledged.
const DefaultQueueBytes = wire.MaxSnapshot + wire.MaxPayload

func (c *Consumer) reject(kind, reason string, err error) {
	c.metrics.rejected.WithLabelValues(kind, reason).Inc()
	c.Logger.Debug("rejected message", "kind", kind, "reason", reason, "err", err)
}

// pendingEvent is an event waiting for its snapshot.
type pendingEvent struct {
	ev    wire.Event
	since time.Time
}

// run is the batcher: it groups records into one store transaction, then acks.
func (c *Consumer) run(ctx context.Context) {
	pend := map[string]*pending{} // by gateway
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var msgs []inbound
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			// Let a batch fill, unless it is full already.
			fill := time.NewTimer(c.BatchWait)
			select {
			case <-ctx.Done():
				fill.Stop()
				return
			case <-fill.C:
			}
		case <-timer.C:
		}
		msgs = c.take(c.BatchMax, msgs[:0])
		if c.queued() {
			select { // more to do: come back at once
			case c.wake <- struct{}{}:
			default:
			}
		}
		var batch []registry.IngestItem
		for _, m := range msgs {
			if item, ok := c.decode(ctx, m, pend); ok {
				batch = append(batch, item)
			}
		}
		clear(msgs)
		// Events whose snapshot has arrived since, or that waited too long.
		now := time.Now()
		anyWaiting := false
		for gw, p := range pend {
			still := p.waiting[:0]
			for _, w := range p.waiting {
				if jpeg, ok := p.takeSnap(w.ev.EventID); ok {
					ev := w.ev
					batch = append(batch, c.item(gw, &ev, jpeg))
				} else if now.Sub(w.since) < c.SnapshotWait {
					still = append(still, w)
				} else {
					c.reject(wire.KindEvent, "snapshot_missing", nil)
				}
			}
			clear(p.waiting[len(still):])
			p.waiting = still
			// Snapshots whose event never came are forgotten after a while.
			p.expire(now.Add(-c.SnapshotWait))
			if p.empty() {
				delete(pend, gw)
			} else if len(p.waiting) > 0 {
				anyWaiting = true
			}
		}
		if anyWaiting || len(pend) > 0 {
			timer.Reset(time.Second)
		}
		if len(batch) > 0 {
			c.commit(ctx, batch)
		}
	}
}

// resendConfig publishes the gateway's stored desired config again if the
// gateway has not reported it yet; prompted by a heartbeat (not by a state
// message, always) at most once per ConfigResend.
func (c *Consumer) resendConfig(ctx context.Context, gw string, always bool) {
	now := time.Now()
	c.mu.Lock()
	last, seen := c.resent[gw]
	c.mu.Unlock()
	if !always && seen && now.Sub(last) < c.ConfigResend {
		return
	}
	cfg, ver, behind, err := c.Registry.ConfigBehind(ctx, gw)
	if err != nil {
		c.Logger.Error("look up desired config", "gateway_id", gw, "err", err)
		return
	}
	c.mu.Lock()
	if behind {
		c.resent[gw] = now
	} else {
		delete(c.resent, gw)
	}
	c.mu.Unlock()
	if !behind {
		return
	}
	b, err := wire.Marshal(wire.ConfigDesired{V: wire.Version, Version: ver, Config: cfg})
	if err != nil {
		c.Logger.Error("encode desired config", "gateway_id", gw, "err", err)
		return
	}
	c.publishAsync(wire.Topic(gw, wire.KindConfigDesired), true, b) // the next state or heartbeat tries again
	c.metrics.configResent.Inc()
	c.Logger.Info("desired config sent again", "gateway_id", gw, "version", ver)
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
	exists, err := c.Registry.GatewayExists(ctx, gw)
	if err != nil || !exists {
		return false
	}
	c.mu.Lock()
	c.known[gw] = true
	c.mu.Unlock()
	return true
}

// commit stores a batch in one transaction, then acks each gateway's seqs.
func (c *Consumer) commit(ctx context.Context, batch []registry.IngestItem) {
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
		res, err = c.Registry.Ingest(ctx, batch)
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
	if c.Committed != nil && slices.ContainsFunc(batch, func(it registry.IngestItem) bool { return it.Event != nil }) {
		c.Committed()
	}
	acks := map[[2]string][]uint64{} // (gateway, epoch) -> seqs
	for _, it := range batch {
		switch {
		case it.Event != nil:
			if it.OverQuota {
				c.reject(wire.KindSnapshot, "over_quota", nil)
			}
			k := [2]string{it.GatewayID, it.Event.Epoch}
			acks[k] = append(acks[k], it.Event.Seq)
		case it.Status != nil:
			k := [2]string{it.GatewayID, it.Status.Epoch}
			acks[k] = append(acks[k], it.Status.Seq)
		}
	}
	for k, seqs := range acks {
		for len(seqs) > 0 {
			n := min(len(seqs), wire.MaxSeqs)
			b, _ := wire.Marshal(wire.Ack{V: wire.Version, Seqs: seqs[:n], Epoch: k[1]})
			c.publishAsync(wire.Topic(k[0], wire.KindAck), false, b) // a lost ack means a resend, which is idempotent
			c.metrics.acks.Inc()
			seqs = seqs[n:]
		}
	}
}
