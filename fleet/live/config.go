package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config. A zero field means its default.
const (
	DefaultLinger               = 10 * time.Second
	DefaultStartTimeout         = 10 * time.Second
	DefaultMaxViewersPerCamera  = 100
	DefaultMaxViewersPerCanteen = 300
	DefaultViewerTTL            = 4 * time.Hour
	DefaultHLSIdle              = 15 * time.Second

	// MaxOfferBytes caps the body of a WHEP or WHIP offer.
	MaxOfferBytes = 64 << 10
)

// Config holds the relay's settings. The zero value of each field means its
// default, given in the field's comment.
type Config struct {
	// ICEServers are the STUN/TURN servers given to viewers' and publishers'
	// peer connections on the relay side. Default none.
	ICEServers []webrtc.ICEServer
	// UDPListen is one UDP address ("host:port") for all peers, shared
	// through an ICE UDP mux, for example "0.0.0.0:8189" or "127.0.0.1:0".
	// Default "": pion picks ephemeral ports per peer connection.
	UDPListen string
	// Loopback includes loopback candidates and keeps only them, UDP4 only
	// (tests, everything on one host). Default false.
	Loopback bool
	// PublicIPs replace the IPs of host candidates (a 1:1 NAT in front of
	// the relay). Default none.
	PublicIPs []string
	// Linger is how long an upstream is kept after its last viewer leaves.
	// Default 10s.
	Linger time.Duration
	// StartTimeout bounds how long a WHEP request waits for the camera's
	// upstream to deliver its first keyframe. Default 10s.
	StartTimeout time.Duration
	// MaxViewersPerCamera and MaxViewersPerCanteen cap concurrent viewers;
	// one more is refused with 429. Defaults 100 and 300. A negative value
	// removes the cap.
	MaxViewersPerCamera, MaxViewersPerCanteen int
	// ViewerTTL is how long a viewer session lives; it is then closed.
	// Default 4h.
	ViewerTTL time.Duration
	// HLSIdle ends an HLS viewer session that has made no request for
	// this long (an HLS player fetches its playlist or a part at least
	// every few seconds while it plays). Default 15s.
	HLSIdle time.Duration
	// NoGOPCache turns the GOP cache off: late joiners wait for the next
	// keyframe (a baseline for benchmarks). Default false (cache on).
	NoGOPCache bool
	// Start asks the camera's gateway to publish (the fleet sends
	// live.start with the ticket and the WHIP URL). It should return once
	// the command is sent, not once the stream flows, and honor ctx
	// (bounded by StartTimeout, cancelled by Close, which waits for it).
	// Required.
	Start func(ctx context.Context, cameraID string, t Ticket) error
	// Stop asks the gateway to stop publishing the ticket's session
	// (live.stop), within 10s. Default: nothing is sent.
	Stop func(ctx context.Context, cameraID, session string) error
	// OnViewerEnd is called once per viewer session when it ends, with the
	// times the session was accepted and ended (an audit trail). Default
	// none. It must not block.
	OnViewerEnd func(v Viewer, cameraID string, from, to time.Time)
	// Registerer receives the relay's metrics (see metrics.go). Default:
	// metrics are kept but not registered.
	Registerer prometheus.Registerer
	// Logger is the relay's logger. Default: discard.
	Logger *slog.Logger
}

// Ticket is what the gateway needs to publish a camera: the session names
// the WHIP resource, the token authenticates the WHIP POST.
type Ticket struct {
	Session string
	Token   string
}

// Viewer is who watches, as decided by the caller's authorizer.
type Viewer struct {
	// Principal identifies the user (for the audit hook).
	Principal string
	// CanteenID is the canteen that owns the watched camera; viewers of
	// all cameras of a canteen count against MaxViewersPerCanteen. Empty:
	// no canteen cap.
	CanteenID string
	// Role is the user's role (for the audit hook).
	Role string
	// Until, when set, ends the session then (a parent's viewing window
	// closing), or at ViewerTTL if that is sooner.
	Until time.Time
	// Login identifies the login session or token the view was started
	// with (opaque to the relay), so that its owner can end the views of
	// one login (Relay.EndViewers).
	Login string
}

// withDefaults returns c with defaults filled in, or an error naming the
// field that is wrong.
func (c Config) withDefaults() (Config, error) {
	if c.Start == nil {
		return c, errors.New("live.Config.Start: required")
	}
	for name, d := range map[string]time.Duration{
		"Linger": c.Linger, "StartTimeout": c.StartTimeout, "ViewerTTL": c.ViewerTTL, "HLSIdle": c.HLSIdle,
	} {
		if d < 0 {
			return c, fmt.Errorf("live.Config.%s: must not be negative (got %v)", name, d)
		}
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.ViewerTTL == 0 {
		c.ViewerTTL = DefaultViewerTTL
	}
	if c.HLSIdle == 0 {
		c.HLSIdle = DefaultHLSIdle
	}
	if c.MaxViewersPerCamera == 0 {
		c.MaxViewersPerCamera = DefaultMaxViewersPerCamera
	}
	if c.MaxViewersPerCanteen == 0 {
		c.MaxViewersPerCanteen = DefaultMaxViewersPerCanteen
	}
	if c.UDPListen != "" {
		if _, err := net.ResolveUDPAddr("udp", c.UDPListen); err != nil {
			return c, fmt.Errorf("live.Config.UDPListen: %w", err)
		}
	}
	for i, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return c, fmt.Errorf("live.Config.PublicIPs[%d]: %w", i, err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
