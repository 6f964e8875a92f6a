package camsim

import "errors"

// Errors that callers may branch on (with errors.Is).
var (
	// ErrUnknownScene means no built-in scene has the given name.
	ErrUnknownScene = errors.New("unknown scene")
	// ErrNoClip means the scene exists but not with the requested GOP.
	ErrNoClip = errors.New("no clip")
	// ErrUnknownPath means the server serves no path of that name.
	ErrUnknownPath = errors.New("unknown path")
	// ErrBadConfig means a Server setting is invalid.
	ErrBadConfig = errors.New("invalid configuration")
	// ErrNotStarted means the server is not running.
	ErrNotStarted = errors.New("server not started")
)
