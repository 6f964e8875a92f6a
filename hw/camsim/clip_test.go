package camsim

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestScenes(t *testing.T) {
	want := []string{
		"bin-open", "blurred", "blurred-h265", "covered", "covered-h265", "empty", "empty-h265",
		"frozen", "frozen-h265", "kitchen", "kitchen-1080", "kitchen-h265", "night", "night-h265",
		"no-hat", "no-mask", "no-uniform", "phone", "rodent", "smoking", "staff",
	}
	if got := Scenes(); !slices.Equal(got, want) {
		t.Fatalf("Scenes() = %v, want %v", got, want)
	}
	if got := SceneGOPs("kitchen"); !slices.Equal(got, []int{1, 2, 4}) {
		t.Errorf("SceneGOPs(kitchen) = %v", got)
	}
	if got := SceneGOPs("kitchen-1080"); !slices.Equal(got, []int{2}) {
		t.Errorf("SceneGOPs(kitchen-1080) = %v", got)
	}
	if got := SceneGOPs("no-hat"); !slices.Equal(got, []int{2}) {
		t.Errorf("SceneGOPs(no-hat) = %v", got)
	}
	if got := SceneGOPs("garage"); got != nil {
		t.Errorf("SceneGOPs(garage) = %v", got)
	}
}

// TestClips parses every embedded clip and checks what the server and the
// detectors rely on: size, frame rate, length, an IDR every GOP with the
// parameter sets in front of it, and nothing else random-access.
func TestClips(t *testing.T) {
	for _, scene := range Scenes() {
		for _, gop := range SceneGOPs(scene) {
			c, err := Clip(scene, gop)
			if err != nil {
				t.Fatalf("Clip(%s, %d): %v", scene, gop, err)
			}
			wantW, wantH, wantFPS, wantLen := 640, 360, 10, 80
			switch scene {
			case "kitchen-1080":
				wantW, wantH, wantFPS, wantLen = 1920, 1080, 25, 100
			case "empty", "empty-h265", "covered", "covered-h265", "frozen", "frozen-h265":
				wantLen = 40
			}
			if c.Width != wantW || c.Height != wantH || c.FPS != wantFPS || len(c.AccessUnits) != wantLen {
				t.Errorf("%s g%d: %dx%d %d fps %d frames, want %dx%d %d fps %d frames",
					scene, gop, c.Width, c.Height, c.FPS, len(c.AccessUnits), wantW, wantH, wantFPS, wantLen)
			}
			if len(c.AccessUnits)%(gop*c.FPS) != 0 {
				t.Errorf("%s g%d: %d frames is not a whole number of GOPs", scene, gop, len(c.AccessUnits))
			}
			for i, au := range c.AccessUnits {
				idr := c.IsRandomAccess(i)
				if want := i%(gop*c.FPS) == 0; idr != want {
					t.Errorf("%s g%d: frame %d random access = %v, want %v", scene, gop, i, idr, want)
				}
				if idr && !hasParamSets(c.Codec, au) {
					t.Errorf("%s g%d: IDR frame %d lacks in-band parameter sets", scene, gop, i)
				}
				vcl := 0
				for _, n := range au {
					if v, _, _, _ := classify(c.Codec, n); v {
						vcl++
					}
				}
				if vcl != 1 {
					t.Errorf("%s g%d: frame %d has %d slices, want 1", scene, gop, i, vcl)
				}
			}
			again, _ := Clip(scene, gop)
			if again != c {
				t.Errorf("%s g%d: Clip is not cached", scene, gop)
			}
		}
	}
}

func TestClipErrors(t *testing.T) {
	if _, err := Clip("garage", 2); !errors.Is(err, ErrUnknownScene) {
		t.Errorf("unknown scene: err = %v, want ErrUnknownScene", err)
	}
	if _, err := Clip("kitchen-1080", 4); !errors.Is(err, ErrNoClip) {
		t.Errorf("kitchen-1080 at GOP 4: err = %v, want ErrNoClip", err)
	}
	c, err := Clip("kitchen", 0)
	if err != nil || c.GOP != DefaultGOP {
		t.Errorf("Clip(kitchen, 0) = %v, %v; want the default GOP", c, err)
	}
}

func TestSplitAccessUnits(t *testing.T) {
	sc := []byte{0, 0, 0, 1}
	sc3 := []byte{0, 0, 1}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sps := []byte{0x67, 0x42}
	pps := []byte{0x68, 0xce}
	idr := []byte{0x65, 0x88, 0x84} // first_mb_in_slice = 0
	p1 := []byte{0x41, 0x9a, 0x01}  // first slice of a picture
	p1b := []byte{0x41, 0x40, 0x01} // second slice of the same picture (first_mb 1)
	sei := []byte{0x06, 0x05, 0x80}

	tests := []struct {
		name  string
		codec Codec
		in    []byte
		want  [][][]byte
	}{
		{
			name:  "params, idr, p",
			codec: CodecH264,
			in:    cat(sc, sps, sc, pps, sc3, idr, sc3, p1),
			want:  [][][]byte{{sps, pps, idr}, {p1}},
		},
		{
			name:  "two slices per picture, trailing zeros, garbage before first start code",
			codec: CodecH264,
			in:    cat([]byte{9, 9}, sc, idr, []byte{0, 0}, sc, p1, sc3, p1b, sc, sei, sc, p1),
			want:  [][][]byte{{idr}, {p1, p1b}, {sei, p1}},
		},
		{
			name:  "h265 vps sps pps idr, trail with suffix sei",
			codec: CodecH265,
			in: cat(sc, []byte{0x40, 0x01, 0x0c}, sc, []byte{0x42, 0x01, 0x01}, sc, []byte{0x44, 0x01, 0xc1},
				sc, []byte{0x26, 0x01, 0xaf}, sc, []byte{0x02, 0x01, 0xd0}, sc, []byte{0x50, 0x01, 0x05}),
			want: [][][]byte{
				{{0x40, 0x01, 0x0c}, {0x42, 0x01, 0x01}, {0x44, 0x01, 0xc1}, {0x26, 0x01, 0xaf}},
				{{0x02, 0x01, 0xd0}, {0x50, 0x01, 0x05}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitAccessUnits(tc.codec, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d access units %x, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if !slices.EqualFunc(got[i], tc.want[i], bytes.Equal) {
					t.Errorf("access unit %d = %x, want %x", i, got[i], tc.want[i])
				}
			}
		})
	}

	for _, in := range [][]byte{nil, {1, 2, 3}, cat(sc, sps, sc, pps)} {
		if _, err := SplitAccessUnits(CodecH264, in); err == nil {
			t.Errorf("SplitAccessUnits(%x): want an error", in)
		}
	}
	if _, err := SplitAccessUnits("vp8", cat(sc, idr)); err == nil {
		t.Error("unsupported codec: want an error")
	}
}

func FuzzSplitAccessUnits(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88}, false)
	f.Add([]byte{0, 0, 1, 0x26, 0x01, 0xaf, 0, 0, 1, 0x02}, true)
	f.Fuzz(func(t *testing.T, in []byte, h265 bool) {
		codec := CodecH264
		if h265 {
			codec = CodecH265
		}
		aus, err := SplitAccessUnits(codec, in)
		if err != nil {
			return
		}
		for _, au := range aus {
			if len(au) == 0 {
				t.Fatal("empty access unit")
			}
			for _, n := range au {
				if len(n) == 0 {
					t.Fatal("empty NAL unit")
				}
			}
		}
	})
}
