package rates

import (
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// TestCameraOnlineByCanteen: each canteen's camera online rate is the
// one Coverage gives for that canteen alone, cold and from kept days, and
// the canteens' rates add up to the city's.
func TestCameraOnlineByCanteen(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		newRollupCity(t, s)
		q := rollupQuery()
		for _, pass := range []string{"cold", "warm"} {
			got, err := s.CameraOnlineByCanteen(ctx, registry.CanteenFilter{}, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%s: %d canteens, want 3: %+v", pass, len(got), got)
			}
			var num, den int64
			for id, r := range got {
				rep := sameAsCompute(t, s, registry.CanteenFilter{Scope: registry.Scope{Canteens: []string{id}}}, q, id)
				want := rep.Total.CameraOnline
				// Coverage counts in its own unit; compare the rates.
				gr, gok := r.Rate()
				wr, wok := want.Rate()
				if gok != wok || (gok && (gr-wr > 1e-9 || wr-gr > 1e-9)) {
					t.Errorf("%s: %s: %+v (%v), want %+v (%v)", pass, id, r, gr, want, wr)
				}
				num, den = num+r.Num, den+r.Den
			}
			if den == 0 || num == 0 || num == den {
				t.Errorf("%s: degenerate fixture: %d of %d camera-seconds healthy", pass, num, den)
			}
		}
		// One page of canteens: only those.
		got, err := s.CameraOnlineByCanteen(ctx, registry.CanteenFilter{Scope: registry.Scope{Canteens: []string{"c1"}}}, q)
		if err != nil || len(got) != 1 {
			t.Errorf("c1 alone: %+v, %v", got, err)
		}
	})
}
