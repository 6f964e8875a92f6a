package store

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid wraps a record refused for its content; its message names
	// the field.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such gateway, violation, snapshot or command.
	ErrNotFound = errors.New("not found")
	// ErrExpired: a snapshot or photo that retention deleted.
	ErrExpired = errors.New("expired")
	// ErrExists: the gateway, user (login) or other record already exists.
	ErrExists = errors.New("already exists")
	// ErrBadCredentials: an unknown login, a wrong password or a disabled
	// user; CheckPassword does not say which.
	ErrBadCredentials = errors.New("unknown login or wrong password")
	// ErrBadInvite: a parent's access code that is unknown, already used or
	// expired; RedeemInvite does not say which.
	ErrBadInvite = errors.New("unknown, used or expired access code")
	// ErrSnapshotMismatch: a snapshot's bytes do not match the SHA-256 and
	// size its event announced, or a snapshot came without an event that
	// announces one.
	ErrSnapshotMismatch = errors.New("snapshot does not match its event's reference")
	// ErrWrongState: a workflow step the alarm's status does not allow
	// (reviewing one already reviewed, deciding one not rectifying, ...).
	ErrWrongState = errors.New("wrong workflow state")
	// ErrNotAlarm: a workflow step on an event that is not an alarm (a
	// later event of its episode).
	ErrNotAlarm = errors.New("not an alarm")
	// ErrAmbiguous: a bare camera id that several gateways report; the
	// camera must be named by its key, "gateway:camera".
	ErrAmbiguous = errors.New("ambiguous camera id")
)

// ItemError is one item of a batch refused (registry.Ingest,
// registry.ImportCanteens); the whole batch is then rolled back. Index is
// the item's position in the batch.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("ingest item %d: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }
