package rates

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

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
func (s *Rates) loadHealth(ctx context.Context, list []string, lo, hi int64) (*health, error) {
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
func (s *Rates) rollupQuery(ctx context.Context, list []string, args []any, q, byID string, scan func(*sql.Rows) error) error {
	if list == nil {
		return s.scanRows(ctx, q, args, scan)
	}
	for chunk := range slices.Chunk(list, rollupChunk) {
		all := slices.Clone(args)
		for _, id := range chunk {
			all = append(all, id)
		}
		if err := s.scanRows(ctx, q+fmt.Sprintf(byID, store.Placeholders(len(args)+1, len(chunk))), all, scan); err != nil {
			return err
		}
	}
	return nil
}
