package setup

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/onvif"
)

// Enroller exchanges an enrolment code with the fleet at fleet (its web
// address) for the gateway's identity and credentials, writes them into
// its config and has the gateway restart to use them (package
// gateway/enrol, issue 14). The setup page takes a valid code as proof of
// the installer, like the setup password: a code the fleet accepts signs
// the browser in. Nil: the page offers the password only.
//
// Enrol returns ErrCodeRefused when the fleet refuses the code (counted
// as a wrong password), ErrEnrolled when the gateway has credentials
// already (a code would give it a second identity), and any other error
// for a fleet that cannot be reached or a config that cannot be written.
type Enroller interface {
	Enrol(ctx context.Context, fleet, code string) (Enrolled, error)
}

// Enrolled is what an accepted code made of the gateway.
type Enrolled struct {
	GatewayID string `json:"gateway_id"`
	CanteenID string `json:"canteen_id"`
}

// Errors an Enroller returns for the page to tell apart.
var (
	ErrCodeRefused = errors.New("the fleet did not accept this enrolment code")
	ErrEnrolled    = errors.New("this gateway is enrolled already: sign in with the setup password")
)

// Page is the setup page. Set the fields, call Init once, then Register.
type Page struct {
	// ConfigFile is the gateway's config file, which Save rewrites.
	// Required for saving; "" makes the page read-only.
	ConfigFile string
	// DataDir holds the password's hash and the password file. Required.
	DataDir string
	// Current returns the running config (its cameras are listed).
	Current func() config.Config
	// Apply applies a saved config's cameras without a restart.
	Apply func(config.Config) error
	// Discovery is how cameras are looked for (its Target from
	// http.onvif_discovery).
	Discovery onvif.Discovery
	// ProbeTimeout bounds one stream probe. Default 10s.
	ProbeTimeout time.Duration
	// Logger, default discard.
	Logger *slog.Logger
	// Now is the clock of sessions and rate limits. Default time.Now.
	Now func() time.Time

	limiter  limiter
	sessions sessions
	busy     chan struct{} // bounds discoveries and probes at once
	saveMu   sync.Mutex

	enrolMu  sync.Mutex
	enroller Enroller
}

// SetEnroller plugs in the enrolment step: from then on the page also
// signs in with an enrolment code the fleet accepts. Nil unplugs it.
func (p *Page) SetEnroller(e Enroller) {
	p.enrolMu.Lock()
	defer p.enrolMu.Unlock()
	p.enroller = e
}

func (p *Page) getEnroller() Enroller {
	p.enrolMu.Lock()
	defer p.enrolMu.Unlock()
	return p.enroller
}

// Init makes the setup password on first start: its hash and an
// owner-only file with it in DataDir, and the password printed once to
// the log (so to the console or the journal).
func (p *Page) Init() error {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.ProbeTimeout <= 0 {
		p.ProbeTimeout = 10 * time.Second
	}
	p.limiter = limiter{now: p.Now, fails: map[string][]time.Time{}}
	p.sessions = sessions{now: p.Now, m: map[string]time.Time{}}
	p.busy = make(chan struct{}, 2)
	pw, err := ensurePassword(p.DataDir)
	if err != nil {
		return fmt.Errorf("setup password: %w", err)
	}
	if pw != "" {
		p.Logger.Warn("setup password made: sign in to the setup page with it (shown once; also in the file)",
			"password", pw, "file", p.DataDir+"/"+PasswordFile)
	}
	return nil
}

//go:embed web
var web embed.FS

// Register adds the page's routes under /setup to mux.
func (p *Page) Register(mux *http.ServeMux) {
	static := func(name, ctype string) http.HandlerFunc {
		b, err := web.ReadFile("web/" + name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		return func(w http.ResponseWriter, r *http.Request) {
			headers(w)
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(b)
		}
	}
	mux.HandleFunc("GET /setup", static("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /setup/{$}", static("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /setup/app.js", static("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /setup/app.css", static("app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("POST /setup/api/login", p.login)
	mux.HandleFunc("POST /setup/api/logout", p.logout)
	mux.HandleFunc("GET /setup/api/state", p.auth(p.state))
	mux.HandleFunc("POST /setup/api/discover", p.auth(p.discover))
	mux.HandleFunc("POST /setup/api/onvif", p.auth(p.streams))
	mux.HandleFunc("POST /setup/api/probe", p.auth(p.probe))
	mux.HandleFunc("PUT /setup/api/cameras/{id}", p.auth(p.saveCamera))
	mux.HandleFunc("DELETE /setup/api/cameras/{id}", p.auth(p.deleteCamera))
}

const cookieName = "bk_setup"

// headers are the security headers of every answer.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func reply(w http.ResponseWriter, status int, v any) {
	headers(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	reply(w, status, map[string]string{"error": msg, "code": code})
}

// sameOrigin refuses a state-changing request sent from another site's
// page (the cookie is SameSite=Strict as well).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == "http://"+r.Host || o == "https://"+r.Host
}

// readJSON decodes a body of at most 64 KiB into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(body).Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", "request body over 64 KiB")
		} else {
			fail(w, http.StatusBadRequest, "bad_json", "request body: "+err.Error())
		}
		return false
	}
	return true
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (p *Page) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil || !p.sessions.valid(c.Value) {
			fail(w, http.StatusUnauthorized, "signed_out", "sign in with the setup password")
			return
		}
		if r.Method != http.MethodGet && !sameOrigin(r) {
			fail(w, http.StatusForbidden, "cross_origin", "request from another site")
			return
		}
		h(w, r)
	}
}

func (p *Page) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		fail(w, http.StatusForbidden, "cross_origin", "request from another site")
		return
	}
	addr := clientAddr(r)
	if d := p.limiter.wait(addr); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
		fail(w, http.StatusTooManyRequests, "rate_limited", "too many wrong attempts; try again later")
		return
	}
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
		Fleet    string `json:"fleet"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var out any = map[string]bool{"signed_in": true}
	switch {
	case in.Password != "":
		hash, err := os.ReadFile(p.DataDir + "/" + HashFile)
		if err != nil {
			p.Logger.Error("setup password hash", "err", err)
			fail(w, http.StatusInternalServerError, "no_password", "the setup password is not set up")
			return
		}
		if len(in.Password) > 256 || !checkPassword(string(hash), in.Password) {
			p.limiter.fail(addr)
			p.Logger.Warn("setup sign-in refused", "from", addr)
			fail(w, http.StatusUnauthorized, "bad_password", "wrong setup password")
			return
		}
	case in.Code != "":
		enroller := p.getEnroller()
		if enroller == nil {
			fail(w, http.StatusNotImplemented, "enrol_unavailable", "this gateway cannot enrol with a code; use the setup password")
			return
		}
		if in.Fleet == "" || len(in.Fleet) > 512 || len(in.Code) > 64 {
			fail(w, http.StatusBadRequest, "missing_fleet", "the fleet's web address (at most 512 characters) and the code are required")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		e, err := enroller.Enrol(ctx, in.Fleet, in.Code)
		switch {
		case errors.Is(err, ErrCodeRefused):
			p.limiter.fail(addr)
			p.Logger.Warn("setup enrolment refused", "from", addr, "err", err)
			fail(w, http.StatusUnauthorized, "bad_code", ErrCodeRefused.Error())
			return
		case errors.Is(err, ErrEnrolled):
			fail(w, http.StatusConflict, "enrolled", ErrEnrolled.Error())
			return
		case err != nil:
			p.Logger.Warn("setup enrolment failed", "from", addr, "err", err)
			fail(w, http.StatusBadGateway, "enrol_failed", err.Error())
			return
		}
		// The gateway restarts into its new identity, and this session
		// (in memory) goes with it: the installer signs in again with the
		// setup password, shown here to the holder of a valid code.
		pw, _ := os.ReadFile(p.DataDir + "/" + PasswordFile)
		p.Logger.Info("enrolled from the setup page", "from", addr, "gateway_id", e.GatewayID, "canteen_id", e.CanteenID)
		out = map[string]any{"signed_in": true, "enrolled": e, "restarting": true, "password": strings.TrimSpace(string(pw))}
	default:
		fail(w, http.StatusBadRequest, "missing", "password or code required")
		return
	}
	p.Logger.Info("setup signed in", "from", addr)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: p.sessions.add(), Path: "/setup",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL.Seconds())})
	reply(w, http.StatusOK, out)
}

func (p *Page) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		p.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/setup", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	reply(w, http.StatusOK, map[string]bool{"signed_in": false})
}

// cameraView is a configured camera as the page shows it: URLs without
// their passwords.
type cameraView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	LiveURL   string   `json:"live_url,omitempty"`
	Area      string   `json:"area"`
	Public    bool     `json:"public"`
	Detectors []string `json:"detectors"`
}

func (p *Page) state(w http.ResponseWriter, r *http.Request) {
	cfg := p.Current()
	cams := []cameraView{}
	areas := []string{"rough_processing", "cooking", "washing", "serving", "storage", "cold_room", "pastry", "dish_washing"}
	for _, c := range cfg.Cameras {
		cams = append(cams, cameraView{ID: c.ID, Name: c.Name, URL: redact(c.URL), LiveURL: redact(c.LiveURL),
			Area: c.Area, Public: c.Public, Detectors: detectPlugins(c)})
		if c.Area != "" && !slices.Contains(areas, c.Area) {
			areas = append(areas, c.Area)
		}
	}
	plugins := []string{}
	for _, pl := range cfg.Plugins {
		plugins = append(plugins, pl.Name)
	}
	reply(w, http.StatusOK, map[string]any{
		"gateway_id": cfg.Gateway.ID, "cameras": cams, "plugins": plugins, "areas": areas,
		"can_save": p.ConfigFile != "", "enrol": p.getEnroller() != nil,
	})
}

// take reserves one of the slots for discoveries and probes.
func (p *Page) take(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case p.busy <- struct{}{}:
		return func() { <-p.busy }, true
	default:
		w.Header().Set("Retry-After", "2")
		fail(w, http.StatusServiceUnavailable, "busy", "another search or probe is running; try again in a moment")
		return nil, false
	}
}

func (p *Page) discover(w http.ResponseWriter, r *http.Request) {
	release, ok := p.take(w)
	if !ok {
		return
	}
	defer release()
	res, err := p.Discovery.Run(r.Context())
	if err != nil {
		fail(w, http.StatusBadGateway, "discovery_failed", err.Error())
		return
	}
	if res.Devices == nil {
		res.Devices = []onvif.Device{}
	}
	reply(w, http.StatusOK, res)
}

func (p *Page) streams(w http.ResponseWriter, r *http.Request) {
	var in struct {
		XAddr    string `json:"xaddr"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	release, ok := p.take(w)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	c := &onvif.Client{XAddr: in.XAddr, Username: in.Username, Password: in.Password}
	ps, err := c.Streams(ctx)
	switch {
	case errors.Is(err, onvif.ErrUnauthorized):
		fail(w, http.StatusBadGateway, "camera_auth", "the camera refused the user name or password")
		return
	case err != nil:
		fail(w, http.StatusBadGateway, "camera_error", err.Error())
		return
	}
	reply(w, http.StatusOK, map[string]any{"profiles": ps})
}

func (p *Page) probe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL      string `json:"url"`
		Username string `json:"username"`
		Password string `json:"password"`
		// Camera, instead of URL: probe a configured camera's stream.
		Camera string `json:"camera"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var u string
	if in.Camera != "" {
		cfg := p.Current()
		c, ok := cfg.Camera(in.Camera)
		if !ok {
			fail(w, http.StatusNotFound, "unknown_camera", fmt.Sprintf("camera %q is not configured", in.Camera))
			return
		}
		u = c.URL
	} else {
		var err error
		if u, err = withCredentials(in.URL, in.Username, in.Password); err != nil {
			fail(w, http.StatusBadRequest, "bad_url", "url: "+err.Error())
			return
		}
	}
	release, ok := p.take(w)
	if !ok {
		return
	}
	defer release()
	res, err := probeStream(r.Context(), u, p.ProbeTimeout)
	if err != nil {
		fail(w, http.StatusBadGateway, "probe_failed", fmt.Sprintf("%s: %v", redact(u), err))
		return
	}
	out := map[string]any{"codec": res.Codec, "width": res.Width, "height": res.Height, "fps": res.FPS}
	if res.JPEG != nil {
		out["preview"] = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(res.JPEG)
	} else {
		out["preview_error"] = res.PreviewError
	}
	reply(w, http.StatusOK, out)
}

func (p *Page) saveCamera(w http.ResponseWriter, r *http.Request) {
	var e CameraEdit
	if !readJSON(w, r, &e) {
		return
	}
	e.ID = r.PathValue("id")
	if !wire.ValidID(e.ID) {
		fail(w, http.StatusBadRequest, "bad_id", "id: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		return
	}
	cfg := p.Current()
	cur, exists := cfg.Camera(e.ID)
	p.edit(w, func(seq *yaml.Node) error { return upsert(seq, e, cur, exists) })
}

func (p *Page) deleteCamera(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.edit(w, func(seq *yaml.Node) error { return removeCamera(seq, id) })
}

// edit rewrites the config file's cameras with fn, validates and saves it
// atomically, and applies it.
func (p *Page) edit(w http.ResponseWriter, fn func(seq *yaml.Node) error) {
	if p.ConfigFile == "" {
		fail(w, http.StatusConflict, "read_only", "this gateway was started without a config file")
		return
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	doc, err := os.ReadFile(p.ConfigFile)
	if err != nil {
		fail(w, http.StatusInternalServerError, "read_config", err.Error())
		return
	}
	next, err := editDoc(doc, fn)
	if err == nil && len(next) > config.MaxFileBytes {
		err = fmt.Errorf("config over %d bytes", config.MaxFileBytes)
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	cfg, err := saveFile(p.ConfigFile, next)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if err := p.Apply(cfg); err != nil {
		fail(w, http.StatusInternalServerError, "apply_failed", "saved, but not applied: "+err.Error())
		return
	}
	p.Logger.Info("setup saved cameras", "file", p.ConfigFile, "cameras", len(cfg.Cameras))
	p.state(w, nil)
}
