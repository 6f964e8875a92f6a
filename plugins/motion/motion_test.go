package motion

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

const fw, fh = 640, 360

// rect is a box in pixels of the 640x360 frame.
type rect struct{ x, y, w, h int }

func (r rect) norm() Box {
	return Box{X: float64(r.x) / fw, Y: float64(r.y) / fh, W: float64(r.w) / fw, H: float64(r.h) / fh}
}

// scene renders a textured frame with mean around base, sensor noise, and
// bright rectangles with a coarse random texture that moves with them.
func scene(seed uint64, i int, base float64, rects ...rect) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	p := make([]byte, fw*fh)
	for y := 0; y < fh; y++ {
		for x := 0; x < fw; x++ {
			v := base + base/4*math.Sin(float64(x)/9)*math.Cos(float64(y)/7) + float64(x%64)/16
			v += r.NormFloat64() * 2
			for _, b := range rects {
				if x >= b.x && x < b.x+b.w && y >= b.y && y < b.y+b.h {
					cx, cy := uint32((x-b.x)/8), uint32((y-b.y)/8)
					v = base + 40 + float64((cx*73856093^cy*19349663)%7)*10
				}
			}
			p[y*fw+x] = byte(max(0, min(255, math.Round(v))))
		}
	}
	return p
}

func iou(a, b Box) float64 {
	x0, y0 := math.Max(a.X, b.X), math.Max(a.Y, b.Y)
	x1, y1 := math.Min(a.X+a.W, b.X+b.W), math.Min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := (x1 - x0) * (y1 - y0)
	return in / (a.W*a.H + b.W*b.H - in)
}

func process(t testing.TB, d *Detector, cam string, f []byte, w, h int, cfg Config) []Box {
	t.Helper()
	bs, err := d.Process(cam, f, w, h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.X < 0 || b.Y < 0 || b.W <= 0 || b.H <= 0 || b.X+b.W > 1+1e-9 || b.Y+b.H > 1+1e-9 ||
			b.Score < 0 || b.Score > 1 || math.IsNaN(b.Score) {
			t.Fatalf("bad box %+v", b)
		}
	}
	return bs
}

// TestDarkSceneMovingBlob: a blob of 5% of the frame moving in a dark scene.
func TestDarkSceneMovingBlob(t *testing.T) {
	var d Detector
	// 144x80 = 5% of 640x360
	for i := 0; i < 20; i++ {
		truth := rect{x: 60 + 12*i, y: 200, w: 144, h: 80}
		bs := process(t, &d, "cam", scene(1, i, 25, truth), fw, fh, Config{})
		if i < 3 {
			if len(bs) != 0 {
				t.Errorf("warmup frame %d: %v", i, bs)
			}
			continue
		}
		if len(bs) == 0 {
			t.Errorf("frame %d: no box", i)
			continue
		}
		if got := iou(bs[0], truth.norm()); got <= 0.3 {
			t.Errorf("frame %d: IoU %.2f, box %+v, truth %+v", i, got, bs[0], truth.norm())
		}
	}
}

func TestStaticSceneNothing(t *testing.T) {
	var d Detector
	fixed := rect{200, 100, 100, 100} // a static object
	for i := 0; i < 30; i++ {
		if bs := process(t, &d, "cam", scene(2, i, 120, fixed), fw, fh, Config{}); len(bs) != 0 {
			t.Errorf("frame %d: %+v", i, bs)
		}
	}
}

func TestBrightnessJumpSuppressed(t *testing.T) {
	var d Detector
	for i := 0; i < 6; i++ {
		process(t, &d, "cam", scene(3, i, 30), fw, fh, Config{})
	}
	// Lightning: the whole frame jumps by ~60 levels, with a moving blob.
	if bs := process(t, &d, "cam", scene(3, 6, 90, rect{100, 100, 144, 80}), fw, fh, Config{}); len(bs) != 0 {
		t.Errorf("jump frame: %+v", bs)
	}
	// The frames after the reset only rebuild the background.
	for i := 7; i < 9; i++ {
		if bs := process(t, &d, "cam", scene(3, i, 90), fw, fh, Config{}); len(bs) != 0 {
			t.Errorf("frame %d after reset: %+v", i, bs)
		}
	}
	// Most pixels change but the mean barely does (a contrast flip).
	var e Detector
	base := scene(4, 0, 120)
	for i := 0; i < 5; i++ {
		process(t, &e, "cam", base, fw, fh, Config{})
	}
	inv := make([]byte, len(base))
	for i, v := range base {
		inv[i] = 240 - v
	}
	if bs := process(t, &e, "cam", inv, fw, fh, Config{}); len(bs) != 0 {
		t.Errorf("flip frame: %+v", bs)
	}
}

func TestMinAreaAndMaxBoxes(t *testing.T) {
	var rs []rect
	for i := 0; i < 40; i++ { // 40 blobs of 24x24 (0.25% of the frame)
		rs = append(rs, rect{x: 10 + (i%10)*62, y: 20 + (i/10)*85, w: 24, h: 24})
	}
	var d Detector
	for i := 0; i < 4; i++ {
		process(t, &d, "cam", scene(5, i, 60), fw, fh, Config{})
	}
	bs := process(t, &d, "cam", scene(5, 4, 60, rs...), fw, fh, Config{})
	if len(bs) != 32 {
		t.Errorf("%d boxes, want 32", len(bs))
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].Area > bs[i-1].Area {
			t.Errorf("boxes not largest first at %d", i)
		}
	}
	cfg, _ := ParseConfig(map[string]string{"min_area": "0.01"})
	var e Detector
	for i := 0; i < 4; i++ {
		process(t, &e, "cam", scene(5, i, 60), fw, fh, cfg)
	}
	if bs := process(t, &e, "cam", scene(5, 4, 60, rs...), fw, fh, cfg); len(bs) != 0 {
		t.Errorf("min_area 1%%: %d boxes", len(bs))
	}
}

func TestCamerasAreSeparate(t *testing.T) {
	var d Detector
	for i := 0; i < 10; i++ {
		a := process(t, &d, "a", scene(6, i, 40, rect{x: 40 + 20*i, y: 100, w: 144, h: 80}), fw, fh, Config{})
		b := process(t, &d, "b", scene(7, i, 140), fw, fh, Config{})
		if len(b) != 0 {
			t.Errorf("frame %d: static camera b has %+v", i, b)
		}
		if i >= 3 && len(a) == 0 {
			t.Errorf("frame %d: moving camera a has nothing", i)
		}
	}
}

func TestCameraMapIsBounded(t *testing.T) {
	d := Detector{MaxCameras: 5}
	small := make([]byte, 160*90)
	for i := 0; i < 20; i++ {
		process(t, &d, fmt.Sprint("cam", i), small, 160, 90, Config{})
	}
	if n := d.Cameras(); n != 5 {
		t.Errorf("cameras = %d, want 5", n)
	}
	var def Detector
	for i := 0; i < DefaultMaxCameras+10; i++ {
		process(t, &def, fmt.Sprint("cam", i), small, 160, 90, Config{})
	}
	if n := def.Cameras(); n != DefaultMaxCameras {
		t.Errorf("default cameras = %d", n)
	}
}

func TestConcurrent(t *testing.T) {
	d := Detector{MaxCameras: 3}
	frames := [][]byte{scene(8, 0, 50), scene(8, 1, 50, rect{100, 100, 100, 100})}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := d.Process(fmt.Sprint("cam", (g+i)%5), frames[i%2], fw, fh, Config{}); err != nil {
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
		n, w, h int
	}{{0, 0, 0}, {10, 640, 360}, {100, -1, 5}, {100, 9000, 1}} {
		if _, err := d.Process("cam", make([]byte, c.n), c.w, c.h, Config{}); !errors.Is(err, ErrSize) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, s := range [][2]int{{1, 1}, {1000, 2}, {3, 500}, {641, 361}, {320, 180}} {
		for i := 0; i < 5; i++ {
			if _, err := d.Process("cam", make([]byte, s[0]*s[1]), s[0], s[1], Config{}); err != nil {
				t.Errorf("%v: %v", s, err)
			}
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil || c != DefaultConfig() {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = ParseConfig(map[string]string{"threshold": "20", "max_boxes": "4", "dark_mean": "x"})
	if err != nil || c.Threshold != 20 || c.MaxBoxes != 4 {
		t.Errorf("%+v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"threshold": "x"}, {"threshold": "0"}, {"min_area": "2"}, {"alpha": "NaN"}, {"max_boxes": "0"}, {"warmup": "-1"},
	} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestCamsimNight runs the night scene (testdata/make-fixtures.sh) at 5 fps:
// after the warmup the largest box covers the moving blob.
func TestCamsimNight(t *testing.T) {
	data, err := os.ReadFile("testdata/night.gray")
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 160, 90
	var d Detector
	for i := 0; i < len(data)/(w*h); i++ {
		bs := process(t, &d, "night", data[i*w*h:(i+1)*w*h], w, h, Config{})
		if i < 3 {
			continue
		}
		// The blob of scripts/make-clips.sh: 130x100 at 640x360, at
		// x = 120+150(1-cos(2πt/8)), y = 210+15 sin(4πt/8).
		tt := 0.2 * float64(i)
		truth := Box{
			X: (120 + 150*(1-math.Cos(2*math.Pi*tt/8))) / 640, Y: (210 + 15*math.Sin(4*math.Pi*tt/8)) / 360,
			W: 130.0 / 640, H: 100.0 / 360,
		}
		if len(bs) == 0 {
			t.Errorf("frame %d: no box", i)
			continue
		}
		if got := iou(bs[0], truth); got <= 0.3 {
			t.Errorf("frame %d: IoU %.2f box %+v truth %+v", i, got, bs[0], truth)
		}
		if len(bs) > 3 {
			t.Errorf("frame %d: %d boxes (noise?)", i, len(bs))
		}
	}
}

func BenchmarkProcess640x360(b *testing.B) {
	frames := [][]byte{
		scene(9, 0, 30, rect{100, 200, 144, 80}),
		scene(9, 1, 30, rect{120, 200, 144, 80}),
	}
	var d Detector
	b.SetBytes(fw * fh)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Process("cam", frames[i%2], fw, fh, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
