package live

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// videoCodec is the one format offered: H.264, packetization-mode=1,
// Constrained Baseline level 3.1 as profile-level-id. The fleet relay
// (fleet/live) accepts it, and browsers decode the Main and High profile
// streams of cameras under it in practice; the level is not enforced.
var videoCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeH264,
		ClockRate:   clockRate,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
		},
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
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, fmt.Errorf("configure NACK: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("configure RTCP reports: %w", err)
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggers{log}
	// The relay never sends .local candidates, and mDNS would open a
	// multicast socket per session.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir)), nil
}

// pionLoggers routes pion's loggers into slog. pion's Info is chatty
// (every state change), so it goes to Debug; Trace is dropped.
type pionLoggers struct{ log *slog.Logger }

func (f pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (pionLogger) Trace(string)                     {}
func (pionLogger) Tracef(string, ...any)            {}
func (p pionLogger) Debug(msg string)               { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Debugf(format string, a ...any) { p.logf(slog.LevelDebug, format, a...) }
func (p pionLogger) Info(msg string)                { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Infof(format string, a ...any)  { p.logf(slog.LevelDebug, format, a...) }
func (p pionLogger) Warn(msg string)                { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLogger) Warnf(format string, a ...any)  { p.logf(slog.LevelWarn, format, a...) }
func (p pionLogger) Error(msg string)               { p.logf(slog.LevelError, "%s", msg) }
func (p pionLogger) Errorf(format string, a ...any) { p.logf(slog.LevelError, format, a...) }
