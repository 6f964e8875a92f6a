// Package auth holds who may do what: users (staff and parents) with
// their argon2id password hashes and the rules on roles, canteens and
// districts (users.go), their cookie sessions (sessions.go) and the
// sliding device sessions parents sign in with and can list and end
// (devices.go), API tokens (tokens.go), parents' access codes
// (invites.go), schools' reusable join links with a cap, an expiry and a
// revocation (joinlinks.go), and the audit log of what they did
// (audit.go). Secrets the fleet makes (sessions, tokens, codes, join
// link tokens) are stored as their SHA-256 only.
package auth

import (
	"database/sql"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Auth is the users, sessions, tokens, access codes and audit log of an
// open database. It is safe for concurrent use.
type Auth struct {
	db *store.DB
	// r and w are db's reader and writer pools.
	r, w *sql.DB
}

// New returns the users and their kin stored in db.
func New(db *store.DB) *Auth {
	return &Auth{db: db, r: db.Read(), w: db.Write()}
}

// Times as stored (store.Ms and its kin).
var (
	ms         = store.Ms
	msOrNil    = store.MsOrNil
	fromMs     = store.FromMs
	fromNullMs = store.FromNullMs
)
