package ota

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Release is an uploaded bundle.
type Release struct {
	// ID is the bundle's sha256 (hex), its name on disk and in URLs.
	ID        string    `json:"id"`
	Product   string    `json:"product"`
	Version   string    `json:"version"`
	Arch      string    `json:"arch"`
	Size      int64     `json:"size"`
	KeyID     string    `json:"key_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Upload reads a bundle from body (at most MaxBundle bytes), verifies it
// and stores it; by is who uploaded it. The same bundle uploaded again
// returns the stored release with created false. Errors: ErrNoKeys,
// ErrTooLarge, ErrRefused (why, in the message), store.ErrExists (another
// bundle of that version and arch is stored).
func (o *OTA) Upload(ctx context.Context, body io.Reader, by string, now time.Time) (rel Release, created bool, err error) {
	if len(o.cfg.Keys) == 0 {
		return rel, false, ErrNoKeys
	}
	if err := os.MkdirAll(o.cfg.Dir, 0o750); err != nil {
		return rel, false, fmt.Errorf("releases dir: %w", err)
	}
	tmp, err := os.CreateTemp(o.cfg.Dir, ".upload-*")
	if err != nil {
		return rel, false, fmt.Errorf("upload: %w", err)
	}
	keep := false
	defer func() {
		tmp.Close()
		if !keep {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, o.cfg.MaxBundle+1))
	if err != nil {
		return rel, false, fmt.Errorf("upload: read the body: %w", err)
	}
	if n > o.cfg.MaxBundle {
		return rel, false, fmt.Errorf("%w: over %d bytes", ErrTooLarge, o.cfg.MaxBundle)
	}
	if n == 0 {
		return rel, false, fmt.Errorf("%w: empty body", ErrRefused)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return rel, false, fmt.Errorf("upload: %w", err)
	}
	var signer ed25519.PublicKey
	m, err := release.Verify(tmp, release.Options{
		Keys: o.cfg.Keys,
		// Its files may hold no more than the bundle may (a gzip'd
		// bundle expands; the gateway's own limit is its ota.max_bundle).
		Limits: release.Limits{MaxFile: max(o.cfg.MaxBundle, release.DefaultMaxFile), MaxTotal: max(o.cfg.MaxBundle, release.DefaultMaxTotal)},
		Check: func(m *release.Manifest) error {
			if m.Product != Product {
				return fmt.Errorf("product %q: the fleet takes %s releases only", m.Product, Product)
			}
			return nil
		},
		Signed: func(k ed25519.PublicKey) { signer = k },
	})
	if err != nil {
		if errors.Is(err, release.ErrTooLarge) {
			return rel, false, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return rel, false, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	rel = Release{ID: hex.EncodeToString(h.Sum(nil)), Product: m.Product, Version: m.Version, Arch: m.Arch, Size: n,
		KeyID: KeyID(signer), CreatedBy: by, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if old, err := o.Release(ctx, rel.ID); err == nil {
		return old, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return rel, false, err
	}
	if err := tmp.Sync(); err != nil {
		return rel, false, fmt.Errorf("upload: %w", err)
	}
	final := o.path(rel.ID)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return rel, false, fmt.Errorf("upload: %w", err)
	}
	keep = true
	if err := atomicfile.SyncDir(o.cfg.Dir); err != nil {
		os.Remove(final)
		return rel, false, fmt.Errorf("upload: %w", err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO releases (id, product, version, arch, size, key_id, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		rel.ID, rel.Product, rel.Version, rel.Arch, rel.Size, rel.KeyID, rel.CreatedBy, store.Ms(rel.CreatedAt))
	if err != nil {
		os.Remove(final)
		if old, gerr := o.releaseOf(ctx, rel.Version, rel.Arch); gerr == nil {
			return rel, false, fmt.Errorf("version %s for %s: another bundle (%s…) is stored; delete it first: %w",
				rel.Version, rel.Arch, old.ID[:12], store.ErrExists)
		}
		return rel, false, fmt.Errorf("store release: %w", err)
	}
	return rel, true, nil
}

// RemoveStale deletes what uploads cut short by a crash left in the
// releases directory: temporary files older than a day (a running
// upload's is younger), and bundles no release row names that are as old
// (a crash between the rename and the row). It returns how many it
// removed.
func (o *OTA) RemoveStale(ctx context.Context, now time.Time) (int, error) {
	ents, err := os.ReadDir(o.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < 24*time.Hour {
			continue
		}
		name := e.Name()
		stale := strings.HasPrefix(name, ".upload-")
		if id, ok := strings.CutSuffix(name, ".bundle"); ok && idRe.MatchString(id) {
			if _, err := o.Release(ctx, id); errors.Is(err, store.ErrNotFound) {
				stale = true
			} else if err != nil {
				return n, err
			}
		}
		if stale {
			if err := os.Remove(filepath.Join(o.cfg.Dir, name)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// path is where a release's bundle is stored.
func (o *OTA) path(id string) string { return filepath.Join(o.cfg.Dir, id+".bundle") }

const releaseCols = `id, product, version, arch, size, key_id, created_by, created_at`

func scanRelease(sc store.Row) (Release, error) {
	var r Release
	var at int64
	err := sc.Scan(&r.ID, &r.Product, &r.Version, &r.Arch, &r.Size, &r.KeyID, &r.CreatedBy, &at)
	r.CreatedAt = store.FromMs(at)
	return r, err
}

var idRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Release returns one release; store.ErrNotFound if there is none.
func (o *OTA) Release(ctx context.Context, id string) (Release, error) {
	if !idRe.MatchString(id) {
		return Release{}, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	r, err := scanRelease(o.r.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	return r, err
}

func (o *OTA) releaseOf(ctx context.Context, version, arch string) (Release, error) {
	r, err := scanRelease(o.r.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE version = $1 AND arch = $2`, version, arch))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("release %s %s: %w", version, arch, store.ErrNotFound)
	}
	return r, err
}

// Releases lists the releases, newest first.
func (o *OTA) Releases(ctx context.Context) ([]Release, error) {
	out, err := store.All(ctx, o.r, scanRelease, `SELECT `+releaseCols+` FROM releases ORDER BY created_at DESC, id LIMIT $1`, store.MaxLimit)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	if out == nil {
		out = []Release{}
	}
	return out, nil
}

// DeleteRelease removes a release and its bundle; ErrInUse while a
// running or paused rollout of its version is on.
func (o *OTA) DeleteRelease(ctx context.Context, id string) (Release, error) {
	r, err := o.Release(ctx, id)
	if err != nil {
		return r, err
	}
	err = o.db.Tx(ctx, func(tx *sql.Tx) error {
		var busy string
		err := tx.QueryRowContext(ctx, `SELECT id FROM rollouts WHERE version = $1 AND state IN ($2, $3) LIMIT 1`,
			r.Version, StateRunning, StatePaused).Scan(&busy)
		if err == nil {
			return fmt.Errorf("%w: rollout %s sends %s", ErrInUse, busy, r.Version)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM releases WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return r, err
	}
	if err := os.Remove(o.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return r, fmt.Errorf("remove bundle: %w", err)
	}
	return r, nil
}

// Open opens a release's bundle for reading.
func (o *OTA) Open(id string) (*os.File, error) {
	if !idRe.MatchString(id) {
		return nil, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	return os.Open(o.path(id))
}
