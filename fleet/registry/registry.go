// Package registry holds what the fleet knows of its field: the canteens
// (with their operating hours, required areas and parents' viewing
// windows), the gateways enrolled for them with their cameras, connection
// sessions, spool epochs, desired configs and commands; and what the
// gateways report, as ingest stores it (ingest.go): the events with their
// snapshots, and the camera statuses with the health intervals rebuilt
// from them.
//
// The alarms (fleet/alarms) and the rates (fleet/rates) read these
// tables; a write here that changes a finished day's data forgets the
// rates' kept days of it (stale.go), so the rates never answer from a day
// computed before late data arrived.
package registry

import (
	"database/sql"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Registry is the registry over an open database. It is safe for
// concurrent use.
type Registry struct {
	db *store.DB
	// r and w are db's reader and writer pools.
	r, w *sql.DB
}

// New returns the registry stored in db.
func New(db *store.DB) *Registry {
	return &Registry{db: db, r: db.Read(), w: db.Write()}
}

// Times as stored (store.Ms and its kin).
var (
	ms         = store.Ms
	msOrNil    = store.MsOrNil
	fromMs     = store.FromMs
	fromNullMs = store.FromNullMs
)
