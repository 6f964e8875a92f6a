package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/registry/registrytest"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
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
	*auth.Auth
	*alarms.Alarms
	*rates.Rates
	*Retainer
}

// eachDB runs f against every backend (storetest.Backends).
func eachDB(t *testing.T, f func(t *testing.T, url string)) { storetest.Each(t, f) }

// open opens url for a test, closed when it ends.
func open(t testing.TB, url string) *testStore {
	t.Helper()
	db := storetest.Open(t, url)
	return &testStore{db, registry.New(db), auth.New(db), alarms.New(db), rates.New(db), New(db)}
}

func addGateway(t testing.TB, s *testStore, id, canteen string) {
	t.Helper()
	registrytest.AddGateway(t, s.Registry, id, canteen)
}

// event is a violation of cam1 (registrytest.Event).
var event = registrytest.Event

func withSnapshot(ev *wire.Event, jpeg []byte) (*wire.Event, []byte) {
	sum := sha256.Sum256(jpeg)
	ev.Snapshot = &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpeg)}
	return ev, jpeg
}
