package ota

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Actions on a rollout.
const (
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionNext   = "next"
	ActionAbort  = "abort"
)

// Act pauses, resumes, advances (next stage) or aborts rollout id, as
// principal by. ErrWrongState when its state does not allow it.
func (o *OTA) Act(ctx context.Context, id, action, by string, now time.Time) (Rollout, error) {
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRollout(tx.QueryRowContext(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rollout %q: %w", id, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		active := r.State == StateRunning || r.State == StatePaused
		set := func(q string, args ...any) error {
			_, err := tx.ExecContext(ctx, `UPDATE rollouts SET `+q+`, updated_at = $2 WHERE id = $1`, append([]any{id, store.Ms(now)}, args...)...)
			return err
		}
		switch action {
		case ActionPause:
			if r.State != StateRunning {
				return fmt.Errorf("%w: pause a %s rollout", ErrWrongState, r.State)
			}
			return set(`state = $3, reason = $4`, StatePaused, "paused by "+by)
		case ActionResume:
			if r.State != StatePaused {
				return fmt.Errorf("%w: resume a %s rollout", ErrWrongState, r.State)
			}
			return set(`state = $3, reason = ''`, StateRunning)
		case ActionNext:
			if !active {
				return fmt.Errorf("%w: next stage of a %s rollout", ErrWrongState, r.State)
			}
			if r.Stage >= len(r.Stages) {
				return fmt.Errorf("%w: already at the last stage (%d)", ErrWrongState, r.Stage)
			}
			return set(`stage = stage + 1`)
		case ActionAbort:
			if !active {
				return fmt.Errorf("%w: abort a %s rollout", ErrWrongState, r.State)
			}
			if err := set(`state = $3, reason = $4`, StateAborted, "aborted by "+by); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE rollout_targets SET state = $2, detail = $3, updated_at = $4
				WHERE rollout_id = $1 AND state = $5`, id, TargetSkipped, "rollout aborted", store.Ms(now), TargetPending)
			return err
		}
		return fmt.Errorf("%w: action %q: want pause, resume, next or abort", store.ErrInvalid, action)
	})
	if err != nil {
		return Rollout{}, err
	}
	return o.Rollout(ctx, id)
}

// Download is what a download token opens: the release to serve and
// whom to.
type Download struct {
	Release   Release
	RolloutID string
	GatewayID string
}

// DownloadFor looks up a download token: store.ErrNotFound for a token no
// target has, ErrGone when its rollout is aborted or its target is no
// longer installing.
func (o *OTA) DownloadFor(ctx context.Context, token string) (Download, error) {
	var d Download
	if len(token) < 32 || len(token) > 128 {
		return d, fmt.Errorf("download token: %w", store.ErrNotFound)
	}
	var rstate, tstate, relID string
	err := o.r.QueryRowContext(ctx, `SELECT t.rollout_id, t.gateway_id, t.state, t.release_id, r.state
		FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id WHERE t.token_hash = $1`, store.HashSecret(token)).
		Scan(&d.RolloutID, &d.GatewayID, &tstate, &relID, &rstate)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("download token: %w", store.ErrNotFound)
	} else if err != nil {
		return d, fmt.Errorf("download token: %w", err)
	}
	if rstate == StateAborted {
		return d, fmt.Errorf("%w: rollout %s aborted", ErrGone, d.RolloutID)
	}
	if !slices.Contains(inFlight, tstate) && tstate != TargetStalled { // a stalled gateway may come back and resume
		return d, fmt.Errorf("%w: gateway %s of rollout %s is %s", ErrGone, d.GatewayID, d.RolloutID, tstate)
	}
	if d.Release, err = o.Release(ctx, relID); err != nil {
		return d, err
	}
	return d, nil
}
