//go:build !cgo

package decode

import "time"

// Transcoder turns H.265 into H.264. In this build, without cgo, there is
// none: NewTranscoder returns ErrUnavailable.
type Transcoder struct{}

// NewTranscoder returns ErrUnavailable: transcoding needs cgo.
func NewTranscoder(from Codec, o TranscodeOptions) (*Transcoder, error) {
	return nil, ErrUnavailable
}

// Options returns the zero settings.
func (t *Transcoder) Options() TranscodeOptions { return TranscodeOptions{} }

// Encoder returns "".
func (t *Transcoder) Encoder() string { return "" }

// Transcode returns ErrUnavailable.
func (t *Transcoder) Transcode(nalus [][]byte, pts time.Duration) ([]EncodedUnit, error) {
	return nil, ErrUnavailable
}

// ForceKeyframe does nothing.
func (t *Transcoder) ForceKeyframe() {}

// Stats returns zero counters.
func (t *Transcoder) Stats() TranscodeStats { return TranscodeStats{} }

// Close does nothing.
func (t *Transcoder) Close() {}
