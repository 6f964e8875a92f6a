//go:build !cgo

package decode

import "time"

// Decoder decodes one camera's stream. In this build, without cgo, there is
// none: New returns ErrUnavailable.
type Decoder struct{}

// New returns ErrUnavailable: decoding needs cgo.
func New(codec Codec) (*Decoder, error) { return nil, ErrUnavailable }

// Codec returns "".
func (d *Decoder) Codec() Codec { return "" }

// Decode returns ErrUnavailable.
func (d *Decoder) Decode(nalus [][]byte, pts time.Duration) (bool, error) {
	return false, ErrUnavailable
}

// Reset does nothing.
func (d *Decoder) Reset() {}

// Picture reports no picture.
func (d *Decoder) Picture() (width, height int, pts time.Duration, ok bool) { return 0, 0, 0, false }

// Scale returns ErrUnavailable.
func (d *Decoder) Scale(dst PixFmt, maxW, maxH int) (Frame, error) {
	return Frame{}, ErrUnavailable
}

// Recycle does nothing.
func (d *Decoder) Recycle(f Frame) {}

// Stats returns zero counters.
func (d *Decoder) Stats() Stats { return Stats{} }

// Close does nothing.
func (d *Decoder) Close() {}
