//go:build cgo

package decode

import (
	"bytes"
	"errors"
	"testing"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

// annexB joins NAL units with 4-byte start codes.
func annexB(au [][]byte) []byte {
	var b []byte
	for _, n := range au {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

// FuzzDecode feeds a fuzzed access unit (Annex-B; bytes without a start code
// are one NAL unit) to a decoder that has decoded a good IDR, then checks
// that the decoder still decodes the next good IDR. h265 picks the codec.
// The seeds, under testdata/fuzz/FuzzDecode, are real units of the clips.
func FuzzDecode(f *testing.F) {
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
		f.Add(h265, annexB(c.AccessUnits[0]))                           // IDR with parameter sets
		f.Add(h265, annexB(c.AccessUnits[1]))                           // P-frame
		f.Add(h265, annexB(c.AccessUnits[0][len(c.AccessUnits[0])-1:])) // IDR slice alone
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
		d, err := New(codec)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if ok, err := d.Decode(good[h265], 0); !ok || err != nil {
			t.Fatalf("good IDR: %v, %v", ok, err)
		}
		before := d.Stats()
		_, err = d.Decode(au, 1)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		if st := d.Stats(); (err != nil) != (st.Corrupt == before.Corrupt+1) {
			t.Fatalf("error %v but Stats %+v -> %+v", err, before, st)
		}
		if _, err := d.Scale(GRAY8, 64, 64); err != nil {
			t.Fatalf("Scale: %v", err)
		}
		if ok, err := d.Decode(good[h265], 2); !ok || err != nil {
			t.Fatalf("good IDR after the fuzzed unit: %v, %v", ok, err)
		}
		if f, err := d.Scale(GRAY8, 64, 64); err != nil || !bytes.Equal(f.Data, f.Data) {
			t.Fatalf("Scale: %v", err)
		}
	})
}
