package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// refuse answers 403 for something outside the principal's scope.
func refuse(w http.ResponseWriter, what string) {
	writeError(w, http.StatusForbidden, "forbidden", "not allowed: "+what)
}

// canteenInScope loads canteen id and checks the principal may see it; it
// has answered when ok is false. Those with a narrower scope than admin
// get 403 for a canteen that does not exist, so ids cannot be probed.
func (s *Server) canteenInScope(w http.ResponseWriter, r *http.Request, id string) (registry.Canteen, Principal, bool) {
	p, _ := PrincipalOf(r.Context())
	c, err := s.Registry.Canteen(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.InScope(c.ID, c.District)) {
		if p.Role == auth.RoleAdmin {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no canteen %q", id))
		} else {
			refuse(w, "canteen "+id)
		}
		return c, p, false
	} else if err != nil {
		s.internal(w, "get canteen", err)
		return c, p, false
	}
	return c, p, true
}

func (s *Server) listCanteens(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _ := PrincipalOf(r.Context())
	cs, err := s.Registry.ListCanteens(r.Context(), registry.CanteenFilter{Category: q.Get("category"),
		District: q.Get("district"), Scope: p.Scope()})
	if err != nil {
		s.internal(w, "list canteens", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"canteens": cs})
}

// canteenView is a canteen with whether parents may watch now.
type canteenView struct {
	registry.Canteen
	ViewingOpen  bool      `json:"viewing_open"`
	ViewingUntil time.Time `json:"viewing_until,omitzero"`
	ViewingNext  time.Time `json:"viewing_next,omitzero"`
}

func viewOf(c registry.Canteen, now time.Time) canteenView {
	v := canteenView{Canteen: c}
	loc, err := time.LoadLocation(c.TZ)
	if err != nil {
		loc = time.UTC
	}
	v.ViewingOpen, v.ViewingUntil, v.ViewingNext = c.Viewing.Open(now, loc)
	return v
}

func (s *Server) getCanteen(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, viewOf(c, time.Now()))
}

// canteenCameras lists a canteen's cameras (a parent: only public ones)
// with their mapping and health.
func (s *Server) canteenCameras(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	gws, err := s.Registry.GatewaysIn(r.Context(), registry.CanteenFilter{Scope: registry.Scope{Canteens: []string{c.ID}}})
	if err != nil {
		s.internal(w, "list gateways", err)
		return
	}
	type cam struct {
		registry.Camera
		Key       string `json:"key"` // gateway:camera, for /whep and PUT /cameras
		GatewayID string `json:"gateway_id"`
		GwOnline  bool   `json:"gateway_online"`
		Viewers   int    `json:"viewers,omitempty"`
		// PublicViewers are the anonymous views among Viewers (public
		// kitchens), for staff.
		PublicViewers int `json:"public_viewers,omitempty"`
	}
	out := []cam{}
	for _, g := range gws {
		for _, cm := range g.Cameras {
			if p.Role == auth.RoleParent && !cm.Public {
				continue
			}
			x := cam{Camera: cm, Key: registry.CameraKeyOf(g.ID, cm.ID), GatewayID: g.ID, GwOnline: g.Online}
			if s.Live != nil && p.Role != auth.RoleParent {
				x.Viewers = s.Live.Viewers(x.Key)
				x.PublicViewers = s.public.onCamera(x.Key)
			}
			out = append(out, x)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cameras": out})
}

type viewingRequest struct {
	Viewing          coverage.Week `json:"viewing_windows"`
	MaxParentViewers int           `json:"max_parent_viewers"`
}

// putViewing sets a school's parent viewing windows and parent cap.
func (s *Server) putViewing(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req viewingRequest
	if !decodeBody(w, r, &req) {
		return
	}
	err := s.Registry.SetViewing(r.Context(), c.ID, req.Viewing, req.MaxParentViewers)
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "set viewing windows", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "viewing_set", CanteenID: c.ID,
		Detail: fmt.Sprintf("%v, max %d parents", req.Viewing, req.MaxParentViewers)})
	c, err = s.Registry.Canteen(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "get canteen", err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(c, time.Now()))
}

// listGateways lists the gateways in the principal's scope: an operator's
// canteens' gateways, a regulator's districts'.
func (s *Server) listGateways(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	var gws []registry.Gateway
	var err error
	if sc := p.Scope(); sc.Districts != nil || sc.Canteens != nil {
		gws, err = s.Registry.GatewaysIn(r.Context(), registry.CanteenFilter{Scope: sc})
	} else {
		gws, err = s.Registry.ListGateways(r.Context()) // with those bound to no canteen
	}
	if err != nil {
		s.internal(w, "list gateways", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateways": gws})
}

type bindRequest struct {
	CanteenID *string `json:"canteen_id"`
}

// bindGateway binds a gateway to a canteen (admin).
func (s *Server) bindGateway(w http.ResponseWriter, r *http.Request) {
	var req bindRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.CanteenID == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "canteen_id: required (\"\" unbinds)")
		return
	}
	id := r.PathValue("id")
	err := s.Registry.BindGateway(r.Context(), id, *req.CanteenID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no gateway %q", id))
		return
	} else if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "bind gateway", err)
		return
	}
	p, _ := PrincipalOf(r.Context())
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "gateway_bind", CanteenID: *req.CanteenID, Detail: "gateway " + id})
	g, err := s.Registry.Gateway(r.Context(), id)
	if err != nil {
		s.internal(w, "get gateway", err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

type mapRequest struct {
	Area   *string `json:"area"`
	Public *bool   `json:"public"`
	// Audience (registry.Audiences) wins over Public when both are given.
	Audience *string `json:"audience"`
}

// mapCamera sets a camera's area and public flag or audience (admin, or
// the operator of the camera's canteen).
func (s *Server) mapCamera(w http.ResponseWriter, r *http.Request) {
	camera := r.PathValue("camera")
	if _, _, err := registry.ParseCameraKey(camera); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	p, _ := PrincipalOf(r.Context())
	home, err := s.Registry.CameraHome(r.Context(), camera)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAmbiguous) ||
		(err == nil && p.Role != auth.RoleAdmin && !p.InScope(home.CanteenID, "")) {
		switch {
		case p.Role == auth.RoleAdmin && errors.Is(err, store.ErrAmbiguous):
			writeError(w, http.StatusConflict, "ambiguous", err.Error())
		case p.Role == auth.RoleAdmin:
			writeError(w, http.StatusNotFound, "not_found", "no camera "+camera)
		default:
			refuse(w, "camera "+camera)
		}
		return
	} else if err != nil {
		s.internal(w, "look up camera", err)
		return
	}
	var req mapRequest
	if !decodeBody(w, r, &req) {
		return
	}
	area, public, audience := home.Area, home.Public, home.Audience()
	if req.Area != nil {
		area = *req.Area
	}
	if req.Public != nil {
		public = *req.Public
	}
	if req.Audience != nil {
		audience = *req.Audience
		public = audience != registry.AudiencePrivate
		err = s.Registry.SetCameraAudience(r.Context(), home.Key(), area, audience)
	} else {
		// public alone: true keeps a camera published to everyone
		// published, false makes it private.
		if !public {
			audience = registry.AudiencePrivate
		} else if audience == registry.AudiencePrivate {
			audience = registry.AudienceParents
		}
		err = s.Registry.MapCamera(r.Context(), home.Key(), area, public)
	}
	if errors.Is(err, store.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	} else if err != nil {
		s.internal(w, "map camera", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "camera_map", CanteenID: home.CanteenID, CameraID: home.Key(),
		Detail: fmt.Sprintf("area %q public %v audience %s", area, public, audience)})
	writeJSON(w, http.StatusOK, map[string]any{"key": home.Key(), "camera_id": home.CameraID, "gateway_id": home.GatewayID,
		"area": area, "public": public, "audience": audience, "mapped": true})
}
