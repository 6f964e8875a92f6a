package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Output formats of a detection head.
const (
	// FormatYOLOv5 is [1, N, 5+C]: cx, cy, w, h, objectness, then C class
	// probabilities; a box's score is objectness × class probability.
	FormatYOLOv5 = "yolov5"
	// FormatYOLOv8 is [1, 4+C, N]: cx, cy, w, h, then C class scores, no
	// objectness. YOLO11 heads are the same ("yolo11" is accepted as a name).
	FormatYOLOv8 = "yolov8"
)

// Roles of a class for the gateway's rules (detection attr "role").
const (
	RolePerson        = "person"         // a person box
	RoleAttribute     = "attribute"      // something a person wears (a hat, a mask), inside the person's region
	RolePersonWithout = "person_without" // a person lacking something ("no_chef_hat")
	RoleObject        = "object"         // anything else (phone, cigarette, rodent, bin)
)

// Manifest describes a model: what it takes, what its output means, and
// what each class is for. It sits next to the model as <model>.yaml,
// <model>.yml or <model>.json (JSON is YAML too). Unknown keys are errors.
type Manifest struct {
	// Name is the model's name, reported in each detection's attrs
	// ("model"). Default: the model file's name without .onnx.
	Name string `yaml:"name"`
	// SHA256 of the .onnx file, hex. Optional; when set, a model that does
	// not match is refused.
	SHA256 string `yaml:"sha256"`
	Input  Input  `yaml:"input"`
	Output Output `yaml:"output"`
	// MinScore is the score threshold of a class that sets none, in (0, 1].
	// Default 0.25.
	MinScore float64 `yaml:"min_score"`
	// Classes, in the model's class order; required.
	Classes []Class `yaml:"classes"`
}

// Input is the model's input tensor.
type Input struct {
	// Width and Height in pixels, 8..4096; required.
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// Layout: "nchw" (the only one so far). Default nchw.
	Layout string `yaml:"layout"`
	// Color: "rgb" or "bgr". Default rgb.
	Color string `yaml:"color"`
	// Pixels are float32 scaled to 0..1 (value/255), the YOLO convention.
}

// Output is the model's output tensor.
type Output struct {
	// Format: "yolov5" or "yolov8" ("yolo11" is the same as yolov8); required.
	Format string `yaml:"format"`
	// NMSIoU: boxes of one class overlapping a better one by more than this
	// IoU are dropped, in (0, 1]. Default 0.45.
	NMSIoU float64 `yaml:"nms_iou"`
	// MaxDetections kept per frame after NMS, 1..256. Default 100.
	MaxDetections int `yaml:"max_detections"`
}

// Class is one output class.
type Class struct {
	// Name is the class's name in the model; required, unique.
	Name string `yaml:"name"`
	// Label is the detection label the plugin reports for it. Default:
	// Name. Use violation types where they fit (no_chef_hat, rodent).
	Label string `yaml:"label"`
	// Role for the rules: person, attribute, person_without or object.
	// Default object.
	Role string `yaml:"role"`
	// Region of the person an attribute belongs in: head or body. Required
	// for role attribute, refused for the others.
	Region string `yaml:"region"`
	// MinScore for this class, in (0, 1]. Default Manifest.MinScore.
	MinScore float64 `yaml:"min_score"`
}

var (
	labelRe = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)
	hexRe   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// maxManifestBytes bounds a manifest file.
const maxManifestBytes = 1 << 20

// ManifestPath finds the manifest of the model at modelPath: the first of
// <base>.yaml, <base>.yml and <base>.json that exists, base being the path
// without ".onnx".
func ManifestPath(modelPath string) (string, error) {
	base := strings.TrimSuffix(modelPath, ".onnx")
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		if _, err := os.Stat(base + ext); err == nil {
			return base + ext, nil
		}
	}
	return "", fmt.Errorf("no manifest for %s: want %s.yaml, .yml or .json next to it", modelPath, base)
}

// LoadManifest reads and checks the manifest at path. Errors name the key.
func LoadManifest(path string) (Manifest, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	if fi.Size() > maxManifestBytes {
		return Manifest{}, fmt.Errorf("read manifest %s: %d bytes, at most %d", path, fi.Size(), maxManifestBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("read manifest: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest %s: %w", path, err)
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return m, nil
}

// ParseManifest decodes a manifest (YAML or JSON), fills the defaults and
// checks it.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("decode: %w", err)
	}
	if err := m.fill(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func (m *Manifest) fill() error {
	in := &m.Input
	if in.Width < 8 || in.Width > 4096 || in.Height < 8 || in.Height > 4096 {
		return fmt.Errorf("input.width, input.height: %dx%d, want 8..4096 each", in.Width, in.Height)
	}
	if in.Layout == "" {
		in.Layout = "nchw"
	}
	if in.Layout != "nchw" {
		return fmt.Errorf("input.layout: %q, want nchw", in.Layout)
	}
	if in.Color == "" {
		in.Color = "rgb"
	}
	if in.Color != "rgb" && in.Color != "bgr" {
		return fmt.Errorf("input.color: %q, want rgb or bgr", in.Color)
	}
	out := &m.Output
	switch out.Format {
	case FormatYOLOv5, FormatYOLOv8:
	case "yolo11":
		out.Format = FormatYOLOv8
	case "":
		return errors.New("output.format: required (yolov5, yolov8 or yolo11)")
	default:
		return fmt.Errorf("output.format: unknown format %q, want yolov5, yolov8 or yolo11", out.Format)
	}
	if out.NMSIoU == 0 {
		out.NMSIoU = 0.45
	}
	if !(out.NMSIoU > 0 && out.NMSIoU <= 1) {
		return fmt.Errorf("output.nms_iou: %v, want (0, 1]", out.NMSIoU)
	}
	if out.MaxDetections == 0 {
		out.MaxDetections = 100
	}
	if out.MaxDetections < 1 || out.MaxDetections > 256 {
		return fmt.Errorf("output.max_detections: %d, want 1..256", out.MaxDetections)
	}
	if m.MinScore == 0 {
		m.MinScore = 0.25
	}
	if !(m.MinScore > 0 && m.MinScore <= 1) {
		return fmt.Errorf("min_score: %v, want (0, 1]", m.MinScore)
	}
	m.SHA256 = strings.ToLower(m.SHA256)
	if m.SHA256 != "" && !hexRe.MatchString(m.SHA256) {
		return fmt.Errorf("sha256: %q is not 64 hex digits", m.SHA256)
	}
	if len(m.Classes) == 0 || len(m.Classes) > 256 {
		return fmt.Errorf("classes: %d, want 1..256", len(m.Classes))
	}
	names := map[string]bool{}
	for i := range m.Classes {
		c := &m.Classes[i]
		key := fmt.Sprintf("classes[%d]", i)
		if !labelRe.MatchString(c.Name) {
			return fmt.Errorf("%s.name: %q, want 1..64 printable bytes without spaces", key, c.Name)
		}
		if names[c.Name] {
			return fmt.Errorf("%s.name: %q twice", key, c.Name)
		}
		names[c.Name] = true
		if c.Label == "" {
			c.Label = c.Name
		}
		if !labelRe.MatchString(c.Label) {
			return fmt.Errorf("%s.label: %q, want 1..64 printable bytes without spaces", key, c.Label)
		}
		if c.Role == "" {
			c.Role = RoleObject
		}
		switch c.Role {
		case RoleAttribute:
			if c.Region != "head" && c.Region != "body" {
				return fmt.Errorf("%s.region: %q, want head or body for an attribute", key, c.Region)
			}
		case RolePerson, RolePersonWithout, RoleObject:
			if c.Region != "" {
				return fmt.Errorf("%s.region: only an attribute has a region", key)
			}
		default:
			return fmt.Errorf("%s.role: %q, want person, attribute, person_without or object", key, c.Role)
		}
		if c.MinScore == 0 {
			c.MinScore = m.MinScore
		}
		if !(c.MinScore > 0 && c.MinScore <= 1) || math.IsNaN(c.MinScore) {
			return fmt.Errorf("%s.min_score: %v, want (0, 1]", key, c.MinScore)
		}
	}
	return nil
}

// Labels are the distinct labels the classes report, in class order.
func (m Manifest) Labels() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range m.Classes {
		if !seen[c.Label] {
			seen[c.Label] = true
			out = append(out, c.Label)
		}
	}
	return out
}
