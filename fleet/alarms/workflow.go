package alarms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Workflow holds the alarm workflow's settings; the zero value means the
// defaults. This is the one place the deadlines' defaults are defined:
// bk-fleet's flags and the fleet's settings start from them.
type Workflow struct {
	// ReviewDeadline is how long after it started an alarm may stay new
	// before it is overdue for review; 0 means DefaultReviewDeadline (24 h).
	ReviewDeadline time.Duration
	// RectifyDeadline is how long a canteen has to rectify a confirmed
	// alarm (again after a rejected rectification); 0 means
	// DefaultRectifyDeadline (72 h).
	RectifyDeadline time.Duration
	// Webhook queues new notices for the webhook (PendingWebhooks); when
	// false they are only listed.
	Webhook bool
}

// The workflow's default deadlines. The review deadline is the rates'
// (coverage.DefaultReviewDeadline, SPEC §5): an alarm reviewed within it
// counts as handled in time, and one still new after it is overdue.
const (
	DefaultReviewDeadline  = coverage.DefaultReviewDeadline
	DefaultRectifyDeadline = 72 * time.Hour
)

func (w Workflow) reviewDeadline() time.Duration {
	if w.ReviewDeadline > 0 {
		return w.ReviewDeadline
	}
	return DefaultReviewDeadline
}

func (w Workflow) rectifyDeadline() time.Duration {
	if w.RectifyDeadline > 0 {
		return w.RectifyDeadline
	}
	return DefaultRectifyDeadline
}

// Decisions on a rectification.
const (
	DecisionAccepted = "accepted"
	DecisionRejected = "rejected"
)

// Actions of the history (HistoryEntry.Action).
const (
	ActionReview        = "review"
	ActionRectification = "rectification"
	ActionDecision      = "decision"
)

// Limits of the workflow's inputs.
const (
	MaxNote  = 2000
	MaxPhoto = 8 << 20
)

// HistoryEntry is one transition of an alarm.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// Rectification is what a canteen submitted for a confirmed alarm, and the
// decision on it.
type Rectification struct {
	ID          int64     `json:"id"`
	ViolationID int64     `json:"violation_id"`
	SubmittedBy string    `json:"submitted_by"`
	SubmittedAt time.Time `json:"submitted_at"`
	Note        string    `json:"note"`
	// HasPhoto says whether a photo is stored (RectificationPhoto).
	HasPhoto  bool   `json:"has_photo"`
	PhotoType string `json:"photo_type,omitempty"`
	// PhotoExpired: the photo was deleted by retention.
	PhotoExpired bool `json:"photo_expired,omitempty"`
	// Decision is DecisionAccepted, DecisionRejected or "" (pending).
	Decision     string    `json:"decision,omitempty"`
	DecidedBy    string    `json:"decided_by,omitempty"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	DecisionNote string    `json:"decision_note,omitempty"`
}

// checkStep checks the inputs every transition shares.
func checkStep(actor, note string) error {
	if actor == "" {
		return fmt.Errorf("actor: required: %w", store.ErrInvalid)
	}
	if len(note) > MaxNote {
		return fmt.Errorf("note: %d bytes, at most %d: %w", len(note), MaxNote, store.ErrInvalid)
	}
	return nil
}

// step is one transition of an alarm.
type step struct {
	id                      int64
	actor, action, from, to string
	note                    string
	now                     time.Time
	set                     string // more of the UPDATE's SET, parameters from $4
	args                    []any  // set's parameters
}

// transit moves the alarm from step.from to step.to inside tx, checking its
// status there, and appends the history entry.
func transit(ctx context.Context, tx *sql.Tx, st step) error {
	res, err := tx.ExecContext(ctx, `UPDATE events SET status = $3`+st.set+` WHERE id = $1 AND status = $2 AND `+isAlarmRow,
		append([]any{st.id, st.from, st.to}, st.args...)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return whyNot(ctx, tx, st.id, st.from)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO violation_history (violation_id, at, actor, action, from_status, to_status, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, st.id, ms(st.now), st.actor, st.action, st.from, st.to, st.note)
	return err
}

// whyNot explains a transition that found no alarm in the status wanted.
func whyNot(ctx context.Context, tx *sql.Tx, id int64, want string) error {
	var phase, status string
	err := tx.QueryRowContext(ctx, `SELECT phase, status FROM events WHERE id = $1`, id).Scan(&phase, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("violation %d: %w", id, store.ErrNotFound)
	case err != nil:
		return err
	case !isAlarmPhase(phase):
		return fmt.Errorf("violation %d is a %q event of its episode: %w", id, phase, store.ErrNotAlarm)
	}
	return fmt.Errorf("violation %d is %s, not %s: %w", id, status, want, store.ErrWrongState)
}

func isAlarmPhase(phase string) bool { return phase == "" || phase == wire.PhaseStart }

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// Review confirms or dismisses a new alarm (verdict
// coverage.VerdictConfirmed or coverage.VerdictDismissed) and returns it.
// Confirming sets its RectifyDue (now + Workflow.RectifyDeadline) and
// notifies its canteen. store.ErrNotFound, store.ErrNotAlarm, store.ErrWrongState (it is not
// new), or store.ErrInvalid naming the field.
func (s *Alarms) Review(ctx context.Context, id int64, actor, verdict, note string, now time.Time) (Violation, error) {
	if verdict != coverage.VerdictConfirmed && verdict != coverage.VerdictDismissed {
		return Violation{}, fmt.Errorf("review: verdict %q: want %s or %s: %w", verdict, coverage.VerdictConfirmed, coverage.VerdictDismissed, store.ErrInvalid)
	}
	if err := checkStep(actor, note); err != nil {
		return Violation{}, fmt.Errorf("review: %w", err)
	}
	now = orNow(now)
	var due time.Time
	if verdict == coverage.VerdictConfirmed {
		due = now.Add(s.Workflow.rectifyDeadline())
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := transit(ctx, tx, step{id: id, actor: actor, action: ActionReview, from: StatusNew, to: verdict, note: note, now: now,
			set:  `, reviewed_at = $4, reviewed_by = $5, verdict = $3, review_note = $6, rectify_due = $7`,
			args: []any{ms(now), actor, note, msOrNil(due)}})
		if err != nil || due.IsZero() {
			return err
		}
		_, err = s.addNotice(ctx, tx, id, NoticeConfirmed, due, now)
		return err
	})
	if err != nil {
		return Violation{}, fmt.Errorf("review: %w", err)
	}
	return s.Violation(ctx, id)
}

// SubmitRectification records what the canteen did about a confirmed
// alarm, with an optional photo (photoType "image/jpeg" or "image/png", at
// most MaxPhoto bytes), and moves the alarm to rectifying. store.ErrNotFound,
// store.ErrNotAlarm, store.ErrWrongState (it is not confirmed), or store.ErrInvalid naming
// the field.
func (s *Alarms) SubmitRectification(ctx context.Context, id int64, actor, note string, photo []byte, photoType string, now time.Time) (Rectification, error) {
	if err := checkStep(actor, note); err != nil {
		return Rectification{}, fmt.Errorf("submit rectification: %w", err)
	}
	switch {
	case len(photo) > MaxPhoto:
		return Rectification{}, fmt.Errorf("submit rectification: photo: %d bytes, at most %d: %w", len(photo), MaxPhoto, store.ErrInvalid)
	case len(photo) > 0 && photoType != "image/jpeg" && photoType != "image/png":
		return Rectification{}, fmt.Errorf("submit rectification: photo_type %q: want image/jpeg or image/png: %w", photoType, store.ErrInvalid)
	case len(photo) == 0 && photoType != "":
		return Rectification{}, fmt.Errorf("submit rectification: photo_type %q without a photo: %w", photoType, store.ErrInvalid)
	}
	now = orNow(now)
	r := Rectification{ViolationID: id, SubmittedBy: actor, SubmittedAt: fromMs(ms(now)), Note: note,
		HasPhoto: len(photo) > 0, PhotoType: photoType}
	var photoArg any
	if r.HasPhoto {
		photoArg = photo
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := transit(ctx, tx, step{id: id, actor: actor, action: ActionRectification, from: StatusConfirmed, to: StatusRectifying,
			note: note, now: now})
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO rectifications (violation_id, submitted_by, submitted_at, note, photo, photo_type)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, id, actor, ms(now), note, photoArg, photoType).Scan(&r.ID)
	})
	if err != nil {
		return Rectification{}, fmt.Errorf("submit rectification: %w", err)
	}
	return r, nil
}

// DecideRectification accepts (DecisionAccepted: the alarm is closed) or
// rejects (DecisionRejected: the alarm is confirmed again with a new
// RectifyDue, and its canteen notified) the rectification of a rectifying
// alarm, and returns the alarm. store.ErrNotFound, store.ErrNotAlarm, store.ErrWrongState
// (it is not rectifying), or store.ErrInvalid naming the field.
func (s *Alarms) DecideRectification(ctx context.Context, id int64, actor, decision, note string, now time.Time) (Violation, error) {
	if decision != DecisionAccepted && decision != DecisionRejected {
		return Violation{}, fmt.Errorf("decide rectification: decision %q: want %s or %s: %w", decision, DecisionAccepted, DecisionRejected, store.ErrInvalid)
	}
	if err := checkStep(actor, note); err != nil {
		return Violation{}, fmt.Errorf("decide rectification: %w", err)
	}
	now = orNow(now)
	st := step{id: id, actor: actor, action: ActionDecision, from: StatusRectifying, note: note, now: now}
	var due time.Time
	if decision == DecisionAccepted {
		st.to, st.set, st.args = StatusClosed, `, rectified_at = $4, closed_at = $4`, []any{ms(now)}
	} else {
		due = now.Add(s.Workflow.rectifyDeadline())
		st.to, st.set, st.args = StatusConfirmed, `, rectify_due = $4`, []any{ms(due)}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := transit(ctx, tx, st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rectifications SET decision = $2, decided_by = $3, decided_at = $4, decision_note = $5
			WHERE id = (SELECT MAX(id) FROM rectifications WHERE violation_id = $1) AND decision = ''`,
			id, decision, actor, ms(now), note); err != nil {
			return err
		}
		if due.IsZero() {
			return nil
		}
		_, err := s.addNotice(ctx, tx, id, NoticeRectificationRejected, due, now)
		return err
	})
	if err != nil {
		return Violation{}, fmt.Errorf("decide rectification: %w", err)
	}
	return s.Violation(ctx, id)
}

// exists returns store.ErrNotFound if there is no violation id.
func (s *Alarms) exists(ctx context.Context, id int64) error {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("violation %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// History returns an alarm's transitions, oldest first; store.ErrNotFound if
// there is no such violation.
func (s *Alarms) History(ctx context.Context, id int64) ([]HistoryEntry, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (HistoryEntry, error) {
		var h HistoryEntry
		var at int64
		err := row.Scan(&at, &h.Actor, &h.Action, &h.From, &h.To, &h.Note)
		h.At = fromMs(at)
		return h, err
	}, `SELECT at, actor, action, from_status, to_status, note FROM violation_history
		WHERE violation_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if len(out) == 0 {
		if err := s.exists(ctx, id); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	return out, nil
}

// Rectifications returns an alarm's rectifications, oldest first, without
// their photos; store.ErrNotFound if there is no such violation.
func (s *Alarms) Rectifications(ctx context.Context, id int64) ([]Rectification, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (Rectification, error) {
		var r Rectification
		var submitted int64
		var decided sql.NullInt64
		err := row.Scan(&r.ID, &r.ViolationID, &r.SubmittedBy, &submitted, &r.Note, &r.HasPhoto, &r.PhotoType,
			&r.Decision, &r.DecidedBy, &decided, &r.DecisionNote, &r.PhotoExpired)
		r.SubmittedAt, r.DecidedAt = fromMs(submitted), fromNullMs(decided)
		return r, err
	}, `SELECT id, violation_id, submitted_by, submitted_at, note, photo IS NOT NULL, photo_type,
		decision, decided_by, decided_at, decision_note, photo_expired_at IS NOT NULL FROM rectifications WHERE violation_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("rectifications: %w", err)
	}
	if len(out) == 0 {
		if err := s.exists(ctx, id); err != nil {
			return nil, fmt.Errorf("rectifications: %w", err)
		}
	}
	return out, nil
}

// RectificationPhoto returns the photo of rectification rectID of
// violation violationID; store.ErrExpired if retention deleted it, store.ErrNotFound
// if there is none.
func (s *Alarms) RectificationPhoto(ctx context.Context, violationID, rectID int64) (photo []byte, photoType string, err error) {
	var expired bool
	err = s.r.QueryRowContext(ctx, `SELECT photo, photo_type, photo_expired_at IS NOT NULL FROM rectifications
		WHERE id = $1 AND violation_id = $2 AND (photo IS NOT NULL OR photo_expired_at IS NOT NULL)`,
		rectID, violationID).Scan(&photo, &photoType, &expired)
	if err == nil && photo == nil && expired {
		return nil, "", fmt.Errorf("photo of rectification %d of violation %d: %w", rectID, violationID, store.ErrExpired)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("photo of rectification %d of violation %d: %w", rectID, violationID, store.ErrNotFound)
	} else if err != nil {
		return nil, "", fmt.Errorf("rectification photo: %w", err)
	}
	return photo, photoType, nil
}

// AlarmCounts counts the alarms by status, and those overdue, for the
// dashboard.
type AlarmCounts struct {
	New                  int `json:"new"`
	Confirmed            int `json:"confirmed"`
	Rectifying           int `json:"rectifying"`
	Closed               int `json:"closed"`
	Dismissed            int `json:"dismissed"`
	OverdueReview        int `json:"overdue_review"`
	OverdueRectification int `json:"overdue_rectification"`
}

// AlarmCounts counts the alarms in scope (as ViolationFilter.Scope) and of
// canteens of category (""; any) that started at or after since (zero:
// all), overdue as of now (zero: time.Now()).
func (s *Alarms) AlarmCounts(ctx context.Context, scope registry.Scope, category string, since, now time.Time) (AlarmCounts, error) {
	now = orNow(now)
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	review, err := overdueWhere(OverdueReview, s.Workflow, now, arg)
	if err != nil {
		return AlarmCounts{}, err
	}
	rectify, err := overdueWhere(OverdueRectification, s.Workflow, now, arg)
	if err != nil {
		return AlarmCounts{}, err
	}
	where := AlarmWhere
	if !since.IsZero() {
		where += " AND e.started_at >= " + arg(ms(since))
	}
	for _, c := range scopeWhere(scope, arg) {
		where += " AND " + c
	}
	if category != "" {
		where += " AND c.category = " + arg(category)
	}
	count := func(cond string) string { return "COUNT(CASE WHEN " + cond + " THEN 1 END)" }
	byStatus := func(st string) string { return count("e.status = '" + st + "'") }
	var c AlarmCounts
	err = s.r.QueryRowContext(ctx, `SELECT `+byStatus(StatusNew)+`, `+byStatus(StatusConfirmed)+`, `+byStatus(StatusRectifying)+`, `+
		byStatus(StatusClosed)+`, `+byStatus(StatusDismissed)+`, `+count(review)+`, `+count(rectify)+
		violationFrom+` WHERE `+where, args...).
		Scan(&c.New, &c.Confirmed, &c.Rectifying, &c.Closed, &c.Dismissed, &c.OverdueReview, &c.OverdueRectification)
	if err != nil {
		return c, fmt.Errorf("count alarms: %w", err)
	}
	return c, nil
}
