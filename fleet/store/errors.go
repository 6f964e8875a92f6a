package store

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: no such gateway, violation, snapshot or command.
	ErrNotFound = errors.New("not found")
	// ErrExists: the gateway (or other record) already exists.
	ErrExists = errors.New("already exists")
	// ErrSnapshotMismatch: a snapshot's bytes do not match the SHA-256 and
	// size its event announced, or a snapshot came without an event that
	// announces one.
	ErrSnapshotMismatch = errors.New("snapshot does not match its event's reference")
)

// ItemError is returned by Ingest when one item of a batch is refused; the
// whole batch is then rolled back. Index is the item's position in the batch.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("ingest item %d: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }
