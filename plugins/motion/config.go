package motion

import "github.com/brightkitchen/brightkitchen/plugins/sdk"

// Config holds the detector's settings. A zero field means its default
// (see ParseConfig for the defaults and the plugin param that sets each).
type Config struct {
	Threshold  float64 // threshold: grey levels from the background that make a pixel foreground (default 15)
	MinArea    float64 // min_area: smallest region, fraction of the frame (default 0.002)
	MaxBoxes   int     // max_boxes: most regions returned, largest first (default 32)
	Alpha      float64 // alpha: background learning rate per frame (default 0.05)
	Jump       float64 // jump: global mean change (grey levels) that resets the background (default 25)
	MaxChanged float64 // max_changed: fraction of foreground pixels that resets the background (default 0.6)
	Warmup     int     // warmup: frames that only build the background after a (re)start (default 3)
	// ghost_frames: frames a still foreground region waits before it is
	// taken into the background (default 3)
	GhostFrames int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Threshold:   15,
		MinArea:     0.002,
		MaxBoxes:    32,
		Alpha:       0.05,
		Jump:        25,
		MaxChanged:  0.6,
		Warmup:      3,
		GhostFrames: 3,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Threshold == 0 {
		c.Threshold = d.Threshold
	}
	if c.MinArea == 0 {
		c.MinArea = d.MinArea
	}
	if c.MaxBoxes == 0 {
		c.MaxBoxes = d.MaxBoxes
	}
	if c.Alpha == 0 {
		c.Alpha = d.Alpha
	}
	if c.Jump == 0 {
		c.Jump = d.Jump
	}
	if c.MaxChanged == 0 {
		c.MaxChanged = d.MaxChanged
	}
	if c.Warmup == 0 {
		c.Warmup = d.Warmup
	}
	if c.GhostFrames == 0 {
		c.GhostFrames = d.GhostFrames
	}
	return c
}

// ParseConfig reads the settings from plugin params (Frame.Params). Missing
// keys keep their defaults; unknown keys are ignored (the host may pass
// params meant for other plugins).
//
//	param        default  meaning
//	threshold    15       grey levels from the background that make a pixel foreground
//	min_area     0.002    smallest region reported, fraction of the frame (0.2%)
//	max_boxes    32       most regions returned, largest first
//	alpha        0.05     background learning rate per frame (1/20: ~4 s at 5 fps)
//	jump         25       global mean change (grey levels) treated as lightning: reset, report nothing
//	max_changed  0.6      fraction of changed pixels treated likewise
//	warmup       3        frames that only build the background after a (re)start
//	ghost_frames 3        frames a still foreground region (a ghost, a stopped thing) waits before it joins the background
func ParseConfig(params map[string]string) (Config, error) {
	c := DefaultConfig()
	err := sdk.ParseParams(params,
		sdk.Float("threshold", &c.Threshold, 255),
		sdk.Float("min_area", &c.MinArea, 1),
		sdk.Float("alpha", &c.Alpha, 1),
		sdk.Float("jump", &c.Jump, 255),
		sdk.Float("max_changed", &c.MaxChanged, 1),
		sdk.Int("max_boxes", &c.MaxBoxes, 1024),
		sdk.Int("warmup", &c.Warmup, 1000),
		sdk.Int("ghost_frames", &c.GhostFrames, 255),
	)
	return c, err
}
