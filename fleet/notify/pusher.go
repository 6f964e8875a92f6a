package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Defaults of the Pusher's zero settings.
const (
	DefaultPushEvery    = time.Second
	DefaultDueSoonEvery = time.Minute
	DefaultPushWorkers  = 8
	// DefaultPushMaxTries: about 4 h of tries with the default backoff
	// (10 s doubling, capped at 1 h).
	DefaultPushMaxTries = 10
	DefaultKeepLog      = 90 * 24 * time.Hour
)

// Cursor names in push_cursors.
const (
	cursorAlarms  = "alarms"
	cursorNotices = "notices"
)

// batchItems is how many alarms (and notices) one poll reads at most.
const batchItems = 200

// LateWindow is how far back below its cursors the pusher looks once a
// second for alarms and notices committed out of id order.
const LateWindow = 10 * time.Second

// Pusher pushes alarms and notices as they are committed to the channels
// their users subscribed to (fleet/push): it reads the alarms and notices
// after its cursors every Every, queues one outbox row per item and
// destination, and sends the rows due, retrying failures with backoff.
// It also raises the due-soon notices (alarms.FlagDueSoon) every
// DueSoonEvery. Several fleets on one database may each run one: the
// outbox's unique key and its leases keep an item from reaching a
// destination twice.
type Pusher struct {
	// Alarms, Auth and Push are the domains it reads and writes;
	// required.
	Alarms *alarms.Alarms
	Auth   *auth.Auth
	Push   *push.Push
	// Holder names this fleet in the outbox's leases; "" means a random
	// name.
	Holder string
	// Every is how often it looks for new items and due deliveries; 0
	// means DefaultPushEvery (1 s). Kick wakes it at once.
	Every time.Duration
	// DueSoon is how long before a deadline an alarm is pushed as about
	// to go overdue; 0 means alarms.DefaultDueSoon (2 h), negative turns
	// the warnings off.
	DueSoon time.Duration
	// DueSoonEvery is how often due-soon alarms are looked for; 0 means
	// DefaultDueSoonEvery (1 min).
	DueSoonEvery time.Duration
	// Client sends the pushes; nil means one with a DefaultTimeout
	// (10 s) timeout.
	Client *http.Client
	// WeComBase and DingTalkBase replace the robots' default hosts
	// (push.Sender); "" means the real ones.
	WeComBase, DingTalkBase string
	// Backoff is the wait before retrying a delivery after tries
	// failures; nil means DefaultBackoff (10 s × 2^tries, ≤ 1 h).
	Backoff func(tries int) time.Duration
	// MaxTries gives up on a delivery after this many failures; 0 means
	// DefaultPushMaxTries (10).
	MaxTries int
	// Workers is how many deliveries are sent at once; 0 means
	// DefaultPushWorkers (8).
	Workers int
	// KeepLog is how long sent and given-up deliveries stay in the log
	// (pruned with the due-soon pass); 0 means DefaultKeepLog (90 days).
	KeepLog time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
	client *http.Client
	own    bool
	log    *slog.Logger
	polls  atomic.Uint64
	// The loop's: when it last looked back, and how far back it may
	// (after it set the cursors on a first start, not before).
	lateAt, lateFloor time.Time
	sent              atomic.Uint64
	failed            atomic.Uint64
	// slots hold one token per send under way (Workers); sends counts
	// them for Close; sendErr is a send's store error for the loop.
	slots   chan struct{}
	sends   sync.WaitGroup
	sendMu  sync.Mutex
	sendErr error
}

// Polls is how many times the loop has run: a test waits for a number
// of them instead of for a time.
func (p *Pusher) Polls() uint64 { return p.polls.Load() }

// Sent and Failed count the deliveries sent and the tries that failed.
func (p *Pusher) Sent() uint64   { return p.sent.Load() }
func (p *Pusher) Failed() uint64 { return p.failed.Load() }

// Kick makes the loop look now rather than at its next tick: the ingest
// calls it after a commit.
func (p *Pusher) Kick() {
	p.mu.Lock()
	k := p.kick
	p.mu.Unlock()
	if k == nil {
		return
	}
	select {
	case k <- struct{}{}:
	default:
	}
}

// Start checks the settings and starts the loop; Close stops it.
func (p *Pusher) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return errors.New("push: already started")
	}
	if p.Alarms == nil || p.Auth == nil || p.Push == nil {
		return errors.New("push: alarms, auth and push are required")
	}
	if p.Every < 0 || p.DueSoonEvery < 0 || p.MaxTries < 0 || p.Workers < 0 {
		return errors.New("push: every, due_soon_every, max_tries and workers: want positive values (0 for the defaults)")
	}
	if p.Holder == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		p.Holder = "fleet-" + hex.EncodeToString(b)
	}
	p.client, p.own = p.Client, false
	if p.client == nil {
		p.client, p.own = &http.Client{Timeout: DefaultTimeout}, true
	}
	p.log = p.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	p.kick = make(chan struct{}, 1)
	p.slots = make(chan struct{}, cmp.Or(p.Workers, DefaultPushWorkers))
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go p.run(ctx)
	return nil
}

// Close stops the loop and waits for it (and the sends under way).
func (p *Pusher) Close() error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	if p.own {
		p.client.CloseIdleConnections()
	}
	return nil
}

func (p *Pusher) run(ctx context.Context) {
	defer close(p.done)
	defer p.sends.Wait()
	tick := time.NewTicker(orDefault(p.Every, DefaultPushEvery))
	defer tick.Stop()
	dueEvery := orDefault(p.DueSoonEvery, DefaultDueSoonEvery)
	sender := &push.Sender{Client: p.client, WeComBase: p.WeComBase, DingTalkBase: p.DingTalkBase}
	var flagged time.Time
	var trouble storeTrouble
	for {
		now := time.Now()
		err := p.collect(ctx, now)
		if ctx.Err() != nil {
			return
		}
		trouble.report(p.log, "push collect", err)
		// After collect, whose first run sets the cursors: a due-soon
		// notice made now is news for the next poll.
		if p.DueSoon >= 0 && (flagged.IsZero() || now.Sub(flagged) >= dueEvery) {
			flagged = now
			n, err := p.Alarms.FlagDueSoon(ctx, p.DueSoon, now)
			if ctx.Err() != nil {
				return
			}
			trouble.report(p.log, "flag due soon", err)
			if n > 0 {
				p.log.Info("push: alarms due soon", "notices", n)
				p.Kick()
			}
			_, err = p.Push.Prune(ctx, now.Add(-orDefault(p.KeepLog, DefaultKeepLog)), 10000)
			if ctx.Err() != nil {
				return
			}
			trouble.report(p.log, "prune push log", err)
		}
		err = p.deliver(ctx, sender)
		if ctx.Err() != nil {
			return
		}
		trouble.report(p.log, "push deliver", err)
		p.polls.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.kick:
		}
	}
}

// itemOfAlarm is the push item of a new alarm.
func itemOfAlarm(a alarms.NewAlarm) push.Item {
	kind := push.ItemAlarm
	if a.Type == wire.TypeCameraOffline {
		kind = push.ItemOffline
	}
	return push.Item{Key: "alarm:" + strconv.FormatInt(a.ID, 10), Kind: kind, CanteenID: a.CanteenID, CanteenName: a.CanteenName,
		District: a.District, ViolationID: a.ID, ViolationType: a.Type, Severity: push.Severity(a.Type), GatewayID: a.GatewayID,
		CameraID: a.CameraID, At: a.ReceivedAt,
		Text: fmt.Sprintf("Alarm %d: %s on camera %s (score %.2f)", a.ID, a.Type, a.CameraID, a.Score)}
}

// noticeKinds say which item kind a notice is.
var noticeKinds = map[string]string{
	alarms.NoticeConfirmed: push.ItemWorkflow, alarms.NoticeRectificationRejected: push.ItemWorkflow,
	alarms.NoticeRectificationOverdue: push.ItemWorkflow, alarms.NoticeReviewDueSoon: push.ItemDueSoon,
	alarms.NoticeRectificationDueSoon: push.ItemDueSoon, alarms.NoticeGatewayOffline: push.ItemOffline,
	alarms.NoticeGatewayDisk: push.ItemGateway, alarms.NoticeGatewayHot: push.ItemGateway,
}

// itemOfNotice is the push item of a notice.
func itemOfNotice(n alarms.Notice) push.Item {
	kind := noticeKinds[n.Kind]
	if kind == "" {
		kind = push.ItemWorkflow
	}
	sev := push.SeverityHigh // a gateway's trouble, an overdue alarm
	if n.ViolationType != "" {
		sev = push.Severity(n.ViolationType)
	}
	return push.Item{Key: "notice:" + strconv.FormatInt(n.ID, 10), Kind: kind, CanteenID: n.CanteenID, CanteenName: n.CanteenName,
		District: n.District, ViolationID: n.ViolationID, ViolationType: n.ViolationType, Severity: sev, GatewayID: n.GatewayID,
		NoticeKind: n.Kind, Text: n.Text, At: n.At}
}

// collect queues the alarms and notices committed since the cursors.
func (p *Pusher) collect(ctx context.Context, now time.Time) error {
	aCur, aOK, err := p.Push.Cursor(ctx, cursorAlarms)
	if err != nil {
		return err
	}
	nCur, nOK, err := p.Push.Cursor(ctx, cursorNotices)
	if err != nil {
		return err
	}
	if !aOK || !nOK { // a first start: from now on, not the past
		p.lateFloor = now
		ev, no, err := p.Alarms.LastIDs(ctx)
		if err != nil {
			return err
		}
		if err := p.Push.AdvanceCursor(ctx, cursorAlarms, ev); err != nil {
			return err
		}
		if err := p.Push.AdvanceCursor(ctx, cursorNotices, no); err != nil {
			return err
		}
		if aCur, _, err = p.Push.Cursor(ctx, cursorAlarms); err != nil {
			return err
		}
		if nCur, _, err = p.Push.Cursor(ctx, cursorNotices); err != nil {
			return err
		}
	}
	as, err := p.Alarms.AlarmsSince(ctx, aCur, batchItems)
	if err != nil {
		return err
	}
	ns, err := p.Alarms.NoticesSince(ctx, nCur, batchItems)
	if err != nil {
		return err
	}
	items := make([]push.Item, 0, len(as)+len(ns))
	for _, a := range as {
		items = append(items, itemOfAlarm(a))
	}
	for _, n := range ns {
		items = append(items, itemOfNotice(n))
	}
	// Once a second, the last LateWindow below the cursors again: a row
	// whose id was handed out before a later one's but committed after it
	// (PostgreSQL) is found there; queuing is once per destination, so
	// the rows seen before add nothing.
	if now.Sub(p.lateAt) >= time.Second {
		p.lateAt = now
		since := now.Add(-LateWindow)
		if since.Before(p.lateFloor) {
			since = p.lateFloor
		}
		la, err := p.Alarms.LateAlarms(ctx, aCur, since, batchItems)
		if err != nil {
			return err
		}
		ln, err := p.Alarms.LateNotices(ctx, nCur, since, batchItems)
		if err != nil {
			return err
		}
		for _, a := range la {
			items = append(items, itemOfAlarm(a))
		}
		for _, n := range ln {
			items = append(items, itemOfNotice(n))
		}
	}
	if len(items) == 0 {
		return nil
	}
	r, err := p.routes(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if _, err := p.Push.Enqueue(ctx, it, r.dests(it), now); err != nil {
			return err
		}
	}
	if len(as) > 0 {
		if err := p.Push.AdvanceCursor(ctx, cursorAlarms, as[len(as)-1].ID); err != nil {
			return err
		}
	}
	if len(ns) > 0 {
		if err := p.Push.AdvanceCursor(ctx, cursorNotices, ns[len(ns)-1].ID); err != nil {
			return err
		}
	}
	return nil
}

// routes are the users, subscriptions and channels, read once per poll
// that has items.
type routes struct {
	users    map[string]auth.User
	subs     []push.Subscription
	channels map[string]push.Channel
}

func (p *Pusher) routes(ctx context.Context) (routes, error) {
	r := routes{users: map[string]auth.User{}, channels: map[string]push.Channel{}}
	subs, err := p.Push.Subscriptions(ctx, "")
	if err != nil {
		return r, err
	}
	r.subs = subs
	if len(subs) == 0 {
		return r, nil
	}
	us, err := p.Auth.ListUsers(ctx, auth.UserFilter{})
	if err != nil {
		return r, err
	}
	for _, u := range us {
		r.users[u.ID] = u
	}
	cs, err := p.Push.Channels(ctx)
	if err != nil {
		return r, err
	}
	for _, c := range cs {
		r.channels[c.ID] = c
	}
	return r, nil
}

// Reaches reports whether an item of canteen (in district) is within u's
// scope: an admin's any, an operator's of its canteens, a regulator's of
// its districts (or "*", the whole city). Parents and disabled users get
// no pushes.
func Reaches(u auth.User, canteen, district string) bool {
	if u.Disabled {
		return false
	}
	switch u.Role {
	case auth.RoleAdmin:
		return true
	case auth.RoleOperator:
		return slices.Contains(u.Canteens, canteen)
	case auth.RoleRegulator:
		return slices.Contains(u.Districts, "*") || (district != "" && slices.Contains(u.Districts, district))
	}
	return false
}

// dests are the destinations of it: each subscription of a user in its
// scope whose filters it passes, through a channel whose scope holds it
// (a user's own channel only for that user), once per channel and phone.
func (r routes) dests(it push.Item) []push.Dest {
	var out []push.Dest
	for _, s := range r.subs {
		u, ok := r.users[s.UserID]
		if !ok || !Reaches(u, it.CanteenID, it.District) || !s.Wants(it) {
			continue
		}
		ch, ok := r.channels[s.ChannelID]
		if !ok || !ch.Holds(it) || (ch.Scope == push.ScopeUser && ch.ScopeID != s.UserID) {
			continue
		}
		d := push.Dest{ChannelID: ch.ID}
		if ch.Kind == push.KindSMS {
			d.Recipient = s.Phone
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// deliver claims as many due deliveries as there are idle senders and
// sends each in the background, Workers at a time: a slow robot holds a
// sender, not the loop, so the next alarm is claimed at the next poll by
// another. A send's store error is reported at a later poll.
func (p *Pusher) deliver(ctx context.Context, sender *push.Sender) error {
	p.sendMu.Lock()
	err := p.sendErr
	p.sendErr = nil
	p.sendMu.Unlock()
	free := cap(p.slots) - len(p.slots)
	if free == 0 {
		return err
	}
	ds, cerr := p.Push.Claim(ctx, p.Holder, time.Now(), free)
	if cerr != nil {
		return cerr
	}
	maxTries := p.MaxTries
	if maxTries == 0 {
		maxTries = DefaultPushMaxTries
	}
	backoff := p.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	for _, d := range ds {
		p.slots <- struct{}{}
		p.sends.Add(1)
		go func() {
			defer func() { <-p.slots; p.sends.Done() }()
			sendErr := sender.Send(ctx, d.Channel, d.Recipient, d.ID, d.Item)
			if ctx.Err() != nil {
				return // stopping: the lease runs out and the row is tried again
			}
			var next time.Time
			giveUp := false
			if sendErr != nil {
				p.failed.Add(1)
				next = time.Now().Add(backoff(d.Tries))
				giveUp = d.Tries+1 >= maxTries
				if giveUp {
					p.log.Warn("push: giving up", "delivery", d.ID, "channel", d.ChannelID, "tries", d.Tries+1, "err", sendErr)
				} else {
					p.log.Debug("push: delivery failed", "delivery", d.ID, "channel", d.ChannelID, "retry_at", next, "err", sendErr)
				}
			} else {
				p.sent.Add(1)
			}
			if err := p.Push.Done(ctx, d.ID, p.Holder, sendErr, next, giveUp, time.Now()); err != nil && ctx.Err() == nil {
				p.sendMu.Lock()
				p.sendErr = err
				p.sendMu.Unlock()
			}
			if sendErr != nil {
				p.Kick() // a short backoff (tests) is due before the next tick
			}
		}()
	}
	return err
}
