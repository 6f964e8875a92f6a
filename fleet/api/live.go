package api

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// watchable resolves the camera of the request (its key "gateway:camera",
// or a bare camera id only one gateway reports) and checks the principal
// may watch it now; it has answered (and audited a refusal) when ok is
// false. For a parent, until is when its school's viewing window closes.
// The relay knows the camera by home.Key(); c is its canteen (zero if none).
func (s *Server) watchable(w http.ResponseWriter, r *http.Request) (p Principal, home store.CameraHome, c store.Canteen, until time.Time, ok bool) {
	camera := r.PathValue("camera")
	if _, _, err := store.ParseCameraKey(camera); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return p, home, c, until, false
	}
	p, _ = PrincipalOf(r.Context())
	refused := func(code, msg string) (Principal, store.CameraHome, store.Canteen, time.Time, bool) {
		writeError(w, http.StatusForbidden, code, msg)
		if r.Method == http.MethodPost {
			s.auditAs(r.Context(), p, store.AuditEntry{Action: "live_view", Outcome: store.OutcomeRefused, CanteenID: home.CanteenID,
				CameraID: camera, Detail: code})
		}
		return p, home, c, until, false
	}
	home, err := s.Store.CameraHome(r.Context(), camera)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAmbiguous) {
		// The same answer as a camera of someone else's canteen would get
		// from a narrower role, so that ids cannot be probed.
		if p.Role == store.RoleAdmin {
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
		c, err = s.Store.Canteen(r.Context(), home.CanteenID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.internal(w, "look up canteen", err)
			return p, home, c, until, false
		}
	}
	if !p.CanWatch(home, c.District) {
		return refused("forbidden", "not allowed to watch camera "+camera)
	}
	if p.Role == store.RoleParent {
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
// allowed to watch the camera; parents count against their school's cap
// and their own (MaxViewsPerParent), and are cut off when the viewing
// window closes.
func (s *Server) whep(w http.ResponseWriter, r *http.Request) {
	p, home, c, until, ok := s.watchable(w, r)
	if !ok {
		return
	}
	v := live.Viewer{Principal: p.ID, CanteenID: home.CanteenID, Role: p.Role, Until: until}
	if p.Role == store.RoleParent {
		limit := c.MaxParentViewers
		if limit == 0 {
			limit = cmp.Or(s.MaxParentViewers, store.DefaultMaxParentViewers)
		}
		perParent := cmp.Or(s.MaxViewsPerParent, DefaultMaxViewsPerParent)
		if code := s.parents.reserve(home.CanteenID, limit, p.ID, perParent); code != "" {
			msg := fmt.Sprintf("%d parents are watching this school already: try again later", limit)
			if code == "parent_views" {
				msg = fmt.Sprintf("you are watching %d cameras already: close one first", perParent)
			}
			writeError(w, http.StatusTooManyRequests, code, msg)
			s.auditAs(r.Context(), p, store.AuditEntry{Action: "live_view", Outcome: store.OutcomeRefused, CanteenID: home.CanteenID,
				CameraID: home.Key(), Detail: code})
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		s.Live.WHEP(rec, r, home.Key(), v)
		if rec.status != http.StatusCreated {
			s.parents.release(home.CanteenID, p.ID)
		}
		return
	}
	s.Live.WHEP(w, r, home.Key(), v)
}

// whepDelete ends a viewer session: the viewer's own, or any for an admin.
// Someone else's session is answered as one that does not exist.
func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	p, home, _, _, ok := s.watchable(w, r)
	if !ok {
		return
	}
	session := r.PathValue("session")
	if who, found := s.Live.Session(home.Key(), session); found && p.Role != store.RoleAdmin && who.Principal != p.ID {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such session: viewer session %q of camera %q", session, home.Key()))
		return
	}
	s.Live.WHEPDelete(w, r, home.Key(), session)
}

// ViewerEnded is the relay's OnViewerEnd: it writes the live view to the
// audit log and frees a parent's place.
func (s *Server) ViewerEnded(v live.Viewer, camera string, from, to time.Time) {
	if v.Role == store.RoleParent {
		s.parents.release(v.CanteenID, v.Principal)
	}
	s.audit(context.Background(), store.AuditEntry{Actor: v.Principal, Role: v.Role, Action: "live_view",
		CanteenID: v.CanteenID, CameraID: camera, From: from, To: to})
}

// DefaultMaxViewsPerParent is how many cameras one parent may watch at
// once when Server.MaxViewsPerParent is 0.
const DefaultMaxViewsPerParent = 2

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
		Area: home.Area, Public: home.Public, Viewers: s.Live.Viewers(home.Key())}
	st, err := s.Store.Gateway(r.Context(), home.GatewayID)
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

//go:embed live.html
var livePageSrc string

var livePage = template.Must(template.New("live").Parse(livePageSrc))

// livePage is the player: it plays the camera through WHEP with the bearer
// token from the URL fragment (#token=…), which never reaches the server
// in a request line or a log.
func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	camera := r.PathValue("camera")
	if _, _, err := store.ParseCameraKey(camera); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = livePage.Execute(w, map[string]string{"Camera": camera})
}
