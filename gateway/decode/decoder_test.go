//go:build cgo

package decode

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

func loadClip(tb testing.TB, scene string, gop int) (*camsim.ClipData, Codec) {
	tb.Helper()
	c, err := camsim.Clip(scene, gop)
	if err != nil {
		tb.Fatal(err)
	}
	if c.Codec == camsim.CodecH265 {
		return c, CodecH265
	}
	return c, CodecH264
}

func newDecoder(tb testing.TB, codec Codec) *Decoder {
	tb.Helper()
	d, err := New(codec)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Close)
	return d
}

// pts is the PTS of the i-th unit of a clip.
func pts(c *camsim.ClipData, i int) time.Duration {
	return time.Duration(i) * time.Second / time.Duration(c.FPS)
}

func meanOf(b []byte) float64 {
	var sum uint64
	for _, v := range b {
		sum += uint64(v)
	}
	return float64(sum) / float64(len(b))
}

func TestNewUnknownCodec(t *testing.T) {
	if _, err := New("VP8"); !errors.Is(err, ErrCodec) {
		t.Fatalf("New(VP8) = %v, want ErrCodec", err)
	}
}

func TestDecodeIDROnly(t *testing.T) {
	for _, scene := range []string{"kitchen", "kitchen-h265", "kitchen-1080", "covered", "covered-h265"} {
		t.Run(scene, func(t *testing.T) {
			c, codec := loadClip(t, scene, 2)
			d := newDecoder(t, codec)
			var s Sampler
			idrs, pictures := 0, 0
			for i, au := range c.AccessUnits {
				idr := c.IsRandomAccess(i)
				if idr != IsRandomAccess(codec, au) {
					t.Fatalf("unit %d: IsRandomAccess = %v, camsim says %v", i, !idr, idr)
				}
				if !s.Feed(idr, pts(c, i)) {
					continue
				}
				idrs++
				ok, err := d.Decode(au, pts(c, i))
				if err != nil {
					t.Fatalf("unit %d: %v", i, err)
				}
				if !ok {
					t.Fatalf("unit %d (IDR): no picture", i)
				}
				if !s.Want(idr, pts(c, i)) {
					t.Fatalf("unit %d (IDR) not wanted in IDR-only mode", i)
				}
				pictures++
				w, h, p, ok := d.Picture()
				if !ok || w != c.Width || h != c.Height || p != pts(c, i) {
					t.Fatalf("unit %d: picture %dx%d at %v (%v), want %dx%d at %v", i, w, h, p, ok, c.Width, c.Height, pts(c, i))
				}
			}
			wantIDRs := (len(c.AccessUnits) + c.FPS*c.GOP - 1) / (c.FPS * c.GOP)
			if idrs != wantIDRs || pictures != idrs {
				t.Errorf("%d IDR units, %d pictures; want %d of each", idrs, pictures, wantIDRs)
			}
			if st := d.Stats(); st != (Stats{Decoded: uint64(pictures)}) {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestDecodeSampled decodes at 5 pictures a second what the Sampler feeds:
// every unit up to the last wanted picture of a GOP, none of the tail after
// it; nothing fed is corrupt, and every wanted picture comes.
func TestDecodeSampled(t *testing.T) {
	for _, scene := range []string{"kitchen", "kitchen-h265"} {
		t.Run(scene, func(t *testing.T) {
			c, codec := loadClip(t, scene, 2)
			d := newDecoder(t, codec)
			s := Sampler{FPS: 5}
			wanted, fed, gops := 0, 0, 0
			for i, au := range c.AccessUnits {
				idr := c.IsRandomAccess(i)
				if idr {
					gops++
				}
				if !s.Feed(idr, pts(c, i)) {
					continue
				}
				fed++
				ok, err := d.Decode(au, pts(c, i))
				if err != nil || !ok {
					t.Fatalf("unit %d: ok %v, %v", i, ok, err)
				}
				if s.Want(idr, pts(c, i)) {
					wanted++
					f, err := d.Scale(GRAY8, 320, 180)
					if err != nil {
						t.Fatal(err)
					}
					if f.PTS != pts(c, i) {
						t.Fatalf("unit %d: frame PTS %v", i, f.PTS)
					}
					d.Recycle(f)
				}
			}
			if st := d.Stats(); st.Decoded != uint64(fed) || st.Corrupt != 0 || st.Skipped != 0 {
				t.Errorf("Stats = %+v after %d units fed", st, fed)
			}
			// With a 2 s GOP the last wanted picture is at 1.8 s: from the
			// third GOP on (the first two show the GOP is steady), the units
			// after it are not decoded (1 at 10 fps, 4 at 25).
			tail := c.FPS/5 - 1
			if skipped := len(c.AccessUnits) - fed; c.FPS%5 != 0 || gops < 3 || skipped != tail*(gops-2) {
				t.Errorf("%d units of %d in %d GOPs at %d fps not fed, want %d", skipped, len(c.AccessUnits), gops, c.FPS, tail*(gops-2))
			}
			want := (len(c.AccessUnits)*5 + c.FPS - 1) / c.FPS
			if wanted != want {
				t.Errorf("%d pictures wanted at 5 fps, want %d", wanted, want)
			}
		})
	}
}

// TestDecodeStartsAtIDR feeds a stream from its middle: the units before
// the next IDR are skipped, not errors.
func TestDecodeStartsAtIDR(t *testing.T) {
	c, codec := loadClip(t, "kitchen", 1)
	d := newDecoder(t, codec)
	start := c.FPS / 2
	var skipped, decoded uint64
	for i := start; i < len(c.AccessUnits); i++ {
		ok, err := d.Decode(c.AccessUnits[i], pts(c, i))
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		if ok {
			decoded++
		} else if decoded == 0 {
			skipped++
		} else {
			t.Fatalf("unit %d: no picture", i)
		}
	}
	if want := uint64(c.FPS - start); skipped != want || d.Stats().Skipped != want {
		t.Errorf("skipped %d (Stats %+v), want %d", skipped, d.Stats(), want)
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		scene      string
		fmt        PixFmt
		maxW, maxH int
		w, h       int
		minMean    float64 // of the whole buffer (for GRAY8: mean luma)
		maxMean    float64
	}{
		{"kitchen-1080", GRAY8, 640, 360, 640, 360, 100, 200},
		{"kitchen-1080", I420, 640, 360, 640, 360, 100, 200},
		{"kitchen-1080", RGB24, 640, 360, 640, 360, 80, 220},
		{"kitchen-1080", GRAY8, 320, 180, 320, 180, 100, 200},
		{"kitchen-1080", I420, 333, 333, 332, 186, 100, 200},
		{"kitchen-1080", GRAY8, 0, 0, 1920, 1080, 100, 200},
		{"kitchen", GRAY8, 1920, 1080, 640, 360, 100, 200},
		{"kitchen-h265", RGB24, 320, 320, 320, 180, 80, 220},
		{"covered", GRAY8, 640, 360, 640, 360, 0, 16},
		{"covered-h265", GRAY8, 640, 360, 640, 360, 0, 16},
		{"covered", RGB24, 640, 360, 640, 360, 0, 16},
	}
	for _, tt := range tests {
		t.Run(tt.scene+"/"+tt.fmt.String()+"/"+strconv.Itoa(tt.maxW)+"x"+strconv.Itoa(tt.maxH), func(t *testing.T) {
			c, codec := loadClip(t, tt.scene, 2)
			d := newDecoder(t, codec)
			if _, err := d.Scale(tt.fmt, tt.maxW, tt.maxH); !errors.Is(err, ErrNoPicture) {
				t.Fatalf("Scale before a picture: %v, want ErrNoPicture", err)
			}
			if ok, err := d.Decode(c.AccessUnits[0], 0); !ok || err != nil {
				t.Fatalf("Decode: %v, %v", ok, err)
			}
			f, err := d.Scale(tt.fmt, tt.maxW, tt.maxH)
			if err != nil {
				t.Fatal(err)
			}
			if f.Width != tt.w || f.Height != tt.h || f.Format != tt.fmt || len(f.Data) != tt.fmt.Size(tt.w, tt.h) {
				t.Fatalf("frame %v %dx%d with %d bytes, want %v %dx%d with %d", f.Format, f.Width, f.Height,
					len(f.Data), tt.fmt, tt.w, tt.h, tt.fmt.Size(tt.w, tt.h))
			}
			// For I420 the Y plane alone.
			m := meanOf(f.Data[:tt.w*tt.h*map[PixFmt]int{GRAY8: 1, I420: 1, RGB24: 3}[tt.fmt]])
			if m < tt.minMean || m > tt.maxMean {
				t.Errorf("mean %.1f, want %v..%v", m, tt.minMean, tt.maxMean)
			}
			if tt.fmt == I420 {
				// Chroma of a real scene is near grey, not zero.
				if cm := meanOf(f.Data[tt.w*tt.h:]); cm < 64 || cm > 192 {
					t.Errorf("chroma mean %.1f", cm)
				}
			}
		})
	}
}

// TestScaleOwnership checks that a frame's Data is never written by a later
// call, and that Recycle hands buffers back.
func TestScaleOwnership(t *testing.T) {
	c, codec := loadClip(t, "kitchen", 2)
	d := newDecoder(t, codec)
	var frames []Frame
	for i, au := range c.AccessUnits[:10] {
		if ok, err := d.Decode(au, pts(c, i)); !ok || err != nil {
			t.Fatalf("unit %d: %v, %v", i, ok, err)
		}
		f, err := d.Scale(GRAY8, 320, 180)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, Frame{Data: bytes.Clone(f.Data)}, f)
	}
	for i := 0; i < len(frames); i += 2 {
		if !bytes.Equal(frames[i].Data, frames[i+1].Data) {
			t.Fatalf("frame %d was overwritten by a later call", i/2)
		}
	}
	if bytes.Equal(frames[0].Data, frames[len(frames)-1].Data) {
		t.Fatal("first and last frames are identical: the scene does not move?")
	}
	// A recycled buffer is reused.
	old := frames[1]
	d.Recycle(old)
	f, err := d.Scale(GRAY8, 320, 180)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Data[0] != &old.Data[0] {
		t.Error("recycled buffer not reused")
	}
	if _, err := d.Scale(PixFmt(42), 1, 1); !errors.Is(err, ErrFormat) {
		t.Errorf("Scale(PixFmt(42)) = %v, want ErrFormat", err)
	}
	if _, err := d.Scale(GRAY8, -1, 1); !errors.Is(err, ErrFormat) {
		t.Errorf("Scale(-1, 1) = %v, want ErrFormat", err)
	}
}

func TestClose(t *testing.T) {
	c, codec := loadClip(t, "kitchen", 2)
	d, err := New(codec)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Decode(c.AccessUnits[0], 0); !ok || err != nil {
		t.Fatalf("Decode: %v, %v", ok, err)
	}
	f, err := d.Scale(GRAY8, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d.Close()
	if _, err := d.Decode(c.AccessUnits[0], 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
	if _, err := d.Scale(GRAY8, 64, 64); !errors.Is(err, ErrClosed) {
		t.Errorf("Scale after Close: %v", err)
	}
	if _, _, _, ok := d.Picture(); ok {
		t.Error("Picture after Close")
	}
	d.Recycle(f)
	d.Reset()
	_ = d.Stats()
	if meanOf(f.Data) < 100 {
		t.Error("frame data damaged by Close")
	}
}

// corruptions of a clip's second IDR unit (with its parameter sets).
var corruptions = []struct {
	name       string
	mustError  Codec // must be reported as ErrCorrupt: for this codec, or "*" for both
	corruptAUs func(au [][]byte, r *rand.Rand) [][][]byte
}{
	{"empty list", "*", func([][]byte, *rand.Rand) [][][]byte { return [][][]byte{nil, {}} }},
	{"empty NALUs", "*", func([][]byte, *rand.Rand) [][][]byte { return [][][]byte{{nil, {}, nil}} }},
	{"oversized", "*", func(au [][]byte, _ *rand.Rand) [][][]byte {
		return [][][]byte{append(clone(au), make([]byte, MaxAccessUnitSize))}
	}},
	// libavcodec's H.265 decoder does not notice a truncated slice: it
	// decodes the rest of the picture from the zero padding.
	{"truncated slice", CodecH264, func(au [][]byte, _ *rand.Rand) [][][]byte {
		au = clone(au)
		last := au[len(au)-1]
		au[len(au)-1] = last[:len(last)/3]
		return [][][]byte{au}
	}},
	{"slice only (no parameter sets), truncated", "", func(au [][]byte, _ *rand.Rand) [][][]byte {
		last := au[len(au)-1]
		return [][][]byte{{last[:len(last)/2]}}
	}},
	{"random bytes", "", func(_ [][]byte, r *rand.Rand) [][][]byte {
		var out [][][]byte
		for range 20 {
			n := make([]byte, 1+r.IntN(5000))
			for i := range n {
				n[i] = byte(r.Uint32())
			}
			out = append(out, [][]byte{n})
		}
		return out
	}},
	{"bit flips in the slice", "", func(au [][]byte, r *rand.Rand) [][][]byte {
		var out [][][]byte
		for range 20 {
			au := clone(au)
			last := au[len(au)-1]
			for range 1 + r.IntN(20) {
				i := 3 + r.IntN(len(last)-3)
				last[i] ^= 1 << r.IntN(8)
			}
			out = append(out, au)
		}
		return out
	}},
	{"bit flips in the parameter sets", "", func(au [][]byte, r *rand.Rand) [][][]byte {
		var out [][][]byte
		for range 20 {
			au := clone(au)
			n := au[r.IntN(len(au)-1)]
			n[1+r.IntN(len(n)-1)] ^= 1 << r.IntN(8)
			out = append(out, au)
		}
		return out
	}},
}

func clone(au [][]byte) [][]byte {
	out := make([][]byte, len(au))
	for i, n := range au {
		out[i] = bytes.Clone(n)
	}
	return out
}

func TestDecodeCorrupt(t *testing.T) {
	for _, scene := range []string{"kitchen", "kitchen-h265"} {
		c, codec := loadClip(t, scene, 1)
		idrs := []int{}
		for i := range c.AccessUnits {
			if c.IsRandomAccess(i) {
				idrs = append(idrs, i)
			}
		}
		for _, tt := range corruptions {
			t.Run(scene+"/"+tt.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 2))
				d := newDecoder(t, codec)
				// Decode the first GOP, then the corrupt units, then the
				// stream from its second IDR on.
				i := 0
				for ; i < idrs[1]; i++ {
					if ok, err := d.Decode(c.AccessUnits[i], pts(c, i)); !ok || err != nil {
						t.Fatalf("unit %d: %v, %v", i, ok, err)
					}
				}
				var errs uint64
				for _, au := range tt.corruptAUs(c.AccessUnits[idrs[1]], r) {
					_, err := d.Decode(au, pts(c, i))
					if err != nil {
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("error %v does not wrap ErrCorrupt", err)
						}
						errs++
					} else if tt.mustError == "*" || tt.mustError == codec {
						t.Fatal("no error")
					}
				}
				if st := d.Stats(); st.Corrupt != errs {
					t.Errorf("Stats.Corrupt = %d, %d errors returned", st.Corrupt, errs)
				}
				t.Logf("%d errors", errs)
				before := d.Stats()
				for i = idrs[1]; i < len(c.AccessUnits); i++ {
					ok, err := d.Decode(c.AccessUnits[i], pts(c, i))
					if err != nil {
						t.Fatalf("unit %d after corruption: %v", i, err)
					}
					if i == idrs[1] && !ok {
						t.Fatal("the next good IDR gave no picture")
					}
				}
				f, err := d.Scale(GRAY8, 320, 180)
				if err != nil {
					t.Fatal(err)
				}
				if m := meanOf(f.Data); m < 100 || m > 200 {
					t.Errorf("mean luma after recovery %.1f", m)
				}
				after := d.Stats()
				if got := after.Decoded - before.Decoded + after.Skipped - before.Skipped; got != uint64(len(c.AccessUnits)-idrs[1]) {
					t.Errorf("stats %+v -> %+v over %d units", before, after, len(c.AccessUnits)-idrs[1])
				}
			})
		}
	}
}

// TestNoLeak decodes, scales and closes decoders many times and checks that
// the resident set stays bounded.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	c, codec := loadClip(t, "kitchen", 1)
	cycle := func() {
		d, err := New(codec)
		if err != nil {
			t.Fatal(err)
		}
		for i, au := range c.AccessUnits[:c.FPS] {
			if _, err := d.Decode(au, pts(c, i)); err != nil {
				t.Fatal(err)
			}
		}
		f, err := d.Scale(RGB24, 640, 360)
		if err != nil {
			t.Fatal(err)
		}
		d.Recycle(f)
		_, _ = d.Decode([][]byte{{0x65, 1, 2, 3}}, time.Hour) // corrupt
		d.Close()
	}
	for range 10 {
		cycle()
	}
	runtime.GC()
	before := rss(t)
	for range 100 {
		cycle()
	}
	runtime.GC()
	after := rss(t)
	t.Logf("RSS %d kB -> %d kB over 100 decoders", before, after)
	// One leaked decoder holds several MB (its reference pictures).
	if after-before > 64<<10 {
		t.Errorf("RSS grew by %d kB over 100 decoders", after-before)
	}
}

// rss is the resident set size in kB, from /proc/self/status.
func rss(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}
