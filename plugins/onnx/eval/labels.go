// Package eval measures a detector against labelled clips: precision,
// recall and F1 per class (boxes matched by IoU) and per violation type
// (the alarms a clip should raise against those the gateway's rules raise
// from the detections), and the model's inference time. bk-eval is its
// command; a deployer uses it on their own labelled footage as we use it
// on camsim's rendered clips.
//
// A clip's labels are a JSON file next to it (clip.h264 → clip.json):
//
//	{"width": 640, "height": 360, "fps": 10,
//	 "frames": [{"boxes": [{"class": "person", "x": 0.2, "y": 0.1, "w": 0.1, "h": 0.5}],
//	             "violations": ["no_chef_hat"]}, ...]}
//
// one entry per picture of the clip in order, boxes as fractions of the
// picture (origin top left) named by the model's class names, violations
// as wire.ViolationTypes.
package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/hw/camsim/scene"
)

// Limits of a labels file: it is input like any other.
const (
	MaxLabelsBytes = 64 << 20
	MaxFrames      = 100_000
	MaxBoxes       = 256 // per frame
)

// Labels are one clip's ground truth.
type Labels struct {
	Width  int           `json:"width"`
	Height int           `json:"height"`
	FPS    int           `json:"fps"`
	Frames []FrameLabels `json:"frames"`
}

// FrameLabels are what one picture shows.
type FrameLabels struct {
	Boxes      []Box    `json:"boxes"`
	Violations []string `json:"violations,omitempty"`
}

// Box is one labelled object, as fractions of the picture.
type Box struct {
	Class string  `json:"class"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
}

var classRe = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)

// LoadLabels reads and checks a labels file.
func LoadLabels(path string) (*Labels, error) {
	data, err := readCapped(path, MaxLabelsBytes)
	if err != nil {
		return nil, fmt.Errorf("labels %w", err)
	}
	l, err := ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	return l, nil
}

// readCapped reads a file of at most max bytes; a larger one is an error
// before anything is read.
func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", path, st.Size(), max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// ParseLabels decodes and checks labels.
func ParseLabels(data []byte) (*Labels, error) {
	if len(data) > MaxLabelsBytes {
		return nil, fmt.Errorf("%d bytes, at most %d", len(data), MaxLabelsBytes)
	}
	var l Labels
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, err
	}
	if l.Width < 1 || l.Height < 1 || l.Width > 16384 || l.Height > 16384 {
		return nil, fmt.Errorf("size %dx%d: want 1..16384 each", l.Width, l.Height)
	}
	if l.FPS < 1 || l.FPS > 120 {
		return nil, fmt.Errorf("fps %d: want 1..120", l.FPS)
	}
	if len(l.Frames) == 0 || len(l.Frames) > MaxFrames {
		return nil, fmt.Errorf("%d frames: want 1..%d", len(l.Frames), MaxFrames)
	}
	for i, f := range l.Frames {
		if len(f.Boxes) > MaxBoxes {
			return nil, fmt.Errorf("frame %d: %d boxes, at most %d", i, len(f.Boxes), MaxBoxes)
		}
		for j, b := range f.Boxes {
			if !classRe.MatchString(b.Class) {
				return nil, fmt.Errorf("frame %d box %d: class %q: want 1..64 printable ASCII characters", i, j, b.Class)
			}
			if !fraction(b.X) || !fraction(b.Y) || !fraction(b.W) || !fraction(b.H) || b.W == 0 || b.H == 0 ||
				b.X+b.W > 1+1e-6 || b.Y+b.H > 1+1e-6 {
				return nil, fmt.Errorf("frame %d box %d: %+v is not a box inside the picture (fractions 0..1)", i, j, b)
			}
		}
		for _, v := range f.Violations {
			if !wire.KnownType(v) {
				return nil, fmt.Errorf("frame %d: unknown violation type %q", i, v)
			}
		}
	}
	return &l, nil
}

func fraction(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }

// errNoFrames is returned for a clip that decoded to nothing.
var errNoFrames = errors.New("no picture decoded")

// SceneLabels are the labels of a clip of camsim's scenes, from the truth
// of its frames (package scene).
func SceneLabels(ts []scene.Truth) *Labels {
	l := &Labels{Width: scene.Width, Height: scene.Height, FPS: scene.FPS}
	for _, t := range ts {
		f := FrameLabels{Violations: t.Violations, Boxes: []Box{}}
		for _, b := range t.Boxes {
			f.Boxes = append(f.Boxes, Box{Class: b.Class, X: b.X0 / scene.Width, Y: b.Y0 / scene.Height,
				W: (b.X1 - b.X0) / scene.Width, H: (b.Y1 - b.Y0) / scene.Height})
		}
		l.Frames = append(l.Frames, f)
	}
	return l
}

// WriteSceneClip renders frames 0..n-1 of a scene with a seed (see
// scene.Encode) into dir as <name>-s<seed>.h264 with its labels, and
// returns the clip's path.
func WriteSceneClip(ctx context.Context, dir, name string, seed uint64, n, gop int) (string, error) {
	data, ts, err := scene.Encode(ctx, name, seed, n, gop)
	if err != nil {
		return "", err
	}
	js, err := json.Marshal(SceneLabels(ts))
	if err != nil {
		return "", err
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-s%d", name, seed))
	if err := os.WriteFile(base+".h264", data, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(base+".json", js, 0o644); err != nil {
		return "", err
	}
	return base + ".h264", nil
}
