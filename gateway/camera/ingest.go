package camera

import (
	"bytes"
	"errors"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"
)

// rtpDecoder is what rtph264.Decoder and rtph265.Decoder have in common.
type rtpDecoder interface {
	Decode(pkt *rtp.Packet) ([][]byte, error)
}

// track is the video track a session reads.
type track struct {
	media     *description.Media
	format    format.Format
	decoder   rtpDecoder
	clockRate int64
	params    Media // from the SDP
}

// pickTrack chooses the first H.264 track, else the first H.265 one.
func pickTrack(desc *description.Session) (*track, error) {
	var f264 *format.H264
	if medi := desc.FindFormat(&f264); medi != nil {
		dec, err := f264.CreateDecoder()
		if err != nil {
			return nil, err
		}
		sps, pps := f264.SafeParams()
		m := Media{Codec: CodecH264, SPS: clone(sps), PPS: clone(pps)}
		m.Width, m.Height = dimensions(CodecH264, m.SPS)
		return &track{media: medi, format: f264, decoder: dec, clockRate: int64(f264.ClockRate()), params: m}, nil
	}
	var f265 *format.H265
	if medi := desc.FindFormat(&f265); medi != nil {
		dec, err := f265.CreateDecoder()
		if err != nil {
			return nil, err
		}
		vps, sps, pps := f265.SafeParams()
		m := Media{Codec: CodecH265, VPS: clone(vps), SPS: clone(sps), PPS: clone(pps)}
		m.Width, m.Height = dimensions(CodecH265, m.SPS)
		return &track{media: medi, format: f265, decoder: dec, clockRate: int64(f265.ClockRate()), params: m}, nil
	}
	return nil, ErrNoVideo
}

// dimensions parses an SPS; zeros when it does not parse. The parsers read
// camera input, so a panic in one is a bad SPS, not a crash.
func dimensions(codec string, sps []byte) (w, h int) {
	if len(sps) == 0 {
		return 0, 0
	}
	defer func() {
		if recover() != nil {
			w, h = 0, 0
		}
	}()
	switch codec {
	case CodecH264:
		var p h264.SPS
		if p.Unmarshal(sps) == nil {
			return p.Width(), p.Height()
		}
	case CodecH265:
		var p h265.SPS
		if p.Unmarshal(sps) == nil {
			return p.Width(), p.Height()
		}
	}
	return 0, 0
}

// ingest turns one session's RTP packets into access units. onPacket runs
// on the client's reader goroutine only.
type ingest struct {
	src    *Source
	track  *track
	client *gortsplib.Client
	// the unit the decoder holds: open, its RTP timestamp and its PTS
	open    bool
	openTS  uint32
	openPTS int64
	frames  atomic.Uint64
}

func isMorePackets(err error) bool {
	return errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrMorePacketsNeeded)
}

func isNonStarting(err error) bool {
	return errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) ||
		errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious)
}

func (in *ingest) onPacket(pkt *rtp.Packet) {
	pts, ok := in.client.PacketPTS(in.track.media, pkt)
	if !ok {
		return // no timing yet (the first packet was not decodable in order)
	}
	nalus, err := in.track.decoder.Decode(pkt)
	switch {
	case err == nil:
		unitPTS := pts
		if in.open && in.openTS != pkt.Timestamp {
			// The decoder split on a timestamp change (cameras that do not
			// set the marker bit): what it returned is the unit it held,
			// and it now holds this packet, even if this one has the marker.
			unitPTS = in.openPTS
			in.openTS, in.openPTS = pkt.Timestamp, pts
		} else {
			in.open = false
		}
		in.deliver(nalus, unitPTS)
	case isMorePackets(err):
		// A unit is being assembled. If one with another timestamp is
		// already held (a fragment of the next unit arrived before the held
		// one was split off), it keeps its place.
		if !in.open {
			in.open, in.openTS, in.openPTS = true, pkt.Timestamp, pts
		}
	case isNonStarting(err):
		// joined mid-unit, or after a loss: normal, and counted as lost
	default:
		in.src.decodeErrors.Add(1)
	}
}

// ptsDuration converts a PTS in clock-rate units without overflowing for
// long sessions.
func ptsDuration(pts, clockRate int64) time.Duration {
	if clockRate <= 0 {
		return 0
	}
	sec, rem := pts/clockRate, pts%clockRate
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(clockRate)
}

// Kinds of NALU the ingest cares about.
const (
	kindOther = iota
	kindVPS
	kindSPS
	kindPPS
	kindAUD
	kindRandomAccess
)

func naluKind(codec string, nalu []byte) int {
	if len(nalu) == 0 {
		return kindOther
	}
	if codec == CodecH264 {
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			return kindSPS
		case h264.NALUTypePPS:
			return kindPPS
		case h264.NALUTypeAccessUnitDelimiter:
			return kindAUD
		case h264.NALUTypeIDR:
			return kindRandomAccess
		}
		return kindOther
	}
	switch h265.NALUType((nalu[0] >> 1) & 0x3f) {
	case h265.NALUType_VPS_NUT:
		return kindVPS
	case h265.NALUType_SPS_NUT:
		return kindSPS
	case h265.NALUType_PPS_NUT:
		return kindPPS
	case h265.NALUType_AUD_NUT:
		return kindAUD
	case h265.NALUType_IDR_W_RADL, h265.NALUType_IDR_N_LP, h265.NALUType_CRA_NUT:
		return kindRandomAccess
	}
	return kindOther
}

// deliver updates the parameter sets from in-band copies, completes a
// random-access unit with missing parameter sets, copies the unit into
// memory of its own, and hands it to the health window, the GOP cache and
// the subscribers.
func (in *ingest) deliver(nalus [][]byte, pts int64) {
	if len(nalus) == 0 {
		return
	}
	s := in.src
	codec := in.track.params.Codec
	now := time.Now()

	var vps, sps, pps []byte
	idr := false
	for _, n := range nalus {
		switch naluKind(codec, n) {
		case kindVPS:
			vps = n
		case kindSPS:
			sps = n
		case kindPPS:
			pps = n
		case kindRandomAccess:
			idr = true
		}
	}

	s.mu.Lock()
	m := &s.media
	if vps != nil && !bytes.Equal(vps, m.VPS) {
		m.VPS = clone(vps)
	}
	if pps != nil && !bytes.Equal(pps, m.PPS) {
		m.PPS = clone(pps)
	}
	if sps != nil && !bytes.Equal(sps, m.SPS) {
		m.SPS = clone(sps)
		m.Width, m.Height = dimensions(codec, m.SPS)
	}
	var params [][]byte
	if idr && (sps == nil || pps == nil || (codec == CodecH265 && vps == nil)) &&
		m.SPS != nil && m.PPS != nil && (codec == CodecH264 || m.VPS != nil) {
		if codec == CodecH265 {
			params = append(params, m.VPS)
		}
		params = append(params, m.SPS, m.PPS)
	}
	s.mu.Unlock()

	if params != nil {
		// rebuild as [AUD,] VPS, SPS, PPS, rest, dropping partial in-band sets
		out := make([][]byte, 0, len(nalus)+len(params))
		rest := nalus
		if naluKind(codec, nalus[0]) == kindAUD {
			out = append(out, nalus[0])
			rest = nalus[1:]
		}
		out = append(out, params...)
		for _, n := range rest {
			switch naluKind(codec, n) {
			case kindVPS, kindSPS, kindPPS:
			default:
				out = append(out, n)
			}
		}
		nalus = out
	}

	// one allocation per unit: the decoder's buffers may alias packet memory
	size := 0
	for _, n := range nalus {
		size += len(n)
	}
	buf := make([]byte, 0, size)
	own := make([][]byte, len(nalus))
	for i, n := range nalus {
		start := len(buf)
		buf = append(buf, n...)
		own[i] = buf[start:len(buf):len(buf)]
	}
	au := AccessUnit{PTS: ptsDuration(pts, in.track.clockRate), NTP: now, NALUs: own, IDR: idr}
	in.frames.Add(1)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Frames++
	s.stats.Bytes += uint64(size)
	s.lastFrame = now
	s.setOnline(true, now)
	s.win.add(now, size)
	if !s.gop.add(au) {
		s.stats.GOPOverflows++
	}
	s.fanOut(au)
}
