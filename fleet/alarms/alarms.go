// Package alarms holds the violations as the regulator's product reads
// them (violations.go: filters, scopes, what is overdue), the alarm
// workflow on each episode's first event (workflow.go: review,
// rectification, decision, with their history and photos), and the
// notices it sends canteens' operators with their webhook outbox
// (notices.go), and what the instant push reads (push.go: the alarms and
// notices after a cursor, the due-soon notices). The events themselves are stored by the registry's ingest
// (fleet/registry).
//
// The workflow's deadlines have their defaults in one place, Workflow's
// zero value (DefaultReviewDeadline, DefaultRectifyDeadline): the fleet's
// flags and settings start from them.
package alarms

import (
	"database/sql"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Alarms is the violations, the workflow and the notices of an open
// database. It is safe for concurrent use; set Workflow before use.
type Alarms struct {
	db *store.DB
	// r and w are db's reader and writer pools.
	r, w *sql.DB
	// Workflow is the alarm workflow's settings; the zero value means the
	// defaults.
	Workflow Workflow
}

// New returns the alarms stored in db, with the default workflow.
func New(db *store.DB) *Alarms {
	return &Alarms{db: db, r: db.Read(), w: db.Write()}
}

// Times as stored (store.Ms and its kin).
var (
	ms         = store.Ms
	msOrNil    = store.MsOrNil
	fromMs     = store.FromMs
	fromNullMs = store.FromNullMs
)
