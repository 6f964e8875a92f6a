// Command bk-plugin-motion is the built-in motion detector plugin: moving
// regions as boxes labelled "motion" (package motion), served over the
// BrightKitchen plugin protocol. The gateway's rules turn motion in a zone
// outside operating hours into after_hours_motion. The gateway starts it;
// it is not run by hand.
//
// Frame params (strings) tune it; see motion.ParseConfig for each key and
// its default.
package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/brightkitchen/brightkitchen/internal/version"
	"github.com/brightkitchen/brightkitchen/plugins/motion"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// detector adapts motion.Detector to sdk.Detector.
type detector struct {
	d motion.Detector
}

func (*detector) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:    "motion",
		Version: version.Version, // stamped by make build
		Labels:  []string{motion.Label},
		// The detector works at 160 px wide; 320x180 is plenty and halves
		// the bytes on the wire.
		Input: sdk.Input{Formats: []sdk.Format{sdk.FormatGRAY8}, MaxWidth: 320, MaxHeight: 180, FPS: 5},
	}, nil
}

func (a *detector) Detect(_ context.Context, f sdk.Frame) ([]sdk.Detection, error) {
	if f.Format != sdk.FormatGRAY8 {
		return nil, fmt.Errorf("motion: frame format %d: only GRAY8 is accepted", f.Format)
	}
	cfg, err := motion.ParseConfig(f.Params)
	if err != nil {
		return nil, fmt.Errorf("motion: %w", err)
	}
	bs, err := a.d.Process(f.CameraID, f.Data, f.Width, f.Height, cfg)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Detection, 0, len(bs))
	for _, b := range bs {
		out = append(out, sdk.Detection{
			Label: motion.Label,
			Score: b.Score,
			Box:   sdk.Box{X: b.X, Y: b.Y, W: b.W, H: b.H},
			Attrs: map[string]string{
				"area": strconv.FormatFloat(b.Area, 'f', 4, 64),
				"diff": strconv.FormatFloat(b.Diff, 'f', 1, 64),
			},
		})
	}
	return out, nil
}

func main() {
	sdk.Serve(&detector{})
}
