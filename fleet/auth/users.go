package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/auth/internal/hashcost"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"golang.org/x/crypto/argon2"
)

// User is a person who logs in: staff (admin, regulator, operator) or a
// parent. Only an argon2id hash of the password is stored.
type User struct {
	// ID is the login: 1-64 letters, digits, '.', '_' or '-'.
	ID string `json:"id"`
	// Name is the display name: at most 100 bytes of UTF-8.
	Name string `json:"name"`
	// Role is one of Roles.
	Role string `json:"role"`
	// Canteens bind an operator (at least one) and a parent (exactly one);
	// other roles have none.
	Canteens []string `json:"canteens,omitempty"`
	// Districts bind a regulator (at least one; "*" alone is the whole
	// city); other roles have none. No commas, at most 64 bytes each.
	Districts []string `json:"districts,omitempty"`
	// Disabled users cannot log in and have no sessions.
	Disabled bool `json:"disabled,omitempty"`
	// InvitedBy is the principal whose access code a parent redeemed,
	// or "join-link:<id>" for a parent who joined through a join link.
	InvitedBy string `json:"invited_by,omitempty"`
	// Class is a parent's class label, from the join link they joined
	// through ("3-2"); ≤ 100 bytes.
	Class     string    `json:"class,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MinPassword is the shortest password accepted, in characters.
const MinPassword = 8

const (
	// maxPassword bounds what is hashed, in bytes.
	maxPassword = 1024
	// maxName bounds display names and labels, in bytes.
	maxName = 100
	// maxDistrict bounds a district name, in bytes.
	maxDistrict = 64
	// sessionPrefix starts every session secret.
	sessionPrefix = "bks_"
)

// Argon2id parameters of new hashes: memory and passes are
// hashcost.OWASP's (19 MiB, 2 passes), with one lane. VerifyPassword reads
// them from each hash, so they can be raised without invalidating stored
// ones.
const (
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters VerifyPassword accepts, so that a corrupt hash
// cannot make it allocate without limit.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 100
)

// phc formats an argon2id hash in the PHC string format.
func phc(m, t uint32, p uint8, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// HashPassword hashes a password with argon2id and a random salt, in the
// PHC string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	c := hashcost.Get()
	key := argon2.IDKey([]byte(password), salt, c.Time, c.Memory, argonThreads, argonKeyLen)
	return phc(c.Memory, c.Time, argonThreads, salt, key), nil
}

// VerifyPassword reports whether password matches a hash made by
// HashPassword (with whatever parameters the hash names). A malformed hash
// is an error.
func VerifyPassword(hash, password string) (bool, error) {
	m, t, p, salt, key, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// parsePHC takes an argon2id PHC string apart.
func parsePHC(hash string) (m, t uint32, p uint8, salt, key []byte, err error) {
	bad := func(why string) error { return fmt.Errorf("password hash: %s", why) }
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" {
		return 0, 0, 0, nil, nil, bad(`want "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>"`)
	}
	if parts[1] != "argon2id" {
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("algorithm %q: want argon2id", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("version %q: want v=%d", parts[2], argon2.Version))
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("parameters %q: want m=…,t=…,p=…", parts[3]))
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if ok {
			vals[i], err = strconv.ParseUint(v, 10, 32)
		}
		if !ok || err != nil {
			return 0, 0, 0, nil, nil, bad(fmt.Sprintf("parameters %q: want m=…,t=…,p=…", parts[3]))
		}
	}
	switch {
	case vals[2] < 1 || vals[2] > 255:
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("p=%d: want 1 to 255", vals[2]))
	case vals[1] < 1 || vals[1] > maxArgonTime:
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("t=%d: want 1 to %d", vals[1], maxArgonTime))
	case vals[0] < 8*vals[2] || vals[0] > maxArgonMemory:
		return 0, 0, 0, nil, nil, bad(fmt.Sprintf("m=%d: want 8×p to %d KiB", vals[0], maxArgonMemory))
	}
	enc := base64.RawStdEncoding.Strict()
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return 0, 0, 0, nil, nil, bad("salt: want 8 to 64 bytes of unpadded base64")
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return 0, 0, 0, nil, nil, bad("hash: want 16 to 64 bytes of unpadded base64")
	}
	return uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), salt, key, nil
}

// dummyPasswordHash is verified against for an unknown login, so that
// CheckPassword takes as long as for a known one hashed at today's cost.
func dummyPasswordHash() string {
	c := hashcost.Get()
	return phc(c.Memory, c.Time, argonThreads, make([]byte, argonSaltLen), make([]byte, argonKeyLen))
}

// checkPassword refuses a password too short or too long.
func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPassword {
		return fmt.Errorf("password: want at least %d characters", MinPassword)
	}
	if len(password) > maxPassword {
		return fmt.Errorf("password: longer than %d bytes", maxPassword)
	}
	return nil
}

// checkText refuses a name or label that is too long, not UTF-8, or holds
// control characters.
func checkText(field, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%s: longer than %d bytes", field, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: not valid UTF-8", field)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%s: holds control characters", field)
	}
	return nil
}

// checkDistricts applies a role's rule on districts: a regulator has at
// least one ("*" alone is the whole city), other roles none.
func checkDistricts(role string, ds []string) error {
	if role != RoleRegulator {
		if len(ds) > 0 {
			return fmt.Errorf("districts: role %s has none", role)
		}
		return nil
	}
	if len(ds) == 0 {
		return errors.New(`districts: a regulator needs at least one ("*" for the whole city)`)
	}
	for i, d := range ds {
		switch {
		case d == "" || strings.TrimSpace(d) != d:
			return fmt.Errorf("districts[%d] %q: empty or padded with spaces", i, d)
		case strings.Contains(d, ","):
			return fmt.Errorf("districts[%d] %q: holds a comma", i, d)
		case d == "*" && len(ds) > 1:
			return fmt.Errorf(`districts[%d]: "*" (the whole city) stands alone`, i)
		case slices.Contains(ds[:i], d):
			return fmt.Errorf("districts[%d] %q: listed twice", i, d)
		}
		if err := checkText(fmt.Sprintf("districts[%d]", i), d, maxDistrict); err != nil {
			return err
		}
	}
	return nil
}

// checkCanteens applies a role's rule on canteens: an operator has at
// least one, a parent exactly one, other roles none.
func checkCanteens(role string, cs []string) error {
	switch {
	case role == RoleOperator && len(cs) == 0:
		return errors.New("canteens: an operator needs at least one")
	case role == RoleParent && len(cs) != 1:
		return fmt.Errorf("canteens: a parent has exactly one, not %d", len(cs))
	case role != RoleOperator && role != RoleParent && len(cs) > 0:
		return fmt.Errorf("canteens: role %s has none", role)
	}
	for i, c := range cs {
		if !wire.ValidID(c) {
			return fmt.Errorf("canteens[%d] %q: want 1-64 letters, digits, '.', '_' or '-'", i, c)
		}
		if slices.Contains(cs[:i], c) {
			return fmt.Errorf("canteens[%d] %q: listed twice", i, c)
		}
	}
	return nil
}

// checkLogin checks a user's id and name.
func (u User) checkLogin() error {
	if !wire.ValidID(u.ID) {
		return fmt.Errorf("id %q: want 1-64 letters, digits, '.', '_' or '-'", u.ID)
	}
	return checkText("name", u.Name, maxName)
}

// validate checks a user's fields, naming the first bad one.
func (u User) validate() error {
	if err := u.checkLogin(); err != nil {
		return err
	}
	if !slices.Contains(Roles, u.Role) {
		return fmt.Errorf("role %q: want one of %s", u.Role, strings.Join(Roles, ", "))
	}
	if err := checkCanteens(u.Role, u.Canteens); err != nil {
		return err
	}
	if err := checkDistricts(u.Role, u.Districts); err != nil {
		return err
	}
	if err := checkText("class", u.Class, maxName); err != nil {
		return err
	}
	return checkText("invited_by", u.InvitedBy, maxName)
}

// checkCanteensExist refuses a canteen that is not registered.
func checkCanteensExist(ctx context.Context, q store.RowQuerier, ids []string) error {
	for i, id := range ids {
		if err := registry.CheckCanteenExists(ctx, q, fmt.Sprintf("canteens[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// insertUser stores a validated user; store.ErrExists if the login is taken.
func insertUser(ctx context.Context, tx *sql.Tx, u User, hash string) error {
	if err := checkCanteensExist(ctx, tx, u.Canteens); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, role, canteens, districts, password_hash, disabled, invited_by, created_at, updated_at, class_label)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) ON CONFLICT (id) DO NOTHING`,
		u.ID, u.Name, u.Role, strings.Join(u.Canteens, ","), strings.Join(u.Districts, ","), hash, u.Disabled, u.InvitedBy, ms(u.CreatedAt), u.Class)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("user %q: %w", u.ID, store.ErrExists)
	}
	return nil
}

// AddUser stores a new user with a password and returns it as stored. A
// bad field is an error wrapping store.ErrInvalid that names it ("canteens: …"),
// as is a canteen that is not registered; store.ErrExists if the login is taken.
func (s *Auth) AddUser(ctx context.Context, u User, password string) (User, error) {
	if err := u.validate(); err != nil {
		return u, fmt.Errorf("add user: %w: %w", store.ErrInvalid, err)
	}
	if err := checkPassword(password); err != nil {
		return u, fmt.Errorf("add user: %w: %w", store.ErrInvalid, err)
	}
	hash, err := HashPassword(password) // before the transaction: it takes a while
	if err != nil {
		return u, fmt.Errorf("add user: %w", err)
	}
	u = u.tidy()
	u.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	u.UpdatedAt = u.CreatedAt
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return insertUser(ctx, tx, u, hash) }); err != nil {
		return u, fmt.Errorf("add user: %w", err)
	}
	return u, nil
}

// tidy makes empty lists nil, as they read back.
func (u User) tidy() User {
	if len(u.Canteens) == 0 {
		u.Canteens = nil
	}
	if len(u.Districts) == 0 {
		u.Districts = nil
	}
	return u
}

// userCols are the columns scanUser reads, of users aliased u.
const userCols = `u.id, u.name, u.role, u.canteens, u.districts, u.disabled, u.invited_by, u.created_at, u.updated_at, u.class_label`

// scanUser reads userCols and then any extra columns into extra.
func scanUser(sc store.Row, extra ...any) (User, error) {
	var u User
	var canteens, districts string
	var created, updated int64
	dest := append([]any{&u.ID, &u.Name, &u.Role, &canteens, &districts, &u.Disabled, &u.InvitedBy, &created, &updated, &u.Class}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return u, err
	}
	u.Canteens, u.Districts = splitList(canteens), splitList(districts)
	u.CreatedAt, u.UpdatedAt = fromMs(created), fromMs(updated)
	return u, nil
}

// splitList reads a comma-joined list; "" is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// User returns one user, or store.ErrNotFound.
func (s *Auth) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// UserFilter selects users; zero fields do not filter.
type UserFilter struct {
	Role string
	// CanteenID selects the users bound to that canteen.
	CanteenID string
}

// likeEscape escapes s for a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListUsers lists the users f selects, by id.
func (s *Auth) ListUsers(ctx context.Context, f UserFilter) ([]User, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (User, error) { return scanUser(row) }, `SELECT `+userCols+` FROM users u
		WHERE ($1 = '' OR u.role = $1) AND ($2 = '' OR ',' || u.canteens || ',' LIKE $3 ESCAPE '\')
		ORDER BY u.id`, f.Role, f.CanteenID, "%,"+likeEscape(f.CanteenID)+",%")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// updateUser runs an UPDATE of one user by id ($1) and, if endSessions,
// ends that user's sessions in the same transaction; store.ErrNotFound if there
// is no such user.
func (s *Auth) updateUser(ctx context.Context, id string, endSessions bool, query string, args ...any) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, append([]any{id}, args...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("user %q: %w", id, store.ErrNotFound)
		}
		if endSessions {
			_, err = tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, id)
		}
		return err
	})
}

// SetPassword replaces a user's password and ends the user's sessions.
// store.ErrInvalid for a password too short or too long; store.ErrNotFound.
func (s *Auth) SetPassword(ctx context.Context, id, password string) error {
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("set password: %w: %w", store.ErrInvalid, err)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := s.updateUser(ctx, id, true, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`,
		hash, ms(time.Now())); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SetUserDisabled disables or enables a user; disabling ends the user's
// sessions. store.ErrNotFound.
func (s *Auth) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	if err := s.updateUser(ctx, id, disabled, `UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1`,
		disabled, ms(time.Now())); err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}

// DeleteUser deletes a user and the user's sessions; store.ErrNotFound. Audit
// entries and the access codes the user made stay.
func (s *Auth) DeleteUser(ctx context.Context, id string) error {
	// The foreign key cascades to the sessions too; this does not rely on it.
	if err := s.updateUser(ctx, id, true, `DELETE FROM users WHERE id = $1`); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// CheckPassword returns the user for a login and password, or
// store.ErrBadCredentials for an unknown login, a wrong password or a disabled
// user. For an unknown login it still hashes the password once, so the
// time taken does not tell which logins exist.
func (s *Auth) CheckPassword(ctx context.Context, id, password string) (User, error) {
	var hash string
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.id = $1`, id), &hash)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && hash == "") {
		// Unknown, or a parent who joined through a join link and has
		// no password (device sessions only): hashed all the same.
		_, _ = VerifyPassword(dummyPasswordHash(), password)
		return User{}, store.ErrBadCredentials
	} else if err != nil {
		return User{}, fmt.Errorf("check password: %w", err)
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return User{}, fmt.Errorf("check password: user %q: %w", id, err)
	}
	if !ok || u.Disabled {
		return User{}, store.ErrBadCredentials
	}
	return u, nil
}
