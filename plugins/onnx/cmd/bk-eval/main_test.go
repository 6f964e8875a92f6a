package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/plugins/onnx/eval"
)

// TestEvalCommand: bk-eval on two held-out camsim clips with the demo
// model prints both tables and passes the minimums; a clip without
// labels, a broken model and bad flags are errors with their exit codes.
func TestEvalCommand(t *testing.T) {
	root, _ := filepath.Abs("../../../..")
	model := filepath.Join(root, "models", "demo", "camsim-demo.onnx")
	lib := filepath.Join(root, "third_party", "onnxruntime", "linux-"+runtime.GOARCH, "libonnxruntime.so.1")
	rules := filepath.Join(root, "models", "demo", "rules.yaml")
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("%v: scripts/deps.sh fetches it", err)
	}
	dir := t.TempDir()
	var clips []string
	for _, sc := range []string{"no-hat", "staff"} {
		c, err := eval.WriteSceneClip(context.Background(), dir, sc, 1003, 40, 20)
		if err != nil {
			t.Fatal(err)
		}
		clips = append(clips, c)
	}
	var out, errb bytes.Buffer
	args := append([]string{"-model", model, "-lib", lib, "-rules", rules, "-min-precision", "0.9", "-min-recall", "0.9"}, clips...)
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"2 clips, 80 frames", "chef_hat", "no_chef_hat", "violation (clip)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// a clip without its labels
	bare := filepath.Join(dir, "bare.h264")
	data, _ := os.ReadFile(clips[0])
	os.WriteFile(bare, data, 0o644)
	errb.Reset()
	if code := run([]string{"-model", model, "-lib", lib, bare}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "bare.json") {
		t.Errorf("unlabelled clip: exit %d: %s", code, errb.String())
	}
	// a truncated model, with the demo's manifest
	trunc := filepath.Join(dir, "cut.onnx")
	full, _ := os.ReadFile(model)
	os.WriteFile(trunc, full[:len(full)/3], 0o644)
	man, _ := os.ReadFile(strings.TrimSuffix(model, ".onnx") + ".yaml")
	os.WriteFile(filepath.Join(dir, "cut.yaml"), bytes.Replace(man, []byte("sha256:"), []byte("# sha256:"), 1), 0o644)
	errb.Reset()
	if code := run([]string{"-model", trunc, "-lib", lib, clips[0]}, &out, &errb); code != 1 || errb.Len() == 0 {
		t.Errorf("truncated model: exit %d: %s", code, errb.String())
	}
	for _, bad := range [][]string{{}, {"-model", model}, {"-model", model, "-iou", "0", clips[0]}, {"-nope"}} {
		errb.Reset()
		if code := run(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d", bad, code)
		}
	}
}
