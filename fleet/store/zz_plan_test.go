package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestZZPlan(t *testing.T) {
	s, err := Open(ctx, filepath.Join(os.TempDir(), "bk-city-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lo, hi := int64(1767110400000)-8*3600000, int64(1767160800000)
	for _, q := range []string{
		`SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, x.online, x.picture, x.seq FROM camera_intervals x WHERE (x.end_at IS NULL OR x.end_at > $1) AND x.start_at < $2`,
		`SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, x.online AND x.picture = 'ok', x.seq FROM camera_intervals x WHERE (x.end_at IS NULL OR x.end_at > $1) AND x.start_at < $2`,
		`SELECT x.start_at FROM camera_intervals x WHERE (x.end_at IS NULL OR x.end_at > $1) AND x.start_at < $2`,
		`SELECT gateway_id, camera_id, area FROM cameras WHERE $1 < $2`,
		`SELECT id, canteen_id FROM gateways WHERE $1 < $2`,
		`SELECT id, category, district, active, required_areas, hours, tz FROM canteens WHERE $1 < $2`,
		`SELECT x.gateway_id, x.session, x.connected_at, x.disconnected_at FROM gateway_sessions x WHERE x.connected_at < $2 AND (x.disconnected_at IS NULL OR x.disconnected_at > $1)`,
		`SELECT id, canteen_id, started_at FROM events WHERE started_at >= $1 - 7*86400000 AND started_at < $2`,
		`SELECT id, canteen_id, started_at FROM events WHERE started_at >= $1 - 30*86400000 AND started_at < $2`,
	} {
		plan := []string{}
		rows, _ := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, lo, hi)
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		for range 2 {
			start := time.Now()
			rows, err := s.r.QueryContext(ctx, q, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(sql.RawBytes)
			}
			n := 0
			for rows.Next() {
				rows.Scan(vals...)
				n++
			}
			rows.Close()
			t.Logf("%6d rows %8v  %s | %s", n, time.Since(start).Round(time.Millisecond), q[:min(60, len(q))], strings.Join(plan, "; "))
		}
	}
}
