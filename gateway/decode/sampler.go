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
	// Above 0 every unit is fed (P-frames need their references) and a
	// picture is wanted at most FPS times a second of PTS.
	FPS float64

	next    time.Duration // PTS from which the next picture is wanted
	last    time.Duration // PTS of the last unit seen
	started bool
}

// Feed reports whether a unit should be decoded: every unit when FPS > 0,
// only IDR units when FPS is 0.
func (s *Sampler) Feed(idr bool) bool {
	return idr || s.FPS > 0
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
