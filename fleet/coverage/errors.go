package coverage

import "errors"

// Sentinel errors; Compute wraps them with what was wrong.
var (
	// ErrQuery is a query Compute cannot answer (no From, To before From,
	// too many days, a threshold outside (0, 1], a negative deadline).
	ErrQuery = errors.New("bad coverage query")
	// ErrInput is input that breaks this package's contract (a malformed
	// operating-hours range, an unknown time zone, a repeated canteen or
	// gateway id, a camera's intervals out of order).
	ErrInput = errors.New("bad coverage input")
)
