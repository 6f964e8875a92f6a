package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/enrol"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Enrolment codes' lifetimes as the API takes them, in hours.
const (
	DefaultEnrolTTLHours = 24
	MaxEnrolTTLHours     = 168
)

type enrolCodeRequest struct {
	GatewayName string `json:"gateway_name"`
	TTLHours    int    `json:"ttl_h"`
}

// enrolOff answers 503 when the server has no enrolment codes (Enrol nil).
func (s *Server) enrolOff(w http.ResponseWriter) bool {
	if s.Enrol == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "enrolment is not configured on this fleet")
		return true
	}
	return false
}

// addEnrolCode makes a one-time enrolment code for a canteen in the
// principal's scope.
func (s *Server) addEnrolCode(w http.ResponseWriter, r *http.Request) {
	if s.enrolOff(w) {
		return
	}
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req enrolCodeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.TTLHours == 0 {
		req.TTLHours = DefaultEnrolTTLHours
	}
	if req.TTLHours < 1 || req.TTLHours > MaxEnrolTTLHours {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("ttl_h: want 1 to %d hours", MaxEnrolTTLHours))
		return
	}
	code, x, err := s.Enrol.Create(r.Context(), enrol.NewCode{CanteenID: c.ID, GatewayName: req.GatewayName, CreatedBy: p.ID,
		TTL: time.Duration(req.TTLHours) * time.Hour})
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "create enrolment code", err)
		return
	}
	detail := "code " + x.ID
	if x.GatewayName != "" {
		detail += " for gateway " + x.GatewayName
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "enrol_code_add", CanteenID: c.ID,
		Detail: detail + ", expires " + x.ExpiresAt.Format(time.RFC3339)})
	writeJSON(w, http.StatusCreated, map[string]any{"id": x.ID, "code": code, "canteen_id": c.ID,
		"gateway_name": x.GatewayName, "expires_at": x.ExpiresAt})
}

func (s *Server) listEnrolCodes(w http.ResponseWriter, r *http.Request) {
	if s.enrolOff(w) {
		return
	}
	c, _, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	list, err := s.Enrol.List(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "list enrolment codes", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"codes": list})
}

// revokeEnrolCode ends an unused code of a canteen in scope.
func (s *Server) revokeEnrolCode(w http.ResponseWriter, r *http.Request) {
	if s.enrolOff(w) {
		return
	}
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	x, err := s.Enrol.Revoke(r.Context(), c.ID, r.PathValue("code"), p.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such enrolment code for this canteen")
		return
	case errors.Is(err, enrol.ErrUsed):
		writeError(w, http.StatusConflict, "used", "the code was used already (by gateway "+x.GatewayID+")")
		return
	case err != nil:
		s.internal(w, "revoke enrolment code", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "enrol_code_revoke", CanteenID: c.ID, Detail: "code " + x.ID})
	writeJSON(w, http.StatusOK, x)
}

// enrolGateway is POST /api/v1/enrol: a new gateway, which has no
// credentials yet, exchanges a code for its identity and MQTT
// credentials. Unauthenticated; a body of at most wire.MaxEnrolRequest;
// a wrong, used, revoked or expired code gets one answer (400 bad_code)
// and counts as a failure against the client's address, as a failed
// login does (20 in 15 minutes block the address: limiter.go).
func (s *Server) enrolGateway(w http.ResponseWriter, r *http.Request) {
	if s.enrolOff(w) {
		return
	}
	if len(s.EnrolBrokerURLs) == 0 {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "enrolment is not configured on this fleet: no broker URL for gateways")
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxEnrolRequest))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
		return
	}
	req, err := wire.DecodeEnrolRequest(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	addr := clientAddr(r)
	sl, ok := s.reserve(w, loginKeys("", addr))
	if !ok {
		return
	}
	var hw string
	if req.Hardware != nil {
		hb, _ := json.Marshal(req.Hardware)
		hw = string(hb)
	}
	e, err := s.Enrol.Exchange(r.Context(), enrol.Exchange{Code: req.Code, Name: req.Name, Hardware: hw, From: addr})
	var refusal *enrol.Refusal
	switch {
	case errors.As(err, &refusal):
		sl.done(failed)
		detail := fmt.Sprintf("from %s: %s code", addr, refusal.Reason)
		if refusal.CodeID != "" {
			detail += " " + refusal.CodeID
		}
		s.audit(r.Context(), auth.AuditEntry{Actor: "anonymous", Action: "enrol", Outcome: auth.OutcomeRefused,
			CanteenID: refusal.CanteenID, Detail: detail})
		writeError(w, http.StatusBadRequest, "bad_code", enrol.ErrRefused.Error())
		return
	case errors.Is(err, store.ErrExists):
		sl.done(unchecked)
		writeError(w, http.StatusConflict, "exists", err.Error()+": choose another name (the code is still valid)")
		return
	case errors.Is(err, store.ErrInvalid):
		sl.done(unchecked)
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		sl.done(unchecked)
		s.internal(w, "enrol", err)
		return
	}
	sl.done(unchecked) // an enrolment makes no login known here
	detail := fmt.Sprintf("code %s made by %s, from %s", e.CodeID, e.CreatedBy, addr)
	if hw != "" {
		detail += ", hardware " + hw
	}
	s.audit(r.Context(), auth.AuditEntry{Actor: "gateway:" + e.GatewayID, Action: "enrol", CanteenID: e.CanteenID, Detail: detail})
	writeJSON(w, http.StatusCreated, wire.EnrolResponse{V: wire.Version, GatewayID: e.GatewayID, CanteenID: e.CanteenID,
		Username: e.Username, Password: e.Password, BrokerURLs: brokerURLs(s.EnrolBrokerURLs, r), CAPEM: s.EnrolCAPEM})
}

// HostPlaceholder in an EnrolBrokerURLs entry stands for the host name the
// enrolling gateway reached the fleet at.
const HostPlaceholder = "{host}"

// brokerURLs are urls with HostPlaceholder replaced by r's host (without
// its port), or by 127.0.0.1 if r names none fit for a URL.
func brokerURLs(urls []string, r *http.Request) []string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || strings.ContainsFunc(host, func(c rune) bool {
		return !(c == '.' || c == '-' || c == ':' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = strings.ReplaceAll(u, HostPlaceholder, host)
	}
	return out
}
