// Command bk-scenes renders camsim's kitchen scenes (package scene) as
// labelled clips, for bk-eval, and as training sets, for
// scripts/train-demo-model.sh:
//
//	bk-scenes render  -scene no-hat -seed 0 -frames 80 -gop 20 -out DIR
//	    DIR/no-hat-s0.h264 and DIR/no-hat-s0.json (labels, see package eval)
//	bk-scenes dataset -seed 1 -frames 3000 -width 384 -height 224 -out DIR
//	    DIR/frames.u8 and DIR/labels.json: "random" kitchens, each picture
//	    encoded with H.264 and decoded and scaled as the gateway does, then
//	    letterboxed to the model's input as bk-plugin-onnx does
//
// Clips go through ffmpeg (libx264), so ffmpeg must be on PATH. Seeds name
// sets: the demo model is trained on seed 1 and evaluated on others.
//
// Exit codes: 0 done, 1 failed, 2 bad flags.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"

	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/hw/camsim/scene"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/onnx/eval"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage:
  bk-scenes render  -scene NAME -seed N -frames N [-gop N] -out DIR
  bk-scenes dataset -seed N -frames N [-width 384 -height 224] -out DIR
Scenes: %v and random
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "render" && args[0] != "dataset") {
		fmt.Fprintf(stderr, usage, scene.Names())
		return 2
	}
	fs := flag.NewFlagSet("bk-scenes "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		name   = fs.String("scene", scene.Random, "scene to render")
		seed   = fs.Uint64("seed", 0, "seed: named scenes jitter with it (0 is camsim's own), random composes with it")
		frames = fs.Int("frames", 0, "frames to render (default: the scene's loop, or 1000 for random)")
		gop    = fs.Int("gop", 20, "frames from one IDR to the next")
		out    = fs.String("out", "", "output directory (required)")
		width  = fs.Int("width", 384, "dataset: model input width")
		height = fs.Int("height", 224, "dataset: model input height")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, usage, scene.Names())
		return 2
	}
	if *frames == 0 {
		*frames = scene.Frames(*name)
		if *frames == 0 {
			*frames = 1000
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "bk-scenes:", err)
		return 1
	}
	var err error
	if args[0] == "render" {
		err = render(ctx, *name, *seed, *frames, *gop, *out, stdout)
	} else {
		err = dataset(ctx, *seed, *frames, *gop, *width, *height, *out, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bk-scenes:", err)
		return 1
	}
	return 0
}

func render(ctx context.Context, name string, seed uint64, n, gop int, dir string, stdout io.Writer) error {
	clip, err := eval.WriteSceneClip(ctx, dir, name, seed, n, gop)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d frames\n", clip, n)
	return nil
}

// datasetLabels is labels.json of a training set: per frame, boxes as
// [class index, cx, cy, w, h] in model input pixels.
type datasetLabels struct {
	Width   int           `json:"width"`
	Height  int           `json:"height"`
	Classes []string      `json:"classes"`
	Seed    uint64        `json:"seed"`
	Frames  [][][]float64 `json:"frames"`
}

// chunk is how many pictures go through ffmpeg at once.
const chunk = 200

func dataset(ctx context.Context, seed uint64, n, gop, w, h int, dir string, stdout io.Writer) error {
	if w < 8 || h < 8 || w > 4096 || h > 4096 {
		return fmt.Errorf("model input %dx%d: want 8..4096 each", w, h)
	}
	f, err := os.Create(filepath.Join(dir, "frames.u8"))
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	dl := datasetLabels{Width: w, Height: h, Classes: scene.Classes, Seed: seed}
	tensor := make([]float32, 3*w*h)
	pix := make([]byte, 3*w*h)
	for start := 0; start < n; start += chunk {
		// each chunk is its own stream of "random" kitchens, seeded apart
		k := min(chunk, n-start)
		clip, ts, err := scene.Encode(ctx, scene.Random, seed*1_000_003+uint64(start), k, gop)
		if err != nil {
			return err
		}
		pics, err := decodeAll(clip, w, h)
		if err != nil {
			return err
		}
		if len(pics) != k {
			return fmt.Errorf("chunk at %d: %d pictures decoded, %d rendered", start, len(pics), k)
		}
		for i, p := range pics {
			lb := onnx.NewLetterbox(p.Width, p.Height, w, h)
			lb.Fill(tensor, p.Data, false)
			for j, v := range tensor {
				pix[j] = uint8(math.Round(float64(v) * 255))
			}
			if _, err := bw.Write(pix); err != nil {
				return err
			}
			// frame pixels → decoded picture → model input
			sx := float64(p.Width) / scene.Width * lb.Scale
			sy := float64(p.Height) / scene.Height * lb.Scale
			boxes := [][]float64{}
			for _, b := range ts[i].Boxes {
				c := slices.Index(scene.Classes, b.Class)
				x0, x1 := b.X0*sx+float64(lb.PadX), b.X1*sx+float64(lb.PadX)
				y0, y1 := b.Y0*sy+float64(lb.PadY), b.Y1*sy+float64(lb.PadY)
				boxes = append(boxes, []float64{float64(c), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0})
			}
			dl.Frames = append(dl.Frames, boxes)
		}
		fmt.Fprintf(stdout, "%d/%d frames\n", start+k, n)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	js, err := json.Marshal(dl)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "labels.json"), js, 0o644)
}

// decodeAll decodes an H.264 clip and scales every picture to fit w×h, as
// the gateway does for a plugin asking for RGB24 at most w×h.
func decodeAll(clip []byte, w, h int) ([]decode.Frame, error) {
	aus, err := camsim.SplitAccessUnits(camsim.CodecH264, clip)
	if err != nil {
		return nil, err
	}
	dec, err := decode.New(decode.CodecH264)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	var out []decode.Frame
	for i, au := range aus {
		ok, err := dec.Decode(au, 0)
		if err != nil {
			return nil, fmt.Errorf("access unit %d: %w", i, err)
		}
		if !ok {
			continue
		}
		f, err := dec.Scale(decode.RGB24, w, h)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("no picture decoded")
	}
	return out, nil
}
