package decode

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Codec is a video codec, spelt as package camera spells it.
type Codec string

// Codecs.
const (
	CodecH264 Codec = "H264"
	CodecH265 Codec = "H265"
)

// MaxAccessUnitSize is the largest access unit Decode accepts, in bytes
// including the start codes it adds; a larger one is rejected as corrupt.
const MaxAccessUnitSize = 16 << 20

// annexBSize sizes an access unit for libavcodec: its non-empty NAL units, each
// after a 4-byte start code. It returns the size, or why the unit is
// refused (no bytes at all; larger than MaxAccessUnitSize, counting stops
// there).
func annexBSize(nalus [][]byte) (n int, refused string) {
	empty := true
	for _, nalu := range nalus {
		if len(nalu) > 0 {
			n += 4 + len(nalu)
			empty = false
			if n > MaxAccessUnitSize {
				return n, fmt.Sprintf("access unit larger than %d bytes", MaxAccessUnitSize)
			}
		}
	}
	if empty {
		return 0, "empty access unit"
	}
	return n, ""
}

// putAnnexB writes nalus into buf (annexBSize's size) with their start codes.
func putAnnexB(buf []byte, nalus [][]byte) {
	off := 0
	for _, nalu := range nalus {
		if len(nalu) > 0 {
			off += copy(buf[off:], []byte{0, 0, 0, 1})
			off += copy(buf[off:], nalu)
		}
	}
}

// PixFmt is the pixel format of a Frame.
type PixFmt int

// Pixel formats, all 8 bits per sample and tightly packed.
const (
	// GRAY8 is luma only: Width*Height bytes.
	GRAY8 PixFmt = iota + 1
	// I420 is planar YUV 4:2:0: the Y plane, then U and V at half width and
	// height. Scale makes I420 frames of even width and height.
	I420
	// RGB24 is packed R, G, B: Width*Height*3 bytes.
	RGB24
)

// String returns the format's name, as in the plugin protocol.
func (p PixFmt) String() string {
	switch p {
	case GRAY8:
		return "GRAY8"
	case I420:
		return "I420"
	case RGB24:
		return "RGB24"
	}
	return fmt.Sprintf("PixFmt(%d)", int(p))
}

// Size is the number of bytes of a tightly packed w x h picture in p, or
// -1 for an unknown format or a negative size.
func (p PixFmt) Size(w, h int) int {
	if w < 0 || h < 0 {
		return -1
	}
	switch p {
	case GRAY8:
		return w * h
	case I420:
		cw, ch := (w+1)/2, (h+1)/2
		return w*h + 2*cw*ch
	case RGB24:
		return 3 * w * h
	}
	return -1
}

// Frame is a scaled picture.
type Frame struct {
	Width, Height int
	Format        PixFmt
	// Data is the picture, tightly packed (no stride padding): see
	// PixFmt.Size. It belongs to whoever called Scale.
	Data []byte
	// PTS is the presentation time of the access unit the picture came from.
	PTS time.Duration
}

// Stats are a decoder's running counters.
type Stats struct {
	// Decoded counts pictures that came out of the decoder.
	Decoded uint64
	// Corrupt counts access units that did not decode (each returned an
	// error wrapping ErrCorrupt).
	Corrupt uint64
	// Skipped counts non-IDR units dropped while waiting for an IDR: at the
	// start, after a corrupt unit, after Reset or a restart of the PTS.
	Skipped uint64
}

// fit returns the size of a srcW x srcH picture scaled down, keeping its
// aspect ratio, to fit within maxW x maxH (0 means no limit). It never
// scales up. even rounds both sides down to even numbers (for I420).
func fit(srcW, srcH, maxW, maxH int, even bool) (w, h int) {
	w, h = srcW, srcH
	if maxW > 0 && w > maxW {
		// h * maxW / w, rounded to nearest.
		h, w = (h*maxW*2+w)/(2*w), maxW
	}
	if maxH > 0 && h > maxH {
		w, h = (w*maxH*2+h)/(2*h), maxH
	}
	if even {
		w, h = w&^1, h&^1
		w, h = max(w, 2), max(h, 2)
	}
	return max(w, 1), max(h, 1)
}

// IsRandomAccess reports whether an access unit (NAL units without start
// codes) holds an H.264 IDR slice or an H.265 IRAP slice (BLA, IDR or CRA):
// a point where decoding can start.
func IsRandomAccess(codec Codec, nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		if codec == CodecH265 {
			if t := (n[0] >> 1) & 0x3f; t >= 16 && t <= 21 {
				return true
			}
		} else if n[0]&0x1f == 5 {
			return true
		}
	}
	return false
}

// gate is the input side that Decoder and Transcoder share. A unit must
// fit (annexBSize, checked by the owner before its lock); a PTS that goes
// backwards is a new camera session, so the owner's codec is flushed; and
// after a flush or at the start units are skipped, and counted, until a
// random-access one. Its methods run under the owner's lock.
type gate struct {
	codec   Codec
	flush   func() // the owner's codec flush
	needIDR bool   // skip units until a random-access one
	fed     bool   // a unit was fed since the start or Reset
	lastPTS time.Duration
	skipped atomic.Uint64
}

func (g *gate) init(codec Codec, flush func()) {
	g.codec, g.flush, g.needIDR = codec, flush, true
}

// admit reports whether the unit goes to the codec; a false one is skipped.
func (g *gate) admit(nalus [][]byte, pts time.Duration) bool {
	if g.fed && pts < g.lastPTS {
		g.restart()
	}
	g.fed, g.lastPTS = true, pts
	if g.needIDR && !IsRandomAccess(g.codec, nalus) {
		g.skipped.Add(1)
		return false
	}
	return true
}

// took records that the codec accepted a unit: the reference is there.
func (g *gate) took() { g.needIDR = false }

// restart flushes the codec: decoding starts again at a random-access unit.
func (g *gate) restart() {
	g.flush()
	g.needIDR = true
}
