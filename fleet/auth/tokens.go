package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/oklog/ulid/v2"
)

// Roles (SPEC.md §4).
const (
	RoleAdmin     = "admin"
	RoleRegulator = "regulator"
	RoleOperator  = "operator"
	RoleParent    = "parent"
)

// Roles lists the roles in order of reach.
var Roles = []string{RoleAdmin, RoleRegulator, RoleOperator, RoleParent}

// Token is an API token: a bearer secret with a role and, for operators
// and parents, the canteens it is bound to, for regulators the districts.
// Only the secret's hash is stored.
type Token struct {
	ID       string   `json:"id"`
	Role     string   `json:"role"`
	Canteens []string `json:"canteens,omitempty"`
	// Districts bind a regulator token: at least one, "*" alone for the
	// whole city (the same rules as User.Districts).
	Districts []string  `json:"districts,omitempty"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// AddToken stores a new token and returns its secret, shown only now. A
// bad field is an error wrapping store.ErrInvalid.
func (s *Auth) AddToken(ctx context.Context, t Token) (secret string, out Token, err error) {
	if !slices.Contains(Roles, t.Role) {
		return "", t, fmt.Errorf("add token: %w: role %q: want one of %s", store.ErrInvalid, t.Role, strings.Join(Roles, ", "))
	}
	for _, c := range t.Canteens {
		if !wire.ValidID(c) {
			return "", t, fmt.Errorf("add token: %w: canteen id %q: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, c)
		}
	}
	if (t.Role == RoleOperator || t.Role == RoleParent) && len(t.Canteens) == 0 {
		return "", t, fmt.Errorf("add token: %w: role %s needs at least one canteen (--canteen)", store.ErrInvalid, t.Role)
	}
	if err := checkDistricts(t.Role, t.Districts); err != nil {
		return "", t, fmt.Errorf("add token: %w: %w", store.ErrInvalid, err)
	}
	if len(t.Label) > 200 {
		return "", t, fmt.Errorf("add token: %w: label longer than 200 bytes", store.ErrInvalid)
	}
	if len(t.Districts) == 0 {
		t.Districts = nil
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", t, fmt.Errorf("add token: %w", err)
	}
	secret = "bk_" + base64.RawURLEncoding.EncodeToString(raw)
	t.ID = ulid.Make().String()
	t.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	_, err = s.w.ExecContext(ctx, `INSERT INTO api_tokens (id, token_hash, role, canteens, districts, label, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, store.HashSecret(secret), t.Role, strings.Join(t.Canteens, ","), strings.Join(t.Districts, ","), t.Label, ms(t.CreatedAt), msOrNil(t.ExpiresAt))
	if err != nil {
		return "", t, fmt.Errorf("add token: %w", err)
	}
	return secret, t, nil
}

// TokenBySecret returns the token a bearer secret stands for; store.ErrNotFound
// when there is none or it has expired.
func (s *Auth) TokenBySecret(ctx context.Context, secret string) (Token, error) {
	return s.token(ctx, `token_hash = $1`, store.HashSecret(secret))
}

// TokenByID returns a token by id; store.ErrNotFound when there is none (it was
// revoked) or it has expired.
func (s *Auth) TokenByID(ctx context.Context, id string) (Token, error) {
	return s.token(ctx, `id = $1`, id)
}

const tokenCols = `id, role, canteens, districts, label, created_at, expires_at`

// scanToken reads tokenCols.
func scanToken(sc store.Row) (Token, error) {
	var (
		t                   Token
		canteens, districts string
		created             int64
		expires             sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.Role, &canteens, &districts, &t.Label, &created, &expires); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt = fromMs(created), fromNullMs(expires)
	t.Canteens, t.Districts = splitList(canteens), splitList(districts)
	return t, nil
}

// token returns the unexpired token where says (with arg).
func (s *Auth) token(ctx context.Context, where string, arg any) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, store.ErrNotFound
	} else if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	if !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt) {
		return Token{}, store.ErrNotFound
	}
	return t, nil
}

// ListTokens lists the tokens (not their secrets), expired ones included,
// oldest first.
func (s *Auth) ListTokens(ctx context.Context) ([]Token, error) {
	out, err := store.All(ctx, s.r, scanToken, `SELECT `+tokenCols+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes a token by id (store.ErrNotFound if there is none): it
// stops working at once; a fleet ends the live views it started within
// its recheck period.
func (s *Auth) RevokeToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", id, store.ErrNotFound)
	}
	return nil
}
