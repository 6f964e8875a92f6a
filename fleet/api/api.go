// Package api serves the fleet's HTTP API (SPEC.md §4): health, metrics,
// the canteen registry, gateways, violations and their snapshots, commands
// and desired config, coverage rates, behind bearer-token authentication.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Publisher sends a message to a gateway over MQTT.
type Publisher interface {
	Publish(topic string, retained bool, payload []byte, timeout time.Duration) error
}

// Server is the HTTP API.
type Server struct {
	Store *store.Store
	// MQTT publishes commands and desired configs; nil disables them.
	MQTT Publisher
	// AdminToken, when set, is accepted as an admin bearer token.
	AdminToken string
	// Gatherer is what /metrics exposes.
	Gatherer prometheus.Gatherer
	// Live relays live views (/whep, /whip, /live); nil turns them off.
	Live *live.Relay
	// Ready reports whether the fleet is consuming MQTT (for /healthz).
	Ready  func() bool
	Logger *slog.Logger
}

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /{$}", s.statusPage)
	mux.Handle("GET /api/v1/gateways", s.auth(s.listGateways))
	mux.Handle("POST /api/v1/gateways/{id}/commands", s.auth(s.sendCommand))
	mux.Handle("GET /api/v1/gateways/{id}/commands/{cmd}", s.auth(s.getCommand))
	mux.Handle("PUT /api/v1/gateways/{id}/config", s.auth(s.putConfig))
	mux.Handle("GET /api/v1/canteens", s.authorize(s.listCanteens, store.RoleAdmin, store.RoleRegulator))
	mux.Handle("GET /api/v1/canteens/{id}", s.authorize(s.getCanteen, store.RoleAdmin, store.RoleRegulator, store.RoleOperator))
	mux.Handle("POST /api/v1/canteens", s.auth(s.putCanteen))
	mux.Handle("POST /api/v1/canteens/import", s.authorizeBody(s.importCanteens, MaxImport, store.RoleAdmin))
	mux.Handle("GET /api/v1/coverage", s.authorize(s.coverage, store.RoleAdmin, store.RoleRegulator))
	mux.Handle("GET /api/v1/violations", s.auth(s.listViolations))
	mux.Handle("GET /api/v1/violations/{id}", s.auth(s.getViolation))
	mux.Handle("GET /api/v1/violations/{id}/snapshot", s.auth(s.getSnapshot))
	if s.Live != nil {
		mux.Handle("POST /whep/{camera}", s.authorize(s.whep, store.Roles...))
		mux.Handle("DELETE /whep/{camera}/{session}", s.authorize(s.whepDelete, store.Roles...))
		mux.HandleFunc("POST /whip/{camera}", func(w http.ResponseWriter, r *http.Request) {
			s.Live.WHIP(w, r, r.PathValue("camera"))
		})
		mux.HandleFunc("DELETE /whip/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
			s.Live.WHIPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
		})
		mux.Handle("GET /api/v1/cameras/{camera}", s.authorize(s.getCamera, store.Roles...))
		mux.HandleFunc("GET /live/{camera}", s.livePage)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil && !s.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "not consuming MQTT yet")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// auth lets admins through: the operations API.
func (s *Server) auth(h http.HandlerFunc) http.Handler { return s.authorize(h, store.RoleAdmin) }

// authorize resolves the bearer token to a Principal (the admin token, or
// a stored API token), refuses roles not in roles, and hands the principal
// on in the request's context. Users, sessions and the finer role rules
// come with the registry; the check stays in this one place.
func (s *Server) authorize(h http.HandlerFunc, roles ...string) http.Handler {
	return s.authorizeBody(h, MaxBody, roles...)
}

// authorizeBody is authorize with a body limit other than MaxBody.
func (s *Server) authorizeBody(h http.HandlerFunc, maxBody int64, roles ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.principal(w, r)
		if !ok {
			return
		}
		if !slices.Contains(roles, p.Role) {
			writeError(w, http.StatusForbidden, "forbidden", "role "+p.Role+" may not do this")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (s *Server) principal(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "missing bearer token")
		return Principal{}, false
	}
	if s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1 {
		return Principal{ID: "admin-token", Role: store.RoleAdmin}, true
	}
	t, err := s.Store.TokenBySecret(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "invalid token")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, "look up token", err)
		return Principal{}, false
	}
	return Principal{ID: "token:" + t.ID, Role: t.Role, Canteens: t.Canteens}, true
}

// Principal is who a request acts for.
type Principal struct {
	// ID names the principal in audit records.
	ID   string
	Role string
	// Canteens bind operators and parents.
	Canteens []string
}

type principalKey struct{}

// PrincipalOf is the principal authorize put in ctx.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// CanWatch says whether p may watch a camera live: admins and regulators
// any camera, operators the cameras of their canteens, parents the public
// cameras of their school (the viewing windows come with the registry).
func (p Principal) CanWatch(h store.CameraHome) bool {
	switch p.Role {
	case store.RoleAdmin, store.RoleRegulator:
		return true
	case store.RoleOperator:
		return h.CanteenID != "" && slices.Contains(p.Canteens, h.CanteenID)
	case store.RoleParent:
		return h.Public && h.CanteenID != "" && slices.Contains(p.Canteens, h.CanteenID)
	}
	return false
}

func (s *Server) listGateways(w http.ResponseWriter, r *http.Request) {
	gws, err := s.Store.ListGateways(r.Context())
	if err != nil {
		s.internal(w, "list gateways", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateways": gws})
}

func (s *Server) listViolations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ViolationFilter{
		CanteenID: q.Get("canteen_id"), GatewayID: q.Get("gateway_id"),
		Type: q.Get("type"), Status: q.Get("status"),
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "since: "+err.Error())
		return
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "until: "+err.Error())
		return
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 10000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit: want 1..10000")
			return
		}
	}
	if v := q.Get("after_id"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "after_id: not a number")
			return
		}
	}
	vs, err := s.Store.Violations(r.Context(), f)
	if err != nil {
		s.internal(w, "list violations", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"violations": vs})
}

func (s *Server) violationID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "violation id must be a positive number")
		return 0, false
	}
	return id, true
}

func (s *Server) getViolation(w http.ResponseWriter, r *http.Request) {
	id, ok := s.violationID(w, r)
	if !ok {
		return
	}
	v, err := s.Store.Violation(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such violation")
		return
	} else if err != nil {
		s.internal(w, "get violation", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	id, ok := s.violationID(w, r)
	if !ok {
		return
	}
	jpeg, err := s.Store.Snapshot(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no snapshot for this violation")
		return
	} else if err != nil {
		s.internal(w, "get snapshot", err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(jpeg)
}

type commandRequest struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
	// TTL is how long the command stays valid, in seconds (default 60).
	TTL int `json:"ttl_s,omitempty"`
}

func (s *Server) sendCommand(w http.ResponseWriter, r *http.Request) {
	gw := r.PathValue("id")
	if !s.gatewayExists(w, r, gw) {
		return
	}
	var req commandRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name: required")
		return
	}
	if req.TTL <= 0 {
		req.TTL = 60
	}
	cmd, err := s.Command(r.Context(), gw, req.Name, req.Args, time.Duration(req.TTL)*time.Second)
	if errors.Is(err, errNoMQTT) || errors.Is(err, errPublish) {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	} else if err != nil {
		s.internal(w, "send command", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"cmd_id": cmd.CmdID, "status": "sent"})
}

var (
	errNoMQTT  = errors.New("MQTT is not connected")
	errPublish = errors.New("publish")
)

// Command records a command for gateway gw and sends it on its cmd topic;
// it expires after ttl. args is raw JSON or a value to encode.
func (s *Server) Command(ctx context.Context, gw, name string, args any, ttl time.Duration) (wire.Cmd, error) {
	raw, ok := args.(json.RawMessage)
	if !ok && args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return wire.Cmd{}, fmt.Errorf("encode %s args: %w", name, err)
		}
		raw = b
	}
	cmd := wire.Cmd{V: wire.Version, CmdID: ulid.Make().String(), Name: name, Args: raw,
		ExpiresAt: time.Now().Add(ttl).UTC()}
	if s.MQTT == nil {
		return cmd, errNoMQTT
	}
	if err := s.Store.RecordCmd(ctx, gw, cmd); err != nil {
		return cmd, fmt.Errorf("record command: %w", err)
	}
	b, err := wire.Marshal(cmd)
	if err != nil {
		return cmd, fmt.Errorf("encode command: %w", err)
	}
	if err := s.MQTT.Publish(wire.Topic(gw, wire.KindCmd), false, b, 5*time.Second); err != nil {
		return cmd, fmt.Errorf("%w: %v", errPublish, err)
	}
	return cmd, nil
}

func (s *Server) getCommand(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.Cmd(r.Context(), r.PathValue("cmd"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.GatewayID != r.PathValue("id")) {
		writeError(w, http.StatusNotFound, "not_found", "no such command for this gateway")
		return
	} else if err != nil {
		s.internal(w, "get command", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
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
	ver, err := s.Store.NextConfigVersion(r.Context(), gw, cfg)
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
	ok, err := s.Store.GatewayExists(r.Context(), gw)
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
