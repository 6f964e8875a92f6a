// Command bk-plugin-tamper is the built-in camera-health detector plugin:
// camera_occluded, camera_dark, camera_blurred and camera_frozen from frame
// statistics (package tamper), served over the BrightKitchen plugin
// protocol. The gateway starts it; it is not run by hand.
//
// Frame params (strings) tune the rules; see tamper.ParseConfig for each
// key and its default.
package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/brightkitchen/brightkitchen/internal/version"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
	"github.com/brightkitchen/brightkitchen/plugins/tamper"
)

// detector adapts tamper.Detector to sdk.Detector.
type detector struct {
	d tamper.Detector
}

func (*detector) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:    "tamper",
		Version: version.Version, // stamped by make build
		Labels:  tamper.Labels,
		// The gateway decodes IDR frames only by default: about one
		// frame per GOP is what this plugin is built for.
		Input: sdk.Input{Formats: []sdk.Format{sdk.FormatGRAY8}, MaxWidth: 640, MaxHeight: 360, FPS: 1},
	}, nil
}

func (a *detector) Detect(_ context.Context, f sdk.Frame) ([]sdk.Detection, error) {
	if f.Format != sdk.FormatGRAY8 {
		return nil, fmt.Errorf("tamper: frame format %d: only GRAY8 is accepted", f.Format)
	}
	cfg, err := tamper.ParseConfig(f.Params)
	if err != nil {
		return nil, fmt.Errorf("tamper: %w", err)
	}
	rs, err := a.d.Process(f.CameraID, f.CapturedAt, f.Data, f.Width, f.Height, cfg)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Detection, 0, len(rs))
	for _, r := range rs {
		attrs := map[string]string{
			"mean":   ff(r.Stats.Mean),
			"std":    ff(r.Stats.Std),
			"lapvar": ff(r.Stats.LapVar),
			"diff":   ff(r.Stats.Diff),
		}
		if r.Median > 0 {
			attrs["lapvar_median"] = ff(r.Median)
		}
		out = append(out, sdk.Detection{
			Label: r.Label,
			Score: r.Score,
			Box:   sdk.Box{X: 0, Y: 0, W: 1, H: 1},
			Attrs: attrs,
		})
	}
	return out, nil
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func main() {
	sdk.Serve(&detector{})
}
