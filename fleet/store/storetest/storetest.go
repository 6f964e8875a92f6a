// Package storetest runs the fleet's database tests against each backend:
// SQLite always, in a fresh file per test (FreshSQLite), and PostgreSQL too when
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
	"sync"
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
	bs := []Backend{{Name: "sqlite", Fresh: FreshSQLite}}
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

// sqliteTemplate is an SQLite database at the latest schema, made once per
// test process: migrating a new database takes about 0.3 s under -race
// (modernc's SQLite is compiled Go, instrumented), copying one 0.02 s,
// and the fleet's tests open hundreds.
var sqliteTemplate struct {
	once sync.Once
	data []byte
	err  error
}

// FreshSQLite returns the path of a new SQLite database in t's temporary
// directory, already at the latest schema: a copy of one made by
// store.Open once per test process. store.Open then finds nothing to
// migrate. The copy is a whole database of its own (migrations store no
// identity), as a fresh file would be.
func FreshSQLite(t testing.TB) string {
	t.Helper()
	sqliteTemplate.once.Do(func() {
		sqliteTemplate.data, sqliteTemplate.err = makeSQLiteTemplate()
	})
	if sqliteTemplate.err != nil {
		t.Fatalf("sqlite template: %v", sqliteTemplate.err)
	}
	p := filepath.Join(t.TempDir(), "fleet.db")
	if err := os.WriteFile(p, sqliteTemplate.data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func makeSQLiteTemplate() ([]byte, error) {
	dir, err := os.MkdirTemp("", "bk-storetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "template.db")
	db, err := store.Open(context.Background(), p)
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	// Closing the last connection checkpoints the write-ahead log into
	// the file and removes it; one left behind would hold part of the
	// schema.
	if _, err := os.Stat(p + "-wal"); err == nil {
		return nil, fmt.Errorf("%s-wal left after close", p)
	}
	return os.ReadFile(p)
}
