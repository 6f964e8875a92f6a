package api

// The complaint channel (投诉举报; fleet/complaints, SPEC §4 "Complaints"):
// the public form's endpoints, which take no login, and the regulators'
// and operators' queue.
//
// Abuse controls on the public endpoints, none needing an outside
// service: a per-address window in memory for each public endpoint
// (complaintLimits, answered 429 with Retry-After), a proof-of-work
// challenge signed by the database's key and spent with the ticket (no
// replay, even across replicas), the per-address cap counted in the
// database at filing (complaints.Settings.PerAddress), a body cap
// (MaxComplaintBody) read part by part (decodeComplaint), and photos
// decoded at most two at a time, after their declared size was checked,
// and re-encoded (cleanPhoto). The ticket and its photo are one row, so a
// refused or failed complaint leaves nothing behind.

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/web"
)

// complaintLimits are the public endpoints' windows per client address:
// how many requests of each kind in complaintWindow.
var complaintLimits = map[string]int{
	"challenge": 30, // challenges handed out
	"file":      20, // complaints sent (accepted or not)
	"lookup":    60, // tickets looked up by code
}

const complaintWindow = 10 * time.Minute

// addrWindow counts requests per key in a sliding window; its memory is
// bounded by maxLimiterKeys.
type addrWindow struct {
	mu    sync.Mutex
	seen  map[string][]time.Time
	swept time.Time
}

// take records a request of kind from addr at now, or says how long to
// wait when the window is full.
func (a *addrWindow) take(kind, addr string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string][]time.Time{}
	}
	if len(a.seen) > maxLimiterKeys && now.Sub(a.swept) > time.Minute {
		a.swept = now
		for k, ts := range a.seen {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= complaintWindow {
				delete(a.seen, k)
			}
		}
	}
	key, limit := kind+"\x00"+addr, complaintLimits[kind]
	ts := a.seen[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= complaintWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) >= limit {
		a.seen[key] = ts
		return ts[0].Add(complaintWindow).Sub(now)
	}
	if _, ok := a.seen[key]; !ok && len(a.seen) > maxLimiterKeys {
		return time.Minute // full of addresses: new ones wait
	}
	a.seen[key] = append(ts, now)
	return 0
}

// photoGate bounds the complaint photos decoded at once (a 16-megapixel
// image takes 64 MiB decoded).
var photoGate = make(chan struct{}, 2)

// complaintRoutes adds the complaint channel's routes.
func (s *Server) complaintRoutes(mux *http.ServeMux) {
	if s.Complaints == nil {
		mux.HandleFunc("/api/v1/complaints", s.complaintsOff)
		mux.HandleFunc("/api/v1/complaints/", s.complaintsOff)
		return
	}
	// Public: no login.
	mux.Handle("GET /complain", web.Complain())
	mux.HandleFunc("GET /api/v1/complaint-categories", s.complaintCategories)
	mux.HandleFunc("POST /api/v1/complaints/challenge", s.complaintChallenge)
	mux.HandleFunc("POST /api/v1/complaints", s.fileComplaint)
	mux.HandleFunc("POST /api/v1/complaints/lookup", s.lookupComplaint)
	// Staff.
	mux.Handle("GET /api/v1/complaints", s.authorize(s.listComplaints, PermComplaintView))
	mux.Handle("GET /api/v1/complaints/{id}", s.authorize(s.getComplaint, PermComplaintView))
	mux.Handle("GET /api/v1/complaints/{id}/photo", s.authorize(s.complaintPhoto, PermComplaintView))
	mux.Handle("POST /api/v1/complaints/{id}/account", s.authorize(s.complaintAccount, PermComplaintAccount))
	mux.Handle("POST /api/v1/complaints/{id}/{action}", s.authorize(s.complaintStep, PermComplaintHandle))
	mux.Handle("GET /api/v1/canteens/{id}/complaint-qr.png", s.authorize(s.complaintQR, PermComplaintPoster))
}

func (s *Server) complaintsOff(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the complaint channel is not configured")
}

// limited takes a place in the address's window for kind, or answers 429.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, kind string) bool {
	wait := s.complaintWin.take(kind, clientAddr(r), time.Now())
	if wait <= 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from this address: try again later")
	return true
}

func (s *Server) complaintCategories(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"categories": complaints.Categories})
}

// complaintChallenge hands out a proof-of-work challenge for the canteen
// of ?canteen=.
func (s *Server) complaintChallenge(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, "challenge") {
		return
	}
	canteen := r.URL.Query().Get("canteen")
	c, err := s.Registry.Canteen(r.Context(), canteen)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.Active) {
		writeError(w, http.StatusNotFound, "not_found", "no such canteen takes complaints")
		return
	} else if err != nil {
		s.internal(w, "look up canteen", err)
		return
	}
	key, err := s.Complaints.Key(r.Context())
	if err != nil {
		s.internal(w, "complaint key", err)
		return
	}
	ch, err := complaints.NewChallenge(key, canteen, s.ComplaintBits, time.Now())
	if err != nil {
		s.internal(w, "make challenge", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"challenge": ch, "canteen": map[string]string{"id": c.ID, "name": c.Name}})
}

// fileComplaint takes a complaint (multipart/form-data: canteen,
// category, text, contact, camera, at, challenge, nonce, photo) and
// answers 201 with its ticket code.
func (s *Server) fileComplaint(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused")
		return
	}
	if s.limited(w, r, "file") {
		return
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send multipart/form-data")
		return
	}
	if r.ContentLength > MaxComplaintBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("complaint over %d MiB", MaxComplaintBody>>20))
		return
	}
	form, err := decodeComplaint(http.MaxBytesReader(w, r.Body, MaxComplaintBody), params["boundary"])
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("complaint over %d MiB", MaxComplaintBody>>20))
		return
	case errors.Is(err, errFormTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	n, err := form.newComplaint()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	key, err := s.Complaints.Key(r.Context())
	if err != nil {
		s.internal(w, "complaint key", err)
		return
	}
	v, err := complaints.VerifyChallenge(key, form.Fields["challenge"], form.Fields["nonce"], n.CanteenID, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_challenge", err.Error())
		return
	}
	n.Challenge, n.ChallengeExpires = v.ID, v.Expires
	// The fields are checked before the photo is decoded.
	if err := n.Check(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(form.Photo) > 0 {
		select {
		case photoGate <- struct{}{}:
		case <-time.After(5 * time.Second):
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "busy", "too many photos at once: try again in a moment")
			return
		case <-r.Context().Done():
			return
		}
		n.Photo, n.PhotoType, err = cleanPhoto(form.Photo)
		<-photoGate
		if errors.Is(err, ErrImageTooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "photo: "+err.Error())
			return
		} else if err != nil {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "photo: "+err.Error())
			return
		}
	}
	n.Addr = clientAddr(r)
	actor := "anonymous"
	if p, ok := s.optionalPrincipal(r); ok && p.Role == auth.RoleParent {
		n.FiledBy, actor = p.ID, p.ID
	}
	c, code, err := s.Complaints.File(r.Context(), n, time.Now())
	switch {
	case errors.Is(err, complaints.ErrChallengeUsed):
		writeError(w, http.StatusConflict, "challenge_used", "this challenge was already used: reload the form")
		return
	case errors.Is(err, complaints.ErrTooMany):
		w.Header().Set("Retry-After", "3600")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many complaints from this address in the last hour")
		return
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.internal(w, "file complaint", err)
		return
	}
	s.audit(r.Context(), auth.AuditEntry{Actor: actor, Action: "complaint_file", CanteenID: c.CanteenID,
		Detail: fmt.Sprintf("complaint %d (%s)", c.ID, c.Category)})
	writeJSON(w, http.StatusCreated, map[string]any{"code": code, "state": c.State, "received_at": c.ReceivedAt,
		"accept_due": c.AcceptDue, "reply_due": c.ReplyDue})
}

// optionalPrincipal is the principal of the request's bearer token or
// session when it carries a valid one; a public route goes on without.
func (s *Server) optionalPrincipal(r *http.Request) (Principal, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		t, err := s.Auth.TokenBySecret(r.Context(), tok)
		if err != nil {
			return Principal{}, false
		}
		return principalOfToken(t), true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, false
	}
	u, err := s.Auth.SessionUser(r.Context(), c.Value)
	if err != nil {
		return Principal{}, false
	}
	return principalOfUser(u), true
}

// publicTicket is what the holder of a ticket's code reads.
type publicTicket struct {
	CanteenName  string    `json:"canteen_name"`
	Category     string    `json:"category"`
	Text         string    `json:"text"`
	State        string    `json:"state"`
	ReceivedAt   time.Time `json:"received_at"`
	AcceptDue    time.Time `json:"accept_due"`
	ReplyDue     time.Time `json:"reply_due"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	RepliedAt    time.Time `json:"replied_at,omitzero"`
	Reply        string    `json:"reply,omitempty"`
	RejectedAt   time.Time `json:"rejected_at,omitzero"`
	RejectReason string    `json:"reject_reason,omitempty"`
}

// lookupComplaint answers a ticket's state and reply to whoever holds its
// code (POST {"code"}: the code stays out of URLs and logs).
func (s *Server) lookupComplaint(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, "lookup") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	var req struct {
		Code string `json:"code"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	c, err := s.Complaints.ByCode(r.Context(), req.Code, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no ticket with this code")
		return
	} else if err != nil {
		s.internal(w, "look up complaint", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, publicTicket{CanteenName: c.CanteenName, Category: c.Category, Text: c.Text, State: c.State,
		ReceivedAt: c.ReceivedAt, AcceptDue: c.AcceptDue, ReplyDue: c.ReplyDue, AcceptedAt: c.AcceptedAt,
		RepliedAt: c.RepliedAt, Reply: c.Reply, RejectedAt: c.RejectedAt, RejectReason: c.RejectReason})
}

// forViewer blanks what p may not see of a ticket: the filer's contact
// and who filed it are the regulators'.
func forViewer(p Principal, c complaints.Complaint) complaints.Complaint {
	if !p.Can(PermComplaintHandle) {
		c.Contact, c.FiledBy = "", ""
	}
	return c
}

func (s *Server) listComplaints(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	q := r.URL.Query()
	f := complaints.Filter{Scope: p.Scope(), CanteenID: q.Get("canteen_id"), State: q.Get("state"),
		Open: q.Get("open") == "1" || q.Get("open") == "true"}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), 1, store.MaxLimit); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "limit: "+err.Error())
		return
	}
	cs, err := s.Complaints.List(r.Context(), f, time.Now())
	if err != nil {
		s.internal(w, "list complaints", err)
		return
	}
	for i := range cs {
		cs[i] = forViewer(p, cs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"complaints": cs})
}

// complaintInScope loads the path's ticket and checks p may see it.
func (s *Server) complaintInScope(w http.ResponseWriter, r *http.Request) (complaints.Complaint, Principal, bool) {
	p, _ := PrincipalOf(r.Context())
	id, ok := pathID(w, r, "id", "complaint")
	if !ok {
		return complaints.Complaint{}, p, false
	}
	c, err := s.Complaints.Get(r.Context(), id, time.Now())
	return c, p, s.recordInScope(w, p, "complaint", id, err, c.CanteenID, c.District)
}

type complaintDetail struct {
	complaints.Complaint
	History []complaints.HistoryEntry `json:"history"`
}

func (s *Server) complaintDetail(w http.ResponseWriter, r *http.Request, p Principal, c complaints.Complaint) {
	h, err := s.Complaints.History(r.Context(), c.ID)
	if err != nil {
		s.internal(w, "complaint history", err)
		return
	}
	writeJSON(w, http.StatusOK, complaintDetail{Complaint: forViewer(p, c), History: h})
}

func (s *Server) getComplaint(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.complaintInScope(w, r)
	if ok {
		s.complaintDetail(w, r, p, c)
	}
}

func (s *Server) complaintPhoto(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.complaintInScope(w, r)
	if !ok {
		return
	}
	b, typ, err := s.Complaints.Photo(r.Context(), c.ID)
	if errors.Is(err, store.ErrExpired) {
		writeError(w, http.StatusGone, "expired", "the photo was deleted by the retention policy")
		return
	} else if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no photo")
		return
	} else if err != nil {
		s.internal(w, "complaint photo", err)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(b)
}

// complaintStep is a regulator's step: accept, handle, reply or reject,
// with {"note"} (the record, the reply, the reason).
func (s *Server) complaintStep(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.complaintInScope(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	var req struct {
		Note string `json:"note"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	c, err := s.Complaints.Step(r.Context(), c.ID, action, p.ID, req.Note, time.Now())
	if s.workflowError(w, "complaint "+action, err) {
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "complaint_" + action, CanteenID: c.CanteenID,
		Detail: fmt.Sprintf("complaint %d: %s", c.ID, req.Note)})
	s.complaintDetail(w, r, p, c)
}

// complaintAccount records the canteen's account ({"text"}).
func (s *Server) complaintAccount(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.complaintInScope(w, r)
	if !ok {
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	c, err := s.Complaints.OperatorAccount(r.Context(), c.ID, p.ID, req.Text, time.Now())
	if s.workflowError(w, "complaint account", err) {
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "complaint_account", CanteenID: c.CanteenID,
		Detail: fmt.Sprintf("complaint %d: %s", c.ID, req.Text)})
	s.complaintDetail(w, r, p, c)
}

// ComplaintURL is the form's address for canteen, on the fleet at base
// ("https://host").
func ComplaintURL(base, canteen string) string {
	return base + "/complain?canteen=" + url.QueryEscape(canteen)
}

// complaintQR is the dining-hall poster's QR code (PNG) of the canteen's
// complaint form, at the address the request reached the fleet at.
func (s *Server) complaintQR(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.canteenInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	scheme := "http"
	if r.TLS != nil || s.SecureCookies {
		scheme = "https"
	}
	png, err := qrcode.Encode(ComplaintURL(scheme+"://"+r.Host, c.ID), qrcode.Medium, 512)
	if err != nil {
		s.internal(w, "make QR code", err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(png)
}
