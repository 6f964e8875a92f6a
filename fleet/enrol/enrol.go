// Package enrol holds the fleet's gateway enrolment codes: one-time codes
// an operator (for their own canteen) or an admin makes, which a new
// gateway exchanges once, over POST /api/v1/enrol, for its identity and
// MQTT credentials (the device contract's wire.EnrolRequest and
// wire.EnrolResponse; gateway/enrol is the client).
//
// A code is 16 symbols of Crockford's base32 (no I, L, O or U), shown in
// four groups of four: 80 random bits, read aloud or typed on a phone
// without ambiguity, and read back in any case, with or without the
// dashes, O as 0 and I or L as 1. Only its SHA-256 is stored: 80 bits
// need no slow hash, as guessing them is hopeless however fast each guess
// is, and the endpoint limits guesses per address besides. A code is
// bound to a canteen and optionally to the gateway id it will enrol, and
// expires (DefaultTTL, at most MaxTTL); it is used at most once, and can
// be revoked until it is.
//
// Exchange claims the code and creates the gateway (as `bk-fleet gateway
// add` does, registry.InsertGateway) in one transaction: the claim is one
// UPDATE whose WHERE requires the code unused, unrevoked and unexpired, so
// of two exchanges racing with one code exactly one wins (SQLite has one
// writer; PostgreSQL re-checks the WHERE of a row another transaction
// updated). A code that is wrong, used, revoked or expired is refused with
// one error, ErrRefused, whichever it is; the reason is kept for the audit
// log only (Refusal). The row is found by the SHA-256 of what was typed,
// so whatever the database's index lookup takes tells nothing of a stored
// code; the hash found is compared again in constant time.
package enrol

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/humancode"
)

// Codes is the enrolment codes of an open database. It is safe for
// concurrent use.
type Codes struct {
	db   *store.DB
	r, w *sql.DB
	// now is time.Now unless a test sets it.
	now func() time.Time
}

// New returns the enrolment codes stored in db.
func New(db *store.DB) *Codes {
	return &Codes{db: db, r: db.Read(), w: db.Write(), now: time.Now}
}

// Lifetimes of a code.
const (
	DefaultTTL = 24 * time.Hour
	MinTTL     = 10 * time.Minute
	MaxTTL     = 7 * 24 * time.Hour
)

// Code states, as Code.Status gives them.
const (
	StatusValid   = "valid"
	StatusUsed    = "used"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// ErrRefused is the one answer to a code that is wrong, used, revoked or
// expired: the caller learns nothing more. Exchange returns it as a
// *Refusal, which says why, for the audit log.
var ErrRefused = errors.New("unknown, used, revoked or expired enrolment code")

// ErrUsed: a used code cannot be revoked.
var ErrUsed = errors.New("enrolment code already used")

// Refusal is a refused exchange: Reason (unknown, malformed, used,
// revoked, expired) and, for a code that exists, its id and canteen. It
// is ErrRefused for errors.Is; its message says only that.
type Refusal struct {
	Reason    string
	CodeID    string
	CanteenID string
}

func (r *Refusal) Error() string        { return ErrRefused.Error() }
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// Code is an enrolment code as stored (never the code itself).
type Code struct {
	// ID names the code in lists, the audit log and revocation.
	ID        string `json:"id"`
	CanteenID string `json:"canteen_id"`
	// GatewayName is the gateway id the code enrols, "" for the one the
	// gateway asks for or, failing that, one made up.
	GatewayName string    `json:"gateway_name,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// UsedAt, GatewayID (the gateway enrolled), UsedFrom (the client's
	// address) and Hardware (what the gateway said of itself, JSON) are
	// set once the code is used.
	UsedAt    time.Time `json:"used_at,omitzero"`
	GatewayID string    `json:"gateway_id,omitempty"`
	UsedFrom  string    `json:"used_from,omitempty"`
	Hardware  string    `json:"hardware,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
	// Status is valid, used, expired or revoked, at the time it was read.
	Status string `json:"status"`
}

// alphabet is the codes' symbols (humancode.Alphabet).
const alphabet = humancode.Alphabet

// codeLen is the symbols of a code: 80 random bits.
const codeLen = 16

// newCode returns a random code as shown: "XXXX-XXXX-XXXX-XXXX".
func newCode() (string, error) { return humancode.New(codeLen, 4) }

// Normalize reads a code as a person may type it: any case, with or
// without dashes and spaces, O for 0 and I or L for 1. ok is false if it
// cannot be a code.
func Normalize(code string) (string, bool) {
	if len(code) > wire.MaxEnrolCode {
		return "", false
	}
	return humancode.Normalize(code, codeLen)
}

// CheckGatewayName is nil if name may be a gateway's id: wire.ValidID,
// not the embedded broker's client, not bk-fleet… (the fleet's own MQTT
// clients). The error wraps store.ErrInvalid.
func CheckGatewayName(name string) error {
	switch {
	case !wire.ValidID(name):
		return fmt.Errorf("%w: gateway name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", store.ErrInvalid, name)
	case name == registry.ReservedGatewayID, strings.HasPrefix(name, "bk-fleet"):
		return fmt.Errorf("%w: gateway name %q is reserved for the fleet's own MQTT clients", store.ErrInvalid, name)
	}
	return nil
}

// NewCode is what Create needs.
type NewCode struct {
	CanteenID string
	// GatewayName, optional, is the gateway id the code will enrol.
	GatewayName string
	// CreatedBy is the principal making it ("user:li.wei").
	CreatedBy string
	// TTL is how long the code is valid: 0 is DefaultTTL, else MinTTL to
	// MaxTTL.
	TTL time.Duration
}

// Create makes a code for a registered canteen and returns it
// ("XXXX-XXXX-XXXX-XXXX", shown only now) and the code as stored. A bad
// field is an error wrapping store.ErrInvalid that names it; so is a
// gateway name already enrolled.
func (c *Codes) Create(ctx context.Context, n NewCode) (string, Code, error) {
	invalid := func(format string, args ...any) (string, Code, error) {
		return "", Code{}, fmt.Errorf("create enrolment code: %w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if n.TTL == 0 {
		n.TTL = DefaultTTL
	}
	switch {
	case n.TTL < MinTTL || n.TTL > MaxTTL:
		return invalid("ttl %s: want %s to %s", n.TTL, MinTTL, MaxTTL)
	case n.CreatedBy == "" || len(n.CreatedBy) > 200:
		return invalid("created_by: required, at most 200 bytes")
	}
	if n.GatewayName != "" {
		if err := CheckGatewayName(n.GatewayName); err != nil {
			return "", Code{}, fmt.Errorf("create enrolment code: %w", err)
		}
	}
	if err := registry.CheckCanteenExists(ctx, c.r, "canteen_id", n.CanteenID); err != nil {
		return "", Code{}, fmt.Errorf("create enrolment code: %w", err)
	}
	if n.GatewayName != "" {
		var k int
		if err := c.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateways WHERE id = $1`, n.GatewayName).Scan(&k); err != nil {
			return "", Code{}, fmt.Errorf("create enrolment code: %w", err)
		}
		if k > 0 {
			return invalid("gateway_name %q: a gateway of that id is already enrolled", n.GatewayName)
		}
	}
	code, err := newCode()
	if err != nil {
		return "", Code{}, fmt.Errorf("create enrolment code: %w", err)
	}
	norm, _ := Normalize(code)
	now := c.now().UTC().Truncate(time.Millisecond)
	out := Code{ID: ulid.Make().String(), CanteenID: n.CanteenID, GatewayName: n.GatewayName, CreatedBy: n.CreatedBy,
		CreatedAt: now, ExpiresAt: now.Add(n.TTL), Status: StatusValid}
	// The foreign key refuses a canteen deleted meanwhile.
	if _, err := c.w.ExecContext(ctx, `INSERT INTO enrol_codes (id, code_hash, canteen_id, gateway_name, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, out.ID, store.HashSecret(norm), out.CanteenID, out.GatewayName, out.CreatedBy,
		store.Ms(out.CreatedAt), store.Ms(out.ExpiresAt)); err != nil {
		return "", Code{}, fmt.Errorf("create enrolment code: %w", err)
	}
	return code, out, nil
}

// MaxList is the most codes List returns.
const MaxList = 100

const codeCols = `id, canteen_id, gateway_name, created_by, created_at, expires_at, used_at, used_from, gateway_id, hardware, revoked_at, revoked_by`

func (c *Codes) scan(row store.Row) (Code, error) {
	var x Code
	var created, expires int64
	var used, revoked sql.NullInt64
	err := row.Scan(&x.ID, &x.CanteenID, &x.GatewayName, &x.CreatedBy, &created, &expires, &used, &x.UsedFrom, &x.GatewayID,
		&x.Hardware, &revoked, &x.RevokedBy)
	x.CreatedAt, x.ExpiresAt, x.UsedAt, x.RevokedAt = store.FromMs(created), store.FromMs(expires), store.FromNullMs(used), store.FromNullMs(revoked)
	x.Status = status(x, c.now())
	return x, err
}

func status(x Code, now time.Time) string {
	switch {
	case !x.UsedAt.IsZero():
		return StatusUsed
	case !x.RevokedAt.IsZero():
		return StatusRevoked
	case !now.Before(x.ExpiresAt):
		return StatusExpired
	}
	return StatusValid
}

// List returns a canteen's codes, newest first, at most MaxList.
func (c *Codes) List(ctx context.Context, canteenID string) ([]Code, error) {
	out, err := store.All(ctx, c.r, c.scan, `SELECT `+codeCols+` FROM enrol_codes WHERE canteen_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, canteenID, MaxList)
	if err != nil {
		return nil, fmt.Errorf("list enrolment codes: %w", err)
	}
	return out, nil
}

// Get returns one code of a canteen; store.ErrNotFound if it has none of
// that id.
func (c *Codes) Get(ctx context.Context, canteenID, id string) (Code, error) {
	x, err := c.scan(c.r.QueryRowContext(ctx, `SELECT `+codeCols+` FROM enrol_codes WHERE id = $1 AND canteen_id = $2`, id, canteenID))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fmt.Errorf("enrolment code %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return x, fmt.Errorf("get enrolment code: %w", err)
	}
	return x, nil
}

// Revoke ends a code of a canteen before it is used; revoking it again
// changes nothing. store.ErrNotFound if the canteen has no such code,
// ErrUsed if it was used.
func (c *Codes) Revoke(ctx context.Context, canteenID, id, by string) (Code, error) {
	now := c.now()
	if _, err := c.w.ExecContext(ctx, `UPDATE enrol_codes SET revoked_at = $3, revoked_by = $4
		WHERE id = $1 AND canteen_id = $2 AND used_at IS NULL AND revoked_at IS NULL`, id, canteenID, store.Ms(now), by); err != nil {
		return Code{}, fmt.Errorf("revoke enrolment code: %w", err)
	}
	x, err := c.Get(ctx, canteenID, id)
	if err != nil {
		return x, fmt.Errorf("revoke enrolment code: %w", err)
	}
	if x.Status == StatusUsed {
		return x, fmt.Errorf("revoke enrolment code %s: %w", id, ErrUsed)
	}
	return x, nil
}

// Exchange is an attempt to enrol.
type Exchange struct {
	// Code as typed.
	Code string
	// Name is the gateway id asked for ("" for the code's, or one made
	// up); the code's own name, if it has one, wins.
	Name string
	// Hardware is what the gateway said of itself, as JSON ("" if
	// nothing), at most 2 KiB.
	Hardware string
	// From is the client's address.
	From string
}

// Enrolment is an accepted exchange: the gateway created, its canteen and
// its credentials (the password is shown only now).
type Enrolment struct {
	CodeID, CreatedBy  string
	GatewayID          string
	CanteenID          string
	Username, Password string
}

// maxHardware bounds Exchange.Hardware as stored.
const maxHardware = 2 << 10

// Exchange uses a code: in one transaction it claims the code (unused,
// unrevoked, unexpired) and creates the gateway for the code's canteen.
// A code that is wrong, used, revoked or expired is a *Refusal (errors.Is
// ErrRefused). A name taken by another gateway is store.ErrExists, a bad
// one store.ErrInvalid; the code then stays unused.
func (c *Codes) Exchange(ctx context.Context, x Exchange) (Enrolment, error) {
	if x.Name != "" {
		if err := CheckGatewayName(x.Name); err != nil {
			return Enrolment{}, fmt.Errorf("enrol: %w", err)
		}
	}
	norm, ok := Normalize(x.Code)
	if !ok {
		return Enrolment{}, &Refusal{Reason: "malformed"}
	}
	hash := store.HashSecret(norm)
	now := c.now()
	var e Enrolment
	claimed := false
	err := c.db.Tx(ctx, func(tx *sql.Tx) error {
		var found, name string
		err := tx.QueryRowContext(ctx, `UPDATE enrol_codes SET used_at = $2, used_from = $3, hardware = $4
			WHERE code_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
			RETURNING code_hash, id, canteen_id, gateway_name, created_by`,
			hash, store.Ms(now), store.Truncate(x.From, 200), store.Truncate(x.Hardware, maxHardware)).
			Scan(&found, &e.CodeID, &e.CanteenID, &name, &e.CreatedBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(found), []byte(hash)) != 1 {
			return nil // not this code: roll the claim back
		}
		claimed = true
		e.GatewayID = name
		if e.GatewayID == "" {
			e.GatewayID = x.Name
		}
		if e.GatewayID == "" {
			if e.GatewayID, err = madeUpName(); err != nil {
				return err
			}
		}
		if e.Username, e.Password, err = registry.InsertGateway(ctx, tx, e.GatewayID, e.CanteenID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE enrol_codes SET gateway_id = $2 WHERE id = $1`, e.CodeID, e.GatewayID)
		return err
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrol: %w", err)
	}
	if !claimed {
		return Enrolment{}, c.refusal(ctx, hash, now)
	}
	return e, nil
}

// refusal says why no code was claimed by hash, for the audit log.
func (c *Codes) refusal(ctx context.Context, hash string, now time.Time) error {
	x, err := c.scan(c.w.QueryRowContext(ctx, `SELECT `+codeCols+` FROM enrol_codes WHERE code_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return &Refusal{Reason: "unknown"}
	} else if err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	r := &Refusal{Reason: status(x, now), CodeID: x.ID, CanteenID: x.CanteenID}
	if r.Reason == StatusValid {
		r.Reason = "raced" // claimed and rolled back meanwhile: still refused
	}
	return r
}

// madeUpName is a gateway id for a gateway that asked for none:
// "gw-" and 8 lowercase symbols of the code alphabet (40 bits).
func madeUpName() (string, error) {
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	b := []byte("gw-")
	for _, r := range raw {
		b = append(b, strings.ToLower(alphabet[r&31:r&31+1])...)
	}
	return string(b), nil
}
