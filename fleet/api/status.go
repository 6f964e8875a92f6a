package api

import (
	_ "embed"
	"net/http"
)

//go:embed status.html
var statusHTML []byte

// statusPage is the plain status page until the web UI arrives: static
// HTML that calls the API with the token given in the URL fragment
// (#token=...) or typed in, kept in the browser's localStorage.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(statusHTML)
}
