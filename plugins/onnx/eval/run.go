package eval

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// MaxClipBytes bounds one clip file.
const MaxClipBytes = 512 << 20

// Runner runs a model over clips into an Evaluator.
type Runner struct {
	Model *onnx.Model
	// Rules, when set, are a camera's detect section run over each clip
	// (as the gateway runs it, on every picture); the violation types
	// whose episodes start are compared with the clip's labels. The
	// plugin name in the rules is "onnx".
	Rules *rules.CameraRules
	Eval  *Evaluator
	// At is the wall time of each clip's first picture, for the rules'
	// schedule. Default: a Monday at 10:00 in Asia/Shanghai.
	At time.Time
}

// LabelsPath is where a clip's labels are: the clip's path with .json for
// its extension.
func LabelsPath(clip string) string {
	return strings.TrimSuffix(clip, filepath.Ext(clip)) + ".json"
}

// codecOf tells a clip's codec from its extension.
func codecOf(path string) (camsim.Codec, decode.Codec, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".h264", ".264":
		return camsim.CodecH264, decode.CodecH264, nil
	case ".h265", ".265", ".hevc":
		return camsim.CodecH265, decode.CodecH265, nil
	}
	return "", "", fmt.Errorf("clip %s: want an Annex-B .h264 or .h265 file", path)
}

// Clip evaluates one clip against its labels: every picture through the
// model, the detections against the picture's boxes, and, with Rules, the
// episodes raised against the violations of all its pictures.
func (r *Runner) Clip(ctx context.Context, path string, l *Labels) error {
	cc, dc, err := codecOf(path)
	if err != nil {
		return err
	}
	data, err := readCapped(path, MaxClipBytes)
	if err != nil {
		return fmt.Errorf("clip %w", err)
	}
	aus, err := camsim.SplitAccessUnits(cc, data)
	if err != nil {
		return fmt.Errorf("clip %s: %w", path, err)
	}
	dec, err := decode.New(dc)
	if err != nil {
		return fmt.Errorf("clip %s: %w", path, err)
	}
	defer dec.Close()
	det := onnx.NewDetector(r.Model, nil, "eval")
	info, err := det.Describe(ctx)
	if err != nil {
		return err
	}
	var eng *rules.Engine
	if r.Rules != nil {
		if eng, err = rules.NewEngine("eval", *r.Rules); err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		eng.AllowLabels(info.Labels...)
	}
	at := r.At
	if at.IsZero() {
		sh, _ := time.LoadLocation("Asia/Shanghai")
		at = time.Date(2026, 1, 5, 10, 0, 0, 0, sh)
	}
	step := time.Second / time.Duration(l.FPS)
	var raised, shown []string
	n := 0
	for i, au := range aus {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := dec.Decode(au, time.Duration(i)*step)
		if err != nil {
			return fmt.Errorf("clip %s: access unit %d: %w", path, i, err)
		}
		if !ok {
			continue
		}
		if n >= len(l.Frames) {
			return fmt.Errorf("clip %s: more pictures than its %d labelled frames", path, len(l.Frames))
		}
		f, err := dec.Scale(decode.RGB24, info.Input.MaxWidth, info.Input.MaxHeight)
		if err != nil {
			return fmt.Errorf("clip %s: picture %d: %w", path, n, err)
		}
		ds, err := det.Detect(ctx, sdk.Frame{Format: sdk.FormatRGB24, Width: f.Width, Height: f.Height, Data: f.Data})
		dec.Recycle(f)
		if err != nil {
			return fmt.Errorf("clip %s: picture %d: %w", path, n, err)
		}
		preds := make([]Pred, 0, len(ds))
		for _, d := range ds {
			preds = append(preds, Pred{Box: Box{Class: d.Attrs["class"], X: d.Box.X, Y: d.Box.Y, W: d.Box.W, H: d.Box.H}, Score: d.Score})
		}
		r.Eval.AddFrame(l.Frames[n].Boxes, preds, det.Stats().Last)
		for _, v := range l.Frames[n].Violations {
			if !slices.Contains(shown, v) {
				shown = append(shown, v)
			}
		}
		if eng != nil {
			rds := make([]rules.Detection, len(ds))
			for k, d := range ds {
				rds[k] = rules.Detection{Plugin: "onnx", Label: d.Label, Score: d.Score,
					Box: rules.Box{X: d.Box.X, Y: d.Box.Y, W: d.Box.W, H: d.Box.H}, Attrs: d.Attrs}
			}
			for _, t := range eng.Observe(at.Add(time.Duration(n)*step), rds) {
				if t.Phase == wire.PhaseStart && !slices.Contains(raised, t.Type) {
					raised = append(raised, t.Type)
				}
			}
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("clip %s: %w", path, errNoFrames)
	}
	if n != len(l.Frames) {
		return fmt.Errorf("clip %s: %d pictures decoded, %d labelled", path, n, len(l.Frames))
	}
	if eng != nil {
		r.Eval.AddClip(shown, raised)
	}
	r.Eval.EndClip()
	return nil
}
