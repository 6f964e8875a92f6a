package live

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func noStart(context.Context, string, Ticket) error { return nil }

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Start: noStart}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Linger != DefaultLinger || c.StartTimeout != DefaultStartTimeout || c.ViewerTTL != DefaultViewerTTL ||
		c.MaxViewersPerCamera != DefaultMaxViewersPerCamera || c.MaxViewersPerCanteen != DefaultMaxViewersPerCanteen ||
		c.Logger == nil {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "live.Config.Start"},
		{Config{Start: noStart, Linger: -time.Second}, "live.Config.Linger"},
		{Config{Start: noStart, ViewerTTL: -1}, "live.Config.ViewerTTL"},
		{Config{Start: noStart, UDPListen: "nonsense:port:x"}, "live.Config.UDPListen"},
		{Config{Start: noStart, PublicIPs: []string{"1.2.3.4", "not-an-ip"}}, "live.Config.PublicIPs[1]"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("New(%+v) error = %v, want it to start with %q", tc.cfg, err, tc.want)
		}
	}
}

func TestNewTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	r1, err := New(Config{Start: noStart, Registerer: reg, UDPListen: "127.0.0.1:0", Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if r1.UDPAddr() == nil {
		t.Fatal("no UDP address with UDPListen set")
	}
	if _, err := New(Config{Start: noStart, Registerer: reg}); err == nil {
		t.Fatal("a second relay registered the same metrics")
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	// Close unregisters: the registry is free again.
	r2, err := New(Config{Start: noStart, Registerer: reg, PublicIPs: []string{"203.0.113.7"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
