package snapshot

import (
	"image"
	"image/color"
)

// The From* helpers wrap raw frames without copying: the image shares data,
// so data must not change while the image is in use. Each returns nil when
// w or h is not positive or data is shorter than the format needs (Annotate
// answers nil with ErrNoImage); extra bytes at the end are ignored.

// maxSide bounds a frame's width and height, so size arithmetic cannot
// overflow.
const maxSide = 1 << 15

func sizeOK(w, h int) bool { return w > 0 && h > 0 && w <= maxSide && h <= maxSide }

// FromGray wraps a GRAY8 frame: w*h bytes, one per pixel, rows top down.
func FromGray(w, h int, data []byte) image.Image {
	if !sizeOK(w, h) || len(data) < w*h {
		return nil
	}
	return &image.Gray{Pix: data[: w*h : w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// FromRGB24 wraps an RGB24 frame: w*h*3 bytes, R, G, B per pixel.
func FromRGB24(w, h int, data []byte) image.Image {
	if !sizeOK(w, h) || len(data) < w*h*3 {
		return nil
	}
	return &RGB24{Pix: data[: w*h*3 : w*h*3], Stride: 3 * w, Rect: image.Rect(0, 0, w, h)}
}

// FromI420 wraps an I420 (YUV 4:2:0 planar) frame: the Y plane (w*h), then
// Cb and Cr, each ((w+1)/2)*((h+1)/2), as libswscale writes them.
func FromI420(w, h int, data []byte) image.Image {
	if !sizeOK(w, h) {
		return nil
	}
	cw, ch := (w+1)/2, (h+1)/2
	ys, cs := w*h, cw*ch
	if len(data) < ys+2*cs {
		return nil
	}
	return &image.YCbCr{
		Y:              data[0:ys:ys],
		Cb:             data[ys : ys+cs : ys+cs],
		Cr:             data[ys+cs : ys+2*cs : ys+2*cs],
		YStride:        w,
		CStride:        cw,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, w, h),
	}
}

// RGB24 is an image of packed 8-bit R, G, B pixels, as decoders and
// plugins exchange them.
type RGB24 struct {
	// Pix holds the pixels: the pixel at (x, y) starts at
	// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*3].
	Pix    []byte
	Stride int
	Rect   image.Rectangle
}

// ColorModel is color.RGBAModel.
func (p *RGB24) ColorModel() color.Model { return color.RGBAModel }

// Bounds is Rect.
func (p *RGB24) Bounds() image.Rectangle { return p.Rect }

// At returns the pixel at (x, y), or transparent black outside Rect.
func (p *RGB24) At(x, y int) color.Color { return p.RGBAAt(x, y) }

// RGBAAt returns the pixel at (x, y) as color.RGBA.
func (p *RGB24) RGBAAt(x, y int) color.RGBA {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA{}
	}
	i := p.PixOffset(x, y)
	s := p.Pix[i : i+3 : i+3]
	return color.RGBA{s[0], s[1], s[2], 255}
}

// PixOffset is the index in Pix of the pixel at (x, y).
func (p *RGB24) PixOffset(x, y int) int {
	return (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
}
