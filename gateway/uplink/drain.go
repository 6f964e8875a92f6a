package uplink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/time/rate"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// readBatch is the most records read from the outbox at once.
const readBatch = 256

// errUnsendable marks a record that can never be published.
var errUnsendable = errors.New("record cannot be sent")

// boundary tells the records that were in the outbox when a connection was
// established (historical) from those appended since.
type boundary struct {
	bySeq bool
	seq   uint64
	at    time.Time
}

func (c *Client) boundary() boundary {
	if ls, ok := c.Outbox.(LastSeqer); ok {
		if seq, err := ls.LastSeq(); err == nil {
			return boundary{bySeq: true, seq: seq}
		} else {
			c.log.Warn("outbox last seq; telling historical records by time", "err", err)
		}
	}
	return boundary{at: time.Now()}
}

func (b boundary) historical(r *Record) bool {
	if b.bySeq {
		return r.Seq <= b.seq
	}
	return r.At.Before(b.at)
}

// drain publishes the outbox in seq order on one connection until ctx ends,
// keeping at most MaxInflight records unacknowledged. It starts from the
// oldest record: everything still in the outbox is unacknowledged.
func (c *Client) drain(ctx context.Context, cl mqtt.Client, b boundary) {
	c.mu.Lock()
	clear(c.inflight)
	c.mu.Unlock()

	var lim *rate.Limiter
	if c.ReplayRate > 0 {
		lim = rate.NewLimiter(rate.Limit(c.ReplayRate), max(1, min(c.MaxInflight, int(c.ReplayRate/10))))
	}
	check := max(c.AckTimeout/4, 10*time.Millisecond)
	resend := time.NewTicker(check)
	defer resend.Stop()

	var cursor uint64 // highest seq read on this connection
	for ctx.Err() == nil {
		notify := c.Outbox.Notify() // before Read, so no append is missed
		room := c.MaxInflight - c.inflightLen()
		more := false
		if room > 0 {
			n := min(room, readBatch)
			recs, err := c.Outbox.Read(cursor, n)
			if err != nil {
				c.log.Error("read outbox", "err", err)
				if !backoff.Sleep(ctx, time.Second) {
					return
				}
				continue
			}
			for i := range recs {
				r := &recs[i]
				if r.Seq <= cursor {
					continue
				}
				hist := b.historical(r)
				if hist && lim != nil {
					if lim.Wait(ctx) != nil {
						return
					}
				}
				cursor = r.Seq
				c.send(cl, r, hist)
			}
			more = len(recs) == n
		}
		if more {
			select {
			case <-resend.C:
				c.resendExpired(ctx, cl)
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-notify:
		case <-c.wake:
		case <-resend.C:
			c.resendExpired(ctx, cl)
		}
	}
}

func (c *Client) inflightLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}

// send publishes one record (its snapshot first) and puts it in flight.
func (c *Client) send(cl mqtt.Client, r *Record, hist bool) {
	msgs, err := c.encode(r, hist)
	if err != nil {
		c.reject(r, err)
		return
	}
	c.mu.Lock()
	if f, ok := c.inflight[r.Seq]; ok {
		f.sentAt = time.Now()
	} else {
		c.inflight[r.Seq] = &flight{sentAt: time.Now(), historical: hist}
	}
	again := r.Seq <= c.maxPublished
	c.maxPublished = max(c.maxPublished, r.Seq)
	c.mu.Unlock()
	if again {
		c.stats.resent.Add(1)
	} else {
		c.stats.published.Add(1)
	}
	for _, m := range msgs {
		tok := cl.Publish(m.topic, 1, false, m.payload)
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				// Left in flight: sent again after AckTimeout or reconnect.
				c.stats.publishErrors.Add(1)
				c.log.Debug("publish", "topic", m.topic, "seq", r.Seq, "err", err)
				return
			}
		default:
		}
	}
}

// reject removes a record that can never be sent, so it does not block or
// come back at every connect.
func (c *Client) reject(r *Record, why error) {
	c.stats.rejected.Add(1)
	err := c.Outbox.Delete(r.Seq)
	c.log.Error("dropping record that cannot be sent", "seq", r.Seq, "kind", r.Kind, "err", why, "delete_err", err)
}

type message struct {
	topic   string
	payload []byte
}

// encode turns a record into the messages that carry it: for an event with
// a snapshot, the JPEG and then the event.
func (c *Client) encode(r *Record, hist bool) ([]message, error) {
	switch r.Kind {
	case wire.KindEvent:
		var ev wire.Event
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: event: %w", errUnsendable, err)
		}
		if !wire.ValidID(ev.EventID) {
			return nil, fmt.Errorf("%w: event_id %q invalid", errUnsendable, ev.EventID)
		}
		if ev.V == 0 {
			ev.V = wire.Version
		}
		ev.Seq, ev.Historical, ev.Epoch = r.Seq, hist, c.epoch()
		var msgs []message
		switch {
		case len(r.Blob) > 0 && len(r.Blob) <= wire.MaxSnapshot:
			sum := sha256.Sum256(r.Blob)
			ev.Snapshot = &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(r.Blob)}
			ev.SnapshotDropped = false
			msgs = append(msgs, message{wire.SnapshotTopic(c.GatewayID, ev.EventID), r.Blob})
		case len(r.Blob) > 0, r.BlobDropped, ev.Snapshot != nil:
			// Too large, dropped by the budget, or referenced and missing:
			// the fleet would wait for a JPEG that never comes.
			ev.Snapshot, ev.SnapshotDropped = nil, true
		}
		b, err := wire.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("%w: encode event: %w", errUnsendable, err)
		}
		return append(msgs, message{c.topics.event, b}), nil
	case wire.KindCameraStatus:
		var cs wire.CameraStatus
		if err := json.Unmarshal(r.Payload, &cs); err != nil {
			return nil, fmt.Errorf("%w: camera-status: %w", errUnsendable, err)
		}
		if cs.V == 0 {
			cs.V = wire.Version
		}
		cs.Seq, cs.Historical, cs.Epoch = r.Seq, hist, c.epoch()
		b, err := wire.Marshal(cs)
		if err != nil {
			return nil, fmt.Errorf("%w: encode camera-status: %w", errUnsendable, err)
		}
		return []message{{c.topics.cameraStatus, b}}, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", errUnsendable, r.Kind)
}

// resendExpired sends again every record in flight for AckTimeout or more.
func (c *Client) resendExpired(ctx context.Context, cl mqtt.Client) {
	now := time.Now()
	var due []uint64
	c.mu.Lock()
	for seq, f := range c.inflight {
		if now.Sub(f.sentAt) >= c.AckTimeout {
			due = append(due, seq)
		}
	}
	c.mu.Unlock()
	if len(due) == 0 {
		return
	}
	slices.Sort(due)
	c.log.Debug("resending unacknowledged records", "count", len(due), "oldest", due[0])
	// Every outbox record between the oldest due seq and the drain cursor
	// is in flight (acked ones are deleted), so pages of about len(due)
	// records cover them.
	after, i := due[0]-1, 0
	for i < len(due) && ctx.Err() == nil {
		recs, err := c.Outbox.Read(after, len(due)-i+16)
		if err != nil {
			c.log.Error("read outbox", "err", err)
			return
		}
		if len(recs) == 0 {
			c.forget(due[i:]) // acked and deleted meanwhile
			return
		}
		for j := range recs {
			r := &recs[j]
			k := i
			for k < len(due) && due[k] < r.Seq {
				k++
			}
			c.forget(due[i:k])
			i = k
			if i == len(due) {
				break
			}
			if due[i] == r.Seq {
				c.mu.Lock()
				f, ok := c.inflight[r.Seq]
				hist := ok && f.historical
				c.mu.Unlock()
				if ok {
					c.send(cl, r, hist)
				}
				i++
			}
			after = r.Seq
		}
	}
}

// forget drops records from the in-flight window that are no longer in the
// outbox.
func (c *Client) forget(seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	c.mu.Lock()
	for _, s := range seqs {
		delete(c.inflight, s)
	}
	c.mu.Unlock()
	c.signalWake()
}

func (c *Client) signalWake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ackLoop applies the fleet's acks to the outbox and the in-flight window,
// grouping the acks that queued up into one Delete.
func (c *Client) ackLoop(ctx context.Context) {
	for {
		var first wire.Ack
		select {
		case <-ctx.Done():
			// Apply what already arrived, so it is not sent again.
			for {
				select {
				case a := <-c.acks:
					c.applyAcks([]wire.Ack{a})
				default:
					return
				}
			}
		case first = <-c.acks:
		}
		batch := []wire.Ack{first}
	more:
		for len(batch) < 64 {
			select {
			case a := <-c.acks:
				batch = append(batch, a)
			default:
				break more
			}
		}
		c.applyAcks(batch)
	}
}

func (c *Client) applyAcks(batch []wire.Ack) {
	var seqs []uint64
	var upto uint64
	epoch := c.epoch()
	for _, a := range batch {
		if a.Epoch != "" && epoch != "" && a.Epoch != epoch {
			continue // for the records of a spool this gateway no longer has
		}
		seqs = append(seqs, a.Seqs...)
		upto = max(upto, a.Upto)
	}
	if upto > 0 {
		if err := c.Outbox.DeleteUpTo(upto); err != nil {
			c.log.Error("delete acked records", "upto", upto, "err", err)
			return // still in flight: sent again, acked again
		}
	}
	if len(seqs) > 0 {
		if err := c.Outbox.Delete(seqs...); err != nil {
			c.log.Error("delete acked records", "count", len(seqs), "err", err)
			return
		}
	}
	now := time.Now()
	var n uint64
	var latest time.Time
	c.mu.Lock()
	take := func(seq uint64, f *flight) {
		delete(c.inflight, seq)
		n++
		latest = later(latest, f.sentAt)
	}
	if upto > 0 {
		for seq, f := range c.inflight {
			if seq <= upto {
				take(seq, f)
			}
		}
	}
	for _, seq := range seqs {
		if f, ok := c.inflight[seq]; ok {
			take(seq, f)
		}
	}
	c.mu.Unlock()
	c.stats.ackMessages.Add(uint64(len(batch)))
	if n > 0 {
		c.stats.acked.Add(n)
		c.stats.lastAckLatency.Store(int64(now.Sub(latest)))
		c.signalWake()
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
