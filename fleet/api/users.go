package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Invite lifetimes, in hours.
const (
	DefaultInviteTTLHours = 72
	MaxInviteTTLHours     = 720
)

// listUsers lists users: admin all (?role&canteen_id); an operator only the
// parents of its canteens.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := auth.UserFilter{Role: q.Get("role"), CanteenID: q.Get("canteen_id")}
	if p.Role == auth.RoleOperator {
		if f.CanteenID == "" && len(p.Canteens) == 1 {
			f.CanteenID = p.Canteens[0]
		}
		if !slices.Contains(p.Canteens, f.CanteenID) {
			refuse(w, "users outside your canteens (give canteen_id)")
			return
		}
		f.Role = auth.RoleParent
	}
	us, err := s.Auth.ListUsers(r.Context(), f)
	if err != nil {
		s.internal(w, "list users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

type userRequest struct {
	auth.User
	Password string `json:"password"`
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var req userRequest
	if !decodeBody(w, r, &req) {
		return
	}
	u, err := s.Auth.AddUser(r.Context(), req.User, req.Password)
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "exists", err.Error())
		return
	} else if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "add user", err)
		return
	}
	p, _ := PrincipalOf(r.Context())
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "user_add", Detail: fmt.Sprintf("%s as %s", u.ID, u.Role)})
	writeJSON(w, http.StatusCreated, u)
}

// deleteUser removes a user: admin any; an operator a parent of its
// canteens.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	id := r.PathValue("id")
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
		err = s.Auth.DeleteUser(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no user %q", id))
		return
	} else if err != nil {
		s.internal(w, "delete user", err)
		return
	}
	s.endViews("user:" + u.ID)
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "user_delete", CanteenID: firstOf(u.Canteens),
		Detail: fmt.Sprintf("%s (%s)", u.ID, u.Role)})
	w.WriteHeader(http.StatusNoContent)
}

type inviteRequest struct {
	Label    string `json:"label"`
	TTLHours int    `json:"ttl_h"`
}

// parentCategories are the canteens whose operators may invite parents.
var parentCategories = []string{registry.CategorySchool, registry.CategoryKindergarten}

// parentSchool is the canteen of the path, in the principal's scope, if
// it is one that has parents (notSchool is the 400's message otherwise);
// it has answered when ok is false.
func (s *Server) parentSchool(w http.ResponseWriter, r *http.Request, notSchool string) (registry.Canteen, Principal, bool) {
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if ok && !slices.Contains(parentCategories, c.Category) {
		writeError(w, http.StatusBadRequest, "bad_request", notSchool)
		return c, p, false
	}
	return c, p, ok
}

// expiryOf is when a code or link made now with ttl_h hours ends (0:
// def); it has answered 400 when ok is false (not 1 to max).
func expiryOf(w http.ResponseWriter, ttlHours, def, max int) (time.Time, bool) {
	if ttlHours == 0 {
		ttlHours = def
	}
	if ttlHours < 1 || ttlHours > max {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("ttl_h: want 1 to %d hours", max))
		return time.Time{}, false
	}
	return time.Now().Add(time.Duration(ttlHours) * time.Hour), true
}

// addInvite makes a parent's access code for a school.
func (s *Server) addInvite(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.parentSchool(w, r, "only schools and kindergartens invite parents")
	if !ok {
		return
	}
	var req inviteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	expires, ok := expiryOf(w, req.TTLHours, DefaultInviteTTLHours, MaxInviteTTLHours)
	if !ok {
		return
	}
	code, inv, err := s.Auth.AddInvite(r.Context(), auth.Invite{CanteenID: c.ID, Label: req.Label, CreatedBy: p.ID,
		ExpiresAt: expires})
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "add invite", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "invite_add", CanteenID: c.ID, Detail: req.Label})
	writeJSON(w, http.StatusCreated, map[string]any{"code": code, "expires_at": inv.ExpiresAt, "label": inv.Label,
		"canteen_id": c.ID})
}

func (s *Server) listInvites(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	invs, err := s.Auth.ListInvites(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "list invites", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"invites": invs})
}

type redeemRequest struct {
	Code     string `json:"code"`
	Login    string `json:"login"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// redeemInvite turns a parent's access code into an account and logs it
// in. Guessing codes is rate-limited per client address like logins.
func (s *Server) redeemInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req redeemRequest
	if !decodeBody(w, r, &req) {
		return
	}
	sl, ok := s.reserve(w, loginKeys("", clientAddr(r)))
	if !ok {
		return
	}
	// The code first, a cheap lookup: a guess costs no password hash.
	err := s.Auth.CheckInvite(r.Context(), req.Code)
	var u auth.User
	if err == nil && !s.hashing.do(r.Context(), false, func() {
		u, err = s.Auth.RedeemInvite(r.Context(), req.Code, auth.User{ID: req.Login, Name: req.Name}, req.Password)
	}) {
		sl.done(unchecked)
		busy(w)
		return
	}
	if errors.Is(err, store.ErrBadInvite) {
		sl.done(failed)
	} else {
		sl.done(unchecked) // a redeemed code makes no login known here
	}
	switch {
	case errors.Is(err, store.ErrBadInvite):
		writeError(w, http.StatusBadRequest, "bad_invite", "unknown, used or expired access code")
		return
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "exists", "login "+req.Login+" is taken: choose another")
		return
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.internal(w, "redeem invite", err)
		return
	}
	s.audit(r.Context(), auth.AuditEntry{Actor: "user:" + u.ID, Role: u.Role, Action: "invite_redeem",
		CanteenID: firstOf(u.Canteens), Detail: "invited by " + u.InvitedBy})
	s.startSession(w, r, u, http.StatusCreated)
}

// auditLog reads the audit log: admin all, a regulator its districts'.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := auth.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), CanteenID: q.Get("canteen_id"),
		Districts: p.Scope().Districts}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "since: "+err.Error())
		return
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "until: "+err.Error())
		return
	}
	if f.Limit, err = intParam(q.Get("limit"), 0, 1000); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "limit: "+err.Error())
		return
	}
	if v := q.Get("before_id"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "before_id: not a number")
			return
		}
	}
	es, err := s.Auth.AuditLog(r.Context(), f)
	if err != nil {
		s.internal(w, "read audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// intParam parses an optional integer in [lo, hi]; "" is 0.
func intParam(v string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a number from %d to %d", lo, hi)
	}
	return n, nil
}

// firstOf is a user's first canteen: a parent's school, the canteen an
// audit entry about them is filed under.
func firstOf(canteens []string) string {
	if len(canteens) == 0 {
		return ""
	}
	return canteens[0]
}
