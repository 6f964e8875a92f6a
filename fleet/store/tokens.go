package store

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

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
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
// bad field is an error wrapping ErrInvalid.
func (s *Store) AddToken(ctx context.Context, t Token) (secret string, out Token, err error) {
	if !slices.Contains(Roles, t.Role) {
		return "", t, fmt.Errorf("add token: %w: role %q: want one of %s", ErrInvalid, t.Role, strings.Join(Roles, ", "))
	}
	for _, c := range t.Canteens {
		if !wire.ValidID(c) {
			return "", t, fmt.Errorf("add token: %w: canteen id %q: want 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, c)
		}
	}
	if (t.Role == RoleOperator || t.Role == RoleParent) && len(t.Canteens) == 0 {
		return "", t, fmt.Errorf("add token: %w: role %s needs at least one canteen (--canteen)", ErrInvalid, t.Role)
	}
	if err := checkDistricts(t.Role, t.Districts); err != nil {
		return "", t, fmt.Errorf("add token: %w: %w", ErrInvalid, err)
	}
	if len(t.Label) > 200 {
		return "", t, fmt.Errorf("add token: %w: label longer than 200 bytes", ErrInvalid)
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
		t.ID, hashSecret(secret), t.Role, strings.Join(t.Canteens, ","), strings.Join(t.Districts, ","), t.Label, ms(t.CreatedAt), msOrNil(t.ExpiresAt))
	if err != nil {
		return "", t, fmt.Errorf("add token: %w", err)
	}
	return secret, t, nil
}

// TokenBySecret returns the token a bearer secret stands for; ErrNotFound
// when there is none or it has expired.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (Token, error) {
	return s.token(ctx, `token_hash = $1`, hashSecret(secret))
}

// TokenByID returns a token by id; ErrNotFound when there is none (it was
// revoked) or it has expired.
func (s *Store) TokenByID(ctx context.Context, id string) (Token, error) {
	return s.token(ctx, `id = $1`, id)
}

const tokenCols = `id, role, canteens, districts, label, created_at, expires_at`

// scanToken reads tokenCols.
func scanToken(sc Row) (Token, error) {
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
func (s *Store) token(ctx context.Context, where string, arg any) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	} else if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	if !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt) {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// ListTokens lists the tokens (not their secrets), expired ones included,
// oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	out, err := All(ctx, s.r, scanToken, `SELECT `+tokenCols+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes a token by id (ErrNotFound if there is none): it
// stops working at once; a fleet ends the live views it started within
// its recheck period.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return nil
}

// CameraHome is where a camera is: its gateway and that gateway's canteen.
type CameraHome struct {
	GatewayID string
	CameraID  string // the gateway's own id of the camera
	CanteenID string
	Area      string
	Public    bool
}

// Key is the camera's fleet-wide key, "gateway:camera": camera ids are
// unique per gateway only (installers name them cam1, cam2, … at every
// canteen). Live views and the registry address cameras by it.
func (h CameraHome) Key() string { return CameraKeyOf(h.GatewayID, h.CameraID) }

// CameraKeyOf is the key of camera on gateway.
func CameraKeyOf(gateway, camera string) string { return gateway + ":" + camera }

// ParseCameraKey splits "gateway:camera", or a bare "camera" (gateway ""),
// checking each id.
func ParseCameraKey(key string) (gateway, camera string, err error) {
	camera = key
	if i := strings.IndexByte(key, ':'); i >= 0 {
		gateway, camera = key[:i], key[i+1:]
		if !wire.ValidID(gateway) {
			return "", "", fmt.Errorf("%w: camera %q: gateway id: want 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, key)
		}
	}
	if !wire.ValidID(camera) {
		return "", "", fmt.Errorf("%w: camera %q: want gateway:camera, each 1-64 letters, digits, '.', '_' or '-'", ErrInvalid, key)
	}
	return gateway, camera, nil
}

// CameraHome finds a camera by its key ("gateway:camera"), or by its bare
// id when only one gateway reports that id. ErrInvalid for a malformed
// key, ErrNotFound when no gateway has reported the camera, ErrAmbiguous
// (naming the gateways) for a bare id that several report.
func (s *Store) CameraHome(ctx context.Context, key string) (CameraHome, error) {
	gw, cam, err := ParseCameraKey(key)
	if err != nil {
		return CameraHome{}, err
	}
	// By key through the primary key; a bare id by a scan of the cameras.
	q, args := `SELECT c.gateway_id, c.camera_id, g.canteen_id, c.area, c.public FROM cameras c
		JOIN gateways g ON g.id = c.gateway_id WHERE c.gateway_id = $1 AND c.camera_id = $2`, []any{gw, cam}
	if gw == "" {
		q, args = `SELECT c.gateway_id, c.camera_id, g.canteen_id, c.area, c.public FROM cameras c
		JOIN gateways g ON g.id = c.gateway_id WHERE c.camera_id = $1 ORDER BY c.gateway_id LIMIT 10`, []any{cam}
	}
	found, err := All(ctx, s.r, func(row Row) (CameraHome, error) {
		var h CameraHome
		var canteen sql.NullString
		err := row.Scan(&h.GatewayID, &h.CameraID, &canteen, &h.Area, &h.Public)
		h.CanteenID = canteen.String
		return h, err
	}, q, args...)
	switch {
	case err != nil:
		return CameraHome{}, fmt.Errorf("camera %q: %w", key, err)
	case len(found) == 0:
		return CameraHome{}, fmt.Errorf("camera %q: %w", key, ErrNotFound)
	case len(found) > 1:
		gws := make([]string, len(found))
		for i, h := range found {
			gws[i] = h.GatewayID
		}
		return CameraHome{}, fmt.Errorf("camera %q: %w: on gateways %s; use gateway:camera", key, ErrAmbiguous, strings.Join(gws, ", "))
	}
	return found[0], nil
}
