package core

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
)

// TestPartialStart: when a component fails to start, New stops the ones
// it had started (the cameras' sources and reporters, the drop reporter,
// the live manager, the uplink) and closes the spool, so a second start on
// the same spool opens at once and no goroutine of the first one is left.
func TestPartialStart(t *testing.T) {
	cams := "cameras:\n  - {id: cam1, url: 'rtsp://127.0.0.1:1/a'}\n  - {id: cam2, url: 'rtsp://127.0.0.1:1/b'}\n"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, tc := range []struct {
		name string
		// breaks a valid config the way a start can fail past Validate
		breakIt func(t *testing.T, cfg *config.Config)
		want    string
	}{
		{"status page port taken", func(t *testing.T, cfg *config.Config) {
			cfg.HTTP.Listen = busy.Addr().String()
		}, "start status page: listen tcp " + busy.Addr().String()},
		{"broker CA file gone", func(t *testing.T, cfg *config.Config) {
			cfg.Broker.URL = "ssl://127.0.0.1:1"
			cfg.Broker.CAFile = filepath.Join(t.TempDir(), "gone.pem")
		}, "broker TLS: broker.ca_file"},
		{"uplink refuses its settings", func(t *testing.T, cfg *config.Config) {
			cfg.Gateway.ID = "not an id"
		}, `start uplink: uplink: gateway id "not an id" invalid`},
		{"spool path is a directory", func(t *testing.T, cfg *config.Config) {
			if err := os.Mkdir(cfg.Spool.Path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "open spool:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, cams)
			tc.breakIt(t, &cfg)
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			g, err := New(context.Background(), cfg, nil, nil)
			if err == nil {
				_ = g.Close()
				t.Fatalf("New started; want %q", tc.want)
			}
			if g != nil {
				t.Errorf("New returned a gateway with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %q, want %q", err, tc.want)
			}
			if fi, err := os.Stat(cfg.Spool.Path); err == nil && fi.IsDir() {
				return
			}
			// the spool was closed: bbolt's file lock is free again
			q, err := spool.Open(spool.Options{Path: cfg.Spool.Path})
			if err != nil {
				t.Fatalf("the spool is still held: %v", err)
			}
			_ = q.Close()
		})
	}
}
