package rates

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
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
	if _, _, err := s.AddGateway(ctx, id, canteen); err != nil {
		t.Fatal(err)
	}
}

func event(seq uint64, typ string, at time.Time) *wire.Event {
	return &wire.Event{V: 1, EventID: fmt.Sprintf("EV%08d", seq), Seq: seq, CameraID: "cam1", Type: typ, Score: 0.9,
		Boxes: []wire.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4, Label: "head"}}, StartedAt: at}
}

// openTest opens url as open does, for a caller that closes it.
func openTest(ctx context.Context, url string) (*testStore, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return &testStore{db, registry.New(db), New(db), alarms.New(db)}, nil
}
