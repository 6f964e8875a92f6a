package api

import (
	"net/http"
)

// HLS (issue 15): the player's fallback for browsers without WebRTC.
// A view starts like a WHEP view (startView: watchable, the parents' caps,
// the relay's caps and on-demand start) with POST /hls/{camera}, answered
// 201 with the session's playlist in Location, or GET
// /hls/{camera}/index.m3u8, answered 302 to it (a native player given the
// bare URL with the session cookie). The session's files,
// /hls/{camera}/{session}/{file}, are served on the session id alone (a
// native HLS player cannot send a bearer token; the id is 128 random
// bits), and DELETE /hls/{camera}/{session} ends it. RecheckViewers and
// the audit log treat an HLS view as any other live view.

// hlsStart starts an HLS view: startView with the relay's HLSStart.
func (s *Server) hlsStart(w http.ResponseWriter, r *http.Request) {
	s.startView(w, r, s.Live.HLSStart)
}

// hlsServe serves a file of an HLS session; the relay checks the session.
func (s *Server) hlsServe(w http.ResponseWriter, r *http.Request) {
	s.Live.HLSServe(w, r, r.PathValue("camera"), r.PathValue("session"), r.PathValue("file"))
}

// hlsDelete ends an HLS session (endView).
func (s *Server) hlsDelete(w http.ResponseWriter, r *http.Request) {
	s.endView(w, r, "HLS session", s.Live.HLSDelete)
}
