package rates

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// CameraKey names a camera: camera ids are unique per gateway.
type CameraKey struct{ GatewayID, CameraID string }

// gatewaysInScope joins a gateway g to its canteen c under registry.CanteenWhere.
const gatewaysInScope = ` JOIN gateways g ON g.id = x.gateway_id JOIN canteens c ON c.id = g.canteen_id WHERE ` + registry.CanteenWhere

// IntervalsBetween returns, in one query, the health intervals that
// overlap [from, to) of every camera on a gateway of a canteen f selects,
// each camera's in time order (start, then seq), as CameraIntervals does.
func (s *Rates) IntervalsBetween(ctx context.Context, f registry.CanteenFilter, from, to time.Time) (map[CameraKey][]registry.Interval, error) {
	out := map[CameraKey][]registry.Interval{}
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var k CameraKey
		var iv registry.Interval
		var start, seq int64
		var end sql.NullInt64
		if err := rows.Scan(&k.GatewayID, &k.CameraID, &start, &end, &iv.Online, &iv.Picture, &seq); err != nil {
			return err
		}
		iv.Start, iv.End, iv.Seq = fromMs(start), fromNullMs(end), uint64(seq)
		out[k] = append(out[k], iv)
		return nil
	}, `SELECT x.gateway_id, x.camera_id, x.start_at, x.end_at, x.online, x.picture, x.seq
		FROM camera_intervals x`+gatewaysInScope+` AND x.start_at < $7 AND (x.end_at IS NULL OR x.end_at > $6)
		ORDER BY x.gateway_id, x.camera_id, x.start_at, x.seq`, append(f.Args(), ms(from), ms(to))...)
	if err != nil {
		return nil, fmt.Errorf("intervals between: %w", err)
	}
	return out, nil
}

// SessionsBetween returns, in one query, the connections that overlap
// [from, to) of every gateway of a canteen f selects, oldest first.
func (s *Rates) SessionsBetween(ctx context.Context, f registry.CanteenFilter, from, to time.Time) (map[string][]registry.Session, error) {
	out := map[string][]registry.Session{}
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var gw string
		var x registry.Session
		var session, conn int64
		var disc sql.NullInt64
		if err := rows.Scan(&gw, &session, &conn, &disc); err != nil {
			return err
		}
		x.Session, x.Connected, x.Disconnected = uint64(session), fromMs(conn), fromNullMs(disc)
		out[gw] = append(out[gw], x)
		return nil
	}, `SELECT x.gateway_id, x.session, x.connected_at, x.disconnected_at
		FROM gateway_sessions x`+gatewaysInScope+` AND x.connected_at < $7 AND (x.disconnected_at IS NULL OR x.disconnected_at > $6)
		ORDER BY x.gateway_id, x.session`, append(f.Args(), ms(from), ms(to))...)
	if err != nil {
		return nil, fmt.Errorf("sessions between: %w", err)
	}
	return out, nil
}

// coverageSlack widens the period loaded for CoverageInput: the query's
// dates are in each canteen's time zone (UTC-12..UTC+14) and operating
// hours may run past midnight.
const coverageSlack = 2 * 24 * time.Hour

// CoverageInput loads what coverage.Compute needs for the dates from..to
// (inclusive) over the canteens f selects (active ones only; inactive ones
// are out of scope anyway): the canteens, their gateways (every gateway
// stored is enrolled) with their sessions, the gateways' cameras (each in
// its gateway's canteen) with their intervals, and the violations raised
// (one per episode: the events whose phase is "" or "start").
//
// store.Each violation carries its review (ReviewedAt, Verdict) and when its
// rectification was accepted (RectificationAcceptedAt) from the workflow.
func (s *Rates) CoverageInput(ctx context.Context, f registry.CanteenFilter, from, to time.Time) (coverage.Input, error) {
	f.ActiveOnly = true
	lo, hi := from.Add(-coverageSlack), to.Add(coverageSlack)
	var in coverage.Input
	cs, err := s.reg.ListCanteens(ctx, f)
	if err != nil {
		return in, err
	}
	in.Canteens = make([]coverage.Canteen, 0, len(cs))
	for _, c := range cs {
		in.Canteens = append(in.Canteens, coverage.Canteen{ID: c.ID, Category: c.Category, District: c.District,
			Active: c.Active, RequiredAreas: c.RequiredAreas, Hours: c.Hours, TZ: c.TZ})
	}
	sessions, err := s.SessionsBetween(ctx, f, lo, hi)
	if err != nil {
		return in, err
	}
	intervals, err := s.IntervalsBetween(ctx, f, lo, hi)
	if err != nil {
		return in, err
	}
	if err := s.coverageGateways(ctx, f, sessions, &in); err != nil {
		return in, err
	}
	if err := s.coverageCameras(ctx, f, intervals, &in); err != nil {
		return in, err
	}
	if err := s.coverageViolations(ctx, f, lo, hi, &in); err != nil {
		return in, err
	}
	if err := s.coverageComplaints(ctx, f, lo, hi, &in); err != nil {
		return in, err
	}
	return in, nil
}

func (s *Rates) coverageGateways(ctx context.Context, f registry.CanteenFilter, sessions map[string][]registry.Session, in *coverage.Input) error {
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		g := coverage.Gateway{Enrolled: true}
		if err := rows.Scan(&g.ID, &g.CanteenID); err != nil {
			return err
		}
		for _, x := range sessions[g.ID] {
			g.Sessions = append(g.Sessions, coverage.Session(x))
		}
		in.Gateways = append(in.Gateways, g)
		return nil
	}, `SELECT g.id, c.id FROM gateways g JOIN canteens c ON c.id = g.canteen_id
		WHERE `+registry.CanteenWhere+` ORDER BY g.id`, f.Args()...)
	if err != nil {
		return fmt.Errorf("coverage gateways: %w", err)
	}
	return nil
}

func (s *Rates) coverageCameras(ctx context.Context, f registry.CanteenFilter, intervals map[CameraKey][]registry.Interval, in *coverage.Input) error {
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var cam coverage.Camera
		if err := rows.Scan(&cam.GatewayID, &cam.ID, &cam.Area); err != nil {
			return err
		}
		for _, iv := range intervals[CameraKey{cam.GatewayID, cam.ID}] {
			cam.Intervals = append(cam.Intervals, coverage.Interval(iv))
		}
		in.Cameras = append(in.Cameras, cam)
		return nil
	}, `SELECT x.gateway_id, x.camera_id, x.area FROM cameras x`+gatewaysInScope+`
		ORDER BY x.gateway_id, x.camera_id`, f.Args()...)
	if err != nil {
		return fmt.Errorf("coverage cameras: %w", err)
	}
	return nil
}

// coverageViolations appends the violations raised in [from, to) at
// canteens f selects, by id.
func (s *Rates) coverageViolations(ctx context.Context, f registry.CanteenFilter, from, to time.Time, in *coverage.Input) error {
	return s.scanViolations(ctx, `SELECT x.id, x.canteen_id, x.started_at, x.reviewed_at, x.verdict, x.rectified_at
		FROM events x JOIN canteens c ON c.id = x.canteen_id
		WHERE `+registry.CanteenWhere+` AND x.started_at >= $6 AND x.started_at < $7 AND x.phase IN ('', $8)
		ORDER BY x.id`, append(f.Args(), ms(from), ms(to), wire.PhaseStart), in)
}

// rollupViolations is coverageViolations, but for a city-wide filter (a
// city, or a category of it, where most canteens are selected) of all
// canteens, in no order: the caller drops the others, cheaper than a join
// for every row. The rows come from an index
// holding the columns read (events_started_rates); their count first, so
// that the slice is allocated once.
func (s *Rates) rollupViolations(ctx context.Context, f registry.CanteenFilter, from, to time.Time, in *coverage.Input) error {
	if !f.CityWide() {
		return s.coverageViolations(ctx, f, from, to, in)
	}
	const cols = `SELECT x.id, x.canteen_id, x.started_at, x.reviewed_at, x.verdict, x.rectified_at`
	const where = ` FROM events x WHERE x.started_at >= $1 AND x.started_at < $2 AND x.phase IN ('', $3)`
	args := []any{ms(from), ms(to), wire.PhaseStart}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&n); err != nil {
		return fmt.Errorf("coverage violations: %w", err)
	}
	in.Violations = slices.Grow(in.Violations, n+n/16) // and some arriving meanwhile
	return s.scanViolations(ctx, cols+where, args, in)
}

// scanViolations appends the violations q selects (columns as
// coverageViolations').
func (s *Rates) scanViolations(ctx context.Context, q string, args []any, in *coverage.Input) error {
	intern := interner{}.of // few distinct values
	var canteen, verdict sql.RawBytes
	var at int64
	var reviewed, rectified sql.NullInt64
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var v coverage.Violation
		if err := rows.Scan(&v.ID, &canteen, &at, &reviewed, &verdict, &rectified); err != nil {
			return err
		}
		v.CanteenID, v.Verdict = intern(canteen), intern(verdict)
		v.RaisedAt, v.ReviewedAt, v.RectificationAcceptedAt = fromMs(at), fromNullMs(reviewed), fromNullMs(rectified)
		in.Violations = append(in.Violations, v)
		return nil
	}, q, args...)
	if err != nil {
		return fmt.Errorf("coverage violations: %w", err)
	}
	return nil
}

// coverageComplaints appends the complaints received in [from, to) about
// canteens f selects, by id: answered is when replied or rejected.
func (s *Rates) coverageComplaints(ctx context.Context, f registry.CanteenFilter, from, to time.Time, in *coverage.Input) error {
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var x coverage.Complaint
		var at, due int64
		var answered sql.NullInt64
		if err := rows.Scan(&x.ID, &x.CanteenID, &at, &answered, &due); err != nil {
			return err
		}
		x.ReceivedAt, x.AnsweredAt, x.ReplyDue = fromMs(at), fromNullMs(answered), fromMs(due)
		in.Complaints = append(in.Complaints, x)
		return nil
	}, `SELECT x.id, x.canteen_id, x.received_at, COALESCE(x.replied_at, x.rejected_at), x.reply_due
		FROM complaints x JOIN canteens c ON c.id = x.canteen_id
		WHERE `+registry.CanteenWhere+` AND x.received_at >= $6 AND x.received_at < $7
		ORDER BY x.id`, append(f.Args(), ms(from), ms(to))...)
	if err != nil {
		return fmt.Errorf("coverage complaints: %w", err)
	}
	return nil
}
