package api

import (
	_ "embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// watchable resolves the camera of the request and checks the principal
// may watch it; it has written the error when ok is false.
func (s *Server) watchable(w http.ResponseWriter, r *http.Request) (p Principal, home store.CameraHome, ok bool) {
	camera := r.PathValue("camera")
	if !wire.ValidID(camera) {
		writeError(w, http.StatusBadRequest, "bad_request", "camera id: want 1-64 letters, digits, '.', '_' or '-'")
		return p, home, false
	}
	p, _ = PrincipalOf(r.Context())
	home, err := s.Store.CameraHome(r.Context(), camera)
	if errors.Is(err, store.ErrNotFound) {
		// The same answer as a camera of someone else's canteen would get
		// from a narrower role, so that ids cannot be probed.
		if p.Role == store.RoleAdmin || p.Role == store.RoleRegulator {
			writeError(w, http.StatusNotFound, "not_found", "no camera "+camera)
		} else {
			writeError(w, http.StatusForbidden, "forbidden", "not allowed to watch camera "+camera)
		}
		return p, home, false
	} else if err != nil {
		s.internal(w, "look up camera", err)
		return p, home, false
	}
	if !p.CanWatch(home) {
		writeError(w, http.StatusForbidden, "forbidden", "not allowed to watch camera "+camera)
		return p, home, false
	}
	return p, home, true
}

// whep starts a viewer session (SDP offer in, answer out) for a principal
// allowed to watch the camera.
func (s *Server) whep(w http.ResponseWriter, r *http.Request) {
	p, home, ok := s.watchable(w, r)
	if !ok {
		return
	}
	s.Live.WHEP(w, r, r.PathValue("camera"), live.Viewer{Principal: p.ID, CanteenID: home.CanteenID, Role: p.Role})
}

func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.watchable(w, r); !ok {
		return
	}
	s.Live.WHEPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
}

// cameraView is what the player shows about a camera.
type cameraView struct {
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
	_, home, ok := s.watchable(w, r)
	if !ok {
		return
	}
	id := r.PathValue("camera")
	v := cameraView{CameraID: id, GatewayID: home.GatewayID, CanteenID: home.CanteenID, Area: home.Area,
		Public: home.Public, Viewers: s.Live.Viewers(id)}
	st, err := s.Store.Gateway(r.Context(), home.GatewayID)
	if err != nil {
		s.internal(w, "look up gateway", err)
		return
	}
	for _, c := range st.Cameras {
		if c.ID == id {
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
	if !wire.ValidID(camera) {
		writeError(w, http.StatusBadRequest, "bad_request", "camera id: want 1-64 letters, digits, '.', '_' or '-'")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = livePage.Execute(w, map[string]string{"Camera": camera})
}
