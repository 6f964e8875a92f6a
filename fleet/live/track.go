package live

import (
	"strings"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// viewerTrack is the relay-owned video track of one viewer. Unlike
// webrtc.TrackLocalStaticRTP it holds a single binding and no packets: the
// viewer's writer goroutine reads the binding and writes through it.
type viewerTrack struct {
	streamID string
	// prefer is the profile-level-id of the publisher's stream; among the
	// viewer's H.264 formats one with the same profile is preferred.
	prefer  string
	binding atomic.Pointer[trackBinding]
}

// trackBinding is what negotiation decided for a viewer: where to write,
// with which SSRC and payload type.
type trackBinding struct {
	ws   webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
}

var _ webrtc.TrackLocal = (*viewerTrack)(nil)

// Bind picks the viewer's H.264 format with packetization-mode=1.
func (t *viewerTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := pickH264(ctx.CodecParameters(), t.prefer)
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.binding.Store(&trackBinding{ws: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType)})
	return codec, nil
}

// Unbind stops the writes.
func (t *viewerTrack) Unbind(webrtc.TrackLocalContext) error {
	t.binding.Store(nil)
	return nil
}

func (t *viewerTrack) ID() string                { return "video" }
func (t *viewerTrack) RID() string               { return "" }
func (t *viewerTrack) StreamID() string          { return t.streamID }
func (t *viewerTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

// pickH264 returns the first H.264 format with packetization-mode=1,
// preferring one whose profile (profile_idc and constraint flags, then
// profile_idc alone) matches prefer.
func pickH264(codecs []webrtc.RTPCodecParameters, prefer string) (webrtc.RTPCodecParameters, bool) {
	var (
		best  webrtc.RTPCodecParameters
		score = -1
	)
	prefer = strings.ToLower(prefer)
	for _, c := range codecs {
		if !strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) {
			continue
		}
		p := fmtpParams(c.SDPFmtpLine)
		if p["packetization-mode"] != "1" {
			continue
		}
		s := 0
		if pl := strings.ToLower(p["profile-level-id"]); len(pl) == 6 && len(prefer) == 6 {
			switch {
			case pl[:4] == prefer[:4]:
				s = 2
			case pl[:2] == prefer[:2]:
				s = 1
			}
		}
		if s > score {
			best, score = c, s
		}
	}
	return best, score >= 0
}
