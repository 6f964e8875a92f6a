package store

// Long file: the rollup's SQL for both dialects and the day arithmetic it
// depends on read best side by side; it splits with the store (issue 13,
// planned).

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
//
// Retention (retention.go) freezes the months whose health it deletes:
// their kept days are final (a registry change no longer invalidates them,
// late data no longer forgets them), as they can no longer be recomputed.
//
// Reads: the violations, the kept months and the registry are read side by
// side on the readers, and for a city-wide query whose last date has not
// ended (today) that date's sessions and intervals too; the rest of the
// missing days are grouped by span and loaded for their canteens only.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
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
//
// Retention (retention.go) bounds what it can answer: a query starting
// before the oldest events kept is refused (ErrQuery), as its violations
// are gone; the days of frozen months are taken as kept.
func (s *Store) Coverage(ctx context.Context, f CanteenFilter, q coverage.Query) (coverage.Report, error) {
	return s.coverage(ctx, f, q, true)
}

// coverage is Coverage; horizon false answers periods before the events
// retention kept (retention's folding, which reads no violations).
func (s *Store) coverage(ctx context.Context, f CanteenFilter, q coverage.Query, horizon bool) (coverage.Report, error) {
	started := time.Now()
	q, err := q.Normalize()
	if err != nil {
		return coverage.Report{}, err
	}
	marks, err := ReadMarks(ctx, s.r)
	if err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	if first, _ := time.Parse(time.DateOnly, q.Dates()[0]); horizon && marks.EventsBefore != 0 &&
		first.Add(-14*time.Hour).UnixMilli() < marks.EventsBefore {
		return coverage.Report{}, fmt.Errorf("coverage: from %s: before the retention horizon (events before %s are deleted): %w",
			q.Dates()[0], fromMs(marks.EventsBefore).Format(time.DateOnly), coverage.ErrQuery)
	}
	f.ActiveOnly = true
	r := rollup{s: s, f: f, q: q, dates: q.Dates()}
	if !marks.Frozen.IsZero() {
		r.frozen = marks.Frozen.Format("2006-01")
	}
	// Reads that do not depend on each other run on readers of their own;
	// every goroutine is waited for (after cancel, on an error) before
	// returning.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	// The violations: they count on the canteen's local date raised
	// (UTC-12 to UTC+14), up to Now, and Compute reads no others.
	var violations coverage.Input
	var verr error
	wg.Go(func() {
		from, _ := time.Parse(time.DateOnly, r.dates[0])
		to, _ := time.Parse(time.DateOnly, r.dates[len(r.dates)-1])
		lo, hi := from.Add(-14*time.Hour), to.Add(36*time.Hour)
		if now := q.Now.Add(time.Millisecond); now.Before(hi) {
			hi = now
		}
		verr = s.rollupViolations(ctx, f, lo, hi, &violations)
	})
	// The counters before any data: data read after them is at least as
	// new.
	if r.marks, err = s.coverageMarks(ctx, f); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	// The kept months beside the registry; and, for a city-wide query
	// whose last date may not have ended (today), that date's health.
	var kept []keptRow
	var kerr error
	var kwg sync.WaitGroup
	kwg.Go(func() { kept, kerr = r.keptRows(ctx) })
	if last, _ := time.Parse(time.DateOnly, r.dates[len(r.dates)-1]); f.cityWide() &&
		q.Now.Add(-rollupGrace).Before(last.Add(60*time.Hour)) { // a date's hours end at most 48 h after its local midnight
		r.spec = &specHealth{hi: q.Now.UnixMilli()}
		r.specWait.Add(1)
		wg.Go(func() {
			defer r.specWait.Done()
			if r.spec.lo, r.spec.err = s.firstMidnight(ctx, f, last); r.spec.err == nil && r.spec.lo < r.spec.hi {
				r.spec.h, r.spec.err = s.loadHealth(ctx, nil, r.spec.lo, r.spec.hi)
			}
		})
	}
	err = r.registry(ctx)
	kwg.Wait()
	if err = cmp.Or(err, kerr); err != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", err)
	}
	r.kept(kept)
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
	wg.Wait()
	if verr != nil {
		return coverage.Report{}, fmt.Errorf("coverage: %w", verr)
	}
	r.in.Violations = violations.Violations
	rep, err := coverage.Aggregate(r.in, r.days, q)
	if err != nil {
		return rep, fmt.Errorf("coverage: %w", err)
	}
	return rep, nil
}

// WarmCoverage computes the last days dates (today in
// coverage.DefaultTZ included) city-wide as of now, so that the days
// finished since the last call are kept before a dashboard asks: the
// first dashboard of the morning then reads yesterday from the rollup
// instead of computing it for every canteen.
func (s *Store) WarmCoverage(ctx context.Context, now time.Time, days int) error {
	loc, err := time.LoadLocation(coverage.DefaultTZ)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	_, err = s.Coverage(ctx, CanteenFilter{}, coverage.Query{From: to.AddDate(0, 0, 1-days), To: to, Now: now})
	return err
}

// rollup is one Coverage call's state.
type rollup struct {
	s     *Store
	f     CanteenFilter
	q     coverage.Query
	dates []string

	marks map[string]int64 // canteen -> counter, as read first
	// frozen is retention's first month not frozen ("2006-01"): kept
	// months before it are final, whatever their basis. "" if none.
	frozen string
	in     coverage.Input // the registry (no intervals or sessions), then the violations
	fps    map[string]uint64

	scope []int          // indices in in.Canteens of the canteens in q's scope
	at    map[string]int // canteen id -> index in scope
	// days[k*len(dates)+d] is scope canteen k's date d; has says which are
	// filled.
	days   []coverage.CanteenDay
	has    []bool
	blocks map[string][]keptMonth // canteen -> its kept months (basis current)
	fresh  []coverage.CanteenDay  // computed now

	// spec is the last date's health of all gateways, loaded while the
	// registry is read (Coverage), for when that date is missing for many
	// canteens (the dashboard's today); wait for specWait before reading.
	spec     *specHealth
	specWait sync.WaitGroup
}

// specHealth is health loaded ahead for [lo, hi).
type specHealth struct {
	lo, hi int64
	h      *health
	err    error
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
	areas, hours := map[string][]string{}, map[string]coverage.Week{} // decoded once per distinct value
	ids := map[string]bool{}
	err := r.s.scanRows(ctx, `SELECT c.id, c.category, c.district, c.active, c.required_areas, c.hours, c.tz
		FROM canteens c WHERE `+canteenWhere, r.f.args(), func(rows *sql.Rows) error {
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
		return nil
	})
	if err != nil {
		return err
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
	// 20,000 rows of few distinct strings: interned.
	intern := interner{}.of
	var gw, id, area sql.RawBytes
	err = r.s.scanRows(ctx, `SELECT gateway_id, camera_id, area FROM cameras`, nil, func(rows *sql.Rows) error {
		if err := rows.Scan(&gw, &id, &area); err != nil {
			return err
		}
		if gws[string(gw)] {
			r.in.Cameras = append(r.in.Cameras, coverage.Camera{GatewayID: intern(gw), ID: intern(id), Area: intern(area)})
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

// interner shares one string among equal byte values read (ids repeated
// over thousands of rows).
type interner map[string]string

func (in interner) of(b []byte) string {
	if v, ok := in[string(b)]; ok {
		return v
	}
	v := string(b)
	in[v] = v
	return v
}

// scanRows runs a query on the readers and calls scan for each row.
func (s *Store) scanRows(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	return Each(ctx, s.r, scan, q, args...)
}

// firstMidnight returns the earliest midnight of date (a midnight UTC)
// in the zones of the canteens f selects (Unix ms).
func (s *Store) firstMidnight(ctx context.Context, f CanteenFilter, date time.Time) (int64, error) {
	first := date.Add(14 * time.Hour).UnixMilli() // no zone is later
	var tz string
	err := s.scanRows(ctx, `SELECT DISTINCT c.tz FROM canteens c WHERE `+canteenWhere, f.args(), func(rows *sql.Rows) error {
		if err := rows.Scan(&tz); err != nil {
			return err
		}
		loc, err := time.LoadLocation(cmp.Or(tz, coverage.DefaultTZ))
		if err != nil {
			loc = time.UTC // coverage reports the bad zone
		}
		first = min(first, time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, loc).UnixMilli())
		return nil
	})
	return first, err
}

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
		JOIN canteens c ON c.id = x.canteen_id WHERE `+canteenWhere+` AND x.month >= $6 AND x.month <= $7`,
		append(r.f.args(), first[:7], last[:7]), func(rows *sql.Rows) error {
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
	for _, sp := range slices.SortedFunc(maps.Keys(groups), func(a, b span) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to))
	}) {
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
		// Few gateways: by id. Many: all gateways', dropping the others;
		// for the last date, what Coverage has loaded meanwhile.
		var h *health
		var err error
		if len(gws) <= rollupListMax {
			h, err = r.s.loadHealth(ctx, slices.Sorted(maps.Keys(gws)), lo, hi)
		} else {
			if r.spec != nil && sp == (span{len(r.dates) - 1, len(r.dates) - 1}) {
				r.specWait.Wait()
				if r.spec.err == nil && r.spec.h != nil && r.spec.lo <= lo && hi <= r.spec.hi {
					h = r.spec.h
				}
			}
			if h == nil {
				h, err = r.s.loadHealth(ctx, nil, lo, hi)
			}
		}
		if err != nil {
			return err
		}
		h.give(sub.Gateways, sub.Cameras)
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

// health is the sessions and intervals loaded for a span, before they
// are given to their gateways and cameras.
type health struct {
	sessions  []gwSession
	intervals []camInterval
}

type gwSession struct {
	gw string
	x  coverage.Session
}

type camInterval struct {
	gw, cam string
	iv      coverage.Interval
}

// loadHealth loads the sessions and the health intervals overlapping
// [lo, hi) of the gateways listed (and their cameras), or with list nil
// of all gateways. An interval keeps only whether it was healthy (online
// with picture ok), which is all the rates read: its Picture is PictureOK
// or "".
//
// Without a list it reads through the indexes on the end times
// (camera_intervals_end, gateway_sessions_disconnected): the rows ending
// after a recent lo are few, and stored together (rows are appended as
// statuses arrive). With a list it walks each camera's intervals by
// primary key from its last start at or before lo: a camera's intervals
// tile time (Ingest's insert-and-split: each ends where the next begins),
// so the ones overlapping lo start there, and the camera's older history
// is not read.
func (s *Store) loadHealth(ctx context.Context, list []string, lo, hi int64) (*health, error) {
	h := &health{}
	intern := interner{}.of // few distinct values
	var gw, cam sql.RawBytes
	var session, conn int64
	var disc sql.NullInt64
	err := s.rollupQuery(ctx, list, []any{lo, hi},
		`SELECT x.gateway_id, x.session, x.connected_at, x.disconnected_at FROM gateway_sessions x
		WHERE x.connected_at < $2 AND (x.disconnected_at IS NULL OR x.disconnected_at > $1)`,
		` AND x.gateway_id IN (%s)`,
		func(rows *sql.Rows) error {
			if err := rows.Scan(&gw, &session, &conn, &disc); err != nil {
				return err
			}
			h.sessions = append(h.sessions, gwSession{intern(gw),
				coverage.Session{Session: uint64(session), Connected: fromMs(conn), Disconnected: fromNullMs(disc)}})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	var start, seq int64
	var end sql.NullInt64
	var healthy bool
	scan := func(rows *sql.Rows) error {
		if err := rows.Scan(&gw, &cam, &start, &end, &healthy, &seq); err != nil {
			return err
		}
		iv := coverage.Interval{Start: fromMs(start), End: fromNullMs(end), Online: healthy, Seq: uint64(seq)}
		if healthy {
			iv.Picture = wire.PictureOK
		}
		h.intervals = append(h.intervals, camInterval{intern(gw), intern(cam), iv})
		return nil
	}
	const cols = `SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, (x.online AND x.picture = 'ok'), x.seq`
	if list == nil {
		// Open and closed apart: an OR would make SQLite deduplicate rows.
		err = s.rollupQuery(ctx, nil, []any{hi}, cols+` FROM camera_intervals x
			WHERE x.end_at IS NULL AND x.start_at < $1`, "", scan)
		if err == nil {
			err = s.rollupQuery(ctx, nil, []any{lo, hi}, cols+` FROM camera_intervals x
				WHERE x.end_at > $1 AND x.start_at < $2`, "", scan)
		}
	} else {
		// CROSS JOIN and +x.end_at keep SQLite on this plan.
		err = s.rollupQuery(ctx, list, []any{lo, hi}, cols+` FROM cameras k CROSS JOIN camera_intervals x
			WHERE x.gateway_id = k.gateway_id AND x.camera_id = k.camera_id AND x.start_at < $2
			AND (+x.end_at IS NULL OR +x.end_at > $1)
			AND x.start_at >= COALESCE((SELECT MAX(y.start_at) FROM camera_intervals y
				WHERE y.gateway_id = k.gateway_id AND y.camera_id = k.camera_id AND y.start_at <= $1), $1)`,
			` AND k.gateway_id IN (%s)`, scan)
	}
	if err != nil {
		return nil, fmt.Errorf("intervals: %w", err)
	}
	return h, nil
}

// give appends the sessions and intervals of gws and cams to them, each
// camera's in time order, and drops the others.
func (h *health) give(gws []coverage.Gateway, cams []coverage.Camera) {
	gat := make(map[string]int, len(gws))
	for i := range gws {
		gat[gws[i].ID] = i
	}
	for _, x := range h.sessions {
		if i, ok := gat[x.gw]; ok {
			gws[i].Sessions = append(gws[i].Sessions, x.x)
		}
	}
	type camKey struct{ gw, cam string }
	cat := make(map[camKey]int, len(cams))
	for i := range cams {
		cat[camKey{cams[i].GatewayID, cams[i].ID}] = i
	}
	for _, x := range h.intervals {
		if i, ok := cat[camKey{x.gw, x.cam}]; ok {
			cams[i].Intervals = append(cams[i].Intervals, x.iv)
		}
	}
	for i := range cams {
		if ivs := cams[i].Intervals; !slices.IsSortedFunc(ivs, cmpInterval) {
			slices.SortFunc(ivs, cmpInterval)
		}
	}
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

// rollupQuery runs q with args, and with a list once per chunk of ids
// with byID appended (its %s the chunk's placeholders, after args'),
// calling scan for each row.
func (s *Store) rollupQuery(ctx context.Context, list []string, args []any, q, byID string, scan func(*sql.Rows) error) error {
	if list == nil {
		return s.scanRows(ctx, q, args, scan)
	}
	for chunk := range slices.Chunk(list, rollupChunk) {
		all := slices.Clone(args)
		for _, id := range chunk {
			all = append(all, id)
		}
		if err := s.scanRows(ctx, q+fmt.Sprintf(byID, placeholders(len(args)+1, len(chunk))), all, scan); err != nil {
			return err
		}
	}
	return nil
}

// coverageMarks reads the counters of the canteens f selects.
func (s *Store) coverageMarks(ctx context.Context, f CanteenFilter) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.scanRows(ctx, `SELECT m.canteen_id, m.seq FROM coverage_marks m JOIN canteens c ON c.id = m.canteen_id
		WHERE `+canteenWhere, f.args(), func(rows *sql.Rows) error {
		var id string
		var seq int64
		err := rows.Scan(&id, &seq)
		out[id] = seq
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("coverage marks: %w", err)
	}
	return out, nil
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
			q := `SELECT canteen_id, seq FROM coverage_marks WHERE canteen_id IN (` + placeholders(1, len(chunk)) + `) ORDER BY canteen_id`
			if pg {
				q += ` FOR UPDATE`
			}
			seqs := map[string]int64{}
			err := Each(ctx, tx, func(rows *sql.Rows) error {
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
				fmt.Fprintf(&b, "(%s)", placeholders(len(args)+1, 6))
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
	// Months frozen by retention are final: their health may be gone.
	if _, err := tx.ExecContext(ctx, `DELETE FROM coverage_months WHERE canteen_id = $1 AND month >= $2 AND ends_at > $3
		AND month >= COALESCE((SELECT value FROM retention_marks WHERE name = '`+MarkFrozenMonth+`'), '')`,
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
