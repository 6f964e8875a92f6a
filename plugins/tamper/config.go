package tamper

import (
	"fmt"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Config holds the rule thresholds. A zero field means its default (see
// ParseConfig for the defaults and the plugin param that sets each).
type Config struct {
	OccludedStd  float64       // occluded_std: contrast below which the lens may be covered (default 8)
	OccludedMean float64       // occluded_mean: a low-contrast frame darker than this is occluded (default 20)
	UniformStd   float64       // uniform_std: a frame flatter than this is occluded at any brightness (default 3)
	DarkMean     float64       // dark_mean: mean luma below which the scene is dark (default 40)
	BlurAbs      float64       // blur_abs: Laplacian variance below which a frame is blurred (default 20)
	BlurRel      float64       // blur_rel: blurred below this fraction of the camera's median sharpness (default 0.25)
	BlurHistory  int           // blur_history: sharp frames seen before blur_rel applies (default 8)
	FrozenDiff   float64       // frozen_diff: mean absolute difference below which a frame is static (default 1)
	FrozenMoved  float64       // frozen_moved: fraction of pixels changed by more than MovedLevel below which nothing moves (default 0.01)
	FrozenSpan   time.Duration // frozen_span: how long the picture must be static (default 10s)
	Hysteresis   int           // hysteresis: consecutive frames to raise and to clear a label (default 3)
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		OccludedStd:  8,
		OccludedMean: 20,
		UniformStd:   3,
		DarkMean:     40,
		BlurAbs:      20,
		BlurRel:      0.25,
		BlurHistory:  8,
		FrozenDiff:   1,
		FrozenMoved:  0.01,
		FrozenSpan:   10 * time.Second,
		Hysteresis:   3,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.OccludedStd, d.OccludedStd)
	set(&c.OccludedMean, d.OccludedMean)
	set(&c.UniformStd, d.UniformStd)
	set(&c.DarkMean, d.DarkMean)
	set(&c.BlurAbs, d.BlurAbs)
	set(&c.BlurRel, d.BlurRel)
	set(&c.FrozenDiff, d.FrozenDiff)
	set(&c.FrozenMoved, d.FrozenMoved)
	if c.BlurHistory == 0 {
		c.BlurHistory = d.BlurHistory
	}
	if c.FrozenSpan == 0 {
		c.FrozenSpan = d.FrozenSpan
	}
	if c.Hysteresis == 0 {
		c.Hysteresis = d.Hysteresis
	}
	return c
}

// ParseConfig reads the thresholds from plugin params (Frame.Params).
// Missing keys keep their defaults; unknown keys are ignored (the host may
// pass params meant for other plugins). Numbers are decimal; frozen_span is
// a Go duration ("10s") or a number of seconds.
//
//	param          default  meaning
//	occluded_std   8        std (contrast) below which the lens may be covered
//	occluded_mean  20       ...and mean below which it is (black cover)
//	uniform_std    3        std below which it is covered at any brightness
//	dark_mean      40       mean below which a scene with contrast is dark
//	blur_abs       20       Laplacian variance below which a frame is blurred
//	blur_rel       0.25     ...or below this fraction of the camera's median
//	blur_history   8        sharp frames needed before blur_rel applies
//	frozen_diff    1        mean abs diff (grey levels) below which a frame is static
//	frozen_moved   0.01     fraction of pixels changed by > 4 levels below which nothing moves
//	frozen_span    10s      how long a static run must last to be frozen
//	hysteresis     3        consecutive frames to raise and to clear a label
func ParseConfig(params map[string]string) (Config, error) {
	c := DefaultConfig()
	err := sdk.ParseParams(params,
		sdk.Float("occluded_std", &c.OccludedStd, 255),
		sdk.Float("occluded_mean", &c.OccludedMean, 255),
		sdk.Float("uniform_std", &c.UniformStd, 255),
		sdk.Float("dark_mean", &c.DarkMean, 255),
		sdk.Float("blur_abs", &c.BlurAbs, 1e6),
		sdk.Float("blur_rel", &c.BlurRel, 1),
		sdk.Float("frozen_diff", &c.FrozenDiff, 255),
		sdk.Float("frozen_moved", &c.FrozenMoved, 1),
		sdk.Int("blur_history", &c.BlurHistory, 1000),
		sdk.Int("hysteresis", &c.Hysteresis, 1000),
		sdk.Custom("frozen_span", func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				secs, err2 := strconv.ParseFloat(s, 64)
				if err2 != nil {
					return fmt.Errorf("%q is not a duration", s)
				}
				d = time.Duration(secs * float64(time.Second))
			}
			if d <= 0 || d > 24*time.Hour {
				return fmt.Errorf("%q is not in (0, 24h]", s)
			}
			c.FrozenSpan = d
			return nil
		}),
	)
	return c, err
}
