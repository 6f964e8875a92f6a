package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestArm64UnderQemu cross-builds bk-gateway for linux/arm64 and runs it
// under qemu-aarch64-static (called explicitly, no binfmt here, no -L, under
// timeout): --version and check on the example config.
func TestArm64UnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatal("qemu-aarch64-static not found (scripts/deps.sh installs qemu-user-static)")
	}
	bin := filepath.Join(t.TempDir(), "bk-gateway-arm64")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross build: %v\n%s", err, out)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if ef.Machine != elf.EM_AARCH64 {
		t.Fatalf("built for %v, want aarch64", ef.Machine)
	}
	ef.Close()
	run := func(args ...string) string {
		cmd := exec.Command("timeout", append([]string{"120", qemu, bin}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("qemu %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if v := run("--version"); !strings.HasPrefix(v, "bk-gateway ") {
		t.Errorf("--version printed %q", v)
	}
	if c := run("check", "--config", "../../config/example.yaml"); !strings.Contains(c, "ok") {
		t.Errorf("check printed %q", c)
	}
}
