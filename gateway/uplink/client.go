package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// Client is the gateway's MQTT uplink. Set the fields, then call Start; the
// fields must not change afterwards. Zero values mean the documented default.
type Client struct {
	// GatewayID names the gateway in every topic; required (wire.ValidID).
	GatewayID string
	// BrokerURL is the broker, e.g. tcp://127.0.0.1:1883 or
	// ssl://fleet.example:8883; required.
	BrokerURL string
	// TLSConfig is used with a TLS BrokerURL (ssl, tls, mqtts, wss): the CA
	// that verifies the broker and a client certificate. Default nil: the
	// system's roots, no client certificate.
	TLSConfig *tls.Config
	// Username and Password authenticate the gateway to the broker.
	Username, Password string
	// ClientID is the MQTT client id. Default: GatewayID.
	ClientID string
	// Version is the firmware version announced in state.
	Version string
	// StartedAt is when the gateway started, announced in state.
	// Default: the time Start is called.
	StartedAt time.Time

	// KeepAlive is the MQTT keepalive. Default 30s.
	KeepAlive time.Duration
	// ConnectTimeout bounds one connection attempt (dial, CONNACK,
	// SUBACK), and how long one publish may block. Default 10s.
	ConnectTimeout time.Duration
	// HeartbeatEvery is the interval between heartbeats; one is also sent
	// right after each connect. Default 30s.
	HeartbeatEvery time.Duration
	// AckTimeout is how long a record may wait for the fleet's ack before
	// it is sent again. Default 15s.
	AckTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between connection attempts;
	// it doubles from RetryMin after each failure, up to RetryMax, with
	// jitter. Defaults 1s and 30s.
	RetryMin, RetryMax time.Duration

	// MaxInflight is the most records sent and not yet acknowledged by the
	// fleet. Default 256.
	MaxInflight int
	// ReplayRate caps, in records per second, the replay of records that
	// were already in the outbox when the connection was established.
	// Default 10000; negative means no cap.
	ReplayRate float64
	// CommandWorkers is how many commands may run at once. Default 4.
	CommandWorkers int
	// ConfigVersion is the desired config version already applied (for
	// example persisted by the caller across restarts); desired configs at
	// or below it are reported applied without calling OnConfig. Default 0.
	ConfigVersion int64

	// Outbox is the queue to drain; required.
	Outbox Outbox
	// Heartbeat fills a heartbeat's cameras, spool and system; the uplink
	// sets V, At and Session. Nil sends heartbeats without them.
	Heartbeat func() wire.Heartbeat
	// OnCommand runs a command and returns a detail for the "ok" ack, or an
	// error whose text is the "failed" detail. The uplink sends the
	// received, running and final acks and never runs a cmd_id twice. Its
	// context is cancelled by Close. Nil fails every command.
	// OnCommand may report progress with Progress(ctx, detail).
	OnCommand func(ctx context.Context, cmd wire.Cmd) (detail string, err error)
	// AfterCommand, when set, is called after a command's final ack (ok
	// or failed, its status) has reached the broker or failed to: where
	// a command that ends the process (restart) takes effect.
	AfterCommand func(cmd wire.Cmd, status string)
	// OnConfig applies (and persists) a desired config; the uplink reports
	// config/reported with its outcome. Called from one goroutine, once per
	// version that succeeds. Nil reports every new version failed.
	OnConfig func(ctx context.Context, d wire.ConfigDesired) error
	// Logger receives the uplink's logs and paho's (with lib=paho); its
	// owner names the component. Default: discard.
	Logger *slog.Logger

	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once
	closed sync.Once

	topics struct {
		state, heartbeat, event, cameraStatus, cmdAck, configReported string
		ack, cmd, configDesired                                       string
	}

	// inbound, from paho's handlers to the uplink's goroutines
	acks    chan wire.Ack
	cmds    chan wire.Cmd
	configs chan wire.ConfigDesired
	wake    chan struct{} // an ack freed room in the in-flight window

	connected atomic.Bool
	session   atomic.Uint64
	connMu    sync.Mutex
	conn      mqtt.Client // the current connection, nil when down

	mu           sync.Mutex
	inflight     map[uint64]*flight
	maxPublished uint64 // highest seq ever sent by this process

	cmdMu   sync.Mutex
	cmdSeen *cmdLRU
	cmdSem  chan struct{}

	configVersion atomic.Int64
	stats         counters
	malformedLog  atomic.Int64 // unix nanos of the last malformed-input log
}

// flight is one record sent and not yet acknowledged.
type flight struct {
	sentAt     time.Time
	historical bool
}

// ErrNotConnected is returned when a message cannot be published because
// the uplink has no connection.
var ErrNotConnected = errors.New("uplink: not connected")

const (
	defaultKeepAlive      = 30 * time.Second
	defaultConnectTimeout = 10 * time.Second
	defaultHeartbeat      = 30 * time.Second
	defaultAckTimeout     = 15 * time.Second
	defaultRetryMin       = time.Second
	defaultRetryMax       = 30 * time.Second
	defaultMaxInflight    = 256
	defaultReplayRate     = 10000
	defaultCmdWorkers     = 4
	cmdMemory             = 1000
	closeTimeout          = 2 * time.Second
)

// Start checks the settings and starts connecting in the background; it
// returns at once. A failed first connection is retried like any other.
// The uplink runs until Close or until ctx is cancelled.
func (c *Client) Start(ctx context.Context) error {
	err := errors.New("uplink: already started")
	c.start.Do(func() { err = c.setup(ctx) })
	return err
}

func (c *Client) setup(ctx context.Context) error {
	switch {
	case !wire.ValidID(c.GatewayID):
		return fmt.Errorf("uplink: gateway id %q invalid", c.GatewayID)
	case c.BrokerURL == "":
		return errors.New("uplink: broker url missing")
	case c.Outbox == nil:
		return errors.New("uplink: outbox missing")
	}
	if c.ClientID == "" {
		c.ClientID = c.GatewayID
	}
	if c.StartedAt.IsZero() {
		c.StartedAt = time.Now()
	}
	c.StartedAt = c.StartedAt.UTC()
	setDefault(&c.KeepAlive, defaultKeepAlive)
	setDefault(&c.ConnectTimeout, defaultConnectTimeout)
	setDefault(&c.HeartbeatEvery, defaultHeartbeat)
	setDefault(&c.AckTimeout, defaultAckTimeout)
	setDefault(&c.RetryMin, defaultRetryMin)
	setDefault(&c.RetryMax, defaultRetryMax)
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	setDefault(&c.MaxInflight, defaultMaxInflight)
	setDefault(&c.ReplayRate, defaultReplayRate)
	setDefault(&c.CommandWorkers, defaultCmdWorkers)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.log = c.Logger
	pahoLog.Store(c.log.With("lib", "paho"))

	id := c.GatewayID
	c.topics.state = wire.Topic(id, wire.KindState)
	c.topics.heartbeat = wire.Topic(id, wire.KindHeartbeat)
	c.topics.event = wire.Topic(id, wire.KindEvent)
	c.topics.cameraStatus = wire.Topic(id, wire.KindCameraStatus)
	c.topics.cmdAck = wire.Topic(id, wire.KindCmdAck)
	c.topics.configReported = wire.Topic(id, wire.KindConfigReported)
	c.topics.ack = wire.Topic(id, wire.KindAck)
	c.topics.cmd = wire.Topic(id, wire.KindCmd)
	c.topics.configDesired = wire.Topic(id, wire.KindConfigDesired)

	c.acks = make(chan wire.Ack, 256)
	c.cmds = make(chan wire.Cmd, 64)
	c.configs = make(chan wire.ConfigDesired, 8)
	c.wake = make(chan struct{}, 1)
	c.inflight = map[uint64]*flight{}
	c.cmdSeen = newCmdLRU(cmdMemory)
	c.cmdSem = make(chan struct{}, c.CommandWorkers)
	c.configVersion.Store(c.ConfigVersion)

	c.ctx, c.cancel = context.WithCancel(ctx)
	c.goRun(c.run)
	c.goRun(c.ackLoop)
	c.goRun(c.cmdLoop)
	c.goRun(c.configLoop)
	return nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

func (c *Client) goRun(f func(context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.ctx)
	}()
}

// Close publishes state online:false (retained), disconnects cleanly,
// stops every goroutine, running commands included (their context is
// cancelled), and waits for them. It is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Do(func() {
		if c.cancel == nil {
			return // never started
		}
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

// Connected reports whether a connection is up and subscribed.
func (c *Client) Connected() bool { return c.connected.Load() }

// Session is the session number of the current (or last) connection; 0
// before the first connection.
func (c *Client) Session() uint64 { return c.session.Load() }

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	inflight := len(c.inflight)
	c.mu.Unlock()
	s := &c.stats
	return Stats{
		Connected:         c.connected.Load(),
		Session:           c.session.Load(),
		Connects:          s.connects.Load(),
		ConnectFailures:   s.connectFailures.Load(),
		Published:         s.published.Load(),
		Resent:            s.resent.Load(),
		Acked:             s.acked.Load(),
		AckMessages:       s.ackMessages.Load(),
		Inflight:          inflight,
		Rejected:          s.rejected.Load(),
		PublishErrors:     s.publishErrors.Load(),
		Malformed:         s.malformed.Load(),
		Commands:          s.commands.Load(),
		DuplicateCommands: s.duplicates.Load(),
		ExpiredCommands:   s.expired.Load(),
		ConfigVersion:     c.configVersion.Load(),
		LastAckLatency:    time.Duration(s.lastAckLatency.Load()),
		Heartbeats:        s.heartbeats.Load(),
	}
}

// run is the connection loop: connect, serve until the connection drops,
// back off, again, until ctx ends.
func (c *Client) run(ctx context.Context) {
	// Full jitter on the upper half: each wait in [d/2, d].
	retry := backoff.Backoff{Min: c.RetryMin, Max: c.RetryMax, Jitter: 0.5}
	failures := 0
	for {
		began := time.Now()
		up, err := c.serve(ctx)
		if ctx.Err() != nil {
			return
		}
		if up {
			failures = 0
			if time.Since(began) >= c.RetryMax {
				retry.Reset() // a connection that held
			}
			c.log.Warn("connection lost", "err", err, "retry_in", retry.Peek())
		} else {
			failures++
			c.stats.connectFailures.Add(1)
			lvl := slog.LevelDebug
			if failures == 1 || failures%10 == 0 {
				lvl = slog.LevelWarn
			}
			c.log.Log(ctx, lvl, "connect failed", "broker", c.BrokerURL, "attempt", failures, "err", err, "retry_in", retry.Peek())
		}
		if !backoff.Sleep(ctx, retry.Next()) {
			return
		}
	}
}

// serve makes one connection and serves it until it drops or ctx ends. up
// tells whether the connection was established.
func (c *Client) serve(ctx context.Context) (up bool, err error) {
	session, err := c.Outbox.NextSession()
	if err != nil {
		return false, fmt.Errorf("next session: %w", err)
	}
	will, err := c.statePayload(false, session)
	if err != nil {
		return false, err
	}
	lost := make(chan error, 1)
	opts := mqtt.NewClientOptions().
		AddBroker(c.BrokerURL).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetStore(mqtt.NewMemoryStore()).
		SetOrderMatters(true).
		SetKeepAlive(c.KeepAlive).
		SetPingTimeout(c.ConnectTimeout).
		SetConnectTimeout(c.ConnectTimeout).
		SetWriteTimeout(c.ConnectTimeout).
		SetTLSConfig(c.TLSConfig).
		SetBinaryWill(c.topics.state, will, 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	cl := mqtt.NewClient(opts)

	tok := cl.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		<-tok.Done() // bounded by ConnectTimeout
		if tok.Error() == nil {
			cl.Disconnect(100)
		}
		return false, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	boundary := c.boundary()
	// From here the command and config goroutines may publish: the
	// retained desired config arrives as soon as the subscription is made.
	c.setConn(cl)
	fail := func(err error) (bool, error) {
		c.setConn(nil)
		cl.Disconnect(100)
		return false, err
	}

	sub := cl.SubscribeMultiple(map[string]byte{
		c.topics.ack: 1, c.topics.cmd: 1, c.topics.configDesired: 1,
	}, c.onMessage)
	if err := waitToken(ctx, sub, c.ConnectTimeout); err != nil {
		return fail(fmt.Errorf("subscribe: %w", err))
	}
	online, err := c.statePayload(true, session)
	if err != nil {
		return fail(err)
	}
	if err := waitToken(ctx, cl.Publish(c.topics.state, 1, true, online), c.ConnectTimeout); err != nil {
		return fail(fmt.Errorf("publish state: %w", err))
	}

	c.session.Store(session)
	c.connected.Store(true)
	c.stats.connects.Add(1)
	c.log.Info("connected", "broker", c.BrokerURL, "session", session)

	connCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.drain(connCtx, cl, boundary)
	}()
	go func() {
		defer wg.Done()
		c.heartbeats(connCtx, cl, session)
	}()

	select {
	case err = <-lost:
	case <-ctx.Done():
	}
	stop()
	wg.Wait()
	c.connected.Store(false)
	c.setConn(nil)

	if ctx.Err() != nil {
		// Clean shutdown: a DISCONNECT suppresses the Will, so say it.
		if off, err := c.statePayload(false, session); err == nil {
			if err := waitToken(context.Background(), cl.Publish(c.topics.state, 1, true, off), closeTimeout); err != nil {
				c.log.Warn("publish offline state", "err", err)
			}
		}
		cl.Disconnect(250)
		c.log.Info("disconnected", "session", session)
		return true, ctx.Err()
	}
	return true, err
}

// epoch is the outbox's epoch ("" when the outbox is not an Epocher).
func (c *Client) epoch() string {
	if e, ok := c.Outbox.(Epocher); ok {
		return e.Epoch()
	}
	return ""
}

func (c *Client) statePayload(online bool, session uint64) ([]byte, error) {
	b, err := wire.Marshal(wire.State{V: wire.Version, Online: online, Session: session,
		Version: c.Version, StartedAt: c.StartedAt, Epoch: c.epoch(), Arch: runtime.GOARCH})
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return b, nil
}

// waitToken waits for tok up to timeout or until ctx ends.
func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return errors.New("timed out")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) setConn(cl mqtt.Client) {
	c.connMu.Lock()
	c.conn = cl
	c.connMu.Unlock()
}

// publish sends one message on the current connection without waiting for
// its PUBACK.
func (c *Client) publish(topic string, qos byte, payload []byte) error {
	c.connMu.Lock()
	cl := c.conn
	c.connMu.Unlock()
	if cl == nil {
		return ErrNotConnected
	}
	tok := cl.Publish(topic, qos, false, payload)
	select {
	case <-tok.Done():
		return tok.Error()
	default:
		return nil
	}
}

// heartbeats publishes one heartbeat now and then one every HeartbeatEvery.
func (c *Client) heartbeats(ctx context.Context, cl mqtt.Client, session uint64) {
	t := time.NewTicker(c.HeartbeatEvery)
	defer t.Stop()
	for {
		var hb wire.Heartbeat
		if c.Heartbeat != nil {
			hb = c.Heartbeat()
		}
		hb.V, hb.At, hb.Session, hb.Epoch = wire.Version, time.Now().UTC(), session, c.epoch()
		if hb.Cameras == nil {
			hb.Cameras = []wire.CameraHealth{}
		}
		if b, err := wire.Marshal(hb); err != nil {
			c.log.Error("encode heartbeat", "err", err)
		} else {
			cl.Publish(c.topics.heartbeat, 0, false, b)
			c.stats.heartbeats.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// noteMalformed counts a malformed inbound message and logs it at debug at
// most once a minute.
func (c *Client) noteMalformed(topic string, err error) {
	n := c.stats.malformed.Add(1)
	now := time.Now().UnixNano()
	last := c.malformedLog.Load()
	if now-last >= int64(time.Minute) && c.malformedLog.CompareAndSwap(last, now) {
		c.log.Debug("ignoring malformed message", "topic", topic, "err", err, "malformed_total", n)
	}
}
