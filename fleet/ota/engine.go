package ota

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Sender sends ota.install with args to gateway gw under cmdID through
// the fleet's command path (recorded in cmds, published on the gateway's
// cmd topic), valid for ttl.
type Sender func(ctx context.Context, gw, cmdID string, args wire.OTAInstallArgs, ttl time.Duration) error

// DownloadPath is the route a bundle is downloaded from, the target's
// token appended.
const DownloadPath = "/api/v1/ota/bundles/"

// DefaultStallAfter is Engine.StallAfter's default: the gateway reports
// each tenth of its download, so an hour without a report is a gateway
// gone quiet, not a slow link (a 30 MB bundle at 64 kbit/s reports every
// six minutes).
const DefaultStallAfter = time.Hour

// leaseName is the lease row the engine runs under: one fleet at a time.
const leaseName = "rollouts"

// Engine runs the rollouts (see the package doc). Set the fields, then
// Start; Close stops it.
type Engine struct {
	OTA  *OTA
	Send Sender
	// PublicURL is the fleet's address as gateways reach it (the
	// downloads' origin). Required.
	PublicURL string
	// Audit, when set, records each command sent, as actor (the
	// rollout's creator), about the gateway's canteen; err is why the
	// send failed (nil when sent).
	Audit func(ctx context.Context, actor, canteenID, detail string, err error)
	// Tick is how often the engine runs (default 2 s).
	Tick time.Duration
	// CmdTTL is how long an ota.install stays valid for the gateway to
	// receive it (default 10 minutes); one not received by then is sent
	// again, up to MaxAttempts times.
	CmdTTL time.Duration
	// MaxSends bounds the commands sent per rollout and tick (default 50).
	MaxSends int
	// StallAfter is how long a target received by its gateway may show no
	// progress (no new state or progress report) before it is "stalled"
	// (default DefaultStallAfter).
	StallAfter time.Duration
	Logger     *slog.Logger

	holder string
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func (e *Engine) defaults() {
	if e.Tick <= 0 {
		e.Tick = 2 * time.Second
	}
	if e.CmdTTL <= 0 {
		e.CmdTTL = 10 * time.Minute
	}
	if e.MaxSends <= 0 {
		e.MaxSends = 50
	}
	if e.StallAfter <= 0 {
		e.StallAfter = DefaultStallAfter
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	if e.holder == "" {
		e.holder = ulid.Make().String()
	}
}

// Start runs Step every Tick until Close.
func (e *Engine) Start(ctx context.Context) {
	e.defaults()
	ctx, e.stop = context.WithCancel(ctx)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(e.Tick)
		defer t.Stop()
		for {
			if err := e.Step(ctx, time.Now()); err != nil && ctx.Err() == nil {
				e.Logger.Warn("rollouts", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the engine and waits for its step to end.
func (e *Engine) Close() {
	if e.stop != nil {
		e.stop()
	}
	e.wg.Wait()
}

// Step runs every active rollout once, if this fleet holds the lease.
func (e *Engine) Step(ctx context.Context, now time.Time) error {
	e.defaults()
	ok, err := e.OTA.db.ClaimLease(ctx, leaseName, e.holder, now, 3*e.Tick)
	if err != nil || !ok {
		return err
	}
	ids, err := store.All(ctx, e.OTA.r, func(sc store.Row) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT r.id FROM rollouts r WHERE r.state IN ($1, $2)
		OR (r.state = $3 AND EXISTS (SELECT 1 FROM rollout_targets t WHERE t.rollout_id = r.id AND t.state IN ($4, $5, $6, $7, $8)))
		ORDER BY r.created_at`, StateRunning, StatePaused, StateAborted, TargetSent, TargetDownloading, TargetInstalling, TargetTrial, TargetStalled)
	if err != nil {
		return fmt.Errorf("active rollouts: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := e.step(ctx, id, now); err != nil {
			errs = append(errs, fmt.Errorf("rollout %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// gwNow is what the engine reads of a target's gateway.
type gwNow struct {
	online           bool
	version, canteen string
	ota              *wire.OTAStatus
}

type targetNow struct {
	TargetRow
	tokenHash string
	gw        gwNow
	known     bool // the gateway still exists
}

func (e *Engine) targets(ctx context.Context, id string) ([]targetNow, error) {
	return store.All(ctx, e.OTA.r, func(sc store.Row) (targetNow, error) {
		var t targetNow
		var updated int64
		var online sql.NullBool
		var version, canteen, hb sql.NullString
		err := sc.Scan(&t.GatewayID, &t.Stage, &t.ReleaseID, &t.CmdID, &t.Attempts, &t.State, &t.Detail, &updated, &t.tokenHash,
			&online, &version, &canteen, &hb)
		t.UpdatedAt = store.FromMs(updated)
		t.known = online.Valid
		t.gw = gwNow{online: online.Bool, version: version.String, canteen: canteen.String, ota: heartbeatOTA(hb.String)}
		return t, err
	}, `SELECT t.gateway_id, t.stage, t.release_id, t.cmd_id, t.attempts, t.state, t.detail, t.updated_at, t.token_hash,
			g.online, g.version, g.canteen_id, g.last_heartbeat
		FROM rollout_targets t LEFT JOIN gateways g ON g.id = t.gateway_id
		WHERE t.rollout_id = $1 ORDER BY t.stage, t.gateway_id`, id)
}

// heartbeatOTA is the OTA state of a stored heartbeat (nil if none).
func heartbeatOTA(hb string) *wire.OTAStatus {
	if hb == "" {
		return nil
	}
	var h struct {
		OTA *wire.OTAStatus `json:"ota"`
	}
	if json.Unmarshal([]byte(hb), &h) != nil {
		return nil
	}
	return h.OTA
}

// step runs one rollout: follow the targets in flight, pause on
// failures, send to the stages reached, advance or finish.
func (e *Engine) step(ctx context.Context, id string, now time.Time) error {
	ro, err := e.OTA.Rollout(ctx, id)
	if err != nil {
		return err
	}
	ts, err := e.targets(ctx, id)
	if err != nil {
		return err
	}
	failedIn := map[int]bool{} // stages with a new failure
	for i := range ts {
		t := &ts[i]
		state, detail, attempts, changed, err := e.follow(ctx, t, now)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if err := e.setTarget(ctx, id, t, state, detail, now); err != nil {
			return err
		}
		if failure(state) {
			failedIn[t.Stage] = true
		}
		t.State, t.Detail, t.Attempts = state, detail, attempts
	}
	if ro.State == StateAborted {
		return nil
	}
	// Pause on failures over the limit: once per new failure, so that a
	// resumed rollout goes on until the next one.
	for stage := 1; stage <= ro.Stage && ro.State == StateRunning; stage++ {
		if !failedIn[stage] {
			continue
		}
		var failed []string
		for _, t := range ts {
			if t.Stage == stage && failure(t.State) {
				failed = append(failed, t.GatewayID+": "+t.Detail)
			}
		}
		if len(failed) > ro.MaxFailures {
			reason := fmt.Sprintf("stage %d: %d failed, over the limit of %d: %s", stage, len(failed), ro.MaxFailures, strings.Join(failed, "; "))
			e.Logger.Warn("rollout paused", "rollout", id, "reason", reason)
			return e.setRollout(ctx, id, StateRunning, "state = $4, reason = $5", now, StatePaused, store.Truncate(reason, 1000))
		}
	}
	if ro.State != StateRunning {
		return nil
	}
	sent := 0
	for i := range ts {
		t := &ts[i]
		if t.State != TargetPending || t.Stage > ro.Stage || !t.gw.online || sent >= e.MaxSends {
			continue
		}
		if err := e.sendTo(ctx, ro, t, now); err != nil {
			return err
		}
		sent++
	}
	// Advance or finish once every target of the stages reached is done.
	for _, t := range ts {
		if t.Stage <= ro.Stage && !finished(t.State) {
			return nil
		}
	}
	switch {
	case ro.Stage < len(ro.Stages) && ro.Advance == AdvanceAuto:
		e.Logger.Info("rollout: next stage", "rollout", id, "stage", ro.Stage+1)
		return e.setRollout(ctx, id, StateRunning, "stage = stage + 1", now)
	case ro.Stage >= len(ro.Stages):
		e.Logger.Info("rollout done", "rollout", id, "counts", ro.Counts)
		return e.setRollout(ctx, id, StateRunning, "state = $4", now, StateDone)
	}
	return nil
}

// setRollout updates rollout id if it is still in state from (an admin's
// action in between wins).
func (e *Engine) setRollout(ctx context.Context, id, from, set string, now time.Time, args ...any) error {
	_, err := e.OTA.w.ExecContext(ctx, `UPDATE rollouts SET `+set+`, updated_at = $2 WHERE id = $1 AND state = $3`,
		append([]any{id, store.Ms(now), from}, args...)...)
	return err
}

func (e *Engine) setTarget(ctx context.Context, id string, t *targetNow, state, detail string, now time.Time) error {
	_, err := e.OTA.w.ExecContext(ctx, `UPDATE rollout_targets SET state = $3, detail = $4, updated_at = $5
		WHERE rollout_id = $1 AND gateway_id = $2 AND state = $6`,
		id, t.GatewayID, state, store.Truncate(detail, 1000), store.Ms(now), t.State)
	return err
}

// follow reads the state of a target in flight from its command and its
// gateway's heartbeat; changed is false when nothing is new.
func (e *Engine) follow(ctx context.Context, t *targetNow, now time.Time) (state, detail string, attempts int, changed bool, err error) {
	state, detail, attempts = t.State, t.Detail, t.Attempts
	if !(isInFlight(t.State) || t.State == TargetStalled) || t.CmdID == "" {
		return state, detail, attempts, false, nil
	}
	var status, cdetail string
	var expires sql.NullInt64
	err = e.OTA.r.QueryRowContext(ctx, `SELECT status, detail, expires_at FROM cmds WHERE cmd_id = $1`, t.CmdID).Scan(&status, &cdetail, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		// recorded before the command: its send failed, or is under way
		return state, detail, attempts, false, nil
	} else if err != nil {
		return state, detail, attempts, false, fmt.Errorf("command %s: %w", t.CmdID, err)
	}
	switch status {
	case wire.CmdOK:
		state, detail = TargetConfirmed, cdetail
	case wire.CmdFailed:
		state, detail = TargetFailed, cdetail
		if strings.Contains(cdetail, "rolled back") {
			state = TargetRolledBack
		}
	case "sent":
		if expires.Valid && now.After(store.FromMs(expires.Int64)) {
			if t.Attempts >= MaxAttempts {
				state, detail = TargetFailed, fmt.Sprintf("ota.install not received in %d attempts (the gateway offline?)", t.Attempts)
			} else {
				state, detail = TargetPending, "ota.install not received before it expired; sent again once the gateway is online"
			}
		}
	default: // received, running: the heartbeat says how far
		if t.State == TargetStalled {
			return state, detail, attempts, false, nil // until a result comes
		}
		if o := t.gw.ota; o != nil {
			switch o.State {
			case wire.OTADownloading:
				state = TargetDownloading
			case wire.OTAInstalling:
				state = TargetInstalling
			case wire.OTARestarting, wire.OTATrial:
				state = TargetTrial
			}
		}
		if state == TargetSent {
			state = TargetDownloading
		}
		if cdetail != "" {
			detail = cdetail
		}
		if state == t.State && detail == t.Detail && now.Sub(t.UpdatedAt) > e.StallAfter {
			state, detail = TargetStalled, fmt.Sprintf("no progress for %s while %s (the gateway went quiet?); a later result is still taken: %s",
				e.StallAfter, t.State, t.Detail)
		}
	}
	return state, detail, attempts, state != t.State || detail != t.Detail, nil
}

func isInFlight(s string) bool {
	for _, f := range inFlight {
		if s == f {
			return true
		}
	}
	return false
}

// sendTo sends ota.install to one pending target: a fresh token and
// command id recorded first (the target "sent", if the rollout is still
// running), then the command; a failed send puts the target back to
// pending for the next tick.
func (e *Engine) sendTo(ctx context.Context, ro Rollout, t *targetNow, now time.Time) error {
	want, _ := release.ParseVersion(ro.Version)
	if why := skipVersion(t.gw.version, want, ro.Force); why != "" {
		return e.setTarget(ctx, ro.ID, t, TargetSkipped, why, now)
	}
	rel, err := e.OTA.Release(ctx, t.ReleaseID)
	if errors.Is(err, store.ErrNotFound) {
		return e.setTarget(ctx, ro.ID, t, TargetFailed, "release "+t.ReleaseID+" deleted", now)
	} else if err != nil {
		return err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	token := hex.EncodeToString(tok)
	cmdID := ulid.Make().String()
	res, err := e.OTA.w.ExecContext(ctx, `UPDATE rollout_targets SET state = $3, cmd_id = $4, token_hash = $5, attempts = attempts + 1,
			from_version = $6, detail = $7, updated_at = $8
		WHERE rollout_id = $1 AND gateway_id = $2 AND state = $9
			AND EXISTS (SELECT 1 FROM rollouts WHERE id = $1 AND state = $10)`,
		ro.ID, t.GatewayID, TargetSent, cmdID, store.HashSecret(token), t.gw.version, "ota.install sent", store.Ms(now),
		TargetPending, StateRunning)
	if err != nil {
		return fmt.Errorf("record send: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // paused or aborted meanwhile
	}
	args := wire.OTAInstallArgs{URL: strings.TrimRight(e.PublicURL, "/") + DownloadPath + token, SHA256: rel.ID, Size: rel.Size, Force: ro.Force}
	serr := e.Send(ctx, t.GatewayID, cmdID, args, e.CmdTTL)
	if e.Audit != nil {
		e.Audit(ctx, ro.CreatedBy, t.gw.canteen,
			fmt.Sprintf("gateway %s: ota.install %s (rollout %s, stage %d, cmd %s)", t.GatewayID, ro.Version, ro.ID, t.Stage, cmdID), serr)
	}
	if serr != nil {
		e.Logger.Warn("rollout: send ota.install", "rollout", ro.ID, "gateway", t.GatewayID, "err", serr)
		_, err := e.OTA.w.ExecContext(ctx, `UPDATE rollout_targets SET state = $3, token_hash = '', detail = $4, updated_at = $5
			WHERE rollout_id = $1 AND gateway_id = $2 AND cmd_id = $6`,
			ro.ID, t.GatewayID, TargetPending, store.Truncate("send failed, tried again: "+serr.Error(), 1000), store.Ms(now), cmdID)
		return err
	}
	e.Logger.Info("rollout: ota.install sent", "rollout", ro.ID, "gateway", t.GatewayID, "stage", t.Stage, "cmd", cmdID)
	t.State = TargetSent
	return nil
}
