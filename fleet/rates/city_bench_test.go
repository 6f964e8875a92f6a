package rates

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/coverage/coveragetest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// cityGenVersion names the cached city database: change it when
// storeCity writes something different.
const cityGenVersion = "v3"

// BenchmarkCoverageCity measures Rates.Coverage on coverage's generated
// city (coveragetest.City: 5,000 canteens, 20,000 cameras on 5,000
// gateways, a year of ~8.9 M health intervals, 187,000 sessions, 912,000
// violations) stored in SQLite, and in PostgreSQL when
// BK_TEST_POSTGRES_URL is set. The dashboard's queries, as of 31 December
// 14:00 (today partial): the last 7 and 30 days city-wide and one
// district's 30 days; cold (the rollup emptied before each query) and warm
// (the rollup filled by an earlier query, the common case).
//
// Generating the city takes minutes. SQLite's is kept in os.TempDir()
// (bk-city-<version>.db, about 1 GB) and reused; PostgreSQL's in the
// schema bk_city_<version>, reused too (scripts/with-postgres.sh throws
// the whole server away afterwards).
func BenchmarkCoverageCity(b *testing.B) {
	type backend struct {
		name string
		open func(b *testing.B) *testStore
	}
	// sqlite-nommap is the baseline for the readers' mmap_size: the same
	// file opened with the page cache only.
	backends := []backend{{"sqlite", openSQLiteCity}, {"sqlite-nommap", func(b *testing.B) *testStore {
		old := store.ReaderMmap
		store.ReaderMmap = false
		defer func() { store.ReaderMmap = old }()
		return openSQLiteCity(b)
	}}}
	if base := os.Getenv("BK_TEST_POSTGRES_URL"); base != "" {
		backends = append(backends, backend{"postgres", func(b *testing.B) *testStore { return openPostgresCity(b, base) }})
	}
	now := cityNow
	today := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	queries := []struct {
		name string
		f    registry.CanteenFilter
		q    coverage.Query
	}{
		{"7d", registry.CanteenFilter{}, coverage.Query{From: today.AddDate(0, 0, -6), To: today, Now: now}},
		{"30d", registry.CanteenFilter{}, coverage.Query{From: today.AddDate(0, 0, -29), To: today, Now: now}},
		{"30d-district", registry.CanteenFilter{District: "d03"}, coverage.Query{From: today.AddDate(0, 0, -29), To: today, Now: now, District: "d03"}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			for _, qc := range queries {
				b.Run(qc.name, func(b *testing.B) {
					checkCityOnce(b, s, be.name+"/"+qc.name, qc.f, qc.q)
					for _, mode := range []string{"cold", "warm"} {
						b.Run(mode, func(b *testing.B) {
							clearRollup(b, s)
							if mode == "warm" {
								if _, err := s.Coverage(ctx, qc.f, qc.q); err != nil {
									b.Fatal(err)
								}
							}
							var rep coverage.Report
							for b.Loop() {
								if mode == "cold" {
									b.StopTimer()
									clearRollup(b, s)
									b.StartTimer()
								}
								var err error
								if rep, err = s.Coverage(ctx, qc.f, qc.q); err != nil {
									b.Fatal(err)
								}
							}
							b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
							online, _ := rep.Total.Online.Rate()
							camera, _ := rep.Total.CameraOnline.Rate()
							b.Logf("%s: online %d/%d (%.3f), camera online %.3f, handling %d/%d", qc.name,
								rep.Total.Online.Num, rep.Total.Online.Den, online, camera, rep.Total.Handling.Num, rep.Total.Handling.Den)
						})
					}
				})
			}
		})
	}
}

// cityNow is when the benchmark asks, and so the end of the data stored:
// a database holds nothing from after its present.
var cityNow = time.Date(2025, 12, 31, 14, 0, 0, 0, coveragetest.Year.Location())

func clearRollup(b *testing.B, s *testStore) {
	b.Helper()
	if _, err := s.Write().ExecContext(ctx, `DELETE FROM coverage_months`); err != nil {
		b.Fatal(err)
	}
}

// checked remembers the queries already checked against Compute in this
// process (sub-benchmarks run their parent more than once).
var checked = map[string]bool{}

// checkCityOnce checks Rates.Coverage against Compute(CoverageInput),
// cold and warm, once per query.
func checkCityOnce(b *testing.B, s *testStore, name string, f registry.CanteenFilter, q coverage.Query) {
	b.Helper()
	if checked[name] {
		return
	}
	checked[name] = true
	in, err := s.CoverageInput(ctx, f, q.From, q.To)
	if err != nil {
		b.Fatal(err)
	}
	want, err := coverage.Compute(in, q)
	if err != nil {
		b.Fatal(err)
	}
	clearRollup(b, s)
	for _, mode := range []string{"cold", "warm"} {
		got, err := s.Coverage(ctx, f, q)
		if err != nil {
			b.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			b.Fatalf("%s %s: Coverage differs from Compute(CoverageInput): total %+v, want %+v", name, mode, got.Total, want.Total)
		}
	}
}

// openSQLiteCity opens the cached SQLite city, generating it first if
// needed (into a temporary name, renamed when complete).
func openSQLiteCity(b *testing.B) *testStore {
	path := filepath.Join(os.TempDir(), "bk-city-"+cityGenVersion+".db")
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		tmp := path + ".tmp"
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			os.Remove(p)
		}
		s, err := openTest(ctx, tmp)
		if err != nil {
			b.Fatal(err)
		}
		// A lost file is only regenerated: no need to sync each commit. A
		// large cache keeps the indexes being filled in memory.
		if _, err := s.Write().ExecContext(ctx, `PRAGMA synchronous = OFF`); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Write().ExecContext(ctx, `PRAGMA cache_size = -2000000`); err != nil {
			b.Fatal(err)
		}
		storeCity(b, s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("sqlite city stored in %s in %v", path, time.Since(start).Round(time.Second))
	}
	s, err := openTest(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// openPostgresCity opens the city in the schema bk_city_<version> of the
// database at base, generating it first if the schema is not complete.
func openPostgresCity(b *testing.B, base string) *testStore {
	schema := "bk_city_" + cityGenVersion
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var done bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables
		WHERE table_schema = $1 AND table_name = 'city_done')`, schema).Scan(&done); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if !done {
		start := time.Now()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE; CREATE SCHEMA `+schema); err != nil {
			b.Fatal(err)
		}
		s, err := openTest(ctx, u.String())
		if err != nil {
			b.Fatal(err)
		}
		storeCity(b, s)
		if _, err := s.Write().ExecContext(ctx, `ANALYZE; CREATE TABLE city_done (at BIGINT)`); err != nil {
			b.Fatal(err)
		}
		s.Close()
		b.Logf("postgres city stored in schema %s in %v", schema, time.Since(start).Round(time.Second))
	}
	return open(b, u.String())
}

// storeCity writes coveragetest.City(1) into s: canteens through
// ImportCanteens, the rest with multi-row INSERTs. A gateway that is not
// enrolled in the city is stored unbound, so that its cameras do not count.
// Violations are events (phase "") with their review and rectification.
// Everything is cut at cityNow: later statuses, sessions and violations are
// left out, and what was still open then is stored open.
//
// Sessions, intervals and events are inserted in time order, as a fleet
// appends them while statuses and events arrive: rows of one day are then
// stored together, as they are in a real database, which is what makes a
// day's rows quick to read.
func storeCity(b *testing.B, s *testStore) {
	b.Helper()
	in, _ := coveragetest.City(1)
	cutCity(&in, cityNow)
	cs := make([]registry.Canteen, len(in.Canteens))
	for i, c := range in.Canteens {
		cs[i] = registry.Canteen{ID: c.ID, Category: c.Category, District: c.District, Active: c.Active,
			RequiredAreas: c.RequiredAreas, Hours: c.Hours, TZ: c.TZ}
	}
	if err := s.ImportCanteens(ctx, cs); err != nil {
		b.Fatal(err)
	}
	const created = 1735660800000 // 2025-01-01
	w := newBulk(b, s)
	type ref struct{ i, j int32 }
	var sessions []ref
	for i, g := range in.Gateways {
		var canteen any
		if g.Enrolled {
			canteen = g.CanteenID
		}
		w.add("gateways (id, canteen_id, username, password_hash, created_at)", g.ID, canteen, g.ID, "-", created)
		for j := range g.Sessions {
			sessions = append(sessions, ref{int32(i), int32(j)})
		}
	}
	var intervals []ref
	for i, c := range in.Cameras {
		w.add("cameras (gateway_id, camera_id, area, mapped, updated_at)", c.GatewayID, c.ID, c.Area, true, created)
		for j := range c.Intervals {
			intervals = append(intervals, ref{int32(i), int32(j)})
		}
	}
	session := func(r ref) *coverage.Session { return &in.Gateways[r.i].Sessions[r.j] }
	slices.SortFunc(sessions, func(a, b ref) int { return session(a).Connected.Compare(session(b).Connected) })
	for _, r := range sessions {
		x := session(r)
		w.add("gateway_sessions (gateway_id, session, connected_at, disconnected_at)", in.Gateways[r.i].ID, int64(x.Session),
			store.Ms(x.Connected), store.MsOrNil(x.Disconnected))
	}
	interval := func(r ref) *coverage.Interval { return &in.Cameras[r.i].Intervals[r.j] }
	slices.SortFunc(intervals, func(a, b ref) int { return interval(a).Start.Compare(interval(b).Start) })
	for _, r := range intervals {
		c, iv := &in.Cameras[r.i], interval(r)
		w.add("camera_intervals (gateway_id, camera_id, start_at, seq, end_at, online, picture)",
			c.GatewayID, c.ID, store.Ms(iv.Start), int64(iv.Seq), store.MsOrNil(iv.End), iv.Online, iv.Picture)
	}
	gw := map[string]string{}
	for _, g := range in.Gateways {
		gw[g.CanteenID] = g.ID
	}
	slices.SortFunc(in.Violations, func(a, b coverage.Violation) int { return a.RaisedAt.Compare(b.RaisedAt) })
	for _, v := range in.Violations {
		w.add("events (gateway_id, canteen_id, event_id, seq, camera_id, type, score, started_at, received_at, reviewed_at, verdict, rectified_at)",
			gw[v.CanteenID], v.CanteenID, fmt.Sprintf("v%d", v.ID), v.ID, "cam0", "no_mask", 0.9, store.Ms(v.RaisedAt), store.Ms(v.RaisedAt),
			store.MsOrNil(v.ReviewedAt), v.Verdict, store.MsOrNil(v.RectificationAcceptedAt))
	}
	w.flush()
}

// cutCity drops what happens from now on, and opens what was open then.
func cutCity(in *coverage.Input, now time.Time) {
	for i := range in.Gateways {
		g := &in.Gateways[i]
		g.Sessions = slices.DeleteFunc(g.Sessions, func(x coverage.Session) bool { return !x.Connected.Before(now) })
		for j := range g.Sessions {
			if g.Sessions[j].Disconnected.After(now) {
				g.Sessions[j].Disconnected = time.Time{}
			}
		}
	}
	for i := range in.Cameras {
		c := &in.Cameras[i]
		c.Intervals = slices.DeleteFunc(c.Intervals, func(iv coverage.Interval) bool { return !iv.Start.Before(now) })
		for j := range c.Intervals {
			if c.Intervals[j].End.After(now) {
				c.Intervals[j].End = time.Time{}
			}
		}
	}
	in.Violations = slices.DeleteFunc(in.Violations, func(v coverage.Violation) bool { return !v.RaisedAt.Before(now) })
	for i := range in.Violations {
		v := &in.Violations[i]
		if v.ReviewedAt.After(now) {
			v.ReviewedAt, v.Verdict, v.RectificationAcceptedAt = time.Time{}, "", time.Time{}
		}
		if v.RectificationAcceptedAt.After(now) {
			v.RectificationAcceptedAt = time.Time{}
		}
	}
}

// bulk writes rows with multi-row INSERTs prepared once per table (a few
// hundred rows per statement) and many statements per transaction.
type bulk struct {
	b     *testing.B
	s     *testStore
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // by table and row count, in tx
	table string
	args  []any
	rows  int
	inTx  int
}

func newBulk(b *testing.B, s *testStore) *bulk { return &bulk{b: b, s: s} }

func (w *bulk) add(table string, vals ...any) {
	if table != w.table || len(w.args)+len(vals) > 8000 {
		w.exec()
		w.table = table
	}
	w.args = append(w.args, vals...)
	w.rows++
}

func (w *bulk) exec() {
	if w.rows == 0 {
		return
	}
	if w.tx == nil {
		var err error
		if w.tx, err = w.s.Write().BeginTx(context.Background(), nil); err != nil {
			w.b.Fatal(err)
		}
		w.stmts = map[string]*sql.Stmt{}
	}
	key := fmt.Sprintf("%s/%d", w.table, w.rows)
	st, ok := w.stmts[key]
	if !ok {
		n := len(w.args) / w.rows
		var q strings.Builder
		q.WriteString("INSERT INTO " + w.table + " VALUES ")
		for i := range w.rows {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(" + store.Placeholders(i*n+1, n) + ")")
		}
		var err error
		if st, err = w.tx.PrepareContext(ctx, q.String()); err != nil {
			w.b.Fatalf("insert into %s: %v", w.table, err)
		}
		w.stmts[key] = st
	}
	if _, err := st.ExecContext(ctx, w.args...); err != nil {
		w.b.Fatalf("insert into %s: %v", w.table, err)
	}
	w.inTx += w.rows
	w.args, w.rows = w.args[:0], 0
	if w.inTx >= 200_000 {
		w.commit()
	}
}

func (w *bulk) commit() {
	if w.tx == nil {
		return
	}
	for _, st := range w.stmts {
		st.Close()
	}
	if err := w.tx.Commit(); err != nil {
		w.b.Fatal(err)
	}
	w.tx, w.inTx = nil, 0
}

func (w *bulk) flush() {
	w.exec()
	w.commit()
}
