package live

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Sentinel errors. HTTP handlers answer them with the status and code of
// errorTable, as {"error": "...", "code": "..."}.
var (
	// ErrClosed is returned once the relay is closed.
	ErrClosed = errors.New("live relay is shutting down")
	// ErrMethod is a request with a method the endpoint does not serve.
	ErrMethod = errors.New("method not allowed")
	// ErrContentType is a body that is not application/sdp.
	ErrContentType = errors.New("content type must be application/sdp")
	// ErrTooLarge is a body over MaxOfferBytes.
	ErrTooLarge = errors.New("SDP offer too large")
	// ErrBadSDP is a body that is not a parseable SDP offer.
	ErrBadSDP = errors.New("malformed SDP offer")
	// ErrNoVideo is an offer without a usable video m-section.
	ErrNoVideo = errors.New("offer has no video")
	// ErrNoH264 is an offer whose video has no H.264 with packetization-mode=1.
	ErrNoH264 = errors.New("offer has no H.264 with packetization-mode=1")
	// ErrDirection is an offer whose video goes the wrong way.
	ErrDirection = errors.New("offer's video direction is wrong")
	// ErrOfferRejected is an offer pion could not apply.
	ErrOfferRejected = errors.New("offer rejected")
	// ErrCameraFull is a viewer over Config.MaxViewersPerCamera.
	ErrCameraFull = errors.New("camera has reached its viewer limit")
	// ErrCanteenFull is a viewer over Config.MaxViewersPerCanteen.
	ErrCanteenFull = errors.New("canteen has reached its viewer limit")
	// ErrStartTimeout is an upstream that sent no keyframe within Config.StartTimeout.
	ErrStartTimeout = errors.New("camera did not start streaming in time")
	// ErrStartFailed is a Config.Start that returned an error.
	ErrStartFailed = errors.New("could not ask the gateway to publish")
	// ErrNoTicket is a WHIP request for a camera the fleet did not ask to publish.
	ErrNoTicket = errors.New("no live session was requested for this camera")
	// ErrNoToken is a WHIP request without a bearer token.
	ErrNoToken = errors.New("missing bearer token")
	// ErrBadToken is a WHIP request whose token is not the camera's ticket token.
	ErrBadToken = errors.New("bearer token does not match the camera's live session")
	// ErrNotFound is a DELETE for an unknown session.
	ErrNotFound = errors.New("no such session")
	// ErrHLSBusy is an HLS session with too many requests in flight.
	ErrHLSBusy = errors.New("too many requests in flight for this HLS session")
	// ErrHLSFile is an HLS request for a file name the muxer never makes.
	ErrHLSFile = errors.New("no such HLS file")
)

type httpError struct {
	status int
	code   string
}

// errorTable maps sentinel errors to HTTP answers; the first match wins.
var errorTable = []struct {
	err error
	httpError
}{
	{ErrClosed, httpError{http.StatusServiceUnavailable, "shutting_down"}},
	{ErrMethod, httpError{http.StatusMethodNotAllowed, "method_not_allowed"}},
	{ErrContentType, httpError{http.StatusUnsupportedMediaType, "unsupported_media_type"}},
	{ErrTooLarge, httpError{http.StatusRequestEntityTooLarge, "offer_too_large"}},
	{ErrBadSDP, httpError{http.StatusBadRequest, "bad_sdp"}},
	{ErrNoVideo, httpError{http.StatusBadRequest, "no_video"}},
	{ErrNoH264, httpError{http.StatusBadRequest, "no_h264"}},
	{ErrDirection, httpError{http.StatusBadRequest, "bad_direction"}},
	{ErrOfferRejected, httpError{http.StatusBadRequest, "offer_rejected"}},
	{ErrCameraFull, httpError{http.StatusTooManyRequests, "camera_full"}},
	{ErrCanteenFull, httpError{http.StatusTooManyRequests, "canteen_full"}},
	{ErrStartTimeout, httpError{http.StatusGatewayTimeout, "start_timeout"}},
	{ErrStartFailed, httpError{http.StatusBadGateway, "start_failed"}},
	{ErrNoTicket, httpError{http.StatusNotFound, "no_session"}},
	{ErrNoToken, httpError{http.StatusUnauthorized, "unauthorized"}},
	{ErrBadToken, httpError{http.StatusForbidden, "forbidden"}},
	{ErrNotFound, httpError{http.StatusNotFound, "not_found"}},
	{ErrHLSBusy, httpError{http.StatusTooManyRequests, "hls_busy"}},
	{ErrHLSFile, httpError{http.StatusNotFound, "not_found"}},
}

func classify(err error) httpError {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.httpError
		}
	}
	return httpError{http.StatusInternalServerError, "internal"}
}

// writeError answers err as JSON and returns its code (for metrics).
func writeError(w http.ResponseWriter, err error) string {
	he := classify(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	switch he.status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="whip"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", "30")
	}
	w.WriteHeader(he.status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{err.Error(), he.code})
	return he.code
}
