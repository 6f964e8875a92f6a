// Package web is the fleet's browser UI: a single-page app in plain
// JavaScript modules (no build step, nothing fetched from the internet),
// embedded in the binary and served at / and /static/, and the live
// player page (/live/{camera}, served by fleet/api through Player), which
// plays with the SPA's own player (static/live.js: WHEP, falling back to
// HLS), and the public
// complaint form (/complain, through Complain: static/complain.html and
// complain.js, which needs no login), and the public kitchen pages
// (/kitchens, /kitchens/{id}: kitchens.go), rendered on the server from
// public/*.html.
//
// static/ holds the app (app.js, its pages/ and shared widgets/), the
// dictionaries as data (i18n/zh-CN.json, i18n/en.json) and vendor/
// (ECharts; hls.js, which live.js loads only when it falls back to HLS).
// The files are served as they are, with one exception: the
// pages, index.html, live.html and complain.html, get an import map of every module
// (JSON modules included), modulepreload links (index.html: every module;
// live.html: player.js and what it imports), and ?v=<content hash> on
// each of their static URLs, so a browser that keeps /static/ files for
// an hour (Cache-Control: max-age=3600) still never mixes the modules of
// two releases.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed static
var embedded embed.FS

// Cache-Control values: the page is revalidated on every load, the files
// it names are kept for an hour.
const (
	IndexCacheControl  = "no-cache"
	StaticCacheControl = "public, max-age=3600"
)

// importMapMarker is replaced in index.html by the import map.
const importMapMarker = "<!-- importmap -->"

// asset is one file as served.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// site is the embedded files, keyed by URL path ("/static/app.js"), and
// the rewritten pages with their Content-Security-Policy.
type site struct {
	files    map[string]*asset
	index    *asset
	indexCSP string
	player   *asset
	// playerCSP is the player page's CSP.
	playerCSP string
	// complain is the public complaint form (complain.html), and its CSP.
	complain    *asset
	complainCSP string
	// kitchenHead and kitchenCSP: the public canteen page's import map
	// with its preloads, and its CSP (kitchens.go).
	kitchenHead, kitchenCSP string
}

// importRE finds a module's static imports (`import … from "./x.js"`).
var importRE = regexp.MustCompile(`(?m)^import\s+(?:[^"']*\s+from\s+)?["']([^"']+)["']`)

// modules are entry and the JavaScript modules it imports, directly or
// not, by URL path.
func (s *site) modules(entry string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		a, ok := s.files[name]
		if !ok || seen[name] || !strings.HasSuffix(name, ".js") {
			return
		}
		seen[name] = true
		for _, m := range importRE.FindAllSubmatch(a.body, -1) {
			walk(path.Join(path.Dir(name), string(m[1])))
		}
	}
	walk(entry)
	return slices.Sorted(maps.Keys(seen))
}

// CSP is the Content-Security-Policy of everything the fleet serves
// (fleet/api sets it on every response): scripts, styles, images and
// requests from the fleet itself only (the UI's ES modules and its
// vendored ECharts), inline styles allowed (ECharts' tooltips carry style
// attributes), no frames, no plugins. A page's own inline scripts (the
// UI's import map) are allowed by their hash: ScriptCSP. WebRTC media are
// not subject to CSP; WHEP signalling is a request to 'self'. HLS is
// fetched from 'self' and played through MSE's blob: URLs (media-src);
// hls.js runs without its Web Worker (a blob: script the CSP refuses).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ScriptCSP is CSP that also allows the inline scripts whose texts are
// given, by their SHA-256 hashes.
func ScriptCSP(scripts ...[]byte) string {
	src := "script-src 'self'"
	for _, sc := range scripts {
		sum := sha256.Sum256(sc)
		src += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return strings.Replace(CSP, "script-src 'self'", src, 1)
}

var load = sync.OnceValues(func() (*site, error) { return build(embedded) })

// contentTypes are the types of the files the UI ships; anything else is
// served as plain text.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); ext != "" && t != "" {
		return t
	}
	return "text/plain; charset=utf-8"
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, ctype: contentType(name), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// version is the short content hash put in ?v=.
func (a *asset) version() string { return strings.Trim(a.etag, `"`)[:10] }

func build(fsys fs.FS) (*site, error) {
	s := &site{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s.files["/"+p] = newAsset(p, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	idx, ok := s.files["/static/index.html"]
	if !ok {
		return nil, fmt.Errorf("static/index.html: %w", fs.ErrNotExist)
	}
	page, importMap := s.versioned(idx.body, nil)
	s.index = newAsset("index.html", page)
	s.indexCSP = ScriptCSP(importMap)
	pl, ok := s.files["/static/live.html"]
	if !ok {
		return nil, fmt.Errorf("static/live.html: %w", fs.ErrNotExist)
	}
	page, importMap = s.versioned(pl.body, s.modules("/static/player.js"))
	s.player = newAsset("live.html", page)
	s.playerCSP = ScriptCSP(importMap)
	// Complaints: the public form.
	cp, ok := s.files["/static/complain.html"]
	if !ok {
		return nil, fmt.Errorf("static/complain.html: %w", fs.ErrNotExist)
	}
	page, importMap = s.versioned(cp.body, s.modules("/static/complain.js"))
	s.complain = newAsset("complain.html", page)
	s.complainCSP = ScriptCSP(importMap)
	// The public canteen page (kitchens.go): rendered by fleet/api, with
	// the import map of kitchen.js and what it imports.
	head, importMap := s.versioned([]byte(importMapMarker), s.modules("/static/kitchen.js"))
	s.kitchenHead, s.kitchenCSP = string(head), ScriptCSP(importMap)
	return s, nil
}

// Complain serves the public complaint form, static/complain.html, with
// no login: fleet/api routes /complain to it. The page reads the canteen
// (or a ticket code to follow) from its query.
func Complain() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := load()
		if err != nil {
			http.Error(w, "web UI not built in: "+err.Error(), http.StatusInternalServerError)
			return
		}
		write(w, r, s.complain, IndexCacheControl, s.complainCSP)
	})
}

// versioned adds ?v=<hash> to the quoted static URLs of page and puts the
// import map of all modules (JavaScript and JSON) and the modulepreload
// links of preload (nil: every JavaScript module) where page has
// importMapMarker; it returns the page and the import map (an inline
// script, for the CSP).
func (s *site) versioned(page []byte, preload []string) ([]byte, []byte) {
	names := make([]string, 0, len(s.files))
	for name := range s.files {
		names = append(names, name)
	}
	sort.Strings(names)
	imports := map[string]string{}
	var pairs []string
	var links strings.Builder
	for _, name := range names {
		url := name + "?v=" + s.files[name].version()
		pairs = append(pairs, `"`+name+`"`, `"`+url+`"`)
		if strings.HasPrefix(name, "/static/vendor/") {
			continue
		}
		if strings.HasSuffix(name, ".json") {
			imports[name] = url
		}
		if strings.HasSuffix(name, ".js") {
			imports[name] = url
			// All modules at once, not one level of imports at a time.
			if preload == nil || slices.Contains(preload, name) {
				fmt.Fprintf(&links, "\n<link rel=\"modulepreload\" href=\"%s\">", url)
			}
		}
	}
	page = []byte(strings.NewReplacer(pairs...).Replace(string(page)))
	m, _ := json.Marshal(map[string]any{"imports": imports})
	tag := `<script type="importmap">` + string(m) + `</script>` + links.String()
	return bytes.Replace(page, []byte(importMapMarker), []byte(tag), 1), m
}

// Handler serves the UI: GET / is static/index.html, GET /static/… the
// files under static/. Anything else is 404; other methods than GET and
// HEAD are 405.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// Player serves the live player page, static/live.html, whatever the
// path: fleet/api routes /live/{camera} to it. The page reads the camera
// from its path and a bearer token from its URL fragment (#token=…),
// which never reaches the server in a request line or a log.
func Player() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := load()
		if err != nil {
			http.Error(w, "web UI not built in: "+err.Error(), http.StatusInternalServerError)
			return
		}
		write(w, r, s.player, IndexCacheControl, s.playerCSP)
	})
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s, err := load()
	if err != nil {
		http.Error(w, "web UI not built in: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var a *asset
	cache, csp := StaticCacheControl, CSP
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		a, cache, csp = s.index, IndexCacheControl, s.indexCSP
	case strings.HasPrefix(p, "/static/"):
		a = s.files[path.Clean(p)]
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	write(w, r, a, cache, csp)
}

// write answers r with a and the security headers.
func write(w http.ResponseWriter, r *http.Request, a *asset, cache, csp string) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
