package core

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/gateway/config"
)

// A New that fails returns the error, after stopping what it had started,
// instead of panicking in its own cleanup.
func TestNewFails(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("gateway: {id: gw-t}\nhttp: {listen: 'nonexistent.invalid:1'}\n"), func(k string) (string, bool) {
		if k == "BK_SPOOL_PATH" {
			return filepath.Join(dir, "spool.db"), true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), cfg, nil, nil)
	if err == nil || g != nil || !strings.Contains(err.Error(), "start status page") {
		t.Fatalf("New with a status page that cannot listen: %v, %v", g, err)
	}
	// the spool was closed: it opens again
	cfg.HTTP.Listen = ""
	g, err = New(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}
