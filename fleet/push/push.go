package push

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Push is the channels, subscriptions and outbox of an open database. It
// is safe for concurrent use.
type Push struct {
	db   *store.DB
	r, w *sql.DB
}

// New returns the push tables of db.
func New(db *store.DB) *Push { return &Push{db: db, r: db.Read(), w: db.Write()} }

var (
	ms         = store.Ms
	fromMs     = store.FromMs
	fromNullMs = store.FromNullMs
)

// ErrNotFound is store.ErrNotFound: no such channel, subscription or
// delivery.
var ErrNotFound = store.ErrNotFound

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ch_" + hex.EncodeToString(b)
}

// PutChannel stores c (a new one when c.ID is ""; its id is made) after
// Validate, and returns it as stored.
func (p *Push) PutChannel(ctx context.Context, c Channel, now time.Time) (Channel, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return c, fmt.Errorf("encode channel config: %w", err)
	}
	c.UpdatedAt = now.UTC().Truncate(time.Millisecond)
	if c.ID == "" {
		c.ID, c.CreatedAt = newID(), c.UpdatedAt
		_, err = p.w.ExecContext(ctx, `INSERT INTO push_channels (id, kind, name, scope, scope_id, config, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, c.ID, c.Kind, c.Name, c.Scope, c.ScopeID, string(cfg), c.CreatedBy, ms(now))
		if err != nil {
			return c, fmt.Errorf("add channel: %w", err)
		}
		return c, nil
	}
	res, err := p.w.ExecContext(ctx, `UPDATE push_channels SET kind = $2, name = $3, scope = $4, scope_id = $5, config = $6, updated_at = $7
		WHERE id = $1`, c.ID, c.Kind, c.Name, c.Scope, c.ScopeID, string(cfg), ms(now))
	if err != nil {
		return c, fmt.Errorf("update channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, fmt.Errorf("channel %q: %w", c.ID, ErrNotFound)
	}
	return p.Channel(ctx, c.ID)
}

const channelCols = `id, kind, name, scope, scope_id, config, created_by, created_at, updated_at`

func scanChannel(row store.Row) (Channel, error) {
	var c Channel
	var cfg string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.Scope, &c.ScopeID, &cfg, &c.CreatedBy, &created, &updated); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromMs(created), fromMs(updated)
	if err := json.Unmarshal([]byte(cfg), &c.Config); err != nil {
		return c, fmt.Errorf("channel %s: config: %w", c.ID, err)
	}
	return c, nil
}

// Channel is one channel, with its secrets.
func (p *Push) Channel(ctx context.Context, id string) (Channel, error) {
	c, err := store.One(ctx, p.r, scanChannel, `SELECT `+channelCols+` FROM push_channels WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("channel %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("channel: %w", err)
	}
	return c, nil
}

// Channels lists every channel, with its secrets (callers show
// Redacted), by scope then name.
func (p *Push) Channels(ctx context.Context) ([]Channel, error) {
	out, err := store.All(ctx, p.r, scanChannel, `SELECT `+channelCols+` FROM push_channels ORDER BY scope, scope_id, name, id`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// DeleteChannel removes a channel with its subscriptions and deliveries.
func (p *Push) DeleteChannel(ctx context.Context, id string) error {
	res, err := p.w.ExecContext(ctx, `DELETE FROM push_channels WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("channel %q: %w", id, ErrNotFound)
	}
	return nil
}

// PutSubscription stores s (replacing the user's subscription to that
// channel) after Validate for the channel's kind.
func (p *Push) PutSubscription(ctx context.Context, s Subscription, now time.Time) (Subscription, error) {
	ch, err := p.Channel(ctx, s.ChannelID)
	if err != nil {
		return s, err
	}
	if err := s.Validate(ch.Kind); err != nil {
		return s, err
	}
	s.CreatedAt = now.UTC().Truncate(time.Millisecond)
	if s.Kinds == nil {
		s.Kinds = []string{}
	}
	if s.Types == nil {
		s.Types = []string{}
	}
	_, err = p.w.ExecContext(ctx, `INSERT INTO push_subscriptions (user_id, channel_id, kinds, types, min_severity, phone, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (user_id, channel_id) DO UPDATE SET kinds = excluded.kinds, types = excluded.types,
			min_severity = excluded.min_severity, phone = excluded.phone`,
		s.UserID, s.ChannelID, joinList(s.Kinds), joinList(s.Types), s.MinSeverity, s.Phone, ms(now))
	if err != nil {
		return s, fmt.Errorf("subscribe: %w", err)
	}
	s.ChannelName, s.ChannelKind = ch.Name, ch.Kind
	return s, nil
}

// DeleteSubscription ends a user's subscription to a channel.
func (p *Push) DeleteSubscription(ctx context.Context, user, channel string) error {
	res, err := p.w.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE user_id = $1 AND channel_id = $2`, user, channel)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("subscription of %q to %q: %w", user, channel, ErrNotFound)
	}
	return nil
}

func scanSubscription(row store.Row) (Subscription, error) {
	var s Subscription
	var kinds, types string
	var at int64
	err := row.Scan(&s.UserID, &s.ChannelID, &kinds, &types, &s.MinSeverity, &s.Phone, &at, &s.ChannelName, &s.ChannelKind)
	s.Kinds, s.Types, s.CreatedAt = splitList(kinds), splitList(types), fromMs(at)
	return s, err
}

const subCols = `s.user_id, s.channel_id, s.kinds, s.types, s.min_severity, s.phone, s.created_at, c.name, c.kind`

// Subscriptions lists a user's subscriptions ("" for every user's).
func (p *Push) Subscriptions(ctx context.Context, user string) ([]Subscription, error) {
	out, err := store.All(ctx, p.r, scanSubscription, `SELECT `+subCols+`
		FROM push_subscriptions s JOIN push_channels c ON c.id = s.channel_id
		WHERE $1 = '' OR s.user_id = $1 ORDER BY s.user_id, c.name, s.channel_id`, user)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// Dest is one destination of an item: a channel and, for SMS, a phone.
type Dest struct {
	ChannelID string
	Recipient string
}

// Enqueue queues it for each destination, once: a destination that has
// it already (from this fleet or another, before a restart or not) is
// left alone. It returns how many rows it added.
func (p *Push) Enqueue(ctx context.Context, it Item, dests []Dest, now time.Time) (int, error) {
	if len(dests) == 0 {
		return 0, nil
	}
	body, err := json.Marshal(it)
	if err != nil {
		return 0, fmt.Errorf("encode item: %w", err)
	}
	added := 0
	err = p.db.Tx(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, d := range dests {
			res, err := tx.ExecContext(ctx, `INSERT INTO push_outbox (item_key, channel_id, recipient, canteen_id, kind, item,
				committed_at, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING`,
				it.Key, d.ChannelID, d.Recipient, it.CanteenID, it.Kind, string(body), ms(it.At), ms(now))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", it.Key, err)
	}
	return added, nil
}

// Delivery states.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// Delivery is one outbox row: an item for a destination.
type Delivery struct {
	ID          int64     `json:"id"`
	ItemKey     string    `json:"item_key"`
	ChannelID   string    `json:"channel_id"`
	ChannelName string    `json:"channel_name"`
	ChannelKind string    `json:"channel_kind"`
	Recipient   string    `json:"recipient,omitempty"`
	CanteenID   string    `json:"canteen_id"`
	Kind        string    `json:"kind"`
	Item        Item      `json:"item"`
	State       string    `json:"state"`
	Tries       int       `json:"tries"`
	LastError   string    `json:"last_error,omitempty"`
	CommittedAt time.Time `json:"committed_at"`
	CreatedAt   time.Time `json:"created_at"`
	NextAt      time.Time `json:"next_at,omitzero"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	// Channel is the channel with its secrets, for sending (Claim only).
	Channel Channel `json:"-"`
}

const deliveryCols = `o.id, o.item_key, o.channel_id, c.name, c.kind, o.recipient, o.canteen_id, o.kind, o.item, o.state, o.tries,
	o.last_error, o.committed_at, o.created_at, o.next_at, o.sent_at`

func scanDelivery(row store.Row, extra ...any) (Delivery, error) {
	var d Delivery
	var item string
	var committed, created, next int64
	var sent sql.NullInt64
	if err := row.Scan(append([]any{&d.ID, &d.ItemKey, &d.ChannelID, &d.ChannelName, &d.ChannelKind, &d.Recipient, &d.CanteenID,
		&d.Kind, &item, &d.State, &d.Tries, &d.LastError, &committed, &created, &next, &sent}, extra...)...); err != nil {
		return d, err
	}
	d.CommittedAt, d.CreatedAt, d.SentAt = fromMs(committed), fromMs(created), fromNullMs(sent)
	if d.State == StatePending {
		d.NextAt = fromMs(next)
	}
	if err := json.Unmarshal([]byte(item), &d.Item); err != nil {
		return d, fmt.Errorf("delivery %d: item: %w", d.ID, err)
	}
	return d, nil
}

// LeaseTTL is how long a claimed delivery is its fleet's before another
// may take it.
const LeaseTTL = time.Minute

// Claim takes at most limit deliveries due at now for holder, each with
// a lease until now+LeaseTTL, oldest first. A row another fleet holds is
// skipped; two fleets never claim one row at once.
func (p *Push) Claim(ctx context.Context, holder string, now time.Time, limit int) ([]Delivery, error) {
	limit = max(1, min(limit, 1000))
	due, err := store.All(ctx, p.r, func(row store.Row) (Delivery, error) {
		var scope, scopeID, cfg string
		d, err := scanDelivery(row, &scope, &scopeID, &cfg)
		if err != nil {
			return d, err
		}
		d.Channel = Channel{ID: d.ChannelID, Kind: d.ChannelKind, Name: d.ChannelName, Scope: scope, ScopeID: scopeID}
		return d, json.Unmarshal([]byte(cfg), &d.Channel.Config)
	}, `SELECT `+deliveryCols+`, c.scope, c.scope_id, c.config FROM push_outbox o JOIN push_channels c ON c.id = o.channel_id
		WHERE o.state = $1 AND o.next_at <= $2 AND o.lease_until <= $2 ORDER BY o.next_at, o.id LIMIT `+strconv.Itoa(limit),
		StatePending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out := due[:0]
	for _, d := range due {
		res, err := p.w.ExecContext(ctx, `UPDATE push_outbox SET lease_holder = $2, lease_until = $3
			WHERE id = $1 AND state = $4 AND lease_until <= $5`, d.ID, holder, ms(now.Add(LeaseTTL)), StatePending, ms(now))
		if err != nil {
			return nil, fmt.Errorf("claim delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, d)
		}
	}
	return out, nil
}

// maxError bounds the stored error of a delivery.
const maxError = 500

// Done records how holder's try of delivery id went: sendErr nil means
// sent; else the try is counted and the row retried at next, or never
// again when giveUp. A row whose lease holder changed meanwhile (the
// lease ran out and another fleet took it) is left to that fleet.
func (p *Push) Done(ctx context.Context, id int64, holder string, sendErr error, next time.Time, giveUp bool, now time.Time) error {
	var err error
	if sendErr == nil {
		_, err = p.w.ExecContext(ctx, `UPDATE push_outbox SET state = $3, tries = tries + 1, last_error = '', sent_at = $4,
			lease_holder = '', lease_until = 0 WHERE id = $1 AND lease_holder = $2`, id, holder, StateSent, ms(now))
	} else {
		state := StatePending
		if giveUp {
			state = StateFailed
		}
		_, err = p.w.ExecContext(ctx, `UPDATE push_outbox SET state = $3, tries = tries + 1, last_error = $4, next_at = $5,
			lease_holder = '', lease_until = 0 WHERE id = $1 AND lease_holder = $2`,
			id, holder, state, store.Truncate(sendErr.Error(), maxError), ms(next))
	}
	if err != nil {
		return fmt.Errorf("delivery done: %w", err)
	}
	return nil
}

// DeliveryFilter selects deliveries for the log.
type DeliveryFilter struct {
	// Canteens keeps the deliveries of these canteens; nil means any,
	// empty none.
	Canteens []string
	// State keeps one state ("" any).
	State string
	// Limit is 100 when 0, at most 1000.
	Limit int
	// BeforeID pages back.
	BeforeID int64
}

// Deliveries lists the delivery log, newest first.
func (p *Push) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if f.Canteens != nil && len(f.Canteens) == 0 {
		return []Delivery{}, nil
	}
	where, args := []string{"1 = 1"}, []any{}
	if f.Canteens != nil {
		where = append(where, "o.canteen_id IN ("+store.Placeholders(1, len(f.Canteens))+")")
		for _, c := range f.Canteens {
			args = append(args, c)
		}
	}
	if f.State != "" {
		args = append(args, f.State)
		where = append(where, "o.state = $"+strconv.Itoa(len(args)))
	}
	if f.BeforeID > 0 {
		args = append(args, f.BeforeID)
		where = append(where, "o.id < $"+strconv.Itoa(len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	out, err := store.All(ctx, p.r, func(row store.Row) (Delivery, error) { return scanDelivery(row) },
		`SELECT `+deliveryCols+` FROM push_outbox o JOIN push_channels c ON c.id = o.channel_id WHERE `+
			strings.Join(where, " AND ")+` ORDER BY o.id DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// Cursor reads how far source has been read; ok false when it never was.
func (p *Push) Cursor(ctx context.Context, source string) (v int64, ok bool, err error) {
	err = p.r.QueryRowContext(ctx, `SELECT value FROM push_cursors WHERE name = $1`, source).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("push cursor %s: %w", source, err)
	}
	return v, true, nil
}

// AdvanceCursor moves source's cursor to v, never back (another fleet may
// have moved it further).
func (p *Push) AdvanceCursor(ctx context.Context, source string, v int64) error {
	_, err := p.w.ExecContext(ctx, `INSERT INTO push_cursors (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE push_cursors.value < excluded.value`, source, v)
	if err != nil {
		return fmt.Errorf("advance push cursor %s: %w", source, err)
	}
	return nil
}

// Prune deletes at most limit (1 to 10,000) sent or given-up deliveries
// queued before before, oldest first, and returns how many it deleted:
// the delivery log is kept for a while, not forever. Pending rows stay
// whatever their age.
func (p *Push) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = max(1, min(limit, 10000))
	res, err := p.w.ExecContext(ctx, `DELETE FROM push_outbox WHERE id IN (SELECT id FROM push_outbox
		WHERE state IN ($1, $2) AND created_at < $3 ORDER BY id LIMIT `+strconv.Itoa(limit)+`)`, StateSent, StateFailed, ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
