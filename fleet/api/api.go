// Package api serves the fleet's HTTP API (SPEC.md §4): health, metrics,
// the canteen registry, gateways, violations and their snapshots, commands
// and desired config, coverage rates, behind bearer-token authentication;
// and, with no login, the public complaint channel (complaints.go: its
// abuse controls) and the public kitchen pages and live view of the cameras published to everyone
// (kitchens.go, public.go).
// Every response carries the security headers and every body a size cap
// (harden); NewHTTPServer sets the timeouts.
//
// Who may call a route is one permission of one table (permissions.go):
// the routes check it, and GET /api/v1/me lists the principal's
// permissions and scope from the same table, so the web UI shows what the
// API allows without repeating the role rules. Which canteens a request
// reaches is the handler's check, against the principal's scope.
//
// # Logins under attack
//
// Failed password checks count in a 15-minute sliding window against three
// keys: the login from the client address (5 failures block that login
// from that address), the address (20 failures block it for every login
// and access code) and the login (after 50 failures from all addresses the
// login is "under attack": it is then tried only from addresses that have
// not failed it in the window, one attempt at a time each). An attempt
// takes its place in all three before its password is hashed and gives it
// back after, recording a failure if it failed, so concurrent guesses are
// counted as they start; refused attempts (429 with Retry-After) are not
// counted, so a block ends 15 minutes after its last checked failure.
// What this gives: an attacker elsewhere cannot lock a user out (the
// user's own address has not failed, so it is tried even while the login
// is under attack); an attacker who shares the user's address (the same
// NAT) can keep that address blocked while guessing, at 5 guesses per
// 15 minutes. A login that cannot exist (not 1-64 letters, digits, '.',
// '_' or '-') is refused without hashing and counted against the address;
// the audit log then records "anonymous" and the name's length, never the
// name. An access code is looked up before the new parent's password is
// hashed. A join link token that is malformed or unknown counts against
// the address as a failure; a real link that is revoked, expired or used
// up does not (joinlinks.go). Password hashing (argon2id, 19 MiB each)
// runs at most 2×GOMAXPROCS at once; a request that waits more than 2 s for its turn
// gets 503 busy with Retry-After: 1. Behind a reverse proxy every client
// has the proxy's address: rate-limit there too.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/enrol"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Publisher sends a message to a gateway over MQTT.
type Publisher interface {
	Publish(topic string, retained bool, payload []byte, timeout time.Duration) error
}

// Server is the HTTP API.
type Server struct {
	// Registry, Auth, Alarms and Rates are the domains of the fleet's
	// database the routes read and write (fleet/core wires them); all
	// four are required.
	Registry *registry.Registry
	Auth     *auth.Auth
	Alarms   *alarms.Alarms
	Rates    *rates.Rates
	// OTA is the releases and rollouts; nil turns them off (their routes
	// answer 503).
	OTA *ota.OTA
	// Push is the instant push's channels, subscriptions and outbox; nil
	// turns its routes off (503).
	Push *push.Push
	// Complaints is the public's complaint channel (complaints.go); nil
	// turns it off (its routes answer 503). ComplaintBits is its
	// proof-of-work difficulty (0: complaints.DefaultBits).
	Complaints    *complaints.Complaints
	ComplaintBits int
	// Enrol is the gateway enrolment codes; nil turns enrolment off (its
	// routes answer 503).
	Enrol *enrol.Codes
	// EnrolBrokerURLs are the broker's URLs as gateways reach it, handed
	// to a gateway that enrols (preferred first); "{host}" in one stands
	// for the host name the gateway reached the fleet at
	// (HostPlaceholder). None turns the exchange off. EnrolCAPEM, when set, is the PEM CA certificate handed with
	// them, for a fleet whose TLS certificates a private CA signs.
	EnrolBrokerURLs []string
	EnrolCAPEM      string
	// MQTT publishes commands and desired configs; nil disables them.
	MQTT Publisher
	// AdminToken, when set, is accepted as an admin bearer token.
	AdminToken string
	// Gatherer is what /metrics exposes.
	Gatherer prometheus.Gatherer
	// Live relays live views (/whep, /hls, /whip, /live); nil turns them off.
	Live *live.Relay
	// Ready reports whether the fleet is consuming MQTT (for /healthz).
	Ready func() bool
	// SecureCookies marks session cookies Secure even on plain HTTP (the
	// fleet behind a TLS-terminating proxy).
	SecureCookies bool
	// MaxParentViewers caps concurrent parent viewers of a school whose
	// registry entry sets none. Default registry.DefaultMaxParentViewers.
	MaxParentViewers int
	// MaxViewsPerParent caps the cameras one parent (a user or a token)
	// watches at once, so that one parent cannot hold a school's places.
	// Default DefaultMaxViewsPerParent (2).
	MaxViewsPerParent int
	// MaxPublicViewers caps the anonymous views of one canteen's cameras
	// at once (public kitchens, public.go). Default
	// DefaultMaxPublicViewers (200).
	MaxPublicViewers int
	// PublicViewsPerMinute caps the anonymous live view requests from one
	// client address a minute. Default DefaultPublicViewsPerMinute (20).
	PublicViewsPerMinute int
	// PublicURL is the fleet's address as gateways reach it, where a
	// logs.upload command tells the gateway to send its log. Default:
	// the scheme and Host of the request that sent the command.
	PublicURL string
	// ParentURL is the fleet's address as parents' browsers reach it, in
	// join links and their QR codes (joinlinks.go). Default: the scheme
	// and Host of the request that made the link.
	ParentURL string
	// JoinsPerAddr caps the parents who join through join links from one
	// client address in JoinWindow. Default DefaultJoinsPerAddr (60).
	JoinsPerAddr int
	Logger       *slog.Logger

	limOnce sync.Once
	lim     *limiter
	hashing hashGate
	// checkHook, when set by a test, stands in for Auth.CheckPassword.
	checkHook func(ctx context.Context, login, password string) (auth.User, error)
	// viewsHook, when set by a test, stands in for Live.EndViewers.
	viewsHook func(end func(live.ViewerSession) bool) int
	parents   parentViewers
	// complaintWin is the complaint channel's per-address windows.
	complaintWin addrWindow
	public       publicViewers
}

// MaxBody is the largest request body accepted (1 MiB), except by the
// routes bodyLimit names: a rectification (MaxRectification) and the
// canteen import (MaxImport).
const MaxBody = 1 << 20

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.Gatherer != nil {
		// The metrics are the admin's (or, with --metrics-listen, a
		// private listener's: MetricsHandler).
		mux.Handle("GET /metrics", s.authorize(s.MetricsHandler().ServeHTTP, PermMetrics))
	}
	mux.Handle("GET /{$}", web.Handler())
	mux.Handle("GET /static/", web.Handler())

	mux.HandleFunc("POST /api/v1/login", sameOriginOnly(s.login))
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("POST /api/v1/invites/redeem", sameOriginOnly(s.redeemInvite))
	mux.HandleFunc("POST "+wire.EnrolPath, s.enrolGateway)
	mux.Handle("GET /api/v1/me", s.authorize(s.me, signedIn))
	mux.Handle("GET /api/v1/violation-types", s.authorize(s.violationTypes, signedIn))
	mux.Handle("GET /api/v1/users", s.authorize(s.listUsers, PermUserList))
	mux.Handle("POST /api/v1/users", s.authorize(s.addUser, PermUserAdd))
	mux.Handle("DELETE /api/v1/users/{id}", s.authorize(s.deleteUser, PermUserList))
	mux.Handle("GET /api/v1/audit", s.authorize(s.auditLog, PermAudit))
	mux.Handle("GET /api/v1/dashboard", s.authorize(s.dashboard, PermDashboard))

	mux.Handle("GET /api/v1/gateways", s.authorize(s.listGateways, PermGatewayList))
	mux.Handle("PUT /api/v1/gateways/{id}", s.authorize(s.bindGateway, PermGatewayManage))
	mux.Handle("POST /api/v1/gateways/{id}/commands", s.authorize(s.sendCommand, PermGatewayOps))
	mux.Handle("GET /api/v1/gateway-alarms", s.authorize(s.gatewayAlarms, PermGatewayList))
	mux.Handle("GET /api/v1/gateways/{id}/commands", s.authorize(s.listCommands, PermGatewayList))
	mux.Handle("GET /api/v1/gateways/{id}/commands/{cmd}", s.authorize(s.getCommand, PermGatewayList))
	mux.Handle("GET /api/v1/gateways/{id}/logs", s.authorize(s.listLogs, PermGatewayOps))
	mux.Handle("GET /api/v1/gateways/{id}/logs/{upload}", s.authorize(s.downloadLogs, PermGatewayOps))
	mux.HandleFunc("PUT /api/v1/gateways/{id}/logs/{upload}", s.uploadLogs) // the command's token
	mux.Handle("GET /api/v1/gateways/{id}/snapshots/{event}", s.authorize(s.gatewaySnapshot, PermGatewayList))
	mux.Handle("PUT /api/v1/gateways/{id}/config", s.authorize(s.putConfig, PermGatewayManage))
	mux.Handle("PUT /api/v1/cameras/{camera}", s.authorize(s.mapCamera, PermCameraMap))

	mux.Handle("GET /api/v1/releases", s.authorize(s.listReleases, PermReleases))
	mux.Handle("POST /api/v1/releases", s.authorizeBody(s.uploadRelease, MaxReleaseBody, PermReleases))
	mux.Handle("DELETE /api/v1/releases/{id}", s.authorize(s.deleteRelease, PermReleases))
	mux.Handle("GET /api/v1/rollouts", s.authorize(s.listRollouts, PermReleases))
	mux.Handle("POST /api/v1/rollouts", s.authorize(s.createRollout, PermReleases))
	mux.Handle("GET /api/v1/rollouts/{id}", s.authorize(s.getRollout, PermReleases))
	mux.Handle("POST /api/v1/rollouts/{id}/{action}", s.authorize(s.actRollout, PermReleases))
	mux.HandleFunc("GET "+ota.DownloadPath+"{token}", s.downloadBundle) // the target's token

	mux.Handle("GET /api/v1/canteens", s.authorize(s.listCanteens, PermCanteenList))
	mux.Handle("GET /api/v1/canteens/{id}", s.authorize(s.getCanteen, PermCanteenView))
	mux.Handle("GET /api/v1/canteens/{id}/cameras", s.authorize(s.canteenCameras, PermCanteenView))
	mux.Handle("PUT /api/v1/canteens/{id}/viewing", s.authorize(s.putViewing, PermViewing))
	mux.Handle("GET /api/v1/canteens/{id}/invites", s.authorize(s.listInvites, PermInvites))
	mux.Handle("POST /api/v1/canteens/{id}/invites", s.authorize(s.addInvite, PermInvites))
	mux.Handle("GET /api/v1/canteens/{id}/enrolment-codes", s.authorize(s.listEnrolCodes, PermEnrol))
	mux.Handle("POST /api/v1/canteens/{id}/enrolment-codes", s.authorize(s.addEnrolCode, PermEnrol))
	mux.Handle("DELETE /api/v1/canteens/{id}/enrolment-codes/{code}", s.authorize(s.revokeEnrolCode, PermEnrol))
	mux.Handle("POST /api/v1/canteens", s.authorize(s.putCanteen, PermCanteenManage))
	mux.Handle("POST /api/v1/canteens/import", s.authorizeBody(s.importCanteens, MaxImport, PermCanteenManage))
	mux.Handle("GET /api/v1/coverage", s.authorize(s.coverage, PermCoverage))

	mux.Handle("GET /api/v1/violations", s.authorize(s.listViolations, PermAlarmView))
	mux.Handle("GET /api/v1/violations/{id}", s.authorize(s.getViolation, PermAlarmView))
	mux.Handle("GET /api/v1/violations/{id}/snapshot", s.authorize(s.getSnapshot, PermAlarmView))
	mux.Handle("POST /api/v1/violations/{id}/review", s.authorize(s.review, PermAlarmReview))
	mux.Handle("POST /api/v1/violations/{id}/rectification", s.authorizeBody(s.submitRectification, MaxRectification, PermAlarmRectify))
	mux.Handle("GET /api/v1/violations/{id}/rectifications/{rid}/photo", s.authorize(s.rectificationPhoto, PermAlarmView))
	mux.Handle("POST /api/v1/violations/{id}/decision", s.authorize(s.decide, PermAlarmReview))
	// Public kitchen pages (网络厨房, kitchens.go): no login; the notice
	// (公示) behind them.
	mux.HandleFunc("GET /kitchens", s.kitchens)
	mux.HandleFunc("GET /kitchens/{id}", s.kitchen)
	mux.Handle("GET /api/v1/canteens/{id}/publicity", s.authorize(s.getPublicity, PermCanteenView))
	mux.Handle("PUT /api/v1/canteens/{id}/publicity", s.authorize(s.putPublicity, PermPublicity))
	s.pushRoutes(mux)
	// Complaints (投诉举报): the public form and the regulators' queue.
	s.complaintRoutes(mux)
	// Join links and device sessions (issue 15 item 4, joinlinks.go).
	mux.Handle("GET /api/v1/canteens/{id}/join-links", s.authorize(s.listJoinLinks, PermInvites))
	mux.Handle("POST /api/v1/canteens/{id}/join-links", s.authorize(s.addJoinLink, PermInvites))
	mux.Handle("GET /api/v1/join-links/{link}", s.authorize(s.getJoinLink, PermInvites))
	mux.Handle("POST /api/v1/join-links/{link}/revoke", s.authorize(s.revokeJoinLink, PermInvites))
	mux.Handle("GET /api/v1/join-links/{link}/qr.png", s.authorize(s.joinLinkQR, PermInvites))
	mux.HandleFunc("POST /api/v1/join/check", sameOriginOnly(s.checkJoinLink))
	mux.HandleFunc("POST /api/v1/join", sameOriginOnly(s.redeemJoinLink))
	mux.Handle("GET /api/v1/me/devices", s.authorize(s.listDevices, signedIn))
	mux.Handle("DELETE /api/v1/me/devices", s.authorize(s.endAllDevices, signedIn))
	mux.Handle("DELETE /api/v1/me/devices/{key}", s.authorize(s.endDevice, signedIn))
	mux.Handle("PUT /api/v1/users/{id}/disabled", s.authorize(s.setUserDisabled, PermUserList))
	mux.Handle("GET /api/v1/notices", s.authorize(s.listNotices, PermNotices))
	mux.Handle("POST /api/v1/notices/{id}/read", s.authorize(s.readNotice, PermNotices))
	if s.Live != nil {
		// Live view admits the anonymous principal (public kitchens:
		// public.go); watchable decides what it may watch.
		mux.Handle("POST /whep/{camera}", s.authorizeOrAnonymous(s.whep, PermLive))
		mux.Handle("DELETE /whep/{camera}/{session}", s.authorizeOrAnonymous(s.whepDelete, PermLive))
		mux.HandleFunc("POST /whip/{camera}", func(w http.ResponseWriter, r *http.Request) {
			s.Live.WHIP(w, r, r.PathValue("camera"))
		})
		mux.HandleFunc("DELETE /whip/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
			s.Live.WHIPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
		})
		// HLS (issue 15): the player's fallback, behind the same check as WHEP (hls.go),
		// the anonymous principal included.
		mux.Handle("POST /hls/{camera}", s.authorizeOrAnonymous(s.hlsStart, PermLive))
		mux.Handle("GET /hls/{camera}/index.m3u8", s.authorizeOrAnonymous(s.hlsStart, PermLive))
		mux.HandleFunc("GET /hls/{camera}/{session}/{file}", s.hlsServe)
		mux.Handle("DELETE /hls/{camera}/{session}", s.authorizeOrAnonymous(s.hlsDelete, PermLive))
		mux.Handle("GET /api/v1/cameras/{camera}", s.authorizeOrAnonymous(s.getCamera, PermLive))
		mux.HandleFunc("GET /live/{camera}", s.livePage)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return harden(mux)
}

// MetricsHandler serves the Prometheus metrics of Gatherer, unauthenticated:
// for a listener of its own (bk-fleet --metrics-listen). On the API's
// listener /metrics takes an admin's bearer token or session.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})
}

// sameOriginOnly refuses a request whose Origin names another site: the
// login and the invite redemption, which start a session without one, so
// that another site cannot log a browser in under an account of its
// choosing (login CSRF).
func sameOriginOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused")
			return
		}
		h(w, r)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil && !s.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "not consuming MQTT yet")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// violationTypes lists the violation types of the device contract with
// their Chinese and English names (wire.ViolationTypes): the names the
// UI shows and the types it filters by.
func (s *Server) violationTypes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"types": wire.ViolationTypes})
}

type commandRequest struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
	// TTL is how long the command stays valid, in seconds (default 60).
	TTL int `json:"ttl_s,omitempty"`
}

// auditCommand records who sent which command to which gateway, with a
// summary of its arguments (secrets blanked, cut short), sent or not: a
// command can make a gateway act on its cameras (live.start publishes one).
func (s *Server) auditCommand(r *http.Request, gw string, req commandRequest, cmd wire.Cmd, err error) {
	p, _ := PrincipalOf(r.Context())
	e := auth.AuditEntry{Action: "command", Detail: fmt.Sprintf("gateway %s: %s %s", gw, req.Name, argsSummary(req.Args))}
	if g, gerr := s.Registry.Gateway(r.Context(), gw); gerr == nil {
		e.CanteenID = g.CanteenID
	}
	if cmd.CmdID != "" {
		e.Detail += " (cmd " + cmd.CmdID + ")"
	}
	if err != nil {
		e.Outcome = auth.OutcomeFailed
		e.Detail += ": " + err.Error()
	}
	s.auditAs(r.Context(), p, e)
}

// argsSummary is a command's arguments for the audit log: JSON with the
// values of secret-looking keys blanked, at most 300 bytes.
func argsSummary(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Sprintf("(%d bytes, not an object)", len(raw))
	}
	for k := range m {
		switch lk := strings.ToLower(k); {
		case strings.Contains(lk, "token"), strings.Contains(lk, "password"), strings.Contains(lk, "secret"):
			m[k] = "…"
		case lk == "url":
			m[k] = redactDownloadURL(m[k])
		}
	}
	b, _ := json.Marshal(m)
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// redactDownloadURL blanks the token of a bundle's download URL (an
// ota.install's url: the token is what lets a gateway fetch it).
func redactDownloadURL(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if i := strings.Index(s, ota.DownloadPath); i >= 0 {
		return s[:i+len(ota.DownloadPath)] + "…"
	}
	return s
}

var (
	errNoMQTT  = errors.New("MQTT is not connected")
	errPublish = errors.New("publish")
)

// Command records a command for gateway gw and sends it on its cmd topic;
// it expires after ttl. args is raw JSON or a value to encode.
func (s *Server) Command(ctx context.Context, gw, name string, args any, ttl time.Duration) (wire.Cmd, error) {
	return s.command(ctx, gw, ulid.Make().String(), name, args, ttl)
}

// CommandWithID is Command with the command's id chosen by the caller
// (a rollout records it before sending).
func (s *Server) CommandWithID(ctx context.Context, gw, cmdID, name string, args any, ttl time.Duration) (wire.Cmd, error) {
	return s.command(ctx, gw, cmdID, name, args, ttl)
}

// command is Command with the command's id chosen by the caller.
func (s *Server) command(ctx context.Context, gw, cmdID, name string, args any, ttl time.Duration) (wire.Cmd, error) {
	raw, ok := args.(json.RawMessage)
	if !ok && args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return wire.Cmd{}, fmt.Errorf("encode %s args: %w", name, err)
		}
		raw = b
	}
	cmd := wire.Cmd{V: wire.Version, CmdID: cmdID, Name: name, Args: raw,
		ExpiresAt: time.Now().Add(ttl).UTC()}
	if s.MQTT == nil {
		return cmd, errNoMQTT
	}
	if err := s.Registry.RecordCmd(ctx, gw, cmd); err != nil {
		return cmd, fmt.Errorf("record command: %w", err)
	}
	b, err := wire.Marshal(cmd)
	if err != nil {
		return cmd, fmt.Errorf("encode command: %w", err)
	}
	if err := s.MQTT.Publish(wire.Topic(gw, wire.KindCmd), false, b, 5*time.Second); err != nil {
		return cmd, fmt.Errorf("%w: %w", errPublish, err)
	}
	return cmd, nil
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	gw := r.PathValue("id")
	if !s.gatewayExists(w, r, gw) {
		return
	}
	var cfg json.RawMessage
	if !decodeBody(w, r, &cfg) {
		return
	}
	if len(cfg) == 0 || cfg[0] != '{' {
		writeError(w, http.StatusBadRequest, "bad_request", "body must be the gateway's config as a JSON object")
		return
	}
	ver, err := s.Registry.NextConfigVersion(r.Context(), gw, cfg)
	if err != nil {
		s.internal(w, "store config", err)
		return
	}
	if !s.publish(w, wire.Topic(gw, wire.KindConfigDesired), true, wire.ConfigDesired{V: wire.Version, Version: ver, Config: cfg}) {
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"version": ver})
}

func (s *Server) gatewayExists(w http.ResponseWriter, r *http.Request, gw string) bool {
	ok, err := s.Registry.GatewayExists(r.Context(), gw)
	if err != nil {
		s.internal(w, "look up gateway", err)
		return false
	}
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no gateway %q", gw))
		return false
	}
	return true
}

func (s *Server) publish(w http.ResponseWriter, topic string, retained bool, payload any) bool {
	if s.MQTT == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "MQTT is not connected")
		return false
	}
	b, err := wire.Marshal(payload)
	if err == nil {
		err = s.MQTT.Publish(topic, retained, b, 5*time.Second)
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "publish: "+err.Error())
		return false
	}
	return true
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.Logger.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", what+" failed")
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", mbe.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
		return false
	}
	return true
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339 or YYYY-MM-DD", v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}
