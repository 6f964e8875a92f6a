package camera

import "sync/atomic"

// Subscription receives a Source's access units on its own bounded channel.
// When the channel is full the unit is dropped for this subscriber only and
// counted; ingest and other subscribers never wait for it.
type Subscription struct {
	src     *Source
	ch      chan AccessUnit
	dropped atomic.Uint64
	seen    uint64 // dropped when Gap last looked; the receiver's own
	closed  bool   // guarded by src.mu
}

// C is the channel of access units. It is closed by Close, and by the
// Source's Close.
func (sub *Subscription) C() <-chan AccessUnit { return sub.ch }

// Dropped is how many units this subscriber missed because its channel was
// full.
func (sub *Subscription) Dropped() uint64 { return sub.dropped.Load() }

// Gap reports whether units were dropped for this subscriber since Gap
// last looked. Call it after each receive, from the receiving goroutine:
// the unit just received may follow lost ones, so a decoder or a packer
// must wait for the next random-access unit (P units after a gap have
// lost their references). The unit may also be from before the gap (the
// count is read after it was queued); waiting is safe either way.
func (sub *Subscription) Gap() bool {
	d := sub.dropped.Load()
	if d == sub.seen {
		return false
	}
	sub.seen = d
	return true
}

// Close stops the subscription and closes C. It may be called more than once.
func (sub *Subscription) Close() {
	sub.src.mu.Lock()
	defer sub.src.mu.Unlock()
	sub.closeLocked()
}

func (sub *Subscription) closeLocked() {
	if sub.closed {
		return
	}
	sub.closed = true
	delete(sub.src.subs, sub)
	close(sub.ch)
}

// Subscribe adds a subscriber with a channel of buf units (at least 1). It
// receives the units that arrive from now on. After Close it returns a
// subscription whose channel is already closed.
func (s *Source) Subscribe(buf int) *Subscription {
	return s.subscribe(buf, false)
}

// SubscribeGOP is Subscribe with the channel primed with the cached GOP (see
// GOP), so the subscriber starts at the latest random-access unit with no gap
// or repeat between the cache and the live units. The channel holds buf units
// beyond the cached ones.
func (s *Source) SubscribeGOP(buf int) *Subscription {
	return s.subscribe(buf, true)
}

func (s *Source) subscribe(buf int, withGOP bool) *Subscription {
	buf = max(buf, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	var gop []AccessUnit
	if withGOP {
		gop = s.gop.units
	}
	sub := &Subscription{src: s, ch: make(chan AccessUnit, buf+len(gop))}
	for _, au := range gop {
		sub.ch <- au
	}
	if s.closed {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	if s.subs == nil {
		s.subs = make(map[*Subscription]struct{})
	}
	s.subs[sub] = struct{}{}
	return sub
}

// fanOut offers au to every subscriber without waiting. s.mu is held.
func (s *Source) fanOut(au AccessUnit) {
	for sub := range s.subs {
		select {
		case sub.ch <- au:
		default:
			sub.dropped.Add(1)
			s.stats.Dropped++
		}
	}
}

// gopCache holds the latest random-access unit and every unit since, within
// bounds; over them it empties and waits for the next random-access unit.
type gopCache struct {
	units    []AccessUnit
	bytes    int
	maxBytes int
	maxUnits int
}

// add returns false when the cache had to be cleared.
func (g *gopCache) add(au AccessUnit) bool {
	size := au.Size()
	if au.IDR {
		g.reset()
	} else if len(g.units) == 0 {
		return true // waiting for a random-access unit
	}
	if len(g.units)+1 > g.maxUnits || g.bytes+size > g.maxBytes {
		g.reset()
		return false
	}
	g.units = append(g.units, au)
	g.bytes += size
	return true
}

func (g *gopCache) reset() {
	clear(g.units)
	g.units = g.units[:0]
	g.bytes = 0
}

// GOP is a copy of the GOP cache: the latest random-access unit (which
// carries the parameter sets) and every unit since, in order. It is empty
// while offline, before the first random-access unit, and after the cache
// outgrew GOPMaxBytes or GOPMaxUnits until the next random-access unit.
func (s *Source) GOP() []AccessUnit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.gop.units) == 0 {
		return nil
	}
	return append([]AccessUnit(nil), s.gop.units...)
}
