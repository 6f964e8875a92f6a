package store

import (
	"errors"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
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
		if _, err := s.TokenBySecret(ctx, secret+"x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("wrong secret: %v", err)
		}
		old, _, err := s.AddToken(ctx, Token{Role: RoleAdmin, ExpiresAt: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenBySecret(ctx, old); !errors.Is(err, ErrNotFound) {
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
		if _, err := s.TokenBySecret(ctx, secret); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token: %v", err)
		}
	})
}

func TestCameraHome(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		if _, _, err := s.AddGateway(ctx, "gw-a", "canteen-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CameraHome(ctx, "cam-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown camera: %v", err)
		}
		hb := wire.Heartbeat{V: 1, At: time.Now(), Cameras: []wire.CameraHealth{{CameraID: "cam-1", Online: true, Area: "cooking", Public: true}}}
		if err := s.Heartbeat(ctx, "gw-a", hb, time.Now()); err != nil {
			t.Fatal(err)
		}
		h, err := s.CameraHome(ctx, "cam-1")
		if err != nil || h.GatewayID != "gw-a" || h.CanteenID != "canteen-1" || h.Area != "cooking" || !h.Public {
			t.Fatalf("CameraHome = %+v, %v", h, err)
		}
	})
}
