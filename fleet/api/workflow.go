package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// MaxPhoto is the largest rectification photo accepted (8 MiB), and
// MaxRectification the largest rectification request (the photo, the note
// and the multipart framing).
const (
	MaxPhoto         = 8 << 20
	MaxRectification = MaxPhoto + 64<<10
)

// violationFilter reads GET /api/v1/violations' query; it has answered
// when ok is false.
func violationFilter(w http.ResponseWriter, r *http.Request, p Principal) (f alarms.ViolationFilter, ok bool) {
	q := r.URL.Query()
	f = alarms.ViolationFilter{
		CanteenID: q.Get("canteen_id"), GatewayID: q.Get("gateway_id"),
		Type: q.Get("type"), Status: q.Get("status"), Overdue: q.Get("overdue"),
		Alarms: q.Get("alarms") == "1" || q.Get("alarms") == "true",
		Scope:  p.Scope(),
	}
	bad := func(field, msg string) (alarms.ViolationFilter, bool) {
		writeError(w, http.StatusBadRequest, "bad_request", field+": "+msg)
		return f, false
	}
	switch f.Overdue {
	case "", "review", "rectification", "any":
	default:
		return bad("overdue", "want review, rectification or any")
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		return bad("since", err.Error())
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		return bad("until", err.Error())
	}
	if f.Limit, err = intParam(q.Get("limit"), 1, store.MaxLimit); err != nil {
		return bad("limit", err.Error())
	}
	for name, dst := range map[string]*int64{"after_id": &f.AfterID, "before_id": &f.BeforeID} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil {
				return bad(name, "not a number")
			}
		}
	}
	return f, true
}

func (s *Server) listViolations(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	format, ok := exportFormat(w, r)
	if !ok {
		return
	}
	f, ok := violationFilter(w, r, p)
	if !ok {
		return
	}
	vs, err := s.Alarms.Violations(r.Context(), f)
	if err != nil {
		s.internal(w, "list violations", err)
		return
	}
	switch format {
	case "csv", "xlsx":
		s.writeTables(w, format, "alarms", violationTable(vs))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"violations": vs})
	}
}

// pathID reads the path value name as a positive id (what names it in
// the error); it has answered 400 when ok is false.
func pathID(w http.ResponseWriter, r *http.Request, name, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", what+" id must be a positive number")
		return 0, false
	}
	return id, true
}

// violationInScope loads the violation of the path and checks the
// principal may see it; it has answered when ok is false.
func (s *Server) violationInScope(w http.ResponseWriter, r *http.Request) (alarms.Violation, Principal, bool) {
	p, _ := PrincipalOf(r.Context())
	id, ok := pathID(w, r, "id", "violation")
	if !ok {
		return alarms.Violation{}, p, false
	}
	v, err := s.Alarms.Violation(r.Context(), id)
	return v, p, s.recordInScope(w, p, "violation", id, err, v.CanteenID, v.District)
}

// recordInScope answers for a numbered record (what, id) that the store
// returned with err: 404 to an admin and 403 to anyone else when it is
// missing or outside p's scope (so that ids out of scope cannot be told
// from unknown ones), 500 on another error. ok: found and in scope, not
// answered.
func (s *Server) recordInScope(w http.ResponseWriter, p Principal, what string, id int64, err error, canteen, district string) bool {
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !p.InScope(canteen, district)):
		if p.Role == auth.RoleAdmin {
			writeError(w, http.StatusNotFound, "not_found", "no such "+what)
		} else {
			refuse(w, fmt.Sprintf("%s %d", what, id))
		}
		return false
	case err != nil:
		s.internal(w, "get "+what, err)
		return false
	}
	return true
}

// violationDetail is one alarm with its history and rectifications.
type violationDetail struct {
	alarms.Violation
	History        []alarms.HistoryEntry  `json:"history"`
	Rectifications []alarms.Rectification `json:"rectifications"`
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request, v alarms.Violation, status int) {
	d := violationDetail{Violation: v}
	var err error
	if d.History, err = s.Alarms.History(r.Context(), v.ID); err != nil {
		s.internal(w, "violation history", err)
		return
	}
	if d.Rectifications, err = s.Alarms.Rectifications(r.Context(), v.ID); err != nil {
		s.internal(w, "violation rectifications", err)
		return
	}
	writeJSON(w, status, d)
}

func (s *Server) getViolation(w http.ResponseWriter, r *http.Request) {
	v, _, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	s.detail(w, r, v, http.StatusOK)
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	v, _, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	jpeg, err := s.Alarms.Snapshot(r.Context(), v.ID)
	if errors.Is(err, store.ErrExpired) {
		writeError(w, http.StatusGone, "expired", "the snapshot was deleted by the retention policy")
		return
	} else if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no snapshot for this violation")
		return
	} else if err != nil {
		s.internal(w, "get snapshot", err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(jpeg)
}

// workflowError answers a refused transition; false when err is nil.
func (s *Server) workflowError(w http.ResponseWriter, what string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrWrongState):
		writeError(w, http.StatusConflict, "wrong_state", err.Error())
	case errors.Is(err, store.ErrNotAlarm):
		writeError(w, http.StatusConflict, "not_alarm", err.Error())
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	default:
		s.internal(w, what, err)
	}
	return true
}

type reviewRequest struct {
	Verdict string `json:"verdict"`
	Note    string `json:"note"`
}

// review confirms or dismisses a new alarm.
func (s *Server) review(w http.ResponseWriter, r *http.Request) {
	v, p, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	var req reviewRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Verdict != "confirmed" && req.Verdict != "dismissed" {
		writeError(w, http.StatusBadRequest, "bad_request", "verdict: want confirmed or dismissed")
		return
	}
	s.transition(w, r, p, "review", req.Verdict, req.Note, func() (alarms.Violation, error) {
		return s.Alarms.Review(r.Context(), v.ID, p.ID, req.Verdict, req.Note, time.Now())
	})
}

// transition runs a reviewer's step (a review or a decision), audits it
// with its choice and note, and answers with the alarm as it now is.
func (s *Server) transition(w http.ResponseWriter, r *http.Request, p Principal, action, choice, note string,
	step func() (alarms.Violation, error)) {
	v, err := step()
	if s.workflowError(w, action, err) {
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: action, CanteenID: v.CanteenID, CameraID: v.CameraID,
		ViolationID: v.ID, Detail: choice + ": " + note})
	s.detail(w, r, v, http.StatusOK)
}

// submitRectification takes the operator's note and photo
// (multipart/form-data: note, photo).
func (s *Server) submitRectification(w http.ResponseWriter, r *http.Request) {
	v, p, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	// The state first: a body is read only for an alarm that takes a
	// rectification now.
	switch {
	case !v.Alarm:
		writeError(w, http.StatusConflict, "not_alarm", fmt.Sprintf("violation %d is not its episode's alarm", v.ID))
		return
	case v.Status != alarms.StatusConfirmed:
		writeError(w, http.StatusConflict, "wrong_state", fmt.Sprintf("violation %d is %s, not %s", v.ID, v.Status, alarms.StatusConfirmed))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send multipart/form-data with note and photo")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRectification)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("photo over %d MiB", MaxPhoto>>20))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "form: "+err.Error())
		return
	}
	defer r.MultipartForm.RemoveAll()
	note := r.FormValue("note")
	file, hdr, err := r.FormFile("photo")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "photo: required (a JPEG or PNG file)")
		return
	}
	defer file.Close()
	if hdr.Size > MaxPhoto {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("photo over %d MiB", MaxPhoto>>20))
		return
	}
	photo, err := io.ReadAll(io.LimitReader(file, MaxPhoto+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "photo: "+err.Error())
		return
	}
	typ, err := photoType(photo)
	if errors.Is(err, ErrImageTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "photo: "+err.Error())
		return
	} else if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "photo: "+err.Error())
		return
	}
	_, err = s.Alarms.SubmitRectification(r.Context(), v.ID, p.ID, note, photo, typ, time.Now())
	if s.workflowError(w, "submit rectification", err) {
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "rectification", CanteenID: v.CanteenID, CameraID: v.CameraID,
		ViolationID: v.ID, Detail: note})
	v, err = s.Alarms.Violation(r.Context(), v.ID)
	if err != nil {
		s.internal(w, "get violation", err)
		return
	}
	s.detail(w, r, v, http.StatusCreated)
}

// photoType sniffs a photo and checks it is a whole JPEG or PNG image.
func photoType(b []byte) (string, error) {
	typ := http.DetectContentType(b)
	if typ != "image/jpeg" && typ != "image/png" {
		return "", fmt.Errorf("%s is not a JPEG or PNG image", typ)
	}
	if err := checkImage(b); errors.Is(err, ErrImageTooLarge) {
		return "", err
	} else if err != nil {
		return "", fmt.Errorf("not a readable %s: %w", typ, err)
	}
	return typ, nil
}

func (s *Server) rectificationPhoto(w http.ResponseWriter, r *http.Request) {
	v, _, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	rid, ok := pathID(w, r, "rid", "rectification")
	if !ok {
		return
	}
	photo, typ, err := s.Alarms.RectificationPhoto(r.Context(), v.ID, rid)
	if errors.Is(err, store.ErrExpired) {
		writeError(w, http.StatusGone, "expired", "the photo was deleted by the retention policy")
		return
	} else if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such photo")
		return
	} else if err != nil {
		s.internal(w, "get photo", err)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(photo)
}

type decisionRequest struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

// decide accepts or rejects a submitted rectification.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	v, p, ok := s.violationInScope(w, r)
	if !ok {
		return
	}
	var req decisionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Decision != alarms.DecisionAccepted && req.Decision != alarms.DecisionRejected {
		writeError(w, http.StatusBadRequest, "bad_request", "decision: want accepted or rejected")
		return
	}
	s.transition(w, r, p, "decision", req.Decision, req.Note, func() (alarms.Violation, error) {
		return s.Alarms.DecideRectification(r.Context(), v.ID, p.ID, req.Decision, req.Note, time.Now())
	})
}

// listNotices lists an operator's canteens' notices (admin: all).
func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := alarms.NoticeFilter{Canteens: p.Scope().Canteens, Unread: q.Get("unread") == "1" || q.Get("unread") == "true"}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), 1, 1000); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "limit: "+err.Error())
		return
	}
	ns, err := s.Alarms.Notices(r.Context(), f)
	if err != nil {
		s.internal(w, "list notices", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notices": ns})
}

func (s *Server) readNotice(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	id, ok := pathID(w, r, "id", "notice")
	if !ok {
		return
	}
	err := s.Alarms.MarkNoticeRead(r.Context(), id, p.Scope().Canteens, p.ID, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, fmt.Sprintf("notice %d", id))
		return
	} else if err != nil {
		s.internal(w, "mark notice read", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
