package onvif

import "errors"

// Errors callers branch on.
var (
	// ErrUnauthorized: the device refused the credentials (a SOAP
	// NotAuthorized fault, or HTTP 401).
	ErrUnauthorized = errors.New("onvif: the camera refused the user name or password")
	// ErrTooLarge: a datagram or a response was larger than allowed.
	ErrTooLarge = errors.New("onvif: message too large")
	// ErrMalformed: a message that is not the XML it should be.
	ErrMalformed = errors.New("onvif: malformed message")
)
