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
// writes them to a gohlslib Muxer (standard HLS, fMP4 segments, no parts
// and no preload hints), whose playlists and segments every HLS session of
// the camera is served from. Not LL-HLS: in gohlslib v2.2.0 the handler of
// an LL-HLS preload hint returns holding the stream's mutex when the muxer
// is closed while it waits, which hangs every other request in that muxer;
// the standard variant's one blocking wait (a playlist request before the
// first two segments are complete) unlocks on close. Segments are cut at
// keyframes once hlsSegmentMinDur has passed, so a segment lasts about one
// GOP. The gohlslib muxer is made at the first keyframe that carries SPS
// and PPS (the gateway puts them before every IDR). Memory is bounded by
// gohlslib's window: hlsSegmentCount segments of at most hlsSegmentMaxSize
// each, plus the one being written.
const (
	hlsSegmentCount   = 7 // gohlslib's default; it allows 3 and more
	hlsSegmentMinDur  = time.Second
	hlsSegmentMaxSize = 6 << 20
	hlsClockRate      = 90000
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
}

// newHLSMuxerLocked starts c's HLS muxer. Relay.mu must be held.
func (r *Relay) newHLSMuxerLocked(c *camera) *hlsMuxer {
	m := &hlsMuxer{
		r: r, cam: c,
		notify:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		started: make(chan struct{}),
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

// close stops the feeding goroutine and closes the gohlslib muxer, which
// wakes the requests waiting in it.
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
	if m.mux == nil {
		sps, pps, idr := paramSets(au)
		if sps == nil || pps == nil || !idr {
			return
		}
		m.track = &gohlslib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}, ClockRate: hlsClockRate}
		mux := &gohlslib.Muxer{
			Tracks:             []*gohlslib.Track{m.track},
			Variant:            gohlslib.MuxerVariantFMP4,
			SegmentCount:       hlsSegmentCount,
			SegmentMinDuration: hlsSegmentMinDur,
			SegmentMaxSize:     hlsSegmentMaxSize,
			OnEncodeError: func(error) {
				m.r.m.packetDrops.WithLabelValues("hls_encode").Inc()
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
