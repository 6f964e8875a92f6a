package onnx

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/testbin"
	"github.com/brightkitchen/brightkitchen/plugins/onnx/onnxtest"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
	"github.com/brightkitchen/brightkitchen/plugins/sdk/sdktest"
)

// TestPluginConformance runs bk-plugin-onnx with the tiny model through
// the SDK's conformance kit.
func TestPluginConformance(t *testing.T) {
	lib := testLib(t)
	model := tinyModel(t, t.TempDir(), FormatYOLOv8)
	bin := sdktest.Build(t, "./cmd/bk-plugin-onnx")
	sdktest.Run(t, bin, sdktest.Config{Options: sdk.Options{
		Env: []string{"BK_ONNX_MODEL=" + model, LibEnv + "=" + lib, "BK_ONNX_THREADS=1"},
	}})
}

// TestPluginBadModel: a plugin whose model does not fit its manifest
// starts, and says why in Describe's error, which the gateway shows as the
// plugin's last_error.
func TestPluginBadModel(t *testing.T) {
	lib := testLib(t)
	dir := t.TempDir()
	model := tinyModel(t, dir, FormatYOLOv5)
	write(t, model, []byte("not a model"))
	bin := sdktest.Build(t, "./cmd/bk-plugin-onnx")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sdk.Launch(ctx, bin, sdk.Options{Env: []string{"BK_ONNX_MODEL=" + model, LibEnv + "=" + lib}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Describe(ctx); err == nil || !strings.Contains(err.Error(), "tiny.onnx") {
		t.Fatalf("describe: %v", err)
	}
	if err := conn.Ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// TestArm64UnderQemu cross-builds bk-plugin-onnx for linux/arm64 (cgo, the
// binding dlopens the runtime) and runs it under qemu-aarch64-static with
// the arm64 libonnxruntime.so.1 on one frame and the tiny graph (emulated
// ONNX Runtime is slow): it must print the same detections as the amd64
// build does natively.
func TestArm64UnderQemu(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("cross test runs on amd64")
	}
	testLib(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	arm64ORT := filepath.Join(root, "third_party", "onnxruntime", "linux-arm64", "libonnxruntime.so.1")
	const arm64Lib = "/usr/lib/aarch64-linux-gnu"
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatal("qemu-aarch64-static not found: run scripts/deps.sh")
	}
	loader := filepath.Join(arm64Lib, "ld-linux-aarch64.so.1")
	for _, p := range []string{loader, arm64ORT} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: run scripts/deps.sh", err)
		}
	}

	dir := t.TempDir()
	model := tinyModel(t, dir, FormatYOLOv5)
	frame := filepath.Join(dir, "frame.rgb")
	write(t, frame, sdktest.TestFrame("x", sdk.FormatRGB24, 64, 32, 0).Data)

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute) // a cold cgo arm64 build takes minutes here
	defer cancel()
	out := testbin.Dir(t, "plugin-onnx-cross")
	bin := map[string]string{"amd64": filepath.Join(out, "amd64"), "arm64": filepath.Join(out, "arm64")}
	// Both builds at once: each is mostly waiting for its (external) linker.
	built := make(chan error, len(bin))
	for arch, out := range bin {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/bk-plugin-onnx")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=1")
		if arch == "arm64" {
			cmd.Env = append(cmd.Env, "CC=aarch64-linux-gnu-gcc")
		}
		go func() {
			b, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("build %s: %w\n%s", arch, err, b)
			}
			built <- err
		}()
	}
	for range bin {
		if err := <-built; err != nil {
			t.Fatal(err)
		}
	}
	ef, err := elf.Open(bin["arm64"])
	if err != nil {
		t.Fatal(err)
	}
	ef.Close()
	if ef.Machine != elf.EM_AARCH64 {
		t.Fatalf("built for %v", ef.Machine)
	}

	args := []string{"-model", model, "-once", frame, "-width", "64", "-height", "32"}
	native, err := exec.CommandContext(ctx, bin["amd64"], append(args, "-lib", testLib(t))...).Output()
	if err != nil {
		t.Fatalf("amd64: %v", err)
	}
	var ds []sdk.Detection
	if err := json.Unmarshal(native, &ds); err != nil || len(ds) != len(want) {
		t.Fatalf("amd64 printed %d detections (%v), want %d:\n%s", len(ds), err, len(want), native)
	}
	start := time.Now()
	emu := append([]string{qemu, loader, "--library-path", arm64Lib, bin["arm64"], "-lib", arm64ORT}, args...)
	cmd := exec.CommandContext(ctx, emu[0], emu[1:]...)
	if cpuinfo, _ := os.ReadFile("/proc/cpuinfo"); !bytes.Contains(cpuinfo, []byte("CPU implementer")) {
		// qemu-user shows the program the host's /proc/cpuinfo. ONNX
		// Runtime's CPU probe (cpuinfo) parses it as an ARM one and, given
		// an x86 one, dereferences a null pointer while it loads (seen on
		// AMD EPYC hosts). The program sees an ARM board's instead,
		// bind-mounted in a user and mount namespace of its own.
		fake := filepath.Join(dir, "cpuinfo")
		write(t, fake, []byte(armCPUInfo))
		ns := []string{"--user", "--map-root-user", "--mount"}
		if os.Getuid() == 0 {
			// As root, a mount namespace is enough, and a chroot (where
			// the fresh-machine check runs) may not make a user namespace
			// nor make its "/", not a mount point, private (unshare's
			// default): /proc is made private instead, before the bind,
			// so that the bind stays in this namespace.
			ns = []string{"--mount", "--propagation", "unchanged"}
		}
		cmd = exec.CommandContext(ctx, "unshare", append(append(ns, "--",
			"sh", "-c", `mount --make-private /proc && mount --bind "$0" /proc/cpuinfo && exec "$@"`, fake), emu...)...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	emulated, err := cmd.Output()
	if err != nil {
		t.Fatalf("arm64 under qemu: %v\n%s", err, stderr.Bytes())
	}
	t.Logf("arm64 under qemu: %v", time.Since(start).Round(time.Millisecond))
	if !bytes.Equal(native, emulated) {
		t.Fatalf("arm64 printed\n%s\namd64 printed\n%s", emulated, native)
	}
}

// TestPluginDesiredSHA256: bk-plugin-onnx started as the gateway starts it
// for a model the fleet chose (BK_ONNX_MODEL, BK_ONNX_SHA256) refuses a
// model file that does not match, in Describe's error, and keeps
// answering pings; with the right sum it describes itself.
func TestPluginDesiredSHA256(t *testing.T) {
	lib := testLib(t)
	model, sum := onnxtest.WriteModel(t, t.TempDir(), "camsim-demo")
	bin := sdktest.Build(t, "./cmd/bk-plugin-onnx")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	describe := func(want string) (sdk.Info, error) {
		conn, err := sdk.Launch(ctx, bin, sdk.Options{Env: []string{
			"BK_ONNX_MODEL=" + model, "BK_ONNX_SHA256=" + want, LibEnv + "=" + lib}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		in, err := conn.Describe(ctx)
		if perr := conn.Ping(); perr != nil {
			t.Errorf("ping: %v", perr)
		}
		return in, err
	}
	other := strings.Repeat("e3", 32)
	_, err := describe(other)
	if err == nil || !strings.Contains(err.Error(), "sha256 "+sum+" does not match the desired "+other) {
		t.Fatalf("wrong sum: describe %v", err)
	}
	in, err := describe(sum)
	if err != nil || in.Name != "onnx" || !strings.Contains(in.Version, "model camsim-demo") {
		t.Fatalf("right sum: describe %+v, %v", in, err)
	}
}

// armCPUInfo is /proc/cpuinfo of a two-core Cortex-A76 board (as on an
// RK3588's big cores), for TestArm64UnderQemu.
const armCPUInfo = `processor	: 0
BogoMIPS	: 48.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 0

processor	: 1
BogoMIPS	: 48.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 0
`
