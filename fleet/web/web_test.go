package web

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	cases := []struct {
		method, path string
		status       int
		ctype        string
		cache        string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", IndexCacheControl, `<script type="importmap">`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", IndexCacheControl, ""},
		{"GET", "/static/app.js", 200, "text/javascript; charset=utf-8", StaticCacheControl, "route()"},
		{"GET", "/static/pages/alarm.js", 200, "text/javascript; charset=utf-8", StaticCacheControl, "alarm-snapshot"},
		{"GET", "/static/widgets/table.js", 200, "text/javascript; charset=utf-8", StaticCacheControl, "table-wrap"},
		{"GET", "/static/i18n/en.json", 200, "application/json", StaticCacheControl, `"app.brand": "BrightKitchen"`},
		{"GET", "/static/app.css", 200, "text/css; charset=utf-8", StaticCacheControl, ":root"},
		{"GET", "/static/icon.svg", 200, "image/svg+xml", StaticCacheControl, "<svg"},
		{"GET", "/static/vendor/echarts.min.js", 200, "text/javascript; charset=utf-8", StaticCacheControl, "echarts"},
		{"GET", "/static/vendor/LICENSE", 200, "text/plain; charset=utf-8", StaticCacheControl, "Apache License"},
		{"GET", "/static/app.js?v=whatever", 200, "text/javascript; charset=utf-8", StaticCacheControl, ""},
		{"GET", "/static/nope.js", 404, "", "", ""},
		{"GET", "/static/", 404, "", "", ""},
		{"GET", "/static/pages", 404, "", "", ""},
		{"GET", "/static/../web.go", 404, "", "", ""},
		{"GET", "/elsewhere", 404, "", "", ""},
		{"POST", "/", 405, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := readAll(t, resp)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control %q, want %q", got, c.cache)
			}
			if resp.Header.Get("ETag") == "" {
				t.Errorf("no ETag")
			}
			if c.contains != "" && !strings.Contains(body, c.contains) {
				t.Errorf("body lacks %q", c.contains)
			}
		})
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRevalidate: a browser that has a file answers 304 to its ETag.
func TestRevalidate(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/", "/static/app.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", p, again.StatusCode)
		}
	}
}

// TestIndexVersions: the page names every static file with its content
// hash and maps and preloads every module, so two releases never mix and
// the modules load at once.
func TestIndexVersions(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	page := string(s.index.body)
	player := string(s.player.body)
	// The player and what it imports, and nothing of the app's pages.
	playerModules := s.modules("/static/player.js")
	if !slices.Equal(playerModules, []string{"/static/i18n.js", "/static/live.js", "/static/player.js", "/static/ui.js"}) {
		t.Errorf("the player's modules: %v", playerModules)
	}
	for name, a := range s.files {
		js, json := strings.HasSuffix(name, ".js"), strings.HasSuffix(name, ".json")
		if !js && !json || strings.HasPrefix(name, "/static/vendor/") {
			continue
		}
		url := name + "?v=" + a.version()
		for pname, p := range map[string]string{"index.html": page, "live.html": player} {
			if want := `"` + name + `":"` + url + `"`; !strings.Contains(p, want) {
				t.Errorf("%s: import map lacks %s", pname, want)
			}
		}
		preload := `<link rel="modulepreload" href="` + url + `">`
		if js && !strings.Contains(page, preload) {
			t.Errorf("index.html: no %s", preload)
		}
		if want := slices.Contains(playerModules, name); js && strings.Contains(player, preload) != want {
			t.Errorf("live.html preloads %s: %v, want %v", name, !want, want)
		}
	}
	if !strings.Contains(player, `src="/static/player.js?v=`) || strings.Contains(player, importMapMarker) {
		t.Errorf("live.html is not rewritten:\n%s", player)
	}
	if !strings.Contains(s.playerCSP, "'sha256-") {
		t.Errorf("live.html's CSP %q allows no import map", s.playerCSP)
	}
	for _, ref := range []string{"/static/app.css?v=", "/static/vendor/echarts.min.js?v=", "/static/app.js?v="} {
		if !strings.Contains(page, ref) {
			t.Errorf("index.html lacks %s", ref)
		}
	}
	if strings.Contains(page, importMapMarker) {
		t.Errorf("import map marker left in the page")
	}
	// ECharts is named, versioned, for charts.js to load on the first
	// chart, and not run by the page itself.
	if !strings.Contains(page, `<meta name="bk-echarts" content="/static/vendor/echarts.min.js?v=`) ||
		strings.Contains(page, `<script src="/static/vendor/echarts`) {
		t.Errorf("index.html loads ECharts itself or does not name it for charts.js")
	}
}

var (
	tKeyRE = regexp.MustCompile(`\bt\("([A-Za-z0-9_.]+)"`)
	// roleRE finds a role rule: a role compared with something, something
	// compared with a role name, or a list of roles asked whether it
	// holds one.
	roleRE = regexp.MustCompile(`\brole\s*[!=]==?|[!=]==?\s*[\w.]*\brole\b|[!=]==?\s*"(admin|regulator|operator|parent)"|roles\.includes\(`)
)

// dictionary reads the texts of one language, static/i18n/<lang>.json.
func dictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("static/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("i18n/%s.json: %v", lang, err)
	}
	return d
}

// TestModules: every relative import names an embedded file, both
// dictionaries have the same keys, every text key the code asks for
// exists, the violation types' names are not copied from fleet/wire,
// and no module repeats a role rule (the pages ask /me's permissions).
func TestModules(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := dictionary(t, "zh-CN"), dictionary(t, "en")
	if len(zh) < 100 || len(en) < 100 {
		t.Fatalf("dictionaries: zh %d, en %d keys", len(zh), len(en))
	}
	for k, v := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("i18n: %q has no English text", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("i18n: %q has no Chinese text", k)
		}
		if strings.HasPrefix(k, "vt.") {
			t.Errorf("i18n: %q: violation types are named by fleet/wire (GET /api/v1/violation-types)", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("i18n: %q has no Chinese text", k)
		}
	}
	keys := slices.Sorted(maps.Keys(zh))
	for name, a := range s.files {
		if !strings.HasSuffix(name, ".js") || strings.Contains(name, "/vendor/") {
			continue
		}
		src := string(a.body)
		for _, m := range importRE.FindAllStringSubmatch(src, -1) {
			target := path.Join(path.Dir(name), m[1])
			if _, ok := s.files[target]; !ok {
				t.Errorf("%s imports %s: no such file", name, m[1])
			}
		}
		for _, m := range tKeyRE.FindAllStringSubmatch(src, -1) {
			if prefix, ok := strings.CutSuffix(m[1], "."); ok { // t("day." + d)
				if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, prefix+".") }) {
					t.Errorf("%s: t(%q + …): no such texts", name, m[1])
				}
				continue
			}
			if _, ok := zh[m[1]]; !ok {
				t.Errorf("%s: t(%q): no such text", name, m[1])
			}
		}
		// The user form shows the fields of the role being given (canteens
		// or districts): what a user record holds, not what the principal
		// may do.
		if m := roleRE.FindString(src); m != "" && name != "/static/pages/users.js" {
			t.Errorf("%s: a role rule (%q): ask the permissions of /api/v1/me (me.js can)", name, m)
		}
	}
}
