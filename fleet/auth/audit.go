package auth

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// AuditEntry is one record of the audit log: who did what, to which
// canteen, camera or violation, and whether it was allowed.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is the principal: "user:li.wei", "token:01H…", "admin-token".
	Actor string `json:"actor"`
	Role  string `json:"role"`
	// Action is what was done: live_view, live_refused, review,
	// rectification, decision, login, login_failed, user_add, user_delete,
	// invite_add, invite_redeem, viewing_set, camera_map, gateway_bind, ….
	Action string `json:"action"`
	// Outcome is "ok" (the default), "refused" or "failed".
	Outcome     string `json:"outcome"`
	CanteenID   string `json:"canteen_id,omitempty"`
	CameraID    string `json:"camera_id,omitempty"`
	ViolationID int64  `json:"violation_id,omitempty"`
	// From and To are the period looked at (a recording, a report).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Detail is free text, cut to 1000 bytes.
	Detail string `json:"detail,omitempty"`
}

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

const maxAuditDetail = 1000

// Audit appends an entry to the audit log. At zero is now, Outcome empty
// is "ok"; Action is required (else store.ErrInvalid).
func (s *Auth) Audit(ctx context.Context, e AuditEntry) error {
	if e.Action == "" {
		return fmt.Errorf("audit: %w: action: required", store.ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	var violation any
	if e.ViolationID != 0 {
		violation = e.ViolationID
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit (at, actor, role, action, outcome, canteen_id, camera_id, violation_id, from_at, to_at, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ms(e.At), e.Actor, e.Role, e.Action, e.Outcome, e.CanteenID, e.CameraID, violation, msOrNil(e.From), msOrNil(e.To),
		store.Truncate(e.Detail, maxAuditDetail))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	Actor, Action, CanteenID string
	// Districts, unless nil, keeps only the entries whose canteen is in
	// one of them (entries about no canteen are then left out); empty
	// keeps none, and "*" among them (the whole city) any.
	Districts []string
	// Since <= At < Until.
	Since, Until time.Time
	// Limit is 100 when 0, at most 1000.
	Limit int
	// BeforeID pages back: only entries with a smaller id.
	BeforeID int64
}

// Audit log page sizes.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditLog returns the entries f selects, newest (highest id) first.
func (s *Auth) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	since, until, before := int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		since = ms(f.Since)
	}
	if !f.Until.IsZero() {
		until = ms(f.Until)
	}
	if f.BeforeID != 0 {
		before = f.BeforeID
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	args := []any{f.Actor, f.Action, f.CanteenID, since, until, before, limit}
	join := ""
	if f.Districts != nil && !slices.Contains(f.Districts, "*") {
		if len(f.Districts) == 0 {
			return []AuditEntry{}, nil
		}
		join = ` JOIN canteens c ON c.id = a.canteen_id AND c.district IN (` + store.Placeholders(len(args)+1, len(f.Districts)) + `)`
		for _, d := range f.Districts {
			args = append(args, d)
		}
	}
	out, err := store.All(ctx, s.r, scanAudit, `SELECT a.id, a.at, a.actor, a.role, a.action, a.outcome, a.canteen_id, a.camera_id,
		a.violation_id, a.from_at, a.to_at, a.detail FROM audit a`+join+`
		WHERE ($1 = '' OR a.actor = $1) AND ($2 = '' OR a.action = $2) AND ($3 = '' OR a.canteen_id = $3)
			AND a.at >= $4 AND a.at < $5 AND a.id < $6
		ORDER BY a.id DESC LIMIT $7`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}

func scanAudit(row store.Row) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	var violation, from, to sql.NullInt64
	err := row.Scan(&e.ID, &at, &e.Actor, &e.Role, &e.Action, &e.Outcome, &e.CanteenID, &e.CameraID,
		&violation, &from, &to, &e.Detail)
	e.At, e.ViolationID, e.From, e.To = fromMs(at), violation.Int64, fromNullMs(from), fromNullMs(to)
	return e, err
}
