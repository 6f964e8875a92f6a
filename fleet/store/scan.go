package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Querier is what the row scanners read through: a pool (DB.Read,
// DB.Write) or a transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// RowQuerier is what One reads through.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Row is the row a scan function reads: *sql.Row or *sql.Rows.
type Row interface {
	Scan(dest ...any) error
}

// All runs query and returns what scan makes of each row, in order: an
// empty, non-nil slice when there are none. The first error (of the
// query, a scan, or the rows) is returned with no rows.
func All[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := Each(ctx, q, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// One runs query and returns what scan makes of its first row;
// sql.ErrNoRows when there is none.
func One[T any](ctx context.Context, q RowQuerier, scan func(Row) (T, error), query string, args ...any) (T, error) {
	return scan(q.QueryRowContext(ctx, query, args...))
}

// Each runs query and calls f for each row, for rows that go elsewhere
// than a slice (a map, several slices) or are scanned into buffers reused
// from row to row (sql.RawBytes, interned strings).
func Each(ctx context.Context, q Querier, f func(rows *sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Placeholders returns "$from, $from+1, …" for n parameters.
func Placeholders(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

// Ms is a time as stored: milliseconds since the epoch.
func Ms(t time.Time) int64 { return t.UnixMilli() }

// MsOrNil stores a zero time as NULL.
func MsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// FromMs reads a stored time, in UTC.
func FromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// FromNullMs reads a stored time that may be NULL (the zero time).
func FromNullMs(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return FromMs(v.Int64)
}

// HashSecret is how a secret the fleet made itself is stored: its
// SHA-256, hex. A gateway's password is 32 random bytes, never chosen by
// a person, so a fast hash is enough: guessing 256 bits is hopeless
// however fast each guess is, and a slow KDF (bcrypt, argon2) would only
// cost CPU on every MQTT CONNECT. Sessions, API tokens and parents'
// access codes are stored the same way; people's passwords are not
// (auth.HashPassword).
func HashSecret(p string) string {
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:])
}

// Truncate cuts s to at most n bytes, at a character boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DefaultLimit and MaxLimit bound the lists the domains page through
// (violations, commands).
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)
