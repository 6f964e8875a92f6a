package store

import (
	"context"
	"database/sql"
	"time"
)

// Store is an open database with the domains' methods (being split by
// domain: issue 13).
type Store struct {
	*DB
	// Workflow is the alarm workflow's settings; set it after Open.
	Workflow Workflow
}

// Open opens a database as OpenDB does.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	db, err := OpenDB(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	return &Store{DB: db}, nil
}

func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error { return s.Tx(ctx, f) }

var (
	ms           = Ms
	msOrNil      = MsOrNil
	fromMs       = FromMs
	fromNullMs   = FromNullMs
	placeholders = Placeholders
	hashSecret   = HashSecret
	truncate     = Truncate
)

var _ = time.Time{}
