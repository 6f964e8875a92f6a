package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

func TestTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		secret, tok, err := s.AddToken(ctx, Token{Role: RoleOperator, Canteens: []string{"c1", "c2"}, Label: "cook"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenBySecret(ctx, secret)
		if err != nil || got.ID != tok.ID || got.Role != RoleOperator || len(got.Canteens) != 2 || got.Canteens[1] != "c2" {
			t.Fatalf("TokenBySecret = %+v, %v", got, err)
		}
		if _, err := s.TokenBySecret(ctx, secret+"x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("wrong secret: %v", err)
		}
		old, _, err := s.AddToken(ctx, Token{Role: RoleAdmin, ExpiresAt: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenBySecret(ctx, old); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired token: %v", err)
		}
		for _, bad := range []Token{{Role: "root"}, {Role: RoleOperator}, {Role: RoleParent, Canteens: []string{"a b"}}} {
			if _, _, err := s.AddToken(ctx, bad); err == nil {
				t.Errorf("%+v accepted", bad)
			}
		}
		if err := s.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenBySecret(ctx, secret); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked token: %v", err)
		}
	})
}
