package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// The HLS muxer of a camera: one goroutine reads the camera's ring like a
// viewer (from the cached GOP, so the first segment needs no wait for the
// next keyframe), reassembles H.264 access units from the RTP packets and
// writes them to a gohlslib Muxer (low-latency HLS: fMP4 segments of about
// a GOP, cut at keyframes once hlsSegmentMinDur has passed, in parts of
// hlsPartMinDur, with blocking playlist reloads and preload hints), whose
// playlists and files every HLS session of the camera is served from. The
// gohlslib muxer is made at the first keyframe that carries SPS and PPS
// (the gateway puts them before every IDR). Memory is bounded by
// gohlslib's window: hlsSegmentCount segments of at most hlsSegmentMaxSize
// each, plus the one being written.
//
// Closing works around a bug of gohlslib v2.2.0: the handler of a preload
// hint, woken by Close while it waits for its part, returns holding the
// muxer's mutex, so every other request waiting in that muxer then hangs
// for good. So no request may be waiting in the muxer when it is closed:
// requests pass a gate (enter, leave), and quiesce shuts the gate and
// completes parts until the requests inside have left (see quiesce).
const (
	hlsSegmentCount   = 7 // the least gohlslib allows for LL-HLS
	hlsSegmentMinDur  = time.Second
	hlsPartMinDur     = 200 * time.Millisecond
	hlsSegmentMaxSize = 6 << 20
	hlsClockRate      = 90000
	// hlsQuiesceMax bounds how long a closing muxer waits for the requests
	// inside it; hlsQuiesceStep is how often it completes a part meanwhile.
	hlsQuiesceMax  = 2 * time.Second
	hlsQuiesceStep = 10 * time.Millisecond
)

// hlsMuxer feeds one camera's gohlslib muxer from its ring.
type hlsMuxer struct {
	r      *Relay
	cam    *camera
	notify chan struct{} // cap 1: the ring has grown
	stop   chan struct{}
	done   chan struct{}

	started  chan struct{} // closed once mux is set
	mux      *gohlslib.Muxer
	track    *gohlslib.Track
	stopOnce sync.Once

	// The gate of the requests into mux (enter, leave, quiesce).
	gate   sync.Mutex
	shut   bool          // no request enters any more
	inside int           // requests between enter and leave
	left   chan struct{} // cap 1: a request left a shut gate

	// Owned by the feeding goroutine.
	cursor    uint64
	gen       uint64
	needKey   bool
	dec       *rtph264.Decoder
	buffered  bool   // the decoder holds part of a frame...
	bufTS     uint32 // ...with this RTP timestamp
	lastTS    uint32 // RTP timestamp of the last access unit written
	pts       int64  // its unwrapped presentation time, 90 kHz
	lastAt    int64  // its arrival on the relay's clock
	lastGen   uint64 // its upstream
	anyFrames bool
	lastKey   [][]byte // a copy of the last keyframe written (quiesce)
	quiescing bool     // quiesce is writing; encode errors are expected
}

// newHLSMuxerLocked starts c's HLS muxer. Relay.mu must be held.
func (r *Relay) newHLSMuxerLocked(c *camera) *hlsMuxer {
	m := &hlsMuxer{
		r: r, cam: c,
		notify:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		started: make(chan struct{}),
		left:    make(chan struct{}, 1),
		needKey: true,
	}
	m.cursor = c.addFeed(m.notify)
	r.m.hlsMuxers.Inc()
	if !r.spawnLocked(m.run) {
		c.removeFeed(m.notify)
		close(m.done)
	}
	return m
}

// waitStarted waits until the gohlslib muxer exists (the first keyframe
// has been read), at most d.
func (m *hlsMuxer) waitStarted(ctx context.Context, d time.Duration) error {
	select {
	case <-m.started:
		return nil
	default:
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-m.started:
		return nil
	case <-m.done:
		return fmt.Errorf("%w: the HLS muxer of camera %q stopped", ErrNotFound, m.cam.id)
	case <-timer.C:
		return fmt.Errorf("%w: no keyframe with SPS and PPS from camera %q within %v", ErrStartTimeout, m.cam.id, d)
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrStartTimeout, ctx.Err())
	}
}

// enter lets a request into the gohlslib muxer; false once it is closing.
// Each true is followed by one leave.
func (m *hlsMuxer) enter() bool {
	m.gate.Lock()
	defer m.gate.Unlock()
	if m.shut {
		return false
	}
	m.inside++
	return true
}

// leave ends a request that entered.
func (m *hlsMuxer) leave() {
	m.gate.Lock()
	m.inside--
	if m.shut {
		select {
		case m.left <- struct{}{}:
		default:
		}
	}
	m.gate.Unlock()
}

// quiesce shuts the gate and waits, at most hlsQuiesceMax, until no
// request is inside the gohlslib muxer. A request waiting there (a preload
// hint or a blocking playlist reload) waits for the next part, and the
// camera may send no more frames, so meanwhile the last keyframe is
// written again every hlsQuiesceStep, each time a second later: that
// completes a part and a segment, which wakes every request waiting for
// one. A request still inside after hlsQuiesceMax is writing to a slow
// client, not waiting in the muxer. It runs on the feeding goroutine.
func (m *hlsMuxer) quiesce() {
	m.gate.Lock()
	m.shut = true
	m.gate.Unlock()
	if m.mux == nil {
		return // no request got past waitStarted into a muxer
	}
	m.quiescing = true
	step := time.NewTimer(0)
	defer step.Stop()
	deadline := time.Now().Add(hlsQuiesceMax)
	for {
		m.gate.Lock()
		n := m.inside
		m.gate.Unlock()
		if n == 0 || time.Now().After(deadline) {
			return
		}
		select {
		case <-m.left:
			continue
		case <-step.C:
		}
		m.pts += hlsClockRate
		m.lastAt += int64(time.Second)
		_ = m.mux.WriteH264(m.track, m.r.epoch.Add(time.Duration(m.lastAt)), m.pts, m.lastKey)
		step.Reset(hlsQuiesceStep)
	}
}

// close stops the feeding goroutine and closes the gohlslib muxer once no
// request is inside it (quiesce).
func (m *hlsMuxer) close() {
	m.stopOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.r.m.hlsMuxers.Dec()
	})
}

func (m *hlsMuxer) run() {
	defer close(m.done)
	defer func() {
		m.cam.removeFeed(m.notify)
		if m.mux != nil {
			m.quiesce()
			m.mux.Close()
		}
	}()
	m.drain()
	for {
		select {
		case <-m.notify:
		case <-m.stop:
			return
		case <-m.cam.stop:
			return
		case <-m.r.ctx.Done():
			return
		}
		m.drain()
	}
}

// drain reads the ring from the cursor to the head. Overtaken by the ring,
// it skips to the head and waits for the next keyframe.
func (m *hlsMuxer) drain() {
	c := m.cam
	head := c.head.Load()
	for m.cursor < head {
		p := c.slot(m.cursor)
		if p == nil {
			m.r.m.packetDrops.WithLabelValues("slow_hls").Add(float64(head - m.cursor))
			m.cursor, m.needKey = head, true
			return
		}
		m.cursor++
		m.handle(p)
	}
}

// handle depacketizes p and writes each complete access unit.
func (m *hlsMuxer) handle(p *packet) {
	if p.gen != m.gen {
		m.gen, m.needKey = p.gen, true
	}
	if m.needKey {
		if !p.keyStart {
			return
		}
		m.needKey, m.buffered = false, false
		m.dec = &rtph264.Decoder{PacketizationMode: 1}
		_ = m.dec.Init()
		if m.anyFrames && p.gen != m.lastGen {
			// A new upstream: its timestamps are unrelated to the old
			// one's. Continue from the last frame by the wall-clock time
			// between them, so presentation times never go back.
			m.pts += max((p.at-m.lastAt)*hlsClockRate/int64(time.Second), 1)
			m.lastTS, m.lastGen = p.ts, p.gen
		}
	}
	au, err := m.dec.Decode(&rtp.Packet{
		Header:  rtp.Header{Version: 2, Marker: p.marker, SequenceNumber: p.seq, Timestamp: p.ts},
		Payload: p.payload,
	})
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded):
		m.buffered, m.bufTS = true, p.ts
		return
	case err != nil:
		m.r.m.packetDrops.WithLabelValues("hls_depacketize").Inc()
		m.needKey, m.buffered = true, false
		return
	}
	auTS := p.ts
	if m.buffered && m.bufTS != p.ts {
		// The decoder ended the buffered frame on p's new timestamp and
		// keeps p: its frame is the buffered one.
		auTS, m.bufTS = m.bufTS, p.ts
	} else {
		m.buffered = false
	}
	m.write(au, auTS, p.at)
}

// write hands one access unit to the gohlslib muxer, making that muxer at
// the first access unit with an IDR, SPS and PPS.
func (m *hlsMuxer) write(au [][]byte, ts uint32, at int64) {
	sps, pps, idr := paramSets(au)
	if m.mux == nil {
		if sps == nil || pps == nil || !idr {
			return
		}
		m.track = &gohlslib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}, ClockRate: hlsClockRate}
		mux := &gohlslib.Muxer{
			Tracks:             []*gohlslib.Track{m.track},
			Variant:            gohlslib.MuxerVariantLowLatency,
			SegmentCount:       hlsSegmentCount,
			SegmentMinDuration: hlsSegmentMinDur,
			PartMinDuration:    hlsPartMinDur,
			SegmentMaxSize:     hlsSegmentMaxSize,
			OnEncodeError: func(error) {
				if !m.quiescing {
					m.r.m.packetDrops.WithLabelValues("hls_encode").Inc()
				}
			},
		}
		if err := mux.Start(); err != nil {
			m.r.log.Warn("start HLS muxer", "camera_id", m.cam.id, "err", err)
			m.needKey = true
			return
		}
		m.mux = mux
		close(m.started)
		m.r.log.Debug("HLS muxer started", "camera_id", m.cam.id)
	}
	if m.anyFrames {
		m.pts += int64(int32(ts - m.lastTS))
	}
	if idr {
		key := make([][]byte, len(au))
		for i, n := range au {
			key[i] = append([]byte(nil), n...)
		}
		m.lastKey = key
	}
	m.anyFrames, m.lastTS, m.lastAt, m.lastGen = true, ts, at, m.gen
	ntp := m.r.epoch.Add(time.Duration(at))
	if err := m.mux.WriteH264(m.track, ntp, m.pts, au); err != nil {
		m.r.m.packetDrops.WithLabelValues("hls_encode").Inc()
		m.r.log.Debug("HLS write", "camera_id", m.cam.id, "err", err)
		m.needKey = true
	}
}

// paramSets returns the SPS and PPS in au and whether it holds an IDR.
func paramSets(au [][]byte) (sps, pps []byte, idr bool) {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluSPS:
			sps = n
		case naluPPS:
			pps = n
		case naluIDR:
			idr = true
		}
	}
	return sps, pps, idr
}
