// Package retention deletes what has expired. Snapshots (staff faces),
// rectification photos, the photos of complaints (投诉举报,
// fleet/complaints), events, the raw camera statuses and health
// intervals, gateway sessions, the audit log, expired user sessions and
// spent invites are deleted once older than their Policy setting;
// Retainer.Retain does one pass, in transactions of at most Policy.Batch
// rows each, so that a city's year of history is never one transaction
// holding SQLite's write lock for minutes.
//
// What stays true:
//   - an expired snapshot leaves its event: the event keeps its metadata
//     and reference (sha256, bytes) and gets snapshot_expired_at, which
//     alarms.Violation.SnapshotExpired and Alarms.Snapshot's
//     store.ErrExpired report; a rectification photo likewise
//     (photo_expired_at, PhotoExpired), and a complaint's photo
//     (complaints.photo_expired_at, complaints.Complaint.PhotoExpired,
//     Complaints.Photo's store.ErrExpired).
//   - open cases are kept: an alarm being reviewed keeps its snapshot, an
//     alarm confirmed or rectifying keeps its event, a complaint not yet
//     replied to or rejected keeps its photo, whatever their age.
//   - the rates of finished periods do not change. The health intervals
//     (and gateway sessions) of a month are deleted only after the
//     rollup (fleet/rates) has kept every active canteen's days of that
//     month; the month is then frozen (retention_marks "frozen_month"):
//     Coverage takes its kept days as final even when the registry has
//     changed since, and late data no longer forgets them. Events are
//     what the rates count violations from, so once events are deleted,
//     Coverage refuses a period that starts before the oldest kept
//     (retention_marks "events_before"), rather than answering it with
//     the violations missing.
//
// SQLite keeps the file at its largest size: the pages freed by deleted
// rows (BLOBs included) are reused by new rows, not returned to the file
// system; `VACUUM` on a stopped fleet shrinks the file.
//
// The rules are kept together here rather than each in its domain: they
// are one policy across the tables of several domains (the registry's,
// the alarms', the complaints', auth's), read and tuned as one list, and run in one order
// (events before the snapshots of the events kept; health only after the
// rates have folded its months).
package retention

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Retainer deletes what has expired from an open database. It is safe for
// concurrent use; several fleets on one database take turns through a
// lease (store.DB.ClaimLease).
type Retainer struct {
	db *store.DB
	// r and w are db's reader and writer pools.
	r, w  *sql.DB
	rates *rates.Rates
}

// New returns the retainer of db.
func New(db *store.DB) *Retainer {
	return &Retainer{db: db, r: db.Read(), w: db.Write(), rates: rates.New(db)}
}

var (
	ms     = store.Ms
	fromMs = store.FromMs
)

// Day is 24 hours, the unit retention periods are given in.
const Day = 24 * time.Hour

// Policy says how long each kind of record is kept; zero keeps that
// kind forever. Default gives the defaults, and the reasons.
type Policy struct {
	// DismissedSnapshots: the snapshot of an alarm dismissed as a false
	// alarm, counted from the review (default 30 days).
	DismissedSnapshots time.Duration
	// Snapshots: the snapshot of a closed alarm, counted from its
	// closing, and of an event that is not an alarm (an episode's later
	// events), counted from its start (default 365 days). An alarm not
	// yet closed keeps its snapshot.
	Snapshots time.Duration
	// Photos: rectification photos, counted from the alarm's closing
	// (default 365 days).
	Photos time.Duration
	// ComplaintPhotos: the photo a complaint was filed with, counted from
	// the ticket's end (its reply or rejection; default 365 days). An open
	// ticket keeps its photo.
	ComplaintPhotos time.Duration
	// Events: events, counted from their start, with their history,
	// rectifications and notices; an alarm confirmed or rectifying is kept
	// (default 1095 days, 3 years).
	Events time.Duration
	// Health: raw camera statuses, health intervals and gateway sessions
	// (default 400 days: a year of rates with a month to spare). Whole
	// months only, once the rollup has kept them; see the package comment.
	Health time.Duration
	// Audit: the audit log (default 1095 days, 3 years).
	Audit time.Duration
	// Logins: expired user sessions, used and expired invites, and
	// gateway enrolment codes used, expired or revoked, counted from the
	// expiry, use or revocation (default 30 days; the audit log keeps
	// who made and used each).
	Logins time.Duration
	// Batch is the most rows deleted in one transaction (default 1000).
	Batch int
	// MaxBatches bounds the transactions of one kind in one Retain call
	// (default 1000): the rest waits for the next call.
	MaxBatches int
}

// Default is the fleet's default retention (README "Retention"
// gives the reasons).
func Default() Policy {
	return Policy{
		DismissedSnapshots: 30 * Day,
		Snapshots:          365 * Day,
		Photos:             365 * Day,
		ComplaintPhotos:    365 * Day,
		Events:             1095 * Day,
		Health:             400 * Day,
		Audit:              1095 * Day,
		Logins:             30 * Day,
	}
}

// ParsePeriod parses a retention period: a Go duration ("720h") or a
// whole number of days ("30d"); "0" keeps forever. Negative is an error.
func ParsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days > 100*366 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d, a duration such as 720h, or 0", s)
		}
		d = time.Duration(days) * Day
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d, a duration such as 720h, or 0", s)
		}
	}
	return d, nil
}

// The kinds Retain counts. It deletes events first (their snapshots and
// photos go with them, counted as events), then expires snapshots and
// photos of the events kept.
const (
	RetainedSnapshots = "snapshots"
	RetainedPhotos    = "photos"
	// RetainedComplaintPhotos are the photos of complaints answered
	// (replied or rejected) longer ago than Policy.ComplaintPhotos.
	RetainedComplaintPhotos = "complaint_photos"
	RetainedEvents          = "events"
	RetainedStatuses        = "camera_statuses"
	RetainedIntervals       = "camera_intervals"
	RetainedGatewaySession  = "gateway_sessions"
	RetainedAudit           = "audit"
	RetainedUserSessions    = "user_sessions"
	RetainedInvites         = "invites"
	RetainedEnrolCodes      = "enrol_codes"
	// RetainedSnapshotUsage are the per-gateway, per-day counts of snapshot
	// bytes behind the daily quota: only today's counts, so the days
	// before yesterday go whatever the settings.
	RetainedSnapshotUsage = "snapshot_usage"
)

// Kinds lists the kinds of Retain's counts.
var Kinds = []string{RetainedSnapshots, RetainedPhotos, RetainedComplaintPhotos, RetainedEvents, RetainedStatuses, RetainedIntervals,
	RetainedGatewaySession, RetainedAudit, RetainedUserSessions, RetainedInvites, RetainedEnrolCodes, RetainedSnapshotUsage}

// maxFoldMonths bounds the months one Retain call folds into the rollup
// before deleting their health (the first call on an old database).
const maxFoldMonths = 36

// Retain deletes what r says has expired as of now, and returns how many
// rows of each kind it dropped (Kinds). It stops at the first
// error, returning the counts so far.
func (s *Retainer) Retain(ctx context.Context, r Policy, now time.Time) (map[string]int64, error) {
	if r.Batch <= 0 {
		r.Batch = 1000
	}
	if r.MaxBatches <= 0 {
		r.MaxBatches = 1000
	}
	n := map[string]int64{}
	cut := func(d time.Duration) int64 { return ms(now.Add(-d)) }
	stamp := ms(now)
	type job struct {
		kind string
		keep time.Duration
		run  func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error)
	}
	// The snapshot rules walk the events by id, each batch after the
	// last one's: expired events stay, and are not read again.
	var afterDismissed, afterOther int64
	jobs := []job{
		{RetainedEvents, r.Events, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			if err := store.SetMark(ctx, tx, store.MarkEventsBefore, fmt.Sprintf("%020d", cutoff)); err != nil {
				return 0, err
			}
			return execN(ctx, tx, `DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.started_at < $1
				AND NOT (`+alarms.AlarmWhere+` AND e.status IN ('`+alarms.StatusConfirmed+`', '`+alarms.StatusRectifying+`')) LIMIT $2)`, cutoff, r.Batch)
		}},
		{RetainedSnapshots, r.DismissedSnapshots, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return s.expireSnapshots(ctx, tx, `e.status = '`+alarms.StatusDismissed+`' AND e.reviewed_at < $1`, cutoff, r.Batch, stamp, &afterDismissed)
		}},
		{RetainedSnapshots, r.Snapshots, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return s.expireSnapshots(ctx, tx, `((NOT `+alarms.AlarmWhere+` AND e.started_at < $1) OR
				(`+alarms.AlarmWhere+` AND e.status = '`+alarms.StatusClosed+`' AND e.closed_at < $1))`, cutoff, r.Batch, stamp, &afterOther)
		}},
		{RetainedPhotos, r.Photos, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `UPDATE rectifications SET photo = NULL, photo_expired_at = $3 WHERE id IN (
				SELECT x.id FROM rectifications x JOIN events e ON e.id = x.violation_id
				WHERE x.photo IS NOT NULL AND e.status = '`+alarms.StatusClosed+`' AND e.closed_at < $1 LIMIT $2)`, cutoff, r.Batch, stamp)
		}},
		{RetainedComplaintPhotos, r.ComplaintPhotos, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `UPDATE complaints SET photo = NULL, photo_expired_at = $3 WHERE id IN (
				SELECT id FROM complaints WHERE photo IS NOT NULL
				AND ((state = '`+complaints.StateReplied+`' AND replied_at < $1) OR (state = '`+complaints.StateRejected+`' AND rejected_at < $1))
				LIMIT $2)`, cutoff, r.Batch, stamp)
		}},
		{RetainedAudit, r.Audit, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 LIMIT $2)`, cutoff, r.Batch)
		}},
		{RetainedUserSessions, r.Logins, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `DELETE FROM user_sessions WHERE id_hash IN (
				SELECT id_hash FROM user_sessions WHERE expires_at < $1 LIMIT $2)`, cutoff, r.Batch)
		}},
		{RetainedInvites, r.Logins, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `DELETE FROM invites WHERE code_hash IN (SELECT code_hash FROM invites
				WHERE expires_at < $1 OR used_at < $1 LIMIT $2)`, cutoff, r.Batch)
		}},
		{RetainedEnrolCodes, r.Logins, func(ctx context.Context, tx *sql.Tx, cutoff int64) (int64, error) {
			return execN(ctx, tx, `DELETE FROM enrol_codes WHERE id IN (SELECT id FROM enrol_codes
				WHERE expires_at < $1 OR used_at < $1 OR revoked_at < $1 LIMIT $2)`, cutoff, r.Batch)
		}},
		{RetainedSnapshotUsage, 48 * time.Hour, func(ctx context.Context, tx *sql.Tx, _ int64) (int64, error) {
			day := now.UTC().Add(-24 * time.Hour).Format(time.DateOnly)
			return execN(ctx, tx, `DELETE FROM snapshot_usage WHERE (gateway_id, day) IN (
				SELECT gateway_id, day FROM snapshot_usage WHERE day < $1 LIMIT $2)`, day, r.Batch)
		}},
	}
	for _, j := range jobs {
		if j.keep <= 0 {
			continue
		}
		c, err := s.batches(ctx, r, func(tx *sql.Tx) (int64, error) { return j.run(ctx, tx, cut(j.keep)) })
		n[j.kind] += c
		if err != nil {
			return n, fmt.Errorf("retain %s: %w", j.kind, err)
		}
	}
	if r.Health > 0 {
		if err := s.retainHealth(ctx, r, now, n); err != nil {
			return n, fmt.Errorf("retain health: %w", err)
		}
	}
	return n, nil
}

// batches runs f, each time in a transaction of its own, until it deletes
// fewer than r.Batch rows or r.MaxBatches have run; it returns the total.
func (s *Retainer) batches(ctx context.Context, r Policy, f func(tx *sql.Tx) (int64, error)) (int64, error) {
	var total int64
	for range r.MaxBatches {
		var n int64
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = f(tx)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(r.Batch) {
			break
		}
	}
	return total, nil
}

func execN(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// expireSnapshots drops up to batch stored snapshots of the events after
// id *after where cond holds (cond reads events e and the cutoff $1),
// marks their events, and moves *after to the last.
func (s *Retainer) expireSnapshots(ctx context.Context, tx *sql.Tx, cond string, cutoff int64, batch int, now int64, after *int64) (int64, error) {
	var ids []any
	err := store.Each(ctx, tx, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		ids = append(ids, id)
		*after = id
		return err
	}, `SELECT e.id FROM events e JOIN snapshots x ON x.gateway_id = e.gateway_id AND x.event_id = e.event_id
		WHERE `+cond+` AND e.id > $3 ORDER BY e.id LIMIT $2`, cutoff, batch, *after)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	in := store.Placeholders(2, len(ids))
	if _, err := tx.ExecContext(ctx, `UPDATE events SET snapshot_expired_at = $1 WHERE id IN (`+in+`)`, append([]any{now}, ids...)...); err != nil {
		return 0, err
	}
	return execN(ctx, tx, `DELETE FROM snapshots WHERE (gateway_id, event_id) IN (
		SELECT gateway_id, event_id FROM events WHERE id IN (`+store.Placeholders(1, len(ids))+`))`, ids...)
}

// retainHealth folds the months older than r.Health into the rollup,
// freezes them, and deletes the statuses, intervals and sessions that
// only their days read.
func (s *Retainer) retainHealth(ctx context.Context, r Policy, now time.Time, n map[string]int64) error {
	// The months before target are older than r.Health entirely.
	old := now.Add(-r.Health).UTC()
	target := time.Date(old.Year(), old.Month(), 1, 0, 0, 0, 0, time.UTC)
	marks, err := store.ReadMarks(ctx, s.w)
	if err != nil {
		return err
	}
	frozen := marks.Frozen
	if frozen.Before(target) {
		// The first month with data still to fold: the oldest health, or
		// the month frozen so far.
		first, err := s.oldestHealth(ctx)
		if err != nil {
			return err
		}
		if first.IsZero() {
			first = target // nothing to fold
		} else if first.Before(frozen) {
			first = frozen
		}
		m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC)
		for i := 0; m.Before(target) && i < maxFoldMonths; i++ {
			if err := s.rates.FoldMonth(ctx, m, now); err != nil {
				break // not kept (late data raced): the next call retries
			}
			m = m.AddDate(0, 1, 0)
		}
		if m.After(frozen) {
			if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return store.SetMark(ctx, tx, store.MarkFrozenMonth, m.Format("2006-01")) }); err != nil {
				return err
			}
			frozen = m
		}
	}
	if frozen.IsZero() {
		return nil
	}
	// A day of the first month not frozen starts at the earliest 14 h
	// before its midnight UTC (UTC+14): what ends before that is read by
	// frozen days only.
	cutoff := ms(frozen.Add(-14 * time.Hour))
	for _, d := range []struct {
		kind, q string
	}{
		{RetainedStatuses, `DELETE FROM camera_status WHERE (gateway_id, seq) IN (
			SELECT gateway_id, seq FROM camera_status WHERE at < $1 LIMIT $2)`},
		{RetainedIntervals, `DELETE FROM camera_intervals WHERE (gateway_id, camera_id, start_at, seq) IN (
			SELECT gateway_id, camera_id, start_at, seq FROM camera_intervals WHERE end_at < $1 LIMIT $2)`},
		{RetainedGatewaySession, `DELETE FROM gateway_sessions WHERE (gateway_id, session) IN (
			SELECT gateway_id, session FROM gateway_sessions WHERE disconnected_at < $1 LIMIT $2)`},
	} {
		c, err := s.batches(ctx, r, func(tx *sql.Tx) (int64, error) { return execN(ctx, tx, d.q, cutoff, r.Batch) })
		n[d.kind] += c
		if err != nil {
			return fmt.Errorf("%s: %w", d.kind, err)
		}
	}
	return nil
}

// oldestHealth is the start of the oldest closed interval or session;
// zero if there is none.
func (s *Retainer) oldestHealth(ctx context.Context) (time.Time, error) {
	var a, b sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT MIN(start_at) FROM camera_intervals WHERE end_at IS NOT NULL`).Scan(&a); err != nil {
		return time.Time{}, err
	}
	if err := s.w.QueryRowContext(ctx, `SELECT MIN(connected_at) FROM gateway_sessions WHERE disconnected_at IS NOT NULL`).Scan(&b); err != nil {
		return time.Time{}, err
	}
	switch {
	case !a.Valid && !b.Valid:
		return time.Time{}, nil
	case !a.Valid || (b.Valid && b.Int64 < a.Int64):
		a = b
	}
	// The days of the month before may read it too (hours past midnight,
	// zones east of UTC).
	return fromMs(a.Int64).AddDate(0, 0, -3), nil
}
