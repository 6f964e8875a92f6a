package store_test

// The core's own tests: opening, migrating, URLs. They enrol a gateway
// (fleet/registry) to see that data survives a reopen.

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func addGateway(t testing.TB, db *store.DB, id, canteen string) {
	t.Helper()
	if _, _, err := registry.New(db).AddGateway(ctx, id, canteen); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		addGateway(t, s, "gw-a", "canteen-1")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			s = storetest.Open(t, url)
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != store.NumMigrations {
				t.Fatalf("schema version %d, %v; want %d", v, err, store.NumMigrations)
			}
			if ok, err := registry.New(s).GatewayExists(ctx, "gw-a"); !ok || err != nil {
				t.Fatalf("gateway lost on reopen: %v %v", ok, err)
			}
			s.Close()
		}
	})
}

func TestConcurrentOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := store.Open(ctx, url)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"", filepath.Join(dir, "a.db"), "sqlite://" + filepath.Join(dir, "b.db"), filepath.Join(dir, "with space?x.db")} {
		s, err := store.Open(ctx, u)
		if err != nil {
			t.Fatalf("%q: %v", u, err)
		}
		addGateway(t, s, "gw", "c")
		if s.Dialect() != "sqlite" {
			t.Fatalf("%q: dialect %s", u, s.Dialect())
		}
		s.Close()
	}
	if _, err := store.Open(ctx, "mysql://x"); err == nil {
		t.Fatal("mysql:// accepted")
	}
}
