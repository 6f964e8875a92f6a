package alarms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Violation is a stored event.
type Violation struct {
	ID         int64             `json:"id"`
	GatewayID  string            `json:"gateway_id"`
	CanteenID  string            `json:"canteen_id"`
	EventID    string            `json:"event_id"`
	Seq        uint64            `json:"seq"`
	CameraID   string            `json:"camera_id"`
	Type       string            `json:"type"`
	Score      float64           `json:"score"`
	Boxes      []wire.Box        `json:"boxes"`
	StartedAt  time.Time         `json:"started_at"`
	EndedAt    time.Time         `json:"ended_at,omitzero"`
	Phase      string            `json:"phase,omitempty"`
	Episode    string            `json:"episode,omitempty"`
	Historical bool              `json:"historical"`
	Attrs      map[string]string `json:"attrs,omitempty"`
	// Snapshot is the event's reference; HasSnapshot whether the JPEG is
	// stored (GET …/snapshot serves it).
	Snapshot        *wire.SnapshotRef `json:"snapshot,omitempty"`
	HasSnapshot     bool              `json:"has_snapshot"`
	SnapshotDropped bool              `json:"snapshot_dropped,omitempty"`
	// SnapshotExpired: the snapshot was deleted by retention (the
	// reference stays); GET …/snapshot answers 410.
	SnapshotExpired bool      `json:"snapshot_expired,omitempty"`
	ReceivedAt      time.Time `json:"received_at"`
	// Status is the workflow state: StatusNew until the workflow moves it
	// (only alarms move).
	Status string `json:"status"`
	// Alarm: the event is its episode's first (phase "" or "start"), the
	// one the workflow runs on; later events of the episode are not.
	Alarm bool `json:"alarm"`
	// CanteenName and District are the canteen's, if it is registered.
	CanteenName string `json:"canteen_name,omitempty"`
	District    string `json:"district,omitempty"`
	// ReviewDue is, for alarms, StartedAt + Workflow.ReviewDeadline.
	ReviewDue  time.Time `json:"review_due,omitzero"`
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	// Verdict is coverage.VerdictConfirmed, coverage.VerdictDismissed or ""
	// (not reviewed).
	Verdict    string `json:"verdict,omitempty"`
	ReviewNote string `json:"review_note,omitempty"`
	// RectifyDue is when the canteen must have rectified a confirmed alarm;
	// a rejected rectification sets a new one.
	RectifyDue time.Time `json:"rectify_due,omitzero"`
	// RectifiedAt is when the rectification was accepted, which also
	// closed the alarm (ClosedAt).
	RectifiedAt time.Time `json:"rectified_at,omitzero"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	// Overdue is OverdueReview, OverdueRectification or "", as of the read
	// (ViolationFilter.Now, else time.Now()).
	Overdue string `json:"overdue,omitempty"`
}

// Workflow states of an alarm (see Review, SubmitRectification and
// DecideRectification): new → confirmed | dismissed; confirmed →
// rectifying; rectifying → closed (accepted) | confirmed (rejected).
const (
	// StatusNew is a violation's status when stored.
	StatusNew        = "new"
	StatusConfirmed  = coverage.VerdictConfirmed
	StatusDismissed  = coverage.VerdictDismissed
	StatusRectifying = "rectifying"
	StatusClosed     = "closed"
)

// Values of Violation.Overdue and ViolationFilter.Overdue.
const (
	// OverdueReview: a new alarm past its ReviewDue.
	OverdueReview = "review"
	// OverdueRectification: a confirmed or rectifying alarm past its
	// RectifyDue.
	OverdueRectification = "rectification"
	// OverdueAny selects both in ViolationFilter.
	OverdueAny = "any"
)

// ViolationFilter selects violations; zero fields do not filter. Since and
// Until bound started_at: Since <= started_at < Until.
//
// Results are newest first (id descending), at most Limit (default 100,
// at most 10,000). With AfterID, only ids greater than it are returned,
// oldest first, so a poller can page forward; with BeforeID only smaller
// ones, newest first, to page back.
type ViolationFilter struct {
	CanteenID, GatewayID, Type, Status string
	Since, Until                       time.Time
	Limit                              int
	AfterID, BeforeID                  int64
	// Alarms keeps only alarms (the episodes' first events).
	Alarms bool
	// Overdue keeps only the alarms overdue for review (OverdueReview),
	// for rectification (OverdueRectification) or either (OverdueAny);
	// another value is a store.ErrInvalid.
	Overdue string
	// Scope keeps the events of the canteens in its districts and of the
	// canteens it lists (nil fields do not restrict, empty ones match
	// nothing). Events without a registered canteen pass only a zero
	// registry.Scope.
	Scope registry.Scope
	// Now is the time Overdue (the filter and the field) is judged at;
	// zero means time.Now().
	Now time.Time
}

const violationCols = `e.id, e.gateway_id, COALESCE(e.canteen_id, ''), e.event_id, e.seq, e.camera_id, e.type, e.score, e.boxes,
	e.started_at, e.ended_at, e.phase, e.episode, e.historical, e.attrs, e.snapshot_sha256, e.snapshot_bytes, e.snapshot_dropped,
	e.received_at, e.status,
	EXISTS (SELECT 1 FROM snapshots s WHERE s.gateway_id = e.gateway_id AND s.event_id = e.event_id),
	COALESCE(c.name, ''), COALESCE(c.district, ''), e.reviewed_at, e.reviewed_by, e.verdict, e.review_note,
	e.rectify_due, e.rectified_at, e.closed_at, e.snapshot_expired_at IS NOT NULL`

// violationFrom is the FROM clause violationCols read.
const violationFrom = ` FROM events e LEFT JOIN canteens c ON c.id = e.canteen_id`

// AlarmWhere and isAlarmRow are the SQL condition that an event (of
// events e, or of the one table events) is an alarm; isAlarmPhase is it
// in Go. Retention keeps open alarms by AlarmWhere.
const (
	AlarmWhere = `e.` + isAlarmRow
	isAlarmRow = `phase IN ('', '` + wire.PhaseStart + `')`
)

// scanViolation reads violationCols; wf and now give ReviewDue and Overdue.
func scanViolation(sc store.Row, wf Workflow, now time.Time) (Violation, error) {
	var v Violation
	var seq, started, received int64
	var ended, size, reviewed, rectifyDue, rectified, closed sql.NullInt64
	var boxes string
	var attrs, sha sql.NullString
	err := sc.Scan(&v.ID, &v.GatewayID, &v.CanteenID, &v.EventID, &seq, &v.CameraID, &v.Type, &v.Score, &boxes,
		&started, &ended, &v.Phase, &v.Episode, &v.Historical, &attrs, &sha, &size, &v.SnapshotDropped,
		&received, &v.Status, &v.HasSnapshot,
		&v.CanteenName, &v.District, &reviewed, &v.ReviewedBy, &v.Verdict, &v.ReviewNote,
		&rectifyDue, &rectified, &closed, &v.SnapshotExpired)
	if err != nil {
		return v, err
	}
	v.Seq = uint64(seq)
	v.StartedAt, v.EndedAt, v.ReceivedAt = fromMs(started), fromNullMs(ended), fromMs(received)
	v.ReviewedAt, v.RectifyDue, v.RectifiedAt, v.ClosedAt = fromNullMs(reviewed), fromNullMs(rectifyDue), fromNullMs(rectified), fromNullMs(closed)
	v.Alarm = isAlarmPhase(v.Phase)
	if v.Alarm {
		v.ReviewDue = fromMs(started + wf.reviewDeadline().Milliseconds())
		v.Overdue = overdue(v.Status, started, rectifyDue, wf, now)
	}
	if err := json.Unmarshal([]byte(boxes), &v.Boxes); err != nil {
		return v, fmt.Errorf("violation %d: boxes: %w", v.ID, err)
	}
	if v.Boxes == nil {
		v.Boxes = []wire.Box{}
	}
	if attrs.Valid {
		if err := json.Unmarshal([]byte(attrs.String), &v.Attrs); err != nil {
			return v, fmt.Errorf("violation %d: attrs: %w", v.ID, err)
		}
	}
	if sha.Valid {
		v.Snapshot = &wire.SnapshotRef{SHA256: sha.String, Bytes: int(size.Int64)}
	}
	return v, nil
}

// overdue says what an alarm is overdue for at now, judged in whole
// milliseconds as the SQL filters judge it.
func overdue(status string, started int64, rectifyDue sql.NullInt64, wf Workflow, now time.Time) string {
	switch n := ms(now); {
	case status == StatusNew && n > started+wf.reviewDeadline().Milliseconds():
		return OverdueReview
	case (status == StatusConfirmed || status == StatusRectifying) && rectifyDue.Valid && n > rectifyDue.Int64:
		return OverdueRectification
	}
	return ""
}

// overdueWhere is the SQL condition on events e for ViolationFilter.Overdue
// at now; arg adds a parameter and returns its placeholder.
func overdueWhere(kind string, wf Workflow, now time.Time, arg func(any) string) (string, error) {
	// store.Each condition adds its parameter only when used: PostgreSQL
	// refuses parameters the query does not mention.
	review := func() string {
		return fmt.Sprintf("(e.status = '%s' AND e.started_at < %s)", StatusNew, arg(ms(now)-wf.reviewDeadline().Milliseconds()))
	}
	rectify := func() string {
		return fmt.Sprintf("(e.status IN ('%s', '%s') AND e.rectify_due < %s)", StatusConfirmed, StatusRectifying, arg(ms(now)))
	}
	switch kind {
	case OverdueReview:
		return review(), nil
	case OverdueRectification:
		return rectify(), nil
	case OverdueAny:
		return "(" + review() + " OR " + rectify() + ")", nil
	}
	return "", fmt.Errorf("overdue %q: want %s, %s or %s: %w", kind, OverdueReview, OverdueRectification, OverdueAny, store.ErrInvalid)
}

// scopeWhere is the SQL conditions on events e (joined to canteens c) of a
// registry.Scope; arg adds a parameter and returns its placeholder.
func scopeWhere(sc registry.Scope, arg func(any) string) []string {
	in := func(col string, list []string) string {
		if len(list) == 0 {
			return "1 = 0"
		}
		ph := make([]string, len(list))
		for i, x := range list {
			ph[i] = arg(x)
		}
		return col + " IN (" + strings.Join(ph, ", ") + ")"
	}
	var where []string
	if sc.Districts != nil {
		where = append(where, in("c.district", sc.Districts))
	}
	if sc.Canteens != nil {
		where = append(where, in("e.canteen_id", sc.Canteens), "c.id IS NOT NULL")
	}
	return where
}

// Violations lists violations matching f.
func (s *Alarms) Violations(ctx context.Context, f ViolationFilter) ([]Violation, error) {
	now := orNow(f.Now)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	add := func(cond string, v any) {
		where = append(where, strings.ReplaceAll(cond, "?", arg(v)))
	}
	if f.CanteenID != "" {
		add("e.canteen_id = ?", f.CanteenID)
	}
	if f.GatewayID != "" {
		add("e.gateway_id = ?", f.GatewayID)
	}
	if f.Type != "" {
		add("e.type = ?", f.Type)
	}
	if f.Status != "" {
		add("e.status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		add("e.started_at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("e.started_at < ?", ms(f.Until))
	}
	if f.AfterID > 0 {
		add("e.id > ?", f.AfterID)
	}
	if f.BeforeID > 0 {
		add("e.id < ?", f.BeforeID)
	}
	if f.Alarms || f.Overdue != "" {
		where = append(where, AlarmWhere)
	}
	if f.Overdue != "" {
		cond, err := overdueWhere(f.Overdue, s.Workflow, now, arg)
		if err != nil {
			return nil, fmt.Errorf("list violations: %w", err)
		}
		where = append(where, cond)
	}
	where = append(where, scopeWhere(f.Scope, arg)...)
	q := `SELECT ` + violationCols + violationFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.AfterID > 0 {
		q += " ORDER BY e.id"
	} else {
		q += " ORDER BY e.id DESC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	limit = min(limit, store.MaxLimit)
	q += " LIMIT " + strconv.Itoa(limit)

	out, err := store.All(ctx, s.r, func(row store.Row) (Violation, error) { return scanViolation(row, s.Workflow, now) }, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list violations: %w", err)
	}
	return out, nil
}

// Violation returns one violation; store.ErrNotFound if there is none.
func (s *Alarms) Violation(ctx context.Context, id int64) (Violation, error) {
	v, err := scanViolation(s.r.QueryRowContext(ctx, `SELECT `+violationCols+violationFrom+` WHERE e.id = $1`, id), s.Workflow, time.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("violation %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("get violation: %w", err)
	}
	return v, nil
}

// SetViolationStatus sets a violation's status as is, outside the workflow
// (no checks, no history); store.ErrNotFound if there is no such violation.
func (s *Alarms) SetViolationStatus(ctx context.Context, id int64, status string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE events SET status = $2 WHERE id = $1`, id, status)
	if err != nil {
		return fmt.Errorf("set violation status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("violation %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// Snapshot returns a violation's JPEG; store.ErrExpired if retention deleted
// it, store.ErrNotFound if the violation or its snapshot is missing.
func (s *Alarms) Snapshot(ctx context.Context, id int64) ([]byte, error) {
	var jpeg []byte
	var expired bool
	err := s.r.QueryRowContext(ctx, `SELECT s.jpeg, e.snapshot_expired_at IS NOT NULL FROM events e
		LEFT JOIN snapshots s ON s.gateway_id = e.gateway_id AND s.event_id = e.event_id
		WHERE e.id = $1`, id).Scan(&jpeg, &expired)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && jpeg == nil && !expired) {
		return nil, fmt.Errorf("snapshot of violation %d: %w", id, store.ErrNotFound)
	}
	if err == nil && jpeg == nil {
		return nil, fmt.Errorf("snapshot of violation %d: %w", id, store.ErrExpired)
	}
	if err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	return jpeg, nil
}
