package decode

import (
	"testing"
	"time"
)

func TestSamplerIDROnly(t *testing.T) {
	var s Sampler
	for i, idr := range []bool{true, false, false, true, false} {
		pts := time.Duration(i) * 40 * time.Millisecond
		if got := s.Feed(idr, pts); got != idr {
			t.Errorf("unit %d: Feed(%v) = %v", i, idr, got)
		}
		if got := s.Want(idr, pts); got != idr {
			t.Errorf("unit %d: Want(%v) = %v", i, idr, got)
		}
	}
}

func TestSamplerFPS(t *testing.T) {
	tests := []struct {
		name   string
		fps    float64
		frame  time.Duration // camera frame interval
		jitter time.Duration // added to every other frame
		n      int           // units, an IDR every 50
		want   int           // wanted pictures
		skip   int           // units not fed: GOP tails with nothing wanted
	}{
		{"5 of 25", 5, 40 * time.Millisecond, 0, 250, 50, 3 * 4},
		{"5 of 25 jittery", 5, 40 * time.Millisecond, 7 * time.Millisecond, 250, 50, 3 * 4},
		{"1 of 25", 1, 40 * time.Millisecond, 0, 250, 10, 3 * 24},
		{"above camera rate", 50, 40 * time.Millisecond, 0, 100, 100, 0},
		{"3 of 10", 3, 100 * time.Millisecond, 0, 100, 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Sampler{FPS: tt.fps}
			got, skipped := 0, 0
			for i := range tt.n {
				pts := time.Duration(i) * tt.frame
				if i%2 == 1 {
					pts += tt.jitter
				}
				if !s.Feed(i%50 == 0, pts) {
					skipped++
					continue
				}
				if s.Want(i%50 == 0, pts) {
					got++
				}
			}
			if got != tt.want || skipped != tt.skip {
				t.Errorf("wanted %d pictures and skipped %d units, want %d and %d", got, skipped, tt.want, tt.skip)
			}
		})
	}
}

func TestSamplerRestartAndGap(t *testing.T) {
	s := Sampler{FPS: 5}
	if !s.Want(true, 10*time.Second) {
		t.Fatal("first unit not wanted")
	}
	if s.Want(false, 10*time.Second+40*time.Millisecond) {
		t.Fatal("unit 40 ms later wanted at 5 fps")
	}
	// PTS starts again near zero after a reconnect.
	if !s.Want(true, 0) {
		t.Fatal("first unit after a restart not wanted")
	}
	// A gap of 10 s: wanted at once, then the 200 ms grid from there.
	if !s.Want(false, 10*time.Second) {
		t.Fatal("unit after a gap not wanted")
	}
	if s.Want(false, 10*time.Second+120*time.Millisecond) {
		t.Fatal("unit 120 ms after the last wanted one wanted at 5 fps")
	}
	if !s.Want(false, 10*time.Second+200*time.Millisecond) {
		t.Fatal("unit 200 ms after the last wanted one not wanted at 5 fps")
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		srcW, srcH, maxW, maxH int
		even                   bool
		w, h                   int
	}{
		{1920, 1080, 640, 360, false, 640, 360},
		{1920, 1080, 320, 180, true, 320, 180},
		{1920, 1080, 640, 640, false, 640, 360},
		{1920, 1080, 1000, 300, false, 533, 300},
		{1920, 1080, 1000, 300, true, 532, 300},
		{640, 360, 1920, 1080, false, 640, 360}, // never scales up
		{640, 360, 0, 0, false, 640, 360},       // no limit
		{640, 360, 0, 100, false, 178, 100},
		{641, 361, 0, 0, true, 640, 360},
		{1920, 1080, 1, 1, false, 1, 1},
		{1920, 1080, 1, 1, true, 2, 2},
	}
	for _, tt := range tests {
		w, h := fit(tt.srcW, tt.srcH, tt.maxW, tt.maxH, tt.even)
		if w != tt.w || h != tt.h {
			t.Errorf("fit(%d, %d, %d, %d, %v) = %dx%d, want %dx%d",
				tt.srcW, tt.srcH, tt.maxW, tt.maxH, tt.even, w, h, tt.w, tt.h)
		}
	}
}

func TestPixFmtSize(t *testing.T) {
	for _, tt := range []struct {
		p    PixFmt
		w, h int
		size int
	}{
		{GRAY8, 640, 360, 640 * 360},
		{I420, 640, 360, 640 * 360 * 3 / 2},
		{RGB24, 640, 360, 640 * 360 * 3},
		{I420, 3, 3, 9 + 2*4},
		{PixFmt(0), 1, 1, -1},
		{GRAY8, -1, 1, -1},
	} {
		if got := tt.p.Size(tt.w, tt.h); got != tt.size {
			t.Errorf("%v.Size(%d, %d) = %d, want %d", tt.p, tt.w, tt.h, got, tt.size)
		}
	}
}

// TestSamplerGOPChanges: GOPs that grow, shrink and restart. Once a P unit
// is skipped no P unit is fed before the next IDR (its reference is gone),
// and every IDR is fed.
func TestSamplerGOPChanges(t *testing.T) {
	s := Sampler{FPS: 1}
	const frame = 40 * time.Millisecond
	var pts time.Duration
	skipped, wanted := false, 0
	unit := func(idr bool) {
		fed := s.Feed(idr, pts)
		switch {
		case idr && !fed:
			t.Fatalf("IDR at %v not fed", pts)
		case idr:
			skipped = false
		case !fed:
			skipped = true
		case skipped:
			t.Fatalf("P unit at %v fed after a skipped one", pts)
		}
		if fed && s.Want(idr, pts) {
			wanted++
		}
		pts += frame
	}
	for _, gop := range []int{50, 50, 100, 25, 50, 200, 50} { // units
		for i := range gop {
			unit(i == 0)
		}
	}
	// 525 units, 21 s, a picture a second but for the 4 s GOP after two
	// steady 2 s ones: its tail after 5 s is skipped, so its third and
	// fourth pictures are lost. The GOPs after it vary: decoded whole.
	if wanted != 19 {
		t.Errorf("%d pictures wanted in 21 s at 1 a second, want 19", wanted)
	}
	// A reconnect: PTS starts again near zero with an IDR.
	pts = 0
	for i := range 100 {
		unit(i%50 == 0)
	}
}
