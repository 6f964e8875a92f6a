package rates

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// keptRow is a row of coverage_months.
type keptRow struct {
	id, month string
	basis     int64
	days      []byte
}

// keptRows reads the kept months of the canteens f selects that hold
// dates of the query.
func (r *rollup) keptRows(ctx context.Context) ([]keptRow, error) {
	first, last := r.dates[0], r.dates[len(r.dates)-1]
	var out []keptRow
	err := r.s.scanRows(ctx, `SELECT x.canteen_id, x.month, x.basis, x.days FROM coverage_months x
		JOIN canteens c ON c.id = x.canteen_id WHERE `+registry.CanteenWhere+` AND x.month >= $6 AND x.month <= $7`,
		append(r.f.Args(), first[:7], last[:7]), func(rows *sql.Rows) error {
			var k keptRow
			if err := rows.Scan(&k.id, &k.month, &k.basis, &k.days); err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("kept days: %w", err)
	}
	return out, nil
}

// kept fills in the kept days: those of months computed under the
// canteen's current fingerprint, or frozen by retention, that ended by Now. A month that does not
// decode is left out (recomputed, and overwritten).
func (r *rollup) kept(rows []keptRow) {
	r.blocks = map[string][]keptMonth{}
	nd := len(r.dates)
	now := r.q.Now.UnixMilli()
	type got struct {
		d int
		x coverage.CanteenDay
	}
	var gots []got
	for _, row := range rows {
		k, ok := r.at[row.id]
		if !ok || (uint64(row.basis) != r.fps[row.id] && row.month >= r.frozen) {
			continue
		}
		// Date index of the month's first day, which may be before From.
		d0 := dateIndex(r.dates[0], row.month+"-01")
		gots = gots[:0]
		err := decodeMonth(row.days, func(dom int, x coverage.CanteenDay, end int64) {
			if d := d0 + dom - 1; d >= 0 && d < nd && end <= now {
				x.CanteenID, x.Day, x.End = row.id, r.dates[d], time.UnixMilli(end)
				gots = append(gots, got{d, x})
			}
		})
		if err != nil {
			continue
		}
		r.blocks[row.id] = append(r.blocks[row.id], keptMonth{row.month, row.days})
		for _, g := range gots {
			r.days[k*nd+g.d], r.has[k*nd+g.d] = g.x, true
		}
	}
}

// dateIndex returns how many days day is after first (both "2006-01-02").
func dateIndex(first, day string) int {
	a, _ := time.Parse(time.DateOnly, first)
	b, _ := time.Parse(time.DateOnly, day)
	return int(b.Sub(a) / (24 * time.Hour)) // both are midnights UTC
}

// keep stores the days computed now that ended by cutoff, merged into
// their months' kept days, for the canteens whose counter has not moved.
func (r *rollup) keep(ctx context.Context, cutoff, now time.Time) error {
	type key struct{ id, month string }
	byMonth := map[key][]coverage.CanteenDay{}
	for _, x := range r.fresh {
		if !x.End.After(cutoff) {
			k := key{x.CanteenID, x.Day[:7]}
			byMonth[k] = append(byMonth[k], x)
		}
	}
	if len(byMonth) == 0 {
		return nil
	}
	idSet := map[string]bool{}
	for k := range byMonth {
		idSet[k.id] = true
	}
	ids := slices.Sorted(maps.Keys(idSet))
	pg := r.s.db.Dialect() == "postgres"
	if pg {
		// Counters to lock must exist: create the missing ones at 0. store.One
		// created since by late data is at 1 and stops the canteen below.
		var missing []string
		for _, id := range ids {
			if _, ok := r.marks[id]; !ok {
				missing = append(missing, id)
			}
		}
		for chunk := range slices.Chunk(missing, rollupChunk) {
			var b strings.Builder
			args := make([]any, len(chunk))
			for i, id := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "($%d, 0)", i+1)
				args[i] = id
			}
			if _, err := r.s.w.ExecContext(ctx, `INSERT INTO coverage_marks (canteen_id, seq) VALUES `+b.String()+`
				ON CONFLICT (canteen_id) DO NOTHING`, args...); err != nil {
				return err
			}
		}
	}
	return r.s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Lock (PostgreSQL) and compare the counters, in id order.
		ok := map[string]bool{}
		for chunk := range slices.Chunk(ids, rollupChunk) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			q := `SELECT canteen_id, seq FROM coverage_marks WHERE canteen_id IN (` + store.Placeholders(1, len(chunk)) + `) ORDER BY canteen_id`
			if pg {
				q += ` FOR UPDATE`
			}
			seqs := map[string]int64{}
			err := store.Each(ctx, tx, func(rows *sql.Rows) error {
				var id string
				var seq int64
				err := rows.Scan(&id, &seq)
				seqs[id] = seq
				return err
			}, q, args...)
			if err != nil {
				return err
			}
			for _, id := range chunk {
				ok[id] = seqs[id] == r.marks[id]
			}
		}
		type row struct {
			id, month string
			ends      int64
			blob      []byte
		}
		var out []row
		for k, fresh := range byMonth {
			if !ok[k.id] {
				continue
			}
			var base []byte
			for _, b := range r.blocks[k.id] {
				if b.month == k.month {
					base = b.days
				}
			}
			blob, ends, err := mergeMonth(base, fresh)
			if err != nil {
				return fmt.Errorf("canteen %q month %s: %w", k.id, k.month, err)
			}
			out = append(out, row{k.id, k.month, ends, blob})
		}
		slices.SortFunc(out, func(a, b row) int { return strings.Compare(a.id+a.month, b.id+b.month) })
		for chunk := range slices.Chunk(out, rollupChunk/2) {
			var b strings.Builder
			args := make([]any, 0, len(chunk)*6)
			for i, x := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "(%s)", store.Placeholders(len(args)+1, 6))
				args = append(args, x.id, x.month, int64(r.fps[x.id]), x.ends, x.blob, now.UnixMilli())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO coverage_months (canteen_id, month, basis, ends_at, days, computed_at)
				VALUES `+b.String()+` ON CONFLICT (canteen_id, month) DO UPDATE SET basis = excluded.basis,
				ends_at = excluded.ends_at, days = excluded.days, computed_at = excluded.computed_at`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// monthFormat is the first byte of a packed month.
const monthFormat = 1

// errBadMonth is a packed month that does not decode.
var errBadMonth = errors.New("bad packed month")

// mergeMonth packs a month's days: base's (a packed month, or nil) with
// fresh's (all of that month) replacing those of the same date. It returns
// the packed days and the latest End.
func mergeMonth(base []byte, fresh []coverage.CanteenDay) ([]byte, int64, error) {
	type entry struct {
		x   coverage.CanteenDay
		end int64
		set bool
	}
	var days [32]entry
	if base != nil {
		if err := decodeMonth(base, func(dom int, x coverage.CanteenDay, end int64) {
			days[dom] = entry{x, end, true}
		}); err != nil {
			return nil, 0, err
		}
	}
	for _, x := range fresh {
		dom := int(x.Day[8]-'0')*10 + int(x.Day[9]-'0')
		days[dom] = entry{x, x.End.UnixMilli(), true}
	}
	blob := []byte{monthFormat}
	ends := int64(-1 << 63)
	for dom, e := range days {
		if !e.set {
			continue
		}
		covered := uint64(e.x.Covered.Milliseconds()) << 1
		if e.x.Built {
			covered |= 1
		}
		for _, v := range []uint64{uint64(dom), uint64(e.x.Open.Milliseconds()), covered,
			uint64(e.x.Healthy.Milliseconds()), uint64(e.x.Camera.Milliseconds()), uint64(e.end)} {
			blob = binary.AppendUvarint(blob, v)
		}
		ends = max(ends, e.end)
	}
	return blob, ends, nil
}

// decodeMonth calls f for each day of a packed month, with its day of the
// month and End in Unix ms; f's CanteenDay has no CanteenID, Day or End.
func decodeMonth(blob []byte, f func(dom int, x coverage.CanteenDay, end int64)) error {
	if len(blob) == 0 || blob[0] != monthFormat {
		return fmt.Errorf("%w: format %v", errBadMonth, blob[:min(1, len(blob))])
	}
	p := blob[1:]
	var v [6]uint64
	for len(p) > 0 {
		for i := range v {
			x, n := binary.Uvarint(p)
			if n <= 0 {
				return fmt.Errorf("%w: truncated", errBadMonth)
			}
			v[i], p = x, p[n:]
		}
		if v[0] < 1 || v[0] > 31 {
			return fmt.Errorf("%w: day %d", errBadMonth, v[0])
		}
		ms := func(x uint64) time.Duration { return time.Duration(x) * time.Millisecond }
		f(int(v[0]), coverage.CanteenDay{Open: ms(v[1]), Built: v[2]&1 == 1, Covered: ms(v[2] >> 1),
			Healthy: ms(v[3]), Camera: ms(v[4])}, int64(v[5]))
	}
	return nil
}
