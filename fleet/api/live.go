package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/web"
)

// watchable resolves the camera of the request (its key "gateway:camera",
// or a bare camera id only one gateway reports) and checks the principal
// may watch it now; it has answered (and audited a refusal) when ok is
// false. For a parent or an anonymous viewer, until is when the canteen's
// viewing window closes. The relay knows the camera by home.Key(); c is
// its canteen (zero if none).
//
// The anonymous principal (no credentials: public.go) may watch a camera
// published to everyone of an active canteen inside its viewing windows,
// and nothing else: any other camera, known or not, is 401 as a request
// without credentials always was; a published camera outside the window
// is 403 outside_window with the next opening. Its refusals are counted,
// not audited.
func (s *Server) watchable(w http.ResponseWriter, r *http.Request) (p Principal, home registry.CameraHome, c registry.Canteen, until time.Time, ok bool) {
	camera := r.PathValue("camera")
	if _, _, err := registry.ParseCameraKey(camera); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return p, home, c, until, false
	}
	p, _ = PrincipalOf(r.Context())
	refused := func(code, msg string) (Principal, registry.CameraHome, registry.Canteen, time.Time, bool) {
		if p.Role == RoleAnonymous {
			if r.Method == http.MethodPost {
				reason := code
				if code == "forbidden" {
					reason = "not_published"
				}
				s.refusePublic(reason)
			}
			if code == "forbidden" {
				writeError(w, http.StatusUnauthorized, "unauthenticated", "log in or send a bearer token")
			} else {
				writeError(w, http.StatusForbidden, code, msg)
			}
			return p, home, c, until, false
		}
		writeError(w, http.StatusForbidden, code, msg)
		if r.Method == http.MethodPost {
			s.auditAs(r.Context(), p, auth.AuditEntry{Action: "live_view", Outcome: auth.OutcomeRefused, CanteenID: home.CanteenID,
				CameraID: camera, Detail: code})
		}
		return p, home, c, until, false
	}
	home, err := s.Registry.CameraHome(r.Context(), camera)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAmbiguous) {
		// The same answer as a camera of someone else's canteen would get
		// from a narrower role, so that ids cannot be probed.
		if p.Role == auth.RoleAdmin {
			if errors.Is(err, store.ErrAmbiguous) {
				writeError(w, http.StatusConflict, "ambiguous", err.Error())
			} else {
				writeError(w, http.StatusNotFound, "not_found", "no camera "+camera)
			}
			return p, home, c, until, false
		}
		return refused("forbidden", "not allowed to watch camera "+camera)
	} else if err != nil {
		s.internal(w, "look up camera", err)
		return p, home, c, until, false
	}
	if home.CanteenID != "" {
		c, err = s.Registry.Canteen(r.Context(), home.CanteenID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.internal(w, "look up canteen", err)
			return p, home, c, until, false
		}
	}
	if !p.CanWatch(home, c.District) || (p.Role == RoleAnonymous && !c.Active) {
		return refused("forbidden", "not allowed to watch camera "+camera)
	}
	if p.Role == auth.RoleParent || p.Role == RoleAnonymous {
		v := viewOf(c, time.Now())
		if !v.ViewingOpen {
			msg := "live view is closed now"
			if !v.ViewingNext.IsZero() {
				msg += "; it opens " + v.ViewingNext.Format(time.RFC3339)
			}
			return refused("outside_window", msg)
		}
		until = v.ViewingUntil
	}
	return p, home, c, until, true
}

// whep starts a viewer session (SDP offer in, answer out) for a principal
// allowed to watch the camera: startView with the relay's WHEP.
func (s *Server) whep(w http.ResponseWriter, r *http.Request) {
	s.startView(w, r, s.Live.WHEP)
}

// startView is the one way a live view starts, over WHEP or HLS: the
// camera is resolved and the principal checked by watchable; parents
// count against their school's cap and their own (MaxViewsPerParent),
// and are cut off when the viewing window closes; then start (the
// relay's WHEP or HLSStart) answers. A parent's place is given back when
// start refuses (anything but 201 or 302). The anonymous principal is
// rate-limited per address and capped per canteen (startAnonymous,
// public.go).
func (s *Server) startView(w http.ResponseWriter, r *http.Request, start func(http.ResponseWriter, *http.Request, string, live.Viewer)) {
	if p, _ := PrincipalOf(r.Context()); p.Role == RoleAnonymous && s.publicRateLimited(w, r) {
		return
	}
	p, home, c, until, ok := s.watchable(w, r)
	if !ok {
		return
	}
	v := live.Viewer{Principal: p.ID, CanteenID: home.CanteenID, Role: p.Role, Until: until, Login: p.login}
	if p.Role == RoleAnonymous {
		s.startAnonymous(w, r, home, v, start)
		return
	}
	if p.Role == auth.RoleParent {
		limit := c.MaxParentViewers
		if limit == 0 {
			limit = cmp.Or(s.MaxParentViewers, registry.DefaultMaxParentViewers)
		}
		perParent := cmp.Or(s.MaxViewsPerParent, DefaultMaxViewsPerParent)
		if code := s.parents.reserve(home.CanteenID, limit, p.ID, perParent); code != "" {
			msg := fmt.Sprintf("%d parents are watching this school already: try again later", limit)
			if code == "parent_views" {
				msg = fmt.Sprintf("you are watching %d cameras already: close one first", perParent)
			}
			writeError(w, http.StatusTooManyRequests, code, msg)
			s.auditAs(r.Context(), p, auth.AuditEntry{Action: "live_view", Outcome: auth.OutcomeRefused, CanteenID: home.CanteenID,
				CameraID: home.Key(), Detail: code})
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		start(rec, r, home.Key(), v)
		if rec.status != http.StatusCreated && rec.status != http.StatusFound {
			s.parents.release(home.CanteenID, p.ID)
		}
		return
	}
	start(w, r, home.Key(), v)
}

// whepDelete ends a WHEP viewer session (endView).
func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	s.endView(w, r, "viewer session", s.Live.WHEPDelete)
}

// endView ends the live view of DELETE /{whep,hls}/{camera}/{session}
// through end (the relay's WHEPDelete or HLSDelete): the viewer's own, or
// any for an admin. Someone else's session is answered as one that does
// not exist; what names the kind of session in that answer.
func (s *Server) endView(w http.ResponseWriter, r *http.Request, what string,
	end func(w http.ResponseWriter, r *http.Request, cameraID, session string)) {
	p, home, _, _, ok := s.watchable(w, r)
	if !ok {
		return
	}
	session := r.PathValue("session")
	if who, found := s.Live.Session(home.Key(), session); found && p.Role != auth.RoleAdmin && who.Principal != p.ID {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such session: %s %q of camera %q", what, session, home.Key()))
		return
	}
	end(w, r, home.Key(), session)
}

// ViewerEnded is the relay's OnViewerEnd: it writes the live view to the
// audit log and frees a parent's place.
func (s *Server) ViewerEnded(v live.Viewer, camera string, from, to time.Time) {
	if v.Role == RoleAnonymous { // counted, not audited
		s.public.release(v.CanteenID, camera)
		s.public.metrics()
		s.public.viewers.Dec()
		return
	}
	if v.Role == auth.RoleParent {
		s.parents.release(v.CanteenID, v.Principal)
	}
	s.audit(context.Background(), auth.AuditEntry{Actor: v.Principal, Role: v.Role, Action: "live_view",
		CanteenID: v.CanteenID, CameraID: camera, From: from, To: to})
}

// DefaultMaxViewsPerParent is how many cameras one parent may watch at
// once when Server.MaxViewsPerParent is 0.
const DefaultMaxViewsPerParent = 2

// DefaultRecheckEvery is how often WatchViewers rechecks the live views.
const DefaultRecheckEvery = 30 * time.Second

// endViews ends the live views started with a login ("session:<key>",
// "token:<id>") or, for "user:<login>", by a user through any login.
func (s *Server) endViews(who string) {
	n := s.endViewers(func(vs live.ViewerSession) bool {
		return vs.Viewer.Login == who || vs.Viewer.Principal == who
	})
	if n > 0 {
		s.Logger.Info("live views ended", "who", who, "views", n)
	}
}

// RecheckViewers ends the live views whose viewer may no longer watch:
// the login session ended (logout, a password change, the user disabled
// or deleted, perhaps by bk-fleet in another process), the token was
// revoked or expired, the role or scope changed, the camera is no longer
// public (for parents), or the school's viewing window was changed and
// is closed now; an anonymous view when its camera is no longer
// published to everyone, its canteen inactive or its window closed. A
// view whose check fails on a database error goes on.
// It returns how many views it ended.
func (s *Server) RecheckViewers(ctx context.Context) int {
	now := time.Now()
	logins := map[string]*Principal{} // nil: gone
	return s.endViewers(func(vs live.ViewerSession) bool {
		p, cached := logins[vs.Viewer.Login]
		if !cached {
			var err error
			if p, err = s.principalOfLogin(ctx, vs.Viewer.Login); err != nil {
				s.Logger.Warn("recheck live view", "viewer", vs.Viewer.Principal, "err", err)
				return false
			}
			logins[vs.Viewer.Login] = p
		}
		if p == nil {
			return true
		}
		if p.Role == auth.RoleAdmin {
			return false
		}
		home, err := s.Registry.CameraHome(ctx, vs.Camera)
		if errors.Is(err, store.ErrNotFound) {
			return true
		} else if err != nil {
			s.Logger.Warn("recheck live view", "camera_id", vs.Camera, "err", err)
			return false
		}
		var c registry.Canteen
		if home.CanteenID != "" {
			if c, err = s.Registry.Canteen(ctx, home.CanteenID); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.Logger.Warn("recheck live view", "canteen_id", home.CanteenID, "err", err)
				return false
			}
		}
		if !p.CanWatch(home, c.District) || (p.Role == RoleAnonymous && !c.Active) {
			return true
		}
		return (p.Role == auth.RoleParent || p.Role == RoleAnonymous) && !viewOf(c, now).ViewingOpen
	})
}

// endViewers is the relay's EndViewers, or a test's stand-in.
func (s *Server) endViewers(end func(live.ViewerSession) bool) int {
	if s.viewsHook != nil {
		return s.viewsHook(end)
	}
	if s.Live == nil {
		return 0
	}
	return s.Live.EndViewers(end)
}

// principalOfLogin is who a live view's login stands for now; nil when
// the session or token is gone.
func (s *Server) principalOfLogin(ctx context.Context, login string) (*Principal, error) {
	kind, id, _ := strings.Cut(login, ":")
	var p Principal
	switch kind {
	case "admin-token":
		p = Principal{ID: "admin-token", Role: auth.RoleAdmin, login: login}
	case anonymous.login:
		p = anonymous
	case "session":
		u, err := s.Auth.SessionUserByKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		p = principalOfUser(u)
	case "token":
		t, err := s.Auth.TokenByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		p = principalOfToken(t)
	default:
		return nil, nil // a view started without a login: not ours
	}
	return &p, nil
}

// WatchViewers runs RecheckViewers every period (0: DefaultRecheckEvery)
// until ctx ends.
func (s *Server) WatchViewers(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultRecheckEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := s.RecheckViewers(ctx); n > 0 {
				s.Logger.Info("live views ended on recheck", "views", n)
			}
		}
	}
}

// parentViewers counts parents' viewer sessions, per school and per
// parent (principal).
type parentViewers struct {
	mu       sync.Mutex
	n, views map[string]int
}

// reserve takes a place for a parent's view of a school, or says which cap
// is full: "parent_cap" (the school's) or "parent_views" (the parent's).
func (pv *parentViewers) reserve(canteen string, limit int, parent string, perParent int) (code string) {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if pv.n == nil {
		pv.n, pv.views = map[string]int{}, map[string]int{}
	}
	switch {
	case pv.views[parent] >= perParent:
		return "parent_views"
	case pv.n[canteen] >= limit:
		return "parent_cap"
	}
	pv.n[canteen]++
	pv.views[parent]++
	return ""
}

func (pv *parentViewers) release(canteen, parent string) {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if pv.n[canteen]--; pv.n[canteen] <= 0 {
		delete(pv.n, canteen)
	}
	if pv.views[parent]--; pv.views[parent] <= 0 {
		delete(pv.views, parent)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	sr.status = code
	sr.ResponseWriter.WriteHeader(code)
}

// cameraView is what the player shows about a camera.
type cameraView struct {
	Key       string `json:"key"` // gateway:camera
	CameraID  string `json:"camera_id"`
	GatewayID string `json:"gateway_id"`
	CanteenID string `json:"canteen_id"`
	Area      string `json:"area"`
	Public    bool   `json:"public"`
	Audience  string `json:"audience"`
	Online    bool   `json:"online"`
	Picture   string `json:"picture"`
	Viewers   int    `json:"viewers"`
}

func (s *Server) getCamera(w http.ResponseWriter, r *http.Request) {
	_, home, _, _, ok := s.watchable(w, r)
	if !ok {
		return
	}
	v := cameraView{Key: home.Key(), CameraID: home.CameraID, GatewayID: home.GatewayID, CanteenID: home.CanteenID,
		Area: home.Area, Public: home.Public, Audience: home.Audience(), Viewers: s.Live.Viewers(home.Key())}
	st, err := s.Registry.Gateway(r.Context(), home.GatewayID)
	if err != nil {
		s.internal(w, "look up gateway", err)
		return
	}
	for _, c := range st.Cameras {
		if c.ID == home.CameraID {
			v.Online, v.Picture = c.Online, c.Picture
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// livePage is the player page (fleet/web's live.html, the UI's own WHEP
// player): it plays the camera through WHEP with the bearer token from
// the URL fragment (#token=…), which never reaches the server in a
// request line or a log, or with the session cookie.
func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	if _, _, err := registry.ParseCameraKey(r.PathValue("camera")); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	web.Player().ServeHTTP(w, r)
}
