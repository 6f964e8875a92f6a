package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// testStore is an open database with the domains the tests use.
type testStore struct {
	*store.DB
	*Registry
}

// eachDB runs f against every backend (storetest.Backends).
func eachDB(t *testing.T, f func(t *testing.T, url string)) { storetest.Each(t, f) }

// open opens url for a test, closed when it ends.
func open(t testing.TB, url string) *testStore {
	t.Helper()
	db := storetest.Open(t, url)
	return &testStore{db, New(db)}
}

func addGateway(t testing.TB, s *testStore, id, canteen string) {
	t.Helper()
	if _, _, err := s.AddGateway(ctx, id, canteen); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func putCanteens(t *testing.T, s *testStore, cs ...Canteen) {
	t.Helper()
	for _, c := range cs {
		if _, err := s.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

// wantErr fails unless err wraps target and its message holds substr.
func wantErr(t *testing.T, what string, err, target error, substr string) {
	t.Helper()
	if !errors.Is(err, target) || !strings.Contains(err.Error(), substr) {
		t.Errorf("%s: err = %v; want %v naming %q", what, err, target, substr)
	}
}
