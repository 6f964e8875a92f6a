package live

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	// histSize is how many sent packets per viewer can be re-sent on a
	// NACK (a power of two); the entries point into the camera's ring.
	histSize = 512
	histMask = histSize - 1
	// maxNACKed bounds the re-sends per RTCP NACK.
	maxNACKed = 128
	// cacheFrameSpacing is the timestamp step (90 kHz) between frames
	// replayed from the GOP cache, so a late joiner decodes its way to the
	// live picture quickly instead of playing the cached GOP in real time.
	cacheFrameSpacing = 90
)

// Reasons a viewer session ends (bk_live_viewer_drops_total counts all but
// deleted and shutdown).
const (
	reasonDeleted        = "deleted"
	reasonShutdown       = "shutdown"
	reasonFailed         = "failed"
	reasonClosed         = "closed"
	reasonTTL            = "ttl"
	reasonUntil          = "until"
	reasonConnectTimeout = "connect_timeout"
	reasonUpstreamLost   = "upstream_lost"
	reasonWriteError     = "write_error"
	reasonRevoked        = "revoked"
	reasonIdle           = "idle" // an HLS session that stopped fetching
)

var errUnbound = errors.New("track unbound")

// viewer is one WHEP session, or one HLS session (hls set, no peer
// connection: it is counted and ended like a WHEP viewer but reads the
// camera's shared HLS muxer, hls.go).
type viewer struct {
	r         *Relay
	cam       *camera
	id        string
	who       Viewer
	postStart time.Time // the WHEP POST began
	created   time.Time // the session was accepted
	hls       *hlsSession
	pc        *webrtc.PeerConnection
	sender    *webrtc.RTPSender
	track     *viewerTrack

	// Guarded by camera.mu.
	shard    *shard
	detached bool
	// failed is set by the shard whose write to this viewer failed.
	failed atomic.Bool

	// Guarded by Relay.mu.
	registered, removed, attached bool
	ttl, connectTimer             *time.Timer

	// Owned by whoever writes to the viewer: its catch-up goroutine, then
	// its shard (set by camera.attach before either runs).
	cursor, cacheEnd uint64
	sq               squeeze
	gen, tsGen       uint64
	needKey, started bool
	seqOff           uint16
	tsOff            uint32
	lastSeq          uint16
	lastTS           uint32
	lastAt           int64
	minSeq           uint16
	hdr              rtp.Header
	firstDone        bool
	pendingBytes     int

	histMu sync.Mutex
	hist   [histSize]histEntry
}

// squeeze maps the timestamps of the frames replayed from the GOP cache.
type squeeze struct {
	frames, k int
	seen      bool
	prevTS    uint32
	lastTS    uint32 // upstream timestamp of the newest cached frame
}

type histEntry struct {
	idx uint64
	ts  uint32
	seq uint16
	ok  bool
}

func newViewer(r *Relay, c *camera, id string, who Viewer, track *viewerTrack, seq uint16, ts uint32) *viewer {
	return &viewer{
		r: r, cam: c, id: id, who: who, track: track,
		needKey: true,
		lastSeq: seq,
		lastTS:  ts,
	}
}

// catchUp replays the viewer's start (the GOP cache) on its own goroutine,
// so a burst of cached packets does not delay the viewers of a shard, then
// hands the viewer to a shard.
func (v *viewer) catchUp() {
	for range 16 {
		if err := v.drain(); err != nil {
			v.failed.Store(true)
			v.r.removeViewer(v, v.writeFailure())
			return
		}
		if v.cam.head.Load()-v.cursor <= catchUpSlack {
			break
		}
	}
	v.cam.join(v)
}

// writeFailure is the reason a viewer whose write failed ends with: closed
// when its peer connection is closing (the viewer left: pion closes the
// connection on the browser's DTLS close_notify, its signalling state is
// closed first, and the writes fail before the state change to closed is
// reported), else write_error. Without it a viewer that left counted as
// closed or write_error by which of the two came first.
func (v *viewer) writeFailure() string {
	if v.pc != nil && v.pc.SignalingState() == webrtc.SignalingStateClosed {
		return reasonClosed
	}
	return reasonWriteError
}

// drain writes the packets between the viewer's cursor and the ring's
// head. A viewer that the ring has overtaken skips to the head and waits
// for the next keyframe.
func (v *viewer) drain() error {
	defer v.flushStats()
	c := v.cam
	head := c.head.Load()
	for v.cursor < head {
		p := c.slot(v.cursor)
		if p == nil {
			v.r.m.packetDrops.WithLabelValues("slow_viewer").Add(float64(head - v.cursor))
			v.cursor, v.needKey = head, true
			return nil
		}
		v.cursor++
		if err := v.handle(p); err != nil {
			return err
		}
	}
	return nil
}

// handle rewrites p's header for this viewer and writes it.
func (v *viewer) handle(p *packet) error {
	if p.gen != v.gen {
		v.gen, v.needKey = p.gen, true
	}
	if v.needKey {
		if !p.keyStart {
			return nil
		}
		v.needKey = false
		// Continue the viewer's sequence numbers without a gap; after an
		// upstream switch, also move its timestamps on by the wall-clock
		// time between the two upstreams' packets.
		v.seqOff = v.lastSeq + 1 - p.seq
		switch {
		case !v.started:
			v.tsOff = v.lastTS - p.ts
		case v.tsGen != p.gen:
			ticks := uint32(max(p.at-v.lastAt, 0) * 9 / 100000)
			v.tsOff = v.lastTS + max(ticks, 1) - p.ts
		}
		v.started, v.tsGen, v.minSeq = true, p.gen, p.seq
	}
	if int16(p.seq-v.minSeq) < 0 {
		return nil // from before the point where this viewer (re)started
	}
	if uint16(p.seq-v.minSeq) > 0x4000 {
		v.minSeq = p.seq - 0x2000
	}
	b := v.track.binding.Load()
	if b == nil {
		return errUnbound
	}
	seq := p.seq + v.seqOff
	ts := p.ts + v.tsOff
	if p.idx < v.cacheEnd && v.sq.frames > 1 {
		if v.sq.seen && p.ts != v.sq.prevTS {
			v.sq.k++
		}
		v.sq.seen, v.sq.prevTS = true, p.ts
		ts = v.sq.lastTS + v.tsOff - uint32(max(v.sq.frames-1-v.sq.k, 0))*cacheFrameSpacing
	}
	h := &v.hdr
	h.Version, h.Marker, h.PayloadType = 2, p.marker, b.pt
	h.SequenceNumber, h.Timestamp, h.SSRC = seq, ts, b.ssrc
	if _, err := b.ws.WriteRTP(h, p.payload); err != nil {
		return err
	}
	v.histMu.Lock()
	v.hist[seq&histMask] = histEntry{idx: p.idx, ts: ts, seq: seq, ok: true}
	v.histMu.Unlock()
	if !v.firstDone {
		v.firstDone = true
		v.lastSeq, v.lastTS = seq, ts
		if !v.postStart.IsZero() {
			v.r.m.firstFrame.Observe(time.Since(v.postStart).Seconds())
		}
	}
	if int16(seq-v.lastSeq) > 0 {
		v.lastSeq = seq
	}
	if int32(ts-v.lastTS) > 0 {
		v.lastTS = ts
	}
	v.lastAt = max(v.lastAt, p.at)
	v.pendingBytes += len(p.payload) + 12
	return nil
}

func (v *viewer) flushStats() {
	if v.pendingBytes > 0 {
		v.r.m.bytesOut.Add(float64(v.pendingBytes))
		v.pendingBytes = 0
	}
}

// rtcpLoop waits for the viewer's SRTP session, attaches the viewer to its
// camera, then reads the viewer's RTCP: NACKs are answered from the ring,
// picture loss is forwarded to the publisher.
func (v *viewer) rtcpLoop() {
	// SetReadDeadline blocks until SRTP is up (or the sender stops):
	// packets written before that would be dropped silently.
	if err := v.sender.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	if !v.r.attachViewer(v) {
		return
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := v.sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pk := range pkts {
			switch x := pk.(type) {
			case *rtcp.TransportLayerNack:
				v.retransmit(x)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.cam.requestKeyframe(v.r.clock())
			}
		}
	}
}

// retransmit re-sends the NACKed packets that are still in the ring.
func (v *viewer) retransmit(n *rtcp.TransportLayerNack) {
	b := v.track.binding.Load()
	if b == nil {
		return
	}
	sent := 0
	for _, pair := range n.Nacks {
		for _, seq := range pair.PacketList() {
			if sent >= maxNACKed {
				return
			}
			v.histMu.Lock()
			e := v.hist[seq&histMask]
			v.histMu.Unlock()
			if !e.ok || e.seq != seq {
				continue
			}
			p := v.cam.slot(e.idx)
			if p == nil {
				continue
			}
			h := rtp.Header{Version: 2, Marker: p.marker, PayloadType: b.pt, SequenceNumber: seq, Timestamp: e.ts, SSRC: b.ssrc}
			if _, err := b.ws.WriteRTP(&h, p.payload); err != nil {
				return
			}
			sent++
		}
	}
	v.r.m.retransmits.Add(float64(sent))
}
