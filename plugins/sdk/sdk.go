// Package sdk is the BrightKitchen detector plugin SDK: the contract both
// sides import (the bk.plugin.v1.Detector service, the go-plugin handshake,
// Go types for frames and detections), Serve for plugin authors, and, for
// the gateway, a host client (Launch), a Supervisor that keeps one plugin
// process healthy, and the checks every reply passes (ValidateDetections).
//
// A plugin is its own executable, so a crashing or hanging detector never
// stops a camera. Writing one in Go:
//
//	type detector struct{}
//
//	func (detector) Describe(ctx context.Context) (sdk.Info, error) {
//		return sdk.Info{Name: "hat", Version: "1.0.0", Labels: []string{"no_chef_hat"},
//			Input: sdk.Input{Formats: []sdk.Format{sdk.FormatRGB24}, MaxWidth: 640, MaxHeight: 360}}, nil
//	}
//
//	func (detector) Detect(ctx context.Context, f sdk.Frame) ([]sdk.Detection, error) { ... }
//
//	func main() { sdk.Serve(detector{}) }
//
// Package sdktest is the conformance kit to run against the binary; see
// docs/plugins.md for plugins in other languages.
package sdk

import (
	"context"
	"time"

	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the app protocol version of bk.plugin.v1.
const ProtocolVersion = 1

// MaxMessageBytes is the gRPC message limit set on both sides.
const MaxMessageBytes = 32 << 20

// PluginName is the key of the detector in go-plugin's plugin set.
const PluginName = "detector"

// Handshake is what the gateway and a plugin agree on before anything else:
// the plugin refuses to run unless BK_PLUGIN=detector is in its environment
// (so that a user who starts it by hand gets a clear message instead of a
// hung process).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "BK_PLUGIN",
	MagicCookieValue: "detector",
}

// Format is a frame's pixel format.
type Format int32

// Formats, numbered as in the proto. Raw formats are tightly packed.
const (
	FormatJPEG  Format = 1
	FormatGRAY8 Format = 2
	FormatRGB24 Format = 3
	FormatI420  Format = 4
)

// String is the format's name.
func (f Format) String() string {
	switch f {
	case FormatJPEG:
		return "JPEG"
	case FormatGRAY8:
		return "GRAY8"
	case FormatRGB24:
		return "RGB24"
	case FormatI420:
		return "I420"
	}
	return "unknown"
}

// Size is the byte size of a raw frame of w×h in f; 0 for JPEG or an
// unknown format.
func (f Format) Size(w, h int) int {
	switch f {
	case FormatGRAY8:
		return w * h
	case FormatRGB24:
		return w * h * 3
	case FormatI420:
		cw, ch := (w+1)/2, (h+1)/2
		return w*h + 2*cw*ch
	}
	return 0
}

// Info is what a plugin says about itself.
type Info struct {
	// Name: lowercase letters, digits, '-' and '_', at most 64 bytes.
	Name    string
	Version string
	// Labels are every label the plugin may return.
	Labels []string
	Input  Input
}

// Input is what frames a plugin wants.
type Input struct {
	// Formats accepted; the gateway sends the cheapest raw one.
	Formats []Format
	// MaxWidth and MaxHeight bound the frame; zero means 640×360.
	MaxWidth, MaxHeight int
	// FPS the plugin is built for; zero means one frame per GOP.
	FPS float64
}

// Frame is one picture for a plugin.
type Frame struct {
	CameraID      string
	CapturedAt    time.Time
	Width, Height int
	Format        Format
	Data          []byte
	// Params are the camera's settings for this plugin.
	Params map[string]string
}

// Box is a normalised rectangle, 0..1, origin top left.
type Box struct{ X, Y, W, H float64 }

// Detection is one thing a plugin saw.
type Detection struct {
	Label   string
	Score   float64
	Box     Box
	TrackID string
	Attrs   map[string]string
}

// Detector is what a plugin implements. Detect may be called concurrently.
type Detector interface {
	Describe(ctx context.Context) (Info, error)
	Detect(ctx context.Context, f Frame) ([]Detection, error)
}
