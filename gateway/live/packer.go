package live

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
)

// Packetization settings.
const (
	// MaxPayload is the largest RTP payload sent: larger NAL units are
	// fragmented (FU-A). 1200 bytes leave room for the RTP, SRTP, UDP and IP
	// headers and a TURN relay within a 1280-byte IPv6 path MTU.
	MaxPayload = 1200
	// clockRate is the RTP clock of H.264 video.
	clockRate = 90000
	// maxForwardJump: a unit whose timestamp runs further ahead of the wall
	// clock than this is a discontinuity.
	maxForwardJump = 5 * time.Second
	// maxGap caps the timestamp step over a discontinuity.
	maxGap = 5 * time.Second
	// newSessionGap: a backward timestamp after at least this much wall
	// time is a new camera session (reconnect): its first units until an
	// IDR refer to pictures the viewer never had, so they are skipped.
	newSessionGap = 300 * time.Millisecond
)

// H.264 NAL unit types (ITU-T H.264 table 7-1).
const (
	naluIDR = 5
	naluSPS = 7
	naluPPS = 8
	naluAUD = 9
)

// packer turns access units into RTP packets: parameter sets before every
// IDR, pion's H.264 payloader (single NAL unit packets and FU-A, no STAP-A),
// the marker on the last packet of a unit, 90 kHz timestamps that never go
// backwards. It is used by one goroutine.
type packer struct {
	pay    codecs.H264Payloader
	seq    uint16
	tsBase uint32

	have    bool
	offset  int64 // ticks added to the unit's PTS
	last    int64 // ticks of the last unit, relative to tsBase
	lastNTP time.Time

	waitKey bool // skip units until the next IDR

	// counters
	units, packets, bytes, keyframes, skipped, discontinuities, paramsAdded uint64
}

func newPacker(seq uint16, tsBase uint32) *packer {
	return &packer{pay: codecs.H264Payloader{DisableStapA: true}, seq: seq, tsBase: tsBase, waitKey: true}
}

// ticks converts a duration to the 90 kHz clock.
func ticks(d time.Duration) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return sec*clockRate + rem*clockRate/int64(time.Second)
}

// timestamp places au on the outgoing timeline and reports whether it
// starts a new camera session.
func (p *packer) timestamp(au camera.AccessUnit) (ts int64, newSession bool) {
	t := p.offset + ticks(au.PTS)
	if p.have {
		var wall int64
		if !au.NTP.IsZero() && !p.lastNTP.IsZero() {
			wall = ticks(au.NTP.Sub(p.lastNTP))
		}
		if t <= p.last || t-p.last > max(wall, 0)+ticks(maxForwardJump) {
			step := min(max(wall, 1), ticks(maxGap))
			p.offset += p.last + step - t
			t = p.last + step
			p.discontinuities++
			newSession = wall >= ticks(newSessionGap)
		}
	}
	p.have, p.last, p.lastNTP = true, t, au.NTP
	return t, newSession
}

// pack returns the RTP packets of au, or nil when au is skipped (before
// the first IDR, or after a gap until the next IDR). params gives the
// current SPS and PPS, called only for an IDR that lacks them.
func (p *packer) pack(au camera.AccessUnit, params func() (sps, pps []byte)) []*rtp.Packet {
	ts, newSession := p.timestamp(au)
	if newSession {
		p.waitKey = true
	}
	idr, hasSPS, hasPPS := scan(au.NALUs)
	if p.waitKey && !idr {
		p.skipped++
		return nil
	}
	p.waitKey = false

	nalus := au.NALUs
	if idr && (!hasSPS || !hasPPS) {
		if sps, pps := params(); len(sps) > 0 && len(pps) > 0 {
			nalus = withParams(au.NALUs, sps, pps)
			p.paramsAdded++
		}
	}

	var payloads [][]byte
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		payloads = append(payloads, p.pay.Payload(MaxPayload, n)...)
	}
	if len(payloads) == 0 {
		p.skipped++
		return nil
	}
	pkts := make([]*rtp.Packet, len(payloads))
	for i, pl := range payloads {
		pkts[i] = &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == len(payloads)-1,
				SequenceNumber: p.seq,
				Timestamp:      p.tsBase + uint32(ts),
			},
			Payload: pl,
		}
		p.seq++
		p.bytes += uint64(len(pl))
	}
	p.units++
	p.packets += uint64(len(pkts))
	if idr {
		p.keyframes++
	}
	return pkts
}

// scan reports whether nalus hold an IDR slice, an SPS and a PPS.
func scan(nalus [][]byte) (idr, sps, pps bool) {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluIDR:
			idr = true
		case naluSPS:
			sps = true
		case naluPPS:
			pps = true
		}
	}
	return idr, sps, pps
}

// withParams returns nalus as [AUD,] SPS, PPS, the rest (dropping partial
// in-band parameter sets), without touching nalus, which are shared.
func withParams(nalus [][]byte, sps, pps []byte) [][]byte {
	out := make([][]byte, 0, len(nalus)+2)
	rest := nalus
	if len(nalus) > 0 && len(nalus[0]) > 0 && nalus[0][0]&0x1f == naluAUD {
		out = append(out, nalus[0])
		rest = nalus[1:]
	}
	out = append(out, sps, pps)
	for _, n := range rest {
		if len(n) > 0 {
			if t := n[0] & 0x1f; t == naluSPS || t == naluPPS {
				continue
			}
		}
		out = append(out, n)
	}
	return out
}
