package camsim

import (
	"errors"
	"fmt"
)

// ErrNoNALUs is returned by SplitAccessUnits when the stream holds no NAL unit.
var ErrNoNALUs = errors.New("no NAL units (missing Annex-B start code?)")

// SplitNALUs splits an Annex-B byte stream at its start codes (00 00 01 or
// 00 00 00 01) and returns the NAL units without them, trailing zero bytes
// removed. Bytes before the first start code are ignored. The NAL units
// share buf's memory.
func SplitNALUs(buf []byte) [][]byte {
	var out [][]byte
	start := -1 // start of the current NAL unit, -1 before the first start code
	i := 0
	for i+2 < len(buf) {
		if buf[i] == 0 && buf[i+1] == 0 && buf[i+2] == 1 {
			if start >= 0 {
				out = appendNALU(out, buf[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		out = appendNALU(out, buf[start:])
	}
	return out
}

func appendNALU(out [][]byte, n []byte) [][]byte {
	// Drop the zero bytes that precede the next start code (the leading zero
	// of a 4-byte start code, trailing_zero_8bits).
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return out
	}
	return append(out, n)
}

// SplitAccessUnits splits an Annex-B H.264 or H.265 elementary stream into
// access units (pictures), each a list of NAL units in stream order.
//
// Grouping follows the first-slice rule of H.264 7.4.1.2.3 and H.265
// 7.4.2.4.4, simplified: once the current access unit holds a picture's
// slice (a VCL NAL unit), a new access unit starts at
//   - an access unit delimiter, a parameter set, a prefix SEI or another
//     NAL unit type that may only precede a picture, or
//   - a slice that is the first of its picture (first_mb_in_slice == 0 in
//     H.264, first_slice_segment_in_pic_flag in H.265).
//
// Suffix NAL units (H.265 suffix SEI, end of sequence, filler data) stay
// with the picture they follow. With x264 and x265 (one slice per picture,
// parameter sets before each IDR) this gives one access unit per frame.
func SplitAccessUnits(codec Codec, buf []byte) ([][][]byte, error) {
	if codec != CodecH264 && codec != CodecH265 {
		return nil, fmt.Errorf("unsupported codec %q", codec)
	}
	nalus := SplitNALUs(buf)
	if len(nalus) == 0 {
		return nil, ErrNoNALUs
	}
	var (
		aus    [][][]byte
		cur    [][]byte
		hasVCL bool
	)
	for _, n := range nalus {
		vcl, first, prefix, ok := classify(codec, n)
		if !ok {
			return nil, fmt.Errorf("NAL unit %d is too short", len(aus))
		}
		if hasVCL && (prefix || (vcl && first)) {
			aus = append(aus, cur)
			cur, hasVCL = nil, false
		}
		cur = append(cur, n)
		hasVCL = hasVCL || vcl
	}
	if hasVCL {
		aus = append(aus, cur)
	}
	if len(aus) == 0 {
		return nil, fmt.Errorf("no picture in the stream")
	}
	return aus, nil
}

// classify tells whether n is a slice (vcl), whether that slice begins a
// picture (first), and whether n is a non-VCL unit that can only begin an
// access unit (prefix). ok is false when n is too short to tell.
func classify(codec Codec, n []byte) (vcl, first, prefix, ok bool) {
	if codec == CodecH265 {
		if len(n) < 2 {
			return false, false, false, false
		}
		typ := (n[0] >> 1) & 0x3f
		switch {
		case typ <= 31: // VCL
			if len(n) < 3 {
				return false, false, false, false
			}
			return true, n[2]&0x80 != 0, false, true
		case typ >= 32 && typ <= 35, typ == 39, typ >= 41 && typ <= 44, typ >= 48 && typ <= 55:
			// VPS, SPS, PPS, AUD, prefix SEI, reserved and unspecified prefix types
			return false, false, true, true
		default: // EOS, EOB, filler data, suffix SEI, reserved suffix types
			return false, false, false, true
		}
	}
	if len(n) < 1 {
		return false, false, false, false
	}
	typ := n[0] & 0x1f
	switch {
	case typ >= 1 && typ <= 5: // coded slice
		if len(n) < 2 {
			return false, false, false, false
		}
		// first_mb_in_slice is ue(v): it is 0 exactly when its first bit is 1.
		return true, n[1]&0x80 != 0, false, true
	case typ >= 6 && typ <= 9, typ >= 13 && typ <= 18:
		// SEI, SPS, PPS, AUD, SPS extension, prefix NAL, subset SPS, reserved
		return false, false, true, true
	default: // end of sequence/stream, filler data, auxiliary slice, unspecified
		return false, false, false, true
	}
}
