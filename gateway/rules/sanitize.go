package rules

import (
	"math"
	"unicode/utf8"
)

// Detection is one thing a plugin saw in a frame.
type Detection struct {
	// Plugin is the name of the plugin that reported it.
	Plugin string
	// Label is what was seen, e.g. "no_mask", "motion", "camera_occluded".
	Label string
	// Score is the plugin's confidence, 0..1.
	Score float64
	// Box is where, normalised.
	Box Box
	// TrackID follows one object across frames, if the plugin tracks.
	TrackID string
	// Attrs are extra facts from the plugin.
	Attrs map[string]string
}

// Limits on detections from plugins.
const (
	// MaxDetections is the most detections of one frame the rules look at;
	// the rest are dropped and counted.
	MaxDetections = 256
	// BoxEpsilon is how far outside 0..1 a box edge may stray (rounding in
	// a plugin) before the detection is refused; kept boxes are clamped.
	BoxEpsilon = 1e-6

	maxTrackID   = 128
	maxAttrs     = 32
	maxAttrKey   = 64
	maxAttrValue = 256
)

// Sanitize returns the well-formed detections of one frame and how many it
// dropped. A detection is dropped when its score or box is NaN or infinite,
// its score is outside 0..1, its box is not inside 0..1 (give or take
// BoxEpsilon) or has a negative size, its label is empty, not text, or not in
// allowed (when allowed is not nil: the labels the rules use and the plugins
// declared), or its track id or attrs are oversized; past MaxDetections
// good ones, the rest are dropped too. Kept boxes are clamped to 0..1. ds is
// not modified; kept shares the Attrs maps of ds.
func Sanitize(ds []Detection, allowed map[string]bool) (kept []Detection, dropped int) {
	if len(ds) == 0 {
		return nil, 0
	}
	kept = make([]Detection, 0, min(len(ds), MaxDetections))
	for _, d := range ds {
		if len(kept) == MaxDetections || !wellFormed(&d, allowed) {
			dropped++
			continue
		}
		d.Box = clampBox(d.Box)
		kept = append(kept, d)
	}
	return kept, dropped
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func wellFormed(d *Detection, allowed map[string]bool) bool {
	b := d.Box
	switch {
	case !finite(d.Score, b.X, b.Y, b.W, b.H):
		return false
	case d.Score < 0 || d.Score > 1:
		return false
	case b.W < 0 || b.H < 0 || b.X < -BoxEpsilon || b.Y < -BoxEpsilon ||
		b.X+b.W > 1+BoxEpsilon || b.Y+b.H > 1+BoxEpsilon:
		return false
	case !validLabel(d.Label):
		return false
	case allowed != nil && !allowed[d.Label]:
		return false
	case len(d.Plugin) > 64 || len(d.TrackID) > maxTrackID || !utf8.ValidString(d.TrackID):
		return false
	case len(d.Attrs) > maxAttrs:
		return false
	}
	for k, v := range d.Attrs {
		if len(k) > maxAttrKey || len(v) > maxAttrValue || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

func clamp01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

// clampBox pulls a box that strays by rounding back inside 0..1.
func clampBox(b Box) Box {
	x, y := clamp01(b.X), clamp01(b.Y)
	return Box{X: x, Y: y, W: math.Min(b.W, 1-x), H: math.Min(b.H, 1-y)}
}
