package snapshot

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"
)

// grey is a flat mid-grey frame, so anything coloured was drawn.
func grey(w, h int) []byte {
	return bytes.Repeat([]byte{128}, w*h)
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode JPEG: %v", err)
	}
	return img
}

// near reports whether the pixel at (x, y) is close to c (JPEG is lossy).
func near(img image.Image, x, y int, c color.RGBA) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	d := func(a uint32, b uint8) float64 { return math.Abs(float64(a>>8) - float64(b)) }
	return d(r, c.R) < 60 && d(g, c.G) < 60 && d(b, c.B) < 60
}

func isGrey(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return max(r, g, b)>>8-min(r, g, b)>>8 < 20
}

func TestAnnotate(t *testing.T) {
	const w, h = 320, 180
	img := FromGray(w, h, grey(w, h))
	boxes := []Labeled{
		{Box: Box{X: 0.25, Y: 0.5, W: 0.5, H: 0.4}, Label: "no_mask", Score: 0.87},
		{Box: Box{X: 0.8, Y: 0.1, W: 0.5, H: 0.3}, Label: "motion", Score: 0.5},   // past the right edge
		{Box: Box{X: -0.2, Y: -0.2, W: 0.3, H: 0.3}, Label: "rodent", Score: 0.6}, // past the top-left corner
		{Box: Box{X: 2, Y: 2, W: 0.1, H: 0.1}, Label: "outside", Score: 1},        // entirely outside: skipped
		{Box: Box{X: math.NaN(), Y: 0, W: 0.1, H: 0.1}, Label: "nan", Score: 1},   // skipped
	}
	b, err := Annotate(img, boxes, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := decode(t, b)
	if out.Bounds() != image.Rect(0, 0, w, h) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	mask := Colour("no_mask")
	// box 0 spans x 80..240, y 90..162: its outline is on the left edge
	// and the bottom; its inside and outside are untouched
	for _, p := range []image.Point{{81, 130}, {238, 130}, {160, 160}} {
		if !near(out, p.X, p.Y, mask) {
			t.Errorf("outline pixel %v is %v, want near %v", p, out.At(p.X, p.Y), mask)
		}
	}
	for _, p := range []image.Point{{160, 130}, {40, 130}, {160, 175}} {
		if !isGrey(out, p.X, p.Y) {
			t.Errorf("pixel %v is %v, want untouched grey", p, out.At(p.X, p.Y))
		}
	}
	// the tag sits above the box, filled with the box's colour
	if !near(out, 81, 80, mask) {
		t.Errorf("tag background at (81, 80) is %v", out.At(81, 80))
	}
	// box 1 is clamped at the right edge: its outline runs down x = w-1
	motion := Colour("motion")
	if !near(out, w-2, 40, motion) {
		t.Errorf("clamped right edge is %v, want %v", out.At(w-2, 40), motion)
	}
	// box 2 is clamped at the top-left corner: outline along x = 0 and
	// its bottom at y = 0.1*h = 18
	rodent := Colour("rodent")
	if !near(out, 1, 10, rodent) || !near(out, 20, 17, rodent) {
		t.Errorf("clamped corner box: %v %v, want %v", out.At(1, 10), out.At(20, 17), rodent)
	}
}

func TestAnnotateEmpty(t *testing.T) {
	b, err := Annotate(FromGray(64, 48, grey(64, 48)), nil, 95)
	if err != nil {
		t.Fatal(err)
	}
	out := decode(t, b)
	if out.Bounds().Dx() != 64 || out.Bounds().Dy() != 48 || !isGrey(out, 10, 10) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if _, err := Annotate(nil, nil, 0); !errors.Is(err, ErrNoImage) {
		t.Fatalf("nil image: %v", err)
	}
	if _, err := Annotate(image.NewGray(image.Rect(0, 0, 0, 0)), nil, 0); !errors.Is(err, ErrNoImage) {
		t.Fatalf("empty image: %v", err)
	}
}

func TestFromRaw(t *testing.T) {
	const w, h = 5, 3 // odd, to check the chroma plane sizes
	t.Run("gray", func(t *testing.T) {
		data := make([]byte, w*h)
		data[2*w+4] = 200
		img := FromGray(w, h, data)
		if g := img.At(4, 2).(color.Gray).Y; g != 200 {
			t.Fatalf("At = %d", g)
		}
		data[0] = 7 // shares the buffer
		if g := img.At(0, 0).(color.Gray).Y; g != 7 {
			t.Fatal("copied the data")
		}
	})
	t.Run("rgb24", func(t *testing.T) {
		data := make([]byte, w*h*3)
		copy(data[(1*w+2)*3:], []byte{10, 20, 30})
		img := FromRGB24(w, h, data)
		if c := img.At(2, 1); c != (color.RGBA{10, 20, 30, 255}) {
			t.Fatalf("At = %v", c)
		}
		if c := img.At(w, 0); c != (color.RGBA{}) {
			t.Fatalf("outside = %v", c)
		}
	})
	t.Run("i420", func(t *testing.T) {
		cw, ch := 3, 2
		data := make([]byte, w*h+2*cw*ch)
		for i := range data {
			data[i] = byte(i)
		}
		img, ok := FromI420(w, h, data).(*image.YCbCr)
		if !ok {
			t.Fatal("not a YCbCr")
		}
		if len(img.Y) != w*h || len(img.Cb) != cw*ch || len(img.Cr) != cw*ch || &img.Y[0] != &data[0] || &img.Cr[0] != &data[w*h+cw*ch] {
			t.Fatal("planes not sliced from data")
		}
		if c := img.YCbCrAt(4, 2); c.Y != byte(2*w+4) || c.Cb != byte(w*h+1*cw+2) || c.Cr != byte(w*h+cw*ch+1*cw+2) {
			t.Fatalf("YCbCrAt(4,2) = %v", c)
		}
		if _, err := Annotate(img, []Labeled{{Box: Box{X: 0, Y: 0, W: 1, H: 1}, Label: "x", Score: 1}}, 50); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("short or bad", func(t *testing.T) {
		for _, img := range []image.Image{
			FromGray(w, h, make([]byte, w*h-1)),
			FromRGB24(w, h, make([]byte, w*h*3-1)),
			FromI420(w, h, make([]byte, w*h+2*3*2-1)),
			FromGray(0, h, nil),
			FromGray(-1, -1, nil),
			FromI420(1<<20, 1<<20, nil),
		} {
			if img != nil {
				t.Fatalf("got %T for bad input", img)
			}
		}
	})
}

func TestAnnotateFormatsAgree(t *testing.T) {
	const w, h = 64, 36
	rgb := bytes.Repeat([]byte{128}, w*h*3)
	i420 := append(bytes.Repeat([]byte{128}, w*h), bytes.Repeat([]byte{128}, w*h/2)...)
	boxes := []Labeled{{Box: Box{X: 0.1, Y: 0.1, W: 0.5, H: 0.5}, Label: "smoking", Score: 0.9}}
	for name, img := range map[string]image.Image{
		"gray": FromGray(w, h, grey(w, h)), "rgb24": FromRGB24(w, h, rgb), "i420": FromI420(w, h, i420),
	} {
		b, err := Annotate(img, boxes, 90)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := decode(t, b)
		if !near(out, 7, 12, Colour("smoking")) || !isGrey(out, 60, 30) {
			t.Errorf("%s: outline %v, background %v", name, out.At(7, 12), out.At(60, 30))
		}
	}
}

func TestTagText(t *testing.T) {
	for in, want := range map[string]string{
		"no_mask": "no_mask 0.87",
		"口罩":      "?? 0.87",
		"":        "0.87",
	} {
		if got := tagText(in, 0.871); got != want {
			t.Errorf("tagText(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkAnnotate640x360(b *testing.B) {
	const w, h = 640, 360
	data := make([]byte, w*h*3/2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	img := FromI420(w, h, data)
	boxes := []Labeled{
		{Box: Box{X: 0.1, Y: 0.2, W: 0.3, H: 0.5}, Label: "no_mask", Score: 0.87},
		{Box: Box{X: 0.5, Y: 0.4, W: 0.2, H: 0.5}, Label: "no_chef_hat", Score: 0.66},
		{Box: Box{X: 0.7, Y: 0.7, W: 0.1, H: 0.1}, Label: "rodent", Score: 0.55},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Annotate(img, boxes, 0); err != nil {
			b.Fatal(err)
		}
	}
}
