package decode_test

import (
	"context"
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/testbin"
)

// arm64Lib is where Debian's multiarch arm64 libraries are (libc6:arm64 and
// the FFmpeg libraries that scripts/deps.sh installs).
const arm64Lib = "/usr/lib/aarch64-linux-gnu"

// TestArm64DecodeUnderQemu cross-builds bk-decodecheck for linux/arm64 with
// cgo, the way make cross does (scripts/cross.sh), and builds it for the
// host too. It decodes committed H.264 and H.265 clips, every access unit,
// with both: the arm64 build under qemu-aarch64-static (called explicitly:
// no binfmt here, no -L, under timeout) through the arm64 dynamic loader.
// Both must print the same summary (frame count, size, mean luma, CRC of
// the pictures: libavcodec decodes bit-exactly), with a picture for every
// access unit of the clip, at the clip's size.
func TestArm64DecodeUnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatal("qemu-aarch64-static not found: run scripts/deps.sh (installs qemu-user-static)")
	}
	loader := filepath.Join(arm64Lib, "ld-linux-aarch64.so.1")
	if _, err := os.Stat(loader); err != nil {
		t.Fatalf("arm64 dynamic loader: %v: run scripts/deps.sh (installs the arm64 libraries)", err)
	}

	out := testbin.Dir(t, "decodecheck-cross")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// The host build runs while the cross build does: each is mostly
	// waiting for its linker.
	hostBin := filepath.Join(out, "host", "bk-decodecheck")
	host := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", hostBin, "../cmd/bk-decodecheck")
	host.Env = append(os.Environ(), "CGO_ENABLED=1")
	hostDone := make(chan error, 1)
	go func() {
		b, err := host.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, b)
		}
		hostDone <- err
	}()
	cross := exec.CommandContext(ctx, "bash", "../../scripts/cross.sh")
	cross.Env = append(os.Environ(),
		"CROSS_ARCHS=arm64",
		"CROSS_PKGS=./gateway/cmd/bk-decodecheck",
		"CROSS_OUT="+out,
	)
	b, crossErr := cross.CombinedOutput()
	if err := <-hostDone; err != nil {
		t.Fatalf("host build of bk-decodecheck: %v", err)
	}
	if crossErr != nil {
		t.Fatalf("scripts/cross.sh: %v\n%s", crossErr, b)
	}
	armBin := filepath.Join(out, "linux-arm64", "bk-decodecheck")
	checkArm64Cgo(t, armBin)

	for _, tc := range []struct{ scene, file string }{
		{"kitchen", "kitchen-g2.h264"},
		{"kitchen-h265", "kitchen-g2.h265"},
	} {
		t.Run(tc.scene, func(t *testing.T) {
			t.Parallel()
			c, err := camsim.Clip(tc.scene, 2)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("..", "..", "hw", "camsim", "clips", tc.file)

			got := summary(t, "arm64 (qemu)", "timeout", "120", qemu, loader, "--library-path", arm64Lib, armBin, "-all", file)
			want := summary(t, "host", "timeout", "60", hostBin, "-all", file)
			if !maps.Equal(got, want) {
				t.Errorf("%s: arm64 build printed %v, host build %v", file, got, want)
			}
			wantFrames, wantSize := fmt.Sprint(len(c.AccessUnits)), fmt.Sprintf("%dx%d", c.Width, c.Height)
			if got["codec"] != string(c.Codec) || got["frames"] != wantFrames || got["size"] != wantSize {
				t.Errorf("%s: arm64 build decoded %s frames %s of %s, want %s frames %s of %s",
					file, got["frames"], got["size"], got["codec"], wantFrames, wantSize, c.Codec)
			}
		})
	}
}

// checkArm64Cgo fails unless bin is an arm64 executable linked against
// libavcodec.
func checkArm64Cgo(t *testing.T, bin string) {
	t.Helper()
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_AARCH64 {
		t.Fatalf("%s: built for %v, want aarch64", bin, ef.Machine)
	}
	libs, err := ef.ImportedLibraries()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	if !slices.ContainsFunc(libs, func(l string) bool { return strings.HasPrefix(l, "libavcodec.so") }) {
		t.Fatalf("%s: imports %q, want libavcodec (a cgo build)", bin, libs)
	}
}

// summary runs bk-decodecheck (through name and args) and returns the
// key=value fields of the line it prints.
func summary(t *testing.T, what, name string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s bk-decodecheck: %v\n%s%s", what, err, b, stderr.String())
	}
	line := strings.TrimSpace(string(b))
	rest, ok := strings.CutPrefix(line, "bk-decodecheck ")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("%s bk-decodecheck printed %q, want one line \"bk-decodecheck key=value ...\"", what, b)
	}
	m := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("%s bk-decodecheck printed %q: field %q is not key=value", what, line, f)
		}
		m[k] = v
	}
	return m
}
