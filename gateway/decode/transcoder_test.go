//go:build cgo

package decode

// Long file: the transcoder's cases (resize, keyframes, corrupt input, PTS,
// H.265 in) each need real encoded clips.

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

func newTranscoder(tb testing.TB, from Codec, o TranscodeOptions) *Transcoder {
	tb.Helper()
	tr, err := NewTranscoder(from, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tr.Close)
	return tr
}

// h264Decoder decodes a transcoder's output in order, each unit stamped
// with its index (a test may feed PTS that go backwards), and fails the
// test unless every unit gives a picture.
type h264Decoder struct {
	t *testing.T
	d *Decoder
	n int
}

func newH264Decoder(t *testing.T) *h264Decoder {
	return &h264Decoder{t: t, d: newDecoder(t, CodecH264)}
}

// decode decodes u and returns the picture's size.
func (hd *h264Decoder) decode(u EncodedUnit) (w, h int) {
	hd.t.Helper()
	ok, err := hd.d.Decode(u.NALUs, time.Duration(hd.n))
	if err != nil || !ok {
		hd.t.Fatalf("output unit %d (IDR %v, NAL types %v): H.264 decoder: picture %v, %v", hd.n, u.IDR, naluTypes(u.NALUs), ok, err)
	}
	hd.n++
	w, h, _, _ = hd.d.Picture()
	return w, h
}

func naluTypes(nalus [][]byte) []int {
	var out []int
	for _, n := range nalus {
		if len(n) == 0 {
			out = append(out, -1)
		} else {
			out = append(out, int(n[0]&0x1f))
		}
	}
	return out
}

// checkIDR fails unless u is an IDR unit that starts with SPS and PPS of
// Constrained Baseline profile.
func checkIDR(t *testing.T, what string, u EncodedUnit) {
	t.Helper()
	types := naluTypes(u.NALUs)
	if !u.IDR || len(types) < 3 || types[0] != naluSPS || types[1] != naluPPS || !contains(types, naluIDR) {
		t.Fatalf("%s: IDR %v with NAL types %v, want an IDR starting with SPS, PPS", what, u.IDR, types)
	}
	// profile_idc 66 with constraint_set1_flag: Constrained Baseline.
	if sps := u.NALUs[0]; len(sps) < 4 || sps[1] != 66 || sps[2]&0x40 == 0 {
		t.Fatalf("%s: SPS % x: not Constrained Baseline", what, sps[:min(len(sps), 4)])
	}
}

func countType(nalus [][]byte, typ int) int {
	n := 0
	for _, t := range naluTypes(nalus) {
		if t == typ {
			n++
		}
	}
	return n
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func meanAbsDiff(a, b []byte) float64 {
	var sum uint64
	for i := range a {
		d := int(a[i]) - int(b[i])
		sum += uint64(max(d, -d))
	}
	return float64(sum) / float64(len(a))
}

func TestTranscode(t *testing.T) {
	tests := []struct {
		scene      string
		maxW, maxH int
		threads    int
		w, h       int
	}{
		{"kitchen-h265", 0, 0, 0, 640, 360},
		{"kitchen-h265", 320, 0, 0, 320, 180},
		{"kitchen-h265", 0, 0, 2, 640, 360},
		{"night-h265", 1280, 720, 0, 640, 360},
		{"kitchen", 0, 200, 0, 356, 200}, // H.264 re-encoded
	}
	for _, tt := range tests {
		t.Run(tt.scene, func(t *testing.T) {
			c, codec := loadClip(t, tt.scene, 2)
			tr := newTranscoder(t, codec, TranscodeOptions{MaxWidth: tt.maxW, MaxHeight: tt.maxH, FPS: c.FPS, Threads: tt.threads})
			if tr.Encoder() != "libx264" {
				t.Errorf("encoder %q, want libx264", tr.Encoder())
			}
			src := newDecoder(t, codec)
			out := newH264Decoder(t)
			gop := c.FPS * 2
			var worst float64
			for i, au := range c.AccessUnits {
				units, err := tr.Transcode(au, pts(c, i))
				if err != nil {
					t.Fatalf("unit %d: %v", i, err)
				}
				// One unit out per unit in, with its PTS; an IDR exactly
				// every GOP.
				if len(units) != 1 {
					t.Fatalf("unit %d: %d units out", i, len(units))
				}
				u := units[0]
				if u.PTS != pts(c, i) {
					t.Fatalf("unit %d: PTS %v, want %v", i, u.PTS, pts(c, i))
				}
				if u.IDR != (i%gop == 0) {
					t.Fatalf("unit %d: IDR %v, want an IDR every %d units", i, u.IDR, gop)
				}
				if u.IDR {
					checkIDR(t, "unit "+itoa(i), u)
				}
				if slices := countType(u.NALUs, naluIDR) + countType(u.NALUs, 1); slices != max(tt.threads, 1) {
					t.Fatalf("unit %d: %d slices, want %d", i, slices, max(tt.threads, 1))
				}
				if w, h := out.decode(u); w != tt.w || h != tt.h {
					t.Fatalf("unit %d: picture %dx%d, want %dx%d", i, w, h, tt.w, tt.h)
				}

				// The picture looks like the camera's.
				if ok, err := src.Decode(au, pts(c, i)); !ok || err != nil {
					t.Fatalf("unit %d: source decoder: %v, %v", i, ok, err)
				}
				want, err := src.Scale(GRAY8, tt.w, tt.h)
				if err != nil {
					t.Fatal(err)
				}
				got, err := out.d.Scale(GRAY8, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				worst = max(worst, meanAbsDiff(got.Data, want.Data))
			}
			t.Logf("%d units, worst mean luma difference %.2f", len(c.AccessUnits), worst)
			if worst > 6 {
				t.Errorf("worst mean luma difference from the source %.2f", worst)
			}
			n := uint64(len(c.AccessUnits))
			want := TranscodeStats{In: n, Decoded: n, Encoded: n, Keyframes: (n + uint64(gop) - 1) / uint64(gop)}
			if st := tr.Stats(); st != want {
				t.Errorf("Stats = %+v, want %+v", st, want)
			}
		})
	}
}

// TestTranscodePixelFormats transcodes H.265 that is not 8-bit limited
// range YUV 4:2:0: 10-bit, and full range (yuvj420p) as many cameras send.
// The clips, 1 s of 192x108 at 10 fps with an IDR every 5 pictures, were
// made with
//
//	ffmpeg -f lavfi -i testsrc2=size=192x108:rate=10 -t 1 -c:v libx265 -preset ultrafast \
//	  -pix_fmt yuv420p10le|yuvj420p \
//	  -x265-params keyint=5:min-keyint=5:bframes=0:scenecut=0:repeat-headers=1:crf=32 \
//	  -f hevc testdata/testsrc2-10bit.h265|testsrc2-fullrange.h265
func TestTranscodePixelFormats(t *testing.T) {
	for _, file := range []string{"testsrc2-10bit.h265", "testsrc2-fullrange.h265"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			aus, err := camsim.SplitAccessUnits(camsim.CodecH265, b)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTranscoder(t, CodecH265, TranscodeOptions{FPS: 10, GOP: time.Second})
			src := newDecoder(t, CodecH265)
			out := newH264Decoder(t)
			var worst float64
			for i, au := range aus {
				p := time.Duration(i) * 100 * time.Millisecond
				units, err := tr.Transcode(au, p)
				if err != nil || len(units) != 1 {
					t.Fatalf("unit %d: %d units, %v", i, len(units), err)
				}
				if units[0].IDR != (i == 0) {
					t.Fatalf("unit %d: IDR %v", i, units[0].IDR)
				}
				if w, h := out.decode(units[0]); w != 192 || h != 108 {
					t.Fatalf("unit %d: %dx%d", i, w, h)
				}
				if ok, err := src.Decode(au, p); !ok || err != nil {
					t.Fatalf("unit %d: source decoder: %v, %v", i, ok, err)
				}
				// Compare in RGB: the range and depth conversions must
				// keep the colours.
				want, err := src.Scale(RGB24, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := out.d.Scale(RGB24, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				worst = max(worst, meanAbsDiff(got.Data, want.Data))
			}
			t.Logf("%d units, worst mean RGB difference %.2f", len(aus), worst)
			if len(aus) != 10 || worst > 8 {
				t.Errorf("%d units, worst mean RGB difference from the source %.2f", len(aus), worst)
			}
		})
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func TestTranscodeForceKeyframe(t *testing.T) {
	c, codec := loadClip(t, "kitchen-h265", 4)
	tr := newTranscoder(t, codec, TranscodeOptions{FPS: c.FPS, GOP: 4 * time.Second})
	out := newH264Decoder(t)
	forced := map[int]bool{5: true, 6: true, 13: true}
	for i, au := range c.AccessUnits[:20] {
		if forced[i] {
			tr.ForceKeyframe()
			tr.ForceKeyframe() // twice is once
		}
		units, err := tr.Transcode(au, pts(c, i))
		if err != nil || len(units) != 1 {
			t.Fatalf("unit %d: %d units, %v", i, len(units), err)
		}
		u := units[0]
		if want := i == 0 || forced[i]; u.IDR != want {
			t.Fatalf("unit %d: IDR %v, want %v", i, u.IDR, want)
		}
		if u.IDR {
			checkIDR(t, "unit "+itoa(i), u)
		}
		out.decode(u)
	}
	if st := tr.Stats(); st.Keyframes != 4 {
		t.Errorf("Stats = %+v, want 4 keyframes", st)
	}

	// From another goroutine, while transcoding (for the race detector).
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			tr.ForceKeyframe()
			_ = tr.Stats()
			runtime.Gosched()
		}
	}()
	for i := 20; i < 30; i++ {
		units, err := tr.Transcode(c.AccessUnits[i], pts(c, i))
		if err != nil || len(units) != 1 {
			t.Fatalf("unit %d: %d units, %v", i, len(units), err)
		}
		out.decode(units[0])
	}
	wg.Wait()
}

// TestTranscodeCorrupt feeds the first GOP, corrupt units, then the stream
// from the second IDR: errors are counted, and the output goes on at that
// IDR and decodes throughout.
func TestTranscodeCorrupt(t *testing.T) {
	for _, scene := range []string{"kitchen-h265", "kitchen"} {
		c, codec := loadClip(t, scene, 1)
		var idrs []int
		for i := range c.AccessUnits {
			if c.IsRandomAccess(i) {
				idrs = append(idrs, i)
			}
		}
		for _, tt := range corruptions {
			t.Run(scene+"/"+tt.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 2))
				tr := newTranscoder(t, codec, TranscodeOptions{FPS: c.FPS, MaxWidth: 320})
				var units []EncodedUnit
				i := 0
				for ; i < idrs[1]; i++ {
					u, err := tr.Transcode(c.AccessUnits[i], pts(c, i))
					if err != nil || len(u) != 1 {
						t.Fatalf("unit %d: %d units, %v", i, len(u), err)
					}
					units = append(units, u...)
				}
				var errs uint64
				for _, au := range tt.corruptAUs(c.AccessUnits[idrs[1]], r) {
					u, err := tr.Transcode(au, pts(c, i))
					units = append(units, u...)
					if err != nil {
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("error %v does not wrap ErrCorrupt", err)
						}
						errs++
					} else if tt.mustError == "*" || tt.mustError == codec {
						t.Fatal("no error")
					}
				}
				if st := tr.Stats(); st.Corrupt != errs {
					t.Errorf("Stats.Corrupt = %d, %d errors returned", st.Corrupt, errs)
				}
				t.Logf("%d errors", errs)
				for i = idrs[1]; i < len(c.AccessUnits); i++ {
					u, err := tr.Transcode(c.AccessUnits[i], pts(c, i))
					if err != nil || len(u) != 1 {
						t.Fatalf("unit %d after corruption: %d units, %v", i, len(u), err)
					}
					if u[0].PTS != pts(c, i) {
						t.Fatalf("unit %d: PTS %v", i, u[0].PTS)
					}
					units = append(units, u...)
				}
				out := newH264Decoder(t)
				for j, u := range units {
					w, h := out.decode(u)
					if j >= len(units)-(len(c.AccessUnits)-idrs[1]) && (w != 320 || h != 180) {
						t.Fatalf("output %d: %dx%d after recovery", j, w, h)
					}
				}
			})
		}
	}
}

// TestTranscodeCorruptInterleaved damages some P units of a clip (their
// slice body): a unit that fails stops the output until the next IDR of the
// input, the IDRs always come out, and the output decodes throughout.
func TestTranscodeCorruptInterleaved(t *testing.T) {
	for _, scene := range []string{"kitchen-h265", "kitchen"} {
		t.Run(scene, func(t *testing.T) {
			c, codec := loadClip(t, scene, 2)
			tr := newTranscoder(t, codec, TranscodeOptions{FPS: c.FPS, MaxWidth: 320})
			out := newH264Decoder(t)
			r := rand.New(rand.NewPCG(3, 4))
			var errs, skipped int
			waiting := false // for an IDR, after an error
			prevBad := false
			for i, au := range c.AccessUnits {
				idr := c.IsRandomAccess(i)
				bad := !idr && i%7 == 3
				if bad {
					au = clone(au)
					last := au[len(au)-1]
					if i%2 == 0 {
						// Random bytes after the slice header's start:
						// libavcodec's H.265 decoder rarely notices.
						for j := 2 + len(last)/4; j < len(last); j++ {
							last[j] = byte(r.Uint32())
						}
						au[len(au)-1] = last[:len(last)/2]
					} else {
						// A slice header of zeros (emulation prevented):
						// an out-of-range PPS id or first macroblock.
						n := append([]byte(nil), last[:2]...)
						for range 8 {
							n = append(n, 0, 0, 3)
						}
						au[len(au)-1] = append(n, 0x80)
					}
				}
				if idr {
					waiting = false
				}
				units, err := tr.Transcode(au, pts(c, i))
				switch {
				case err != nil:
					// libavcodec may notice the damage one unit late.
					if !errors.Is(err, ErrCorrupt) || !(bad || prevBad) || idr {
						t.Fatalf("unit %d (IDR %v, damaged %v, after a damaged one %v): %v", i, idr, bad, prevBad, err)
					}
					errs++
					waiting = true
				case waiting && len(units) != 0:
					t.Fatalf("unit %d: output while waiting for an IDR", i)
				case waiting:
					skipped++
				case len(units) != 1:
					t.Fatalf("unit %d: %d units out", i, len(units))
				}
				for _, u := range units {
					if u.PTS != pts(c, i) {
						t.Fatalf("unit %d: PTS %v", i, u.PTS)
					}
					out.decode(u)
				}
				prevBad = bad
			}
			st := tr.Stats()
			t.Logf("%d errors, %d units skipped, %d out; %+v", errs, skipped, out.n, st)
			if errs == 0 || st.Corrupt != uint64(errs) || st.Skipped != uint64(skipped) || st.Encoded != uint64(out.n) {
				t.Errorf("Stats %+v after %d errors, %d skipped, %d out", st, errs, skipped, out.n)
			}
		})
	}
}

// TestTranscodeRestart: PTS that go backwards (a new camera session) wait
// for an IDR; a new picture size reopens the encoder, which starts with an
// IDR.
func TestTranscodeRestart(t *testing.T) {
	small, _ := loadClip(t, "kitchen", 2)
	big, _ := loadClip(t, "kitchen-1080", 2)
	tr := newTranscoder(t, CodecH264, TranscodeOptions{FPS: 10})
	out := newH264Decoder(t)
	type step struct {
		au    [][]byte
		pts   time.Duration
		units int  // out
		idr   bool // the unit out is an IDR
		w, h  int
	}
	var steps []step
	for i := range 15 {
		steps = append(steps, step{small.AccessUnits[i], pts(small, i), 1, i == 0, 640, 360})
	}
	// Restart in the middle of a GOP: skipped until the IDR.
	for i := 5; i < 25; i++ {
		s := step{small.AccessUnits[i], pts(small, i) - time.Second, 0, false, 640, 360}
		if i >= 20 {
			s.units = 1
		}
		steps = append(steps, s)
	}
	// A bigger picture: a new encoder.
	for i := range 5 {
		steps = append(steps, step{big.AccessUnits[i], 3*time.Second + pts(big, i), 1, i == 0, 1920, 1080})
	}
	for i := range 5 {
		steps = append(steps, step{small.AccessUnits[i], 4*time.Second + pts(small, i), 1, i == 0, 640, 360})
	}
	var last time.Duration
	for i, s := range steps {
		units, err := tr.Transcode(s.au, s.pts)
		if err != nil || len(units) != s.units {
			t.Fatalf("step %d: %d units, %v; want %d", i, len(units), err, s.units)
		}
		for _, u := range units {
			if u.IDR != s.idr || u.PTS != s.pts {
				t.Fatalf("step %d: IDR %v at %v, want %v at %v", i, u.IDR, u.PTS, s.idr, s.pts)
			}
			if u.IDR {
				checkIDR(t, "step "+itoa(i), u)
			}
			if w, h := out.decode(u); w != s.w || h != s.h {
				t.Fatalf("step %d: %dx%d, want %dx%d", i, w, h, s.w, s.h)
			}
			if u.PTS < last {
				t.Logf("step %d: PTS back from %v to %v (restart)", i, last, u.PTS)
			}
			last = u.PTS
		}
	}
}

func TestNewTranscoderErrors(t *testing.T) {
	if _, err := NewTranscoder("VP8", TranscodeOptions{}); !errors.Is(err, ErrCodec) {
		t.Errorf("NewTranscoder(VP8) = %v, want ErrCodec", err)
	}
	for _, o := range []TranscodeOptions{
		{MaxWidth: -1}, {MaxHeight: 8}, {MaxWidth: 10000}, {Bitrate: -1}, {Bitrate: 1000},
		{FPS: -1}, {FPS: 1000}, {GOP: -time.Second}, {Threads: -1}, {Threads: 17},
	} {
		if tr, err := NewTranscoder(CodecH265, o); err == nil {
			tr.Close()
			t.Errorf("NewTranscoder(%+v): no error", o)
		} else {
			t.Log(err)
		}
	}
	tr := newTranscoder(t, CodecH265, TranscodeOptions{GOP: time.Hour})
	want := TranscodeOptions{Bitrate: DefaultTranscodeBitrate, GOP: time.Hour, FPS: DefaultTranscodeFPS, Threads: 1}
	if tr.Options() != want {
		t.Errorf("Options = %+v, want %+v", tr.Options(), want)
	}
}

func TestTranscoderClose(t *testing.T) {
	c, codec := loadClip(t, "kitchen-h265", 2)
	tr, err := NewTranscoder(codec, TranscodeOptions{FPS: c.FPS})
	if err != nil {
		t.Fatal(err)
	}
	units, err := tr.Transcode(c.AccessUnits[0], 0)
	if err != nil || len(units) != 1 {
		t.Fatalf("Transcode: %d units, %v", len(units), err)
	}
	keep := bytes.Clone(units[0].NALUs[len(units[0].NALUs)-1])
	tr.Close()
	tr.Close()
	if _, err := tr.Transcode(c.AccessUnits[0], 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Transcode after Close: %v", err)
	}
	tr.ForceKeyframe()
	if st := tr.Stats(); st.Encoded != 1 {
		t.Errorf("Stats after Close = %+v", st)
	}
	if !bytes.Equal(keep, units[0].NALUs[len(units[0].NALUs)-1]) {
		t.Error("output damaged by Close")
	}
}

// TestTranscoderNoLeak makes, uses and closes transcoders many times and
// checks that the resident set stays bounded.
func TestTranscoderNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	c, codec := loadClip(t, "kitchen-h265", 2)
	cycle := func() {
		tr, err := NewTranscoder(codec, TranscodeOptions{FPS: c.FPS})
		if err != nil {
			t.Fatal(err)
		}
		for i, au := range c.AccessUnits[:5] {
			if _, err := tr.Transcode(au, pts(c, i)); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = tr.Transcode([][]byte{{0x02, 1, 2, 3}}, time.Hour) // skipped
		tr.Close()
	}
	for range 5 {
		cycle()
	}
	runtime.GC()
	before := rss(t)
	for range 40 {
		cycle()
	}
	runtime.GC()
	after := rss(t)
	t.Logf("RSS %d kB -> %d kB over 40 transcoders", before, after)
	// One leaked transcoder holds several MB (x264's lookahead and
	// reference pictures, the decoder's).
	if after-before > 32<<10 {
		t.Errorf("RSS grew by %d kB over 40 transcoders", after-before)
	}
}

// FuzzTranscode feeds a fuzzed access unit (Annex-B; bytes without a start
// code are one NAL unit) to a transcoder that has transcoded a good IDR,
// then checks that the next good IDR comes out and that everything that
// came out decodes. h265 picks the codec; the seeds are real units of the
// clips.
func FuzzTranscode(f *testing.F) {
	good := map[bool][][]byte{}
	for _, h265 := range []bool{false, true} {
		scene := "kitchen"
		if h265 {
			scene += "-h265"
		}
		c, err := camsim.Clip(scene, 1)
		if err != nil {
			f.Fatal(err)
		}
		good[h265] = c.AccessUnits[0]
		f.Add(h265, annexB(c.AccessUnits[0]))
		f.Add(h265, annexB(c.AccessUnits[1]))
		f.Add(h265, annexB(c.AccessUnits[0][len(c.AccessUnits[0])-1:]))
	}
	f.Fuzz(func(t *testing.T, h265 bool, data []byte) {
		codec := CodecH264
		if h265 {
			codec = CodecH265
		}
		au := camsim.SplitNALUs(data)
		if len(au) == 0 {
			au = [][]byte{data}
		}
		tr, err := NewTranscoder(codec, TranscodeOptions{MaxWidth: 160, FPS: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		var units []EncodedUnit
		transcode := func(au [][]byte, pts time.Duration, mustOut bool) {
			before := tr.Stats()
			u, err := tr.Transcode(au, pts)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			if st := tr.Stats(); (err != nil) != (st.Corrupt == before.Corrupt+1) {
				t.Fatalf("error %v but Stats %+v -> %+v", err, before, st)
			}
			if mustOut && (err != nil || len(u) != 1) {
				t.Fatalf("good IDR: %d units, %v", len(u), err)
			}
			units = append(units, u...)
		}
		transcode(good[h265], 0, true)
		transcode(au, 100*time.Millisecond, false)
		transcode(good[h265], 200*time.Millisecond, true)
		d, err := New(CodecH264)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		for i, u := range units {
			if ok, err := d.Decode(u.NALUs, time.Duration(i)); !ok || err != nil {
				t.Fatalf("output %d (NAL types %v): %v, %v", i, naluTypes(u.NALUs), ok, err)
			}
		}
	})
}

// BenchmarkTranscode640x360 transcodes a 640x360 H.265 clip at its size,
// one access unit per op, and reports the share of one core it takes at 25
// fps.
func BenchmarkTranscode640x360(b *testing.B) {
	benchmarkTranscode(b, "kitchen-h265", TranscodeOptions{})
}

// BenchmarkTranscode1080to720 re-encodes a 1080p H.264 clip at live view's
// 1280x720: the cost of a 1080p camera's live view (an H.265 camera's
// decoding costs more than H.264's).
func BenchmarkTranscode1080to720(b *testing.B) {
	benchmarkTranscode(b, "kitchen-1080", LiveTranscodeOptions(0))
}

func benchmarkTranscode(b *testing.B, scene string, o TranscodeOptions) {
	c, codec := loadClip(b, scene, 2)
	o.FPS = c.FPS
	tr := newTranscoder(b, codec, o)
	frame := time.Second / time.Duration(c.FPS)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		au := c.AccessUnits[i%len(c.AccessUnits)]
		units, err := tr.Transcode(au, time.Duration(i)*frame)
		if err != nil || len(units) != 1 {
			b.Fatalf("unit %d: %d units, %v", i, len(units), err)
		}
	}
	b.StopTimer()
	// CPU time rather than wall time: the same with one encoder thread,
	// but not with more.
	perAU := float64((cpuTime(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(perAU, "cpu-ns/AU")
	b.ReportMetric(perAU*25/1e9*100, "%core@25fps")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
