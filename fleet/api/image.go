package api

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // rectification photos
	_ "image/png"
)

// MaxPixels is the largest image, in pixels (width × height), the fleet
// decodes: 40 megapixels, well above any phone camera's photo. An image's
// header declares its size; a larger declaration is refused before any
// pixel is allocated (a 57-byte PNG can declare 60000×60000 at 16-bit
// RGBA, 28.8 GB once decoded).
const MaxPixels = 40_000_000

// ErrImageTooLarge: an image declares more than MaxPixels pixels.
var ErrImageTooLarge = errors.New("image too large")

// checkImage reads b's header with image.DecodeConfig, refuses more than
// MaxPixels, and only then decodes the whole image: a truncated or garbled
// file fails here, not in a regulator's browser.
func checkImage(b []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("declares %d×%d pixels", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return fmt.Errorf("%w: %d×%d pixels, at most %d", ErrImageTooLarge, cfg.Width, cfg.Height, MaxPixels)
	}
	_, _, err = image.Decode(bytes.NewReader(b))
	return err
}
