// Package onnx is BrightKitchen's neural detector: it runs a YOLO-style
// object detection model with ONNX Runtime (CPU) and reports its boxes as
// plugin detections (bk-plugin-onnx serves it to the gateway).
//
// A model comes with a manifest next to it (see Manifest): the input size
// and layout, the output format (yolov5: [1, N, 5+C]; yolov8 and yolo11:
// [1, 4+C, N]), class names, per-class score thresholds, the NMS IoU, and
// each class's role for the gateway's rules. Each frame, which the plugin
// asks the gateway for as RGB24 at the model's size, is letterboxed into
// the model's input (Letterbox), run, decoded (Decode), thinned by
// class-wise non-maximum suppression (NMS) and mapped back through the
// letterbox to fractions of the frame.
//
// The runtime is the shared library libonnxruntime.so.1 (1.30, fetched by
// scripts/onnxruntime.sh), loaded with dlopen by
// github.com/yalue/onnxruntime_go, so the package needs cgo. A model that
// does not load, or does not fit its manifest, is an error from Load; the
// plugin reports it from Describe, so the gateway logs it and never sends
// frames to a broken model.
package onnx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Detector serves a Model as a plugin.
type Detector struct {
	// Version is reported by Describe.
	Version string

	model   *Model
	loadErr error
	// stats of the model runs, for State.
	runs, nanos, last atomic.Int64
}

// NewDetector serves m, or, when err is set (the model did not load),
// answers Describe and Detect with err.
func NewDetector(m *Model, err error, version string) *Detector {
	if m == nil && err == nil {
		err = errors.New("no model")
	}
	return &Detector{Version: version, model: m, loadErr: err}
}

// Describe asks for RGB24 frames fitting the model's input, and lists the
// manifest's labels.
func (d *Detector) Describe(context.Context) (sdk.Info, error) {
	if d.loadErr != nil {
		return sdk.Info{}, fmt.Errorf("onnx: %w", d.loadErr)
	}
	man := d.model.Manifest
	return sdk.Info{
		Name:    "onnx",
		Version: d.Version + " model " + man.Name,
		Labels:  man.Labels(),
		Input: sdk.Input{Formats: []sdk.Format{sdk.FormatRGB24},
			MaxWidth: man.Input.Width, MaxHeight: man.Input.Height, FPS: 1},
	}, nil
}

// Detect runs the model on one RGB24 frame. Each detection's attrs carry
// "model", "class" (the model's class name), "role" (person, attribute,
// person_without, object), "region" (head or body, attributes only) and
// "infer_ms" (this frame's model run, milliseconds).
func (d *Detector) Detect(_ context.Context, f sdk.Frame) ([]sdk.Detection, error) {
	if d.loadErr != nil {
		return nil, fmt.Errorf("onnx: %w", d.loadErr)
	}
	if f.Format != sdk.FormatRGB24 {
		return nil, fmt.Errorf("onnx: frame format %v: only RGB24 is accepted", f.Format)
	}
	cs, lb, took, err := d.model.Run(f.Data, f.Width, f.Height)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	d.runs.Add(1)
	d.nanos.Add(int64(took))
	d.last.Store(int64(took))
	return d.detections(cs, lb, took), nil
}

func (d *Detector) detections(cs []Candidate, lb Letterbox, took time.Duration) []sdk.Detection {
	man := d.model.Manifest
	ms := strconv.FormatFloat(float64(took.Microseconds())/1000, 'f', 1, 64)
	out := make([]sdk.Detection, 0, len(cs))
	for _, c := range cs {
		cl := man.Classes[c.Class]
		x, y, w, h := lb.ToFrame(c.CX, c.CY, c.W, c.H)
		if w <= 0 || h <= 0 {
			continue // wholly in the letterbox bars
		}
		attrs := map[string]string{"model": man.Name, "class": cl.Name, "role": cl.Role, "infer_ms": ms}
		if cl.Region != "" {
			attrs["region"] = cl.Region
		}
		out = append(out, sdk.Detection{Label: cl.Label, Score: c.Score, Box: sdk.Box{X: x, Y: y, W: w, H: h}, Attrs: attrs})
	}
	return out
}

// Stats are the model runs so far.
type Stats struct {
	Runs int64
	// Mean and Last are the model's run time per frame (inference only,
	// without letterbox and decoding).
	Mean, Last time.Duration
}

// Stats returns the model runs so far.
func (d *Detector) Stats() Stats {
	n := d.runs.Load()
	s := Stats{Runs: n, Last: time.Duration(d.last.Load())}
	if n > 0 {
		s.Mean = time.Duration(d.nanos.Load() / n)
	}
	return s
}
