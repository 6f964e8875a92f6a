package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// LibEnv is the environment variable that names ONNX Runtime's shared
// library (libonnxruntime.so.1) when Options.Lib is empty.
const LibEnv = "BK_ONNXRUNTIME_LIB"

// maxModelBytes bounds a model file.
const maxModelBytes = 1 << 30

// Options say how to run a model. The zero value of each means its default.
type Options struct {
	// Lib is the path of libonnxruntime.so.1 (ONNX Runtime 1.30; the
	// binding speaks its C API version 24). Default: $BK_ONNXRUNTIME_LIB.
	// One process loads one library.
	Lib string
	// Threads is the CPU provider's intra-op thread count, 1..64. Default 1.
	Threads int
	// Provider is the execution provider: "cpu", the only one so far. An
	// NPU provider would be chosen here. Default cpu.
	Provider string
	// SHA256 is the checksum the model file must have, 64 lowercase hex
	// digits: the one the fleet's desired config chose (the gateway passes
	// it as BK_ONNX_SHA256). A file that does not match is refused before
	// it is loaded. Default empty: only the manifest's sha256, if any, is
	// checked.
	SHA256 string
}

var ortState struct {
	mu  sync.Mutex
	lib string
}

// initRuntime loads the library once per process.
func initRuntime(lib string) error {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ort.IsInitialized() {
		if lib != ortState.lib {
			return fmt.Errorf("onnxruntime: %s already loaded, cannot load %s too", ortState.lib, lib)
		}
		return nil
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("onnxruntime library: %w", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("onnxruntime %s: %w", lib, err)
	}
	ortState.lib = lib
	return nil
}

// Model is a loaded model ready to run, safe for concurrent use: runs are
// serialised, so one camera's frame waits for another's (CPU use stays at
// Threads cores).
type Model struct {
	Manifest Manifest
	// Path is the .onnx file.
	Path string
	// InputName and OutputName are the tensors the model is run with.
	InputName, OutputName string

	mu      sync.Mutex
	session *ort.DynamicAdvancedSession
	input   *ort.Tensor[float32]
	// output is made once where the model fixes its output's shape, so a
	// run writes into it: no tensor made by the runtime and copied into a
	// new Go slice each frame (2.8 MB for a YOLOv8n head at 640×640).
	output   *ort.Tensor[float32]
	outShape ort.Shape
}

// maxOutputValues bounds an output's size: a model declaring more is refused
// at load (YOLOv8 at 1280×1280 with 80 classes is 2.8 M). A variable for
// the tests.
var maxOutputValues int64 = 16 << 20

// Load reads the model at path and checks it against Options.SHA256, then
// reads its manifest (see ManifestPath), checks the file against the
// manifest's sha256, starts a session and checks the model's input and
// output against the manifest: a model that does not fit is an error here,
// not in the first frame.
func Load(path string, o Options) (*Model, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	data, err := readModel(path, o.SHA256)
	if err != nil {
		return nil, err
	}
	mpath, err := ManifestPath(path)
	if err != nil {
		return nil, err
	}
	man, err := LoadManifest(mpath)
	if err != nil {
		return nil, err
	}
	return load(path, data, man, o)
}

// LoadWith is Load with the manifest given.
func LoadWith(path string, man Manifest, o Options) (*Model, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	data, err := readModel(path, o.SHA256)
	if err != nil {
		return nil, err
	}
	return load(path, data, man, o)
}

// fill sets the defaults and checks the options.
func (o *Options) fill() error {
	if o.Lib == "" {
		o.Lib = os.Getenv(LibEnv)
	}
	if o.Lib == "" {
		return fmt.Errorf("onnxruntime library: not set (set %s to the path of libonnxruntime.so.1)", LibEnv)
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	if o.Threads < 1 || o.Threads > 64 {
		return fmt.Errorf("threads: %d, want 1..64", o.Threads)
	}
	if o.Provider == "" {
		o.Provider = "cpu"
	}
	if o.Provider != "cpu" {
		return fmt.Errorf("provider: %q unknown, want cpu", o.Provider)
	}
	if o.SHA256 != "" && !hexRe.MatchString(o.SHA256) {
		return fmt.Errorf("sha256: %q is not 64 lowercase hex digits", o.SHA256)
	}
	return nil
}

// readModel reads the model file, refusing one over maxModelBytes before
// reading it, and checks its bytes against want (when set): the bytes
// hashed are the bytes loaded.
func readModel(path, want string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("model %s: not a regular file", path)
	}
	if fi.Size() > maxModelBytes {
		return nil, fmt.Errorf("model %s: %d bytes, at most %d", path, fi.Size(), maxModelBytes)
	}
	// the file may grow after Stat: read at most one byte past the bound
	data, err := io.ReadAll(io.LimitReader(f, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(data) > maxModelBytes {
		return nil, fmt.Errorf("model %s: more than %d bytes", path, maxModelBytes)
	}
	if want != "" {
		if got := sha256Hex(data); got != want {
			return nil, fmt.Errorf("model %s: sha256 %s does not match the desired %s", path, got, want)
		}
	}
	return data, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// load checks data, the model file's bytes, against the manifest and
// starts a session.
func load(path string, data []byte, man Manifest, o Options) (*Model, error) {
	if man.SHA256 != "" {
		if got := sha256Hex(data); got != man.SHA256 {
			return nil, fmt.Errorf("model %s: sha256 %s, the manifest says %s", path, got, man.SHA256)
		}
	}
	if err := initRuntime(o.Lib); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m := &Model{Manifest: man, Path: path}
	if err := m.check(ins, outs); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(o.Threads); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	// Without the memory pattern the runtime does not keep one block planned
	// for all of a run's intermediate tensors: a YOLOv8n-size network at
	// 640×640 then holds about 24 MB less, at no cost in time measured here.
	if err := opts.SetMemPattern(false); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	m.session, err = ort.NewDynamicAdvancedSessionWithONNXData(data, []string{m.InputName}, []string{m.OutputName}, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	m.input, err = ort.NewEmptyTensor[float32](ort.NewShape(1, 3, int64(man.Input.Height), int64(man.Input.Width)))
	if err != nil {
		m.session.Destroy()
		return nil, fmt.Errorf("input tensor: %w", err)
	}
	if m.outShape != nil {
		if m.output, err = ort.NewEmptyTensor[float32](m.outShape); err != nil {
			m.Close()
			return nil, fmt.Errorf("output tensor: %w", err)
		}
	}
	return m, nil
}

// check compares the model's one input and first output with the manifest.
// Dimensions the model leaves free (-1) are checked on each run.
func (m *Model) check(ins, outs []ort.InputOutputInfo) error {
	if len(ins) != 1 {
		return fmt.Errorf("%d inputs, want 1", len(ins))
	}
	if len(outs) < 1 {
		return errors.New("no output")
	}
	in, out := ins[0], outs[0]
	man := m.Manifest
	want := []int64{1, 3, int64(man.Input.Height), int64(man.Input.Width)}
	if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat {
		return fmt.Errorf("input %q: %v of %v, want a float32 tensor", in.Name, in.OrtValueType, in.DataType)
	}
	if !dimsFit(in.Dimensions, want) {
		return fmt.Errorf("input %q is %v, the manifest says %v (NCHW, %dx%d)", in.Name, in.Dimensions, want, man.Input.Width, man.Input.Height)
	}
	if out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat {
		return fmt.Errorf("output %q: %v of %v, want a float32 tensor", out.Name, out.OrtValueType, out.DataType)
	}
	nc := int64(len(man.Classes))
	var wantOut []int64
	switch man.Output.Format {
	case FormatYOLOv5:
		wantOut = []int64{1, -1, 5 + nc}
	case FormatYOLOv8:
		wantOut = []int64{1, 4 + nc, -1}
	}
	if !dimsFit(out.Dimensions, wantOut) {
		return fmt.Errorf("output %q is %v, but %s with %d classes is %v (-1: any)", out.Name, out.Dimensions, man.Output.Format, nc, wantOut)
	}
	m.InputName, m.OutputName = in.Name, out.Name
	if slices.ContainsFunc(out.Dimensions, func(d int64) bool { return d <= 0 }) {
		return nil // free dimensions: the runtime makes the output each run
	}
	n := int64(1)
	for _, d := range out.Dimensions {
		if d > maxOutputValues || n*d > maxOutputValues { // n, d ≤ 2^24: no overflow
			return fmt.Errorf("output %q is %v: more than %d values", out.Name, out.Dimensions, maxOutputValues)
		}
		n *= d
	}
	m.outShape = out.Dimensions.Clone()
	return nil
}

// dimsFit: same rank, and each dimension equal where both are fixed.
func dimsFit(got ort.Shape, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i, g := range got {
		if g > 0 && want[i] > 0 && g != want[i] {
			return false
		}
	}
	return true
}

// Run letterboxes an RGB24 frame into the model's input, runs the model
// and returns its detections, and how long the model itself took.
func (m *Model) Run(rgb []byte, w, h int) ([]Candidate, Letterbox, time.Duration, error) {
	lb := NewLetterbox(w, h, m.Manifest.Input.Width, m.Manifest.Input.Height)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil, lb, 0, errors.New("run model: closed")
	}
	lb.Fill(m.input.GetData(), rgb, m.Manifest.Input.Color == "bgr")
	outs := []ort.Value{nil}
	if m.output != nil {
		outs[0] = m.output
	}
	t0 := time.Now()
	if err := m.session.Run([]ort.Value{m.input}, outs); err != nil {
		return nil, lb, 0, fmt.Errorf("run model: %w", err)
	}
	took := time.Since(t0)
	if m.output == nil {
		defer outs[0].Destroy()
	}
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, lb, took, fmt.Errorf("run model: output is %T, want a float32 tensor", outs[0])
	}
	cs, err := Decode(m.Manifest, t.GetShape(), t.GetData())
	if err != nil {
		return nil, lb, took, err
	}
	return NMS(cs, m.Manifest.Output.NMSIoU, m.Manifest.Output.MaxDetections), lb, took, nil
}

// Close frees the session.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if m.input != nil {
		err = m.input.Destroy()
		m.input = nil
	}
	if m.output != nil {
		err = errors.Join(err, m.output.Destroy())
		m.output = nil
	}
	if m.session != nil {
		err = errors.Join(err, m.session.Destroy())
		m.session = nil
	}
	return err
}
