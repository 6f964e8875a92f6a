package camsim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ControlHandler returns an HTTP API to drive the server from outside its
// process, for flap tests:
//
//	GET  /paths               the paths, as a JSON list of PathInfo
//	POST /paths/{name}/stop   StopPath(name)
//	POST /paths/{name}/start  StartPath(name)
//
// It answers 204 on success, 404 for an unknown path and 503 when the
// server is not running. Serve it on loopback only: it has no
// authentication.
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /paths", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Paths())
	})
	mux.HandleFunc("POST /paths/{name}/stop", func(w http.ResponseWriter, r *http.Request) {
		controlReply(w, s.StopPath(r.PathValue("name")))
	})
	mux.HandleFunc("POST /paths/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		controlReply(w, s.StartPath(r.PathValue("name")))
	})
	return mux
}

func controlReply(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrUnknownPath):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrNotStarted):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
