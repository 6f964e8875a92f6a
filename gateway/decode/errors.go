package decode

import "errors"

// Errors.
var (
	// ErrUnavailable is returned by New and NewTranscoder in a build without
	// cgo.
	ErrUnavailable = errors.New("video decoding unavailable: built without cgo")
	// ErrCorrupt is wrapped by the errors Decode returns for input that does
	// not decode: empty, oversized, truncated or damaged access units.
	ErrCorrupt = errors.New("corrupt access unit")
	// ErrCodec is returned by New for a codec other than H264 or H265.
	ErrCodec = errors.New("unsupported codec")
	// ErrNoPicture is returned by Scale before any picture was decoded.
	ErrNoPicture = errors.New("no picture decoded yet")
	// ErrFormat is returned by Scale for an unknown pixel format or size.
	ErrFormat = errors.New("unsupported frame format")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("decoder closed")
	// ErrNoEncoder is returned by NewTranscoder when libavcodec has no
	// H.264 encoder that opens (Debian's has libx264).
	ErrNoEncoder = errors.New("no H.264 encoder")
)
