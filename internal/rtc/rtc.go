// Package rtc holds the pion WebRTC settings that both sides share: the
// gateway's WHIP publisher (gateway/live), the fleet's relay (fleet/live)
// and the test peers that stand in for browsers (internal/rtc/rtctest
// builds them with BrowserAPI). One place says how our peers do ICE, which
// RTCP feedback H.264 carries and which interceptors a sending or
// receiving peer runs.
package rtc

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/logging"
)

// VideoFeedback is the RTCP feedback our H.264 offers and answers carry:
// NACKs, picture loss and full intra requests.
func VideoFeedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
}

// Settings is the ICE setup of our peers: pion logs to log (nil: none), no
// mDNS (it would open a multicast socket per peer connection, and neither
// side sends .local candidates), ICE timeouts of 5 s disconnected, 10 s
// failed, 2 s keep-alive. With loopback, only loopback UDP4 candidates
// (tests, everything on one host).
func Settings(log *slog.Logger, loopback bool) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	if log != nil {
		se.LoggerFactory = logging.Pion{Log: log}
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return se
}

// NackAndReports is the interceptors of a peer that sends or receives media
// it answers for: pion's NACK generator and responder, and RTCP sender and
// receiver reports, registered on me.
func NackAndReports(me *webrtc.MediaEngine) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, fmt.Errorf("configure NACK: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("configure RTCP reports: %w", err)
	}
	return ir, nil
}

// BrowserAPI is the pion API of a test peer that behaves like a browser on
// loopback: pion's default codecs and interceptors, loopback candidates only.
func BrowserAPI(log *slog.Logger) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(Settings(log, true)), webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir)), nil
}
