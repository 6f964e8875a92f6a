package ingest

import (
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// The per-gateway queues between the MQTT client's callback and the
// batcher, taken round-robin.

// receive runs on paho's goroutine (or, in process, on the broker's read
// loop of the publishing gateway): parse the topic and put the message in
// its gateway's queue, or drop it if that queue is full. It never blocks.
func (c *Consumer) receive(topic string, payload []byte) {
	p, err := wire.ParseTopic(topic)
	if err != nil {
		c.reject("topic", "bad_topic", err)
		return
	}
	c.metrics.received.WithLabelValues(p.Kind).Inc()
	// Too large for its kind: dropped here, so that it neither takes its
	// gateway's queue nor stays in memory until the batcher gets to it.
	if limit := wire.MaxPayload; p.Kind == wire.KindSnapshot && len(payload) > wire.MaxSnapshot ||
		p.Kind != wire.KindSnapshot && len(payload) > limit {
		c.reject(p.Kind, "malformed", fmt.Errorf("%d bytes, over the limit for %s", len(payload), p.Kind))
		return
	}
	if !c.enqueue(inbound{topic: p, payload: payload, at: time.Now()}) {
		c.reject(p.Kind, "overload", nil)
	}
}

func (c *Consumer) enqueue(m inbound) bool {
	c.mu.Lock()
	q := c.queues[m.topic.GatewayID]
	if q == nil {
		q = &gwQueue{}
		c.queues[m.topic.GatewayID] = q
		c.ready = append(c.ready, m.topic.GatewayID)
	}
	n := len(m.payload)
	ok := len(q.msgs) == 0 || len(q.msgs) < c.QueueMax && q.bytes+n <= c.QueueBytes
	if ok {
		q.msgs = append(q.msgs, m)
		q.bytes += n
	}
	c.mu.Unlock()
	if ok {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return ok
}

// take removes up to max messages from the queues, one per gateway in turn.
func (c *Consumer) take(max int, out []inbound) []inbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(out) < max && len(c.ready) > 0 {
		progress := false
		for i := 0; i < len(c.ready) && len(out) < max; {
			gw := c.ready[i]
			q := c.queues[gw]
			m := q.msgs[0]
			q.msgs[0] = inbound{}
			q.msgs = q.msgs[1:]
			q.bytes -= len(m.payload)
			out = append(out, m)
			progress = true
			if len(q.msgs) == 0 {
				delete(c.queues, gw)
				c.ready = append(c.ready[:i], c.ready[i+1:]...)
				continue
			}
			i++
		}
		if !progress {
			break
		}
	}
	// Rotate, so the next batch starts with another gateway.
	if len(c.ready) > 1 {
		c.ready = append(c.ready[1:], c.ready[0])
	}
	return out
}

// queued reports whether any gateway has messages waiting.
func (c *Consumer) queued() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ready) > 0
}
