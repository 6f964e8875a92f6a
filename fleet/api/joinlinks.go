package api

// Join links and device sessions (issue 15, item 4): a school's reusable
// link for parents (fleet/auth/joinlinks.go), its QR code, redeeming it
// for an account and a device session, a user's devices, and an
// operator disabling a parent.
//
// A parent who loses their device joins again through the school's link
// while it works (a new account; the operator removes or disables the
// old one, which ends its sessions, the lost device's among them); when
// the link no longer works, the operator makes a new link or an access
// code (the invite path, with a password). There is no sign-in code for
// an existing account: a parent's account holds nothing but their name
// and school.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Join link lifetimes and the limit on redemptions per client address.
const (
	DefaultJoinTTLHours = 30 * 24
	MaxJoinTTLHours     = 366 * 24
	// DefaultJoinsPerAddr is how many parents may join from one client
	// address in JoinWindow, unless Server.JoinsPerAddr says otherwise:
	// enough for a parents' meeting on the school's Wi-Fi (one address)
	// to onboard a class at a time.
	DefaultJoinsPerAddr = 60
	JoinWindow          = 10 * time.Minute
)

// joinPath is the web UI's route a join link opens: the token rides in
// the URL's fragment, which browsers never send to a server, so it stays
// out of access logs and Referer headers.
const joinPath = "/#/join?link="

// joinURL is the address a join link's token opens, as parents reach the
// fleet: ParentURL, or the scheme and host of r.
func (s *Server) joinURL(r *http.Request, token string) string {
	base := s.ParentURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil || s.SecureCookies {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + joinPath + url.QueryEscape(token)
}

type joinLinkRequest struct {
	Class    string `json:"class"`
	Cap      int    `json:"cap"`
	TTLHours int    `json:"ttl_h"`
}

// addJoinLink makes a join link for a school: 201 with the link, its
// token and URL (shown only now).
func (s *Server) addJoinLink(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.parentSchool(w, r, "only schools and kindergartens have parents")
	if !ok {
		return
	}
	var req joinLinkRequest
	if !decodeBody(w, r, &req) {
		return
	}
	expires, ok := expiryOf(w, req.TTLHours, DefaultJoinTTLHours, MaxJoinTTLHours)
	if !ok {
		return
	}
	token, l, err := s.Auth.AddJoinLink(r.Context(), auth.JoinLink{CanteenID: c.ID, Class: req.Class, Cap: req.Cap,
		CreatedBy: p.ID, ExpiresAt: expires})
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "add join link", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "join_link_add", CanteenID: c.ID,
		Detail: fmt.Sprintf("%s: class %q, cap %d, until %s", l.ID, l.Class, l.Cap, l.ExpiresAt.Format(time.RFC3339))})
	writeJSON(w, http.StatusCreated, map[string]any{"link": l, "token": token, "url": s.joinURL(r, token)})
}

func (s *Server) listJoinLinks(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	ls, err := s.Auth.ListJoinLinks(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "list join links", err)
		return
	}
	if ls == nil {
		ls = []auth.JoinLink{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": ls})
}

// joinLinkInScope is the link named in the path if its canteen is in the
// principal's scope; otherwise it has answered (404 for an unknown link,
// as canteenInScope answers for its canteen).
func (s *Server) joinLinkInScope(w http.ResponseWriter, r *http.Request) (auth.JoinLink, Principal, bool) {
	p, _ := PrincipalOf(r.Context())
	l, err := s.Auth.JoinLinkByID(r.Context(), r.PathValue("link"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such join link")
		return l, p, false
	} else if err != nil {
		s.internal(w, "get join link", err)
		return l, p, false
	}
	if _, _, ok := s.canteenInScope(w, r, l.CanteenID); !ok {
		return l, p, false
	}
	return l, p, true
}

// getJoinLink is one link (its poster's school, class and count).
func (s *Server) getJoinLink(w http.ResponseWriter, r *http.Request) {
	if l, _, ok := s.joinLinkInScope(w, r); ok {
		writeJSON(w, http.StatusOK, l)
	}
}

// revokeJoinLink stops a link's redemptions; the parents who joined stay.
func (s *Server) revokeJoinLink(w http.ResponseWriter, r *http.Request) {
	l, p, ok := s.joinLinkInScope(w, r)
	if !ok {
		return
	}
	l, err := s.Auth.RevokeJoinLink(r.Context(), l.ID, p.ID)
	if err != nil {
		s.internal(w, "revoke join link", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "join_link_revoke", CanteenID: l.CanteenID,
		Detail: fmt.Sprintf("%s after %d of %d", l.ID, l.Used, l.Cap)})
	writeJSON(w, http.StatusOK, l)
}

// joinLinkQR is a usable link's URL as a QR code (PNG, 512 px), for its
// maker's poster: ?token= must be the link's token (compared in constant
// time), which only whoever made the link was shown.
func (s *Server) joinLinkQR(w http.ResponseWriter, r *http.Request) {
	l, _, ok := s.joinLinkInScope(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	opens, err := s.Auth.TokenOpens(r.Context(), l.ID, token)
	if err != nil {
		s.internal(w, "check join token", err)
		return
	}
	if !opens || !auth.WellFormedJoinToken(token) || !l.Usable(time.Now()) {
		writeError(w, http.StatusNotFound, "bad_join_link", "join link not valid")
		return
	}
	png, err := qrcode.Encode(s.joinURL(r, token), qrcode.Medium, 512)
	if err != nil {
		s.internal(w, "encode QR code", err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(png)
}

type joinRequest struct {
	Link string `json:"link"`
	Name string `json:"name"`
}

// joinTarget checks a join token for a redeemer: the link if usable. A
// malformed or unknown token counts as a failure against the address
// (guessing); a real link that is revoked, expired or used up does not
// (the parents of a school share one address on its Wi-Fi), and all of
// them get the same answer: not valid.
func (s *Server) joinTarget(w http.ResponseWriter, r *http.Request, token string) (auth.JoinLink, *slot, bool) {
	sl, ok := s.reserve(w, loginKeys("", clientAddr(r)))
	if !ok {
		return auth.JoinLink{}, nil, false
	}
	l, err := s.Auth.JoinLinkByToken(r.Context(), token)
	switch {
	case errors.Is(err, auth.ErrBadJoinLink):
		sl.done(failed)
		s.audit(r.Context(), auth.AuditEntry{Actor: "anonymous", Action: "join", Outcome: auth.OutcomeFailed,
			Detail: fmt.Sprintf("from %s; not a join link (%d bytes)", clientAddr(r), len(token))})
		badJoinLink(w)
		return l, nil, false
	case err != nil:
		sl.done(unchecked)
		s.internal(w, "get join link", err)
		return l, nil, false
	case !l.Usable(time.Now()):
		sl.done(unchecked)
		badJoinLink(w)
		return l, nil, false
	}
	return l, sl, true
}

func badJoinLink(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "bad_join_link", "this join link is not valid: ask the school for a new one")
}

// checkJoinLink tells a parent who opened a join link which school it
// joins (its name and the class), before they type their name.
func (s *Server) checkJoinLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req joinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	l, sl, ok := s.joinTarget(w, r, req.Link)
	if !ok {
		return
	}
	sl.done(unchecked)
	name := l.CanteenID
	if c, err := s.Registry.Canteen(r.Context(), l.CanteenID); err == nil && c.Name != "" {
		name = c.Name
	}
	writeJSON(w, http.StatusOK, map[string]any{"canteen_id": l.CanteenID, "canteen_name": name, "class": l.Class})
}

// redeemJoinLink makes a parent's account through a join link and signs
// this device in (a device session).
func (s *Server) redeemJoinLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req joinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	_, sl, ok := s.joinTarget(w, r, req.Link)
	if !ok {
		return
	}
	sl.done(unchecked)
	lim := auth.JoinLimit{Max: s.JoinsPerAddr, Window: JoinWindow}
	if lim.Max == 0 {
		lim.Max = DefaultJoinsPerAddr
	}
	addr := clientAddr(r)
	u, l, err := s.Auth.RedeemJoinLink(r.Context(), req.Link, req.Name, addr, lim)
	switch {
	case errors.Is(err, auth.ErrBadJoinLink):
		badJoinLink(w) // used up or revoked since joinTarget looked
		return
	case errors.Is(err, auth.ErrJoinLimit):
		w.Header().Set("Retry-After", fmt.Sprint(int(JoinWindow.Seconds())))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many parents joined from this address lately: try again later")
		return
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.internal(w, "join", err)
		return
	}
	s.audit(r.Context(), auth.AuditEntry{Actor: "user:" + u.ID, Role: u.Role, Action: "join", CanteenID: l.CanteenID,
		Detail: fmt.Sprintf("through %s (%d of %d) from %s", l.ID, l.Used, l.Cap, addr)})
	s.startSession(w, r, u, http.StatusCreated)
}

// listDevices lists the signed-in user's sessions, this one marked.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	type device struct {
		auth.Session
		Current bool `json:"current"`
	}
	out := []device{}
	if p.ID == "user:"+p.User {
		ss, err := s.Auth.ListSessions(r.Context(), p.User)
		if err != nil {
			s.internal(w, "list devices", err)
			return
		}
		for _, x := range ss {
			out = append(out, device{x, p.login == "session:"+x.Key})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

// endDevice ends one of the signed-in user's sessions (signs a device
// out) and the live views it holds.
func (s *Server) endDevice(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	key := r.PathValue("key")
	err := store.ErrNotFound
	if p.ID == "user:"+p.User {
		err = s.Auth.EndUserSession(r.Context(), p.User, key)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such device")
		return
	} else if err != nil {
		s.internal(w, "end device", err)
		return
	}
	s.endViews("session:" + key)
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "device_end", CanteenID: firstOf(p.Canteens), Detail: "one device"})
	if p.login == "session:"+key {
		s.clearSessionCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
}

// endAllDevices ends every session of the signed-in user, this one too.
func (s *Server) endAllDevices(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	if p.ID != "user:"+p.User {
		writeError(w, http.StatusBadRequest, "bad_request", "a token has no devices")
		return
	}
	keys, err := s.Auth.EndUserSessions(r.Context(), p.User)
	if err != nil {
		s.internal(w, "end devices", err)
		return
	}
	for _, k := range keys {
		s.endViews("session:" + k)
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "device_end", CanteenID: firstOf(p.Canteens),
		Detail: fmt.Sprintf("all %d devices", len(keys))})
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

type disabledRequest struct {
	Disabled *bool `json:"disabled"`
}

// setUserDisabled disables (ending the user's sessions and live views)
// or enables a user: an admin any, an operator a parent of its canteens.
func (s *Server) setUserDisabled(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	id := r.PathValue("id")
	var req disabledRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Disabled == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "disabled: required (true or false)")
		return
	}
	u, err := s.Auth.User(r.Context(), id)
	if p.Role == auth.RoleOperator && (err != nil || u.Role != auth.RoleParent || len(u.Canteens) == 0 ||
		!slices.Contains(p.Canteens, u.Canteens[0])) {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			refuse(w, "user "+id)
		} else {
			s.internal(w, "get user", err)
		}
		return
	}
	if err == nil {
		err = s.Auth.SetUserDisabled(r.Context(), id, *req.Disabled)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no user %q", id))
		return
	} else if err != nil {
		s.internal(w, "disable user", err)
		return
	}
	action := "user_enable"
	if *req.Disabled {
		action = "user_disable"
		s.endViews("user:" + u.ID)
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: action, CanteenID: firstOf(u.Canteens), Detail: fmt.Sprintf("%s (%s)", u.ID, u.Role)})
	u.Disabled = *req.Disabled
	writeJSON(w, http.StatusOK, u)
}
