package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// With BK_TEST_POSTGRES_URL set (postgres://user:pass@host/db), every test
// that uses eachDB also runs against PostgreSQL, each in a fresh schema that
// is dropped afterwards.
func init() {
	base := os.Getenv("BK_TEST_POSTGRES_URL")
	if base == "" {
		return
	}
	backends = append(backends, backend{name: "postgres", fresh: func(t testing.TB) string {
		return freshSchema(t, base)
	}})
}

var schemaSeq atomic.Int64

func freshSchema(t testing.TB, base string) string {
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
