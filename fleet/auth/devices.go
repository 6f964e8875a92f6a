package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Session is one of a user's sessions as the user sees it: a device
// they are signed in on. Key names it (SessionKey of its secret) without
// being able to act as it.
type Session struct {
	Key    string `json:"id"`
	Device string `json:"device"`
	// Sliding sessions last their lifetime from their last use (a
	// parent's device session); the others from their start.
	Sliding   bool      `json:"sliding"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxDevice bounds a session's device label, in bytes.
const maxDevice = 100

// touchEvery is how stale a sliding session's last_seen may grow before
// a request moves it (and its expiry) on: at most one write per session
// per touchEvery, however busy the device.
const touchEvery = time.Hour

// NewDeviceSession starts a sliding session for a user: it lasts ttl
// from its last use (TouchSession), so a device in use stays signed in
// and one left alone for ttl is signed out. device is a label for the
// user's list of devices (cut to 100 bytes, control characters
// dropped). The secret is shown only now; store.ErrNotFound for an
// unknown or disabled user.
func (s *Auth) NewDeviceSession(ctx context.Context, userID string, ttl time.Duration, device string) (secret string, expires time.Time, err error) {
	return s.newSession(ctx, "new device session", userID, ttl, DeviceLabel(device), true)
}

// DeviceLabel is a short name for the device a User-Agent describes:
// "Android · Chrome", "iPhone · WeChat", or the agent itself cut short.
func DeviceLabel(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, ua)
	var os, app string
	for _, c := range []struct{ needle, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Macintosh", "Mac"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, c.needle) {
			os = c.name
			break
		}
	}
	for _, c := range []struct{ needle, name string }{
		{"MicroMessenger", "WeChat"}, {"DingTalk", "DingTalk"}, {"AlipayClient", "Alipay"}, {"Edg/", "Edge"},
		{"HeadlessChrome", "Headless Chrome"}, {"Chrome/", "Chrome"}, {"Firefox/", "Firefox"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, c.needle) {
			app = c.name
			break
		}
	}
	switch {
	case os != "" && app != "":
		return os + " · " + app
	case os != "" || app != "":
		return os + app
	}
	if len(ua) > maxDevice {
		ua = ua[:maxDevice]
		for !utf8.ValidString(ua) { // cut on a rune boundary
			ua = ua[:len(ua)-1]
		}
	}
	return ua
}

// SessionOf returns a session's user and the session; store.ErrNotFound
// when the session is unknown or expired or the user is disabled.
func (s *Auth) SessionOf(ctx context.Context, secret string) (User, Session, error) {
	if !strings.HasPrefix(secret, sessionPrefix) {
		return User{}, Session{}, store.ErrNotFound
	}
	var x Session
	var created, lastSeen, expires, sliding int64
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+`, x.id_hash, x.device, x.created_at, x.last_seen, x.expires_at, x.sliding_ms
		FROM user_sessions x JOIN users u ON u.id = x.user_id
		WHERE x.id_hash = $1 AND x.expires_at > $2 AND u.disabled = FALSE`, store.HashSecret(secret), ms(time.Now())),
		&x.Key, &x.Device, &created, &lastSeen, &expires, &sliding)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Session{}, store.ErrNotFound
	} else if err != nil {
		return User{}, Session{}, fmt.Errorf("session: %w", err)
	}
	x.Sliding, x.CreatedAt, x.LastSeen, x.ExpiresAt = sliding > 0, fromMs(created), fromMs(lastSeen), fromMs(expires)
	return u, x, nil
}

// TouchSession moves a sliding session's expiry on to now plus its
// lifetime, if it was last moved touchEvery ago or more, and returns the
// new expiry and true; false when there was nothing to do (a fixed
// session, one touched lately, or one gone).
func (s *Auth) TouchSession(ctx context.Context, x Session, now time.Time) (time.Time, bool, error) {
	if !x.Sliding || now.Sub(x.LastSeen) < touchEvery {
		return time.Time{}, false, nil
	}
	now = now.UTC().Truncate(time.Millisecond)
	var expires int64
	err := s.w.QueryRowContext(ctx, `UPDATE user_sessions SET last_seen = $2, expires_at = $2 + sliding_ms
		WHERE id_hash = $1 AND sliding_ms > 0 AND expires_at > $2 AND last_seen <= $3 RETURNING expires_at`,
		x.Key, ms(now), ms(now.Add(-touchEvery))).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("touch session: %w", err)
	}
	return fromMs(expires), true, nil
}

// ListSessions lists a user's unexpired sessions, the last used first.
func (s *Auth) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (Session, error) {
		var x Session
		var created, lastSeen, expires, sliding int64
		err := row.Scan(&x.Key, &x.Device, &created, &lastSeen, &expires, &sliding)
		x.Sliding, x.CreatedAt, x.LastSeen, x.ExpiresAt = sliding > 0, fromMs(created), fromMs(lastSeen), fromMs(expires)
		if x.LastSeen.IsZero() || lastSeen == 0 {
			x.LastSeen = x.CreatedAt
		}
		return x, err
	}, `SELECT id_hash, device, created_at, last_seen, expires_at, sliding_ms FROM user_sessions
		WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen DESC, created_at DESC, id_hash`, userID, ms(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// EndUserSession ends one of a user's sessions, named by its key;
// store.ErrNotFound if the user has no such session.
func (s *Auth) EndUserSession(ctx context.Context, userID, key string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND id_hash = $2`, userID, key)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("end session: %w", err)
	} else if n == 0 {
		return fmt.Errorf("end session: %w", store.ErrNotFound)
	}
	return nil
}

// EndUserSessions ends every session of a user and returns their keys.
func (s *Auth) EndUserSessions(ctx context.Context, userID string) ([]string, error) {
	var keys []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		keys, err = store.All(ctx, tx, func(row store.Row) (string, error) {
			var k string
			return k, row.Scan(&k)
		}, `SELECT id_hash FROM user_sessions WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end sessions: %w", err)
	}
	return keys, nil
}
