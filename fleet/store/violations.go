package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	ReceivedAt      time.Time         `json:"received_at"`
	// Status is the review state: "new" until the workflow moves it.
	Status string `json:"status"`
}

// StatusNew is a violation's status when stored.
const StatusNew = "new"

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
}

// DefaultLimit and MaxLimit bound ViolationFilter.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

const violationCols = `e.id, e.gateway_id, COALESCE(e.canteen_id, ''), e.event_id, e.seq, e.camera_id, e.type, e.score, e.boxes,
	e.started_at, e.ended_at, e.phase, e.episode, e.historical, e.attrs, e.snapshot_sha256, e.snapshot_bytes, e.snapshot_dropped,
	e.received_at, e.status,
	EXISTS (SELECT 1 FROM snapshots s WHERE s.gateway_id = e.gateway_id AND s.event_id = e.event_id)`

func scanViolation(sc interface{ Scan(...any) error }) (Violation, error) {
	var v Violation
	var seq, started, received int64
	var ended, size sql.NullInt64
	var boxes string
	var attrs, sha sql.NullString
	err := sc.Scan(&v.ID, &v.GatewayID, &v.CanteenID, &v.EventID, &seq, &v.CameraID, &v.Type, &v.Score, &boxes,
		&started, &ended, &v.Phase, &v.Episode, &v.Historical, &attrs, &sha, &size, &v.SnapshotDropped,
		&received, &v.Status, &v.HasSnapshot)
	if err != nil {
		return v, err
	}
	v.Seq = uint64(seq)
	v.StartedAt, v.EndedAt, v.ReceivedAt = fromMs(started), fromNullMs(ended), fromMs(received)
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

// Violations lists violations matching f.
func (s *Store) Violations(ctx context.Context, f ViolationFilter) ([]Violation, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
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
	q := `SELECT ` + violationCols + ` FROM events e`
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
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q += " LIMIT " + strconv.Itoa(limit)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list violations: %w", err)
	}
	defer rows.Close()
	out := []Violation{}
	for rows.Next() {
		v, err := scanViolation(rows)
		if err != nil {
			return nil, fmt.Errorf("list violations: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list violations: %w", err)
	}
	return out, nil
}

// Violation returns one violation; ErrNotFound if there is none.
func (s *Store) Violation(ctx context.Context, id int64) (Violation, error) {
	v, err := scanViolation(s.r.QueryRowContext(ctx, `SELECT `+violationCols+` FROM events e WHERE e.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("violation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("get violation: %w", err)
	}
	return v, nil
}

// SetViolationStatus sets a violation's review status; ErrNotFound if there
// is no such violation.
func (s *Store) SetViolationStatus(ctx context.Context, id int64, status string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE events SET status = $2 WHERE id = $1`, id, status)
	if err != nil {
		return fmt.Errorf("set violation status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("violation %d: %w", id, ErrNotFound)
	}
	return nil
}

// Snapshot returns a violation's JPEG; ErrNotFound if the violation or its
// snapshot is missing.
func (s *Store) Snapshot(ctx context.Context, id int64) ([]byte, error) {
	var jpeg []byte
	err := s.r.QueryRowContext(ctx, `SELECT s.jpeg FROM events e JOIN snapshots s ON s.gateway_id = e.gateway_id AND s.event_id = e.event_id
		WHERE e.id = $1`, id).Scan(&jpeg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("snapshot of violation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	return jpeg, nil
}

// CountEvents counts a gateway's stored events ("" counts all).
func (s *Store) CountEvents(ctx context.Context, gwID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE $1 = '' OR gateway_id = $1`, gwID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// EventSeqs returns a gateway's event seqs in the order they were stored.
func (s *Store) EventSeqs(ctx context.Context, gwID string) ([]uint64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq FROM events WHERE gateway_id = $1 ORDER BY id`, gwID)
	if err != nil {
		return nil, fmt.Errorf("event seqs: %w", err)
	}
	defer rows.Close()
	out := []uint64{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("event seqs: %w", err)
		}
		out = append(out, uint64(seq))
	}
	return out, rows.Err()
}
