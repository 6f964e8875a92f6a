package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Session lifetimes and the cookie that carries a session.
const (
	SessionCookie    = "bk_session"
	StaffSessionTTL  = 12 * time.Hour
	ParentSessionTTL = 30 * 24 * time.Hour
)

// Principal is who a request acts for.
type Principal struct {
	// ID names the principal in audit records: "user:<login>",
	// "token:<id>" or "admin-token".
	ID   string `json:"-"`
	Role string `json:"role"`
	// Canteens bind operators and parents.
	Canteens []string `json:"canteens"`
	// Districts bind regulators ("*" is the whole city).
	Districts []string `json:"districts"`
	// User is the login of a user principal; Name their display name.
	User string `json:"id"`
	Name string `json:"name"`
	// login names what the request authenticated with: "session:<key>"
	// (auth.SessionKey of the cookie), "token:<id>" or "admin-token".
	// Live views carry it, so that they end with it (RecheckViewers).
	login string
}

type principalKey struct{}

// PrincipalOf is the principal authorize put in ctx.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func principalOfUser(u auth.User) Principal {
	return Principal{ID: "user:" + u.ID, Role: u.Role, Canteens: u.Canteens, Districts: u.Districts, User: u.ID, Name: u.Name}
}

// Scope is the part of the registry p may see.
func (p Principal) Scope() registry.Scope {
	switch p.Role {
	case auth.RoleAdmin:
		return registry.Scope{}
	case auth.RoleRegulator:
		if slices.Contains(p.Districts, "*") {
			return registry.Scope{}
		}
		return registry.Scope{Districts: nonNil(p.Districts)}
	default:
		return registry.Scope{Canteens: nonNil(p.Canteens)}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// InScope says whether a canteen (by id and district) is within p's scope.
func (p Principal) InScope(canteenID, district string) bool {
	sc := p.Scope()
	if sc.Districts != nil && !slices.Contains(sc.Districts, district) {
		return false
	}
	if sc.Canteens != nil && !slices.Contains(sc.Canteens, canteenID) {
		return false
	}
	// An unregistered canteen is visible only to the unrestricted.
	return canteenID != "" || (sc.Districts == nil && sc.Canteens == nil)
}

// CanWatch says whether p may watch a camera live, its viewing windows
// aside: admins any camera, regulators the cameras of their districts,
// operators the cameras of their canteens, parents the public cameras of
// their school, the anonymous principal the cameras published to
// everyone. district is the camera's canteen's district.
func (p Principal) CanWatch(h registry.CameraHome, district string) bool {
	if p.Role == RoleAnonymous {
		return h.CanteenID != "" && h.Audience() == registry.AudienceEveryone
	}
	if p.Role == auth.RoleParent && !h.Public {
		return false
	}
	return p.InScope(h.CanteenID, district)
}

// signedIn is the permission every principal has: authorize with it
// only authenticates.
const signedIn Permission = ""

// authorize resolves the request's principal (a bearer token or a session
// cookie), refuses it without perm (the permissions table), and hands the
// principal on in the request's context. Finer checks (which canteen) are
// the handler's.
func (s *Server) authorize(h http.HandlerFunc, perm Permission) http.Handler {
	return s.authorizeBody(h, MaxBody, perm)
}

// authorizeBody is authorize with a body limit other than MaxBody.
func (s *Server) authorizeBody(h http.HandlerFunc, maxBody int64, perm Permission) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.principal(w, r)
		if !ok {
			return
		}
		if perm != signedIn && !p.Can(perm) {
			writeError(w, http.StatusForbidden, "forbidden", "role "+p.Role+" may not do this")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (s *Server) principal(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		return s.tokenPrincipal(w, r, tok)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "log in or send a bearer token")
		return Principal{}, false
	}
	// The cookie is SameSite=Strict; a state-changing request that says
	// where it comes from must also come from here.
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused")
		return Principal{}, false
	}
	u, err := s.Auth.SessionUser(r.Context(), c.Value)
	if errors.Is(err, store.ErrNotFound) {
		s.clearSessionCookie(w, r)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "session expired: log in again")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, "look up session", err)
		return Principal{}, false
	}
	p := principalOfUser(u)
	p.login = "session:" + auth.SessionKey(c.Value)
	return p, true
}

func (s *Server) tokenPrincipal(w http.ResponseWriter, r *http.Request, tok string) (Principal, bool) {
	if s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1 {
		return Principal{ID: "admin-token", Role: auth.RoleAdmin, User: "admin-token", login: "admin-token"}, true
	}
	t, err := s.Auth.TokenBySecret(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "invalid token")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, "look up token", err)
		return Principal{}, false
	}
	return principalOfToken(t), true
}

func principalOfToken(t auth.Token) Principal {
	return Principal{ID: "token:" + t.ID, Role: t.Role, Canteens: t.Canteens, Districts: t.Districts,
		User: "token:" + t.ID, Name: t.Label, login: "token:" + t.ID}
}

// sameOrigin is false when the request names an Origin other than its Host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// login checks a password and starts a cookie session. The limiter
// reserves the attempt's place before the password is hashed, and hashing
// waits for one of a bounded number of slots (limiter.go).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req loginRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Login == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "login and password: required")
		return
	}
	addr := clientAddr(r)
	valid := wire.ValidID(req.Login)
	keys := loginKeys("", addr)
	if valid {
		keys = loginKeys(req.Login, addr)
	}
	sl, ok := s.reserve(w, keys)
	if !ok {
		return
	}
	var u auth.User
	var err error
	if !valid {
		// No such login can exist: nothing to hash. The name is the
		// client's; only what it is like goes into the audit log.
		err = store.ErrBadCredentials
	} else if !s.hashing.do(r.Context(), sl.known, func() { u, err = s.checkPassword(r.Context(), req.Login, req.Password) }) {
		sl.done(unchecked)
		busy(w)
		return
	}
	switch {
	case err == nil:
		sl.done(succeeded)
	case errors.Is(err, store.ErrBadCredentials):
		sl.done(failed)
	default:
		sl.done(unchecked)
	}
	if errors.Is(err, store.ErrBadCredentials) {
		e := auth.AuditEntry{Actor: "user:" + req.Login, Action: "login", Outcome: auth.OutcomeFailed, Detail: "from " + addr}
		if !valid {
			e.Actor, e.Detail = "anonymous", fmt.Sprintf("from %s; not a valid login (%d bytes)", addr, len(req.Login))
		}
		s.audit(r.Context(), e)
		writeError(w, http.StatusUnauthorized, "bad_credentials", "wrong login or password")
		return
	} else if err != nil {
		s.internal(w, "check password", err)
		return
	}
	s.startSession(w, r, u, http.StatusOK)
}

// checkPassword is Auth.CheckPassword, or the stand-in a test set.
func (s *Server) checkPassword(ctx context.Context, login, password string) (auth.User, error) {
	if s.checkHook != nil {
		return s.checkHook(ctx, login, password)
	}
	return s.Auth.CheckPassword(ctx, login, password)
}

// reserve takes an attempt's place in the login limits of keys, or
// answers 429 with Retry-After.
func (s *Server) reserve(w http.ResponseWriter, keys []string) (*slot, bool) {
	sl, wait := s.limiter().reserve(time.Now(), keys)
	if sl != nil {
		return sl, true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "too many failed attempts: try again later")
	return nil, false
}

// busy answers 503 when no password-hashing slot freed up in time.
func busy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "busy", "too many logins at once: try again in a second")
}

// startSession sets a session cookie for u, audits the login and answers
// status with u as /me does.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u auth.User, status int) {
	ttl := StaffSessionTTL
	if u.Role == auth.RoleParent {
		ttl = ParentSessionTTL
	}
	secret, expires, err := s.Auth.NewSession(r.Context(), u.ID, ttl)
	if err != nil {
		s.internal(w, "start session", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: r.TLS != nil || s.SecureCookies, SameSite: http.SameSiteStrictMode})
	p := principalOfUser(u)
	s.audit(r.Context(), auth.AuditEntry{Actor: p.ID, Role: u.Role, Action: "login", Detail: "from " + clientAddr(r)})
	if _, err := s.Auth.PruneSessions(context.WithoutCancel(r.Context()), time.Now()); err != nil {
		s.Logger.Warn("prune sessions", "err", err)
	}
	writeJSON(w, status, MeOf(p))
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused")
			return
		}
		if err := s.Auth.EndSession(r.Context(), c.Value); err != nil {
			s.internal(w, "end session", err)
			return
		}
		s.endViews("session:" + auth.SessionKey(c.Value))
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// Me is what GET /api/v1/me (and a login) answers: the principal, what
// it may do (Permissions of its role) and the canteens it reaches.
type Me struct {
	Principal
	Permissions []Permission `json:"permissions"`
	Scope       MeScope      `json:"scope"`
}

// MeScope is Principal.Scope for the UI: a nil list (JSON null) does not
// restrict, an empty one reaches nothing.
type MeScope struct {
	Canteens  []string `json:"canteens"`
	Districts []string `json:"districts"`
}

// MeOf is p as /me shows it.
func MeOf(p Principal) Me {
	sc := p.Scope()
	return Me{Principal: p, Permissions: Permissions(p.Role), Scope: MeScope{Canteens: sc.Canteens, Districts: sc.Districts}}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	writeJSON(w, http.StatusOK, MeOf(p))
}

// clientAddr is the request's remote IP (no port). Behind a reverse proxy
// this is the proxy: put the rate limit there too.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) limiter() *limiter {
	s.limOnce.Do(func() { s.lim = newLimiter() })
	return s.lim
}

// audit writes an audit entry; a failure is logged, not returned: the
// action it records has happened.
func (s *Server) audit(ctx context.Context, e auth.AuditEntry) {
	if err := s.Auth.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.Logger.Error("write audit entry", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// auditAs is audit with the actor and role of p.
func (s *Server) auditAs(ctx context.Context, p Principal, e auth.AuditEntry) {
	e.Actor, e.Role = p.ID, p.Role
	s.audit(ctx, e)
}
