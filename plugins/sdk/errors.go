package sdk

import "errors"

// Errors of the Supervisor. Callers branch on them with errors.Is.
var (
	// ErrNotReady: the plugin is starting or being relaunched.
	ErrNotReady = errors.New("plugin not ready")
	// ErrQuarantined: the plugin failed too often and is not relaunched
	// until its quarantine ends.
	ErrQuarantined = errors.New("plugin quarantined")
	// ErrDeadline: the plugin did not answer within its deadline; it is
	// killed and relaunched.
	ErrDeadline = errors.New("plugin missed its deadline")
	// ErrClosed: the supervisor was closed.
	ErrClosed = errors.New("plugin supervisor closed")
)
