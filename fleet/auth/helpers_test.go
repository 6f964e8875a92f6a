package auth

import (
	"context"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// TestMain makes password hashes cheap (authtest) and checks for leaks.
func TestMain(m *testing.M) {
	authtest.CheapHashes()
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

// testStore is an open database with the domains the tests use.
type testStore struct {
	*store.DB
	*registry.Registry
	*Auth
}

// eachDB runs f against every backend (storetest.Backends).
func eachDB(t *testing.T, f func(t *testing.T, url string)) { storetest.Each(t, f) }

// open opens url for a test, closed when it ends.
func open(t testing.TB, url string) *testStore {
	t.Helper()
	db := storetest.Open(t, url)
	return &testStore{db, registry.New(db), New(db)}
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
