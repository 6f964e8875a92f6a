package ota

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Rollout states.
const (
	StateRunning = "running" // sending to the stages reached
	StatePaused  = "paused"  // by an admin, or by itself after failures (Reason)
	StateDone    = "done"    // every target finished
	StateAborted = "aborted" // no more commands; in-flight targets followed
)

// Target states.
const (
	TargetPending     = "pending"
	TargetSent        = "sent"
	TargetDownloading = "downloading"
	TargetInstalling  = "installing"
	TargetTrial       = "trial"
	TargetConfirmed   = "confirmed"
	TargetRolledBack  = "rolled_back"
	TargetFailed      = "failed"
	TargetSkipped     = "skipped"
	// TargetStalled: in flight with no progress for Engine.StallAfter (the
	// gateway stopped reporting). It counts as a failure, but the engine
	// still follows it: a result that comes later is taken.
	TargetStalled = "stalled"
)

// inFlight are the target states between the command sent and its outcome.
var inFlight = []string{TargetSent, TargetDownloading, TargetInstalling, TargetTrial}

func finished(state string) bool {
	switch state {
	case TargetConfirmed, TargetRolledBack, TargetFailed, TargetSkipped, TargetStalled:
		return true
	}
	return false
}

func failure(state string) bool {
	return state == TargetRolledBack || state == TargetFailed || state == TargetStalled
}

// Advance modes.
const (
	AdvanceManual = "manual" // an admin moves to the next stage
	AdvanceAuto   = "auto"   // the next stage starts when the current one has finished
)

// Bounds of a rollout's spec.
const (
	MaxStages         = 10
	MaxTargetGateways = 10000
	MaxFailuresLimit  = 10000
	// MaxAttempts is how often ota.install is sent to a gateway that did
	// not receive it before it expired.
	MaxAttempts = 3
)

// Target says which gateways a rollout is for: exactly one of All,
// Gateways, District or Category.
type Target struct {
	All      bool     `json:"all,omitempty"`
	Gateways []string `json:"gateways,omitempty"`
	District string   `json:"district,omitempty"`
	Category string   `json:"category,omitempty"`
}

func (t Target) check() error {
	n := 0
	for _, set := range []bool{t.All, len(t.Gateways) > 0, t.District != "", t.Category != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("target: want exactly one of all, gateways, district, category")
	}
	if len(t.Gateways) > MaxTargetGateways {
		return fmt.Errorf("target.gateways: %d, at most %d", len(t.Gateways), MaxTargetGateways)
	}
	for i, g := range t.Gateways {
		if g == "" || len(g) > 128 {
			return fmt.Errorf("target.gateways[%d]: want an id of 1 to 128 bytes", i)
		}
	}
	if len(t.District) > 128 || len(t.Category) > 64 {
		return fmt.Errorf("target: district or category too long")
	}
	return nil
}

// Spec is what a rollout is asked to do.
type Spec struct {
	// Version is the release's version; each target gateway gets the
	// bundle of its arch.
	Version string `json:"version"`
	Target  Target `json:"target"`
	// Stages are cumulative percentages of the target's gateways to
	// update, increasing, the last 100 (default [100]).
	Stages []int `json:"stages"`
	// Force allows a downgrade or a reinstall; without it a gateway on
	// the version or a newer one is skipped.
	Force bool `json:"force"`
	// MaxFailures is how many gateways of a stage may fail (or roll
	// back) before the rollout pauses itself (default 0: the first).
	MaxFailures int `json:"max_failures"`
	// Advance is "manual" (default) or "auto".
	Advance string `json:"advance"`
}

// Check fills in the defaults and reports the first field that is wrong.
func (s *Spec) Check() error {
	if _, err := release.ParseVersion(s.Version); err != nil {
		return fmt.Errorf("version: %v", err)
	}
	if err := s.Target.check(); err != nil {
		return err
	}
	if len(s.Stages) == 0 {
		s.Stages = []int{100}
	}
	if len(s.Stages) > MaxStages {
		return fmt.Errorf("stages: %d, at most %d", len(s.Stages), MaxStages)
	}
	for i, p := range s.Stages {
		if p < 1 || p > 100 || (i > 0 && p <= s.Stages[i-1]) {
			return fmt.Errorf("stages[%d] %d: want increasing percentages from 1 to 100", i, p)
		}
	}
	if s.Stages[len(s.Stages)-1] != 100 {
		return fmt.Errorf("stages: the last must be 100, so every gateway is reached")
	}
	if s.MaxFailures < 0 || s.MaxFailures > MaxFailuresLimit {
		return fmt.Errorf("max_failures %d: want 0 to %d", s.MaxFailures, MaxFailuresLimit)
	}
	s.Advance = cmp.Or(s.Advance, AdvanceManual)
	if s.Advance != AdvanceManual && s.Advance != AdvanceAuto {
		return fmt.Errorf("advance %q: want manual or auto", s.Advance)
	}
	return nil
}

// Rollout is a rollout with its targets counted by state.
type Rollout struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Target  Target `json:"target"`
	Stages  []int  `json:"stages"`
	// Stage is the stage reached, 1 to len(Stages).
	Stage       int       `json:"stage"`
	Force       bool      `json:"force"`
	MaxFailures int       `json:"max_failures"`
	Advance     string    `json:"advance"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Counts are the targets by state.
	Counts map[string]int `json:"counts"`
}

// TargetRow is one gateway of a rollout.
type TargetRow struct {
	GatewayID   string    `json:"gateway_id"`
	Stage       int       `json:"stage"`
	ReleaseID   string    `json:"release_id,omitempty"`
	FromVersion string    `json:"from_version,omitempty"`
	CmdID       string    `json:"cmd_id,omitempty"`
	Attempts    int       `json:"attempts"`
	State       string    `json:"state"`
	Detail      string    `json:"detail,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Version, Arch and Online are the gateway's now.
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Online  bool   `json:"online"`
	// OTAState and Progress are from its last heartbeat.
	OTAState string `json:"ota_state,omitempty"`
	Progress int    `json:"progress,omitempty"`
}

// candidate is a gateway a rollout may reach.
type candidate struct {
	id, arch, version string
}

// Create makes a rollout of spec by principal by: its targets, skipped
// ones with the reason, the others placed in stages. store.ErrInvalid
// for a bad spec or one no release or gateway answers; ErrConflict when a
// target gateway is being updated by another rollout.
func (o *OTA) Create(ctx context.Context, spec Spec, by string, now time.Time) (Rollout, error) {
	if err := spec.Check(); err != nil {
		return Rollout{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	want, _ := release.ParseVersion(spec.Version)
	rels, err := store.All(ctx, o.r, scanRelease, `SELECT `+releaseCols+` FROM releases`)
	if err != nil {
		return Rollout{}, fmt.Errorf("create rollout: %w", err)
	}
	byArch := map[string]Release{}
	for _, r := range rels {
		if v, err := release.ParseVersion(r.Version); err == nil && v.Compare(want) == 0 {
			byArch[r.Arch] = r
		}
	}
	if len(byArch) == 0 {
		return Rollout{}, fmt.Errorf("%w: version: no release %s uploaded", store.ErrInvalid, spec.Version)
	}
	cands, err := o.candidates(ctx, spec.Target)
	if err != nil {
		return Rollout{}, err
	}
	if len(cands) == 0 {
		return Rollout{}, fmt.Errorf("%w: target: no gateways", store.ErrInvalid)
	}
	ro := Rollout{ID: ulid.Make().String(), Version: spec.Version, Target: spec.Target, Stages: spec.Stages, Stage: 1,
		Force: spec.Force, MaxFailures: spec.MaxFailures, Advance: spec.Advance, State: StateRunning,
		CreatedBy: by, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	ro.UpdatedAt = ro.CreatedAt
	type row struct {
		c             candidate
		release       string
		state, detail string
		stage         int
		order         uint64
	}
	rows := make([]row, 0, len(cands))
	var eligible []int
	for _, c := range cands {
		r := row{c: c, state: TargetPending}
		rel, ok := byArch[c.arch]
		switch {
		case c.arch == "":
			r.state, r.detail = TargetSkipped, "arch unknown: the gateway has not reported it (a version before rollouts, or never connected)"
		case !ok:
			r.state, r.detail = TargetSkipped, fmt.Sprintf("no %s bundle of %s", c.arch, spec.Version)
		default:
			r.release = rel.ID
			if why := skipVersion(c.version, want, spec.Force); why != "" {
				r.state, r.detail = TargetSkipped, why
			}
		}
		if r.state == TargetPending {
			sum := sha256.Sum256([]byte(ro.ID + "/" + c.id))
			r.order = binary.BigEndian.Uint64(sum[:8])
			eligible = append(eligible, len(rows))
		}
		rows = append(rows, r)
	}
	slices.SortFunc(eligible, func(a, b int) int { return cmp.Compare(rows[a].order, rows[b].order) })
	ends := stageEnds(len(eligible), spec.Stages)
	for j, i := range eligible {
		stage := 1
		for stage < len(ends) && j >= ends[stage-1] {
			stage++
		}
		rows[i].stage = stage
	}
	target, _ := json.Marshal(spec.Target)
	stages, _ := json.Marshal(spec.Stages)
	err = o.db.Tx(ctx, func(tx *sql.Tx) error {
		if len(eligible) > 0 {
			busy, err := busyGateways(ctx, tx)
			if err != nil {
				return err
			}
			var clash []string
			for _, i := range eligible {
				if r, ok := busy[rows[i].c.id]; ok {
					clash = append(clash, rows[i].c.id+" ("+r+")")
				}
			}
			if len(clash) > 0 {
				return fmt.Errorf("%w: %s", ErrConflict, strings.Join(clash[:min(len(clash), 5)], ", "))
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rollouts (id, version, target, stages, stage, forced, max_failures, advance, state, reason, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, '', $9, $10, $10)`,
			ro.ID, ro.Version, string(target), string(stages), ro.Force, ro.MaxFailures, ro.Advance, ro.State, by, store.Ms(ro.CreatedAt)); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rollout_targets (rollout_id, gateway_id, stage, release_id, from_version, state, detail, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				ro.ID, r.c.id, r.stage, r.release, r.c.version, r.state, r.detail, store.Ms(ro.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return Rollout{}, err
		}
		return Rollout{}, fmt.Errorf("create rollout: %w", err)
	}
	return o.Rollout(ctx, ro.ID)
}

// busyGateways are the gateways a running or paused rollout has not
// finished with, each with that rollout's id.
func busyGateways(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	out := map[string]string{}
	err := store.Each(ctx, tx, func(rows *sql.Rows) error {
		var g, r string
		if err := rows.Scan(&g, &r); err != nil {
			return err
		}
		out[g] = r
		return nil
	}, `SELECT t.gateway_id, t.rollout_id FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id
		WHERE r.state IN ($1, $2) AND t.state IN ($3, $4, $5, $6, $7, $8)`,
		StateRunning, StatePaused, TargetPending, TargetSent, TargetDownloading, TargetInstalling, TargetTrial, TargetStalled)
	return out, err
}

// skipVersion says why a gateway running have is skipped for want ("" if
// it is not): it runs want or newer, and the rollout is not forced. A
// version that does not parse (a development build) is not skipped; the
// gateway itself refuses what it must.
func skipVersion(have string, want release.Version, force bool) string {
	v, err := release.ParseVersion(have)
	if force || err != nil {
		return ""
	}
	switch c := v.Compare(want); {
	case c == 0:
		return "already on " + have
	case c > 0:
		return "on " + have + ", newer (a downgrade needs force)"
	}
	return ""
}

// stageEnds are how many of n ordered gateways each stage reaches,
// cumulatively: round(n×p/100), at least one for a non-empty target and
// at least as many as the stage before; the last is n.
func stageEnds(n int, stages []int) []int {
	ends := make([]int, len(stages))
	for i, p := range stages {
		e := int(math.Round(float64(n) * float64(p) / 100))
		if n > 0 {
			e = max(e, 1)
		}
		if i > 0 {
			e = max(e, ends[i-1])
		}
		ends[i] = min(e, n)
	}
	if len(ends) > 0 {
		ends[len(ends)-1] = n
	}
	return ends
}

// candidates are the gateways target names. An unknown gateway id is
// store.ErrInvalid.
func (o *OTA) candidates(ctx context.Context, t Target) ([]candidate, error) {
	q := `SELECT g.id, g.arch, g.version FROM gateways g LEFT JOIN canteens c ON c.id = g.canteen_id WHERE `
	var args []any
	switch {
	case t.All:
		q += `TRUE`
	case t.District != "":
		q, args = q+`c.district = $1`, []any{t.District}
	case t.Category != "":
		q, args = q+`c.category = $1`, []any{t.Category}
	default:
		ids := slices.Compact(slices.Sorted(slices.Values(t.Gateways)))
		q += `g.id IN (` + store.Placeholders(1, len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	out, err := store.All(ctx, o.r, func(sc store.Row) (candidate, error) {
		var c candidate
		return c, sc.Scan(&c.id, &c.arch, &c.version)
	}, q+` ORDER BY g.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("rollout target: %w", err)
	}
	if len(t.Gateways) > 0 {
		found := map[string]bool{}
		for _, c := range out {
			found[c.id] = true
		}
		for _, id := range t.Gateways {
			if !found[id] {
				return nil, fmt.Errorf("%w: target.gateways: no gateway %q", store.ErrInvalid, id)
			}
		}
	}
	return out, nil
}

const rolloutCols = `id, version, target, stages, stage, forced, max_failures, advance, state, reason, created_by, created_at, updated_at`

func scanRollout(sc store.Row) (Rollout, error) {
	var r Rollout
	var target, stages string
	var created, updated int64
	err := sc.Scan(&r.ID, &r.Version, &target, &stages, &r.Stage, &r.Force, &r.MaxFailures, &r.Advance, &r.State, &r.Reason,
		&r.CreatedBy, &created, &updated)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(target), &r.Target); err != nil {
		return r, fmt.Errorf("rollout %s: target: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(stages), &r.Stages); err != nil {
		return r, fmt.Errorf("rollout %s: stages: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = store.FromMs(created), store.FromMs(updated)
	return r, nil
}

// Rollout returns one rollout with its counts; store.ErrNotFound if none.
func (o *OTA) Rollout(ctx context.Context, id string) (Rollout, error) {
	r, err := scanRollout(o.r.QueryRowContext(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("rollout %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return r, fmt.Errorf("get rollout: %w", err)
	}
	if err := o.count(ctx, []*Rollout{&r}); err != nil {
		return r, err
	}
	return r, nil
}

// Rollouts lists the rollouts, newest first, at most limit (default 100).
func (o *OTA) Rollouts(ctx context.Context, limit int) ([]Rollout, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	out, err := store.All(ctx, o.r, scanRollout, `SELECT `+rolloutCols+` FROM rollouts ORDER BY created_at DESC, id DESC LIMIT $1`,
		min(limit, store.MaxLimit))
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	ptrs := make([]*Rollout, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := o.count(ctx, ptrs); err != nil {
		return nil, err
	}
	if out == nil {
		out = []Rollout{}
	}
	return out, nil
}

func (o *OTA) count(ctx context.Context, rs []*Rollout) error {
	if len(rs) == 0 {
		return nil
	}
	byID := map[string]*Rollout{}
	args := make([]any, len(rs))
	for i, r := range rs {
		r.Counts = map[string]int{}
		byID[r.ID] = r
		args[i] = r.ID
	}
	err := store.Each(ctx, o.r, func(rows *sql.Rows) error {
		var id, state string
		var n int
		if err := rows.Scan(&id, &state, &n); err != nil {
			return err
		}
		byID[id].Counts[state] = n
		return nil
	}, `SELECT rollout_id, state, COUNT(*) FROM rollout_targets WHERE rollout_id IN (`+store.Placeholders(1, len(rs))+`) GROUP BY rollout_id, state`, args...)
	if err != nil {
		return fmt.Errorf("count rollout targets: %w", err)
	}
	return nil
}

// Targets lists a rollout's gateways by stage and id, with each
// gateway's version, arch, connection and OTA state now.
func (o *OTA) Targets(ctx context.Context, id string) ([]TargetRow, error) {
	out, err := store.All(ctx, o.r, func(sc store.Row) (TargetRow, error) {
		var t TargetRow
		var updated int64
		var version, arch sql.NullString
		var online sql.NullBool
		var hb sql.NullString
		err := sc.Scan(&t.GatewayID, &t.Stage, &t.ReleaseID, &t.FromVersion, &t.CmdID, &t.Attempts, &t.State, &t.Detail, &updated,
			&version, &arch, &online, &hb)
		t.UpdatedAt, t.Version, t.Arch, t.Online = store.FromMs(updated), version.String, arch.String, online.Bool
		if s := heartbeatOTA(hb.String); s != nil {
			t.OTAState, t.Progress = s.State, s.Progress
		}
		return t, err
	}, `SELECT t.gateway_id, t.stage, t.release_id, t.from_version, t.cmd_id, t.attempts, t.state, t.detail, t.updated_at,
			g.version, g.arch, g.online, g.last_heartbeat
		FROM rollout_targets t LEFT JOIN gateways g ON g.id = t.gateway_id
		WHERE t.rollout_id = $1 ORDER BY t.stage, t.gateway_id`, id)
	if err != nil {
		return nil, fmt.Errorf("list rollout targets: %w", err)
	}
	if out == nil {
		out = []TargetRow{}
	}
	return out, nil
}
