package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// The rates (fleet/rates) keep each canteen's finished days (the rollup,
// in coverage_months) and count late data by canteen (coverage_marks).
// The registry's writes that change a finished day's data (a late status,
// a session change, a gateway moved) call staleCoverage in their own
// transaction, so a kept day is never older than its data; see the rates'
// package doc for the whole design.

// staleCoverage forgets the kept days of a canteen whose operating hours
// end after at (Unix ms): data stamped at at changes them. It also bumps
// the canteen's counter, so that a Coverage computing meanwhile from older
// data does not keep it. at = noStale only bumps the counter.
func staleCoverage(ctx context.Context, tx *sql.Tx, canteenID string, at int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO coverage_marks (canteen_id, seq) VALUES ($1, 1)
		ON CONFLICT (canteen_id) DO UPDATE SET seq = coverage_marks.seq + 1`, canteenID); err != nil {
		return fmt.Errorf("stale coverage: %w", err)
	}
	if at == noStale {
		return nil
	}
	// A day's hours end at most 60 h after its date's midnight UTC (48 h
	// past its midnight in UTC-12): older months cannot hold one.
	month := time.UnixMilli(at).UTC().AddDate(0, 0, -3).Format("2006-01")
	// Months frozen by retention are final: their health may be gone.
	if _, err := tx.ExecContext(ctx, `DELETE FROM coverage_months WHERE canteen_id = $1 AND month >= $2 AND ends_at > $3
		AND month >= COALESCE((SELECT value FROM retention_marks WHERE name = '`+store.MarkFrozenMonth+`'), '')`,
		canteenID, month, at); err != nil {
		return fmt.Errorf("stale coverage: %w", err)
	}
	return nil
}

// noStale is staleCoverage's at that forgets nothing.
const noStale = int64(1<<63 - 1)

// staleGateway is staleCoverage for the canteen a gateway is bound to,
// if any.
func staleGateway(ctx context.Context, tx *sql.Tx, gatewayID string, at int64) error {
	var c sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT canteen_id FROM gateways WHERE id = $1`, gatewayID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !c.Valid) {
		return nil
	} else if err != nil {
		return fmt.Errorf("stale coverage: %w", err)
	}
	return staleCoverage(ctx, tx, c.String, at)
}

// staleAt notes a new status at at (Unix ms) of a gateway whose canteen
// the ingester has looked up; flushStale applies the notes.
func (in *ingester) staleAt(gw string, at int64) {
	c := in.canteens[gw]
	if !c.Valid {
		return
	}
	if in.stale == nil {
		in.stale = map[string]int64{}
	}
	if old, ok := in.stale[c.String]; !ok || at < old {
		in.stale[c.String] = at
	}
}

// flushStale calls staleCoverage once per canteen of the batch, with its
// earliest status, in id order (the order Coverage locks counters in).
func (in *ingester) flushStale() error {
	for _, id := range slices.Sorted(maps.Keys(in.stale)) {
		if err := staleCoverage(in.ctx, in.tx, id, in.stale[id]); err != nil {
			return err
		}
	}
	return nil
}
