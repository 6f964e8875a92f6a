// Package tamper detects camera tampering and camera health problems from
// the statistics of GRAY8 (luma) frames: a covered lens (camera_occluded), a
// scene too dark to see (camera_dark), a defocused or dirty lens
// (camera_blurred) and a stuck picture (camera_frozen).
//
// It is the algorithm behind the bk-plugin-tamper detector plugin and does
// not depend on the plugin SDK. One Detector serves many cameras: each frame
// names its camera and the Detector keeps a small state per camera (the last
// downscaled frame, a sharpness history, hysteresis counters), evicting the
// least recently seen camera past MaxCameras.
//
// Every frame is first box-averaged down by an integer factor to at most 160
// pixels wide (640x360 becomes 160x90), and all statistics are measured on
// that small frame, so they do not depend on the input size and a frame
// costs well under a millisecond:
//
//	mean    mean luma (0..255)
//	std     standard deviation of luma (contrast)
//	lapvar  variance of the 4-neighbour Laplacian (sharpness)
//	diff    mean absolute difference to the camera's previous frame
//	moved   fraction of pixels that differ from the previous frame by more
//	        than MovedLevel grey levels
//
// Rules, each a condition on one frame (thresholds are Config fields, set by
// plugin params; see ParseConfig for the names and defaults):
//
//	occluded  std < OccludedStd and (mean < OccludedMean or std < UniformStd):
//	          a covered lens is black or flat
//	dark      mean < DarkMean and not occluded (a night scene still has some
//	          contrast)
//	blurred   neither occluded nor dark, and lapvar < BlurAbs, or lapvar <
//	          BlurRel x the median sharpness of the camera's recent sharp
//	          frames (after BlurHistory of them have been seen)
//	frozen    diff < FrozenDiff and moved < FrozenMoved (nothing moves, no
//	          noise beyond re-encoding jitter) on consecutive frames whose run
//	          spans at least FrozenSpan, and not occluded (a flat picture
//	          cannot tell)
//
// Frozen tolerates re-encoding jitter because the gateway decodes only IDR
// frames by default: a stuck camera re-encodes the same picture at every
// IDR, and consecutive IDRs of camsim's frozen scene differ by a mean of
// 0.7-0.8 grey levels (downscaled), a few pixels by more than 4. The
// consequence is that a perfectly still, noise-free scene (camsim's empty
// kitchen, whose sensor noise the encoder removes) reads as frozen too:
// stillness and a stuck picture cannot be told apart from one frame per
// GOP. Restrict camera_frozen to operating hours in the rules, or lower
// frozen_diff where cameras are decoded at full rate.
//
// Hysteresis: a condition must hold on Hysteresis consecutive frames before
// its label is reported, and a reported label stays until the condition has
// been clear for Hysteresis consecutive frames, so one dim moment is not an
// alarm and one bright moment does not end one. For frozen the run spanning
// FrozenSpan is the entry test (and must also contain Hysteresis frames).
package tamper

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Labels reported by the Detector (SPEC.md §2 camera health types).
const (
	LabelOccluded = "camera_occluded"
	LabelDark     = "camera_dark"
	LabelBlurred  = "camera_blurred"
	LabelFrozen   = "camera_frozen"
)

// Labels lists every label the Detector reports, in report order.
var Labels = []string{LabelOccluded, LabelDark, LabelBlurred, LabelFrozen}

// TargetWidth is the widest frame the statistics are measured on.
const TargetWidth = 160

// DefaultMaxCameras is the number of cameras whose state is kept when
// Detector.MaxCameras is zero.
const DefaultMaxCameras = sdk.DefaultMaxCameras

// MovedLevel is the difference (grey levels, downscaled) above which a
// pixel counts as moved in Stats.Moved.
const MovedLevel = 4

// MaxDimension bounds the width and height of an accepted frame.
const MaxDimension = 8192

// Errors returned for bad frames.
var (
	ErrSize = errors.New("tamper: bad frame size")
)

// Stats are the statistics measured on one (downscaled) frame.
type Stats struct {
	Mean   float64 // mean luma
	Std    float64 // standard deviation of luma
	LapVar float64 // variance of the Laplacian
	// Diff is the mean absolute difference to the previous frame of the
	// same camera, and Moved the fraction of pixels that differ by more than
	// MovedLevel; both are -1 when there is no previous frame.
	Diff  float64
	Moved float64
}

// Result is one reported condition.
type Result struct {
	Label string
	Score float64 // confidence 0.5..1
	Stats Stats
	// Median is the camera's median sharpness used by the blur rule (0
	// while the history is too short).
	Median float64
}

// Detector keeps per-camera state and applies the rules. The zero value is
// ready to use; it is safe for concurrent use (frames of one camera are
// processed one at a time, frames of different cameras in parallel).
type Detector struct {
	// MaxCameras bounds the cameras tracked; the least recently seen one is
	// forgotten past it. Zero means DefaultMaxCameras.
	MaxCameras int

	once sync.Once
	cams sdk.Cameras[camera]
}

type camera struct {
	mu sync.Mutex
	state
}

// state is what a camera forgets when its stream changes size.
type state struct {
	w, h int    // downscaled size of prev
	prev []byte // previous downscaled frame, nil before the first

	sharp []float64 // ring of recent sharp lapvar values
	next  int       // next slot in sharp

	frozenSince time.Time // capture time of the first frame of the static run
	frozenRun   int       // static comparisons in the run
	lastAt      time.Time

	hyst [4]hysteresis // indexed like Labels
}

type hysteresis struct {
	active bool
	hits   int
	clears int
}

// update feeds one frame's condition and reports whether the label is on.
func (h *hysteresis) update(cond bool, k int) bool {
	if cond {
		h.hits++
		h.clears = 0
		if h.hits >= k {
			h.active = true
		}
	} else {
		h.clears++
		h.hits = 0
		if h.clears >= k {
			h.active = false
		}
	}
	return h.active
}

// Cameras returns the number of cameras currently tracked.
func (d *Detector) Cameras() int { return d.cams.Len() }

// camera returns the state of id, made on first sight; past MaxCameras the
// least recently seen camera is forgotten.
func (d *Detector) camera(id string) *camera {
	d.once.Do(func() { d.cams.Max = d.MaxCameras })
	return d.cams.Get(id)
}

// Process measures one GRAY8 frame (w x h luma bytes, row stride w) of
// camera cameraID captured at `at`, updates the camera's state and returns
// the labels reported for it, at most one per label. A zero `at` is taken
// as "one second after the camera's previous frame".
func (d *Detector) Process(cameraID string, at time.Time, luma []byte, w, h int, cfg Config) ([]Result, error) {
	small, sw, sh, err := Downscale(luma, w, h)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	c := d.camera(cameraID)
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.prev != nil && (c.w != sw || c.h != sh) {
		c.state = state{} // the stream changed size: start over
	}
	if at.IsZero() {
		if c.lastAt.IsZero() {
			at = time.Unix(0, 0)
		} else {
			at = c.lastAt.Add(time.Second)
		}
	}

	st := measure(small, sw, sh)
	st.Diff, st.Moved = -1, -1
	if c.prev != nil {
		st.Diff, st.Moved = difference(small, c.prev)
	}

	// Conditions.
	occluded := st.Std < cfg.OccludedStd && (st.Mean < cfg.OccludedMean || st.Std < cfg.UniformStd)
	dark := !occluded && st.Mean < cfg.DarkMean
	median := 0.0
	if len(c.sharp) >= cfg.BlurHistory {
		median = medianOf(c.sharp)
	}
	blurred := false
	if !occluded && !dark {
		absBlur := st.LapVar < cfg.BlurAbs
		relBlur := median > 0 && st.LapVar < cfg.BlurRel*median
		blurred = absBlur || relBlur
		if !blurred {
			c.addSharp(st.LapVar, cfg.BlurHistory)
		}
	}
	// A flat, covered picture says nothing about a stuck one: occluded
	// interrupts a frozen run.
	static := !occluded && st.Diff >= 0 && st.Diff < cfg.FrozenDiff && st.Moved < cfg.FrozenMoved
	switch {
	case !static || at.Before(c.lastAt):
		c.frozenRun = 0
		c.frozenSince = at
	default:
		c.frozenRun++
	}
	frozen := c.frozenRun >= cfg.Hysteresis && at.Sub(c.frozenSince) >= cfg.FrozenSpan

	c.prev = append(c.prev[:0], small...)
	c.w, c.h = sw, sh
	c.lastAt = at

	var out []Result
	add := func(i int, on bool, score float64) {
		if on {
			out = append(out, Result{Label: Labels[i], Score: score, Stats: st, Median: median})
		}
	}
	k := cfg.Hysteresis
	add(0, c.hyst[0].update(occluded, k), confidence(cfg.OccludedStd-st.Std, cfg.OccludedStd))
	add(1, c.hyst[1].update(dark, k), confidence(cfg.DarkMean-st.Mean, cfg.DarkMean))
	blurScore := confidence(cfg.BlurAbs-st.LapVar, cfg.BlurAbs)
	if median > 0 {
		blurScore = math.Max(blurScore, confidence(cfg.BlurRel*median-st.LapVar, cfg.BlurRel*median))
	}
	add(2, c.hyst[2].update(blurred, k), blurScore)
	// frozen: the run spanning FrozenSpan is the entry test; leaving needs
	// k consecutive moving frames like the others.
	fh := &c.hyst[3]
	switch {
	case frozen:
		fh.active, fh.clears = true, 0
	case static:
		fh.clears = 0
	default:
		fh.clears++
		if fh.clears >= k {
			fh.active = false
		}
	}
	add(3, fh.active, confidence(cfg.FrozenDiff-math.Max(st.Diff, 0), cfg.FrozenDiff))
	return out, nil
}

// confidence maps how far a statistic is past its threshold (margin, in
// units of scale) to a score in 0.5..1; a condition still reported through
// hysteresis while clear scores 0.5.
func confidence(margin, scale float64) float64 {
	if scale <= 0 || margin <= 0 {
		return 0.5
	}
	return 0.5 + 0.5*math.Min(1, margin/scale)
}

func (c *camera) addSharp(v float64, n int) {
	size := 4 * n // keep a few times the minimum history
	if size < 16 {
		size = 16
	}
	if len(c.sharp) < size {
		c.sharp = append(c.sharp, v)
		return
	}
	c.sharp[c.next%len(c.sharp)] = v
	c.next = (c.next + 1) % len(c.sharp)
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Downscale box-averages a w x h GRAY8 frame by the smallest integer factor
// that makes it at most TargetWidth wide and returns the small frame and its
// size. It fails with ErrSize when luma is shorter than w*h or the size is
// not positive and at most MaxDimension.
func Downscale(luma []byte, w, h int) ([]byte, int, int, error) {
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return nil, 0, 0, fmt.Errorf("%w: %dx%d", ErrSize, w, h)
	}
	if len(luma) < w*h {
		return nil, 0, 0, fmt.Errorf("%w: %d bytes for %dx%d GRAY8", ErrSize, len(luma), w, h)
	}
	f := (w + TargetWidth - 1) / TargetWidth
	sw, sh := w/f, h/f
	if sh == 0 {
		sh = 1
		f = min(f, h)
		sw = w / f
	}
	return sdk.ShrinkGray(luma, w, sw, sh, f), sw, sh, nil
}

// Measure returns the statistics of one GRAY8 frame on its own (Diff and
// Moved are -1).
func Measure(luma []byte, w, h int) (Stats, error) {
	small, sw, sh, err := Downscale(luma, w, h)
	if err != nil {
		return Stats{}, err
	}
	st := measure(small, sw, sh)
	st.Diff, st.Moved = -1, -1
	return st, nil
}

func measure(p []byte, w, h int) Stats {
	var sum, sq uint64
	for _, v := range p {
		sum += uint64(v)
		sq += uint64(v) * uint64(v)
	}
	n := float64(len(p))
	mean := float64(sum) / n
	variance := math.Max(0, float64(sq)/n-mean*mean)

	var lsum, lsq float64
	var ln int
	for y := 1; y < h-1; y++ {
		row := p[y*w : (y+1)*w]
		up := p[(y-1)*w : y*w]
		down := p[(y+1)*w : (y+2)*w]
		for x := 1; x < w-1; x++ {
			l := float64(int(up[x]) + int(down[x]) + int(row[x-1]) + int(row[x+1]) - 4*int(row[x]))
			lsum += l
			lsq += l * l
		}
		ln += w - 2
	}
	lapvar := 0.0
	if ln > 0 {
		lm := lsum / float64(ln)
		lapvar = math.Max(0, lsq/float64(ln)-lm*lm)
	}
	return Stats{Mean: mean, Std: math.Sqrt(variance), LapVar: lapvar}
}

func difference(a, b []byte) (diff, moved float64) {
	var sum, changed int
	for i, v := range a {
		d := int(v) - int(b[i])
		if d < 0 {
			d = -d
		}
		sum += d
		if d > MovedLevel {
			changed++
		}
	}
	n := float64(len(a))
	return float64(sum) / n, float64(changed) / n
}
