// Package ota is the fleet's side of over-the-air updates: the releases
// an admin uploads and the staged rollouts that send them to gateways.
// The gateway's side (download, verify, A/B slots, trial, rollback) is
// gateway/ota; the bundle format is internal/release.
//
// # Releases
//
// A release is one signed bundle (internal/release) of product
// bk-gateway for one version and arch. Upload streams the body to a
// temporary file under the releases directory with a size cap, then
// reads it again with release.Verify: the signature must be one of the
// fleet's trusted keys (Config.Keys, the same base64 lines as a gateway's
// ota.trusted_keys), the manifest well formed, every file's sha256
// right, no entry outside the manifest (path traversal, links). Only
// then is it renamed to {sha256}.bundle and its row written (releases:
// id = sha256, version, arch, size, the signing key's id, who, when);
// a refused upload leaves nothing behind. One bundle per version and
// arch. A release used by a running or paused rollout cannot be deleted.
// The bundles are files, not rows: fleets sharing a database must share
// the directory too. RemoveStale clears what a crash left there.
//
// # Rollouts
//
// A rollout sends one version to a target (chosen gateways, all, a
// district or a category of canteens) in stages, each a percentage of the
// target's gateways that are to update ([67, 100]: about two thirds, then
// the rest). At creation every target gateway gets a row in
// rollout_targets: "skipped" with the reason when its arch has no bundle
// of the version, its arch is unknown, or it already runs that version
// or a newer one (unless Force); the others are ordered by a hash of the
// rollout's id and their own, and the first round(n×p/100) of them (at
// least one) are in the first stage, and so on. The order is fixed by the
// ids, so a rollout's stages can be recomputed and are not a matter of
// which gateway answered first.
//
// The Engine (engine.go) does the work, on one fleet at a time (the
// "rollouts" lease), every tick (2 s): it follows the targets in flight
// from their ota.install command's status and the gateway's heartbeat
// (sent → downloading → installing → trial → confirmed, or
// rolled_back / failed), pauses a rollout whose current stage has more
// failures than MaxFailures (each further failure pauses it again after a
// resume), sends ota.install through the fleet's one command path to the
// online gateways of the stages reached, and moves to the next stage when
// every gateway of the current one has finished (Advance "auto"), or
// finishes the rollout after the last. Everything is in the database, so
// a restarted fleet carries on where it was. A command not received
// before it expires (the gateway was offline: the fleet sends a command
// once) is sent again, up to MaxAttempts times. A target received but
// silent for StallAfter (no new state, no progress report) is "stalled":
// a failure, though still followed, so a result that comes later is
// taken.
//
// Each command's URL carries a token made for that target (32 random
// bytes; the database keeps its SHA-256): the download route serves the
// bundle, with Range, only to a target whose install is in flight and
// only while its rollout is not aborted. Abort sends nothing more and
// marks the pending targets skipped; a gateway already installing
// finishes (or fails) by itself and is still followed.
package ota

import (
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Product is the only product the fleet takes releases of.
const Product = "bk-gateway"

// DefaultMaxBundle is the largest bundle uploaded unless Config says
// otherwise (the gateway's ota.max_bundle default too).
const DefaultMaxBundle = 256 << 20

// Sentinel errors; returned errors wrap them and say more.
var (
	// ErrRefused: a bundle that is not a valid, trusted release (the
	// message says why: unsigned, wrong key, corrupted, bad manifest,
	// wrong product).
	ErrRefused = errors.New("release refused")
	// ErrTooLarge: a bundle over Config.MaxBundle.
	ErrTooLarge = errors.New("bundle too large")
	// ErrInUse: a release a running or paused rollout sends.
	ErrInUse = errors.New("release in use")
	// ErrNoKeys: the fleet trusts no release keys, so it takes no upload.
	ErrNoKeys = errors.New("no release keys configured (--release-keys)")
	// ErrWrongState: an action the rollout's state does not allow.
	ErrWrongState = errors.New("wrong rollout state")
	// ErrGone: a download of an aborted rollout, or of a target not in
	// flight.
	ErrGone = errors.New("download no longer offered")
	// ErrConflict: a rollout whose gateways another rollout is updating.
	ErrConflict = errors.New("gateways already in a rollout")
)

// Config says where bundles live and which keys sign them.
type Config struct {
	// Dir holds the bundles, one file each ({sha256}.bundle); created
	// when missing. Required for uploads and downloads.
	Dir string
	// Keys are the release keys the fleet trusts; with none, uploads are
	// refused (ErrNoKeys).
	Keys []ed25519.PublicKey
	// MaxBundle is the largest bundle accepted, in bytes (default
	// DefaultMaxBundle).
	MaxBundle int64
}

// OTA holds the releases and rollouts of a fleet's database. It is safe
// for concurrent use.
type OTA struct {
	db   *store.DB
	r, w *sql.DB
	cfg  Config
}

// New returns the releases and rollouts stored in db, their bundles in
// cfg.Dir.
func New(db *store.DB, cfg Config) *OTA {
	if cfg.MaxBundle <= 0 {
		cfg.MaxBundle = DefaultMaxBundle
	}
	return &OTA{db: db, r: db.Read(), w: db.Write(), cfg: cfg}
}

// MaxBundle is the largest bundle Upload accepts.
func (o *OTA) MaxBundle() int64 { return o.cfg.MaxBundle }

// Key is a trusted release key as shown: its id and the line a gateway's
// ota.trusted_keys takes.
type Key struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Keys lists the trusted keys.
func (o *OTA) Keys() []Key {
	out := []Key{}
	for _, k := range o.cfg.Keys {
		out = append(out, Key{ID: KeyID(k), Key: release.FormatPublicKey(k)})
	}
	return out
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(k ed25519.PublicKey) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}
