// Command bk-eval measures a detection model on labelled clips: precision,
// recall and F1 per class (boxes matched at an IoU threshold) and, given a
// camera's rules, per violation type (the alarms each clip should raise
// against those the gateway's rules raise), with the model's inference
// time per frame.
//
//	bk-eval -model models/demo/camsim-demo.onnx -rules models/demo/rules.yaml \
//	    clips/*.h264
//
// Each clip (H.264 or H.265, Annex B) has its labels next to it, clip.json
// (see package eval for the format). -min-precision and -min-recall make it
// exit 1 when a class or type with something to find falls below them, so
// a deployer can gate a rollout on it; -json prints the report as JSON.
//
// The runtime is libonnxruntime.so.1: -lib, or BK_ONNXRUNTIME_LIB, or
// <dir of this executable>/../lib/libonnxruntime.so.1, or
// third_party/onnxruntime/linux-<arch>/ from the repository.
//
// Exit codes: 0 all good, 1 below a minimum or failed, 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/onnx/eval"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func defaultLib() string {
	if v := os.Getenv("BK_ONNXRUNTIME_LIB"); v != "" {
		return v
	}
	exe, _ := os.Executable()
	p := filepath.Join(filepath.Dir(exe), "..", "lib", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join("third_party", "onnxruntime", "linux-"+runtime.GOARCH, "libonnxruntime.so.1")
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bk-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		model   = fs.String("model", "", "the model (.onnx) with its manifest next to it (required)")
		lib     = fs.String("lib", defaultLib(), "libonnxruntime.so.1")
		threads = fs.Int("threads", 1, "intra-op threads of the CPU provider")
		rulesF  = fs.String("rules", "", "a camera's detect section (YAML) to run over each clip, for the figures per violation type; the model's plugin is named onnx")
		iou     = fs.Float64("iou", 0.5, "least IoU for a detection to match a labelled box")
		minP    = fs.Float64("min-precision", 0, "exit 1 when a class or type's precision is below this")
		minR    = fs.Float64("min-recall", 0, "exit 1 when a class or type's recall is below this")
		asJSON  = fs.Bool("json", false, "print the report as JSON")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: bk-eval -model M.onnx [-rules detect.yaml] [flags] clip.h264...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" || fs.NArg() == 0 || *iou <= 0 || *iou > 1 {
		fs.Usage()
		return 2
	}
	var cr *rules.CameraRules
	if *rulesF != "" {
		data, err := os.ReadFile(*rulesF)
		if err != nil {
			fmt.Fprintln(stderr, "bk-eval:", err)
			return 2
		}
		c, err := rules.Parse(data)
		if err != nil {
			fmt.Fprintf(stderr, "bk-eval: %s: %v\n", *rulesF, err)
			return 2
		}
		cr = &c
	}
	m, err := onnx.Load(*model, onnx.Options{Lib: *lib, Threads: *threads})
	if err != nil {
		fmt.Fprintln(stderr, "bk-eval:", err)
		return 1
	}
	defer m.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := &eval.Runner{Model: m, Rules: cr, Eval: eval.New(*iou)}
	for _, clip := range fs.Args() {
		l, err := eval.LoadLabels(eval.LabelsPath(clip))
		if err != nil {
			fmt.Fprintln(stderr, "bk-eval:", err)
			return 1
		}
		if err := r.Clip(ctx, clip, l); err != nil {
			fmt.Fprintln(stderr, "bk-eval:", err)
			return 1
		}
	}
	rep := r.Eval.Report()
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		_ = e.Encode(rep)
	} else {
		rep.Print(stdout)
	}
	bad := 0
	for _, row := range append(rep.Classes, rep.Types...) {
		if row.TP+row.FN == 0 && row.FP == 0 {
			continue
		}
		if row.Precision < *minP || row.Recall < *minR {
			fmt.Fprintf(stderr, "bk-eval: %s: precision %.3f, recall %.3f: below -min-precision %.2f / -min-recall %.2f\n",
				row.Name, row.Precision, row.Recall, *minP, *minR)
			bad++
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}
