package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// The instant push's routes (SPEC §4 "Instant push"): channels, the
// signed-in user's subscriptions, and the delivery log. Secrets never
// leave: every channel is answered and audited Redacted.

func (s *Server) pushRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/push/channels", s.authorize(s.listPushChannels, PermPush))
	mux.Handle("POST /api/v1/push/channels", s.authorize(s.putPushChannel, PermPush))
	mux.Handle("PUT /api/v1/push/channels/{id}", s.authorize(s.putPushChannel, PermPush))
	mux.Handle("DELETE /api/v1/push/channels/{id}", s.authorize(s.deletePushChannel, PermPush))
	mux.Handle("GET /api/v1/push/subscriptions", s.authorize(s.listPushSubscriptions, PermPush))
	mux.Handle("PUT /api/v1/push/subscriptions/{channel}", s.authorize(s.putPushSubscription, PermPush))
	mux.Handle("DELETE /api/v1/push/subscriptions/{channel}", s.authorize(s.deletePushSubscription, PermPush))
	mux.Handle("GET /api/v1/push/deliveries", s.authorize(s.listPushDeliveries, PermPush))
}

// pushReady answers 503 when the fleet has no push.
func (s *Server) pushReady(w http.ResponseWriter) bool {
	if s.Push == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "push is not configured")
		return false
	}
	return true
}

// seesChannel says whether p may see (and subscribe to) channel c: an
// admin every channel; anyone its own and the shared ones of all; an
// operator its canteens'; a regulator its districts' and their canteens'.
func (s *Server) seesChannel(r *http.Request, p Principal, c push.Channel) bool {
	switch c.Scope {
	case push.ScopeAll:
		return true
	case push.ScopeUser:
		return (userLogin(p) != "" && c.ScopeID == userLogin(p)) || p.Role == auth.RoleAdmin
	case push.ScopeDistrict:
		return p.Role == auth.RoleAdmin || (p.Role == auth.RoleRegulator && (slices.Contains(p.Districts, "*") || slices.Contains(p.Districts, c.ScopeID)))
	case push.ScopeCanteen:
		if p.Role == auth.RoleOperator {
			return slices.Contains(p.Canteens, c.ScopeID)
		}
		ct, err := s.Registry.Canteen(r.Context(), c.ScopeID)
		return (err == nil && p.InScope(ct.ID, ct.District)) || p.Role == auth.RoleAdmin
	}
	return false
}

// mayEditChannel says whether p may make or change c: an admin any; a
// user their own 企业微信 or 钉钉 robot at the robot's real host (no
// base_url: a user's channel does not reach into the fleet's network).
func mayEditChannel(p Principal, c push.Channel) error {
	if p.Role == auth.RoleAdmin {
		return nil
	}
	if userLogin(p) == "" {
		return errors.New("channels of your own belong to a signed-in user")
	}
	if c.Scope != push.ScopeUser || c.ScopeID != userLogin(p) {
		return errors.New("shared channels are set up by an admin; yours take scope user and your login")
	}
	if c.Kind != push.KindWeCom && c.Kind != push.KindDingTalk {
		return errors.New("your own channel is a 企业微信 or 钉钉 robot; SMS and webhooks are set up by an admin")
	}
	if c.Config.BaseURL != "" {
		return errors.New("config.base_url is set by an admin only")
	}
	return nil
}

func (s *Server) listPushChannels(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	cs, err := s.Push.Channels(r.Context())
	if err != nil {
		s.internal(w, "list push channels", err)
		return
	}
	out, editable := []push.Channel{}, []string{}
	for _, c := range cs {
		if s.seesChannel(r, p, c) {
			out = append(out, c.Redacted())
			if mayEditChannel(p, c) == nil {
				editable = append(editable, c.ID)
			}
		}
	}
	// may_share: the principal sets up shared channels of any kind and
	// scope (an admin); editable: the channels it may change or delete.
	writeJSON(w, http.StatusOK, map[string]any{"channels": out, "kinds": push.Kinds, "item_kinds": push.ItemKinds,
		"severities": push.Severities, "placeholders": push.Placeholders, "may_share": p.Role == auth.RoleAdmin, "editable": editable})
}

// auditChannel records a change to a channel, redacted.
func (s *Server) auditChannel(r *http.Request, action string, c push.Channel, err error) {
	p, _ := PrincipalOf(r.Context())
	b, _ := json.Marshal(c.Redacted())
	e := auth.AuditEntry{Action: action, Detail: string(b)}
	if c.Scope == push.ScopeCanteen {
		e.CanteenID = c.ScopeID
	}
	if err != nil {
		e.Outcome = auth.OutcomeFailed
		e.Detail += ": " + err.Error()
	}
	s.auditAs(r.Context(), p, e)
}

func (s *Server) putPushChannel(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	var c push.Channel
	if !decodeBody(w, r, &c) {
		return
	}
	c.ID = r.PathValue("id")
	if c.Scope == "" && p.Role != auth.RoleAdmin {
		c.Scope, c.ScopeID = push.ScopeUser, userLogin(p)
	}
	if err := mayEditChannel(p, c); err != nil {
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
		return
	}
	status := http.StatusCreated
	if c.ID != "" {
		old, err := s.Push.Channel(r.Context(), c.ID)
		if errors.Is(err, push.ErrNotFound) || (err == nil && (!s.seesChannel(r, p, old) || mayEditChannel(p, old) != nil)) {
			writeError(w, http.StatusNotFound, "not_found", "no channel "+strconv.Quote(c.ID))
			return
		}
		if err != nil {
			s.internal(w, "read push channel", err)
			return
		}
		c.KeepSecrets(old)
		c.CreatedBy = old.CreatedBy
		status = http.StatusOK
	} else {
		c.CreatedBy = p.ID
		if err := c.Validate(); err == nil && c.Scope == push.ScopeCanteen {
			if _, err := s.Registry.Canteen(r.Context(), c.ScopeID); err != nil {
				writeError(w, http.StatusBadRequest, "invalid", "scope_id: no canteen "+strconv.Quote(c.ScopeID))
				return
			}
		}
	}
	saved, err := s.Push.PutChannel(r.Context(), c, time.Now())
	if errors.Is(err, push.ErrInvalid) {
		s.auditChannel(r, "push_channel", c, err)
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if err != nil {
		s.internal(w, "store push channel", err)
		return
	}
	s.auditChannel(r, "push_channel", saved, nil)
	writeJSON(w, status, saved.Redacted())
}

func (s *Server) deletePushChannel(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	c, err := s.Push.Channel(r.Context(), r.PathValue("id"))
	if errors.Is(err, push.ErrNotFound) || (err == nil && (!s.seesChannel(r, p, c) || mayEditChannel(p, c) != nil)) {
		writeError(w, http.StatusNotFound, "not_found", "no channel "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err == nil {
		err = s.Push.DeleteChannel(r.Context(), c.ID)
	}
	if err != nil {
		s.internal(w, "delete push channel", err)
		return
	}
	s.auditChannel(r, "push_channel_delete", c, nil)
	w.WriteHeader(http.StatusNoContent)
}

// subscriber is the user whose subscriptions a request reads or
// changes: the signed-in user, or for an admin ?user=.
func subscriber(w http.ResponseWriter, r *http.Request) (string, bool) {
	p, _ := PrincipalOf(r.Context())
	if u := r.URL.Query().Get("user"); u != "" && p.Role == auth.RoleAdmin {
		return u, true
	}
	if userLogin(p) == "" {
		writeError(w, http.StatusBadRequest, "not_a_user", "subscriptions belong to users: sign in as one (a token has none)")
		return "", false
	}
	return userLogin(p), true
}

// userLogin is the login of a user principal, "" for a token.
func userLogin(p Principal) string {
	if strings.HasPrefix(p.ID, "user:") {
		return p.User
	}
	return ""
}

func (s *Server) listPushSubscriptions(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	user, ok := subscriber(w, r)
	if !ok {
		return
	}
	subs, err := s.Push.Subscriptions(r.Context(), user)
	if err != nil {
		s.internal(w, "list subscriptions", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": subs})
}

func (s *Server) putPushSubscription(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	user, ok := subscriber(w, r)
	if !ok {
		return
	}
	p, _ := PrincipalOf(r.Context())
	var sub push.Subscription
	if !decodeBody(w, r, &sub) {
		return
	}
	sub.UserID, sub.ChannelID = user, r.PathValue("channel")
	c, err := s.Push.Channel(r.Context(), sub.ChannelID)
	if errors.Is(err, push.ErrNotFound) || (err == nil && !s.seesChannel(r, p, c)) ||
		(err == nil && c.Scope == push.ScopeUser && c.ScopeID != user) {
		writeError(w, http.StatusNotFound, "not_found", "no channel "+strconv.Quote(sub.ChannelID))
		return
	}
	if err != nil {
		s.internal(w, "read push channel", err)
		return
	}
	saved, err := s.Push.PutSubscription(r.Context(), sub, time.Now())
	if errors.Is(err, push.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if err != nil {
		s.internal(w, "subscribe", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "push_subscribe", Detail: fmt.Sprintf("user %s to channel %s (%s)", user, c.ID, c.Name)})
	writeJSON(w, http.StatusOK, saved)
}

func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	user, ok := subscriber(w, r)
	if !ok {
		return
	}
	err := s.Push.DeleteSubscription(r.Context(), user, r.PathValue("channel"))
	if errors.Is(err, push.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such subscription")
		return
	}
	if err != nil {
		s.internal(w, "unsubscribe", err)
		return
	}
	p, _ := PrincipalOf(r.Context())
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "push_unsubscribe", Detail: fmt.Sprintf("user %s from channel %s", user, r.PathValue("channel"))})
	w.WriteHeader(http.StatusNoContent)
}

// listPushDeliveries is the delivery log: an admin's (or a whole city's
// regulator's) every row, an operator's of its canteens, a regulator's
// of its districts' canteens; ?state, ?limit, ?before_id.
func (s *Server) listPushDeliveries(w http.ResponseWriter, r *http.Request) {
	if !s.pushReady(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := push.DeliveryFilter{State: q.Get("state")}
	if f.State != "" && !slices.Contains([]string{push.StatePending, push.StateSent, push.StateFailed}, f.State) {
		writeError(w, http.StatusBadRequest, "bad_request", "state: want pending, sent or failed")
		return
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), 1, 1000); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "limit: "+err.Error())
		return
	}
	if v := q.Get("before_id"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID < 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "before_id: want a positive integer")
			return
		}
	}
	sc := p.Scope()
	f.Canteens = sc.Canteens
	if sc.Districts != nil {
		cs, err := s.Registry.ListCanteens(r.Context(), registry.CanteenFilter{Scope: sc})
		if err != nil {
			s.internal(w, "list canteens", err)
			return
		}
		f.Canteens = []string{}
		for _, c := range cs {
			f.Canteens = append(f.Canteens, c.ID)
		}
	}
	ds, err := s.Push.Deliveries(r.Context(), f)
	if err != nil {
		s.internal(w, "list deliveries", err)
		return
	}
	if p.Role != auth.RoleAdmin { // others' phone numbers: the last four digits
		for i := range ds {
			if n := len(ds[i].Recipient); n > 4 {
				ds[i].Recipient = "…" + ds[i].Recipient[n-4:]
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}
