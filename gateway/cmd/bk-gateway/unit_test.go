package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const unitFile = "../../../scripts/packaging/bk-gateway.service"

// unitKeys reads a systemd unit file: each key's values by section
// ("Service.Type"), in order (a key may be given more than once).
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not KEY=VALUE in a section", path, n, line)
			}
			keys[section+"."+strings.TrimSpace(k)] = append(keys[section+"."+strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// The shipped unit runs the gateway as a notify service under systemd's
// watchdog (the gateway sends READY=1 and WATCHDOG=1: see
// internal/sdnotify and gateway/core/board.go), hardened.
func TestUnitFile(t *testing.T) {
	keys := unitKeys(t, unitFile)
	for k, want := range map[string]string{
		"Service.Type":                  "notify",
		"Service.NotifyAccess":          "main",
		"Service.WatchdogSec":           "30s",
		"Service.Restart":               "always",
		"Service.User":                  "bk-gateway",
		"Service.NoNewPrivileges":       "true",
		"Service.ProtectSystem":         "strict",
		"Service.ProtectHome":           "true",
		"Service.PrivateTmp":            "true",
		"Service.ReadWritePaths":        "/var/lib/brightkitchen /etc/brightkitchen",
		"Service.StateDirectory":        "brightkitchen",
		"Service.CapabilityBoundingSet": "",
		"Install.WantedBy":              "multi-user.target",
	} {
		if got := keys[k]; !slices.Equal(got, []string{want}) {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if es := keys["Service.ExecStart"]; len(es) != 1 || !strings.Contains(es[0], "bk-gateway launch --ota-dir /var/lib/brightkitchen/ota") || !strings.Contains(es[0], " run --config ") {
		t.Errorf("ExecStart = %q", es)
	}
}

// systemd-analyze verify accepts the unit, with its bk-gateway made to
// point at an executable that exists here.
func TestUnitFileVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd); TestUnitFile still checks the keys")
	}
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bk-gateway")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "bk-gateway.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/bin/bk-gateway", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "verify", "--man=no", unit)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// and it does complain about a broken unit, so the check above can fail
	bad := filepath.Join(dir, "bad.service")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), "Type=notify", "Type=notifyy", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.CommandContext(ctx, analyze, "verify", "--man=no", bad).CombinedOutput()
	if err == nil && !strings.Contains(string(out), "notifyy") {
		t.Errorf("systemd-analyze verify accepted Type=notifyy:\n%s", out)
	}
}
