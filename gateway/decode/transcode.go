package decode

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// TranscodeOptions are a Transcoder's settings. The zero value of each
// field means its default.
type TranscodeOptions struct {
	// MaxWidth and MaxHeight bound the output picture: a larger one is
	// scaled down to fit, keeping its aspect ratio, with even sides. 0 (the
	// default) keeps that side's size; otherwise 16 to 8192. Live view uses
	// 1280x720: see LiveTranscodeOptions.
	MaxWidth, MaxHeight int
	// Bitrate is the encoder's average and peak rate in bits/s, with a one
	// second buffer. Default 1_500_000; 16_000 to 100_000_000.
	Bitrate int
	// GOP is the interval between IDR pictures. Default 2 s; at least one
	// picture.
	GOP time.Duration
	// FPS is the nominal frame rate: the encoder counts pictures in 1/FPS
	// units, for its rate control and GOP, whatever their PTS. Set it to the
	// camera's rate. Default 25; 1 to 240.
	FPS int
	// Threads is the number of encoder threads, each encoding a slice of
	// every picture (no added delay). Default 1 (one slice per picture);
	// 1 to 16. More threads finish a picture sooner on a slow CPU, at a
	// little more CPU time.
	Threads int
}

// Transcoder defaults and limits.
const (
	DefaultTranscodeBitrate = 1_500_000
	DefaultTranscodeGOP     = 2 * time.Second
	DefaultTranscodeFPS     = 25

	minTranscodeSide    = 16
	maxTranscodeSide    = 8192
	minTranscodeBitrate = 16_000
	maxTranscodeBitrate = 100_000_000
	maxTranscodeFPS     = 240
	maxTranscodeThreads = 16
	maxTranscodeGOP     = 1 << 16 // pictures
)

// LiveTranscodeOptions are the settings for live view: at most 1280x720,
// the default rate and GOP, at fps (the camera's frame rate; 0 for the
// default).
func LiveTranscodeOptions(fps int) TranscodeOptions {
	return TranscodeOptions{MaxWidth: 1280, MaxHeight: 720, FPS: fps}
}

// withDefaults fills in the defaults and checks the settings. gop is the
// GOP in pictures.
func (o TranscodeOptions) withDefaults() (_ TranscodeOptions, gop int, err error) {
	if o.Bitrate == 0 {
		o.Bitrate = DefaultTranscodeBitrate
	}
	if o.GOP == 0 {
		o.GOP = DefaultTranscodeGOP
	}
	if o.FPS == 0 {
		o.FPS = DefaultTranscodeFPS
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	for _, s := range []struct {
		name string
		v    int
	}{{"MaxWidth", o.MaxWidth}, {"MaxHeight", o.MaxHeight}} {
		if s.v != 0 && (s.v < minTranscodeSide || s.v > maxTranscodeSide) {
			return o, 0, fmt.Errorf("transcode options: %s %d: must be 0 or %d to %d", s.name, s.v, minTranscodeSide, maxTranscodeSide)
		}
	}
	switch {
	case o.Bitrate < minTranscodeBitrate || o.Bitrate > maxTranscodeBitrate:
		return o, 0, fmt.Errorf("transcode options: Bitrate %d: must be %d to %d bits/s", o.Bitrate, minTranscodeBitrate, maxTranscodeBitrate)
	case o.FPS < 1 || o.FPS > maxTranscodeFPS:
		return o, 0, fmt.Errorf("transcode options: FPS %d: must be 1 to %d", o.FPS, maxTranscodeFPS)
	case o.Threads < 1 || o.Threads > maxTranscodeThreads:
		return o, 0, fmt.Errorf("transcode options: Threads %d: must be 1 to %d", o.Threads, maxTranscodeThreads)
	case o.GOP < 0:
		return o, 0, fmt.Errorf("transcode options: GOP %v: must not be negative", o.GOP)
	}
	g := math.Round(o.GOP.Seconds() * float64(o.FPS))
	return o, int(min(max(g, 1), maxTranscodeGOP)), nil
}

// EncodedUnit is one H.264 access unit out of a Transcoder.
type EncodedUnit struct {
	// NALUs are the unit's NAL units without start codes. An IDR unit
	// starts with SPS and PPS. They belong to the caller.
	NALUs [][]byte
	// PTS is the PTS of the input unit the picture came from.
	PTS time.Duration
	// IDR is true when the unit holds an IDR slice.
	IDR bool
}

// TranscodeStats are a transcoder's running counters.
type TranscodeStats struct {
	// In counts the units fed to Transcode.
	In uint64
	// Skipped counts non-IDR units dropped while waiting for an IDR: at the
	// start, after a corrupt unit or a restart of the PTS.
	Skipped uint64
	// Decoded counts pictures that came out of the decoder.
	Decoded uint64
	// Encoded counts H.264 units returned, Keyframes the IDR units among
	// them.
	Encoded, Keyframes uint64
	// Corrupt counts units that did not transcode (each returned an error
	// wrapping ErrCorrupt).
	Corrupt uint64
}

// H.264 NAL unit types.
const (
	naluIDR = 5
	naluSPS = 7
	naluPPS = 8
	naluAUD = 9
)

// splitAnnexB splits an Annex-B byte stream into NAL units, without start
// codes or trailing zero bytes. The units share b, each capped at its end.
func splitAnnexB(b []byte) [][]byte {
	startCode := []byte{0, 0, 1}
	i := bytes.Index(b, startCode)
	if i < 0 {
		return nil
	}
	var out [][]byte
	for start := i + 3; ; {
		j := bytes.Index(b[start:], startCode)
		end := len(b)
		if j >= 0 {
			end = start + j
		}
		n := b[start:end]
		for len(n) > 0 && n[len(n)-1] == 0 {
			n = n[:len(n)-1]
		}
		if len(n) > 0 {
			out = append(out, n[:len(n):len(n)])
		}
		if j < 0 {
			return out
		}
		start = end + 3
	}
}

// paramSets remembers the last H.264 SPS and PPS an encoder put out, and
// puts them before IDR units that lack them.
type paramSets struct {
	sps, pps []byte
}

// reset forgets the parameter sets (a new encoder), then takes those of
// extra (an encoder's Annex-B extradata), if any.
func (p *paramSets) reset(extra []byte) {
	p.sps, p.pps = nil, nil
	p.scan(splitAnnexB(extra))
}

// scan remembers the parameter sets of nalus and reports whether it holds
// an IDR slice, an SPS and a PPS.
func (p *paramSets) scan(nalus [][]byte) (idr, sps, pps bool) {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluIDR:
			idr = true
		case naluSPS:
			sps = true
			p.sps = bytes.Clone(n)
		case naluPPS:
			pps = true
			p.pps = bytes.Clone(n)
		}
	}
	return idr, sps, pps
}

// unit makes an EncodedUnit of an encoder's Annex-B packet (which it
// keeps), with SPS and PPS in front of an IDR that lacks them.
func (p *paramSets) unit(pkt []byte, pts time.Duration) EncodedUnit {
	nalus := splitAnnexB(pkt)
	idr, sps, pps := p.scan(nalus)
	if idr && (!sps || !pps) && p.sps != nil && p.pps != nil {
		nalus = p.withParams(nalus)
	}
	return EncodedUnit{NALUs: nalus, PTS: pts, IDR: idr}
}

// withParams returns nalus with its SPS and PPS replaced by the remembered
// ones, after any access unit delimiter.
func (p *paramSets) withParams(nalus [][]byte) [][]byte {
	out := make([][]byte, 0, len(nalus)+2)
	i := 0
	for ; i < len(nalus) && len(nalus[i]) > 0 && nalus[i][0]&0x1f == naluAUD; i++ {
		out = append(out, nalus[i])
	}
	out = append(out, bytes.Clone(p.sps), bytes.Clone(p.pps))
	for _, n := range nalus[i:] {
		if len(n) > 0 && (n[0]&0x1f == naluSPS || n[0]&0x1f == naluPPS) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// ptsQueue maps the encoder's picture numbers back to input PTS. With no
// B-frames and no lookahead a picture comes out of the call that put it in,
// so the queue holds one entry; it is bounded in case an encoder drops
// pictures.
type ptsQueue struct {
	q []queuedPTS
}

type queuedPTS struct {
	n   int64
	pts time.Duration
}

const maxQueuedPTS = 64

func (q *ptsQueue) push(n int64, pts time.Duration) {
	if len(q.q) == maxQueuedPTS {
		q.q = append(q.q[:0], q.q[1:]...)
	}
	q.q = append(q.q, queuedPTS{n, pts})
}

// pop returns the PTS of picture n, forgetting it and any before it; ok is
// false when it is not queued.
func (q *ptsQueue) pop(n int64) (pts time.Duration, ok bool) {
	i := 0
	for i < len(q.q) && q.q[i].n < n {
		i++
	}
	if i < len(q.q) && q.q[i].n == n {
		pts, ok = q.q[i].pts, true
		i++
	}
	q.q = append(q.q[:0], q.q[i:]...)
	return pts, ok
}
