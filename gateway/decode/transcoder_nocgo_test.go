//go:build !cgo

package decode

import (
	"errors"
	"testing"
)

func TestNewTranscoderUnavailable(t *testing.T) {
	tr, err := NewTranscoder(CodecH265, TranscodeOptions{})
	if !errors.Is(err, ErrUnavailable) || tr != nil {
		t.Fatalf("NewTranscoder = %v, %v; want ErrUnavailable", tr, err)
	}
}
