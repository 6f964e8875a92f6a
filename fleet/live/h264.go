package live

// H.264 NAL unit types (ITU-T H.264 table 7-1, RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluPPS   = 8
	naluSTAPA = 24
	naluFUA   = 28
)

// isKeyPayload reports whether an H.264 RTP payload (RFC 6184) is or starts
// a keyframe: a single IDR or SPS NAL unit, a STAP-A that holds one, or the
// first fragment (FU-A, S bit) of one.
func isKeyPayload(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] & 0x1f {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA:
		b := p[1:]
		for len(b) > 2 {
			n := int(b[0])<<8 | int(b[1])
			b = b[2:]
			if n == 0 || n > len(b) {
				return false
			}
			if t := b[0] & 0x1f; t == naluIDR || t == naluSPS {
				return true
			}
			b = b[n:]
		}
	case naluFUA:
		if len(p) < 2 {
			return false
		}
		t := p[1] & 0x1f
		return p[1]&0x80 != 0 && (t == naluIDR || t == naluSPS)
	}
	return false
}
