package live

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/rtc"
)

// h264Profiles are the profile-level-ids the relay accepts, each with
// packetization-mode=1. pion matches offers on the profile part (the first
// two bytes), so any level of these profiles is accepted.
var h264Profiles = []string{
	"42001f", // Baseline
	"42e01f", // Constrained Baseline
	"4d001f", // Main
	"4d401f", // Main (constrained)
	"640c1f", // Constrained High
	"64001f", // High
}

// The relay understands from peers NACKs (answered from the ring for
// viewers, sent by pion to publishers) and picture loss: rtc.VideoFeedback.

func h264MediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	for i, pl := range h264Profiles {
		err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + pl,
				RTCPFeedback: rtc.VideoFeedback(),
			},
			PayloadType: webrtc.PayloadType(102 + i),
		}, webrtc.RTPCodecTypeVideo)
		if err != nil {
			return nil, fmt.Errorf("register H.264 %s: %w", pl, err)
		}
	}
	return me, nil
}

// settingEngine applies the relay's ICE settings.
func (r *Relay) settingEngine() (webrtc.SettingEngine, error) {
	// No mDNS: a relay learns a browser's address from its connectivity
	// checks anyway.
	se := rtc.Settings(r.log, r.cfg.Loopback)
	if r.mux != nil {
		se.SetICEUDPMux(r.mux)
		if !r.cfg.Loopback {
			se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
		}
	}
	if len(r.cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        r.cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("live.Config.PublicIPs: %w", err)
		}
	}
	return se, nil
}

// buildAPIs makes the two pion APIs. Viewers get no interceptors at all:
// NACKs and picture loss are handled by the relay from the shared ring, so
// a viewer costs no per-packet copies. The publisher side gets pion's NACK
// generator and receiver reports.
func (r *Relay) buildAPIs() error {
	se, err := r.settingEngine()
	if err != nil {
		return err
	}
	vme, err := h264MediaEngine()
	if err != nil {
		return err
	}
	r.viewerAPI = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(vme),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))

	ume, err := h264MediaEngine()
	if err != nil {
		return err
	}
	ir, err := rtc.NackAndReports(ume)
	if err != nil {
		return err
	}
	r.upAPI = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(ume),
		webrtc.WithInterceptorRegistry(ir))
	return nil
}
