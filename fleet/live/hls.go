package live

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// HLS sessions. An HLS viewer is a viewer: HLSStart reserves a place
// under the same caps as WHEP (MaxViewersPerCamera, MaxViewersPerCanteen),
// starts the camera's upstream on demand and waits for its first keyframe
// (StartTimeout) as WHEP does, then registers a session whose id is a
// capability in the URL, /hls/{camera}/{session}/…: the playlists and
// segments are fetched without credentials (a native HLS player cannot
// send a bearer token), the session id being 128 random bits. The session
// ends on DELETE, at Viewer.Until, after ViewerTTL, by EndViewers, or once
// it has made no request for Config.HLSIdle; OnViewerEnd is called as for
// WHEP. All HLS sessions of a camera read one muxer (hlsmux.go), made
// with the first and closed with the last.

const (
	// maxHLSInflight bounds one session's requests in flight (LL-HLS
	// blocking playlist reloads and preload hints wait in the muxer for
	// the next part); one more is refused with 429.
	maxHLSInflight = 8
	// maxHLSFileName bounds the file name of a session request.
	maxHLSFileName = 96
)

// hlsSession is the HLS side of a viewer.
type hlsSession struct {
	lastSeen atomic.Int64 // the last request, on the relay's clock
	inflight atomic.Int32
}

// HLSPath is the URL path of an HLS session's multivariant playlist.
func HLSPath(cameraID, session string) string {
	return "/hls/" + url.PathEscape(cameraID) + "/" + session + "/index.m3u8"
}

// HLSStart starts an HLS viewer session for cameraID, which the caller has
// authorized v to watch. POST answers 201 with the playlist's path in
// Location and {"session", "playlist"}; GET (a player given the bare
// /hls/{camera}/index.m3u8) answers 302 to it. Refusals are those of WHEP:
// 429 over a cap, 504 when the camera sends no keyframe in time, 502 when
// its gateway cannot be asked. Errors are JSON {"error", "code"}.
func (r *Relay) HLSStart(w http.ResponseWriter, req *http.Request, cameraID string, who Viewer) {
	if err := r.hlsStart(w, req, cameraID, who); err != nil {
		code := writeError(w, err)
		r.m.rejected.WithLabelValues(code).Inc()
		r.log.Debug("HLS refused", "camera_id", cameraID, "principal", who.Principal, "code", code, "err", err)
	}
}

func (r *Relay) hlsStart(w http.ResponseWriter, req *http.Request, cameraID string, who Viewer) error {
	if req.Method != http.MethodPost && req.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		return fmt.Errorf("%w: %s", ErrMethod, req.Method)
	}
	if cameraID == "" {
		return fmt.Errorf("%w: empty camera id", ErrNotFound)
	}
	c, err := r.reserve(cameraID, who)
	if err != nil {
		return err
	}
	r.ensureStarted(c)
	if err := r.waitReady(req.Context(), c); err != nil {
		r.unreserve(c, who)
		return err
	}
	v := &viewer{r: r, cam: c, id: rand.Text(), who: who, hls: &hlsSession{}}
	v.hls.lastSeen.Store(r.clock())
	if err := r.register(v); err != nil {
		r.unreserve(c, who)
		return err
	}
	r.log.Info("HLS viewer joined", "camera_id", cameraID, "viewer", v.id, "principal", who.Principal, "role", who.Role)
	playlist := HLSPath(cameraID, v.id)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Location", playlist)
	if req.Method == http.MethodGet {
		w.WriteHeader(http.StatusFound)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(struct {
		Session  string `json:"session"`
		Playlist string `json:"playlist"`
	}{v.id, playlist})
	return nil
}

// HLSServe serves GET /hls/{cameraID}/{session}/{file}: the session's
// playlists, init file, segments and parts (LL-HLS: blocking playlist
// reloads and preload hints wait for the next part). The session
// id authorizes the request; an unknown or ended session is 404, and so is
// a file the muxer does not have. Each request keeps the session alive.
func (r *Relay) HLSServe(w http.ResponseWriter, req *http.Request, cameraID, session, file string) {
	if err := r.hlsServe(w, req, cameraID, session, file); err != nil {
		r.m.rejected.WithLabelValues(writeError(w, err)).Inc()
	}
}

func (r *Relay) hlsServe(w http.ResponseWriter, req *http.Request, cameraID, session, file string) error {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, DELETE")
		return fmt.Errorf("%w: %s", ErrMethod, req.Method)
	}
	if !validHLSFile(file) {
		return fmt.Errorf("%w: %q", ErrHLSFile, file)
	}
	r.mu.Lock()
	v := r.sessions[session]
	var m *hlsMuxer
	if v != nil && v.hls != nil && v.cam.id == cameraID && !v.removed {
		m = v.cam.hls
	}
	r.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w: HLS session %q of camera %q", ErrNotFound, session, cameraID)
	}
	s := v.hls
	s.lastSeen.Store(r.clock())
	if s.inflight.Add(1) > maxHLSInflight {
		s.inflight.Add(-1)
		return fmt.Errorf("%w (%d)", ErrHLSBusy, maxHLSInflight)
	}
	defer func() {
		s.inflight.Add(-1)
		s.lastSeen.Store(r.clock())
	}()
	if !m.enter() {
		return fmt.Errorf("%w: the HLS muxer of camera %q is closing", ErrNotFound, cameraID)
	}
	defer m.leave()
	if err := m.waitStarted(req.Context(), r.cfg.StartTimeout); err != nil {
		return err
	}
	rec := &writeTracker{ResponseWriter: w}
	m.mux.Handle(rec, req)
	if !rec.wrote {
		// gohlslib answers a name it does not know with nothing at all.
		return fmt.Errorf("%w: %q", ErrHLSFile, file)
	}
	return nil
}

// HLSDelete ends the HLS session of DELETE /hls/{cameraID}/{session}.
func (r *Relay) HLSDelete(w http.ResponseWriter, req *http.Request, cameraID, session string) {
	if req.Method != http.MethodDelete {
		w.Header().Set("Allow", "DELETE")
		r.m.rejected.WithLabelValues(writeError(w, fmt.Errorf("%w: %s", ErrMethod, req.Method))).Inc()
		return
	}
	r.mu.Lock()
	v := r.sessions[session]
	r.mu.Unlock()
	if v == nil || v.cam.id != cameraID || v.hls == nil {
		r.m.rejected.WithLabelValues(writeError(w, fmt.Errorf("%w: HLS session %q of camera %q", ErrNotFound, session, cameraID))).Inc()
		return
	}
	r.removeViewer(v, reasonDeleted)
	w.WriteHeader(http.StatusOK)
}

// hlsIdleCheck ends v if it has made no request for Config.HLSIdle, and
// looks again later otherwise. It runs on v's timer.
func (r *Relay) hlsIdleCheck(v *viewer) {
	r.mu.Lock()
	if v.removed {
		r.mu.Unlock()
		return
	}
	idle := time.Duration(r.clock() - v.hls.lastSeen.Load())
	if idle < r.cfg.HLSIdle || v.hls.inflight.Load() > 0 {
		v.connectTimer.Reset(max(r.cfg.HLSIdle-idle, time.Second))
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.removeViewer(v, reasonIdle)
}

// validHLSFile reports whether name could be a file of gohlslib's muxer:
// letters, digits, '_', '-' and '.', ending in .m3u8 or .mp4.
func validHLSFile(name string) bool {
	if len(name) == 0 || len(name) > maxHLSFileName || name[0] == '.' {
		return false
	}
	for _, ch := range []byte(name) {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '_', ch == '-', ch == '.':
		default:
			return false
		}
	}
	n := len(name)
	return (n > 5 && name[n-5:] == ".m3u8") || (n > 4 && name[n-4:] == ".mp4")
}

// writeTracker records whether a handler wrote anything.
type writeTracker struct {
	http.ResponseWriter
	wrote bool
}

func (t *writeTracker) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *writeTracker) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}
