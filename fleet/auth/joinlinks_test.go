package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

func TestJoinToken(t *testing.T) {
	for _, c := range []struct {
		tok string
		ok  bool
	}{
		{JoinTokenPrefix + strings.Repeat("A", 32), true},
		{JoinTokenPrefix + strings.Repeat("a-_9", 8), true},
		{JoinTokenPrefix + strings.Repeat("A", 31), false},
		{JoinTokenPrefix + strings.Repeat("A", 33), false},
		{"bkx_" + strings.Repeat("A", 32), false},
		{JoinTokenPrefix + strings.Repeat("A", 31) + "=", false},
		{JoinTokenPrefix + strings.Repeat("A", 30) + "é", false}, // 32 bytes, not base64url
		{"", false},
	} {
		if got := WellFormedJoinToken(c.tok); got != c.ok {
			t.Errorf("WellFormedJoinToken(%q) = %v", c.tok, got)
		}
	}
}

func TestJoinLinks(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "school", Category: registry.CategorySchool}, registry.Canteen{ID: "other"})
		week := time.Now().Add(7 * 24 * time.Hour)
		for _, c := range []struct {
			l     JoinLink
			field string
		}{
			{JoinLink{CanteenID: "nope", Cap: 3, CreatedBy: "user:op", ExpiresAt: week}, `canteen_id "nope": no such canteen`},
			{JoinLink{CanteenID: "school", Cap: 0, CreatedBy: "user:op", ExpiresAt: week}, "cap 0"},
			{JoinLink{CanteenID: "school", Cap: MaxJoinCap + 1, CreatedBy: "user:op", ExpiresAt: week}, "cap 10001"},
			{JoinLink{CanteenID: "school", Cap: 3, CreatedBy: "user:op"}, "expires_at"},
			{JoinLink{CanteenID: "school", Cap: 3, CreatedBy: "user:op", ExpiresAt: time.Now().Add(-time.Second)}, "expires_at"},
			{JoinLink{CanteenID: "school", Cap: 3, ExpiresAt: week}, "created_by"},
			{JoinLink{CanteenID: "school", Cap: 3, CreatedBy: "user:op", ExpiresAt: week, Class: strings.Repeat("x", 101)}, "class"},
		} {
			_, _, err := s.AddJoinLink(ctx, c.l)
			wantErr(t, "AddJoinLink", err, store.ErrInvalid, c.field)
		}
		tok, l, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Class: " 3-2 ", Cap: 3, CreatedBy: "user:op", ExpiresAt: week})
		if err != nil {
			t.Fatal(err)
		}
		if !WellFormedJoinToken(tok) || l.ID == "" || l.Class != "3-2" || l.Used != 0 || !l.Usable(time.Now()) {
			t.Fatalf("AddJoinLink = %q, %+v", tok, l)
		}
		// Only the hash is stored.
		var n int
		if err := s.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM join_links WHERE token_hash = $1 OR id = $2 OR token_hash LIKE $3`,
			tok, tok, "%"+tok[len(JoinTokenPrefix):]+"%").Scan(&n); err != nil || n != 0 {
			t.Fatalf("token stored in clear: %d, %v", n, err)
		}
		if ok, err := s.TokenOpens(ctx, l.ID, tok); err != nil || !ok {
			t.Errorf("TokenOpens(right) = %v, %v", ok, err)
		}
		// One character changed: the last one, to something it is not
		// (a fixed "x" would equal it one time in 64).
		wrong := tok[:len(tok)-1] + "x"
		if strings.HasSuffix(tok, "x") {
			wrong = tok[:len(tok)-1] + "y"
		}
		if ok, err := s.TokenOpens(ctx, l.ID, wrong); err != nil || ok {
			t.Errorf("TokenOpens(wrong) = %v, %v", ok, err)
		}

		lim := JoinLimit{Max: 100, Window: time.Hour}
		var joined []string
		for i := range 3 {
			u, got, err := s.RedeemJoinLink(ctx, tok, fmt.Sprintf(" 家长 %d ", i), "10.0.0.1", lim)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.ID, "p-") || u.Name != fmt.Sprintf("家长 %d", i) || u.Role != RoleParent ||
				!slices.Equal(u.Canteens, []string{"school"}) || u.Class != "3-2" || u.InvitedBy != "join-link:"+l.ID || got.Used != i+1 {
				t.Fatalf("redemption %d = %+v, %+v", i, u, got)
			}
			stored, err := s.User(ctx, u.ID)
			if err != nil || stored.Class != "3-2" || stored.InvitedBy != u.InvitedBy {
				t.Fatalf("stored parent = %+v, %v", stored, err)
			}
			// No password: a password login is refused, whatever is typed.
			for _, pw := range []string{"", "anything at all"} {
				if _, err := s.CheckPassword(ctx, u.ID, pw); !errors.Is(err, store.ErrBadCredentials) {
					t.Errorf("CheckPassword(joined parent, %q): %v", pw, err)
				}
			}
			joined = append(joined, u.ID)
		}
		// The cap reached: refused, and nothing made.
		if _, _, err := s.RedeemJoinLink(ctx, tok, "第四位", "10.0.0.1", lim); !errors.Is(err, ErrBadJoinLink) {
			t.Errorf("4th redemption: %v", err)
		}
		if us, _ := s.ListUsers(ctx, UserFilter{Role: RoleParent, CanteenID: "school"}); len(us) != 3 {
			t.Errorf("parents after a refused 4th: %d", len(us))
		}
		// Bad names and tokens.
		tok2, l2, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Cap: 5, CreatedBy: "user:op", ExpiresAt: week})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"", "   ", strings.Repeat("名", 40), "a\x00b"} {
			if _, _, err := s.RedeemJoinLink(ctx, tok2, name, "10.0.0.1", lim); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("RedeemJoinLink(name %q): %v", name, err)
			}
		}
		for _, bad := range []string{"", "nope", tok2[:len(tok2)-1], tok2 + "A", strings.ToUpper(tok2)} {
			if bad == tok2 {
				continue
			}
			if _, _, err := s.RedeemJoinLink(ctx, bad, "x", "10.0.0.1", lim); !errors.Is(err, ErrBadJoinLink) {
				t.Errorf("RedeemJoinLink(%q): %v", bad, err)
			}
		}
		if got, _ := s.JoinLinkByID(ctx, l2.ID); got.Used != 0 {
			t.Errorf("refused redemptions counted: %+v", got)
		}
		// Revoked: refused; the parents who joined stay.
		if r, err := s.RevokeJoinLink(ctx, l2.ID, "user:op"); err != nil || r.RevokedAt.IsZero() || r.RevokedBy != "user:op" || r.Usable(time.Now()) {
			t.Fatalf("RevokeJoinLink = %+v, %v", r, err)
		}
		if _, _, err := s.RedeemJoinLink(ctx, tok2, "x", "10.0.0.1", lim); !errors.Is(err, ErrBadJoinLink) {
			t.Errorf("revoked link redeemed: %v", err)
		}
		if _, err := s.RevokeJoinLink(ctx, "jl_nope", "user:op"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RevokeJoinLink(unknown): %v", err)
		}
		for _, id := range joined {
			if _, err := s.User(ctx, id); err != nil {
				t.Errorf("parent %s gone: %v", id, err)
			}
		}
		// Expired: refused.
		tok3, l3, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Cap: 5, CreatedBy: "user:op", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write().ExecContext(ctx, `UPDATE join_links SET expires_at = $1 WHERE id = $2`, store.Ms(time.Now().Add(-time.Second)), l3.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RedeemJoinLink(ctx, tok3, "x", "10.0.0.1", lim); !errors.Is(err, ErrBadJoinLink) {
			t.Errorf("expired link redeemed: %v", err)
		}
		if got, err := s.JoinLinkByToken(ctx, tok3); err != nil || got.ID != l3.ID || got.Usable(time.Now()) {
			t.Errorf("JoinLinkByToken(expired) = %+v, %v", got, err)
		}
		if ls, err := s.ListJoinLinks(ctx, "school"); err != nil || len(ls) != 3 || ls[0].ID != l3.ID || ls[2].ID != l.ID || ls[2].Used != 3 {
			t.Errorf("ListJoinLinks = %+v, %v", ls, err)
		}
		if ls, err := s.ListJoinLinks(ctx, "other"); err != nil || len(ls) != 0 {
			t.Errorf("ListJoinLinks(other) = %+v, %v", ls, err)
		}

		// The address limit: 2 in the window from one address, others
		// unaffected; a refused one is not counted against the link.
		tok4, l4, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Cap: 10, CreatedBy: "user:op", ExpiresAt: week})
		if err != nil {
			t.Fatal(err)
		}
		two := JoinLimit{Max: 2, Window: time.Hour}
		for i := range 2 {
			if _, _, err := s.RedeemJoinLink(ctx, tok4, "x", "192.0.2.7", two); err != nil {
				t.Fatalf("join %d from one address: %v", i, err)
			}
		}
		if _, _, err := s.RedeemJoinLink(ctx, tok4, "x", "192.0.2.7", two); !errors.Is(err, ErrJoinLimit) {
			t.Errorf("3rd join from one address: %v", err)
		}
		if _, _, err := s.RedeemJoinLink(ctx, tok4, "x", "192.0.2.8", two); err != nil {
			t.Errorf("join from another address: %v", err)
		}
		if got, _ := s.JoinLinkByID(ctx, l4.ID); got.Used != 3 {
			t.Errorf("used after the limit = %d, want 3", got.Used)
		}
	})
}

// TestJoinLinkCapConcurrent races 16 redeemers for a link capped at 5
// on each backend: exactly 5 succeed, the others are refused as not
// valid, and 5 parents exist.
func TestJoinLinkCapConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "school", Category: registry.CategorySchool})
		tok, l, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Cap: 5, CreatedBy: "user:op", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, _, errs[i] = s.RedeemJoinLink(ctx, tok, fmt.Sprint("parent ", i), fmt.Sprint("10.0.1.", i), JoinLimit{Max: 5, Window: time.Hour})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrBadJoinLink):
			default:
				t.Errorf("redeemer %d: %v", i, err)
			}
		}
		if ok != 5 {
			t.Errorf("%d redemptions succeeded, want 5", ok)
		}
		if got, _ := s.JoinLinkByID(ctx, l.ID); got.Used != 5 {
			t.Errorf("used = %d, want 5", got.Used)
		}
		if us, _ := s.ListUsers(ctx, UserFilter{Role: RoleParent}); len(us) != 5 {
			t.Errorf("%d parents, want 5", len(us))
		}
	})
}

func TestDeviceSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "school", Category: registry.CategorySchool})
		tok, _, err := s.AddJoinLink(ctx, JoinLink{CanteenID: "school", Cap: 5, CreatedBy: "user:op", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := s.RedeemJoinLink(ctx, tok, "王妈妈", "10.0.0.1", JoinLimit{})
		if err != nil {
			t.Fatal(err)
		}
		ttl := 180 * 24 * time.Hour
		phone, exp, err := s.NewDeviceSession(ctx, u.ID, ttl,
			"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36 MicroMessenger/8.0")
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(exp); d < ttl-time.Minute || d > ttl {
			t.Errorf("expires in %v", d)
		}
		tablet, _, err := s.NewDeviceSession(ctx, u.ID, ttl, "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Safari/604.1")
		if err != nil {
			t.Fatal(err)
		}
		got, x, err := s.SessionOf(ctx, phone)
		if err != nil || got.ID != u.ID || x.Device != "Android · WeChat" || !x.Sliding || x.Key != SessionKey(phone) {
			t.Fatalf("SessionOf = %+v, %+v, %v", got, x, err)
		}
		// Touched only when an hour stale; then the expiry slides.
		if _, moved, err := s.TouchSession(ctx, x, time.Now()); err != nil || moved {
			t.Errorf("touch when fresh: %v, %v", moved, err)
		}
		later := time.Now().Add(30 * 24 * time.Hour)
		nexp, moved, err := s.TouchSession(ctx, x, later)
		if err != nil || !moved || nexp.Sub(later.Add(ttl)).Abs() > time.Second {
			t.Errorf("touch a month later = %v, %v, %v", nexp, moved, err)
		}
		if _, moved, _ := s.TouchSession(ctx, x, later); moved {
			t.Errorf("touched twice by a stale copy")
		}
		// A fixed session does not slide.
		fixed, _, err := s.NewSession(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, fx, _ := s.SessionOf(ctx, fixed)
		if _, moved, _ := s.TouchSession(ctx, fx, later); moved || fx.Sliding {
			t.Errorf("fixed session slid")
		}
		ss, err := s.ListSessions(ctx, u.ID)
		if err != nil || len(ss) != 3 || ss[0].Key != x.Key {
			t.Fatalf("ListSessions = %+v, %v", ss, err)
		}
		// Ending one leaves the others; another user's key is not found.
		if err := s.EndUserSession(ctx, u.ID, SessionKey(tablet)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionOf(ctx, tablet); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session: %v", err)
		}
		if err := s.EndUserSession(ctx, "someone-else", SessionKey(phone)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("EndUserSession(other user): %v", err)
		}
		keys, err := s.EndUserSessions(ctx, u.ID)
		if err != nil || len(keys) != 2 {
			t.Fatalf("EndUserSessions = %v, %v", keys, err)
		}
		if _, _, err := s.SessionOf(ctx, phone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("phone after ending all: %v", err)
		}
		// Disabled: no new session.
		if err := s.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.NewDeviceSession(ctx, u.ID, ttl, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("device session for a disabled parent: %v", err)
		}
	})
}

func TestDeviceLabel(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.40": "iPhone · WeChat",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0 Safari/537.36 Edg/130.0":             "Windows · Edge",
		"Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/130.0 Safari/537.36":                         "Linux · Headless Chrome",
		"curl/8.0":                    "curl/8.0",
		"":                            "",
		"a\x00b\nc":                   "abc",
		strings.Repeat("é", 80):       strings.Repeat("é", 50),
		strings.Repeat("x", 99) + "é": strings.Repeat("x", 99),
	} {
		if got := DeviceLabel(ua); got != want {
			t.Errorf("DeviceLabel(%q) = %q, want %q", ua, got, want)
		}
	}
}
