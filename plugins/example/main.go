// Command bk-plugin-example is the smallest useful detector plugin, for
// plugin authors to copy: it reports a picture that is washed out
// ("overexposed": a lamp or the sun straight into the lens) when the mean
// brightness is above a threshold. It accepts GRAY8, I420 and RGB24 frames.
//
// Frame params: threshold (0..255, default 220).
//
// Build it and run the conformance kit against it:
//
//	go build -o bk-plugin-example ./plugins/example
//	go test ./plugins/example   # sdktest.Run against the built binary
package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

type detector struct{}

func (detector) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:    "example",
		Version: version,
		Labels:  []string{"overexposed"},
		Input: sdk.Input{
			Formats:  []sdk.Format{sdk.FormatGRAY8, sdk.FormatI420, sdk.FormatRGB24},
			MaxWidth: 320, MaxHeight: 180,
		},
	}, nil
}

func (detector) Detect(_ context.Context, f sdk.Frame) ([]sdk.Detection, error) {
	threshold := 220.0
	if s, ok := f.Params["threshold"]; ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 255 {
			return nil, fmt.Errorf("params.threshold %q: want a number 0..255", s)
		}
		threshold = v
	}
	mean := meanLuma(f)
	if mean <= threshold {
		return nil, nil
	}
	score := min(0.5+(mean-threshold)/(255-threshold+1)/2, 1)
	return []sdk.Detection{{
		Label: "overexposed",
		Score: score,
		Box:   sdk.Box{X: 0, Y: 0, W: 1, H: 1},
		Attrs: map[string]string{"mean": strconv.FormatFloat(mean, 'f', 1, 64)},
	}}, nil
}

// meanLuma is the frame's mean brightness, 0..255. Frames arrive checked by
// sdk.Serve: the data is exactly the size the format says.
func meanLuma(f sdk.Frame) float64 {
	var sum, n int
	switch f.Format {
	case sdk.FormatGRAY8, sdk.FormatI420: // the Y plane comes first
		for _, v := range f.Data[:f.Width*f.Height] {
			sum += int(v)
		}
		n = f.Width * f.Height
	case sdk.FormatRGB24:
		for i := 0; i+2 < len(f.Data); i += 3 {
			sum += (299*int(f.Data[i]) + 587*int(f.Data[i+1]) + 114*int(f.Data[i+2])) / 1000
		}
		n = f.Width * f.Height
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

func main() { sdk.Serve(detector{}) }
