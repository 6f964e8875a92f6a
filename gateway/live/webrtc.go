package live

import (
	"fmt"
	"log/slog"

	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/rtc"
)

// videoCodec is the one format offered: H.264, packetization-mode=1,
// Constrained Baseline level 3.1 as profile-level-id. The fleet relay
// (fleet/live) accepts it, and browsers decode the Main and High profile
// streams of cameras under it in practice; the level is not enforced.
var videoCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType:     webrtc.MimeTypeH264,
		ClockRate:    clockRate,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: rtc.VideoFeedback(),
	},
	PayloadType: 96,
}

// newAPI builds the pion API of one publisher: H.264 only, NACK answered
// from pion's send buffer, sender reports, the ICE settings of loopback.
func newAPI(loopback bool, log *slog.Logger) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(videoCodec, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register H.264: %w", err)
	}
	ir, err := rtc.NackAndReports(me)
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(rtc.Settings(log, loopback)), webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir)), nil
}
