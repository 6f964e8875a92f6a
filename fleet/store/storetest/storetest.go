// Package storetest runs the fleet's database tests against each backend:
// SQLite always, in a fresh file per test, and PostgreSQL too when
// BK_TEST_POSTGRES_URL is set (postgres://user:pass@host/db, as
// scripts/with-postgres.sh sets it), each test in a fresh schema dropped
// afterwards. The domain packages' tests (fleet/registry, fleet/auth,
// fleet/alarms, fleet/rates, fleet/retention) run through it.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Backend opens fresh, empty databases of one kind.
type Backend struct {
	Name string
	// Fresh returns a URL for a new empty database.
	Fresh func(t testing.TB) string
}

// Backends are SQLite always, and PostgreSQL when BK_TEST_POSTGRES_URL is
// set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", Fresh: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "fleet.db")
	}}}
	if base := os.Getenv("BK_TEST_POSTGRES_URL"); base != "" {
		bs = append(bs, Backend{Name: "postgres", Fresh: func(t testing.TB) string { return FreshSchema(t, base) }})
	}
	return bs
}

// Each runs f against every backend, each in a subtest named for it.
func Each(t *testing.T, f func(t *testing.T, url string)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b.Fresh(t)) })
	}
}

// Open opens url, closed when the test ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var schemaSeq atomic.Int64

// FreshSchema creates a schema in the PostgreSQL database at base, dropped
// when the test ends, and returns base with search_path set to it.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("bk_test_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("BK_TEST_POSTGRES_URL %q: want postgres://", base)
	}
	return u.String()
}
