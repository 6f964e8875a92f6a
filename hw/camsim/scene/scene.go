// Package scene renders camsim's kitchen scenes with staff, rodents and
// bins, frame by frame, together with the ground truth of every frame: the
// box of each object a detector should find, and the violations the frame
// shows.
//
// The pictures are drawn, not filmed: flat-coloured figures with a round
// head, a white coat or a coloured shirt, a chef's hat, a mask, a phone or a
// cigarette, in a tiled kitchen with a counter, pots and plates; rodents on
// the floor at night, seen by an infrared camera (grey, moderately bright);
// bins with and without a lid. A model trained on them recognises these
// figures and nothing from a real kitchen.
//
// Rendering is deterministic: the same scene, seed and frame index always
// give the same picture. Named scenes (Names) are short loops with one
// thing to see each; "random" composes a new kitchen for every frame, for
// training and evaluation sets (different seeds give different sets).
package scene

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
)

// Size of the rendered frames.
const (
	Width  = 640
	Height = 360
	FPS    = 10
)

// Classes a detector learns from these scenes, in the demo model's order.
var Classes = []string{"person", "chef_hat", "mask", "uniform", "phone", "cigarette", "rodent", "bin_open", "bin_closed"}

// Box is one object in a frame, in pixels of the frame.
type Box struct {
	Class          string
	X0, Y0, X1, Y1 float64
}

// Truth is what one frame shows.
type Truth struct {
	Boxes []Box
	// Violations are the violation types (wire.ViolationTypes) the frame
	// shows, sorted: no_chef_hat, no_mask, no_uniform, phone, smoking,
	// rodent, bin_uncovered.
	Violations []string
}

// Names are the named scenes, each a loop of Frames(name) frames.
func Names() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for n := range named {
			if !yield(n) {
				return
			}
		}
	})
}

// Frames is the length of a named scene's loop, in frames (0 for "random",
// which has no loop).
func Frames(name string) int {
	if name == Random {
		return 0
	}
	return loopFrames
}

// Random is the scene that composes a new kitchen for every frame.
const Random = "random"

// loopFrames is the length of the named scenes (8 s at 10 fps): people walk
// to and fro with this period, so the loop is seamless.
const loopFrames = 80

// person is one figure.
type person struct {
	x, feet, scale float64 // feet centre, pixels; scale 1 is 190 px tall
	walk           float64 // amplitude of the walk, pixels (0 stands)
	phase          float64 // of the walk, 0..1
	hat, mask      bool
	uniform        bool
	phone, smoking bool
	skin, shirt    color.RGBA
	trousers       color.RGBA
}

// rodent runs along the floor.
type rodent struct {
	x, y, speed, scale float64 // speed in px per frame (sign = direction)
}

// bin stands on the floor.
type bin struct {
	x, feet, scale float64
	open           bool
	body           color.RGBA
}

// kitchen is one composition.
type kitchen struct {
	night   bool // infrared picture: grey, no colour
	wall    color.RGBA
	counter color.RGBA
	floor   color.RGBA
	people  []person
	rodents []rodent
	bins    []bin
	noise   float64 // sensor noise amplitude
	seed    uint64
}

var (
	white    = color.RGBA{236, 236, 232, 255}
	maskBlue = color.RGBA{150, 200, 230, 255}
	skins    = []color.RGBA{{224, 182, 150, 255}, {200, 150, 110, 255}, {170, 120, 90, 255}, {236, 200, 170, 255}}
	shirts   = []color.RGBA{{200, 40, 40, 255}, {40, 80, 180, 255}, {40, 140, 60, 255}, {60, 60, 60, 255}, {200, 150, 30, 255}, {120, 50, 140, 255}}
	pants    = []color.RGBA{{40, 40, 50, 255}, {30, 45, 80, 255}, {70, 60, 50, 255}}
)

// staff is a compliant cook at x.
func staff(x, feet, scale float64, i int) person {
	return person{x: x, feet: feet, scale: scale, walk: 60, phase: float64(i) * 0.37,
		hat: true, mask: true, uniform: true, skin: skins[i%len(skins)], trousers: pants[i%len(pants)], shirt: shirts[i%len(shirts)]}
}

func baseKitchen() kitchen {
	return kitchen{wall: color.RGBA{205, 210, 200, 255}, counter: color.RGBA{150, 150, 158, 255}, floor: color.RGBA{170, 160, 140, 255}, noise: 4}
}

// staffKitchen is two compliant cooks and a closed bin.
func staffKitchen() kitchen {
	k := baseKitchen()
	k.people = []person{staff(180, 300, 1, 0), staff(430, 320, 1.05, 1)}
	k.bins = []bin{{x: 590, feet: 330, scale: 1, body: color.RGBA{60, 120, 70, 255}}}
	return k
}

// named are the scenes with one thing to see each, and what they show.
var named = map[string]func() kitchen{
	"staff": staffKitchen,
	"no-hat": func() kitchen {
		k := staffKitchen()
		k.people[1].hat = false
		return k
	},
	"no-mask": func() kitchen {
		k := staffKitchen()
		k.people[1].mask = false
		return k
	},
	"no-uniform": func() kitchen {
		k := staffKitchen()
		k.people[1].uniform = false
		return k
	},
	"phone": func() kitchen {
		k := staffKitchen()
		k.people[1].phone = true
		k.people[1].walk = 20
		return k
	},
	"smoking": func() kitchen {
		k := staffKitchen()
		k.people[1].smoking = true
		k.people[1].mask = false
		k.people[1].walk = 20
		return k
	},
	"rodent": func() kitchen {
		k := baseKitchen()
		k.night = true
		k.rodents = []rodent{{x: 100, y: 320, speed: 5, scale: 1}}
		k.bins = []bin{{x: 590, feet: 330, scale: 1, body: color.RGBA{60, 120, 70, 255}}}
		return k
	},
	"bin-open": func() kitchen {
		k := staffKitchen()
		k.bins[0].open = true
		return k
	},
}

// Render draws frame i of a scene and its truth. For "random", seed and i
// choose the composition; a named scene with a seed other than 0 moves,
// resizes and recolours its people, bins and rodents a little (the same
// for all its frames), so that evaluation clips are not the clips served.
func Render(name string, seed uint64, i int) (*image.RGBA, Truth, error) {
	var k kitchen
	if name == Random {
		k = randomKitchen(rand.New(rand.NewPCG(seed, uint64(i))))
	} else {
		f, ok := named[name]
		if !ok {
			return nil, Truth{}, fmt.Errorf("scene: unknown scene %q (have %v)", name, append(Names(), Random))
		}
		k = f()
		if seed != 0 {
			k.jitter(rand.New(rand.NewPCG(seed, 0)))
		}
	}
	k.seed = seed<<20 ^ uint64(i)
	img, t := k.draw(i)
	return img, t, nil
}

func pick[T any](r *rand.Rand, v []T) T { return v[r.IntN(len(v))] }

func randomKitchen(r *rand.Rand) kitchen {
	k := kitchen{
		night:   r.Float64() < 0.2,
		wall:    color.RGBA{uint8(170 + r.IntN(60)), uint8(170 + r.IntN(60)), uint8(160 + r.IntN(60)), 255},
		counter: color.RGBA{uint8(110 + r.IntN(70)), uint8(110 + r.IntN(70)), uint8(110 + r.IntN(70)), 255},
		floor:   color.RGBA{uint8(120 + r.IntN(80)), uint8(110 + r.IntN(80)), uint8(100 + r.IntN(70)), 255},
		noise:   2 + 6*r.Float64(),
	}
	n := r.IntN(4)
	if k.night {
		n = r.IntN(2)
	}
	// people, and bins, stand apart: a figure hidden behind another is not
	// one a detector can be asked to find
	var taken []float64
	free := func(width float64) (float64, bool) {
		for range 20 {
			x := 50 + r.Float64()*540
			if !slices.ContainsFunc(taken, func(t float64) bool { return math.Abs(t-x) < width }) {
				taken = append(taken, x)
				return x, true
			}
		}
		return 0, false
	}
	for range n {
		x, ok := free(80)
		if !ok {
			break
		}
		p := person{
			x: x, feet: 270 + r.Float64()*85, scale: 0.8 + 0.4*r.Float64(),
			phase: r.Float64(), hat: r.Float64() < 0.65, mask: r.Float64() < 0.65, uniform: r.Float64() < 0.65,
			skin: pick(r, skins), shirt: pick(r, shirts), trousers: pick(r, pants),
		}
		switch v := r.Float64(); {
		case v < 0.15:
			p.phone = true
		case v < 0.28:
			p.smoking, p.mask = true, false
		}
		k.people = append(k.people, p)
	}
	if k.night || r.Float64() < 0.15 {
		for range 1 + r.IntN(2) {
			sp := 3 + 4*r.Float64()
			if r.IntN(2) == 0 {
				sp = -sp
			}
			k.rodents = append(k.rodents, rodent{x: 30 + r.Float64()*580, y: 290 + r.Float64()*65, speed: sp, scale: 0.8 + 0.5*r.Float64()})
		}
	}
	for range r.IntN(3) {
		x, ok := free(70)
		if !ok {
			break
		}
		k.bins = append(k.bins, bin{x: x, feet: 280 + r.Float64()*75, scale: 0.8 + 0.4*r.Float64(),
			open: r.IntN(2) == 0, body: pick(r, []color.RGBA{{60, 120, 70, 255}, {90, 90, 95, 255}, {40, 70, 140, 255}, {150, 110, 40, 255}})})
	}
	return k
}

// jitter moves, resizes and recolours what a named scene shows.
func (k *kitchen) jitter(r *rand.Rand) {
	j := func(v, by float64) float64 { return v + (2*r.Float64()-1)*by }
	k.wall = color.RGBA{uint8(170 + r.IntN(60)), uint8(170 + r.IntN(60)), uint8(160 + r.IntN(60)), 255}
	k.floor = color.RGBA{uint8(120 + r.IntN(80)), uint8(110 + r.IntN(80)), uint8(100 + r.IntN(70)), 255}
	for i := range k.people {
		p := &k.people[i]
		p.x, p.feet, p.scale = j(p.x, 30), j(p.feet, 15), j(p.scale, 0.12)
		p.phase = r.Float64()
		p.skin, p.shirt, p.trousers = pick(r, skins), pick(r, shirts), pick(r, pants)
	}
	for i := range k.bins {
		b := &k.bins[i]
		b.x, b.feet, b.scale = j(b.x, 20), j(b.feet, 15), j(b.scale, 0.15)
	}
	for i := range k.rodents {
		o := &k.rodents[i]
		o.x, o.y, o.scale = j(o.x, 80), j(o.y, 20), j(o.scale, 0.2)
	}
}
