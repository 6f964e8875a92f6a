package onnx

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/plugins/onnx/onnxtest"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// testLib is ONNX Runtime for this machine: $BK_ONNXRUNTIME_LIB, or what
// scripts/onnxruntime.sh fetched. Tests that need it skip without it.
func testLib(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(LibEnv); p != "" {
		return p
	}
	p, _ := filepath.Abs(filepath.Join("..", "..", "third_party", "onnxruntime", "linux-"+runtime.GOARCH, "libonnxruntime.so.1"))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("ONNX Runtime not found (%v): run scripts/onnxruntime.sh", err)
	}
	return p
}

const testManifest = `
name: tiny
input: {width: 32, height: 32}
output: {format: %s, nms_iou: 0.45}
min_score: 0.25
classes:
  - {name: person, role: person}
  - {name: chef_hat, role: attribute, region: head}
  - {name: phone, role: object, min_score: 0.5}
`

// rows are the tiny graph's boxes, in model pixels: cx, cy, w, h,
// objectness and the three class scores.
var rows = [][8]float32{
	{16, 16, 8, 8, 1, 0.9, 0, 0},   // person, kept
	{17, 16, 8, 8, 1, 0.8, 0, 0},   // person overlapping the first by IoU 0.78: suppressed
	{17, 16, 8, 8, 0.5, 0, 1, 0},   // chef_hat on the same box: another class, kept
	{4, 12, 4, 4, 0.1, 0, 0, 1},    // phone at 0.1: under its 0.5
	{4, 12, 4, 4, 1, 0, 0, 0.75},   // phone, kept
	{28, 6, 4, 4, 1, 0.95, 0, 0},   // person wholly in the top letterbox bar: no box left
	{20, 20, 8, 8, 1, 0.4, 0.3, 0}, // person at 0.4 (best class), IoU with the first under 0.45: kept
}

// want: the frame is 64×32, the model 32×32: scale 0.5, the picture 32×16
// placed 8 pixels down. x = model x / 0.5 / 64, y = (model y − 8) / 0.5 / 32.
var want = []struct {
	label, role string
	score       float64
	box         sdk.Box
}{
	{"person", "person", 0.9, sdk.Box{X: 0.375, Y: 0.25, W: 0.25, H: 0.5}},
	{"phone", "object", 0.75, sdk.Box{X: 0.0625, Y: 0.125, W: 0.125, H: 0.25}},
	{"chef_hat", "attribute", 0.5, sdk.Box{X: 0.40625, Y: 0.25, W: 0.25, H: 0.5}},
	{"person", "person", 0.4, sdk.Box{X: 0.5, Y: 0.5, W: 0.25, H: 0.5}},
}

// tinyModel writes the tiny graph with rows in format ("yolov5" or
// "yolov8") and its manifest into dir, and returns the model's path.
func tinyModel(t testing.TB, dir, format string) string {
	t.Helper()
	n := len(rows)
	var shape []int64
	var out []float32
	switch format {
	case FormatYOLOv5:
		shape = []int64{1, int64(n), 8}
		for _, r := range rows {
			out = append(out, r[:]...)
		}
	case FormatYOLOv8: // [1, 4+C, N], no objectness: scores are obj·class
		shape = []int64{1, 7, int64(n)}
		out = make([]float32, 7*n)
		for i, r := range rows {
			for k := range 4 {
				out[k*n+i] = r[k]
			}
			for c := range 3 {
				out[(4+c)*n+i] = r[4] * r[5+c]
			}
		}
	}
	path := filepath.Join(dir, "tiny.onnx")
	write(t, path, onnxtest.ConstGraph([]int64{1, 3, 32, 32}, shape, out))
	write(t, filepath.Join(dir, "tiny.yaml"), []byte(strings.Replace(testManifest, "%s", format, 1)))
	return path
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectBothHeads(t *testing.T) {
	lib := testLib(t)
	for _, format := range []string{FormatYOLOv5, FormatYOLOv8} {
		t.Run(format, func(t *testing.T) {
			m, err := Load(tinyModel(t, t.TempDir(), format), Options{Lib: lib})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d := NewDetector(m, nil, "test")
			in, err := d.Describe(context.Background())
			if err != nil || in.Input.MaxWidth != 32 || strings.Join(in.Labels, ",") != "person,chef_hat,phone" {
				t.Fatalf("describe: %+v %v", in, err)
			}
			f := sdk.Frame{CameraID: "c", Width: 64, Height: 32, Format: sdk.FormatRGB24, Data: make([]byte, 64*32*3)}
			ds, err := d.Detect(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != len(want) {
				t.Fatalf("%d detections, want %d: %+v", len(ds), len(want), ds)
			}
			for i, w := range want {
				g := ds[i]
				if g.Label != w.label || g.Attrs["role"] != w.role || math.Abs(g.Score-w.score) > 1e-6 || g.Box != w.box {
					t.Errorf("detection %d: %s %.7f %+v %v, want %s %v %+v", i, g.Label, g.Score, g.Box, g.Attrs, w.label, w.score, w.box)
				}
				if err := sdk.ValidateDetection(in, g); err != nil {
					t.Errorf("detection %d: %v", i, err)
				}
			}
			if ds[2].Attrs["region"] != "head" || ds[0].Attrs["model"] != "tiny" || ds[0].Attrs["class"] != "person" {
				t.Errorf("attrs: %v %v", ds[0].Attrs, ds[2].Attrs)
			}
			if s := d.Stats(); s.Runs != 1 || s.Last <= 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestLetterboxFill(t *testing.T) {
	// A 4×2 frame into 4×4: scale 1, one grey row above and below.
	lb := NewLetterbox(4, 2, 4, 4)
	if lb.Scale != 1 || lb.PadX != 0 || lb.PadY != 1 || lb.ScaledW != 4 || lb.ScaledH != 2 {
		t.Fatalf("%+v", lb)
	}
	rgb := make([]byte, 4*2*3)
	for i := range 8 {
		rgb[3*i], rgb[3*i+1], rgb[3*i+2] = byte(i), 100, 255
	}
	dst := make([]float32, 3*16)
	lb.Fill(dst, rgb, false)
	for i := range 4 {
		if dst[i] != padValue || dst[12+i] != padValue {
			t.Fatalf("bars: %v", dst[:16])
		}
	}
	if dst[4+5] != 5.0/255 || dst[16+4] != 100.0/255 || dst[32+4] != 1 {
		t.Fatalf("pixels: %v", dst)
	}
	lb.Fill(dst, rgb, true) // BGR: blue first
	if dst[4] != 1 || dst[32+4+5] != 5.0/255 {
		t.Fatalf("bgr: %v", dst)
	}
	// Down-scaling a 8×8 frame into 4×4 samples every other pixel.
	lb = NewLetterbox(8, 8, 4, 4)
	if lb.Scale != 0.5 || lb.PadX != 0 || lb.PadY != 0 {
		t.Fatalf("%+v", lb)
	}
	x, y, w, h := lb.ToFrame(2, 2, 2, 2)
	if x != 0.25 || y != 0.25 || w != 0.5 || h != 0.5 { // model 1..3 is frame 2..6 of 8
		t.Fatalf("to frame: %v %v %v %v", x, y, w, h)
	}
}

func TestNMSClassWise(t *testing.T) {
	c := func(class int, score, cx float64) Candidate {
		return Candidate{Class: class, Score: score, CX: cx, CY: 5, W: 10, H: 10, x0: cx - 5, y0: 0, x1: cx + 5, y1: 10}
	}
	got := NMS([]Candidate{c(0, 0.5, 6), c(0, 0.9, 5), c(1, 0.7, 5), c(0, 0.6, 30)}, 0.45, 10)
	if len(got) != 3 || got[0].Score != 0.9 || got[1].Class != 1 || got[2].CX != 30 {
		t.Fatalf("%+v", got)
	}
	if got := NMS([]Candidate{c(0, 0.5, 0), c(0, 0.4, 50)}, 0.45, 1); len(got) != 1 {
		t.Fatalf("limit: %+v", got)
	}
}

func TestBadModels(t *testing.T) {
	lib := testLib(t)
	dir := t.TempDir()
	good := tinyModel(t, dir, FormatYOLOv5)
	data, _ := os.ReadFile(good)
	man, _ := os.ReadFile(filepath.Join(dir, "tiny.yaml"))
	wrongShape := strings.Replace(string(man), "width: 32, height: 32", "width: 64, height: 64", 1)
	cases := []struct {
		name     string
		model    []byte
		manifest string
		want     string
	}{
		{"truncated file", data[:len(data)/2], string(man), "tiny.onnx"},
		{"empty file", nil, string(man), "tiny.onnx"},
		{"wrong input shape", data, wrongShape, "the manifest says [1 3 64 64]"},
		{"yolov8 manifest on a yolov5 head", data, strings.Replace(string(man), "yolov5", "yolov8", 1) + "  - {name: cup}\n", "yolov8 with 4 classes"},
		{"wrong class count", data, string(man) + "  - {name: cup}\n", "yolov5 with 4 classes"},
		{"unknown output format", data, strings.Replace(string(man), "yolov5", "ssd", 1), `output.format: unknown format "ssd"`},
		{"sha256 mismatch", data, string(man) + "sha256: " + strings.Repeat("ab", 32) + "\n", "sha256"},
		{"unknown key", data, string(man) + "colour: rgb\n", "colour"},
		{"no manifest", data, "", "no manifest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			path := filepath.Join(d, "tiny.onnx")
			write(t, path, c.model)
			if c.manifest != "" {
				write(t, filepath.Join(d, "tiny.yaml"), []byte(c.manifest))
			}
			m, err := Load(path, Options{Lib: lib})
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to say %q", err, c.want)
			}
			t.Log(err)
			det := NewDetector(nil, err, "test")
			if _, derr := det.Describe(context.Background()); derr == nil || !strings.Contains(derr.Error(), c.want) {
				t.Fatalf("describe: %v", derr)
			}
		})
	}
	// An output of more values than the bound (16 M; here lowered to fit
	// the tiny model's 56) is refused before anything is made for it.
	defer func(v int64) { maxOutputValues = v }(maxOutputValues)
	maxOutputValues = 50
	if _, err := Load(good, Options{Lib: lib}); err == nil || !strings.Contains(err.Error(), "[1 7 8]: more than 50 values") {
		t.Errorf("output too large: %v", err)
	}
	maxOutputValues = 56
	if m, err := Load(good, Options{Lib: lib}); err != nil {
		t.Errorf("output at the bound: %v", err)
	} else {
		m.Close()
	}
	if _, err := Load(good, Options{Lib: filepath.Join(dir, "nope.so")}); err == nil || !strings.Contains(err.Error(), "nope.so") {
		t.Errorf("missing library: %v", err)
	}
	t.Setenv(LibEnv, "")
	if _, err := Load(good, Options{}); err == nil || !strings.Contains(err.Error(), LibEnv) {
		t.Errorf("no library: %v", err)
	}
}

// TestDesiredSHA256: with Options.SHA256 (the gateway's BK_ONNX_SHA256) a
// model whose file does not match is refused, saying both sums, before its
// manifest or the runtime is looked at; a file over 1 GiB is refused
// without being read; the right sum loads.
func TestDesiredSHA256(t *testing.T) {
	lib := testLib(t)
	dir := t.TempDir()
	path, sum := onnxtest.WriteModel(t, dir, "demo")
	other := strings.Repeat("0", 64)

	m, err := Load(path, Options{Lib: lib, SHA256: sum})
	if err != nil {
		t.Fatalf("right sum: %v", err)
	}
	m.Close()

	want := "model " + path + ": sha256 " + sum + " does not match the desired " + other
	for name, load := range map[string]func() (*Model, error){
		"Load":     func() (*Model, error) { return Load(path, Options{Lib: lib, SHA256: other}) },
		"LoadWith": func() (*Model, error) { return LoadWith(path, Manifest{}, Options{Lib: lib, SHA256: other}) },
	} {
		if m, err := load(); err == nil || err.Error() != want {
			if m != nil {
				m.Close()
			}
			t.Errorf("%s, wrong sum: %v, want %q", name, err, want)
		}
	}
	// the sum is checked before the manifest is read
	if err := os.Remove(filepath.Join(dir, "demo.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Options{Lib: lib, SHA256: other}); err == nil || err.Error() != want {
		t.Errorf("wrong sum, no manifest: %v", err)
	}

	for _, bad := range []string{strings.ToUpper(sum), sum[:63], "../" + sum[3:]} {
		if _, err := Load(path, Options{Lib: lib, SHA256: bad}); err == nil || !strings.Contains(err.Error(), "is not 64 lowercase hex digits") {
			t.Errorf("sha256 %q: %v", bad, err)
		}
	}

	// over the bound: refused from its size (a sparse file, never read)
	huge := filepath.Join(dir, "huge.onnx")
	write(t, huge, nil)
	if err := os.Truncate(huge, maxModelBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(huge, Options{Lib: lib, SHA256: other}); err == nil || !strings.Contains(err.Error(), "1073741825 bytes, at most 1073741824") {
		t.Errorf("huge model: %v", err)
	}
}
