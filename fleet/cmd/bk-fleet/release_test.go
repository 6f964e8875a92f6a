package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs bk-fleet with args and returns the exit code and outputs.
func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestRelease: keygen, sign and verify as an operator runs them; a bundle
// verified against another key, or changed after signing, is refused.
func TestRelease(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "release")
	code, out, errOut := runCmd("release", "keygen", "--out", keys)
	if code != 0 || !strings.Contains(out, "trusted_keys: [\"") {
		t.Fatalf("keygen: %d %q %q", code, out, errOut)
	}
	if info, err := os.Stat(keys + ".key"); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", info, err)
	}
	if code, _, errOut := runCmd("release", "keygen", "--out", keys); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("keygen over existing keys: %d %q", code, errOut)
	}
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "plugins"), 0o755)
	os.WriteFile(filepath.Join(src, "bk-gateway"), []byte("gateway"), 0o755)
	os.WriteFile(filepath.Join(src, "plugins", "bk-plugin-motion"), []byte("motion"), 0o755)
	bundle := filepath.Join(dir, "bk-gateway-1.2.0-arm64.tar.gz")
	code, out, errOut = runCmd("release", "sign", "--key", keys+".key", "--dir", src, "--version", "1.2.0", "--arch", "arm64", "--gzip", "--out", bundle)
	if code != 0 || !strings.Contains(out, "bk-gateway 1.2.0 for arm64, 2 files") || !strings.Contains(out, "sha256 ") {
		t.Fatalf("sign: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCmd("release", "verify", "--pub", keys+".pub", bundle)
	if code != 0 || !strings.Contains(out, "ok: bk-gateway 1.2.0 for arm64") || !strings.Contains(out, "plugins/bk-plugin-motion") {
		t.Fatalf("verify: %d %q %q", code, out, errOut)
	}

	other := filepath.Join(dir, "other")
	runCmd("release", "keygen", "--out", other)
	if code, _, errOut := runCmd("release", "verify", "--pub", other+".pub", bundle); code != 1 || !strings.Contains(errOut, "not signed by a trusted key") {
		t.Fatalf("verify with another key: %d %q", code, errOut)
	}
	if code, _, _ := runCmd("release", "verify", "--pub", other+".pub,"+keys+".pub", bundle); code != 0 {
		t.Fatal("verify with two keys, one right, failed")
	}
	plain := filepath.Join(dir, "plain.tar")
	if code, _, errOut := runCmd("release", "sign", "--key", keys+".key", "--dir", src, "--version", "1.2.0", "--arch", "arm64", "--out", plain); code != 0 {
		t.Fatalf("sign plain: %q", errOut)
	}
	b, _ := os.ReadFile(plain)
	i := bytes.LastIndex(b, []byte("motion")) // the file, not its name in the manifest
	b[i] = 'M'
	os.WriteFile(plain, b, 0o644)
	if code, _, errOut := runCmd("release", "verify", "--pub", keys+".pub", plain); code != 1 || !strings.Contains(errOut, "has sha256") {
		t.Fatalf("verify corrupted: %d %q", code, errOut)
	}

	os.Chmod(keys+".key", 0o644)
	if code, _, errOut := runCmd("release", "sign", "--key", keys+".key", "--dir", src, "--version", "1.2.0", "--arch", "arm64", "--out", bundle); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("sign with a readable key: %d %q", code, errOut)
	}
	os.Chmod(keys+".key", 0o600)
	for _, bad := range [][]string{
		{"release"},
		{"release", "frob"},
		{"release", "sign", "--key", keys + ".key"},
		{"release", "verify", bundle},
	} {
		if code, _, _ := runCmd(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, _, errOut := runCmd("release", "sign", "--key", keys+".key", "--dir", src, "--version", "latest", "--arch", "arm64", "--out", bundle); code != 1 || !strings.Contains(errOut, "version") {
		t.Fatalf("sign a bad version: %d %q", code, errOut)
	}
}
