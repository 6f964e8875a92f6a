package complaints

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// step is one transition: from one of from to to, setting set (more of
// the UPDATE's SET, its parameters from $4).
type step struct {
	action string
	from   []string
	to     string
	set    string
	// needNote: the step's note is required (a reply, a reason).
	needNote bool
}

var steps = map[string]step{
	ActionAccept: {action: ActionAccept, from: []string{StateReceived}, to: StateAccepted,
		set: `, accepted_at = $4, accepted_by = $5`},
	ActionHandle: {action: ActionHandle, from: []string{StateAccepted}, to: StateHandled,
		set: `, handled_at = $4, handled_by = $5, handling_note = $6`, needNote: true},
	ActionReply: {action: ActionReply, from: []string{StateAccepted, StateHandled}, to: StateReplied,
		set: `, replied_at = $4, replied_by = $5, reply = $6`, needNote: true},
	ActionReject: {action: ActionReject, from: []string{StateReceived, StateAccepted}, to: StateRejected,
		set: `, rejected_at = $4, rejected_by = $5, reject_reason = $6`, needNote: true},
}

// Step moves ticket id by action (ActionAccept, ActionHandle, ActionReply
// or ActionReject) for actor, with note (required but for accept: the
// handling record, the reply, the reason), and returns the ticket.
// store.ErrNotFound, store.ErrWrongState, store.ErrInvalid naming the
// field.
func (s *Complaints) Step(ctx context.Context, id int64, action, actor, note string, now time.Time) (Complaint, error) {
	st, ok := steps[action]
	if !ok {
		return Complaint{}, fmt.Errorf("complaint step: action %q: want accept, handle, reply or reject: %w", action, store.ErrInvalid)
	}
	note = strings.TrimSpace(note)
	if err := checkNote(actor, note, st.needNote); err != nil {
		return Complaint{}, fmt.Errorf("complaint %s: %w", action, err)
	}
	now = orNow(now)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT state FROM complaints WHERE id = $1`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("complaint %d: %w", id, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		allowed := false
		for _, f := range st.from {
			allowed = allowed || f == cur
		}
		if !allowed {
			return fmt.Errorf("complaint %d is %s; %s needs %s: %w", id, cur, action, strings.Join(st.from, " or "), store.ErrWrongState)
		}
		args := []any{id, cur, st.to, store.Ms(now), actor}
		if strings.Contains(st.set, "$6") {
			args = append(args, note)
		}
		res, err := tx.ExecContext(ctx, `UPDATE complaints SET state = $3`+st.set+` WHERE id = $1 AND state = $2`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("complaint %d changed meanwhile: %w", id, store.ErrWrongState)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO complaint_history (complaint_id, at, actor, action, from_state, to_state, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, store.Ms(now), actor, action, cur, st.to, note)
		return err
	})
	if err != nil {
		return Complaint{}, fmt.Errorf("complaint %s: %w", action, err)
	}
	return s.Get(ctx, id, now)
}

// OperatorAccount records the canteen's account of ticket id (replacing
// an earlier one) while the ticket is open. store.ErrNotFound,
// store.ErrWrongState (answered already), store.ErrInvalid.
func (s *Complaints) OperatorAccount(ctx context.Context, id int64, actor, text string, now time.Time) (Complaint, error) {
	text = strings.TrimSpace(text)
	if err := checkNote(actor, text, true); err != nil {
		return Complaint{}, fmt.Errorf("complaint account: %w", err)
	}
	now = orNow(now)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT state FROM complaints WHERE id = $1`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("complaint %d: %w", id, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if cur == StateReplied || cur == StateRejected {
			return fmt.Errorf("complaint %d is %s: closed to accounts: %w", id, cur, store.ErrWrongState)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE complaints SET operator_account = $2, operator_account_by = $3, operator_account_at = $4
			WHERE id = $1`, id, text, actor, store.Ms(now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO complaint_history (complaint_id, at, actor, action, from_state, to_state, note)
			VALUES ($1, $2, $3, $4, $5, $5, $6)`, id, store.Ms(now), actor, ActionOperator, cur, text)
		return err
	})
	if err != nil {
		return Complaint{}, fmt.Errorf("complaint account: %w", err)
	}
	return s.Get(ctx, id, now)
}

func checkNote(actor, note string, need bool) error {
	switch {
	case actor == "":
		return fmt.Errorf("actor: required: %w", store.ErrInvalid)
	case need && note == "":
		return fmt.Errorf("note: required: %w", store.ErrInvalid)
	case !utf8.ValidString(note):
		return fmt.Errorf("note: not UTF-8: %w", store.ErrInvalid)
	case utf8.RuneCountInString(note) > MaxNote:
		return fmt.Errorf("note: at most %d characters: %w", MaxNote, store.ErrInvalid)
	}
	return nil
}
