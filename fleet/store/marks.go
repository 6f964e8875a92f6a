package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Retention's marks (retention_marks): the horizons it has moved, which
// the rates read (a frozen month's kept days are final; a period before
// the events kept is refused) and the registry's writes respect (late
// data does not forget a frozen month's days).
const (
	// MarkFrozenMonth is "2006-01": the months before it are final.
	MarkFrozenMonth = "frozen_month"
	// MarkEventsBefore is Unix ms, 20 digits: events that started before
	// it may be deleted.
	MarkEventsBefore = "events_before"
)

// Marks are the horizons retention has moved.
type Marks struct {
	// Frozen is the first month not frozen (its first day, UTC); zero if
	// none is.
	Frozen time.Time
	// EventsBefore is Unix ms; 0 if no event was deleted.
	EventsBefore int64
}

// ReadMarks reads retention's marks through q.
func ReadMarks(ctx context.Context, q Querier) (Marks, error) {
	var m Marks
	err := Each(ctx, q, func(rows *sql.Rows) error {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			return err
		}
		switch name {
		case MarkFrozenMonth:
			m.Frozen, _ = time.Parse("2006-01", v)
		case MarkEventsBefore:
			m.EventsBefore, _ = strconv.ParseInt(v, 10, 64)
		}
		return nil
	}, `SELECT name, value FROM retention_marks`)
	if err != nil {
		return m, fmt.Errorf("retention marks: %w", err)
	}
	return m, nil
}

// SetMark moves a horizon forward to value (a fixed-width string, so that
// its order is the text's), never back: data deleted under a shorter
// setting, or by a slower pass of another fleet, is gone.
func SetMark(ctx context.Context, tx *sql.Tx, name, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO retention_marks (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE retention_marks.value < excluded.value`, name, value)
	return err
}

// ClaimLease takes the lease name for holder until now+ttl, if it is free
// (never taken, expired, or holder's own): true when holder has it. Work
// that must happen once across several fleets on one database is done
// by the holder only.
func (s *DB) ClaimLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder`, name, holder, Ms(now.Add(ttl)), Ms(now))
	if err != nil {
		return false, fmt.Errorf("claim lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim lease %q: %w", name, err)
	}
	return n == 1, nil
}
