package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Session lifetimes and the cookie that carries a session.
const (
	SessionCookie     = "bk_session"
	StaffSessionTTL   = 12 * time.Hour
	ParentSessionTTL  = 30 * 24 * time.Hour
	loginWindow       = 15 * time.Minute
	loginFailsPerUser = 5
	loginFailsPerAddr = 20
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
}

type principalKey struct{}

// PrincipalOf is the principal authorize put in ctx.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func principalOfUser(u store.User) Principal {
	return Principal{ID: "user:" + u.ID, Role: u.Role, Canteens: u.Canteens, Districts: u.Districts, User: u.ID, Name: u.Name}
}

// Scope is the part of the registry p may see.
func (p Principal) Scope() store.Scope {
	switch p.Role {
	case store.RoleAdmin:
		return store.Scope{}
	case store.RoleRegulator:
		if slices.Contains(p.Districts, "*") {
			return store.Scope{}
		}
		return store.Scope{Districts: nonNil(p.Districts)}
	default:
		return store.Scope{Canteens: nonNil(p.Canteens)}
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
// their school. district is the camera's canteen's district.
func (p Principal) CanWatch(h store.CameraHome, district string) bool {
	if p.Role == store.RoleParent && !h.Public {
		return false
	}
	return p.InScope(h.CanteenID, district)
}

// auth lets admins through: the operations API.
func (s *Server) auth(h http.HandlerFunc) http.Handler { return s.authorize(h, store.RoleAdmin) }

// authorize resolves the request's principal (a bearer token or a session
// cookie), refuses roles not in roles, and hands the principal on in the
// request's context. Finer checks (which canteen) are the handler's.
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
	u, err := s.Store.SessionUser(r.Context(), c.Value)
	if errors.Is(err, store.ErrNotFound) {
		s.clearSessionCookie(w, r)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "session expired: log in again")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, "look up session", err)
		return Principal{}, false
	}
	return principalOfUser(u), true
}

func (s *Server) tokenPrincipal(w http.ResponseWriter, r *http.Request, tok string) (Principal, bool) {
	if s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1 {
		return Principal{ID: "admin-token", Role: store.RoleAdmin, User: "admin-token"}, true
	}
	t, err := s.Store.TokenBySecret(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "invalid token")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, "look up token", err)
		return Principal{}, false
	}
	return Principal{ID: "token:" + t.ID, Role: t.Role, Canteens: t.Canteens, Districts: t.Districts,
		User: "token:" + t.ID, Name: t.Label}, true
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

// login checks a password and starts a cookie session.
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
	if s.rateLimited(w, "login:"+req.Login, "addr:"+addr) {
		return
	}
	u, err := s.Store.CheckPassword(r.Context(), req.Login, req.Password)
	if errors.Is(err, store.ErrBadCredentials) {
		s.limiter().fail(time.Now(), "login:"+req.Login, "addr:"+addr)
		s.audit(r.Context(), store.AuditEntry{Actor: "user:" + req.Login, Action: "login", Outcome: store.OutcomeFailed, Detail: "from " + addr})
		writeError(w, http.StatusUnauthorized, "bad_credentials", "wrong login or password")
		return
	} else if err != nil {
		s.internal(w, "check password", err)
		return
	}
	s.startSession(w, r, u, http.StatusOK)
}

// startSession sets a session cookie for u, audits the login and answers
// status with u as /me does.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User, status int) {
	ttl := StaffSessionTTL
	if u.Role == store.RoleParent {
		ttl = ParentSessionTTL
	}
	secret, expires, err := s.Store.NewSession(r.Context(), u.ID, ttl)
	if err != nil {
		s.internal(w, "start session", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: r.TLS != nil || s.SecureCookies, SameSite: http.SameSiteStrictMode})
	p := principalOfUser(u)
	s.audit(r.Context(), store.AuditEntry{Actor: p.ID, Role: u.Role, Action: "login", Detail: "from " + clientAddr(r)})
	if _, err := s.Store.PruneSessions(context.WithoutCancel(r.Context()), time.Now()); err != nil {
		s.Logger.Warn("prune sessions", "err", err)
	}
	writeJSON(w, status, p)
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
		if err := s.Store.EndSession(r.Context(), c.Value); err != nil {
			s.internal(w, "end session", err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	writeJSON(w, http.StatusOK, p)
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

// rateLimited answers 429 when one of keys has failed too often lately.
func (s *Server) rateLimited(w http.ResponseWriter, keys ...string) bool {
	wait := s.limiter().blocked(time.Now(), keys...)
	if wait <= 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "too many failed attempts: try again later")
	return true
}

func (s *Server) limiter() *failLimiter {
	s.limOnce.Do(func() { s.lim = &failLimiter{fails: map[string][]time.Time{}} })
	return s.lim
}

// failLimiter counts failures per key in a sliding window: a login name
// blocks after loginFailsPerUser failures, a client address after
// loginFailsPerAddr.
type failLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
	swept time.Time // the last sweep of expired keys
}

// maxLimiterKeys bounds the limiter's memory under a spray of names.
const maxLimiterKeys = 100_000

func limitOf(key string) int {
	if strings.HasPrefix(key, "addr:") {
		return loginFailsPerAddr
	}
	return loginFailsPerUser
}

// blocked returns how long until the first blocked key frees up, or 0.
func (l *failLimiter) blocked(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		ts := l.recent(now, k)
		if len(ts) >= limitOf(k) {
			wait = max(wait, ts[len(ts)-limitOf(k)].Add(loginWindow).Sub(now))
		}
	}
	return wait
}

func (l *failLimiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxLimiterKeys && now.Sub(l.swept) > time.Minute {
		l.swept = now
		for k := range l.fails {
			if len(l.recent(now, k)) == 0 {
				delete(l.fails, k)
			}
		}
	}
	for _, k := range keys {
		if _, known := l.fails[k]; !known && len(l.fails) > maxLimiterKeys && !strings.HasPrefix(k, "addr:") {
			// Still full after the sweep (a spray of names): new names
			// go uncounted; their addresses are still limited.
			continue
		}
		ts := append(l.recent(now, k), now)
		if n := limitOf(k); len(ts) > n {
			ts = ts[len(ts)-n:]
		}
		l.fails[k] = ts
	}
}

// recent drops k's failures older than the window.
func (l *failLimiter) recent(now time.Time, k string) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	if i == len(ts) {
		delete(l.fails, k)
		return nil
	}
	ts = ts[i:]
	l.fails[k] = ts
	return ts
}

// audit writes an audit entry; a failure is logged, not returned: the
// action it records has happened.
func (s *Server) audit(ctx context.Context, e store.AuditEntry) {
	if err := s.Store.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.Logger.Error("write audit entry", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// auditAs is audit with the actor and role of p.
func (s *Server) auditAs(ctx context.Context, p Principal, e store.AuditEntry) {
	e.Actor, e.Role = p.ID, p.Role
	s.audit(ctx, e)
}
