// Package dbtest opens the fleet's database with all its domains in one
// value, for the tests of the packages that use several of them (the API,
// ingest, the notifier, the core, the commands, e2e): DB's methods are
// those of every domain, as the one store's were.
package dbtest

import (
	"context"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/enrol"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/retention"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// DB is an open database and its domains.
type DB struct {
	*store.DB
	*registry.Registry
	*auth.Auth
	*alarms.Alarms
	*rates.Rates
	*retention.Retainer
	// Enrol is a field, not embedded: its methods (Create, List, …) are
	// too general a name to stand for the whole database's.
	Enrol *enrol.Codes
	// Push is a field for the same reason: the push channels,
	// subscriptions and outbox.
	Push *push.Push
	// Complaints is a field too: the complaint tickets.
	Complaints *complaints.Complaints
}

// Open opens url as store.Open does, with every domain over it.
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return Of(db), nil
}

// Of is every domain over db.
func Of(db *store.DB) *DB {
	return &DB{db, registry.New(db), auth.New(db), alarms.New(db), rates.New(db), retention.New(db), enrol.New(db), push.New(db), complaints.New(db)}
}

// Fresh opens a new SQLite database for t, at the latest schema
// (storetest.FreshSQLite), closed when t ends.
func Fresh(t testing.TB) *DB {
	t.Helper()
	return Of(storetest.Open(t, storetest.FreshSQLite(t)))
}
