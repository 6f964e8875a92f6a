package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Decoding: each inbound message validated against the device contract
// and turned into an item of the next batch.

func (c *Consumer) item(gw string, ev *wire.Event, jpeg []byte) registry.IngestItem {
	return registry.IngestItem{GatewayID: gw, Event: ev, Snapshot: jpeg, SnapshotQuota: max(c.SnapshotQuota, 0)}
}

// decode validates one message. Events and camera statuses become batch
// items; the rest is applied at once.
func (c *Consumer) decode(ctx context.Context, m inbound, pend map[string]*pending) (registry.IngestItem, bool) {
	gw := m.topic.GatewayID
	kind := m.topic.Kind
	if !c.knownGateway(ctx, gw) {
		c.reject(kind, "unknown_gateway", fmt.Errorf("gateway %q is not registered", gw))
		return registry.IngestItem{}, false
	}
	switch kind {
	case wire.KindEvent:
		ev, err := wire.DecodeEvent(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		item := c.item(gw, &ev, nil)
		if ev.Snapshot != nil {
			p := pendingOf(pend, gw)
			jpeg, ok := p.takeSnap(ev.EventID)
			if !ok {
				if len(p.waiting) >= c.PendingMax {
					// This gateway's oldest waiting event goes (unacked).
					p.waiting = slices.Delete(p.waiting, 0, 1)
					c.reject(kind, "pending_full", nil)
				}
				p.waiting = append(p.waiting, pendingEvent{ev: ev, since: m.at})
				return registry.IngestItem{}, false
			}
			item.Snapshot = jpeg
		}
		return item, true
	case wire.KindSnapshot:
		if len(m.payload) == 0 { // larger than wire.MaxSnapshot: dropped by receive
			c.reject(kind, "malformed", fmt.Errorf("snapshot of %d bytes", len(m.payload)))
			return registry.IngestItem{}, false
		}
		p := pendingOf(pend, gw)
		if n := p.addSnap(m.topic.EventID, m.payload, m.at, c.PendingMax, c.PendingBytes); n > 0 {
			c.metrics.rejected.WithLabelValues(kind, "pending_full").Add(float64(n))
		}
		// The event may already be waiting for it; run() pairs them.
		return registry.IngestItem{}, false
	case wire.KindCameraStatus:
		st, err := wire.DecodeCameraStatus(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		return registry.IngestItem{GatewayID: gw, Status: &st}, true
	case wire.KindState:
		st, err := wire.DecodeState(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		if err := c.Registry.GatewayState(ctx, gw, st, m.at); err != nil {
			c.Logger.Error("store gateway state", "gateway_id", gw, "err", err)
		}
		if st.Online {
			c.resendConfig(ctx, gw, true)
		}
	case wire.KindHeartbeat:
		hb, err := wire.DecodeHeartbeat(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		if err := c.Registry.Heartbeat(ctx, gw, hb, m.at); err != nil {
			c.Logger.Error("store heartbeat", "gateway_id", gw, "err", err)
		}
		c.resendConfig(ctx, gw, false)
	case wire.KindCmdAck:
		a, err := wire.DecodeCmdAck(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		if err := c.Registry.UpdateCmd(ctx, gw, a.CmdID, a.Status, a.Detail); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.Logger.Error("store cmd ack", "gateway_id", gw, "err", err)
		}
	case wire.KindConfigReported:
		r, err := wire.DecodeConfigReported(m.payload)
		if err != nil {
			c.reject(kind, "malformed", err)
			return registry.IngestItem{}, false
		}
		if err := c.Registry.ConfigReported(ctx, gw, r); err != nil {
			c.Logger.Error("store config report", "gateway_id", gw, "err", err)
		}
	default:
		c.reject(kind, "unexpected_kind", nil)
	}
	return registry.IngestItem{}, false
}

func itemKind(it registry.IngestItem) string {
	if it.Status != nil {
		return wire.KindCameraStatus
	}
	return wire.KindEvent
}
