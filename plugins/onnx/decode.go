package onnx

import (
	"fmt"
	"math"
	"slices"
)

// Letterbox is how a frame was fitted into the model's input: scaled by
// Scale (the same on both axes, keeping the aspect ratio), then placed at
// (PadX, PadY) in the model's picture, the rest filled with grey.
type Letterbox struct {
	FrameW, FrameH int
	ModelW, ModelH int
	Scale          float64
	PadX, PadY     int
	// ScaledW, ScaledH are the frame's size in the model's picture.
	ScaledW, ScaledH int
}

// NewLetterbox fits a frameW×frameH picture into modelW×modelH.
func NewLetterbox(frameW, frameH, modelW, modelH int) Letterbox {
	s := math.Min(float64(modelW)/float64(frameW), float64(modelH)/float64(frameH))
	sw := min(max(int(math.Round(float64(frameW)*s)), 1), modelW)
	sh := min(max(int(math.Round(float64(frameH)*s)), 1), modelH)
	return Letterbox{
		FrameW: frameW, FrameH: frameH, ModelW: modelW, ModelH: modelH,
		Scale: s, ScaledW: sw, ScaledH: sh, PadX: (modelW - sw) / 2, PadY: (modelH - sh) / 2,
	}
}

// padValue is the grey of the letterbox bars (114/255, as YOLO trains with).
const padValue = float32(114) / 255

// Fill writes an RGB24 frame (3·FrameW·FrameH bytes) into dst, a
// 3·ModelW·ModelH float32 NCHW tensor with values in 0..1, in RGB order or
// BGR when bgr is set. Scaling samples the nearest pixel: the gateway
// already sends frames at the model's size, so this mostly copies.
func (l Letterbox) Fill(dst []float32, rgb []byte, bgr bool) {
	plane := l.ModelW * l.ModelH
	for i := range dst[:3*plane] {
		dst[i] = padValue
	}
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	if bgr {
		r, b = b, r
	}
	xs := make([]int, l.ScaledW)
	for x := range xs {
		xs[x] = min(int((float64(x)+0.5)*float64(l.FrameW)/float64(l.ScaledW)), l.FrameW-1)
	}
	for y := range l.ScaledH {
		sy := min(int((float64(y)+0.5)*float64(l.FrameH)/float64(l.ScaledH)), l.FrameH-1)
		row := rgb[3*sy*l.FrameW:]
		o := (y+l.PadY)*l.ModelW + l.PadX
		for x, sx := range xs {
			p := row[3*sx : 3*sx+3]
			r[o+x] = float32(p[0]) / 255
			g[o+x] = float32(p[1]) / 255
			b[o+x] = float32(p[2]) / 255
		}
	}
}

// ToFrame maps a box in model pixels (centre cx, cy, size w, h) to a
// fraction of the frame (x, y, w, h, origin top left), clipped to the frame.
func (l Letterbox) ToFrame(cx, cy, w, h float64) (x0, y0, bw, bh float64) {
	fx := func(v float64) float64 {
		return min(max((v-float64(l.PadX))/l.Scale/float64(l.FrameW), 0), 1)
	}
	fy := func(v float64) float64 {
		return min(max((v-float64(l.PadY))/l.Scale/float64(l.FrameH), 0), 1)
	}
	x0, x1 := fx(cx-w/2), fx(cx+w/2)
	y0, y1 := fy(cy-h/2), fy(cy+h/2)
	return x0, y0, x1 - x0, y1 - y0
}

// Candidate is one decoded box before NMS, in model pixels.
type Candidate struct {
	Class          int
	Score          float64
	CX, CY, W, H   float64
	x0, y0, x1, y1 float64
}

// Decode reads a detection head's output (shape as the runtime gave it)
// in the manifest's format and returns each box whose best class scores at
// least that class's min_score.
func Decode(m Manifest, shape []int64, data []float32) ([]Candidate, error) {
	nc := len(m.Classes)
	if len(shape) != 3 || shape[0] != 1 {
		return nil, fmt.Errorf("output shape %v: want [1, ., .] for %s", shape, m.Output.Format)
	}
	var n, stride, step int // box i, value k at i*stride + k*step
	switch m.Output.Format {
	case FormatYOLOv5:
		if shape[2] != int64(5+nc) {
			return nil, fmt.Errorf("output shape %v: yolov5 with %d classes wants [1, N, %d]", shape, nc, 5+nc)
		}
		n, stride, step = int(shape[1]), 5+nc, 1
	case FormatYOLOv8:
		if shape[1] != int64(4+nc) {
			return nil, fmt.Errorf("output shape %v: yolov8 with %d classes wants [1, %d, N]", shape, nc, 4+nc)
		}
		n, stride, step = int(shape[2]), 1, int(shape[2])
	default:
		return nil, fmt.Errorf("output format %q unknown", m.Output.Format)
	}
	first := 4 // the first class score
	if m.Output.Format == FormatYOLOv5 {
		first = 5
	}
	if n < 0 || len(data) != n*(first+nc) {
		return nil, fmt.Errorf("output: %d values for shape %v", len(data), shape)
	}
	var out []Candidate
	for i := range n {
		at := func(k int) float64 { return float64(data[i*stride+k*step]) }
		obj := 1.0
		if m.Output.Format == FormatYOLOv5 {
			obj = at(4)
		}
		best, bs := -1, math.Inf(-1)
		for c := range nc {
			if s := at(first + c); s > bs {
				best, bs = c, s
			}
		}
		score := obj * bs
		if !(score >= m.Classes[best].MinScore) { // also drops NaN
			continue
		}
		cx, cy, w, h := at(0), at(1), at(2), at(3)
		if !(w > 0 && h > 0) || math.IsInf(cx+cy+w+h, 0) || math.IsNaN(cx+cy) {
			continue
		}
		out = append(out, Candidate{Class: best, Score: min(score, 1), CX: cx, CY: cy, W: w, H: h,
			x0: cx - w/2, y0: cy - h/2, x1: cx + w/2, y1: cy + h/2})
	}
	return out, nil
}

// NMS keeps, class by class, the best boxes and drops any box overlapping
// a kept one of its class by more than iou; boxes of different classes never
// suppress each other. It returns at most limit boxes, best first.
func NMS(cs []Candidate, iou float64, limit int) []Candidate {
	slices.SortStableFunc(cs, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	kept := make([]Candidate, 0, min(len(cs), limit))
	for _, c := range cs {
		if len(kept) == limit {
			break
		}
		ok := true
		for _, k := range kept {
			if k.Class == c.Class && IoU(k, c) > iou {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, c)
		}
	}
	return kept
}

// IoU is the intersection over union of two boxes.
func IoU(a, b Candidate) float64 {
	iw := min(a.x1, b.x1) - max(a.x0, b.x0)
	ih := min(a.y1, b.y1) - max(a.y0, b.y0)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / (a.W*a.H + b.W*b.H - inter)
}
