package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// Public kitchens (网络厨房): anyone, with no login, may watch the cameras
// a canteen published to everyone (registry.AudienceEveryone) inside the
// canteen's viewing windows (the parents' windows: one timetable per
// canteen). The anonymous viewer is a principal of its own role,
// RoleAnonymous, that the routes of live view admit when a request
// carries no credentials at all (authorizeOrAnonymous); the one access
// check, watchable, decides what it may watch, as it does for everyone
// else. Anonymous views are capped per canteen
// (Server.MaxPublicViewers), their requests rate-limited per client
// address (Server.PublicViewsPerMinute), and counted (metrics, and each
// camera's public_viewers in the canteen's camera list), not audited one
// by one: the audit log holds who watched, and an anonymous viewer is
// nobody in particular.

// RoleAnonymous is the role of a request without credentials on the
// routes that admit one (live view of cameras published to everyone). It
// is in no permission of the table.
const RoleAnonymous = "anonymous"

// anonymous is the principal of such a request.
var anonymous = Principal{ID: "anonymous", Role: RoleAnonymous, User: "anonymous", login: "anonymous"}

// Public viewing defaults.
const (
	// DefaultMaxPublicViewers caps the anonymous views of one canteen's
	// cameras at once when Server.MaxPublicViewers is 0.
	DefaultMaxPublicViewers = 200
	// DefaultPublicViewsPerMinute caps the anonymous live view requests
	// (WHEP offers) from one client address in a minute when
	// Server.PublicViewsPerMinute is 0.
	DefaultPublicViewsPerMinute = 20
)

// authorizeOrAnonymous is authorize for the live-view routes: a request
// with no bearer token and no session cookie goes on as the anonymous
// principal (the handler's watchable decides); one with credentials is
// judged by them, as by authorize.
func (s *Server) authorizeOrAnonymous(h http.HandlerFunc, perm Permission) http.Handler {
	authed := s.authorize(h, perm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			authed.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			authed.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, anonymous)))
	})
}

// publicViewers counts the anonymous views per canteen and camera, and
// the anonymous view requests per client address in the last minute.
type publicViewers struct {
	mu       sync.Mutex
	canteens map[string]int
	cameras  map[string]int
	starts   map[string][]time.Time // address → its requests in the window
	swept    time.Time

	metricsOnce sync.Once
	viewers     prometheus.Gauge
	started     prometheus.Counter
	refused     *prometheus.CounterVec
}

// publicWindow is the rate limiter's window.
const publicWindow = time.Minute

// allow records a view request from addr at now, or says how long until
// the address may ask again (its perMinute requests of the window used).
func (pv *publicViewers) allow(now time.Time, addr string, perMinute int) (retry time.Duration, ok bool) {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if pv.starts == nil {
		pv.starts = map[string][]time.Time{}
	}
	if len(pv.starts) > maxLimiterKeys && now.Sub(pv.swept) > publicWindow/4 {
		pv.swept = now
		for a, ts := range pv.starts {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= publicWindow {
				delete(pv.starts, a)
			}
		}
	}
	ts := pv.starts[addr]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= publicWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) >= perMinute {
		pv.starts[addr] = ts
		return publicWindow - now.Sub(ts[0]), false
	}
	if _, known := pv.starts[addr]; !known && len(pv.starts) > maxLimiterKeys {
		// Full of addresses after the sweep: refuse newcomers rather
		// than grow without bound.
		return publicWindow / 4, false
	}
	pv.starts[addr] = append(ts, now)
	return 0, true
}

// reserve takes a place for an anonymous view of camera (its key) of
// canteen, false when the canteen has limit anonymous views already.
func (pv *publicViewers) reserve(canteen, camera string, limit int) bool {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if pv.canteens == nil {
		pv.canteens, pv.cameras = map[string]int{}, map[string]int{}
	}
	if pv.canteens[canteen] >= limit {
		return false
	}
	pv.canteens[canteen]++
	pv.cameras[camera]++
	return true
}

func (pv *publicViewers) release(canteen, camera string) {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if pv.canteens[canteen]--; pv.canteens[canteen] <= 0 {
		delete(pv.canteens, canteen)
	}
	if pv.cameras[camera]--; pv.cameras[camera] <= 0 {
		delete(pv.cameras, camera)
	}
}

// onCamera is the anonymous views of camera (its key) now.
func (pv *publicViewers) onCamera(camera string) int {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.cameras[camera]
}

func (pv *publicViewers) metrics() {
	pv.metricsOnce.Do(func() {
		pv.viewers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "bk_fleet_public_viewers",
			Help: "Anonymous live views (cameras published to everyone) now."})
		pv.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "bk_fleet_public_views_total",
			Help: "Anonymous live views started."})
		pv.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bk_fleet_public_views_refused_total",
			Help: "Anonymous live view requests refused, by reason: rate_limited, public_cap, outside_window, not_published."},
			[]string{"reason"})
	})
}

// PublicCollectors are the public viewing's metrics, for the fleet's
// Prometheus registry (fleet/core registers them).
func (s *Server) PublicCollectors() []prometheus.Collector {
	s.public.metrics()
	return []prometheus.Collector{s.public.viewers, s.public.started, s.public.refused}
}

// refusePublic counts a refused anonymous request.
func (s *Server) refusePublic(reason string) {
	s.public.metrics()
	s.public.refused.WithLabelValues(reason).Inc()
}

// startAnonymous starts an anonymous view (start: the relay's WHEP or
// HLSStart) of a camera watchable has let through: within the canteen's
// cap of anonymous views.
func (s *Server) startAnonymous(w http.ResponseWriter, r *http.Request, home registry.CameraHome, v live.Viewer,
	start func(http.ResponseWriter, *http.Request, string, live.Viewer)) {
	s.public.metrics()
	limit := cmp.Or(s.MaxPublicViewers, DefaultMaxPublicViewers)
	if !s.public.reserve(home.CanteenID, home.Key(), limit) {
		s.refusePublic("public_cap")
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, "public_cap",
			fmt.Sprintf("%d visitors are watching this kitchen already: try again later", limit))
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	start(rec, r, home.Key(), v)
	if rec.status != http.StatusCreated && rec.status != http.StatusFound {
		s.public.release(home.CanteenID, home.Key())
		return
	}
	s.public.started.Inc()
	s.public.viewers.Inc()
}

// publicRateLimited answers 429 when the client address has asked for
// too many anonymous views in the last minute; true when it has answered.
func (s *Server) publicRateLimited(w http.ResponseWriter, r *http.Request) bool {
	per := cmp.Or(s.PublicViewsPerMinute, DefaultPublicViewsPerMinute)
	retry, ok := s.public.allow(time.Now(), clientAddr(r), per)
	if ok {
		return false
	}
	s.refusePublic("rate_limited")
	w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
	writeError(w, http.StatusTooManyRequests, "rate_limited",
		fmt.Sprintf("more than %d live view requests a minute from your address: try again later", per))
	return true
}
