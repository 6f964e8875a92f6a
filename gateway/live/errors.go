package live

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrH265Unsupported: the camera streams H.265 and this build cannot
	// transcode it (no cgo or no H.264 encoder in libavcodec).
	ErrH265Unsupported = errors.New("camera streams H.265 and this gateway cannot transcode it to H.264")
	// ErrUnsupportedCodec is a camera whose codec is neither H.264 nor H.265.
	ErrUnsupportedCodec = errors.New("camera codec is not supported for live view")
	// ErrNoMedia is a camera that has not been described yet (never reached).
	ErrNoMedia = errors.New("camera has not been reached yet, its codec is unknown")
	// ErrSourceClosed ends a session whose camera Source was closed.
	ErrSourceClosed = errors.New("camera source closed")
	// ErrStarted is a second Start of a Publisher.
	ErrStarted = errors.New("publisher already started")
	// ErrClosed is a Start after Close, or a Manager call after its Close.
	ErrClosed = errors.New("publisher closed")
	// ErrBadAnswer is a WHIP answer that is not a usable SDP answer.
	ErrBadAnswer = errors.New("malformed WHIP answer")
	// ErrConnect is a peer connection that did not connect in time.
	ErrConnect = errors.New("peer connection did not connect")
	// ErrPeerClosed ends a session whose peer connection failed or closed.
	ErrPeerClosed = errors.New("peer connection ended")
	// ErrForeignWHIP is a live.start whose whip_url is not on the fleet
	// (Manager.Fleet).
	ErrForeignWHIP = errors.New("whip_url is not on the fleet this gateway is enrolled with")
)

// StatusError is a WHIP endpoint that did not answer 201 Created. Message
// is the start of the server's body (for the fleet relay, its "error").
type StatusError struct {
	Method     string
	URL        string
	StatusCode int
	Status     string
	Message    string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("WHIP %s %s: %s", e.Method, e.URL, e.Status)
	}
	return fmt.Sprintf("WHIP %s %s: %s: %s", e.Method, e.URL, e.Status, e.Message)
}

// Permanent reports whether retrying with the same ticket cannot help: the
// server refused it (4xx) or the camera cannot be published as it is.
func Permanent(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 400 && se.StatusCode < 500
	}
	return errors.Is(err, ErrH265Unsupported) || errors.Is(err, ErrUnsupportedCodec) ||
		errors.Is(err, ErrSourceClosed) || errors.Is(err, ErrClosed) || errors.Is(err, ErrForeignWHIP)
}
