package enrol

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

type fixture struct {
	*Codes
	reg *registry.Registry
}

func open(t *testing.T, url string) fixture {
	t.Helper()
	db := storetest.Open(t, url)
	f := fixture{New(db), registry.New(db)}
	if _, err := f.reg.PutCanteen(ctx, registry.Canteen{ID: "canteen-a", Name: "A", Category: "school"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"K7QM-2XJD-94RT-HVNA":      "K7QM2XJD94RTHVNA",
		"k7qm 2xjd 94rt hvna":      "K7QM2XJD94RTHVNA",
		"OIL0-0000-0000-0000":      "0110000000000000",
		"K7QM2XJD94RTHVN":          "", // short
		"K7QM-2XJD-94RT-HVNAA":     "", // long
		"K7QM-2XJD-94RT-HVNU":      "", // U is not in the alphabet
		"K7QM-2XJD-94RT-HVN\u00c4": "",
		strings.Repeat(" ", 65):    "",
	} {
		got, ok := Normalize(in)
		if got != want || ok != (want != "") {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for range 50 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 19 || strings.Count(c, "-") != 3 {
			t.Fatalf("code %q: want XXXX-XXXX-XXXX-XXXX", c)
		}
		if _, ok := Normalize(c); !ok {
			t.Fatalf("a made code %q does not read back", c)
		}
	}
}

// TestCodeLifecycle: a code is made, exchanged once for a gateway with
// working MQTT credentials, and then refused; its record says who used it.
func TestCodeLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		f := open(t, url)
		code, c, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "user:op"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusValid || c.ExpiresAt.Sub(c.CreatedAt) != DefaultTTL {
			t.Errorf("created %+v", c)
		}
		e, err := f.Exchange(ctx, Exchange{Code: strings.ToLower(code), Name: "gw-kitchen", Hardware: `{"arch":"arm64"}`, From: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		if e.GatewayID != "gw-kitchen" || e.CanteenID != "canteen-a" || e.Username != "gw-kitchen" || len(e.Password) != 64 {
			t.Errorf("enrolment %+v", e)
		}
		if id, ok, err := f.reg.GatewayByCredentials(ctx, e.Username, e.Password); err != nil || !ok || id != "gw-kitchen" {
			t.Errorf("credentials: %q %v %v", id, ok, err)
		}
		g, err := f.reg.Gateway(ctx, "gw-kitchen")
		if err != nil || g.CanteenID != "canteen-a" {
			t.Errorf("gateway %+v %v", g, err)
		}
		_, err = f.Exchange(ctx, Exchange{Code: code, Name: "gw-other"})
		var r *Refusal
		if !errors.Is(err, ErrRefused) || !errors.As(err, &r) || r.Reason != StatusUsed || r.CodeID != c.ID || r.CanteenID != "canteen-a" {
			t.Errorf("reuse: %v (%+v)", err, r)
		}
		if err.Error() != ErrRefused.Error() {
			t.Errorf("the refusal says more than the generic message: %q", err)
		}
		if ok, _ := f.reg.GatewayExists(ctx, "gw-other"); ok {
			t.Error("a reused code created a gateway")
		}
		list, err := f.List(ctx, "canteen-a")
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if u := list[0]; u.Status != StatusUsed || u.GatewayID != "gw-kitchen" || u.UsedFrom != "192.0.2.7" || u.Hardware != `{"arch":"arm64"}` {
			t.Errorf("used code %+v", u)
		}
		if _, err := f.Revoke(ctx, "canteen-a", c.ID, "user:op"); !errors.Is(err, ErrUsed) {
			t.Errorf("revoke a used code: %v", err)
		}
	})
}

// TestRefusals: wrong, malformed, expired and revoked codes get the same
// error and create nothing; the reason is only in the Refusal.
func TestRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		f := open(t, url)
		base := time.Now()
		f.now = func() time.Time { return base }
		expiring, _, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "user:op", TTL: MinTTL})
		if err != nil {
			t.Fatal(err)
		}
		revoked, rc, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "user:op"})
		if err != nil {
			t.Fatal(err)
		}
		if x, err := f.Revoke(ctx, "canteen-a", rc.ID, "user:admin"); err != nil || x.Status != StatusRevoked || x.RevokedBy != "user:admin" {
			t.Fatalf("revoke: %+v %v", x, err)
		}
		if _, err := f.Revoke(ctx, "canteen-a", rc.ID, "user:admin"); err != nil {
			t.Errorf("revoke twice: %v", err)
		}
		if _, err := f.Revoke(ctx, "canteen-b", rc.ID, "user:admin"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke through another canteen: %v", err)
		}
		f.now = func() time.Time { return base.Add(MinTTL) }
		for _, c := range []struct{ code, reason string }{
			{"AAAA-BBBB-CCCC-DDDD", "unknown"},
			{"not a code", "malformed"},
			{expiring, StatusExpired},
			{revoked, StatusRevoked},
		} {
			_, err := f.Exchange(ctx, Exchange{Code: c.code})
			var r *Refusal
			if !errors.As(err, &r) || !errors.Is(err, ErrRefused) || r.Reason != c.reason || err.Error() != ErrRefused.Error() {
				t.Errorf("%s: %v (%+v)", c.reason, err, r)
			}
		}
		if gws, _ := f.reg.ListGateways(ctx); len(gws) != 0 {
			t.Errorf("refused codes created gateways: %v", gws)
		}
	})
}

// TestCreateChecks: bad lifetimes, names and canteens are refused, naming
// the field.
func TestCreateChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		f := open(t, url)
		if _, _, err := f.reg.AddGateway(ctx, "gw-taken", "canteen-a"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			n    NewCode
			want string
		}{
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", TTL: time.Minute}, "ttl"},
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", TTL: 8 * 24 * time.Hour}, "ttl"},
			{NewCode{CanteenID: "canteen-a"}, "created_by"},
			{NewCode{CanteenID: "nowhere", CreatedBy: "u"}, "canteen_id"},
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", GatewayName: "../x"}, "gateway name"},
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", GatewayName: "inline"}, "reserved"},
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", GatewayName: "bk-fleet-x"}, "reserved"},
			{NewCode{CanteenID: "canteen-a", CreatedBy: "u", GatewayName: "gw-taken"}, "already enrolled"},
		} {
			if _, _, err := f.Create(ctx, c.n); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want ErrInvalid naming %q", c.n, err, c.want)
			}
		}
	})
}

// TestNames: the code's name wins over the gateway's; a made-up name when
// neither has one; a name taken leaves the code unused for another try.
func TestNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		f := open(t, url)
		named, _, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "u", GatewayName: "gw-named"})
		if err != nil {
			t.Fatal(err)
		}
		if e, err := f.Exchange(ctx, Exchange{Code: named, Name: "gw-asked"}); err != nil || e.GatewayID != "gw-named" {
			t.Errorf("named code: %+v %v", e, err)
		}
		plain, _, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Exchange(ctx, Exchange{Code: plain, Name: "gw-named"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("a taken name: %v", err)
		}
		if _, err := f.Exchange(ctx, Exchange{Code: plain, Name: "bad/name"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a bad name: %v", err)
		}
		e, err := f.Exchange(ctx, Exchange{Code: plain})
		if err != nil || !strings.HasPrefix(e.GatewayID, "gw-") || len(e.GatewayID) != 11 {
			t.Errorf("made-up name: %+v %v", e, err)
		}
	})
}

// TestExchangeRace: many exchanges racing with one code: exactly one
// gateway is created, every other attempt is refused.
func TestExchangeRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		f := open(t, url)
		code, _, err := f.Create(ctx, NewCode{CanteenID: "canteen-a", CreatedBy: "u"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = f.Exchange(ctx, Exchange{Code: code, Name: "gw-race-" + string(rune('a'+i))})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrRefused):
				t.Errorf("exchange %d: %v", i, err)
			}
		}
		gws, err := f.reg.ListGateways(ctx)
		if won != 1 || err != nil || len(gws) != 1 {
			t.Errorf("%d exchanges won, %d gateways (%v); want exactly one", won, len(gws), err)
		}
	})
}
