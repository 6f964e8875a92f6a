package spool

import (
	"errors"
	"strconv"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("spool closed")

	// ErrTooLarge is returned by Append when a single item is larger than the
	// whole byte budget (Options.MaxBytes), so it could never be stored.
	ErrTooLarge = errors.New("item larger than the spool budget")

	// ErrInvalidItem is returned by Append for an item with an empty Kind or
	// a Kind longer than MaxKindLen bytes.
	ErrInvalidItem = errors.New("invalid item")

	// ErrCorrupt is wrapped by the errors of the record decoder. Read never
	// returns it: it skips a corrupt record, counts it in Stats.CorruptRecords
	// and removes it from the spool.
	ErrCorrupt = errors.New("corrupt record")
)

// corruptError tells why a stored record could not be decoded.
type corruptError struct{ why string }

func (e *corruptError) Error() string { return "corrupt record: " + e.why }
func (e *corruptError) Unwrap() error { return ErrCorrupt }

func corruptf(why string, n int) error {
	if n >= 0 {
		why += " (" + strconv.Itoa(n) + ")"
	}
	return &corruptError{why: why}
}
