package sdk

// ShrinkGray box-averages a GRAY8 picture of row stride w by the integer
// factor f into a sw×sh picture (sw*f ≤ w, sh*f ≤ the picture's height):
// each output pixel is the rounded mean of its f×f block. Detectors that
// work on a small picture use it to cut the gateway's frame down cheaply.
func ShrinkGray(luma []byte, w, sw, sh, f int) []byte {
	out := make([]byte, sw*sh)
	if f == 1 {
		for y := 0; y < sh; y++ {
			copy(out[y*sw:(y+1)*sw], luma[y*w:y*w+sw])
		}
		return out
	}
	area := uint32(f * f)
	sums := make([]uint32, sw)
	for y := 0; y < sh; y++ {
		clear(sums)
		for r := 0; r < f; r++ {
			row := luma[(y*f+r)*w : (y*f+r)*w+sw*f]
			for x := 0; x < sw; x++ {
				var s uint32
				for _, v := range row[x*f : x*f+f] {
					s += uint32(v)
				}
				sums[x] += s
			}
		}
		o := out[y*sw : (y+1)*sw]
		for x, s := range sums {
			o[x] = byte((s + area/2) / area)
		}
	}
	return out
}
