package alarms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/registry/registrytest"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// testStore is an open database with the domains the tests use.
type testStore struct {
	*store.DB
	*registry.Registry
	*Alarms
	*rates.Rates
}

// eachDB runs f against every backend (storetest.Backends).
func eachDB(t *testing.T, f func(t *testing.T, url string)) { storetest.Each(t, f) }

// open opens url for a test, closed when it ends.
func open(t testing.TB, url string) *testStore {
	t.Helper()
	db := storetest.Open(t, url)
	return &testStore{db, registry.New(db), New(db), rates.New(db)}
}

func addGateway(t testing.TB, s *testStore, id, canteen string) {
	t.Helper()
	registrytest.AddGateway(t, s.Registry, id, canteen)
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// event is a violation of cam1 (registrytest.Event).
var event = registrytest.Event

func withSnapshot(ev *wire.Event, jpeg []byte) (*wire.Event, []byte) {
	sum := sha256.Sum256(jpeg)
	ev.Snapshot = &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpeg)}
	return ev, jpeg
}
