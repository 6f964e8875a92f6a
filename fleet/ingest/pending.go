package ingest

import (
	"slices"
	"time"
)

// pending is one gateway's snapshots waiting for their event and events
// waiting for their snapshot, each in arrival order and bounded.
type pending struct {
	snaps     map[string][]byte // event_id -> JPEG received before its event
	order     []snapAt          // snaps' keys, oldest first
	snapBytes int
	waiting   []pendingEvent
}

type snapAt struct {
	id string
	at time.Time
}

func (p *pending) empty() bool { return len(p.snaps) == 0 && len(p.waiting) == 0 }

// addSnap keeps a snapshot, evicting this gateway's oldest ones over the
// bounds; it returns how many were evicted.
func (p *pending) addSnap(id string, jpeg []byte, at time.Time, maxN, maxBytes int) (evicted int) {
	if old, ok := p.snaps[id]; ok {
		p.snapBytes -= len(old)
	} else {
		p.order = append(p.order, snapAt{id, at})
	}
	p.snaps[id] = jpeg
	p.snapBytes += len(jpeg)
	for len(p.order) > 1 && (len(p.snaps) > maxN || p.snapBytes > maxBytes) {
		oldest := p.order[0].id
		p.order = p.order[1:]
		if b, ok := p.snaps[oldest]; ok {
			p.snapBytes -= len(b)
			delete(p.snaps, oldest)
			evicted++
		}
	}
	return evicted
}

// takeSnap removes and returns a snapshot.
func (p *pending) takeSnap(id string) ([]byte, bool) {
	b, ok := p.snaps[id]
	if !ok {
		return nil, false
	}
	delete(p.snaps, id)
	p.snapBytes -= len(b)
	if i := slices.IndexFunc(p.order, func(s snapAt) bool { return s.id == id }); i >= 0 {
		p.order = slices.Delete(p.order, i, i+1)
	}
	return b, true
}

// expire forgets snapshots that came before cutoff (their event never came).
func (p *pending) expire(cutoff time.Time) {
	for len(p.order) > 0 && p.order[0].at.Before(cutoff) {
		if b, ok := p.snaps[p.order[0].id]; ok {
			p.snapBytes -= len(b)
			delete(p.snaps, p.order[0].id)
		}
		p.order = p.order[1:]
	}
}

func pendingOf(pend map[string]*pending, gw string) *pending {
	p := pend[gw]
	if p == nil {
		p = &pending{snaps: map[string][]byte{}}
		pend[gw] = p
	}
	return p
}
