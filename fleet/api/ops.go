package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// The remote operations (SPEC.md §4, "Remote operations"): commands to a
// gateway from its page, their history, the logs a gateway uploads and
// the pictures it takes on request. An admin may send any command; an
// operator, to the gateways of its canteens, the opsCommands; a
// regulator sees the history of its districts' gateways.

// opsCommands are the commands PermGatewayOps allows (others need
// PermGatewayManage).
var opsCommands = []string{wire.CmdPing, wire.CmdRestart, wire.CmdReboot, wire.CmdLogsUpload, wire.CmdSnapshot, wire.CmdCameraProbe,
	wire.CmdCameraConfig}

// gatewayInScope loads gateway id and checks the principal may see it; it
// has answered when ok is false. Those with a narrower scope than admin
// get 403 for a gateway that does not exist, so ids cannot be probed.
func (s *Server) gatewayInScope(w http.ResponseWriter, r *http.Request, id string) (registry.Gateway, Principal, bool) {
	p, _ := PrincipalOf(r.Context())
	g, err := s.Registry.Gateway(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, "get gateway", err)
		return g, p, false
	}
	found := err == nil
	if found && p.Role != auth.RoleAdmin {
		district := ""
		if g.CanteenID != "" {
			if c, err := s.Registry.Canteen(r.Context(), g.CanteenID); err == nil {
				district = c.District
			}
		}
		found = p.InScope(g.CanteenID, district)
	}
	if !found {
		if p.Role == auth.RoleAdmin {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no gateway %q", id))
		} else {
			refuse(w, "gateway "+id)
		}
		return g, p, false
	}
	return g, p, true
}

func (s *Server) sendCommand(w http.ResponseWriter, r *http.Request) {
	g, p, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	var req commandRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name: required")
		return
	}
	if !p.Can(PermGatewayManage) && !slices.Contains(opsCommands, req.Name) {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %s may send only %s", p.Role, strings.Join(opsCommands, ", ")))
		return
	}
	if req.TTL <= 0 {
		req.TTL = 60
	}
	ttl := time.Duration(req.TTL) * time.Second
	cmdID := ulid.Make().String()
	args := any(req.Args)
	switch req.Name {
	case wire.CmdSnapshot:
		if _, err := wire.DecodeSnapshotArgs(req.Args); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "args: "+err.Error())
			return
		}
	case wire.CmdCameraConfig:
		if _, err := wire.DecodeCameraEdit(req.Args); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "args: "+err.Error())
			return
		}
	case wire.CmdLogsUpload:
		var a struct {
			MaxBytes int64 `json:"max_bytes"`
		}
		if len(req.Args) > 0 {
			if err := json.Unmarshal(req.Args, &a); err != nil || a.MaxBytes < 0 || a.MaxBytes > wire.MaxLogUpload {
				writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("args: want {max_bytes: 0 to %d}", wire.MaxLogUpload))
				return
			}
		}
		u, token, err := s.Registry.NewLogUpload(r.Context(), g.ID, cmdID, p.ID, time.Now())
		if err != nil {
			s.internal(w, "new log upload", err)
			return
		}
		args = wire.LogsUpload{URL: s.publicURL(r) + "/api/v1/gateways/" + g.ID + "/logs/" + u.ID, Token: token, MaxBytes: a.MaxBytes}
		ttl = min(ttl, registry.LogUploadTTL)
	}
	cmd, err := s.command(r.Context(), g.ID, cmdID, req.Name, args, ttl)
	req.Args = cmd.Args
	s.auditCommand(r, g.ID, req, cmd, err)
	if errors.Is(err, errNoMQTT) || errors.Is(err, errPublish) {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	} else if err != nil {
		s.internal(w, "send command", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"cmd_id": cmd.CmdID, "status": "sent"})
}

// publicURL is the fleet's address as gateways reach it: PublicURL, or
// the request's own.
func (s *Server) publicURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host
}

// redactArgs blanks the values of secret-looking keys (a logs.upload's
// token, a live.start's) in a command's args shown back.
func redactArgs(raw json.RawMessage) json.RawMessage {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return raw
	}
	changed := false
	for k := range m {
		if lk := strings.ToLower(k); strings.Contains(lk, "token") || strings.Contains(lk, "password") || strings.Contains(lk, "secret") {
			m[k], changed = "…", true
		} else if lk == "url" {
			if r := redactDownloadURL(m[k]); r != m[k] {
				m[k], changed = r, true
			}
		}
	}
	if !changed {
		return raw
	}
	b, _ := json.Marshal(m)
	return b
}

// listCommands is a gateway's command history, newest first (?limit,
// default 50).
func (s *Server) listCommands(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		if _, err := fmt.Sscan(v, &limit); err != nil || limit <= 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit: want a positive number")
			return
		}
	}
	cs, err := s.Registry.Cmds(r.Context(), g.ID, limit)
	if err != nil {
		s.internal(w, "list commands", err)
		return
	}
	for i := range cs {
		cs[i].Args = redactArgs(cs[i].Args)
	}
	writeJSON(w, http.StatusOK, map[string]any{"commands": cs})
}

func (s *Server) getCommand(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	c, err := s.Registry.Cmd(r.Context(), r.PathValue("cmd"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.GatewayID != g.ID) {
		writeError(w, http.StatusNotFound, "not_found", "no such command for this gateway")
		return
	} else if err != nil {
		s.internal(w, "get command", err)
		return
	}
	c.Args = redactArgs(c.Args)
	writeJSON(w, http.StatusOK, c)
}

// uploadLogs takes a gateway's gzipped log (PUT, the logs.upload
// command's one-time token as the bearer token). Not a user's route: the
// token is its only credential.
func (s *Server) uploadLogs(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized", "the logs.upload command's token is required")
		return
	}
	if r.ContentLength > registry.MaxLogUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", registry.MaxLogUploadBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, registry.MaxLogUploadBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
		return
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		writeError(w, http.StatusBadRequest, "bad_request", "body: want gzip")
		return
	}
	err = s.Registry.StoreLogUpload(r.Context(), r.PathValue("id"), r.PathValue("upload"), token, body, time.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "unauthorized", "no such upload, or a wrong token")
	case errors.Is(err, registry.ErrTokenUsed):
		writeError(w, http.StatusGone, "gone", err.Error())
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case err != nil:
		s.internal(w, "store log upload", err)
	default:
		writeJSON(w, http.StatusCreated, map[string]any{"bytes": len(body)})
	}
}

// listLogs lists a gateway's log uploads.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	us, err := s.Registry.LogUploads(r.Context(), g.ID)
	if err != nil {
		s.internal(w, "list log uploads", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uploads": us})
}

// downloadLogs serves one upload's gzip, as a download; audited.
func (s *Server) downloadLogs(w http.ResponseWriter, r *http.Request) {
	g, p, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	id := r.PathValue("upload")
	data, err := s.Registry.LogUploadData(r.Context(), g.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such upload, or it has not arrived")
		return
	} else if err != nil {
		s.internal(w, "get log upload", err)
		return
	}
	s.auditAs(r.Context(), p, auth.AuditEntry{Action: "logs_download", CanteenID: g.CanteenID,
		Detail: fmt.Sprintf("gateway %s: %s (%d bytes)", g.ID, id, len(data))})
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.log.gz"`, g.ID, id))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}

// gatewaySnapshot serves the JPEG of a gateway's event (a snapshot
// command's answer names it).
func (s *Server) gatewaySnapshot(w http.ResponseWriter, r *http.Request) {
	g, _, ok := s.gatewayInScope(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	jpeg, err := s.Registry.GatewaySnapshot(r.Context(), g.ID, r.PathValue("event"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such snapshot, or it has not arrived")
		return
	} else if err != nil {
		s.internal(w, "get snapshot", err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(jpeg)
}

// gatewayAlarms lists the open gateway-level alarms (offline, disk,
// temperature) of the gateways in the principal's scope: the regulator
// sees what the operators were told.
func (s *Server) gatewayAlarms(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalOf(r.Context())
	var canteens []string
	if sc := p.Scope(); sc.Districts != nil || sc.Canteens != nil {
		cs, err := s.Registry.ListCanteens(r.Context(), registry.CanteenFilter{Scope: sc})
		if err != nil {
			s.internal(w, "list canteens", err)
			return
		}
		canteens = []string{}
		for _, c := range cs {
			canteens = append(canteens, c.ID)
		}
	}
	as, err := s.Alarms.GatewayAlarms(r.Context(), canteens)
	if err != nil {
		s.internal(w, "gateway alarms", err)
		return
	}
	if as == nil {
		as = []alarms.GatewayAlarm{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alarms": as})
}
