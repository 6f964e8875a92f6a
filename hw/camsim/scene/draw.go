package scene

import (
	"cmp"
	"image"
	"image/color"
	"math"
	"slices"
)

// canvas is a frame being drawn.
//
// The race detector is off (the norace directive) for its pixel loops:
// rect, ellipse, and infrared and noise below. make test runs with
// -race, and there every access to the picture was checked, one call
// each: a frame is 230,400 pixels, and rendering took 10 ms a frame
// against 3 without it (the held-out evaluation and the scene tests
// render some 3,000). They touch only the picture being drawn, which
// Render made and has not returned yet, and their own locals: nothing
// another goroutine can see. They do not call copy: under -race the
// runtime checks a copy's ranges whatever the caller.
type canvas struct{ img *image.RGBA }

//go:norace
func (c canvas) rect(x0, y0, x1, y1 float64, col color.RGBA) {
	r := image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1))).Intersect(c.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		p := c.img.Pix[y*c.img.Stride+4*r.Min.X : y*c.img.Stride+4*r.Max.X]
		for i := 0; i+3 < len(p); i += 4 {
			p[i], p[i+1], p[i+2], p[i+3] = col.R, col.G, col.B, 255
		}
	}
}

// ellipse fills the ellipse of centre (cx, cy) and radii rx, ry; alpha in
// 0..1 blends it over what is there.
//
//go:norace
func (c canvas) ellipse(cx, cy, rx, ry float64, col color.RGBA, alpha float64) {
	r := image.Rect(int(cx-rx), int(cy-ry), int(cx+rx)+1, int(cy+ry)+1).Intersect(c.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		p := c.img.Pix[y*c.img.Stride+4*r.Min.X : y*c.img.Stride+4*r.Max.X]
		dy := (float64(y) + 0.5 - cy) / ry
		for x := r.Min.X; x < r.Max.X; x++ {
			dx := (float64(x) + 0.5 - cx) / rx
			if dx*dx+dy*dy > 1 {
				continue
			}
			i := 4 * (x - r.Min.X)
			p[i] = uint8(float64(p[i])*(1-alpha) + float64(col.R)*alpha)
			p[i+1] = uint8(float64(p[i+1])*(1-alpha) + float64(col.G)*alpha)
			p[i+2] = uint8(float64(p[i+2])*(1-alpha) + float64(col.B)*alpha)
		}
	}
}

func shade(c color.RGBA, f float64) color.RGBA {
	s := func(v uint8) uint8 { return uint8(min(max(float64(v)*f, 0), 255)) }
	return color.RGBA{s(c.R), s(c.G), s(c.B), 255}
}

// draw renders frame i of k.
func (k kitchen) draw(i int) (*image.RGBA, Truth) {
	c := canvas{image.NewRGBA(image.Rect(0, 0, Width, Height))}
	k.background(c)
	type item struct {
		feet float64
		draw func() []Box
	}
	var items []item
	var t Truth
	seen := map[string]bool{}
	for _, p := range k.people {
		x := p.x + p.walk*math.Sin(2*math.Pi*(float64(i)/loopFrames+p.phase))
		items = append(items, item{p.feet, func() []Box { return p.draw(c, x) }})
		seen["no_chef_hat"] = seen["no_chef_hat"] || !p.hat
		seen["no_mask"] = seen["no_mask"] || !p.mask
		seen["no_uniform"] = seen["no_uniform"] || !p.uniform
		seen["phone"] = seen["phone"] || p.phone
		seen["smoking"] = seen["smoking"] || p.smoking
	}
	for _, r := range k.rodents {
		x := math.Mod(r.x+r.speed*float64(i), Width+60)
		if x < 0 {
			x += Width + 60
		}
		x -= 30
		items = append(items, item{r.y, func() []Box { return r.draw(c, x) }})
	}
	for _, b := range k.bins {
		items = append(items, item{b.feet, func() []Box { return b.draw(c) }})
		seen["bin_uncovered"] = seen["bin_uncovered"] || b.open
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.feet, b.feet) })
	for _, it := range items {
		for _, b := range it.draw() {
			if b, ok := clip(b); ok {
				t.Boxes = append(t.Boxes, b)
				if b.Class == "rodent" {
					seen["rodent"] = true
				}
			}
		}
	}
	if k.night {
		infrared(c.img)
	}
	noise(c.img, k.seed, k.noise)
	for v, ok := range seen {
		if ok {
			t.Violations = append(t.Violations, v)
		}
	}
	slices.Sort(t.Violations)
	return c.img, t
}

// clip cuts a box to the frame; a box less than half inside is dropped (a
// rodent running out of the picture is no longer one to find).
func clip(b Box) (Box, bool) {
	area := (b.X1 - b.X0) * (b.Y1 - b.Y0)
	c := Box{b.Class, max(b.X0, 0), max(b.Y0, 0), min(b.X1, Width), min(b.Y1, Height)}
	if c.X1 <= c.X0 || c.Y1 <= c.Y0 || (c.X1-c.X0)*(c.Y1-c.Y0) < area/2 {
		return Box{}, false
	}
	return c, true
}

// background draws the tiled wall, the counter with pots and plates, and
// the floor.
func (k kitchen) background(c canvas) {
	c.rect(0, 0, Width, 230, k.wall)
	line := shade(k.wall, 0.85)
	for y := 10.0; y < 150; y += 22 {
		c.rect(0, y, Width, y+1, line)
	}
	for x := 8.0; x < Width; x += 22 {
		c.rect(x, 0, x+1, 150, line)
	}
	c.rect(0, 230, Width, Height, k.floor)
	fl := shade(k.floor, 0.88)
	for y := 245.0; y < Height; y += 10 + (y-230)/6 {
		c.rect(0, y, Width, y+2, fl)
	}
	// the range hood and the counter along the back wall
	c.rect(230, 20, 420, 70, shade(k.counter, 1.15))
	c.rect(0, 150, Width, 165, shade(k.counter, 1.2))
	c.rect(0, 165, Width, 230, k.counter)
	c.rect(250, 150, 400, 165, color.RGBA{40, 40, 45, 255}) // stove top
	for _, x := range []float64{40, 120, 480, 560} {        // cupboard doors
		c.rect(x, 172, x+60, 224, shade(k.counter, 0.9))
		c.rect(x+26, 190, x+34, 194, shade(k.counter, 0.6))
	}
	// pots on the stove, plates and a bowl on the counter: white and dark
	// shapes that are not hats nor bins
	c.rect(265, 118, 315, 150, color.RGBA{70, 70, 75, 255})
	c.rect(255, 124, 265, 128, color.RGBA{50, 50, 55, 255})
	c.rect(335, 128, 385, 150, color.RGBA{150, 150, 155, 255})
	c.ellipse(70, 146, 26, 5, white, 1)
	c.ellipse(150, 146, 22, 5, white, 1)
	c.ellipse(520, 140, 18, 10, white, 1)
	c.rect(560, 130, 620, 150, color.RGBA{180, 140, 90, 255}) // cutting board
}

// draw draws a person standing with feet centred at (x, p.feet) and
// returns the boxes of the person and of what they wear and hold.
func (p person) draw(c canvas, x float64) []Box {
	h := 190 * p.scale
	top := p.feet - h // top of the head
	at := func(f float64) float64 { return top + f*h }
	body := p.shirt
	if p.uniform {
		body = white
	}
	// legs and shoes
	c.rect(x-0.12*h, at(0.58), x-0.02*h, p.feet, p.trousers)
	c.rect(x+0.02*h, at(0.58), x+0.12*h, p.feet, p.trousers)
	c.rect(x-0.13*h, p.feet-0.03*h, x-0.01*h, p.feet, color.RGBA{25, 25, 25, 255})
	c.rect(x+0.01*h, p.feet-0.03*h, x+0.13*h, p.feet, color.RGBA{25, 25, 25, 255})
	// torso and arms
	c.rect(x-0.15*h, at(0.19), x+0.15*h, at(0.60), body)
	c.rect(x-0.19*h, at(0.20), x-0.15*h, at(0.50), shade(body, 0.92))
	if !p.phone {
		c.rect(x+0.15*h, at(0.20), x+0.19*h, at(0.50), shade(body, 0.92))
		c.ellipse(x+0.17*h, at(0.515), 0.025*h, 0.025*h, p.skin, 1)
	}
	c.ellipse(x-0.17*h, at(0.515), 0.025*h, 0.025*h, p.skin, 1)
	if p.uniform { // collar and buttons of the coat
		c.rect(x-0.05*h, at(0.19), x+0.05*h, at(0.22), shade(white, 0.85))
		for _, f := range []float64{0.28, 0.38, 0.48} {
			c.ellipse(x, at(f), 0.012*h, 0.012*h, color.RGBA{90, 90, 90, 255}, 1)
		}
	}
	// neck and head
	c.rect(x-0.03*h, at(0.16), x+0.03*h, at(0.20), p.skin)
	c.ellipse(x, at(0.10), 0.075*h, 0.075*h, p.skin, 1)
	c.rect(x-0.035*h, at(0.085), x-0.02*h, at(0.095), color.RGBA{30, 30, 30, 255}) // eyes
	c.rect(x+0.02*h, at(0.085), x+0.035*h, at(0.095), color.RGBA{30, 30, 30, 255})
	personTop := at(0.025)
	var boxes []Box
	if p.uniform {
		boxes = append(boxes, Box{"uniform", x - 0.19*h, at(0.19), x + 0.19*h, at(0.60)})
	}
	if p.hat {
		c.rect(x-0.075*h, at(0.015), x+0.075*h, at(0.06), white)
		c.ellipse(x, at(-0.03), 0.09*h, 0.06*h, white, 1)
		c.rect(x-0.075*h, at(0.045), x+0.075*h, at(0.055), shade(white, 0.85))
		boxes = append(boxes, Box{"chef_hat", x - 0.09*h, at(-0.09), x + 0.09*h, at(0.06)})
		personTop = at(-0.09)
	} else { // hair
		c.ellipse(x, at(0.045), 0.07*h, 0.03*h, color.RGBA{35, 30, 28, 255}, 1)
	}
	if p.mask {
		c.rect(x-0.06*h, at(0.11), x+0.06*h, at(0.165), maskBlue)
		c.rect(x-0.075*h, at(0.115), x-0.06*h, at(0.12), maskBlue)
		c.rect(x+0.06*h, at(0.115), x+0.075*h, at(0.12), maskBlue)
		boxes = append(boxes, Box{"mask", x - 0.06*h, at(0.11), x + 0.06*h, at(0.165)})
	} else { // mouth
		c.rect(x-0.02*h, at(0.135), x+0.02*h, at(0.145), color.RGBA{150, 70, 70, 255})
	}
	if p.phone { // forearm up, phone in the hand in front of the chest
		c.rect(x+0.15*h, at(0.20), x+0.19*h, at(0.36), shade(body, 0.92))
		c.rect(x+0.07*h, at(0.33), x+0.19*h, at(0.37), shade(body, 0.92))
		c.ellipse(x+0.07*h, at(0.35), 0.025*h, 0.025*h, p.skin, 1)
		c.rect(x+0.03*h, at(0.26), x+0.09*h, at(0.36), color.RGBA{25, 25, 30, 255})
		c.rect(x+0.038*h, at(0.27), x+0.082*h, at(0.345), color.RGBA{90, 170, 235, 255})
		boxes = append(boxes, Box{"phone", x + 0.03*h, at(0.26), x + 0.09*h, at(0.36)})
	}
	if p.smoking { // a lit cigarette from the mouth, smoke above its tip
		c.rect(x+0.02*h, at(0.13), x+0.12*h, at(0.152), color.RGBA{245, 245, 240, 255})
		c.rect(x+0.12*h, at(0.13), x+0.145*h, at(0.152), color.RGBA{255, 110, 20, 255})
		for j, f := range []float64{0.10, 0.06, 0.02} {
			c.ellipse(x+0.135*h+float64(j)*0.02*h, at(f), 0.02*h+float64(j)*0.005*h, 0.018*h, color.RGBA{200, 200, 205, 255}, 0.5)
		}
		boxes = append(boxes, Box{"cigarette", x + 0.02*h, at(0.125), x + 0.145*h, at(0.157)})
	}
	return append([]Box{{"person", x - 0.19*h, personTop, x + 0.19*h, p.feet}}, boxes...)
}

// draw draws a rodent with its belly on y, head towards where it runs.
func (r rodent) draw(c canvas, x float64) []Box {
	s := r.scale
	dir := 1.0
	if r.speed < 0 {
		dir = -1
	}
	fur := color.RGBA{95, 80, 70, 255}
	c.rect(min(x-dir*13*s, x-dir*30*s), r.y-4*s, max(x-dir*13*s, x-dir*30*s), r.y-2.5*s, color.RGBA{120, 95, 90, 255}) // tail
	c.ellipse(x, r.y-6*s, 13*s, 7*s, fur, 1)
	c.ellipse(x+dir*14*s, r.y-6*s, 7*s, 5*s, shade(fur, 1.1), 1)
	c.ellipse(x+dir*11*s, r.y-11*s, 3*s, 3*s, color.RGBA{150, 110, 110, 255}, 1) // ear
	c.ellipse(x+dir*17*s, r.y-7*s, 1.3*s, 1.3*s, color.RGBA{10, 10, 10, 255}, 1) // eye
	x0, x1 := x-13*s, x+21*s
	if dir < 0 {
		x0, x1 = x-21*s, x+13*s
	}
	return []Box{{"rodent", x0, r.y - 14*s, x1, r.y}}
}

// draw draws a bin standing at (b.x, b.feet), with its lid or open.
func (b bin) draw(c canvas) []Box {
	s, x, f := b.scale, b.x, b.feet
	c.rect(x-25*s, f-70*s, x+25*s, f, b.body)
	for _, d := range []float64{-12, 0, 12} {
		c.rect(x+(d-1.5)*s, f-62*s, x+(d+1.5)*s, f-6*s, shade(b.body, 0.8))
	}
	if !b.open {
		c.rect(x-28*s, f-78*s, x+28*s, f-70*s, shade(b.body, 0.7))
		c.rect(x-8*s, f-82*s, x+8*s, f-78*s, shade(b.body, 0.5))
		return []Box{{"bin_closed", x - 28*s, f - 82*s, x + 28*s, f}}
	}
	c.rect(x-10*s, f-80*s, x+2*s, f-68*s, color.RGBA{235, 235, 225, 255}) // paper
	c.rect(x+6*s, f-78*s, x+16*s, f-69*s, color.RGBA{90, 160, 60, 255})   // leaves
	c.ellipse(x, f-70*s, 25*s, 6*s, color.RGBA{30, 25, 20, 255}, 1)
	c.rect(x-4*s, f-76*s, x+8*s, f-70*s, color.RGBA{200, 120, 60, 255}) // scraps
	return []Box{{"bin_open", x - 25*s, f - 80*s, x + 25*s, f}}
}

// infrared turns the picture into what a camera in infrared night mode
// sees: grey, flat, moderately bright.
//
//go:norace
func infrared(img *image.RGBA) {
	for i := 0; i+3 < len(img.Pix); i += 4 {
		p := img.Pix[i : i+3]
		g := 0.3*float64(p[0]) + 0.59*float64(p[1]) + 0.11*float64(p[2])
		v := uint8(35 + 0.55*g)
		p[0], p[1], p[2] = v, v, v
	}
}

// noise adds sensor noise of amplitude a, the same for the same seed.
//
//go:norace
func noise(img *image.RGBA, seed uint64, a float64) {
	h := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i+3 < len(img.Pix); i += 4 {
		h ^= h << 13
		h ^= h >> 7
		h ^= h << 17
		d := (float64(h&0xff)/255 - 0.5) * 2 * a
		for j := range 3 {
			img.Pix[i+j] = uint8(min(max(float64(img.Pix[i+j])+d, 0), 255))
		}
	}
}
