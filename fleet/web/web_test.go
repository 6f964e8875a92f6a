package web

import (
	"io"
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
	for name, a := range s.files {
		if !strings.HasSuffix(name, ".js") || strings.HasPrefix(name, "/static/vendor/") {
			continue
		}
		url := name + "?v=" + a.version()
		if want := `"` + name + `":"` + url + `"`; !strings.Contains(page, want) {
			t.Errorf("import map lacks %s", want)
		}
		if want := `<link rel="modulepreload" href="` + url + `">`; !strings.Contains(page, want) {
			t.Errorf("no %s", want)
		}
	}
	for _, ref := range []string{"/static/app.css?v=", "/static/vendor/echarts.min.js?v=", "/static/app.js?v="} {
		if !strings.Contains(page, ref) {
			t.Errorf("index.html lacks %s", ref)
		}
	}
	if strings.Contains(page, importMapMarker) {
		t.Errorf("import map marker left in the page")
	}
	// The charts load before the app module.
	if strings.Index(page, "echarts.min.js") > strings.Index(page, `type="module"`) {
		t.Errorf("echarts is loaded after the app module")
	}
}

var (
	importRE = regexp.MustCompile(`(?m)^import\s+(?:[^"']*\s+from\s+)?["']([^"']+)["']`)
	tKeyRE   = regexp.MustCompile(`\bt\("([A-Za-z0-9_.]+)"`)
	dictRE   = regexp.MustCompile(`(?s)const (zh|en) = \{(.*?)\n\};`)
	entryRE  = regexp.MustCompile(`"([A-Za-z0-9_.]+)":`)
)

// TestModules: every relative import names an embedded file, and every
// text key the code asks for exists in Chinese and in English.
func TestModules(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	i18n, err := os.ReadFile("static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	dicts := map[string][]string{}
	for _, m := range dictRE.FindAllStringSubmatch(string(i18n), -1) {
		for _, e := range entryRE.FindAllStringSubmatch(m[2], -1) {
			dicts[m[1]] = append(dicts[m[1]], e[1])
		}
	}
	if len(dicts["zh"]) < 100 || len(dicts["en"]) < 100 {
		t.Fatalf("dictionaries: zh %d, en %d keys", len(dicts["zh"]), len(dicts["en"]))
	}
	for _, k := range dicts["zh"] {
		if !slices.Contains(dicts["en"], k) {
			t.Errorf("i18n: %q has no English text", k)
		}
	}
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
				if !slices.ContainsFunc(dicts["zh"], func(k string) bool { return strings.HasPrefix(k, prefix+".") }) {
					t.Errorf("%s: t(%q + …): no such texts", name, m[1])
				}
				continue
			}
			if !slices.Contains(dicts["zh"], m[1]) {
				t.Errorf("%s: t(%q): no such text", name, m[1])
			}
		}
	}
}
