package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// Defaults of the Notifier's zero settings.
const (
	DefaultEvery        = 2 * time.Second
	DefaultOverdueEvery = time.Minute
	DefaultTimeout      = 10 * time.Second
	DefaultMaxTries     = 12
	// DefaultBackoff's first wait, and its cap.
	FirstBackoff = 10 * time.Second
	MaxBackoff   = time.Hour
)

// batch is how many notices one poll delivers at most.
const batch = 100

// DefaultBackoff waits FirstBackoff × 2^tries, at most MaxBackoff.
func DefaultBackoff(tries int) time.Duration {
	return (&backoff.Backoff{Min: FirstBackoff, Max: MaxBackoff}).After(tries)
}

// Payload is the JSON body POSTed to the webhook for a notice.
type Payload struct {
	ID            int64     `json:"id"`
	Kind          string    `json:"kind"`
	CanteenID     string    `json:"canteen_id"`
	CanteenName   string    `json:"canteen_name"`
	ViolationID   int64     `json:"violation_id"`
	ViolationType string    `json:"violation_type"`
	GatewayID     string    `json:"gateway_id,omitempty"`
	DueAt         time.Time `json:"due_at,omitzero"`
	At            time.Time `json:"at"`
	Text          string    `json:"text"`
}

// Notifier delivers the notices' webhook and raises overdue notices.
type Notifier struct {
	// Alarms holds the notices; required.
	Alarms *alarms.Alarms
	// URL is the webhook (http or https); "" means no delivery (overdue
	// notices are still raised). Set alarms.Workflow.Webhook with it, or
	// nothing is queued.
	URL string
	// Secret is the HMAC-SHA256 key signing each delivery: header
	// X-BK-Timestamp is the time of sending (Unix seconds) and
	// X-BK-Signature "sha256=<hex>" the HMAC of "<timestamp>.<body>" (see
	// Sign and Verify); "" sends no signature.
	Secret string
	// Client sends the requests; nil means one with a DefaultTimeout
	// (10 s) timeout.
	Client *http.Client
	// Every is how often the queue is polled; 0 means DefaultEvery (2 s).
	Every time.Duration
	// OverdueEvery is how often overdue alarms are looked for; 0 means
	// DefaultOverdueEvery (1 min).
	OverdueEvery time.Duration
	// Backoff is how long to wait before retrying a notice whose delivery
	// just failed, after tries earlier failures; nil means DefaultBackoff
	// (10 s × 2^tries, at most 1 h).
	Backoff func(tries int) time.Duration
	// MaxTries is how many failed deliveries of a notice make the
	// Notifier give up on it; 0 means DefaultMaxTries (12).
	MaxTries int
	// Gateways are the thresholds of the gateway-level alarms
	// (alarms.FlagGateways), looked for every OverdueEvery; zero fields
	// take alarms' defaults.
	Gateways alarms.GatewayThresholds
	// Logger gets the give-ups and the store's errors; nil means
	// slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	client  *http.Client
	ownHTTP bool
	log     *slog.Logger
	polls   atomic.Uint64
}

// Polls is how many times the loop has looked at the queue: a test waits
// for a number of them instead of for a time.
func (n *Notifier) Polls() uint64 { return n.polls.Load() }

// Start checks the settings and starts the loop; Close stops it.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cancel != nil {
		return errors.New("notify: already started")
	}
	if n.Alarms == nil {
		return errors.New("notify: alarms: required")
	}
	if n.URL != "" {
		u, err := url.Parse(n.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify: url %q: want an http:// or https:// URL", redact(n.URL))
		}
	}
	for name, d := range map[string]time.Duration{"every": n.Every, "overdue_every": n.OverdueEvery} {
		if d < 0 {
			return fmt.Errorf("notify: %s %v: want a positive duration (0 for the default)", name, d)
		}
	}
	if n.MaxTries < 0 {
		return fmt.Errorf("notify: max_tries %d: want a positive number (0 for the default)", n.MaxTries)
	}
	n.client, n.ownHTTP = n.Client, false
	if n.client == nil {
		n.client, n.ownHTTP = &http.Client{Timeout: DefaultTimeout}, true
	}
	n.log = n.Logger
	if n.log == nil {
		n.log = slog.Default()
	}
	ctx, n.cancel = context.WithCancel(ctx)
	n.done = make(chan struct{})
	go n.run(ctx)
	return nil
}

// Close stops the loop and waits for it to return.
func (n *Notifier) Close() error {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	if n.ownHTTP {
		n.client.CloseIdleConnections()
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// run polls until ctx ends: overdue notices and gateway alarms every
// OverdueEvery, the webhook queue every Every.
func (n *Notifier) run(ctx context.Context) {
	defer close(n.done)
	every, overdueEvery := orDefault(n.Every, DefaultEvery), orDefault(n.OverdueEvery, DefaultOverdueEvery)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var flagged time.Time
	var trouble storeTrouble
	for {
		now := time.Now()
		if flagged.IsZero() || now.Sub(flagged) >= overdueEvery {
			flagged = now
			k, err := n.Alarms.FlagOverdue(ctx, now)
			if ctx.Err() != nil {
				return
			}
			trouble.report(n.log, "flag overdue", err)
			if k > 0 {
				n.log.Info("overdue rectifications flagged", "notices", k)
			}
			raised, cleared, err := n.Alarms.FlagGateways(ctx, n.Gateways, now)
			if ctx.Err() != nil {
				return
			}
			trouble.report(n.log, "flag gateways", err)
			if raised+cleared > 0 {
				n.log.Info("gateway alarms", "raised", raised, "cleared", cleared)
			}
		}
		if n.URL != "" {
			trouble.report(n.log, "deliver", n.deliver(ctx, now))
		}
		n.polls.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// storeTrouble logs a failing store once per distinct error, and when it
// recovers, rather than on every poll.
type storeTrouble map[string]string

func (st *storeTrouble) report(log *slog.Logger, what string, err error) {
	if *st == nil {
		*st = map[string]string{}
	}
	last := (*st)[what]
	switch {
	case err == nil && last != "":
		log.Info("notify: store works again", "op", what)
		delete(*st, what)
	case err != nil && err.Error() != last:
		log.Error("notify: store failed", "op", what, "err", err)
		(*st)[what] = err.Error()
	}
}

// deliver sends the notices due at now; an error is the store's.
func (n *Notifier) deliver(ctx context.Context, now time.Time) error {
	ns, err := n.Alarms.PendingWebhooks(ctx, now, batch)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	maxTries := n.MaxTries
	if maxTries == 0 {
		maxTries = DefaultMaxTries
	}
	backoff := n.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	for _, no := range ns {
		sendErr := n.send(ctx, no)
		if ctx.Err() != nil {
			return nil // stopping: not the webhook's fault
		}
		var next time.Time
		giveUp := false
		if sendErr != nil {
			tries := no.WebhookTries + 1
			next = time.Now().Add(backoff(no.WebhookTries))
			giveUp = tries >= maxTries
			if giveUp {
				n.log.Warn("webhook: giving up on notice", "notice", no.ID, "tries", tries, "err", sendErr)
			} else {
				n.log.Debug("webhook: delivery failed", "notice", no.ID, "tries", tries, "retry_at", next, "err", sendErr)
			}
		}
		if err := n.Alarms.WebhookDone(ctx, no.ID, sendErr, next, giveUp); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// send POSTs one notice.
func (n *Notifier) send(ctx context.Context, no alarms.Notice) error {
	body, err := json.Marshal(Payload{ID: no.ID, Kind: no.Kind, CanteenID: no.CanteenID, CanteenName: no.CanteenName,
		ViolationID: no.ViolationID, GatewayID: no.GatewayID, ViolationType: no.ViolationType, DueAt: no.DueAt, At: no.At, Text: no.Text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bk-fleet-notify")
	req.Header.Set("X-BK-Delivery", strconv.FormatInt(no.ID, 10))
	if n.Secret != "" {
		ts := time.Now().Unix()
		req.Header.Set("X-BK-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-BK-Signature", Sign(n.Secret, ts, body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d: %q", resp.StatusCode, snippet)
	}
	return nil
}

// Sign is the X-BK-Signature of a delivery sent at ts (Unix seconds, the
// X-BK-Timestamp header) with body, under secret: "sha256=" and the hex
// HMAC-SHA256 of the decimal timestamp, a '.' and the body. Signing the
// time lets a receiver refuse a captured delivery replayed later.
func Sign(secret string, ts int64, body []byte) string {
	return push.Sign(secret, ts, body)
}

// DefaultReplayWindow is how far a delivery's X-BK-Timestamp may be from
// the receiver's clock for Verify with window 0.
const DefaultReplayWindow = 5 * time.Minute

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the replay window")
)

// Verify checks a delivery as a receiver would: sig and timestamp are its
// X-BK-Signature and X-BK-Timestamp headers, body the raw body, now the
// receiver's clock. The timestamp must be within window of now (0 means
// DefaultReplayWindow), else ErrStale; the signature must match (compared
// in constant time), else ErrBadSignature. Within the window a receiver
// still drops a repeated X-BK-Delivery: deliveries are at least once.
func Verify(secret, sig, timestamp string, body []byte, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultReplayWindow
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-BK-Timestamp %q: not Unix seconds", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return ErrBadSignature
	}
	return nil
}

// redact hides a URL's user info and query (tokens) in messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
