package sdk

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Limits of the protocol. A reply beyond them is malformed.
const (
	MaxDetections = 256 // per frame; the rest are dropped
	MaxLabels     = 256 // in Info.Labels
	MaxFrameSide  = 8192
	MaxNameBytes  = 64 // plugin names, labels, camera ids
	MaxTrackID    = 128
	MaxAttrs      = 32
	MaxAttrKey    = 64
	MaxAttrValue  = 256
	MaxParams     = 64
)

// ValidateInfo checks a Describe reply.
func ValidateInfo(in Info) error {
	if !validName(in.Name) {
		return fmt.Errorf("name %q: want 1-%d lowercase letters, digits, '-' or '_'", in.Name, MaxNameBytes)
	}
	if len(in.Version) > 128 || !utf8.ValidString(in.Version) {
		return errors.New("version: not text or longer than 128 bytes")
	}
	if len(in.Labels) == 0 || len(in.Labels) > MaxLabels {
		return fmt.Errorf("labels: %d, want 1-%d", len(in.Labels), MaxLabels)
	}
	for i, l := range in.Labels {
		if !validLabel(l) {
			return fmt.Errorf("labels[%d] %q: want 1-%d printable bytes", i, l, MaxNameBytes)
		}
	}
	if len(in.Input.Formats) == 0 {
		return errors.New("input.formats: empty")
	}
	raw := false
	for i, f := range in.Input.Formats {
		if f < FormatJPEG || f > FormatI420 {
			return fmt.Errorf("input.formats[%d]: unknown format %d", i, f)
		}
		raw = raw || f != FormatJPEG
	}
	if !raw {
		return errors.New("input.formats: none of GRAY8, I420 or RGB24 (the gateway sends raw frames; it never encodes JPEG for plugins)")
	}
	if in.Input.MaxWidth < 0 || in.Input.MaxHeight < 0 || in.Input.MaxWidth > MaxFrameSide || in.Input.MaxHeight > MaxFrameSide {
		return fmt.Errorf("input: max size %dx%d outside 0..%d", in.Input.MaxWidth, in.Input.MaxHeight, MaxFrameSide)
	}
	if math.IsNaN(in.Input.FPS) || in.Input.FPS < 0 || in.Input.FPS > 60 {
		return fmt.Errorf("input.fps %v: want 0..60", in.Input.FPS)
	}
	return nil
}

// ValidateFrame checks a frame before a plugin sees it: Serve refuses a
// frame that fails with codes.InvalidArgument.
func ValidateFrame(f Frame) error {
	if len(f.CameraID) > MaxNameBytes || !utf8.ValidString(f.CameraID) {
		return errors.New("camera_id: not text or too long")
	}
	if f.Width <= 0 || f.Height <= 0 || f.Width > MaxFrameSide || f.Height > MaxFrameSide {
		return fmt.Errorf("size %dx%d: want 1..%d on each side", f.Width, f.Height, MaxFrameSide)
	}
	switch f.Format {
	case FormatGRAY8, FormatRGB24, FormatI420:
		if want := f.Format.Size(f.Width, f.Height); len(f.Data) != want {
			return fmt.Errorf("data: %d bytes, a %dx%d %s frame is %d", len(f.Data), f.Width, f.Height, f.Format, want)
		}
	case FormatJPEG:
		if len(f.Data) < 4 || f.Data[0] != 0xFF || f.Data[1] != 0xD8 {
			return errors.New("data: not a JPEG (no SOI marker)")
		}
	default:
		return fmt.Errorf("format %d: unknown", f.Format)
	}
	if len(f.Params) > MaxParams {
		return fmt.Errorf("params: %d entries, at most %d", len(f.Params), MaxParams)
	}
	return nil
}

// ValidateDetection says what is wrong with one detection of a plugin that
// described itself as info, or nil.
func ValidateDetection(info Info, d Detection) error {
	b := d.Box
	switch {
	case !validLabel(d.Label):
		return fmt.Errorf("label %q: not a label", d.Label)
	case !slices.Contains(info.Labels, d.Label):
		return fmt.Errorf("label %q: not declared by plugin %q", d.Label, info.Name)
	case math.IsNaN(d.Score) || d.Score < 0 || d.Score > 1:
		return fmt.Errorf("score %v: want 0..1", d.Score)
	case !finite(b.X, b.Y, b.W, b.H):
		return fmt.Errorf("box %+v: not finite", b)
	case b.X < 0 || b.Y < 0 || b.W < 0 || b.H < 0 || b.X+b.W > 1+boxSlack || b.Y+b.H > 1+boxSlack:
		return fmt.Errorf("box %+v: outside 0..1", b)
	case len(d.TrackID) > MaxTrackID || !utf8.ValidString(d.TrackID):
		return errors.New("track_id: not text or longer than 128 bytes")
	case len(d.Attrs) > MaxAttrs:
		return fmt.Errorf("attrs: %d entries, at most %d", len(d.Attrs), MaxAttrs)
	}
	for k, v := range d.Attrs {
		if len(k) > MaxAttrKey || len(v) > MaxAttrValue || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("attrs[%.64q]: not text or too long", k)
		}
	}
	return nil
}

// boxSlack lets a box edge stray past 1 by rounding.
const boxSlack = 1e-6

// ValidateDetections returns the well-formed detections of one reply and how
// many it dropped; past MaxDetections good ones the rest are dropped too.
// Kept boxes are clamped into 0..1.
func ValidateDetections(info Info, ds []Detection) (valid []Detection, dropped int) {
	for _, d := range ds {
		if len(valid) == MaxDetections || ValidateDetection(info, d) != nil {
			dropped++
			continue
		}
		d.Box.W = min(d.Box.W, 1-d.Box.X)
		d.Box.H = min(d.Box.H, 1-d.Box.Y)
		valid = append(valid, d)
	}
	return valid, dropped
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func validName(s string) bool {
	if s == "" || len(s) > MaxNameBytes {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validLabel(s string) bool {
	if s == "" || len(s) > MaxNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
