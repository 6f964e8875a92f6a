package onnx

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim/scene"
)

// BenchmarkDecodeNMS is the Go side of a frame for a YOLOv8n-size head at
// 640×640: decoding [1, 84, 8400] (80 classes) and class-wise NMS, with
// about 1% of the boxes over the threshold.
func BenchmarkDecodeNMS(b *testing.B) {
	const n, nc = 8400, 80
	classes := make([]Class, nc)
	for i := range classes {
		classes[i] = Class{Name: "c", MinScore: 0.25}
	}
	m := Manifest{Output: Output{Format: FormatYOLOv8, NMSIoU: 0.45, MaxDetections: 100}, Classes: classes}
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, (4+nc)*n)
	for i := range n {
		data[i], data[n+i] = r.Float32()*640, r.Float32()*640
		data[2*n+i], data[3*n+i] = 20+r.Float32()*100, 20+r.Float32()*100
		for c := range nc {
			data[(4+c)*n+i] = r.Float32() * 0.2
		}
		if i%100 == 0 {
			data[(4+r.IntN(nc))*n+i] = 0.3 + r.Float32()*0.7
		}
	}
	shape := []int64{1, 4 + nc, n}
	b.ReportAllocs()
	for b.Loop() {
		cs, err := Decode(m, shape, data)
		if err != nil {
			b.Fatal(err)
		}
		NMS(cs, 0.45, 100)
	}
}

// BenchmarkInference is the model's run per frame (ONNX Runtime's CPU
// provider, one intra-op thread; letterbox and decoding excluded) on a
// camsim frame: the demo model, and networks of YOLOv8n's size with random
// weights at 320×320, 640×640 and 640×384 (a 16:9 picture letterboxed
// with the least padding), which scripts/bench.sh writes into
// $BK_BENCH_MODELS with scripts/train-demo-model.py --random-yolov8n
// (skipped without them). Reported: the median per frame, and frames per
// second on one core.
func BenchmarkInference(b *testing.B) {
	yolo := func(size string) (string, Manifest) {
		classes := make([]Class, 80)
		for i := range classes {
			classes[i] = Class{Name: fmt.Sprintf("c%d", i)}
		}
		var w, h int
		if n, _ := fmt.Sscanf(size, "%dx%d", &w, &h); n == 1 {
			h = w
		}
		m := Manifest{Name: "yolov8n-size-" + size, Input: Input{Width: w, Height: h},
			Output: Output{Format: FormatYOLOv8}, Classes: classes}
		return filepath.Join(os.Getenv("BK_BENCH_MODELS"), "yolov8n-random-"+size+".onnx"), m
	}
	img, _, err := scene.Render("no-hat", 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	rgb := make([]byte, 0, 3*scene.Width*scene.Height)
	for i := 0; i < len(img.Pix); i += 4 {
		rgb = append(rgb, img.Pix[i:i+3]...)
	}
	for _, c := range []string{"demo", "yolov8n-320", "yolov8n-640", "yolov8n-640x384"} {
		b.Run(c, func(b *testing.B) {
			var m *Model
			var err error
			switch c {
			case "demo":
				m, err = Load("../../models/demo/camsim-demo.onnx", Options{Lib: testLib(b), Threads: 1})
			default:
				path, man := yolo(strings.TrimPrefix(c, "yolov8n-"))
				if _, serr := os.Stat(path); serr != nil {
					b.Skipf("%v: scripts/bench.sh writes it", serr)
				}
				if err = man.fill(); err == nil {
					m, err = LoadWith(path, man, Options{Lib: testLib(b), Threads: 1})
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			var took []time.Duration
			for b.Loop() {
				_, _, d, err := m.Run(rgb, scene.Width, scene.Height)
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, d)
			}
			slices.Sort(took)
			p50 := took[len(took)/2]
			b.ReportMetric(float64(p50.Microseconds())/1000, "ms/frame-p50")
			b.ReportMetric(float64(time.Second)/float64(p50), "frames/s/core")
		})
	}
}
