package live

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// ringSize is the number of packets a camera keeps (a power of two).
	// It holds the GOP cache and is every viewer's queue: a viewer more
	// than ringSize packets behind loses packets.
	ringSize = 4096
	ringMask = ringSize - 1

	// The GOP cache is bounded; a longer GOP clears it until the next
	// keyframe.
	gopMaxPackets = 2000
	gopMaxBytes   = 4 << 20

	// pliInterval bounds how often viewers' picture loss reports are
	// forwarded to the publisher.
	pliInterval = time.Second

	// maxShards bounds the writer goroutines of a camera.
	maxShards = 8
	// catchUpSlack is how close to the ring's head a new viewer's own
	// goroutine brings it (replaying the GOP cache) before a shard takes
	// it over.
	catchUpSlack = 32
)

// packet is one upstream RTP packet, shared read-only by every viewer.
type packet struct {
	idx      uint64 // position in the camera's ring
	gen      uint64 // the upstream that sent it
	at       int64  // arrival, ns on the relay's monotonic clock
	seq      uint16
	ts       uint32
	marker   bool
	key      bool // carries an SPS or the start of an IDR picture
	keyStart bool // first packet of a keyframe: a viewer may start here
	payload  []byte
}

// camera is one camera's relay state. The control-plane fields are guarded
// by Relay.mu, the ring bookkeeping by camera.mu; Relay.mu may be taken
// before camera.mu, never the other way round.
type camera struct {
	id string

	// Guarded by Relay.mu.
	ticket     *Ticket
	up         *upstream
	viewers    map[string]*viewer
	pending    int  // WHEP requests holding a reservation, not yet viewers
	ready      bool // the current upstream has delivered a keyframe
	everReady  bool // some upstream of this ticket chain has
	startErr   error
	changed    chan struct{} // closed and replaced when ready, startErr or ticket change
	linger     *time.Timer
	lingerSeq  uint64
	restarting bool
	profile    string    // profile-level-id the publisher offered
	hls        *hlsMuxer // while HLS viewers watch (hls.go)
	hlsViewers int

	noCache bool

	mu       sync.Mutex // guards the fields below and writes to the ring
	gen      uint64     // generation of the current upstream
	readyGen uint64     // last generation that delivered a keyframe
	gopValid bool
	gopGen   uint64
	gopStart uint64
	gopTS    uint32
	gopPkts  int
	gopBytes int
	shards   []*shard
	live     []*shard        // copy-on-write: the shards that have viewers
	feeds    []chan struct{} // copy-on-write: HLS muxers' wake-ups (cap 1)

	stop    chan struct{} // closed when the camera is dropped: shards end
	head    atomic.Uint64 // index of the next packet
	slots   [ringSize]atomic.Pointer[packet]
	curUp   atomic.Pointer[upstream]
	lastPLI atomic.Int64
}

func newCamera(id string, noCache bool) *camera {
	c := &camera{
		id:      id,
		viewers: map[string]*viewer{},
		changed: make(chan struct{}),
		noCache: noCache,
		stop:    make(chan struct{}),
	}
	for range min(max(runtime.GOMAXPROCS(0), 1), maxShards) {
		sh := &shard{cam: c, notify: make(chan struct{}, 1)}
		sh.list.Store(&[]*viewer{})
		c.shards = append(c.shards, sh)
	}
	return c
}

// shard is one writer goroutine of a camera: per new packet it is woken
// once and writes it to each of its viewers in turn, so a packet costs one
// wake-up per shard, not per viewer. A viewer belongs to at most one shard.
type shard struct {
	cam    *camera
	notify chan struct{}             // cap 1: "the ring has grown"
	list   atomic.Pointer[[]*viewer] // copy-on-write, written under camera.mu
}

func (sh *shard) wake() {
	select {
	case sh.notify <- struct{}{}:
	default:
	}
}

// run writes the ring to the shard's viewers until the camera is dropped
// or done is closed. A viewer whose write fails is handed to fail.
func (sh *shard) run(done <-chan struct{}, fail func(*viewer)) {
	for {
		select {
		case <-sh.notify:
		case <-sh.cam.stop:
			return
		case <-done:
			return
		}
		for _, v := range *sh.list.Load() {
			if v.failed.Load() {
				continue
			}
			if err := v.drain(); err != nil {
				v.failed.Store(true)
				fail(v)
			}
		}
	}
}

// signalLocked wakes everyone waiting on c.changed. Relay.mu must be held.
func (c *camera) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// active counts viewers and reservations. Relay.mu must be held.
func (c *camera) active() int { return len(c.viewers) + c.pending }

// setGen makes gen the only generation whose packets are accepted.
func (c *camera) setGen(gen uint64, up *upstream) {
	c.mu.Lock()
	c.gen = gen
	c.mu.Unlock()
	c.curUp.Store(up)
}

// push appends p from upstream generation gen to the ring, keeps the GOP
// cache and wakes the attached viewers. It reports whether p is the first
// keyframe of gen. Packets of a replaced upstream are dropped.
func (c *camera) push(gen uint64, p *packet) (firstKey bool) {
	c.mu.Lock()
	if gen != c.gen {
		c.mu.Unlock()
		return false
	}
	idx := c.head.Load()
	p.idx, p.gen = idx, gen
	if p.key && (!c.gopValid || c.gopGen != gen || p.ts != c.gopTS) {
		p.keyStart = true
		c.gopValid, c.gopGen, c.gopStart, c.gopTS, c.gopPkts, c.gopBytes = true, gen, idx, p.ts, 0, 0
		if c.readyGen != gen {
			c.readyGen, firstKey = gen, true
		}
	}
	if c.gopValid {
		c.gopPkts++
		c.gopBytes += len(p.payload)
		if c.gopPkts > gopMaxPackets || c.gopBytes > gopMaxBytes {
			c.gopValid = false
		}
	}
	c.slots[idx&ringMask].Store(p)
	c.head.Store(idx + 1)
	live, feeds := c.live, c.feeds
	c.mu.Unlock()
	for _, sh := range live {
		sh.wake()
	}
	for _, f := range feeds {
		select {
		case f <- struct{}{}:
		default:
		}
	}
	return firstKey
}

// slot returns the packet at idx, or nil if the ring has moved past it.
func (c *camera) slot(idx uint64) *packet {
	p := c.slots[idx&ringMask].Load()
	if p == nil || p.idx != idx {
		return nil
	}
	return p
}

// attach positions a new viewer's cursor: at the cached GOP, or at the
// head without the cache or when the GOP of the current upstream is not
// cached. The cached frames get squeezed timestamps. The viewer then
// catches up on its own goroutine and joins a shard.
func (c *camera) attach(v *viewer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	head := c.head.Load()
	start := head
	if !c.noCache && c.gopValid && c.gopGen == c.gen {
		start = c.gopStart
	}
	v.cursor, v.cacheEnd = start, head
	v.sq = squeeze{}
	var prev *packet
	for i := start; i < head; i++ {
		p := c.slot(i)
		if p == nil {
			break
		}
		if prev == nil || p.ts != prev.ts {
			v.sq.frames++
		}
		prev = p
	}
	if prev != nil {
		v.sq.lastTS = prev.ts
	}
}

// addFeed adds an HLS muxer's wake-up channel and returns where its
// cursor starts: at the cached GOP if there is one, else at the head.
func (c *camera) addFeed(f chan struct{}) (start uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.feeds = append(append(make([]chan struct{}, 0, len(c.feeds)+1), c.feeds...), f)
	start = c.head.Load()
	if !c.noCache && c.gopValid && c.gopGen == c.gen {
		start = c.gopStart
	}
	return start
}

// removeFeed removes what addFeed added.
func (c *camera) removeFeed(f chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	feeds := make([]chan struct{}, 0, len(c.feeds))
	for _, x := range c.feeds {
		if x != f {
			feeds = append(feeds, x)
		}
	}
	c.feeds = feeds
}

// join hands a caught-up viewer to the least loaded shard; false if the
// viewer was detached meanwhile.
func (c *camera) join(v *viewer) bool {
	c.mu.Lock()
	if v.detached {
		c.mu.Unlock()
		return false
	}
	best := c.shards[0]
	for _, sh := range c.shards[1:] {
		if len(*sh.list.Load()) < len(*best.list.Load()) {
			best = sh
		}
	}
	old := *best.list.Load()
	list := append(append(make([]*viewer, 0, len(old)+1), old...), v)
	best.list.Store(&list)
	v.shard = best
	if len(old) == 0 {
		c.live = append(append(make([]*shard, 0, len(c.live)+1), c.live...), best)
	}
	c.mu.Unlock()
	best.wake() // for what arrived since the catch-up
	return true
}

// detach removes v from the fan-out.
func (c *camera) detach(v *viewer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v.detached = true
	sh := v.shard
	if sh == nil {
		return
	}
	old := *sh.list.Load()
	list := make([]*viewer, 0, len(old))
	for _, x := range old {
		if x != v {
			list = append(list, x)
		}
	}
	sh.list.Store(&list)
	if len(list) == 0 {
		live := make([]*shard, 0, len(c.live))
		for _, x := range c.live {
			if x != sh {
				live = append(live, x)
			}
		}
		c.live = live
	}
}

// requestKeyframe forwards a viewer's picture loss to the publisher, at
// most once per pliInterval.
func (c *camera) requestKeyframe(now int64) {
	last := c.lastPLI.Load()
	if now-last < int64(pliInterval) || !c.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if up := c.curUp.Load(); up != nil {
		up.sendPLI()
	}
}
