package rates

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/registry/registrytest"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// testStore is an open database with the domains the tests use.
type testStore struct {
	*store.DB
	*registry.Registry
	*Rates
	*alarms.Alarms
}

// eachDB runs f against every backend (storetest.Backends).
func eachDB(t *testing.T, f func(t *testing.T, url string)) { storetest.Each(t, f) }

// open opens url for a test, closed when it ends.
func open(t testing.TB, url string) *testStore {
	t.Helper()
	db := storetest.Open(t, url)
	return &testStore{db, registry.New(db), New(db), alarms.New(db)}
}

func addGateway(t testing.TB, s *testStore, id, canteen string) {
	t.Helper()
	registrytest.AddGateway(t, s.Registry, id, canteen)
}

// event is a violation of cam1 (registrytest.Event).
var event = registrytest.Event

// openTest opens url as open does, for a caller that closes it.
func openTest(ctx context.Context, url string) (*testStore, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return &testStore{db, registry.New(db), New(db), alarms.New(db)}, nil
}
