package decode

import "time"

// maxJitter is the most a picture may come early and still be wanted.
const maxJitter = 10 * time.Millisecond

// Sampler is a camera's sampling policy: which access units to feed to its
// Decoder (Feed) and which decoded pictures to hand on to the detectors
// (Want). A Sampler is used by one goroutine.
//
// When its owner changes FPS between zero and non-zero, it should also
// Reset the Decoder, so that decoding starts again at the next IDR.
type Sampler struct {
	// FPS is the rate at which pictures are wanted. 0 (the default) means
	// IDR-only: only IDR units are fed and each of their pictures is wanted.
	// Above 0 the units are fed (P-frames need their references) up to the
	// last wanted picture of a GOP, and a picture is wanted at most FPS times
	// a second of PTS.
	FPS float64

	next    time.Duration // PTS from which the next picture is wanted
	last    time.Duration // PTS of the last unit Want saw
	started bool

	// Feed's view of the GOP: the last IDR, the distances between the last
	// three (0: not known yet), the last unit, and whether the rest of this
	// GOP is being skipped.
	idr, gop, prevGOP time.Duration
	unit              time.Duration
	seenIDR           bool
	skipping          bool
}

// Feed reports whether the unit (IDR or not, with its PTS) should be
// decoded. Call it once per unit, in order, before Want. IDR units always
// are. With FPS 0 no other unit is. With FPS > 0 a P unit is, unless no
// picture left in its GOP is wanted: where the last two GOPs were as long
// as each other (within a tenth), this one is taken to be as long, and
// when the next wanted PTS falls after the last picture before the next
// IDR, the GOP's tail is skipped. At 1 picture a second from a camera with
// a 2 s GOP that is almost half of the decoding. Skipping lasts until the
// next IDR, since a P-frame after a skipped one has lost its reference: a
// GOP that grows after steady ones delays the next picture to its IDR, as
// in IDR-only mode, and a camera whose GOP varies (some "smart" codecs)
// is decoded whole.
func (s *Sampler) Feed(idr bool, pts time.Duration) bool {
	prev := s.unit
	s.unit = pts
	if idr {
		s.prevGOP = s.gop
		if s.seenIDR && pts > s.idr {
			s.gop = pts - s.idr
		} else {
			s.gop, s.prevGOP = 0, 0 // the first, or PTS went backwards: a new stream
		}
		s.idr, s.seenIDR, s.skipping = pts, true, false
		return true
	}
	if s.FPS <= 0 {
		return false
	}
	if s.skipping {
		return false
	}
	steady := s.gop > 0 && s.prevGOP > 0 && max(s.gop, s.prevGOP)-min(s.gop, s.prevGOP) <= s.gop/10
	if !steady || !s.started || pts <= prev || pts < s.idr {
		return true
	}
	interval := time.Duration(float64(time.Second) / s.FPS)
	// The last picture before the next IDR comes about a frame (pts-prev)
	// before it; half a frame of margin allows for jitter.
	lastBefore := s.idr + s.gop - (pts-prev)/2
	if s.next-min(interval/8, maxJitter) >= lastBefore {
		s.skipping = true
		return false
	}
	return true
}

// Want reports whether the picture of the unit (IDR or not, with its PTS)
// should be handed on. Call it once per unit, in order. In IDR-only mode it
// is true exactly for IDR units; with FPS > 0 it is true for the first unit
// and then whenever 1/FPS of PTS has passed since the last wanted one
// (allowing an eighth of that interval of jitter, at most 10 ms). A PTS that goes backwards,
// as after a reconnect, starts the sampling afresh.
func (s *Sampler) Want(idr bool, pts time.Duration) bool {
	if s.FPS <= 0 {
		s.started = false
		return idr
	}
	interval := time.Duration(float64(time.Second) / s.FPS)
	restart := !s.started || pts < s.last
	s.started, s.last = true, pts
	if !restart && pts+min(interval/8, maxJitter) < s.next {
		return false
	}
	s.next += interval
	if restart || s.next <= pts {
		// First picture, a restart, or behind by more than an interval
		// (a gap in the stream): count from this picture.
		s.next = pts + interval
	}
	return true
}
