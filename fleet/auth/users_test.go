package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"
	"github.com/brightkitchen/brightkitchen/fleet/auth/internal/hashcost"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"golang.org/x/crypto/argon2"
)

// wantErr fails unless err wraps target and its message holds substr.
func wantErr(t *testing.T, what string, err, target error, substr string) {
	t.Helper()
	if !errors.Is(err, target) || !strings.Contains(err.Error(), substr) {
		t.Errorf("%s: err = %v; want %v naming %q", what, err, target, substr)
	}
}

func putCanteens(t *testing.T, s *testStore, cs ...registry.Canteen) {
	t.Helper()
	for _, c := range cs {
		if _, err := s.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
}

func addUser(t *testing.T, s *testStore, u User, password string) User {
	t.Helper()
	got, err := s.AddUser(ctx, u, password)
	if err != nil {
		t.Fatalf("AddUser(%+v): %v", u, err)
	}
	return got
}

func TestPasswordHash(t *testing.T) {
	// What a binary makes: TestMain lowered the cost for the other tests.
	hashcost.Set(hashcost.OWASP)
	defer authtest.CheapHashes()
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: not argon2id with the OWASP parameters", h)
	}
	if parts := strings.Split(h, "$"); len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("hash %q: want a 16-byte salt and a 32-byte key", h)
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("VerifyPassword(right) = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "correct horsE"); ok || err != nil {
		t.Fatalf("VerifyPassword(wrong) = %v, %v", ok, err)
	}
	if h2, _ := HashPassword("correct horse"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	// Parameters are read from the hash: other (here cheaper) ones verify.
	salt := []byte("0123456789abcdef")
	other := phc(64, 1, 2, salt, argon2.IDKey([]byte("pw"), salt, 1, 64, 2, 24))
	if ok, err := VerifyPassword(other, "pw"); !ok || err != nil {
		t.Fatalf("VerifyPassword(m=64,t=1,p=2) = %v, %v", ok, err)
	}

	b64 := base64.RawStdEncoding.EncodeToString
	salt16, key32 := b64(make([]byte, 16)), b64(make([]byte, 32))
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32
	if _, err := VerifyPassword(good, "x"); err != nil {
		t.Fatalf("well-formed hash refused: %v", err)
	}
	for _, bad := range []string{
		"",
		"password",
		"$argon2id$",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$m=19456,t=2,p=1$" + salt16 + "$" + key32,
		"argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32 + "$",
		"$argon2id$v=19$m=19456,t=2$" + salt16 + "$" + key32,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=256$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=7,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=99999999999,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=-1,t=2,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt16 + "$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + b64([]byte("short")) + "$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + b64(make([]byte, 8)),
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "==$" + key32,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32 + "!",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32 + "$extra",
	} {
		if ok, err := VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "c1", District: "xuhui"}, registry.Canteen{ID: "c2", District: "minhang"},
			registry.Canteen{ID: "cx1"}, registry.Canteen{ID: "c_1"})
		want := []User{
			{ID: "admin", Name: "Admin", Role: RoleAdmin},
			{ID: "reg.xu", Name: "Regulator", Role: RoleRegulator, Districts: []string{"xuhui", "徐汇"}},
			{ID: "reg-city", Role: RoleRegulator, Districts: []string{"*"}},
			{ID: "op_1", Name: "Cook", Role: RoleOperator, Canteens: []string{"c1", "c2"}},
			{ID: "op_x", Role: RoleOperator, Canteens: []string{"cx1"}},
			{ID: "li.wei", Name: "李伟", Role: RoleParent, Canteens: []string{"c1"}, InvitedBy: "user:op_1"},
		}
		before := time.Now().Add(-time.Second)
		for _, u := range want {
			got := addUser(t, s, u, "密码密码密码密码") // 8 characters
			if got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) {
				t.Fatalf("AddUser = %+v", got)
			}
		}
		for _, w := range want {
			got, err := s.User(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != w.Name || got.Role != w.Role || !slices.Equal(got.Canteens, w.Canteens) ||
				!slices.Equal(got.Districts, w.Districts) || got.InvitedBy != w.InvitedBy || got.Disabled || got.CreatedAt.IsZero() {
				t.Errorf("User(%s) = %+v; want %+v", w.ID, got, w)
			}
		}
		if _, err := s.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(nobody): %v", err)
		}
		_, err := s.AddUser(ctx, User{ID: "admin", Role: RoleAdmin}, "another password")
		wantErr(t, "a login taken", err, store.ErrExists, "admin")

		for _, c := range []struct {
			f    UserFilter
			want []string
		}{
			{UserFilter{}, []string{"admin", "li.wei", "op_1", "op_x", "reg-city", "reg.xu"}},
			{UserFilter{Role: RoleRegulator}, []string{"reg-city", "reg.xu"}},
			{UserFilter{CanteenID: "c1"}, []string{"li.wei", "op_1"}},
			{UserFilter{CanteenID: "c2"}, []string{"op_1"}},
			{UserFilter{CanteenID: "c_1"}, nil}, // '_' is no wildcard
			{UserFilter{CanteenID: "c"}, nil},
			{UserFilter{Role: RoleParent, CanteenID: "c1"}, []string{"li.wei"}},
		} {
			us, err := s.ListUsers(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range us {
				ids = append(ids, u.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("ListUsers(%+v) = %v; want %v", c.f, ids, c.want)
			}
		}

		if err := s.DeleteUser(ctx, "op_x"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.User(ctx, "op_x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted user: %v", err)
		}
		if err := s.DeleteUser(ctx, "op_x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteUser twice: %v", err)
		}
	})
}

func TestUserValidation(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "c1"}, registry.Canteen{ID: "c2"})
		const pw = "long enough"
		for _, c := range []struct {
			u     User
			pw    string
			field string
		}{
			{User{ID: "", Role: RoleAdmin}, pw, "id"},
			{User{ID: "has space", Role: RoleAdmin}, pw, "id"},
			{User{ID: strings.Repeat("a", 65), Role: RoleAdmin}, pw, "id"},
			{User{ID: "u", Name: strings.Repeat("李", 34), Role: RoleAdmin}, pw, "name"}, // 102 bytes
			{User{ID: "u", Name: "bad\xff", Role: RoleAdmin}, pw, "name"},
			{User{ID: "u", Name: "two\nlines", Role: RoleAdmin}, pw, "name"},
			{User{ID: "u", Role: "root"}, pw, "role"},
			{User{ID: "u"}, pw, "role"},
			{User{ID: "u", Role: RoleAdmin, Canteens: []string{"c1"}}, pw, "canteens"},
			{User{ID: "u", Role: RoleAdmin, Districts: []string{"xuhui"}}, pw, "districts"},
			{User{ID: "u", Role: RoleOperator}, pw, "canteens"},
			{User{ID: "u", Role: RoleOperator, Canteens: []string{"c1", "c1"}}, pw, "canteens[1]"},
			{User{ID: "u", Role: RoleOperator, Canteens: []string{"c 1"}}, pw, "canteens[0]"},
			{User{ID: "u", Role: RoleOperator, Canteens: []string{"c1", "nope"}}, pw, `canteens[1] "nope": no such canteen`},
			{User{ID: "u", Role: RoleOperator, Canteens: []string{"c1"}, Districts: []string{"x"}}, pw, "districts"},
			{User{ID: "u", Role: RoleParent}, pw, "canteens"},
			{User{ID: "u", Role: RoleParent, Canteens: []string{"c1", "c2"}}, pw, "canteens"},
			{User{ID: "u", Role: RoleParent, Canteens: []string{"nope"}}, pw, `canteens[0] "nope": no such canteen`},
			{User{ID: "u", Role: RoleRegulator}, pw, "districts"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{"*", "xuhui"}}, pw, "districts[0]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{"xuhui", "*"}}, pw, "districts[1]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{"a,b"}}, pw, "districts[0]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{""}}, pw, "districts[0]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{" xuhui"}}, pw, "districts[0]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{"x", "x"}}, pw, "districts[1]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{strings.Repeat("d", 65)}}, pw, "districts[0]"},
			{User{ID: "u", Role: RoleRegulator, Districts: []string{"x"}, Canteens: []string{"c1"}}, pw, "canteens"},
			{User{ID: "u", Role: RoleAdmin}, "1234567", "password"},
			{User{ID: "u", Role: RoleAdmin}, "", "password"},
			{User{ID: "u", Role: RoleAdmin}, strings.Repeat("p", 1025), "password"},
		} {
			_, err := s.AddUser(ctx, c.u, c.pw)
			wantErr(t, fmt.Sprintf("AddUser(%+v, %d-byte password)", c.u, len(c.pw)), err, store.ErrInvalid, c.field)
		}
		if us, err := s.ListUsers(ctx, UserFilter{}); err != nil || len(us) != 0 {
			t.Fatalf("stored after refusals: %+v, %v", us, err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addUser(t, s, User{ID: "li.wei", Name: "李伟", Role: RoleAdmin}, "first password")
		if u, err := s.CheckPassword(ctx, "li.wei", "first password"); err != nil || u.ID != "li.wei" || u.Name != "李伟" {
			t.Fatalf("CheckPassword(right) = %+v, %v", u, err)
		}
		for _, c := range []struct{ id, pw string }{
			{"nobody", "first password"},
			{"li.wei", "first passworD"},
			{"li.wei", ""},
			{"", ""},
		} {
			if _, err := s.CheckPassword(ctx, c.id, c.pw); !errors.Is(err, store.ErrBadCredentials) {
				t.Errorf("CheckPassword(%q, %q): %v; want store.ErrBadCredentials", c.id, c.pw, err)
			}
		}
		if err := s.SetUserDisabled(ctx, "li.wei", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "li.wei", "first password"); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("disabled user: %v", err)
		}
		if u, _ := s.User(ctx, "li.wei"); !u.Disabled {
			t.Errorf("User after disabling = %+v", u)
		}
		if err := s.SetUserDisabled(ctx, "li.wei", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "li.wei", "first password"); err != nil {
			t.Errorf("re-enabled user: %v", err)
		}
		if err := s.SetPassword(ctx, "li.wei", "second password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "li.wei", "first password"); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("old password after SetPassword: %v", err)
		}
		if _, err := s.CheckPassword(ctx, "li.wei", "second password"); err != nil {
			t.Errorf("new password: %v", err)
		}
		wantErr(t, "SetPassword(short)", s.SetPassword(ctx, "li.wei", "short"), store.ErrInvalid, "password")
		wantErr(t, "SetPassword(nobody)", s.SetPassword(ctx, "nobody", "long enough"), store.ErrNotFound, "nobody")
		wantErr(t, "SetUserDisabled(nobody)", s.SetUserDisabled(ctx, "nobody", true), store.ErrNotFound, "nobody")
	})
}

// sessionsOf counts a user's stored sessions.
func sessionsOf(t *testing.T, s *testStore, user string) int {
	t.Helper()
	var n int
	if err := s.Write().QueryRowContext(ctx, `SELECT COUNT(*) FROM user_sessions WHERE user_id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newSession(t *testing.T, s *testStore, user string, ttl time.Duration) string {
	t.Helper()
	secret, _, err := s.NewSession(ctx, user, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "c1"})
		addUser(t, s, User{ID: "op", Role: RoleOperator, Canteens: []string{"c1"}}, "op password")
		addUser(t, s, User{ID: "parent", Role: RoleParent, Canteens: []string{"c1"}}, "parent password")

		secret, expires, err := s.NewSession(ctx, "op", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "bks_") || len(secret) != 4+43 {
			t.Fatalf("secret %q: want bks_ and 32 bytes of base64url", secret)
		}
		if d := time.Until(expires); d < 59*time.Minute || d > time.Hour {
			t.Fatalf("expires in %v; want an hour", d)
		}
		if u, err := s.SessionUser(ctx, secret); err != nil || u.ID != "op" || !slices.Equal(u.Canteens, []string{"c1"}) {
			t.Fatalf("SessionUser = %+v, %v", u, err)
		}
		var stored int
		if err := s.Write().QueryRowContext(ctx, `SELECT COUNT(*) FROM user_sessions WHERE id_hash = $1`, secret).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the secret itself is stored (%d, %v)", stored, err)
		}
		for _, bad := range []string{"", "bks_", secret + "x", strings.TrimPrefix(secret, "bks_"), "bk_" + secret[4:]} {
			if _, err := s.SessionUser(ctx, bad); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SessionUser(%q): %v", bad, err)
			}
		}
		wantErr(t, "NewSession(nobody)", func() error { _, _, err := s.NewSession(ctx, "nobody", time.Hour); return err }(), store.ErrNotFound, "nobody")
		wantErr(t, "NewSession(ttl 0)", func() error { _, _, err := s.NewSession(ctx, "op", 0); return err }(), store.ErrInvalid, "ttl")

		// Expiry.
		short := newSession(t, s, "parent", time.Hour)
		if _, err := s.SessionUser(ctx, short); err != nil {
			t.Fatalf("a new session: %v", err)
		}
		// expired a minute ago, without waiting for the clock
		if _, err := s.Write().ExecContext(ctx, `UPDATE user_sessions SET expires_at = $1 WHERE user_id = 'parent'`, store.Ms(time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, short); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired session: %v, want ErrNotFound", err)
		}
		long := newSession(t, s, "parent", time.Hour)
		if n, err := s.PruneSessions(ctx, time.Now()); err != nil || n != 1 {
			t.Fatalf("PruneSessions(now) = %d, %v; want 1", n, err)
		}
		if _, err := s.SessionUser(ctx, long); err != nil {
			t.Fatalf("PruneSessions deleted a live session: %v", err)
		}
		if n, err := s.PruneSessions(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 2 {
			t.Fatalf("PruneSessions(+2h) = %d, %v; want 2", n, err)
		}

		// Logout, twice.
		secret = newSession(t, s, "op", time.Hour)
		for range 2 {
			if err := s.EndSession(ctx, secret); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SessionUser(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session: %v", err)
		}

		// Disabling ends the sessions and refuses new ones.
		secret = newSession(t, s, "op", time.Hour)
		if err := s.SetUserDisabled(ctx, "op", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of a disabled user: %v", err)
		}
		if _, _, err := s.NewSession(ctx, "op", time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("NewSession(disabled): %v", err)
		}
		if err := s.SetUserDisabled(ctx, "op", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a session survived disabling: %v", err)
		}
		// A session of a user disabled behind the store's back is refused
		// too.
		secret = newSession(t, s, "op", time.Hour)
		if _, err := s.Write().ExecContext(ctx, `UPDATE users SET disabled = TRUE WHERE id = 'op'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of a disabled user: %v", err)
		}
		if err := s.SetUserDisabled(ctx, "op", false); err != nil {
			t.Fatal(err)
		}

		// A new password ends the sessions.
		secret = newSession(t, s, "op", time.Hour)
		other := newSession(t, s, "parent", time.Hour)
		if err := s.SetPassword(ctx, "op", "new op password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session after SetPassword: %v", err)
		}
		if _, err := s.SessionUser(ctx, other); err != nil {
			t.Errorf("another user's session ended by SetPassword: %v", err)
		}

		// Deleting the user deletes the sessions.
		newSession(t, s, "parent", time.Hour)
		if err := s.DeleteUser(ctx, "parent"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, other); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of a deleted user: %v", err)
		}
		if n := sessionsOf(t, s, "parent"); n != 0 {
			t.Errorf("%d sessions left of a deleted user", n)
		}
	})
}

// The foreign key cascades on its own as well (SQLite opens with
// foreign_keys on).
func TestSessionsCascade(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addUser(t, s, User{ID: "a", Role: RoleAdmin}, "admin password")
		newSession(t, s, "a", time.Hour)
		if _, err := s.Write().ExecContext(ctx, `DELETE FROM users WHERE id = 'a'`); err != nil {
			t.Fatal(err)
		}
		if n := sessionsOf(t, s, "a"); n != 0 {
			t.Errorf("%d sessions left of a deleted user", n)
		}
	})
}

func TestTokenDistricts(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		secret, _, err := s.AddToken(ctx, Token{Role: RoleRegulator, Districts: []string{"xuhui", "minhang"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.TokenBySecret(ctx, secret); err != nil || !slices.Equal(got.Districts, []string{"xuhui", "minhang"}) {
			t.Fatalf("TokenBySecret = %+v, %v", got, err)
		}
		city, _, err := s.AddToken(ctx, Token{Role: RoleRegulator, Districts: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.TokenBySecret(ctx, city); err != nil || !slices.Equal(got.Districts, []string{"*"}) {
			t.Fatalf("TokenBySecret = %+v, %v", got, err)
		}
		admin, _, err := s.AddToken(ctx, Token{Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.TokenBySecret(ctx, admin); err != nil || got.Districts != nil {
			t.Fatalf("TokenBySecret = %+v, %v", got, err)
		}
		for _, bad := range []Token{
			{Role: RoleRegulator},
			{Role: RoleRegulator, Districts: []string{"*", "xuhui"}},
			{Role: RoleRegulator, Districts: []string{"a,b"}},
			{Role: RoleOperator, Canteens: []string{"c1"}, Districts: []string{"xuhui"}},
		} {
			_, _, err := s.AddToken(ctx, bad)
			wantErr(t, fmt.Sprintf("AddToken(%+v)", bad), err, store.ErrInvalid, "districts")
		}
	})
}
