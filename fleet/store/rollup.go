package store

// The rates' rollup. A canteen's day, once its operating hours have ended,
// changes only when late data arrives (a status replayed after an uplink
// outage, a session recorded late) or when the registry changes (hours,
// zone, required areas, cameras, their mapping, the gateway binding). So
// Coverage keeps each finished coverage.CanteenDay and computes from the
// health intervals only the days it does not have: today, the days that
// ended less than rollupGrace ago, and those invalidated.
//
// Layout: one row of coverage_months per canteen and month holds that
// month's finished days, packed (a dashboard's 30 days city-wide read
// 10,000 rows instead of 150,000), under the canteen's fingerprint
// (coverage.Fingerprints) when they were computed.
//
// Invalidation:
//   - registry changes: a row whose basis differs from the canteen's
//     fingerprint now is ignored, and overwritten when recomputed. This
//     catches every path that changes what a day depends on (PutCanteen,
//     ImportCanteens, MapCamera, a heartbeat's area, BindGateway, a new
//     camera) without a hook in each.
//   - late data: Ingest (a status at t) and GatewayState (a session change
//     at t) call staleCoverage for the gateway's canteen, which deletes its
//     months holding a day whose hours end after t, and bumps the
//     canteen's coverage_marks counter.
//   - races: Coverage reads the counters before any data and stores a
//     canteen's days only if its counter has not moved since (PostgreSQL:
//     checked under FOR UPDATE, which late data's bump waits for); so a
//     day computed from data read before a late status is never kept.
//     BindGateway bumps the counter of the canteen it takes a gateway from,
//     as the days being computed may have loaded that gateway's data.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// rollupGrace is how long after a day's operating hours end Coverage
// waits before keeping it: data from the last minutes is still arriving.
const rollupGrace = 10 * time.Minute

// rollupBeforeKeep, when set (tests), runs after Coverage has read its
// data and before it keeps days: a failpoint for late data arriving then.
var rollupBeforeKeep func()

// rollupChunk bounds the ids in one IN list and the rows in one INSERT.
const rollupChunk = 400

// rollupListMax is the most gateways whose sessions and intervals are
// loaded by id; for more, all gateways' are read and the others dropped.
// A variable for tests.
var rollupListMax = 2 * rollupChunk

// Coverage answers q over the canteens f selects (active ones) as
// coverage.Compute over CoverageInput(ctx, f, q.From, q.To) does, using the
// rollup for finished days: it reads the kept days, computes the missing
// ones from the intervals of only the canteens and days missing, keeps
// those that are finished, and aggregates them with the violations.
// A bad query is an error wrapping coverage.ErrQuery.
func (s *Store) Coverage(ctx context.Context, f CanteenFilter, q coverage.Query) (coverage.Report, error) {
	started := time.Now()
	q, err := q.Normalize()
	if err != nil {
		return coverage.Report{}, err
	}
	f.ActiveOnly = true
	r := rollup{s: s, f: f, q: q, dates: q.Dates()}
	// The counters first: data read after them is at least as new.
	if r.marks, err = s.coverageMarks(ctx, f); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if err := r.registry(ctx); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if err := r.kept(ctx); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if err := r.compute(ctx); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if rollupBeforeKeep != nil {
		rollupBeforeKeep()
	}
	cutoff := q.Now
	if started.Before(cutoff) {
		cutoff = started
	}
	if err := r.keep(ctx, cutoff.Add(-rollupGrace), started); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: keep days: %w", err)
	}
	// Violations count on the canteen's local date raised (UTC-12 to
	// UTC+14), up to Now: Compute reads no others.
	from, _ := time.Parse(time.DateOnly, r.dates[0])
	to, _ := time.Parse(time.DateOnly, r.dates[len(r.dates)-1])
	lo, hi := from.Add(-14*time.Hour), to.Add(36*time.Hour)
	if now := q.Now.Add(time.Millisecond); now.Before(hi) {
		hi = now
	}
	if err := s.coverageViolations(ctx, f, lo, hi, &r.in); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	rep, err := coverage.Aggregate(r.in, r.days, q)
	if err != nil {
		return rep, fmt.Errorf("coverage: %w", err)
	}
	return rep, nil
}

// rollup is one Coverage call's state.
type rollup struct {
	s     *Store
	f     CanteenFilter
	q     coverage.Query
	dates []string

	marks map[string]int64 // canteen -> counter, as read first
	in    coverage.Input   // the registry (no intervals or sessions), then the violations
	fps   map[string]uint64

	scope []int          // indices in in.Canteens of the canteens in q's scope
	at    map[string]int // canteen id -> index in scope
	// days[k*len(dates)+d] is scope canteen k's date d; has says which are
	// filled.
	days   []coverage.CanteenDay
	has    []bool
	blocks map[string][]keptMonth // canteen -> its kept months (basis current)
	fresh  []coverage.CanteenDay  // computed now
}

// keptMonth is a row of coverage_months.
type keptMonth struct {
	month string
	days  []byte
}

// registry loads the canteens, gateways and cameras as CoverageInput
// does (ListCanteens, coverageGateways, coverageCameras), without sessions
// and intervals, and their fingerprints. It reads only the columns the
// rates need and joins in Go: a dashboard's every call pays for it.
func (r *rollup) registry(ctx context.Context) error {
	rows, err := r.s.r.QueryContext(ctx, `SELECT c.id, c.category, c.district, c.active, c.required_areas, c.hours, c.tz
		FROM canteens c WHERE `+canteenWhere, r.f.args()...)
	if err != nil {
		return fmt.Errorf("canteens: %w", err)
	}
	defer rows.Close()
	areas, hours := map[string][]string{}, map[string]coverage.Week{} // decoded once per distinct value
	ids := map[string]bool{}
	for rows.Next() {
		var c coverage.Canteen
		var a, h string
		if err := rows.Scan(&c.ID, &c.Category, &c.District, &c.Active, &a, &h, &c.TZ); err != nil {
			return fmt.Errorf("canteens: %w", err)
		}
		var ok bool
		if c.RequiredAreas, ok = areas[a]; !ok && a != "" {
			if err := json.Unmarshal([]byte(a), &c.RequiredAreas); err != nil {
				return fmt.Errorf("canteen %q: required_areas: %w", c.ID, err)
			}
			areas[a] = c.RequiredAreas
		}
		if len(c.RequiredAreas) == 0 { // as scanCanteen
			c.RequiredAreas = DefaultRequiredAreas(c.Category)
		}
		if c.Hours, ok = hours[h]; !ok && h != "" {
			if err := json.Unmarshal([]byte(h), &c.Hours); err != nil {
				return fmt.Errorf("canteen %q: hours: %w", c.ID, err)
			}
			hours[h] = c.Hours
		}
		ids[c.ID] = true
		r.in.Canteens = append(r.in.Canteens, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("canteens: %w", err)
	}
	// Every gateway stored is enrolled; its cameras are in its canteen.
	gws := map[string]bool{}
	err = r.s.scanRows(ctx, `SELECT id, canteen_id FROM gateways WHERE canteen_id IS NOT NULL`, nil, func(rows *sql.Rows) error {
		g := coverage.Gateway{Enrolled: true}
		if err := rows.Scan(&g.ID, &g.CanteenID); err != nil {
			return err
		}
		if ids[g.CanteenID] {
			gws[g.ID] = true
			r.in.Gateways = append(r.in.Gateways, g)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gateways: %w", err)
	}
	err = r.s.scanRows(ctx, `SELECT gateway_id, camera_id, area FROM cameras`, nil, func(rows *sql.Rows) error {
		var cam coverage.Camera
		if err := rows.Scan(&cam.GatewayID, &cam.ID, &cam.Area); err != nil {
			return err
		}
		if gws[cam.GatewayID] {
			r.in.Cameras = append(r.in.Cameras, cam)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cameras: %w", err)
	}
	r.fps = coverage.Fingerprints(r.in)
	r.at = map[string]int{}
	for i, c := range r.in.Canteens {
		if c.Active && (r.q.Category == "" || c.Category == r.q.Category) && (r.q.District == "" || c.District == r.q.District) {
			r.at[c.ID] = len(r.scope)
			r.scope = append(r.scope, i)
		}
	}
	n := len(r.scope) * len(r.dates)
	r.days, r.has = make([]coverage.CanteenDay, n), make([]bool, n)
	return nil
}

// scanRows runs a query on the readers and calls scan for each row.
func (s *Store) scanRows(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// kept fills in the kept days: those of months computed under the
// canteen's current fingerprint that ended by Now.
func (r *rollup) kept(ctx context.Context) error {
	first, last := r.dates[0], r.dates[len(r.dates)-1]
	rows, err := r.s.r.QueryContext(ctx, `SELECT x.canteen_id, x.month, x.basis, x.days FROM coverage_months x
		JOIN canteens c ON c.id = x.canteen_id WHERE `+canteenWhere+` AND x.month >= $6 AND x.month <= $7`,
		append(r.f.args(), first[:7], last[:7])...)
	if err != nil {
		return fmt.Errorf("kept days: %w", err)
	}
	defer rows.Close()
	r.blocks = map[string][]keptMonth{}
	nd := len(r.dates)
	now := r.q.Now.UnixMilli()
	for rows.Next() {
		var id, month string
		var basis int64
		var blob []byte
		if err := rows.Scan(&id, &month, &basis, &blob); err != nil {
			return fmt.Errorf("kept days: %w", err)
		}
		k, ok := r.at[id]
		if !ok || uint64(basis) != r.fps[id] {
			continue
		}
		// Date index of the month's first day, which may be before From.
		d0 := dateIndex(r.dates[0], month+"-01")
		type got struct {
			d int
			x coverage.CanteenDay
		}
		var gots []got
		err := decodeMonth(blob, func(dom int, x coverage.CanteenDay, end int64) {
			if d := d0 + dom - 1; d >= 0 && d < nd && end <= now {
				x.CanteenID, x.Day, x.End = id, r.dates[d], time.UnixMilli(end)
				gots = append(gots, got{d, x})
			}
		})
		if err != nil {
			continue // recomputed, and overwritten
		}
		r.blocks[id] = append(r.blocks[id], keptMonth{month, blob})
		for _, g := range gots {
			r.days[k*nd+g.d], r.has[k*nd+g.d] = g.x, true
		}
	}
	return rows.Err()
}

// dateIndex returns how many days day is after first (both "2006-01-02").
func dateIndex(first, day string) int {
	a, _ := time.Parse(time.DateOnly, first)
	b, _ := time.Parse(time.DateOnly, day)
	return int(b.Sub(a) / (24 * time.Hour)) // both are midnights UTC
}

// span is a run of dates, indices into rollup.dates, inclusive.
type span struct{ from, to int }

// maxSpans bounds the separate computations of one call; beyond it the
// missing days are computed as one span.
const maxSpans = 4

// compute computes the missing days. Canteens are grouped by the span
// from their first to their last missing date (usually: today for all,
// and a few canteens with older days invalidated), and each group's
// sessions and intervals are loaded for its span only.
func (r *rollup) compute(ctx context.Context) error {
	nd := len(r.dates)
	groups := map[span][]int{}
	for k := range r.scope {
		has := r.has[k*nd : (k+1)*nd]
		lo := slices.Index(has, false)
		if lo < 0 {
			continue
		}
		hi := nd - 1
		for has[hi] {
			hi--
		}
		groups[span{lo, hi}] = append(groups[span{lo, hi}], k)
	}
	if len(groups) > maxSpans {
		all, sp := []int{}, span{nd, -1}
		for g, ks := range groups {
			all = append(all, ks...)
			sp = span{min(sp.from, g.from), max(sp.to, g.to)}
		}
		slices.Sort(all)
		groups = map[span][]int{sp: all}
	}
	for _, sp := range slices.SortedFunc(maps.Keys(groups), func(a, b span) int { return a.from - b.from + (a.to-b.to)*nd }) {
		if err := r.computeSpan(ctx, sp, groups[sp]); err != nil {
			return err
		}
	}
	return nil
}

// computeSpan computes the dates of sp for the scope canteens ks.
func (r *rollup) computeSpan(ctx context.Context, sp span, ks []int) error {
	var sub coverage.Input
	ids := make(map[string]bool, len(ks))
	from, _ := time.Parse(time.DateOnly, r.dates[sp.from])
	to, _ := time.Parse(time.DateOnly, r.dates[sp.to])
	// The operating windows of dates from..to lie within lo..hi: from
	// from's midnight to to's second midnight after (a range runs at most
	// to 48:00), in each canteen's zone.
	lo, hi := int64(1<<63-1), int64(-1<<63)
	locs := map[string]*time.Location{}
	for _, k := range ks {
		c := r.in.Canteens[r.scope[k]]
		sub.Canteens = append(sub.Canteens, c)
		ids[c.ID] = true
		tz := c.TZ
		if tz == "" {
			tz = coverage.DefaultTZ
		}
		loc, ok := locs[tz]
		if !ok {
			var err error
			if loc, err = time.LoadLocation(tz); err != nil {
				loc = time.UTC // coverage reports the bad zone
			}
			locs[tz] = loc
		}
		lo = min(lo, time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc).UnixMilli())
		hi = max(hi, time.Date(to.Year(), to.Month(), to.Day()+2, 0, 0, 0, 0, loc).UnixMilli())
	}
	hi = min(hi, r.q.Now.UnixMilli())
	gws := map[string]bool{}
	for _, g := range r.in.Gateways {
		if ids[g.CanteenID] {
			gws[g.ID] = true
			sub.Gateways = append(sub.Gateways, g)
		}
	}
	for _, c := range r.in.Cameras {
		if gws[c.GatewayID] {
			sub.Cameras = append(sub.Cameras, c)
		}
	}
	if lo < hi && len(gws) > 0 {
		// Few gateways: by id. Many: by the filter, dropping the others.
		var list []string
		if len(gws) <= rollupListMax {
			list = slices.Sorted(maps.Keys(gws))
		}
		sessions, err := r.s.rollupSessions(ctx, list, gws, lo, hi)
		if err != nil {
			return err
		}
		intervals, err := r.s.rollupIntervals(ctx, list, gws, lo, hi)
		if err != nil {
			return err
		}
		for i := range sub.Gateways {
			sub.Gateways[i].Sessions = sessions[sub.Gateways[i].ID]
		}
		for i := range sub.Cameras {
			sub.Cameras[i].Intervals = intervals[CameraKey{sub.Cameras[i].GatewayID, sub.Cameras[i].ID}]
		}
	}
	days, err := coverage.ComputeDays(sub, coverage.Query{From: from, To: to, Now: r.q.Now})
	if err != nil {
		return err
	}
	n, nd := sp.to-sp.from+1, len(r.dates)
	for i, x := range days {
		k, d := r.at[x.CanteenID], sp.from+i%n
		if !r.has[k*nd+d] {
			r.days[k*nd+d], r.has[k*nd+d] = x, true
			r.fresh = append(r.fresh, x)
		}
	}
	return nil
}

// rollupSessions loads the sessions overlapping [lo, hi) of the gateways
// listed, or with list nil of those in keep (reading all gateways' through
// the index on disconnected_at: few are open after lo when lo is recent).
func (s *Store) rollupSessions(ctx context.Context, list []string, keep map[string]bool, lo, hi int64) (map[string][]coverage.Session, error) {
	out := map[string][]coverage.Session{}
	err := s.rollupQuery(ctx, list, lo, hi,
		`SELECT x.gateway_id, x.session, x.connected_at, x.disconnected_at FROM gateway_sessions x
		WHERE x.connected_at < $2 AND (x.disconnected_at IS NULL OR x.disconnected_at > $1)`,
		` AND x.gateway_id IN (%s)`,
		func(rows *sql.Rows) error {
			var gw string
			var x coverage.Session
			var session, conn int64
			var disc sql.NullInt64
			if err := rows.Scan(&gw, &session, &conn, &disc); err != nil {
				return err
			}
			if keep[gw] {
				x.Session, x.Connected, x.Disconnected = uint64(session), fromMs(conn), fromNullMs(disc)
				out[gw] = append(out[gw], x)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return out, nil
}

// rollupIntervals loads the health intervals overlapping [lo, hi) of the
// cameras of the gateways listed, or with list nil of those in keep, each
// camera's in time order.
//
// Without a list it reads all cameras' through camera_intervals_end: the
// intervals ending after a recent lo are few, and stored together (rows
// are appended as statuses arrive). With a list it walks each camera's
// intervals by primary key from its last start at or before lo: a
// camera's intervals tile time (Ingest's insert-and-split: each ends where
// the next begins), so the ones overlapping lo start there, and the
// camera's older history is not read.
func (s *Store) rollupIntervals(ctx context.Context, list []string, keep map[string]bool, lo, hi int64) (map[CameraKey][]coverage.Interval, error) {
	out := map[CameraKey][]coverage.Interval{}
	scan := func(rows *sql.Rows) error {
		var k CameraKey
		var iv coverage.Interval
		var start, seq int64
		var end sql.NullInt64
		if err := rows.Scan(&k.GatewayID, &k.CameraID, &start, &end, &iv.Online, &iv.Picture, &seq); err != nil {
			return err
		}
		if keep[k.GatewayID] {
			iv.Start, iv.End, iv.Seq = fromMs(start), fromNullMs(end), uint64(seq)
			out[k] = append(out[k], iv)
		}
		return nil
	}
	var err error
	if list == nil {
		err = s.rollupQuery(ctx, nil, lo, hi, `SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, x.online, x.picture, x.seq
			FROM camera_intervals x WHERE (x.end_at IS NULL OR x.end_at > $1) AND x.start_at < $2`, "", scan)
	} else {
		// CROSS JOIN and +x.end_at keep SQLite on this plan.
		err = s.rollupQuery(ctx, list, lo, hi, `SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, x.online, x.picture, x.seq
			FROM cameras k CROSS JOIN camera_intervals x
			WHERE x.gateway_id = k.gateway_id AND x.camera_id = k.camera_id AND x.start_at < $2
			AND (+x.end_at IS NULL OR +x.end_at > $1)
			AND x.start_at >= COALESCE((SELECT MAX(y.start_at) FROM camera_intervals y
				WHERE y.gateway_id = k.gateway_id AND y.camera_id = k.camera_id AND y.start_at <= $1), $1)`,
			` AND k.gateway_id IN (%s)`, scan)
	}
	if err != nil {
		return nil, fmt.Errorf("intervals: %w", err)
	}
	for k, ivs := range out {
		if !slices.IsSortedFunc(ivs, cmpInterval) {
			slices.SortFunc(ivs, cmpInterval)
			out[k] = ivs
		}
	}
	return out, nil
}

func cmpInterval(a, b coverage.Interval) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// rollupQuery runs q ($1 and $2 are lo and hi), with a list once per
// chunk of ids with byID appended (its %s the chunk's placeholders, from
// $3), calling scan for each row.
func (s *Store) rollupQuery(ctx context.Context, list []string, lo, hi int64, q, byID string, scan func(*sql.Rows) error) error {
	if list == nil {
		return s.scanRows(ctx, q, []any{lo, hi}, scan)
	}
	for chunk := range slices.Chunk(list, rollupChunk) {
		args := []any{lo, hi}
		for _, id := range chunk {
			args = append(args, id)
		}
		if err := s.scanRows(ctx, q+fmt.Sprintf(byID, rollupParams(3, len(chunk))), args, scan); err != nil {
			return err
		}
	}
	return nil
}

// rollupParams returns "$from, $from+1, …", n of them.
func rollupParams(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// coverageMarks reads the counters of the canteens f selects.
func (s *Store) coverageMarks(ctx context.Context, f CanteenFilter) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.canteen_id, m.seq FROM coverage_marks m JOIN canteens c ON c.id = m.canteen_id
		WHERE `+canteenWhere, f.args()...)
	if err != nil {
		return nil, fmt.Errorf("coverage marks: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("coverage marks: %w", err)
		}
		out[id] = seq
	}
	return out, rows.Err()
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
	pg := r.s.d.name == "postgres"
	if pg {
		// Counters to lock must exist: create the missing ones at 0. One
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
	return r.s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock (PostgreSQL) and compare the counters, in id order.
		ok := map[string]bool{}
		for chunk := range slices.Chunk(ids, rollupChunk) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			q := `SELECT canteen_id, seq FROM coverage_marks WHERE canteen_id IN (` + rollupParams(1, len(chunk)) + `) ORDER BY canteen_id`
			if pg {
				q += ` FOR UPDATE`
			}
			seqs := map[string]int64{}
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var seq int64
				if err := rows.Scan(&id, &seq); err != nil {
					rows.Close()
					return err
				}
				seqs[id] = seq
			}
			rows.Close()
			if err := rows.Err(); err != nil {
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
				fmt.Fprintf(&b, "(%s)", rollupParams(len(args)+1, 6))
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM coverage_months WHERE canteen_id = $1 AND month >= $2 AND ends_at > $3`,
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
