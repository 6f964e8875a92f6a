package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Log uploads: a logs.upload command makes one, with a one-time token the
// gateway presents when it PUTs the gzipped log; the fleet keeps the
// newest KeepLogUploads per gateway, at most MaxLogUploadBytes each.
const (
	// MaxLogUploadBytes bounds one stored upload (gzip).
	MaxLogUploadBytes = 16 << 20
	// KeepLogUploads is how many uploads of a gateway are kept; older
	// ones are deleted when a new one is made.
	KeepLogUploads = 5
	// LogUploadTTL is how long a log upload's token stays valid.
	LogUploadTTL = 10 * time.Minute
)

// ErrTokenUsed is returned for a log upload whose token was used already
// or has expired.
var ErrTokenUsed = errors.New("upload token used or expired")

// LogUpload is one requested (and maybe received) log upload.
type LogUpload struct {
	ID          string    `json:"id"`
	GatewayID   string    `json:"gateway_id"`
	CmdID       string    `json:"cmd_id"`
	RequestedBy string    `json:"requested_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UploadedAt  time.Time `json:"uploaded_at,omitzero"`
	// Bytes is the stored (gzip) size; 0 until received.
	Bytes int64 `json:"bytes"`
}

// NewLogUpload records a log upload requested by actor for command cmdID
// of gateway gw and returns it with its one-time token, of which only a
// hash is stored. Older uploads beyond KeepLogUploads are deleted.
func (s *Registry) NewLogUpload(ctx context.Context, gw, cmdID, actor string, now time.Time) (LogUpload, string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return LogUpload{}, "", err
	}
	token := hex.EncodeToString(b[:])
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	u := LogUpload{ID: "log-" + hex.EncodeToString(idb[:]), GatewayID: gw, CmdID: cmdID, RequestedBy: actor, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_uploads (id, gateway_id, cmd_id, token_hash, requested_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, gw, cmdID, hashToken(token), actor, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM log_uploads WHERE gateway_id = $1 AND id NOT IN
			(SELECT id FROM log_uploads WHERE gateway_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`, gw, KeepLogUploads)
		return err
	})
	if err != nil {
		return LogUpload{}, "", fmt.Errorf("new log upload: %w", err)
	}
	return u, token, nil
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// StoreLogUpload stores the gzip data of upload id of gateway gw if token
// is its one-time token, unused and within LogUploadTTL: ErrTokenUsed
// otherwise, store.ErrNotFound for no such upload (or a wrong token, so
// that a guess learns nothing), store.ErrInvalid for data over
// MaxLogUploadBytes.
func (s *Registry) StoreLogUpload(ctx context.Context, gw, id, token string, data []byte, now time.Time) error {
	if len(data) > MaxLogUploadBytes {
		return fmt.Errorf("log upload of %d bytes, limit %d: %w", len(data), MaxLogUploadBytes, store.ErrInvalid)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var hash string
		var created int64
		var uploaded sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT token_hash, created_at, uploaded_at FROM log_uploads WHERE id = $1 AND gateway_id = $2`,
			id, gw).Scan(&hash, &created, &uploaded)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(hash), []byte(hashToken(token))) != 1) {
			return fmt.Errorf("log upload %s: %w", id, store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store log upload: %w", err)
		}
		if uploaded.Valid || now.Sub(fromMs(created)) > LogUploadTTL {
			return fmt.Errorf("log upload %s: %w", id, ErrTokenUsed)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE log_uploads SET data = $2, bytes = $3, uploaded_at = $4 WHERE id = $1`,
			id, data, len(data), ms(now)); err != nil {
			return fmt.Errorf("store log upload: %w", err)
		}
		return nil
	})
}

// LogUploads lists a gateway's log uploads, newest first.
func (s *Registry) LogUploads(ctx context.Context, gw string) ([]LogUpload, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (LogUpload, error) {
		var u LogUpload
		var created int64
		var uploaded sql.NullInt64
		err := row.Scan(&u.ID, &u.GatewayID, &u.CmdID, &u.RequestedBy, &created, &uploaded, &u.Bytes)
		u.CreatedAt, u.UploadedAt = fromMs(created), fromNullMs(uploaded)
		return u, err
	}, `SELECT id, gateway_id, cmd_id, requested_by, created_at, uploaded_at, bytes FROM log_uploads
		WHERE gateway_id = $1 ORDER BY created_at DESC, id DESC`, gw)
	if err != nil {
		return nil, fmt.Errorf("list log uploads: %w", err)
	}
	return out, nil
}

// LogUploadData returns an upload's gzip data; store.ErrNotFound when
// there is no such upload of gw or it has not arrived.
func (s *Registry) LogUploadData(ctx context.Context, gw, id string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM log_uploads WHERE id = $1 AND gateway_id = $2 AND uploaded_at IS NOT NULL`,
		id, gw).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("log upload %s: %w", id, store.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get log upload: %w", err)
	}
	return data, nil
}

// GatewaySnapshot returns the JPEG a gateway sent with its event eventID
// (a snapshot taken on request, or an alarm's); store.ErrNotFound when it
// has not arrived (or never will).
func (s *Registry) GatewaySnapshot(ctx context.Context, gw, eventID string) ([]byte, error) {
	var jpeg []byte
	err := s.r.QueryRowContext(ctx, `SELECT jpeg FROM snapshots WHERE gateway_id = $1 AND event_id = $2`, gw, eventID).Scan(&jpeg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("snapshot %s: %w", eventID, store.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get snapshot: %w", err)
	}
	return jpeg, nil
}
