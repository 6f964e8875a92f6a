package api

import (
	"cmp"
	"net/http"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/web"
)

// Timeouts of the fleet's HTTP server; the zero value of each is its
// default. Nothing the fleet serves streams (WHEP and WHIP signalling is
// one short request each, media go over UDP), so one write timeout holds
// for every route.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (default 10 s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (default 60 s:
	// an 8 MiB photo at 1.2 Mbit/s).
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the
	// end of the response (default 60 s).
	Write time.Duration
	// Idle is how long a keep-alive connection waits for its next
	// request (default 120 s).
	Idle time.Duration
}

// Default timeouts.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// NewHTTPServer is the http.Server for h with the timeouts t.
func NewHTTPServer(h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(t.ReadHeader, DefaultReadHeaderTimeout),
		ReadTimeout:       cmp.Or(t.Read, DefaultReadTimeout),
		WriteTimeout:      cmp.Or(t.Write, DefaultWriteTimeout),
		IdleTimeout:       cmp.Or(t.Idle, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
	}
}

// harden wraps every route: the security headers on every response (the
// Content-Security-Policy web.CSP) and a
// cap on every request body (MaxBody unless bodyLimit names a larger one
// for the route).
func harden(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", web.CSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		}
		h.ServeHTTP(w, r)
	})
}

// bodyLimit is the largest body r's route takes: MaxRectification for a
// rectification (a photo), MaxImport for the canteen CSV import,
// registry.MaxLogUploadBytes for a gateway's log upload,
// MaxReleaseBody for a release (the handler holds it to --release-max),
// MaxComplaintBody for a complaint, MaxBody
// for the rest. Handlers may cap lower.
func bodyLimit(r *http.Request) int64 {
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/gateways/") && strings.Contains(r.URL.Path, "/logs/"):
		return registry.MaxLogUploadBytes
	case r.Method != http.MethodPost:
	case strings.HasPrefix(r.URL.Path, "/api/v1/violations/") && strings.HasSuffix(r.URL.Path, "/rectification"):
		return MaxRectification
	case r.URL.Path == "/api/v1/canteens/import":
		return MaxImport
	case r.URL.Path == "/api/v1/releases":
		return MaxReleaseBody
	case r.URL.Path == "/api/v1/complaints": // complaints: a photo
		return MaxComplaintBody
	}
	return MaxBody
}
