package main

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// arm64Lib is where Debian's multiarch arm64 libraries are (libc6:arm64 and
// the FFmpeg libraries that scripts/deps.sh installs).
const arm64Lib = "/usr/lib/aarch64-linux-gnu"

// TestArm64UnderQemu cross-builds bk-gateway for linux/arm64 with cgo, the
// way make cross does (scripts/cross.sh, with a version stamped through
// LDFLAGS), and runs it under qemu-aarch64-static (called explicitly: no
// binfmt here, no -L, under timeout) through the arm64 dynamic loader:
// --version and check on the example config.
func TestArm64UnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatal("qemu-aarch64-static not found: run scripts/deps.sh (installs qemu-user-static)")
	}
	loader := filepath.Join(arm64Lib, "ld-linux-aarch64.so.1")
	if _, err := os.Stat(loader); err != nil {
		t.Fatalf("arm64 dynamic loader: %v: run scripts/deps.sh (installs the arm64 libraries)", err)
	}

	const stamp = "v0.0.0-crosstest"
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "bash", "../../../scripts/cross.sh")
	build.Env = append(os.Environ(),
		"CROSS_ARCHS=arm64",
		"CROSS_PKGS=./gateway/cmd/bk-gateway",
		"CROSS_OUT="+out,
		"LDFLAGS=-s -w -X github.com/brightkitchen/brightkitchen/internal/version.Version="+stamp,
	)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/cross.sh: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "linux-arm64", "bk-gateway")

	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_AARCH64 {
		t.Fatalf("built for %v, want aarch64", ef.Machine)
	}
	libs, err := ef.ImportedLibraries()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	if !slices.Contains(libs, "libc.so.6") {
		t.Fatalf("not a cgo build: imports %q, want libc.so.6", libs)
	}

	run := func(args ...string) string {
		cmd := exec.Command("timeout", append([]string{"120", qemu, loader, "--library-path", arm64Lib, bin}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("qemu bk-gateway %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	if v, want := run("--version"), "bk-gateway "+stamp+"\n"; v != want {
		t.Errorf("--version printed %q, want %q", v, want)
	}
	if c := run("check", "--config", "../../config/example.yaml"); !strings.Contains(c, "ok") {
		t.Errorf("check printed %q", c)
	}
}
