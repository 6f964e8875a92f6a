// Command testplugin is a detector plugin that misbehaves on purpose, for
// the end-to-end tests of the gateway's plugin supervision. The camera's
// params choose how: mode "ok" answers one "probe" detection per frame,
// "hang" never answers, "crash" exits on every frame, "garbage" answers
// malformed detections along with one good one.
package main

import (
	"context"
	"math"
	"os"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

type probe struct{}

func (probe) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "probe", Version: "test", Labels: []string{"probe"},
		Input: sdk.Input{Formats: []sdk.Format{sdk.FormatGRAY8}, MaxWidth: 160, MaxHeight: 90}}, nil
}

func (probe) Detect(_ context.Context, f sdk.Frame) ([]sdk.Detection, error) {
	good := sdk.Detection{Label: "probe", Score: 0.9, Box: sdk.Box{X: 0.4, Y: 0.4, W: 0.2, H: 0.2}}
	switch f.Params["mode"] {
	case "hang":
		time.Sleep(time.Hour)
	case "crash":
		os.Exit(2)
	case "garbage":
		return []sdk.Detection{
			{Label: "probe", Score: math.NaN(), Box: good.Box},
			{Label: "probe", Score: 0.9, Box: sdk.Box{X: 0.8, Y: 0.8, W: 0.5, H: 0.5}},
			{Label: "undeclared", Score: 0.9, Box: good.Box},
			{Label: "probe", Score: 7, Box: good.Box},
			good,
		}, nil
	}
	return []sdk.Detection{good}, nil
}

func main() { sdk.Serve(probe{}) }
