// Package snapshot makes the annotated JPEG that goes with a violation: the
// frame that started the episode, with each box outlined in a colour of its
// label and a tag "label 0.87" above it.
//
// The From* helpers wrap raw decoder output (GRAY8, RGB24, I420) as an
// image.Image without copying the pixels. JPEG is made only here, for
// snapshots; detectors are fed raw frames.
package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/brightkitchen/brightkitchen/gateway/rules"
)

// DefaultQuality is the JPEG quality used when Annotate is given 0.
const DefaultQuality = 80

// MaxBoxes is the most boxes Annotate draws; the rest are ignored.
const MaxBoxes = 256

// maxPixels bounds the pictures Annotate accepts (8K UHD).
const maxPixels = 7680 * 4320

// ErrNoImage is returned for a nil or empty image.
var ErrNoImage = errors.New("snapshot: no image")

// Box is a normalised rectangle (the rules' box): X, Y, W, H in 0..1.
type Box = rules.Box

// Labeled is a box to draw with its label and score.
type Labeled struct {
	Box
	// Label is drawn above the box, followed by the score; it also picks
	// the colour. Non-ASCII characters are drawn as "?".
	Label string
	// Score is drawn with two decimals, e.g. "0.87".
	Score float64
}

// palette holds distinct, saturated colours that read on kitchen scenes.
var palette = []color.RGBA{
	{230, 25, 75, 255},   // red
	{60, 180, 75, 255},   // green
	{255, 225, 25, 255},  // yellow
	{0, 130, 200, 255},   // blue
	{245, 130, 48, 255},  // orange
	{145, 30, 180, 255},  // purple
	{70, 240, 240, 255},  // cyan
	{240, 50, 230, 255},  // magenta
	{210, 245, 60, 255},  // lime
	{0, 128, 128, 255},   // teal
	{170, 110, 40, 255},  // brown
	{128, 0, 0, 255},     // maroon
	{0, 0, 128, 255},     // navy
	{255, 250, 200, 255}, // beige
}

// Colour is the colour boxes of label are drawn in: always the same for
// one label.
func Colour(label string) color.RGBA {
	h := fnv.New32a()
	h.Write([]byte(label))
	return palette[h.Sum32()%uint32(len(palette))]
}

// Annotate draws boxes on a copy of img and encodes it as JPEG at quality
// (1..100; 0 means DefaultQuality). Boxes are clamped to the picture; boxes
// entirely outside it, or with NaN coordinates, are skipped.
func Annotate(img image.Image, boxes []Labeled, quality int) ([]byte, error) {
	if img == nil {
		return nil, ErrNoImage
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, ErrNoImage
	}
	if b.Dx()*b.Dy() > maxPixels || b.Dx() > 1<<15 || b.Dy() > 1<<15 {
		return nil, fmt.Errorf("snapshot: %dx%d picture is too large", b.Dx(), b.Dy())
	}
	if quality == 0 {
		quality = DefaultQuality
	}
	quality = min(max(quality, 1), 100)

	dst := toRGBA(img)
	thick := max(2, min(3, min(dst.Rect.Dx(), dst.Rect.Dy())/120))
	for _, l := range boxes[:min(len(boxes), MaxBoxes)] {
		r, ok := pixelRect(l.Box, dst.Rect)
		if !ok {
			continue
		}
		c := Colour(l.Label)
		outline(dst, r, thick, c)
		tag(dst, r, l.Label, l.Score, c)
	}

	var buf bytes.Buffer
	buf.Grow(dst.Rect.Dx() * dst.Rect.Dy() / 8)
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// pixelRect maps a normalised box onto bounds, clamped; false when nothing
// of it is inside.
func pixelRect(bx Box, bounds image.Rectangle) (image.Rectangle, bool) {
	for _, v := range []float64{bx.X, bx.Y, bx.W, bx.H} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return image.Rectangle{}, false
		}
	}
	w, h := float64(bounds.Dx()), float64(bounds.Dy())
	clampPx := func(v, size float64) int { return int(math.Round(math.Min(math.Max(v, -1), 2) * size)) }
	r := image.Rect(
		bounds.Min.X+clampPx(bx.X, w), bounds.Min.Y+clampPx(bx.Y, h),
		bounds.Min.X+clampPx(bx.X+bx.W, w), bounds.Min.Y+clampPx(bx.Y+bx.H, h),
	).Intersect(bounds)
	if r.Empty() {
		// a box thinner than a pixel is still worth a mark
		if bx.W >= 0 && bx.H >= 0 {
			p := image.Pt(bounds.Min.X+clampPx(bx.X, w), bounds.Min.Y+clampPx(bx.Y, h))
			r = image.Rect(p.X, p.Y, p.X+1, p.Y+1).Intersect(bounds)
		}
		if r.Empty() {
			return image.Rectangle{}, false
		}
	}
	return r, true
}

// outline draws the border of r, thick pixels wide, inside r.
func outline(dst *image.RGBA, r image.Rectangle, thick int, c color.RGBA) {
	u := image.NewUniform(c)
	t := min(thick, r.Dx(), r.Dy())
	for _, s := range []image.Rectangle{
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), // top
		image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), // bottom
		image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), // left
		image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), // right
	} {
		draw.Draw(dst, s, u, image.Point{}, draw.Src)
	}
}

var face = basicfont.Face7x13

// tag draws "label 0.87" on a filled background above r, or inside its top
// when there is no room above; it is kept within the picture.
func tag(dst *image.RGBA, r image.Rectangle, label string, score float64, c color.RGBA) {
	text := tagText(label, score)
	const padX, padY = 3, 2
	tw := font.MeasureString(face, text).Ceil()
	th := face.Height
	bg := image.Rect(0, 0, tw+2*padX, th+2*padY)
	at := image.Pt(r.Min.X, r.Min.Y-bg.Dy())
	if at.Y < dst.Rect.Min.Y {
		at.Y = r.Min.Y
	}
	bg = bg.Add(at)
	if bg.Max.X > dst.Rect.Max.X { // slide left to stay inside
		bg = bg.Sub(image.Pt(bg.Max.X-dst.Rect.Max.X, 0))
	}
	if bg.Min.X < dst.Rect.Min.X {
		bg = bg.Add(image.Pt(dst.Rect.Min.X-bg.Min.X, 0))
	}
	if bg.Max.Y > dst.Rect.Max.Y {
		bg = bg.Sub(image.Pt(0, bg.Max.Y-dst.Rect.Max.Y))
	}
	draw.Draw(dst, bg.Intersect(dst.Rect), image.NewUniform(c), image.Point{}, draw.Src)
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(textColour(c)),
		Face: face,
		Dot:  fixed.P(bg.Min.X+padX, bg.Min.Y+padY+face.Ascent),
	}
	d.DrawString(text)
}

// tagText is "label 0.87" in printable ASCII, at most 40 characters of label.
func tagText(label string, score float64) string {
	var b strings.Builder
	n := 0
	for _, r := range label {
		if n == 40 {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	if math.IsNaN(score) || math.IsInf(score, 0) {
		score = 0
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(strconv.FormatFloat(score, 'f', 2, 64))
	return b.String()
}

// textColour is black on light colours, white on dark ones.
func textColour(c color.RGBA) color.Color {
	if 299*int(c.R)+587*int(c.G)+114*int(c.B) > 150_000 {
		return color.Black
	}
	return color.White
}

// toRGBA copies img into a new RGBA picture with the same bounds, with fast
// paths for the types the From* helpers make.
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(b)
	switch src := img.(type) {
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, y):][:b.Dx()]
			d := dst.Pix[dst.PixOffset(b.Min.X, y):][:4*b.Dx()]
			for i, v := range s {
				d[4*i], d[4*i+1], d[4*i+2], d[4*i+3] = v, v, v, 255
			}
		}
	case *RGB24:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			s := src.Pix[src.PixOffset(b.Min.X, y):][:3*b.Dx()]
			d := dst.Pix[dst.PixOffset(b.Min.X, y):][:4*b.Dx()]
			for i := range b.Dx() {
				d[4*i], d[4*i+1], d[4*i+2], d[4*i+3] = s[3*i], s[3*i+1], s[3*i+2], 255
			}
		}
	default:
		// image/draw has fast paths for *image.RGBA and *image.YCbCr
		draw.Draw(dst, b, img, b.Min, draw.Src)
	}
	return dst
}
