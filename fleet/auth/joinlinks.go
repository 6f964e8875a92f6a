package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/humancode"
)

// A join link lets the parents of a school (or of one class) make their
// own accounts: an operator prints its QR code on a poster or posts its
// URL in the class chat, and each parent who opens it types a name and
// is signed in on that device (a sliding device session), with no login
// or password to remember. The link is reusable up to a cap on
// redemptions, until it expires or is revoked; revoking it stops new
// redemptions, and the parents who joined stay.
//
// The token is 24 random bytes (192 bits) in base64url, shown only when
// the link is made: only its SHA-256 is stored, and a token is found by
// its hash, so the database never holds one and the lookup's timing says
// nothing about the token (a timing difference could only be about a
// hash nobody can invert). The link's public ID names it in lists, the
// audit log and the API without being able to redeem it.
type JoinLink struct {
	ID        string `json:"id"`
	CanteenID string `json:"canteen_id"`
	// Class is the class label the parents who join get ("3-2"), or ""
	// for a school-wide link; ≤ 100 bytes.
	Class string `json:"class,omitempty"`
	// Cap is the most redemptions the link allows (1 to MaxJoinCap);
	// Used is how many it has had.
	Cap       int       `json:"cap"`
	Used      int       `json:"used"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Usable says whether the link can still be redeemed at now.
func (l JoinLink) Usable(now time.Time) bool {
	return l.RevokedAt.IsZero() && now.Before(l.ExpiresAt) && l.Used < l.Cap
}

// MaxJoinCap bounds a join link's cap: a large school's parents.
const MaxJoinCap = 10000

// JoinTokenPrefix starts every join link token.
const JoinTokenPrefix = "bkj_"

// joinTokenLen is a token's length: the prefix and 24 bytes in base64url.
const joinTokenLen = len(JoinTokenPrefix) + 32

// Errors of the join links.
var (
	// ErrBadJoinLink: a token that is malformed, unknown, revoked,
	// expired or used up. Which it is is never told to the redeemer.
	ErrBadJoinLink = errors.New("join link not valid")
	// ErrJoinLimit: too many redemptions from one address lately.
	ErrJoinLimit = errors.New("too many joins from this address")
)

// WellFormedJoinToken says whether tok can be a join link token: the
// prefix and 32 base64url characters.
func WellFormedJoinToken(tok string) bool {
	if len(tok) != joinTokenLen || !strings.HasPrefix(tok, JoinTokenPrefix) {
		return false
	}
	for _, r := range tok[len(JoinTokenPrefix):] {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// AddJoinLink makes a join link for a registered canteen and returns its
// token (shown only now) and the link as stored. CanteenID, Cap (1 to
// MaxJoinCap), ExpiresAt (in the future) and CreatedBy are required; a
// bad field is an error wrapping store.ErrInvalid that names it.
func (s *Auth) AddJoinLink(ctx context.Context, l JoinLink) (token string, out JoinLink, err error) {
	invalid := func(format string, args ...any) (string, JoinLink, error) {
		return "", l, fmt.Errorf("add join link: %w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	switch {
	case l.Cap < 1 || l.Cap > MaxJoinCap:
		return invalid("cap %d: want 1 to %d", l.Cap, MaxJoinCap)
	case l.ExpiresAt.IsZero():
		return invalid("expires_at: required")
	case !l.ExpiresAt.After(now):
		return invalid("expires_at %s: in the past", l.ExpiresAt.Format(time.RFC3339))
	case l.CreatedBy == "":
		return invalid("created_by: required")
	}
	if err := checkText("class", strings.TrimSpace(l.Class), maxName); err != nil {
		return invalid("%v", err)
	}
	if err := checkText("created_by", l.CreatedBy, maxName); err != nil {
		return invalid("%v", err)
	}
	if err := registry.CheckCanteenExists(ctx, s.r, "canteen_id", l.CanteenID); err != nil {
		return "", l, fmt.Errorf("add join link: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", l, fmt.Errorf("add join link: %w", err)
	}
	token = JoinTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	l.ID = "jl_" + strings.ToLower(ulid.Make().String())
	l.Class = strings.TrimSpace(l.Class)
	l.Used, l.CreatedAt, l.ExpiresAt = 0, now, l.ExpiresAt.UTC().Truncate(time.Millisecond)
	l.RevokedAt, l.RevokedBy = time.Time{}, ""
	if _, err := s.w.ExecContext(ctx, `INSERT INTO join_links (id, token_hash, canteen_id, class_label, cap, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.ID, store.HashSecret(token), l.CanteenID, l.Class, l.Cap, l.CreatedBy,
		ms(l.CreatedAt), ms(l.ExpiresAt)); err != nil {
		return "", l, fmt.Errorf("add join link: %w", err)
	}
	return token, l, nil
}

const joinLinkCols = `id, canteen_id, class_label, cap, used, created_by, created_at, expires_at, revoked_at, revoked_by`

func scanJoinLink(row store.Row) (JoinLink, error) {
	var l JoinLink
	var created, expires int64
	var revoked sql.NullInt64
	err := row.Scan(&l.ID, &l.CanteenID, &l.Class, &l.Cap, &l.Used, &l.CreatedBy, &created, &expires, &revoked, &l.RevokedBy)
	l.CreatedAt, l.ExpiresAt, l.RevokedAt = fromMs(created), fromMs(expires), fromNullMs(revoked)
	return l, err
}

// ListJoinLinks lists a canteen's join links, newest first.
func (s *Auth) ListJoinLinks(ctx context.Context, canteenID string) ([]JoinLink, error) {
	out, err := store.All(ctx, s.r, scanJoinLink, `SELECT `+joinLinkCols+` FROM join_links WHERE canteen_id = $1
		ORDER BY created_at DESC, id DESC`, canteenID)
	if err != nil {
		return nil, fmt.Errorf("list join links: %w", err)
	}
	return out, nil
}

// JoinLinkByID returns a join link; store.ErrNotFound.
func (s *Auth) JoinLinkByID(ctx context.Context, id string) (JoinLink, error) {
	l, err := store.One(ctx, s.r, scanJoinLink, `SELECT `+joinLinkCols+` FROM join_links WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("join link %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return l, fmt.Errorf("get join link: %w", err)
	}
	return l, nil
}

// JoinLinkByToken returns the link a token redeems, usable or not;
// ErrBadJoinLink for a malformed or unknown token.
func (s *Auth) JoinLinkByToken(ctx context.Context, token string) (JoinLink, error) {
	if !WellFormedJoinToken(token) {
		return JoinLink{}, ErrBadJoinLink
	}
	l, err := store.One(ctx, s.r, scanJoinLink, `SELECT `+joinLinkCols+` FROM join_links WHERE token_hash = $1`, store.HashSecret(token))
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrBadJoinLink
	} else if err != nil {
		return l, fmt.Errorf("get join link: %w", err)
	}
	return l, nil
}

// TokenOpens says, in constant time, whether token is the one whose
// SHA-256 the link id was stored under: for a caller that
// holds both a link's ID and a token (the QR code of a link an operator
// just made).
func (s *Auth) TokenOpens(ctx context.Context, id, token string) (bool, error) {
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT token_hash FROM join_links WHERE id = $1`, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("check join token: %w", err)
	}
	return subtle.ConstantTimeCompare([]byte(hash), []byte(store.HashSecret(token))) == 1, nil
}

// RevokeJoinLink revokes a link (no more redemptions; the parents who
// joined stay) and returns it; revoking a revoked link changes nothing.
// store.ErrNotFound.
func (s *Auth) RevokeJoinLink(ctx context.Context, id, by string) (JoinLink, error) {
	if _, err := s.w.ExecContext(ctx, `UPDATE join_links SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL`,
		id, ms(time.Now()), by); err != nil {
		return JoinLink{}, fmt.Errorf("revoke join link: %w", err)
	}
	return s.JoinLinkByID(ctx, id)
}

// JoinLimit bounds the redemptions from one client address: at most Max
// in any Window. A zero Max does not limit.
type JoinLimit struct {
	Max    int
	Window time.Duration
}

// RedeemJoinLink makes a parent's account through a join link, in one
// transaction: the link must be usable (else ErrBadJoinLink, whichever
// the reason); the address addr must have had fewer than lim.Max
// redemptions in lim.Window (else ErrJoinLimit); the link's count of
// redemptions is claimed in the same UPDATE that checks it against the
// cap, so that concurrent redeemers never take more than the cap
// (PostgreSQL re-checks the WHERE after waiting for the row; SQLite
// runs one writer at a time). The parent gets a generated login
// ("p-" and 10 symbols), the name given (1 to 100 bytes, required), the
// link's canteen and class, InvitedBy "join-link:<id>", and no password:
// they sign in by device session only (NewDeviceSession).
func (s *Auth) RedeemJoinLink(ctx context.Context, token, name, addr string, lim JoinLimit) (User, JoinLink, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) {
		return User{}, JoinLink{}, fmt.Errorf("redeem join link: %w: name: required", store.ErrInvalid)
	}
	if err := checkText("name", name, maxName); err != nil {
		return User{}, JoinLink{}, fmt.Errorf("redeem join link: %w: %w", store.ErrInvalid, err)
	}
	if !WellFormedJoinToken(token) {
		return User{}, JoinLink{}, fmt.Errorf("redeem join link: %w", ErrBadJoinLink)
	}
	code, err := humancode.New(10, 10)
	if err != nil {
		return User{}, JoinLink{}, fmt.Errorf("redeem join link: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := User{ID: "p-" + strings.ToLower(code), Name: name, Role: RoleParent, CreatedAt: now, UpdatedAt: now}
	addrHash := store.HashSecret("addr:" + addr)
	var l JoinLink
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if lim.Max > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM join_redemptions WHERE addr_hash = $1 AND redeemed_at > $2`,
				addrHash, ms(now.Add(-lim.Window))).Scan(&n); err != nil {
				return err
			}
			if n >= lim.Max {
				return ErrJoinLimit
			}
		}
		var err error
		l, err = store.One(ctx, tx, scanJoinLink, `UPDATE join_links SET used = used + 1
			WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND used < cap
			RETURNING `+joinLinkCols, store.HashSecret(token), ms(now))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrBadJoinLink
		} else if err != nil {
			return err
		}
		u.Canteens, u.Class, u.InvitedBy = []string{l.CanteenID}, l.Class, "join-link:"+l.ID
		if err := insertUser(ctx, tx, u, ""); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO join_redemptions (user_id, link_id, addr_hash, redeemed_at) VALUES ($1, $2, $3, $4)`,
			u.ID, l.ID, addrHash, ms(now))
		return err
	})
	if err != nil {
		return User{}, JoinLink{}, fmt.Errorf("redeem join link: %w", err)
	}
	return u, l, nil
}
