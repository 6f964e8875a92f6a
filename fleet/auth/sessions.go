package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// NewSession starts a session for a user, valid for ttl, and returns its
// secret ("bks_" and 32 random bytes in base64url), shown only now: only
// its SHA-256 is stored. store.ErrNotFound for an unknown or disabled user.
func (s *Auth) NewSession(ctx context.Context, userID string, ttl time.Duration) (secret string, expires time.Time, err error) {
	return s.newSession(ctx, "new session", userID, ttl, "", false)
}

// newSession stores a session of userID for ttl (sliding: ttl from each
// use, with the device's label; else fixed) and returns its secret; op
// names it in errors.
func (s *Auth) newSession(ctx context.Context, op, userID string, ttl time.Duration, device string, sliding bool) (secret string, expires time.Time, err error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("%s: %w: ttl %v: want > 0", op, store.ErrInvalid, ttl)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	secret = sessionPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now().UTC().Truncate(time.Millisecond)
	expires = now.Add(ttl).Truncate(time.Millisecond)
	var lastSeen, slidingMs int64 // a fixed session: never seen, not sliding
	if sliding {
		lastSeen, slidingMs = ms(now), ttl.Milliseconds()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO user_sessions (id_hash, user_id, created_at, expires_at, device, last_seen, sliding_ms)
		SELECT $1, id, $3, $4, $5, $6, $7 FROM users WHERE id = $2 AND disabled = FALSE`,
		store.HashSecret(secret), userID, ms(now), ms(expires), device, lastSeen, slidingMs)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		return "", time.Time{}, fmt.Errorf("%s: user %q: %w", op, userID, store.ErrNotFound)
	}
	return secret, expires, nil
}

// SessionUser returns the user of a session; store.ErrNotFound when the session
// is unknown or expired or the user is disabled.
func (s *Auth) SessionUser(ctx context.Context, secret string) (User, error) {
	if !strings.HasPrefix(secret, sessionPrefix) {
		return User{}, store.ErrNotFound
	}
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM user_sessions x JOIN users u ON u.id = x.user_id
		WHERE x.id_hash = $1 AND x.expires_at > $2 AND u.disabled = FALSE`, store.HashSecret(secret), ms(time.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, store.ErrNotFound
	} else if err != nil {
		return User{}, fmt.Errorf("session user: %w", err)
	}
	return u, nil
}

// SessionKey is the key a session is stored under (the SHA-256 of its
// secret): it names a session without being able to act as it.
func SessionKey(secret string) string { return store.HashSecret(secret) }

// SessionUserByKey is SessionUser for a session named by its SessionKey.
func (s *Auth) SessionUserByKey(ctx context.Context, key string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM user_sessions x JOIN users u ON u.id = x.user_id
		WHERE x.id_hash = $1 AND x.expires_at > $2 AND u.disabled = FALSE`, key, ms(time.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, store.ErrNotFound
	} else if err != nil {
		return User{}, fmt.Errorf("session user: %w", err)
	}
	return u, nil
}

// EndSession ends a session (logout); ending an unknown one is no error.
func (s *Auth) EndSession(ctx context.Context, secret string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE id_hash = $1`, store.HashSecret(secret)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// PruneSessions deletes the sessions expired at now and returns how many.
func (s *Auth) PruneSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE expires_at <= $1`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return int(n), nil
}
