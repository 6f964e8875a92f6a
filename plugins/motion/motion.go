// Package motion finds moving regions in GRAY8 (luma) frames and returns
// them as boxes. It is the algorithm behind the bk-plugin-motion detector
// plugin and does not depend on the plugin SDK; the gateway's rules turn
// motion inside a zone outside operating hours into after_hours_motion (a
// rodent at night in a closed kitchen).
//
// Per frame, per camera:
//
//  1. Box-average down by an integer factor to at most 160 pixels wide.
//  2. Compare with the camera's background, a running average: a pixel is
//     foreground when it differs by more than Threshold grey levels.
//  3. Lightning and exposure jumps: when the mean luma differs from the
//     background's by more than Jump, or more than MaxChanged of the pixels
//     are foreground, the background is reset to this frame and nothing is
//     reported.
//  4. Clean the mask: a 3x3 dilation then erosion closes gaps (a textured
//     thing moving over where it stood leaves a fragmented mask), then a
//     3x3 erosion then dilation removes specks.
//  5. Connected components (8-connectivity, an explicit stack); those
//     smaller than MinArea of the frame are dropped, the rest returned as
//     normalised boxes, largest first, at most MaxBoxes.
//  6. Ghosts: a region with (almost) no pixel that changed since the
//     previous frame is not moving. It is either a ghost (the place where
//     something stood when the background was learnt, now empty) or a
//     thing that stopped; it is not reported, and once it has been still
//     for GhostFrames frames its pixels are copied into the background.
//  7. Update the background: Alpha at background pixels, Alpha/10 under
//     foreground, so a moving thing does not smear into it.
//
// The first Warmup frames after a camera is first seen, a size change or a
// reset only build the background. A Detector forgets the least recently
// seen camera past MaxCameras.
package motion

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Label is the label of every detection.
const Label = "motion"

// TargetWidth is the widest frame the detector works on.
const TargetWidth = 160

// DefaultMaxCameras is the number of cameras whose state is kept when
// Detector.MaxCameras is zero.
const DefaultMaxCameras = sdk.DefaultMaxCameras

// MaxDimension bounds the width and height of an accepted frame.
const MaxDimension = 8192

// ErrSize is returned for a frame whose size or data length is wrong.
var ErrSize = errors.New("motion: bad frame size")

// Box is a moving region in normalised coordinates (0..1 of the frame).
type Box struct {
	X, Y, W, H float64
	// Area is the fraction of the frame covered by the region's pixels, and
	// Diff their mean absolute difference to the background.
	Area, Diff float64
	Score      float64 // 0..1, from area and difference
}

// Detector keeps per-camera background models. The zero value is ready to
// use; it is safe for concurrent use.
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

type state struct {
	w, h   int
	bg     []float32 // background, nil before the first frame
	prev   []byte    // previous frame
	still  []uint8   // frames each pixel has been in a still region
	frames int       // frames since the background was (re)started
	// scratch, reused between frames
	diff []uint8
	mask []bool
	tmp  []bool
	lab  []int32
	stk  []int32
	pix  []int32
}

// minActive is the fraction of a region's pixels that must have changed
// since the previous frame for the region to count as moving.
const minActive = 0.03

// Cameras returns the number of cameras currently tracked.
func (d *Detector) Cameras() int { return d.cams.Len() }

// camera returns the state of id, made on first sight; past MaxCameras the
// least recently seen camera is forgotten.
func (d *Detector) camera(id string) *camera {
	d.once.Do(func() { d.cams.Max = d.MaxCameras })
	return d.cams.Get(id)
}

// Process runs one GRAY8 frame (w x h luma bytes, row stride w) of camera
// cameraID and returns the moving regions, largest first.
func (d *Detector) Process(cameraID string, luma []byte, w, h int, cfg Config) ([]Box, error) {
	small, sw, sh, err := Downscale(luma, w, h)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	c := d.camera(cameraID)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.state
	if s.bg == nil || s.w != sw || s.h != sh {
		*s = state{w: sw, h: sh}
		s.reset(small)
		return nil, nil
	}
	n := sw * sh

	// Global jump check.
	var sum, bgSum float64
	for i, v := range small {
		sum += float64(v)
		bgSum += float64(s.bg[i])
	}
	jump := math.Abs(sum-bgSum) / float64(n)

	thr := float32(cfg.Threshold)
	changed := 0
	for i, v := range small {
		dv := float32(v) - s.bg[i]
		if dv < 0 {
			dv = -dv
		}
		s.diff[i] = uint8(min(dv, 255))
		s.mask[i] = dv > thr
		if s.mask[i] {
			changed++
		}
	}
	if jump > cfg.Jump || float64(changed) > cfg.MaxChanged*float64(n) {
		s.reset(small)
		return nil, nil
	}

	var boxes []Box
	if s.frames >= cfg.Warmup {
		closeMask(s.mask, s.tmp, sw, sh)
		open(s.mask, s.tmp, sw, sh)
		boxes = s.components(small, sw, sh, cfg)
	}
	copy(s.prev, small)

	// Background update, selective.
	a := float32(cfg.Alpha)
	for i, v := range small {
		k := a
		if s.mask[i] {
			k = a / 10
		}
		s.bg[i] += k * (float32(v) - s.bg[i])
	}
	s.frames++
	return boxes, nil
}

// reset restarts the background from frame p.
func (s *state) reset(p []byte) {
	n := len(p)
	if len(s.bg) != n {
		s.bg = make([]float32, n)
		s.diff = make([]uint8, n)
		s.mask = make([]bool, n)
		s.tmp = make([]bool, n)
		s.lab = make([]int32, n)
		s.prev = make([]byte, n)
		s.still = make([]uint8, n)
	}
	copy(s.prev, p)
	clear(s.still)
	for i, v := range p {
		s.bg[i] = float32(v)
	}
	s.frames = 1
}

// components labels the 8-connected regions of the mask and returns their
// boxes, largest first.
func (s *state) components(f []byte, w, h int, cfg Config) []Box {
	n := w * h
	clear(s.lab)
	minPix := int(math.Ceil(cfg.MinArea * float64(n)))
	var boxes []Box
	var next int32
	for start := 0; start < n; start++ {
		if !s.mask[start] || s.lab[start] != 0 {
			continue
		}
		next++
		s.lab[start] = next
		s.stk = append(s.stk[:0], int32(start))
		x0, y0, x1, y1 := w, h, -1, -1
		count, dsum, active := 0, 0, 0
		s.pix = s.pix[:0]
		for len(s.stk) > 0 {
			p := int(s.stk[len(s.stk)-1])
			s.stk = s.stk[:len(s.stk)-1]
			s.pix = append(s.pix, int32(p))
			x, y := p%w, p/w
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			count++
			dsum += int(s.diff[p])
			if d := int(f[p]) - int(s.prev[p]); d > int(cfg.Threshold) || -d > int(cfg.Threshold) {
				active++
			}
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					q := yy*w + xx
					if s.mask[q] && s.lab[q] == 0 {
						s.lab[q] = next
						s.stk = append(s.stk, int32(q))
					}
				}
			}
		}
		if float64(active) < minActive*float64(count) || active < 2 {
			// Still: a ghost or a stopped thing.
			for _, p := range s.pix {
				if s.still[p] < 255 {
					s.still[p]++
				}
				if int(s.still[p]) >= cfg.GhostFrames {
					s.bg[p] = float32(f[p])
					s.mask[p] = false
				}
			}
			continue
		}
		for _, p := range s.pix {
			s.still[p] = 0
		}
		if count < minPix {
			continue
		}
		area := float64(count) / float64(n)
		diff := float64(dsum) / float64(count)
		boxes = append(boxes, Box{
			X: float64(x0) / float64(w), Y: float64(y0) / float64(h),
			W: float64(x1-x0+1) / float64(w), H: float64(y1-y0+1) / float64(h),
			Area: area, Diff: diff,
			Score: 0.5*math.Min(1, area/0.05) + 0.5*math.Min(1, diff/64),
		})
	}
	slices.SortStableFunc(boxes, func(a, b Box) int {
		switch {
		case a.Area > b.Area:
			return -1
		case a.Area < b.Area:
			return 1
		}
		return 0
	})
	if len(boxes) > cfg.MaxBoxes {
		boxes = boxes[:cfg.MaxBoxes]
	}
	return boxes
}

// erode sets dst to the 3x3 erosion of src (outside the frame counts as
// set, so regions touching the border keep their edge).
func erode(dst, src []bool, w, h int) {
	morph(dst, src, w, h, true)
}

// dilate sets dst to the 3x3 dilation of src.
func dilate(dst, src []bool, w, h int) {
	morph(dst, src, w, h, false)
}

func morph(dst, src []bool, w, h int, isErode bool) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := isErode
			for dy := -1; dy <= 1 && v == isErode; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					if src[yy*w+xx] != isErode {
						v = !isErode
						break
					}
				}
			}
			dst[y*w+x] = v
		}
	}
}

// open removes specks narrower than 3 pixels (erode, then dilate), in place.
func open(m, tmp []bool, w, h int) {
	erode(tmp, m, w, h)
	dilate(m, tmp, w, h)
}

// closeMask fills gaps narrower than 3 pixels (dilate, then erode), in place.
func closeMask(m, tmp []bool, w, h int) {
	dilate(tmp, m, w, h)
	erode(m, tmp, w, h)
}

// Downscale box-averages a w x h GRAY8 frame by the smallest integer factor
// that makes it at most TargetWidth wide and returns the small frame and its
// size.
func Downscale(luma []byte, w, h int) ([]byte, int, int, error) {
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return nil, 0, 0, fmt.Errorf("%w: %dx%d", ErrSize, w, h)
	}
	if len(luma) < w*h {
		return nil, 0, 0, fmt.Errorf("%w: %d bytes for %dx%d GRAY8", ErrSize, len(luma), w, h)
	}
	f := (w + TargetWidth - 1) / TargetWidth
	f = min(f, h)
	sw, sh := w/f, h/f
	return sdk.ShrinkGray(luma, w, sw, sh, f), sw, sh, nil
}
