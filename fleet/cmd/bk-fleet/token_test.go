package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
)

// TestTokenCommands: a token expires in 90 days unless --ttl never asks
// otherwise; token list shows it; token revoke makes it stop working.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	cmd := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		args = append(append(args[:2:2], "--data", dir), args[2:]...) // flags before ids
		code := run(args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := cmd("token", "add", "--role", "admin", "--json")
	if code != 0 {
		t.Fatalf("token add: %d %s", code, out)
	}
	secret := between(out, `"token":"`, `"`)
	id := between(out, `"id":"`, `"`)
	if code, out := cmd("token", "add", "--role", "admin", "--ttl", "never", "--label", "forever"); code != 0 || !strings.Contains(out, "never expires") {
		t.Fatalf("token add --ttl never: %d %s", code, out)
	}
	if code, out := cmd("token", "add", "--role", "admin", "--ttl", "soon"); code != 2 || !strings.Contains(out, "--ttl") {
		t.Fatalf("token add --ttl soon: %d %s", code, out)
	}
	st, err := dbtest.Open(context.Background(), filepath.Join(dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.TokenBySecret(context.Background(), secret)
	st.Close()
	if err != nil || tok.ExpiresAt.IsZero() || time.Until(tok.ExpiresAt) < 89*24*time.Hour || time.Until(tok.ExpiresAt) > 91*24*time.Hour {
		t.Fatalf("default token: %+v, %v; want it to expire in 90 days", tok, err)
	}
	if code, out := cmd("token", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "never") {
		t.Fatalf("token list: %d %s", code, out)
	}
	if code, out := cmd("token", "revoke", id); code != 0 {
		t.Fatalf("token revoke: %d %s", code, out)
	}
	if code, out := cmd("token", "revoke", id); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("revoke again: %d %s", code, out)
	}
	st, err = dbtest.Open(context.Background(), filepath.Join(dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TokenBySecret(context.Background(), secret); err == nil {
		t.Fatal("a revoked token still works")
	}
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}
