package eval_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/hw/camsim/scene"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/onnx/eval"
)

// heldOut renders the evaluation clips into dir: every named scene with
// seeds 1001 and 1002 (moved and recoloured, see scene.Render), and 200
// random kitchens of seed 3001; the demo model was trained on seed 1.
func heldOut(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: scripts/deps.sh installs it")
	}
	var clips []string
	write := func(name string, seed uint64, n int) {
		c, err := eval.WriteSceneClip(context.Background(), dir, name, seed, n, 20)
		if err != nil {
			t.Fatal(err)
		}
		clips = append(clips, c)
	}
	for _, name := range scene.Names() {
		write(name, 1001, scene.Frames(name))
		write(name, 1002, scene.Frames(name))
	}
	write(scene.Random, 3001, 200)
	return clips
}

func demoFiles(t *testing.T) (model, lib, rulesPath string) {
	t.Helper()
	root, _ := filepath.Abs("../../..")
	model = filepath.Join(root, "models", "demo", "camsim-demo.onnx")
	lib = filepath.Join(root, "third_party", "onnxruntime", "linux-"+runtime.GOARCH, "libonnxruntime.so.1")
	rulesPath = filepath.Join(root, "models", "demo", "rules.yaml")
	for _, f := range []string{model, lib, rulesPath} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v (scripts/deps.sh fetches the runtime; the model is in git)", err)
		}
	}
	return model, lib, rulesPath
}

// TestDemoModelOnHeldOutClips is the demo model's figures on camsim clips
// it was not trained on: precision and recall of every class at IoU 0.5,
// and of every violation type through models/demo/rules.yaml, at least
// 0.9; the compliant kitchen raises nothing.
func TestDemoModelOnHeldOutClips(t *testing.T) {
	model, lib, rulesPath := demoFiles(t)
	clips := heldOut(t, t.TempDir())
	m, err := onnx.Load(model, onnx.Options{Lib: lib, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := rules.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &eval.Runner{Model: m, Rules: &cr, Eval: eval.New(0.5)}
	for _, c := range clips {
		l, err := eval.LoadLabels(eval.LabelsPath(c))
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(c) == "random-s3001.h264" {
			r.Rules = nil // a new kitchen every frame: boxes only
		}
		if err := r.Clip(context.Background(), c, l); err != nil {
			t.Fatal(err)
		}
		r.Rules = &cr
	}
	rep := r.Eval.Report()
	var out []byte
	out, _ = json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", out)
	seen := map[string]bool{}
	for _, row := range rep.Classes {
		seen[row.Name] = true
		if row.TP+row.FN == 0 {
			t.Errorf("class %s: nothing to find in the held-out clips", row.Name)
		}
		if row.Precision < 0.9 || row.Recall < 0.9 {
			t.Errorf("class %s: precision %.3f recall %.3f, want ≥ 0.9", row.Name, row.Precision, row.Recall)
		}
	}
	for _, c := range scene.Classes {
		if !seen[c] {
			t.Errorf("class %s: not in the report", c)
		}
	}
	types := map[string]bool{}
	for _, row := range rep.Types {
		types[row.Name] = true
		if row.Precision < 0.9 || row.Recall < 0.9 {
			t.Errorf("violation %s: precision %.3f recall %.3f (TP %d FP %d FN %d), want ≥ 0.9",
				row.Name, row.Precision, row.Recall, row.TP, row.FP, row.FN)
		}
	}
	for _, typ := range []string{"no_chef_hat", "no_mask", "no_uniform", "phone", "smoking", "rodent", "bin_uncovered"} {
		if !types[typ] {
			t.Errorf("violation %s: not in the report", typ)
		}
	}
}
