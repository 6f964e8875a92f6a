// Command bk-plugin-onnx is the neural detector plugin: it runs a
// YOLO-style ONNX model (package onnx) on the gateway's frames and reports
// the manifest's labels, with each class's role for the rules in the
// detections' attrs. The gateway starts it; see docs/plugins.md, "The ONNX
// detector".
//
// Settings come from the environment the gateway passes on (a plugin is
// started without arguments), or from flags when run by hand:
//
//	BK_ONNX_MODEL       -model    the .onnx file; its manifest sits next to it
//	                              (default <dir of this executable>/../models/detector.onnx)
//	BK_ONNXRUNTIME_LIB  -lib      libonnxruntime.so.1
//	                              (default <dir of this executable>/../lib/libonnxruntime.so.1)
//	BK_ONNX_THREADS     -threads  intra-op threads of the CPU provider (default 1)
//	BK_ONNX_SHA256      -sha256   the sha256 the model file must have, 64 lowercase
//	                              hex digits (default none); the gateway sets it and
//	                              BK_ONNX_MODEL from its config's models section
//
// A model that does not load, or whose sha256 is not the one asked for, is
// not served: Describe answers with the error, so the gateway shows it as
// the plugin's error and sends no frames.
//
// With -once FILE it runs the model on one raw RGB24 frame of -width ×
// -height and prints the detections as JSON, without the plugin protocol:
// a check of a model and a runtime on a new board.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/version"
	"github.com/brightkitchen/brightkitchen/plugins/onnx"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

func main() {
	exe, _ := os.Executable()
	dir := filepath.Dir(exe)
	model := flag.String("model", env("BK_ONNX_MODEL", filepath.Join(dir, "..", "models", "detector.onnx")), "the model (.onnx); its manifest (.yaml, .yml or .json) sits next to it")
	lib := flag.String("lib", env(onnx.LibEnv, filepath.Join(dir, "..", "lib", "libonnxruntime.so.1")), "ONNX Runtime's libonnxruntime.so.1")
	threads := flag.String("threads", env("BK_ONNX_THREADS", "1"), "intra-op threads of the CPU provider, 1..64")
	sum := flag.String("sha256", env("BK_ONNX_SHA256", ""), "the sha256 the model file must have (64 lowercase hex digits); a model that does not match is refused")
	once := flag.String("once", "", "run on one raw RGB24 frame from this file, print the detections as JSON and exit")
	width := flag.Int("width", 0, "the -once frame's width")
	height := flag.Int("height", 0, "the -once frame's height")
	flag.Parse()

	m, err := load(*model, *lib, *threads, *sum)
	// The model's bytes (read to check them, then handed to the runtime,
	// which keeps its own copy) are garbage now: give them back to the
	// system rather than keep a model's size of idle heap for good.
	debug.FreeOSMemory()
	if *once != "" {
		if err == nil {
			err = runOnce(onnx.NewDetector(m, nil, version.Version), *once, *width, *height)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bk-plugin-onnx:", err)
			os.Exit(1)
		}
		return
	}
	if err != nil {
		// Served anyway: Describe answers with the error, so the gateway
		// shows why instead of a plugin that exits at once.
		slog.Error("onnx: load model", "err", err)
	}
	d := onnx.NewDetector(m, err, version.Version)
	if err == nil {
		go report(d)
	}
	sdk.Serve(d)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func load(model, lib, threads, sum string) (*onnx.Model, error) {
	n, err := strconv.Atoi(threads)
	if err != nil {
		return nil, fmt.Errorf("BK_ONNX_THREADS: %q is not a number", threads)
	}
	return onnx.Load(model, onnx.Options{Lib: lib, Threads: n, SHA256: sum})
}

// report logs the model's run time every 5 minutes (the gateway's log).
func report(d *onnx.Detector) {
	var runs int64
	for range time.Tick(5 * time.Minute) {
		s := d.Stats()
		if s.Runs != runs {
			runs = s.Runs
			slog.Info("onnx: inference", "runs", s.Runs, "mean_ms", s.Mean.Seconds()*1000, "last_ms", s.Last.Seconds()*1000)
		}
	}
}

func runOnce(d *onnx.Detector, path string, w, h int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f := sdk.Frame{CameraID: "once", Width: w, Height: h, Format: sdk.FormatRGB24, Data: data}
	if err := sdk.ValidateFrame(f); err != nil {
		return fmt.Errorf("frame %s: %w", path, err)
	}
	ds, err := d.Detect(context.Background(), f)
	if err != nil {
		return err
	}
	for i := range ds {
		delete(ds[i].Attrs, "infer_ms") // differs run to run
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(ds)
}
