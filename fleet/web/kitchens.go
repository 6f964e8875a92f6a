package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
)

// The public kitchen pages (网络厨房): /kitchens, the participating
// canteens, and /kitchens/{id}, one canteen's notice and live cameras.
// They are rendered on the server (html/template, public/*.html), so that
// a phone's in-app browser (WeChat's) paints them from the first response
// with one small stylesheet, static/kitchens.css; only the canteen page
// runs a script, static/kitchen.js, which plays the cameras published to
// everyone with the UI's one WHEP player (live.js) and no credentials.
// Their texts are the UI's dictionaries' "pub." keys (static/i18n), in
// Chinese unless the page is asked for with ?lang=en. fleet/api fills the
// views (KitchenList, Kitchen) and serves them.

//go:embed public
var publicPages embed.FS

// KitchenLang is a public page's language: "zh" (the default) or "en".
func KitchenLang(r *http.Request) string {
	if r.URL.Query().Get("lang") == "en" {
		return "en"
	}
	return "zh"
}

// Texts looks up the UI's texts of lang ("zh" or "en"), falling back to
// Chinese, then to the key; {name} placeholders are filled from args
// given as name, value pairs.
type Texts struct {
	lang     string
	dict, zh map[string]string
}

var dicts = sync.OnceValues(func() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for lang, file := range map[string]string{"zh": "static/i18n/zh-CN.json", "en": "static/i18n/en.json"} {
		b, err := fs.ReadFile(embedded, file)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out[lang] = m
	}
	return out, nil
})

// TextsOf returns lang's texts.
func TextsOf(lang string) Texts {
	d, err := dicts()
	if err != nil {
		return Texts{lang: lang}
	}
	if lang != "en" {
		lang = "zh"
	}
	return Texts{lang: lang, dict: d[lang], zh: d["zh"]}
}

// T is key's text with args (name, value, …) filled in.
func (t Texts) T(key string, args ...any) string {
	v, ok := t.dict[key]
	if !ok {
		if v, ok = t.zh[key]; !ok {
			v = key
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		v = strings.ReplaceAll(v, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return v
}

// Lang is "zh" or "en".
func (t Texts) Lang() string { return t.lang }

// KitchenSummary is one canteen in the public list.
type KitchenSummary struct {
	ID, Name, District, Category string
	// Grade is A, B, C or ""; Inspection the latest inspection's result
	// ("" none) and InspectedOn its date.
	Grade, Inspection, InspectedOn string
	// Online is the last 30 days' camera online rate, "96.5%", or "".
	Online string
	// OpenNow: the live view is open; NextOpen when it opens next
	// (formatted in the canteen's zone), "" if never.
	OpenNow  bool
	NextOpen string
	Cameras  int
}

// KitchenList is the /kitchens page.
type KitchenList struct {
	T                        Texts
	District, Category, Name string
	Districts, Categories    []string
	Items                    []KitchenSummary
	Total, Page, Pages       int
	// PrevURL and NextURL are the neighbouring pages, "" at the ends.
	PrevURL, NextURL string
	// Query is the page's query string without page, for links.
	Query template.URL
}

// KitchenCamera is a camera on a canteen's public page.
type KitchenCamera struct {
	Key, CameraID, Area string
	Online              bool
}

// Kitchen is the /kitchens/{id} page.
type Kitchen struct {
	T Texts
	KitchenSummary
	Address          string
	LicenceNo        string
	PersonInCharge   string
	OnlineDetail     string // the period, e.g. 2026-04-07 – 2026-05-06
	Until            string // when the open window closes
	Cameras          []KitchenCamera
	ComplainURL      string
	ListURL, LangURL string
}

var kitchenTemplates = sync.OnceValues(func() (*template.Template, error) {
	return template.New("").Funcs(template.FuncMap{
		"static": staticURL,
		"head":   kitchenHead,
	}).ParseFS(publicPages, "public/*.html")
})

// staticURL is a static file's URL with its version (?v=…).
func staticURL(name string) string {
	s, err := load()
	if err != nil {
		return name
	}
	if a, ok := s.files[name]; ok {
		return name + "?v=" + a.version()
	}
	return name
}

// kitchenHead is the canteen page's import map and module preloads.
func kitchenHead() template.HTML {
	s, err := load()
	if err != nil {
		return ""
	}
	return template.HTML(s.kitchenHead)
}

// KitchenCSP is the Content-Security-Policy of the canteen page (its
// import map allowed by hash); the list page runs no script and takes CSP.
func KitchenCSP() string {
	s, err := load()
	if err != nil {
		return CSP
	}
	return s.kitchenCSP
}

// RenderKitchenList writes the /kitchens page.
func RenderKitchenList(w io.Writer, v KitchenList) error { return render(w, "kitchens.html", v) }

// RenderKitchen writes a /kitchens/{id} page.
func RenderKitchen(w io.Writer, v Kitchen) error { return render(w, "kitchen.html", v) }

func render(w io.Writer, name string, v any) error {
	t, err := kitchenTemplates()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}
