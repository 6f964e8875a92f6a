package live

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// recordSink records what a viewer writes.
type recordSink struct {
	mu   sync.Mutex
	hdrs []rtp.Header
	keys []bool
}

func (s *recordSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hdrs = append(s.hdrs, *h)
	s.keys = append(s.keys, isKeyPayload(payload))
	return len(payload) + 12, nil
}

func (s *recordSink) Write(b []byte) (int, error) { return len(b), nil }

// rewriteRig is a camera and viewers without pion: packets are pushed by
// hand and each viewer is drained by hand.
type rewriteRig struct {
	t   *testing.T
	r   *Relay
	c   *camera
	seq uint16
	ts  uint32
	at  int64
}

func newRewriteRig(t *testing.T, noCache bool) *rewriteRig {
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &rewriteRig{t: t, r: &Relay{m: m, epoch: time.Now(), log: testLogger()}, c: newCamera("cam", noCache)}
	g.c.setGen(1, nil)
	return g
}

func (g *rewriteRig) viewer(seq uint16, ts uint32) (*viewer, *recordSink) {
	s := &recordSink{}
	track := &viewerTrack{}
	track.binding.Store(&trackBinding{ws: s, ssrc: 42, pt: 102})
	v := newViewer(g.r, g.c, "v", Viewer{}, track, seq, ts)
	g.c.attach(v)
	return v, s
}

var (
	keyPayload   = []byte{0x7c, 0x85, 1, 2, 3} // FU-A start of an IDR
	deltaPayload = []byte{0x7c, 0x01, 1, 2, 3}
)

// frame pushes one frame of n packets (the first a keyframe start if key)
// from upstream gen, 100 ms after the previous one.
func (g *rewriteRig) frame(gen uint64, key bool, n int) {
	g.ts += 9000
	g.at += int64(100 * time.Millisecond)
	for i := range n {
		g.seq++
		p := &packet{seq: g.seq, ts: g.ts, at: g.at, marker: i == n-1, payload: deltaPayload}
		if key && i == 0 {
			p.payload, p.key = keyPayload, true
		}
		g.c.push(gen, p)
	}
}

func drain(t *testing.T, v *viewer) {
	t.Helper()
	if err := v.drain(); err != nil {
		t.Fatal(err)
	}
}

func checkHeaders(t *testing.T, hdrs []rtp.Header) {
	t.Helper()
	for i := 1; i < len(hdrs); i++ {
		if hdrs[i].SequenceNumber != hdrs[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, hdrs[i].SequenceNumber, hdrs[i-1].SequenceNumber)
		}
		if int32(hdrs[i].Timestamp-hdrs[i-1].Timestamp) < 0 {
			t.Fatalf("packet %d: timestamp %d after %d", i, hdrs[i].Timestamp, hdrs[i-1].Timestamp)
		}
		if hdrs[i].SSRC != 42 || hdrs[i].PayloadType != 102 {
			t.Fatalf("packet %d: SSRC %d PT %d, want the binding's", i, hdrs[i].SSRC, hdrs[i].PayloadType)
		}
	}
}

func TestRewriteGOPCacheAndSwitch(t *testing.T) {
	g := newRewriteRig(t, false)
	g.frame(1, false, 3) // before any keyframe: never sent
	g.frame(1, true, 4)
	for range 9 {
		g.frame(1, false, 2)
	}
	// A late joiner starts at the cached keyframe, across the 65535 wrap.
	v, s := g.viewer(65530, 0xfffff000)
	drain(t, v)
	if len(s.hdrs) != 4+9*2 || !s.keys[0] {
		t.Fatalf("late joiner got %d packets (first key: %v), want the 22 of the cached GOP", len(s.hdrs), s.keys[0])
	}
	if s.hdrs[0].SequenceNumber != 65531 {
		t.Fatalf("first sequence number %d, want the viewer's start 65531", s.hdrs[0].SequenceNumber)
	}
	// The cached frames are squeezed: 10 frames span 9 ms, not 900 ms.
	if span := s.hdrs[len(s.hdrs)-1].Timestamp - s.hdrs[0].Timestamp; span != 9*cacheFrameSpacing {
		t.Fatalf("cached GOP spans %d ticks, want %d", span, 9*cacheFrameSpacing)
	}
	g.frame(1, false, 2) // live again: 100 ms later
	drain(t, v)
	n := len(s.hdrs)
	if d := s.hdrs[n-1].Timestamp - s.hdrs[n-3].Timestamp; d != 9000 {
		t.Fatalf("first live frame %d ticks after the cache, want 9000", d)
	}

	// A new upstream with its own numbering: nothing until its keyframe,
	// then the viewer's numbering continues.
	g.c.setGen(2, nil)
	g.seq, g.ts = 100, 5
	g.frame(1, false, 2) // late packets of the old upstream: dropped
	g.frame(2, false, 3)
	g.frame(2, true, 2)
	g.frame(2, false, 2)
	drain(t, v)
	if got := len(s.hdrs) - n; got != 4 || !s.keys[n] {
		t.Fatalf("after the switch the viewer got %d packets (first key: %v), want 4 from the keyframe", got, s.keys[n])
	}
	checkHeaders(t, s.hdrs)
	if d := s.hdrs[n].Timestamp - s.hdrs[n-1].Timestamp; d != 3*9000 {
		t.Fatalf("switch moved the timestamp on by %d ticks, want the 300 ms between the packets (27000)", d)
	}
}

func TestRewriteNoCacheWaitsForKeyframe(t *testing.T) {
	g := newRewriteRig(t, true)
	g.frame(1, true, 2)
	g.frame(1, false, 2)
	v, s := g.viewer(1, 1)
	drain(t, v)
	g.frame(1, false, 2)
	drain(t, v)
	if len(s.hdrs) != 0 {
		t.Fatalf("viewer got %d packets before a keyframe", len(s.hdrs))
	}
	g.frame(1, true, 3)
	drain(t, v)
	if len(s.hdrs) != 3 || !s.keys[0] {
		t.Fatalf("viewer got %d packets after the keyframe, want 3 starting with it", len(s.hdrs))
	}
}

func TestRewriteSlowViewerDrops(t *testing.T) {
	g := newRewriteRig(t, false)
	g.frame(1, true, 2)
	v, s := g.viewer(1, 1)
	drain(t, v)
	// The viewer falls more than the ring behind: it loses those packets
	// (counted) and resumes at the next keyframe, without a gap.
	for range ringSize/10 + 1 {
		g.frame(1, false, 10)
	}
	drain(t, v)
	g.frame(1, false, 2)
	g.frame(1, true, 2)
	drain(t, v)
	if len(s.hdrs) != 4 || !s.keys[2] {
		t.Fatalf("slow viewer got %d packets, want 2 + the 2 of the next keyframe", len(s.hdrs))
	}
	checkHeaders(t, s.hdrs)
	if dropped := testCounter(g.r.m.packetDrops.WithLabelValues("slow_viewer")); dropped < ringSize {
		t.Fatalf("dropped packets counted: %v", dropped)
	}
}

func TestRewriteReorderedAndRetransmitted(t *testing.T) {
	g := newRewriteRig(t, false)
	g.frame(1, true, 3) // seqs 1..3
	v, s := g.viewer(500, 1)
	drain(t, v)
	// A retransmission of seq 2 arrives late: same offset, same number.
	g.c.push(1, &packet{seq: 2, ts: g.ts, payload: deltaPayload})
	// A packet from before the keyframe the viewer started at: dropped.
	g.c.push(1, &packet{seq: 0, ts: g.ts - 9000, payload: deltaPayload})
	drain(t, v)
	if len(s.hdrs) != 4 || s.hdrs[3].SequenceNumber != s.hdrs[1].SequenceNumber {
		t.Fatalf("late packet rewritten to %v, want the number of the original (%d)", s.hdrs[len(s.hdrs)-1].SequenceNumber, s.hdrs[1].SequenceNumber)
	}
}

func TestRetransmitFromRing(t *testing.T) {
	g := newRewriteRig(t, false)
	g.frame(1, true, 4)
	v, s := g.viewer(10, 1000)
	drain(t, v)
	sent := append([]rtp.Header(nil), s.hdrs...)
	// NACK the 2nd and 4th packets, and one never sent.
	v.retransmit(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{
		{PacketID: sent[1].SequenceNumber, LostPackets: 0b10},
		{PacketID: 9999},
	}})
	re := s.hdrs[len(sent):]
	if len(re) != 2 {
		t.Fatalf("re-sent %d packets, want 2", len(re))
	}
	for i, want := range []rtp.Header{sent[1], sent[3]} {
		if re[i].SequenceNumber != want.SequenceNumber || re[i].Timestamp != want.Timestamp || re[i].Marker != want.Marker {
			t.Fatalf("re-sent %+v, want the original %+v", re[i], want)
		}
	}
	if got := testCounter(g.r.m.retransmits); got != 2 {
		t.Fatalf("bk_live_retransmits_total = %v, want 2", got)
	}
}

// TestWriteFailureReason: a viewer whose writes fail while its peer
// connection closes (the browser left: pion closes it on the DTLS
// close_notify, and the shard's write can fail before the state change is
// reported) ends as closed, not write_error; with the connection open, a
// failed write is a write error.
func TestWriteFailureReason(t *testing.T) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc}
	if got := v.writeFailure(); got != reasonWriteError {
		t.Errorf("open connection: %s, want %s", got, reasonWriteError)
	}
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	if got := v.writeFailure(); got != reasonClosed {
		t.Errorf("closed connection: %s, want %s", got, reasonClosed)
	}
	if got := (&viewer{}).writeFailure(); got != reasonWriteError {
		t.Errorf("no connection (HLS): %s, want %s", got, reasonWriteError)
	}
}
