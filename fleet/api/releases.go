package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Releases and rollouts (SPEC.md §4, "Updates"): an admin uploads signed
// bundles and rolls a version out in stages (fleet/ota); the gateways
// download their bundle from a URL whose token names them.

// MaxReleaseBody is the most bodyLimit lets a release upload send; the
// handler then holds it to the fleet's --release-max.
const MaxReleaseBody = 4 << 30

// releaseTransfer is how long one upload or download of a bundle may
// take (the server's read and write timeouts are a minute, for requests
// of a few MiB): a 256 MiB bundle at 2 Mbit/s.
const releaseTransfer = 20 * time.Minute

// otaOff answers 503 when the fleet has no releases configured.
func (s *Server) otaOff(w http.ResponseWriter) bool {
	if s.OTA == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "releases are not configured on this fleet")
		return true
	}
	return false
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	rels, err := s.OTA.Releases(r.Context())
	if err != nil {
		s.internal(w, "list releases", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"releases": rels, "keys": s.OTA.Keys(), "max_bundle": s.OTA.MaxBundle()})
}

// uploadRelease takes a bundle as the request body (any content type),
// verifies it and stores it: 201 with the release, 200 if the same
// bundle was there already.
func (s *Server) uploadRelease(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	audit := func(outcome, detail string) {
		s.auditAs(r.Context(), p, auth.AuditEntry{Action: "release_upload", Outcome: outcome, Detail: detail})
	}
	if max := s.OTA.MaxBundle(); r.ContentLength > max {
		audit(auth.OutcomeRefused, fmt.Sprintf("%d bytes, over %d", r.ContentLength, max))
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("bundle of %d bytes, over the fleet's limit of %d (--release-max)", r.ContentLength, max))
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(releaseTransfer))
	rel, created, err := s.OTA.Upload(r.Context(), r.Body, p.ID, time.Now())
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, ota.ErrTooLarge):
		audit(auth.OutcomeRefused, err.Error())
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, ota.ErrRefused):
		audit(auth.OutcomeRefused, err.Error())
		writeError(w, http.StatusUnprocessableEntity, "refused", err.Error())
	case errors.Is(err, store.ErrExists):
		audit(auth.OutcomeRefused, err.Error())
		writeError(w, http.StatusConflict, "exists", err.Error())
	case errors.Is(err, ota.ErrNoKeys):
		writeError(w, http.StatusServiceUnavailable, "no_keys", err.Error())
	case err != nil:
		s.internal(w, "upload release", err)
	default:
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			audit(auth.OutcomeOK, fmt.Sprintf("%s %s %s (%d bytes, key %s)", rel.Product, rel.Version, rel.Arch, rel.Size, rel.KeyID))
		}
		writeJSON(w, status, rel)
	}
}

func (s *Server) deleteRelease(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	rel, err := s.OTA.DeleteRelease(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such release")
	case errors.Is(err, ota.ErrInUse):
		writeError(w, http.StatusConflict, "in_use", err.Error())
	case err != nil:
		s.internal(w, "delete release", err)
	default:
		s.auditAs(r.Context(), p, auth.AuditEntry{Action: "release_delete", Detail: fmt.Sprintf("%s %s (%s)", rel.Version, rel.Arch, rel.ID)})
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listRollouts(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	ros, err := s.OTA.Rollouts(r.Context(), 0)
	if err != nil {
		s.internal(w, "list rollouts", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollouts": ros})
}

func (s *Server) createRollout(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	var spec ota.Spec
	if !decodeBody(w, r, &spec) {
		return
	}
	ro, err := s.OTA.Create(r.Context(), spec, p.ID, time.Now())
	switch {
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	case errors.Is(err, ota.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case err != nil:
		s.internal(w, "create rollout", err)
	default:
		s.auditAs(r.Context(), p, auth.AuditEntry{Action: "rollout_create",
			Detail: fmt.Sprintf("rollout %s: %s to %s, stages %v, force %v, max failures %d, %s advance: %v",
				ro.ID, ro.Version, targetText(ro.Target), ro.Stages, ro.Force, ro.MaxFailures, ro.Advance, ro.Counts)})
		writeJSON(w, http.StatusCreated, ro)
	}
}

func targetText(t ota.Target) string {
	switch {
	case t.All:
		return "all gateways"
	case t.District != "":
		return "district " + t.District
	case t.Category != "":
		return "category " + t.Category
	}
	return fmt.Sprintf("%d gateways", len(t.Gateways))
}

// getRollout is a rollout with its targets.
func (s *Server) getRollout(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	ro, err := s.OTA.Rollout(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such rollout")
		return
	} else if err != nil {
		s.internal(w, "get rollout", err)
		return
	}
	ts, err := s.OTA.Targets(r.Context(), ro.ID)
	if err != nil {
		s.internal(w, "rollout targets", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollout": ro, "targets": ts})
}

// actRollout is POST /api/v1/rollouts/{id}/{action}: pause, resume,
// next or abort.
func (s *Server) actRollout(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	p, _ := PrincipalOf(r.Context())
	id, action := r.PathValue("id"), r.PathValue("action")
	ro, err := s.OTA.Act(r.Context(), id, action, p.ID, time.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such rollout")
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusNotFound, "not_found", "no such action: want pause, resume, next or abort")
	case errors.Is(err, ota.ErrWrongState):
		writeError(w, http.StatusConflict, "rollout_state", err.Error())
	case err != nil:
		s.internal(w, "rollout "+action, err)
	default:
		s.auditAs(r.Context(), p, auth.AuditEntry{Action: "rollout_" + action,
			Detail: fmt.Sprintf("rollout %s (%s): now %s, stage %d of %d", ro.ID, ro.Version, ro.State, ro.Stage, len(ro.Stages))})
		writeJSON(w, http.StatusOK, ro)
	}
}

// downloadBundle serves a rollout target's bundle (GET, HEAD, Range) to
// the holder of the token its ota.install carries: not a user's route.
func (s *Server) downloadBundle(w http.ResponseWriter, r *http.Request) {
	if s.otaOff(w) {
		return
	}
	d, err := s.OTA.DownloadFor(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such download")
		return
	case errors.Is(err, ota.ErrGone):
		writeError(w, http.StatusGone, "gone", err.Error())
		return
	case err != nil:
		s.internal(w, "download", err)
		return
	}
	f, err := s.OTA.Open(d.Release.ID)
	if err != nil {
		s.internal(w, "open bundle", err)
		return
	}
	defer f.Close()
	s.Logger.Debug("bundle download", "rollout", d.RolloutID, "gateway", d.GatewayID, "release", d.Release.ID, "range", r.Header.Get("Range"))
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(releaseTransfer))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", d.Release.CreatedAt, f)
}
