package sdk

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/brightkitchen/brightkitchen/plugins/sdk/pluginpb"
)

// FuzzDetectReply feeds arbitrary bytes as a plugin's Detect reply: the
// host decodes and validates it without panicking, and everything it keeps
// is well-formed.
func FuzzDetectReply(f *testing.F) {
	seed := func(ds ...Detection) {
		b, err := proto.Marshal(detectionsToPB(ds))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	good := Detection{Label: "motion", Score: 0.8, Box: Box{0.1, 0.2, 0.3, 0.4}, TrackID: "t1", Attrs: map[string]string{"k": "v"}}
	seed(good)
	seed(good, Detection{Label: "motion", Score: math.NaN()}, Detection{Label: "x", Score: 0.5})
	seed(Detection{Label: "motion", Score: 0.5, Box: Box{0.9, 0.9, 0.5, 0.5}})
	seed(Detection{Label: "motion", Score: 0.5, Box: Box{math.Inf(-1), 0, 0, 0}})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	info := Info{Name: "fuzz", Labels: []string{"motion", "camera_dark"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pluginpb.Detections
		if err := proto.Unmarshal(b, &p); err != nil {
			return
		}
		kept, dropped := ValidateDetections(info, detectionsFromPB(&p))
		if len(kept)+dropped != len(p.GetDetections()) || len(kept) > MaxDetections {
			t.Fatalf("kept %d + dropped %d != %d", len(kept), dropped, len(p.GetDetections()))
		}
		for _, d := range kept {
			if err := ValidateDetection(info, d); err != nil {
				t.Fatalf("kept a bad detection: %v", err)
			}
			if d.Box.X+d.Box.W > 1 || d.Box.Y+d.Box.H > 1 {
				t.Fatalf("kept box not clamped: %+v", d.Box)
			}
		}
	})
}

// FuzzFrame: a Frame off the wire, as a plugin built with Serve sees it, is
// either refused by ValidateFrame or safe to index by its declared size.
func FuzzFrame(f *testing.F) {
	f.Add(int32(4), int32(2), int32(FormatGRAY8), make([]byte, 8))
	f.Add(int32(3), int32(3), int32(FormatI420), make([]byte, 17))
	f.Add(int32(-1), int32(2), int32(FormatRGB24), []byte{1})
	f.Add(int32(1<<30), int32(1<<30), int32(FormatRGB24), []byte{})
	f.Fuzz(func(t *testing.T, w, h, format int32, data []byte) {
		fr := frameFromPB(&pluginpb.Frame{Width: w, Height: h, Format: pluginpb.Format(format), Data: data})
		if ValidateFrame(fr) != nil {
			return
		}
		if fr.Format != FormatJPEG && len(fr.Data) != fr.Format.Size(fr.Width, fr.Height) {
			t.Fatalf("accepted %dx%d %v with %d bytes", w, h, fr.Format, len(data))
		}
	})
}
