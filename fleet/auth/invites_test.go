package auth

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

var inviteCodeRe = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

func TestInviteCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		code, err := newInviteCode()
		if err != nil {
			t.Fatal(err)
		}
		if !inviteCodeRe.MatchString(code) || seen[code] {
			t.Fatalf("code %q: malformed or repeated", code)
		}
		seen[code] = true
		if norm, ok := normalizeInviteCode(code); !ok || norm != strings.ReplaceAll(code, "-", "") {
			t.Fatalf("normalize(%q) = %q, %v", code, norm, ok)
		}
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ABCDE-FGHJK", "ABCDEFGHJK", true},
		{"abcde-fghjk", "ABCDEFGHJK", true},
		{" abcde fghjk ", "ABCDEFGHJK", true},
		{"ab-cd-ef-gh-jk", "ABCDEFGHJK", true},
		{"ABCDE\tFGHJK", "ABCDEFGHJK", true},
		{"oOiIlL-01234", "001111" + "01234", false}, // 11 characters
		{"oiL23-45678", "01123" + "45678", true},    // Crockford's look-alikes
		{"ABCDE-FGHJ", "", false},
		{"ABCDE-FGHJKM", "", false},
		{"ABCDE-FGHJU", "", false}, // no U
		{"ABCDE_FGHJK", "", false},
		{"ÄBCDE-FGHJK", "", false},
		{"", "", false},
		{strings.Repeat("A", 1000), "", false},
	} {
		got, ok := normalizeInviteCode(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("normalizeInviteCode(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func addInvite(t *testing.T, s *testStore, inv Invite) string {
	t.Helper()
	code, _, err := s.AddInvite(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestInvites(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		putCanteens(t, s, registry.Canteen{ID: "school", Category: registry.CategorySchool}, registry.Canteen{ID: "other"})
		week := time.Now().Add(7 * 24 * time.Hour)
		code, inv, err := s.AddInvite(ctx, Invite{CanteenID: "school", Label: "Class 3-2 parents", CreatedBy: "user:op", ExpiresAt: week})
		if err != nil {
			t.Fatal(err)
		}
		if !inviteCodeRe.MatchString(code) || inv.CreatedAt.IsZero() || !inv.ExpiresAt.Equal(week.UTC().Truncate(time.Millisecond)) || inv.UsedBy != "" {
			t.Fatalf("AddInvite = %q, %+v", code, inv)
		}
		for _, c := range []struct {
			inv   Invite
			field string
		}{
			{Invite{CanteenID: "nope", CreatedBy: "user:op", ExpiresAt: week}, `canteen_id "nope": no such canteen`},
			{Invite{CanteenID: "school", CreatedBy: "user:op"}, "expires_at"},
			{Invite{CanteenID: "school", CreatedBy: "user:op", ExpiresAt: time.Now().Add(-time.Second)}, "expires_at"},
			{Invite{CanteenID: "school", ExpiresAt: week}, "created_by"},
			{Invite{CanteenID: "school", CreatedBy: "user:op", ExpiresAt: week, Label: strings.Repeat("x", 101)}, "label"},
		} {
			_, _, err := s.AddInvite(ctx, c.inv)
			wantErr(t, "AddInvite", err, store.ErrInvalid, c.field)
		}

		// Redeemed as typed: lower case, spaces for the dash.
		typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
		u, err := s.RedeemInvite(ctx, typed, User{ID: "li.wei", Name: "李伟", Role: RoleAdmin, Canteens: []string{"other"},
			Districts: []string{"x"}, InvitedBy: "me", Disabled: true}, "parent password")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != "li.wei" || u.Role != RoleParent || !slices.Equal(u.Canteens, []string{"school"}) || u.InvitedBy != "user:op" ||
			u.Districts != nil || u.Disabled || u.CreatedAt.IsZero() {
			t.Fatalf("RedeemInvite = %+v", u)
		}
		if got, err := s.CheckPassword(ctx, "li.wei", "parent password"); err != nil || got.Role != RoleParent {
			t.Fatalf("CheckPassword after redeeming = %+v, %v", got, err)
		}
		// Used: refused, however it is typed.
		for _, again := range []string{code, typed, strings.ReplaceAll(code, "-", "")} {
			if _, err := s.RedeemInvite(ctx, again, User{ID: "li.na"}, "parent password"); !errors.Is(err, store.ErrBadInvite) {
				t.Errorf("RedeemInvite(used %q): %v", again, err)
			}
		}
		invs, err := s.ListInvites(ctx, "school")
		if err != nil || len(invs) != 1 || invs[0].UsedBy != "li.wei" || invs[0].UsedAt.IsZero() || invs[0].Label != "Class 3-2 parents" ||
			invs[0].CreatedBy != "user:op" {
			t.Fatalf("ListInvites = %+v, %v", invs, err)
		}

		// Unknown and malformed codes.
		for _, bad := range []string{"", "x", "00000-00000", strings.Repeat("Z", 10)} {
			if _, err := s.RedeemInvite(ctx, bad, User{ID: "li.na"}, "parent password"); !errors.Is(err, store.ErrBadInvite) {
				t.Errorf("RedeemInvite(%q): %v", bad, err)
			}
		}

		// Expired.
		old := addInvite(t, s, Invite{CanteenID: "school", Label: "old", CreatedBy: "user:op", ExpiresAt: week})
		if _, err := s.Write().ExecContext(ctx, `UPDATE invites SET expires_at = $1 WHERE label = 'old'`, store.Ms(time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemInvite(ctx, old, User{ID: "li.na"}, "parent password"); !errors.Is(err, store.ErrBadInvite) {
			t.Errorf("RedeemInvite(expired): %v", err)
		}

		// A refused user leaves the code unused.
		fresh := addInvite(t, s, Invite{CanteenID: "school", Label: "fresh", CreatedBy: "user:op2", ExpiresAt: week})
		// a later created_at than "old", without waiting for the clock
		if _, err := s.Write().ExecContext(ctx, `UPDATE invites SET created_at = created_at + 60000 WHERE label = 'fresh'`); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			u      User
			pw     string
			target error
			field  string
		}{
			{User{ID: "bad id"}, "parent password", store.ErrInvalid, "id"},
			{User{ID: "li.na", Name: "x\x00"}, "parent password", store.ErrInvalid, "name"},
			{User{ID: "li.na"}, "short", store.ErrInvalid, "password"},
			{User{ID: "li.wei"}, "parent password", store.ErrExists, "li.wei"},
		} {
			_, err := s.RedeemInvite(ctx, fresh, c.u, c.pw)
			wantErr(t, "RedeemInvite", err, c.target, c.field)
		}
		invs, err = s.ListInvites(ctx, "school")
		if err != nil || len(invs) != 3 || invs[0].Label != "fresh" || invs[0].UsedBy != "" || invs[1].Label != "old" {
			t.Fatalf("ListInvites = %+v, %v", invs, err)
		}
		if u, err := s.RedeemInvite(ctx, fresh, User{ID: "li.na"}, "parent password"); err != nil || u.InvitedBy != "user:op2" {
			t.Fatalf("RedeemInvite after refusals = %+v, %v", u, err)
		}
		if invs, err := s.ListInvites(ctx, "other"); err != nil || len(invs) != 0 {
			t.Fatalf("ListInvites(other) = %+v, %v", invs, err)
		}
	})
}
