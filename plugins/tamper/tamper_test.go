package tamper

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	fw, fh = 640, 360
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// kitchen renders a textured "kitchen": tiles, a gradient, a sine texture,
// sensor noise, and a bright and a dark rectangle that move with i.
func kitchen(i int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	p := make([]byte, fw*fh)
	bx, by := 40+(i*37)%400, 120+(i*11)%100
	dx := 500 - (i*23)%300
	for y := 0; y < fh; y++ {
		for x := 0; x < fw; x++ {
			v := 90.0 + float64(x)/8 + 25*math.Sin(float64(x)/7)*math.Cos(float64(y)/5)
			if y < fh/2 && (x%32 < 2 || y%30 < 2) {
				v -= 50 // grout
			}
			if y >= fh/2 && ((x/53)+(y/36))%2 == 0 {
				v += 40 // floor checks
			}
			if x >= bx && x < bx+60 && y >= by && y < by+120 {
				v = 235
			}
			if x >= dx && x < dx+50 && y >= 150 && y < 280 {
				v = 40
			}
			v += r.NormFloat64() * 3
			p[y*fw+x] = clampByte(v)
		}
	}
	return p
}

func clampByte(v float64) byte {
	return byte(math.Max(0, math.Min(255, math.Round(v))))
}

// scale maps every pixel of p through a*v+b.
func scale(p []byte, a, b float64) []byte {
	out := make([]byte, len(p))
	for i, v := range p {
		out[i] = clampByte(a*float64(v) + b)
	}
	return out
}

// covered renders a covered lens: black (limited-range luma ~10) with faint
// noise.
func covered(i int) []byte {
	r := rand.New(rand.NewPCG(7, uint64(i)))
	p := make([]byte, fw*fh)
	for j := range p {
		p[j] = clampByte(10 + r.NormFloat64())
	}
	return p
}

// boxBlur blurs p with a (2r+1)^2 box, twice.
func boxBlur(p []byte, rad int) []byte {
	pass := func(src []byte) []byte {
		dst := make([]byte, len(src))
		tmp := make([]float64, len(src))
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				s, n := 0.0, 0
				for k := max(0, x-rad); k <= min(fw-1, x+rad); k++ {
					s += float64(src[y*fw+k])
					n++
				}
				tmp[y*fw+x] = s / float64(n)
			}
		}
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				s, n := 0.0, 0
				for k := max(0, y-rad); k <= min(fh-1, y+rad); k++ {
					s += tmp[k*fw+x]
					n++
				}
				dst[y*fw+x] = clampByte(s / float64(n))
			}
		}
		return dst
	}
	return pass(pass(p))
}

func labelsOf(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Label)
	}
	return out
}

// run feeds frames to one camera at step intervals and returns the labels
// reported for each frame.
func run(t *testing.T, d *Detector, cam string, frames [][]byte, w, h int, step time.Duration, cfg Config) [][]string {
	t.Helper()
	var out [][]string
	for i, f := range frames {
		rs, err := d.Process(cam, t0.Add(time.Duration(i)*step), f, w, h, cfg)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		seen := map[string]bool{}
		for _, r := range rs {
			if seen[r.Label] {
				t.Fatalf("frame %d: %s reported twice", i, r.Label)
			}
			seen[r.Label] = true
			if r.Score < 0.5 || r.Score > 1 || math.IsNaN(r.Score) {
				t.Fatalf("frame %d: %s score %v", i, r.Label, r.Score)
			}
		}
		out = append(out, labelsOf(rs))
	}
	return out
}

func normal(n, from int) [][]byte {
	var fs [][]byte
	for i := 0; i < n; i++ {
		fs = append(fs, kitchen(from+i, 1))
	}
	return fs
}

func TestNormalSceneReportsNothing(t *testing.T) {
	var d Detector
	got := run(t, &d, "cam", normal(20, 0), fw, fh, time.Second, Config{})
	for i, ls := range got {
		if len(ls) != 0 {
			t.Errorf("frame %d: %v, want nothing", i, ls)
		}
	}
}

// TestHysteresis checks each condition against its scene: nothing before
// the Hysteresis-th frame, the label from it on, and the label held for
// Hysteresis-1 frames after the scene returns to normal.
func TestHysteresis(t *testing.T) {
	sharp := normal(10, 0)
	cases := []struct {
		name  string
		label string
		scene func(i int) []byte
	}{
		{"covered", LabelOccluded, covered},
		{"night", LabelDark, func(i int) []byte { return scale(kitchen(100+i, 2), 0.15, 5) }},
		{"blurred", LabelBlurred, func(i int) []byte { return boxBlur(kitchen(100+i, 3), 6) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Detector
			frames := slices.Clone(sharp)
			for i := 0; i < 5; i++ {
				frames = append(frames, c.scene(i))
			}
			frames = append(frames, normal(5, 50)...)
			got := run(t, &d, "cam", frames, fw, fh, time.Second, Config{})
			for i, ls := range got {
				var want []string
				if i >= 12 && i <= 16 { // scene at 10..14: on from 12, held to 16
					want = []string{c.label}
				}
				if !slices.Equal(ls, want) {
					t.Errorf("frame %d: %v, want %v", i, ls, want)
				}
			}
		})
	}
}

func TestSingleDimFrameDoesNotFire(t *testing.T) {
	var d Detector
	frames := normal(12, 0)
	frames[5] = scale(frames[5], 0.1, 0) // a dim moment
	frames[8] = boxBlur(frames[8], 6)    // a moment out of focus
	frames[9] = covered(0)               // a hand passing over the lens
	got := run(t, &d, "cam", frames, fw, fh, time.Second, Config{})
	for i, ls := range got {
		if len(ls) != 0 {
			t.Errorf("frame %d: %v, want nothing", i, ls)
		}
	}
}

func TestBlurredRelativeToHistory(t *testing.T) {
	// A mild blur stays above blur_abs but far below the camera's usual
	// sharpness.
	mild := boxBlur(kitchen(200, 4), 3)
	st, _ := Measure(mild, fw, fh)
	sharpSt, _ := Measure(kitchen(2, 1), fw, fh)
	if st.LapVar < DefaultConfig().BlurAbs || st.LapVar > 0.25*sharpSt.LapVar {
		t.Fatalf("test scene: mild blur lapvar %.1f, sharp %.1f", st.LapVar, sharpSt.LapVar)
	}
	frames := normal(10, 0)
	for i := 0; i < 4; i++ {
		frames = append(frames, boxBlur(kitchen(200+i, 4), 3))
	}
	var d Detector
	got := run(t, &d, "cam", frames, fw, fh, time.Second, Config{})
	if want := []string{LabelBlurred}; !slices.Equal(got[12], want) || !slices.Equal(got[13], want) {
		t.Errorf("relative blur: %v, want blurred on frames 12, 13", got)
	}
	// Without history the same frames pass.
	var fresh Detector
	got = run(t, &fresh, "cam", frames[10:], fw, fh, time.Second, Config{})
	for i, ls := range got {
		if len(ls) != 0 {
			t.Errorf("no history, frame %d: %v", i, ls)
		}
	}
}

func TestFrozenNeedsTimeSpan(t *testing.T) {
	still := kitchen(0, 1)
	frames := make([][]byte, 12)
	for i := range frames {
		frames[i] = still
	}
	// At 10 fps, 12 identical frames span 1.1 s: not frozen.
	var d Detector
	for i, ls := range run(t, &d, "fast", frames, fw, fh, 100*time.Millisecond, Config{}) {
		if len(ls) != 0 {
			t.Errorf("1.1 s still, frame %d: %v", i, ls)
		}
	}
	// One frame per 2 s GOP: the run spans 10 s at frame 5.
	got := run(t, &d, "gop", frames, fw, fh, 2*time.Second, Config{})
	for i, ls := range got {
		var want []string
		if i >= 5 {
			want = []string{LabelFrozen}
		}
		if !slices.Equal(ls, want) {
			t.Errorf("frame %d (%v): %v, want %v", i, time.Duration(i)*2*time.Second, ls, want)
		}
	}
	// Motion resumes: the label clears after Hysteresis moving frames.
	more := normal(4, 10)
	for i, f := range more {
		rs, _ := d.Process("gop", t0.Add(time.Duration(12+i)*2*time.Second), f, fw, fh, Config{})
		on := slices.Contains(labelsOf(rs), LabelFrozen)
		if on != (i < 2) {
			t.Errorf("moving frame %d: frozen=%v", i, on)
		}
	}
	// A shorter span by param.
	cfg, err := ParseConfig(map[string]string{"frozen_span": "4s"})
	if err != nil {
		t.Fatal(err)
	}
	got = run(t, &Detector{}, "short", frames[:4], fw, fh, 2*time.Second, cfg)
	if !slices.Equal(got[3], []string{LabelFrozen}) || len(got[2]) != 0 {
		t.Errorf("frozen_span 4s: %v", got)
	}
}

func TestCamerasAreSeparate(t *testing.T) {
	var d Detector
	for i := 0; i < 6; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		a, err := d.Process("a", at, covered(i), fw, fh, Config{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Process("b", at, kitchen(i, 1), fw, fh, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 0 {
			t.Errorf("frame %d: camera b %v", i, labelsOf(b))
		}
		if want := i >= 2; want != slices.Equal(labelsOf(a), []string{LabelOccluded}) {
			t.Errorf("frame %d: camera a %v", i, labelsOf(a))
		}
	}
}

func TestCameraMapIsBounded(t *testing.T) {
	d := Detector{MaxCameras: 4}
	small := make([]byte, 160*90)
	for i := 0; i < 10; i++ {
		if _, err := d.Process(fmt.Sprint("cam", i), t0, small, 160, 90, Config{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.Cameras(); n != 4 {
		t.Errorf("cameras = %d, want 4", n)
	}
	var def Detector
	for i := 0; i < DefaultMaxCameras+50; i++ {
		def.Process(fmt.Sprint("cam", i), t0, small, 160, 90, Config{})
	}
	if n := def.Cameras(); n != DefaultMaxCameras {
		t.Errorf("default cameras = %d, want %d", n, DefaultMaxCameras)
	}
	// The evicted camera starts over: its hysteresis is gone.
	d = Detector{MaxCameras: 2}
	cov := make([]byte, 160*90)
	for i := 0; i < 3; i++ {
		d.Process("x", t0.Add(time.Duration(i)*time.Second), cov, 160, 90, Config{})
	}
	d.Process("y", t0, cov, 160, 90, Config{})
	d.Process("z", t0, cov, 160, 90, Config{}) // evicts x
	rs, _ := d.Process("x", t0.Add(5*time.Second), cov, 160, 90, Config{})
	if len(rs) != 0 {
		t.Errorf("evicted camera kept state: %v", labelsOf(rs))
	}
}

func TestConcurrentCameras(t *testing.T) {
	d := Detector{MaxCameras: 3}
	var wg sync.WaitGroup
	frames := normal(3, 0)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := d.Process(fmt.Sprint("cam", (g+i)%5), t0.Add(time.Duration(i)*time.Second), frames[i%3], fw, fh, Config{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestBadFrames(t *testing.T) {
	var d Detector
	for _, c := range []struct {
		data []byte
		w, h int
	}{
		{nil, 0, 0},
		{make([]byte, 10), 640, 360},
		{make([]byte, 100), -10, -10},
		{make([]byte, 100), 100000, 1},
	} {
		if _, err := d.Process("cam", t0, c.data, c.w, c.h, Config{}); !errors.Is(err, ErrSize) {
			t.Errorf("%d bytes %dx%d: err %v, want ErrSize", len(c.data), c.w, c.h, err)
		}
	}
	// Odd sizes work, and a size change restarts the camera.
	for _, s := range [][2]int{{1, 1}, {3, 200}, {641, 361}, {160, 90}} {
		if _, err := d.Process("cam", t0, make([]byte, s[0]*s[1]), s[0], s[1], Config{}); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil || c != DefaultConfig() {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = ParseConfig(map[string]string{
		"occluded_std": "6", "dark_mean": "30.5", "blur_rel": "0.3", "hysteresis": "5",
		"frozen_span": "20", "other_plugin_key": "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.OccludedStd != 6 || c.DarkMean != 30.5 || c.BlurRel != 0.3 || c.Hysteresis != 5 || c.FrozenSpan != 20*time.Second {
		t.Errorf("parsed %+v", c)
	}
	for _, bad := range []map[string]string{
		{"dark_mean": "dark"}, {"dark_mean": "-1"}, {"blur_rel": "2"}, {"hysteresis": "0"},
		{"hysteresis": "1.5"}, {"frozen_span": "soon"}, {"frozen_span": "-3s"}, {"occluded_std": "NaN"},
	} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestCamsimFixtures runs the detector on IDR frames of the camsim clips
// (testdata/make-fixtures.sh), looping each clip as camsim does and feeding
// one frame per 2 s GOP, as the gateway's IDR-only sampling does.
func TestCamsimFixtures(t *testing.T) {
	cases := []struct {
		scene string
		want  []string // reported at the end
		never []string // never reported
	}{
		{"kitchen", nil, Labels},
		{"covered", []string{LabelOccluded}, []string{LabelDark, LabelBlurred}},
		{"night", []string{LabelDark}, []string{LabelOccluded, LabelBlurred, LabelFrozen}},
		{"blurred", []string{LabelBlurred}, []string{LabelOccluded, LabelDark, LabelFrozen}},
		{"frozen", []string{LabelFrozen}, []string{LabelOccluded, LabelDark, LabelBlurred}},
		// A perfectly still scene reads as frozen at one frame per GOP (see
		// the package doc); it must not read as anything else.
		{"empty", []string{LabelFrozen}, []string{LabelOccluded, LabelDark, LabelBlurred}},
	}
	for _, c := range cases {
		t.Run(c.scene, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + c.scene + ".gray")
			if err != nil {
				t.Fatal(err)
			}
			const size = 160 * 90
			n := len(data) / size
			var frames [][]byte
			for i := 0; i < 12; i++ { // 24 s
				j := i % n
				frames = append(frames, data[j*size:(j+1)*size])
			}
			var d Detector
			got := run(t, &d, "cam", frames, 160, 90, 2*time.Second, Config{})
			for i, ls := range got {
				for _, l := range c.never {
					if slices.Contains(ls, l) {
						t.Errorf("frame %d: %v", i, ls)
					}
				}
			}
			last := got[len(got)-1]
			slices.Sort(last)
			if !slices.Equal(last, c.want) {
				t.Errorf("last frame: %v, want %v", last, c.want)
			}
			// Within 10 s (5 frames) for everything but frozen.
			if c.scene != "frozen" && c.scene != "empty" && !slices.Equal(got[4], c.want) {
				t.Errorf("frame 4 (8 s): %v, want %v", got[4], c.want)
			}
		})
	}
}

func BenchmarkProcess640x360(b *testing.B) {
	frames := [][]byte{kitchen(0, 1), kitchen(1, 1)}
	var d Detector
	b.SetBytes(fw * fh)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Process("cam", t0.Add(time.Duration(i)*time.Second), frames[i%2], fw, fh, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
