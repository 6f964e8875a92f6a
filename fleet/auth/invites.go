package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/humancode"
)

// Invite is a parent's access code for one canteen: an operator hands it
// out, and a parent redeems it once, before it expires, for an account.
// Only the SHA-256 of the code is stored.
type Invite struct {
	CanteenID string `json:"canteen_id"`
	// Label says whom the code is for ("Class 3-2 parents"), ≤ 100 bytes.
	Label string `json:"label,omitempty"`
	// CreatedBy is the principal that made the code ("user:li.wei").
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// UsedBy is the login of the parent who redeemed the code.
	UsedBy string    `json:"used_by,omitempty"`
	UsedAt time.Time `json:"used_at,omitzero"`
}

// inviteLen is the length of a code without its dash: 50 random bits.
const inviteLen = 10

// newInviteCode returns a random code as shown: "XXXXX-XXXXX".
func newInviteCode() (string, error) { return humancode.New(inviteLen, inviteLen/2) }

// normalizeInviteCode reads a code as a person may type it: any case, with
// or without the dash and spaces, and (as Crockford's base32 decodes them)
// O for 0 and I or L for 1. ok is false if it cannot be a code.
func normalizeInviteCode(code string) (string, bool) { return humancode.Normalize(code, inviteLen) }

// AddInvite makes an access code for a registered canteen and returns it
// ("XXXXX-XXXXX", shown only now) and the invite as stored. ExpiresAt is
// required and must be in the future. A bad field is an error wrapping
// store.ErrInvalid that names it.
func (s *Auth) AddInvite(ctx context.Context, inv Invite) (code string, out Invite, err error) {
	invalid := func(format string, args ...any) (string, Invite, error) {
		return "", inv, fmt.Errorf("add invite: %w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	switch {
	case inv.ExpiresAt.IsZero():
		return invalid("expires_at: required")
	case !inv.ExpiresAt.After(now):
		return invalid("expires_at %s: in the past", inv.ExpiresAt.Format(time.RFC3339))
	case inv.CreatedBy == "":
		return invalid("created_by: required")
	}
	if err := checkText("label", inv.Label, maxName); err != nil {
		return invalid("%v", err)
	}
	if err := checkText("created_by", inv.CreatedBy, maxName); err != nil {
		return invalid("%v", err)
	}
	if err := registry.CheckCanteenExists(ctx, s.r, "canteen_id", inv.CanteenID); err != nil {
		return "", inv, fmt.Errorf("add invite: %w", err)
	}
	if code, err = newInviteCode(); err != nil {
		return "", inv, fmt.Errorf("add invite: %w", err)
	}
	norm, _ := normalizeInviteCode(code)
	inv.CreatedAt, inv.ExpiresAt = now, inv.ExpiresAt.UTC().Truncate(time.Millisecond)
	inv.UsedBy, inv.UsedAt = "", time.Time{}
	// The foreign key refuses a canteen deleted meanwhile.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO invites (code_hash, canteen_id, label, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, store.HashSecret(norm), inv.CanteenID, inv.Label, inv.CreatedBy, ms(inv.CreatedAt), ms(inv.ExpiresAt)); err != nil {
		return "", inv, fmt.Errorf("add invite: %w", err)
	}
	return code, inv, nil
}

// ListInvites lists a canteen's access codes (not the codes themselves),
// newest first.
func (s *Auth) ListInvites(ctx context.Context, canteenID string) ([]Invite, error) {
	out, err := store.All(ctx, s.r, scanInvite, `SELECT canteen_id, label, created_by, created_at, expires_at, used_by, used_at
		FROM invites WHERE canteen_id = $1 ORDER BY created_at DESC, expires_at DESC`, canteenID)
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	return out, nil
}

func scanInvite(row store.Row) (Invite, error) {
	var inv Invite
	var created, expires int64
	var usedBy sql.NullString
	var usedAt sql.NullInt64
	err := row.Scan(&inv.CanteenID, &inv.Label, &inv.CreatedBy, &created, &expires, &usedBy, &usedAt)
	inv.CreatedAt, inv.ExpiresAt, inv.UsedBy, inv.UsedAt = fromMs(created), fromMs(expires), usedBy.String, fromNullMs(usedAt)
	return inv, err
}

// CheckInvite is store.ErrBadInvite unless code is an unused, unexpired access
// code: a cheap lookup to run before hashing a password for RedeemInvite
// (which checks again, atomically).
func (s *Auth) CheckInvite(ctx context.Context, code string) error {
	norm, ok := normalizeInviteCode(code)
	if !ok {
		return store.ErrBadInvite
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM invites WHERE code_hash = $1 AND used_by IS NULL AND expires_at > $2`,
		store.HashSecret(norm), ms(time.Now())).Scan(&n); err != nil {
		return fmt.Errorf("check invite: %w", err)
	}
	if n == 0 {
		return store.ErrBadInvite
	}
	return nil
}

// RedeemInvite turns an access code into a parent's account, in one
// transaction: the code must exist, be unused and unexpired (else
// store.ErrBadInvite, whichever it is, found before the password is hashed); the user u is created with role parent,
// the code's canteen, InvitedBy the code's maker, and password; the code is
// marked used by u.ID. A bad field of u is an error wrapping store.ErrInvalid
// (checked first), a login taken is store.ErrExists (checked only for a good
// code, so that logins cannot be probed without one); the code then stays
// unused.
func (s *Auth) RedeemInvite(ctx context.Context, code string, u User, password string) (User, error) {
	// The rest is set here: role, canteen and inviter from the code.
	u.Role, u.Canteens, u.Districts, u.Disabled, u.InvitedBy = RoleParent, nil, nil, false, ""
	if err := u.checkLogin(); err != nil {
		return User{}, fmt.Errorf("redeem invite: %w: %w", store.ErrInvalid, err)
	}
	if err := checkPassword(password); err != nil {
		return User{}, fmt.Errorf("redeem invite: %w: %w", store.ErrInvalid, err)
	}
	norm, ok := normalizeInviteCode(code)
	if !ok {
		return User{}, fmt.Errorf("redeem invite: %w", store.ErrBadInvite)
	}
	// The code before the hash, so that a guess costs no hashing.
	if err := s.CheckInvite(ctx, code); err != nil {
		return User{}, fmt.Errorf("redeem invite: %w", err)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, fmt.Errorf("redeem invite: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	u.CreatedAt, u.UpdatedAt = now, now
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Claiming the code in one statement keeps two redeemers of it from
		// both succeeding (PostgreSQL re-checks the WHERE after a wait).
		var canteen, by string
		err := tx.QueryRowContext(ctx, `UPDATE invites SET used_by = $2, used_at = $3
			WHERE code_hash = $1 AND used_by IS NULL AND expires_at > $3 RETURNING canteen_id, created_by`,
			store.HashSecret(norm), u.ID, ms(now)).Scan(&canteen, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrBadInvite
		} else if err != nil {
			return err
		}
		u.Canteens, u.InvitedBy = []string{canteen}, by
		return insertUser(ctx, tx, u, hash)
	})
	if err != nil {
		return User{}, fmt.Errorf("redeem invite: %w", err)
	}
	return u, nil
}
