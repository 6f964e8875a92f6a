package onnx

import (
	"math/rand/v2"
	"testing"
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
