// Package onnxtest makes tiny ONNX models for tests, written field by field
// from onnx.proto, so that no model file needs to be kept in git: the onnx
// package's tests and the gateway's run them in ONNX Runtime.
package onnxtest

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// ConstGraph is a minimal ONNX model (ModelProto, written field by field):
// one float input of shape in, and an output of shape outShape that is
// ReduceSum(input)·0 + out, so the runtime really reads the input and the
// test knows the output exactly. Field numbers are onnx.proto's.
func ConstGraph(in []int64, outShape []int64, out []float32) []byte {
	var g []byte
	// node ReduceSum(images) -> s, keepdims 0 (a scalar)
	g = msg(g, 1, node("ReduceSum", []string{"images"}, "s", attrInt("keepdims", 0)))
	g = msg(g, 1, node("Mul", []string{"s", "zero"}, "z"))
	g = msg(g, 1, node("Add", []string{"z", "k"}, "output0"))
	g = protowire.AppendTag(g, 2, protowire.BytesType)
	g = protowire.AppendString(g, "const")
	g = msg(g, 5, tensor("zero", nil, []float32{0}))
	g = msg(g, 5, tensor("k", outShape, out))
	g = msg(g, 11, valueInfo("images", in))
	g = msg(g, 12, valueInfo("output0", outShape))

	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType) // ir_version
	m = protowire.AppendVarint(m, 8)
	m = protowire.AppendTag(m, 2, protowire.BytesType) // producer_name
	m = protowire.AppendString(m, "brightkitchen-test")
	m = msg(m, 7, g)
	var op []byte
	op = protowire.AppendTag(op, 2, protowire.VarintType) // version (default domain)
	op = protowire.AppendVarint(op, 17)
	m = msg(m, 8, op)
	return m
}

func msg(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func str(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// node is a NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
func node(op string, inputs []string, output string, attrs ...[]byte) []byte {
	var b []byte
	for _, in := range inputs {
		b = str(b, 1, in)
	}
	b = str(b, 2, output)
	b = str(b, 3, op+"_"+output)
	b = str(b, 4, op)
	for _, a := range attrs {
		b = msg(b, 5, a)
	}
	return b
}

// attrInt is an AttributeProto of type INT: name 1, i 3, type 20 (INT = 2).
func attrInt(name string, v int64) []byte {
	b := str(nil, 1, name)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(v))
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, 2)
}

// tensor is a float TensorProto: dims 1, data_type 2 (FLOAT = 1), name 8,
// raw_data 9 (little-endian).
func tensor(name string, dims []int64, v []float32) []byte {
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = str(b, 8, name)
	raw := make([]byte, 0, 4*len(v))
	for _, f := range v {
		raw = protowire.AppendFixed32(raw, math.Float32bits(f))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

// valueInfo is a ValueInfoProto (name 1, type 2) of a float tensor:
// TypeProto.tensor_type 1 {elem_type 1, shape 2 {dim 1 {dim_value 1}}}.
func valueInfo(name string, dims []int64) []byte {
	var shape []byte
	for _, d := range dims {
		var dim []byte
		dim = protowire.AppendTag(dim, 1, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(d))
		shape = msg(shape, 1, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, 1)
	tt = msg(tt, 2, shape)
	b := str(nil, 1, name)
	return msg(b, 2, msg(nil, 1, tt))
}

// Manifest is the manifest WriteModel writes next to its model: a 32×32
// input and one class, person, in a yolov8 head.
const Manifest = `input: {width: 32, height: 32}
output: {format: yolov8}
classes:
  - {name: person, role: person}
`

// WriteModel writes dir/name.onnx, a model that finds one person in the
// middle of any frame at score 0.9, and its manifest dir/name.yaml. It
// returns the model's path and its sha256 in hex.
func WriteModel(t testing.TB, dir, name string) (path, sum string) {
	t.Helper()
	model := ConstGraph([]int64{1, 3, 32, 32}, []int64{1, 5, 1}, []float32{16, 16, 8, 8, 0.9})
	path = filepath.Join(dir, name+".onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(Manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(model)
	return path, hex.EncodeToString(s[:])
}
