package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// Browser is one headless Chromium tab that records the page's
// JavaScript exceptions and console errors. It and its methods are
// exported for the tests of package web_test, which drive the UI against
// the real fleet/api (this package cannot import it).
type Browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu   sync.Mutex
	errs []string
}

func NewBrowser(t *testing.T, base string) *Browser {
	t.Helper()
	ctx := headless.Session(t, chromedp.WindowSize(1440, 900))
	b := &Browser{t: t, ctx: ctx, base: base}
	b.recordErrors()
	return b
}

// recordErrors records the page's JavaScript exceptions and console
// errors, which the checks of Do report.
func (b *Browser) recordErrors() {
	if err := chromedp.Listen(b.ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg = fmt.Sprintf("exception: %s at %s:%d:%d", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.errs = append(b.errs, msg)
		b.mu.Unlock()
	}); err != nil {
		b.t.Fatal(err)
	}
}

// Do runs steps within limit (≤ 30 s) and fails on an error or on any
// JavaScript exception or console error so far.
func (b *Browser) Do(what string, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.Eval(`document.body.dataset.page + " | " + document.body.innerText.slice(0, 500)`))
	}
	b.CheckErrors(what)
}

// CheckErrors fails the test with the page's errors since the last check.
func (b *Browser) CheckErrors(what string) {
	b.t.Helper()
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: %s", what, e)
	}
}

// Eval is the value of a JavaScript expression, or what went wrong.
func (b *Browser) Eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return "eval " + js + ": " + err.Error()
	}
	return v
}

// Text is the trimmed text of the first element sel finds.
func (b *Browser) Text(sel string) string {
	return strings.TrimSpace(b.Eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
}

// Screenshot saves the page as name in $BK_ARTIFACTS (else a temporary
// directory).
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: a PNG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("BK_ARTIFACTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, img, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// Login logs in on the login page and waits for the first page after it.
func (b *Browser) Login(user, password string) {
	b.t.Helper()
	b.Do("open the login page", 30*time.Second, chromedp.Navigate(b.base+"/#/login"),
		headless.WaitVisible(chromedp.CSS(`body[data-page="login"] #login`)))
	// The same page may be there still, with what was typed before.
	b.Eval(`document.querySelector("#login").value = document.querySelector("#password").value = ""`)
	b.Do("log in as "+user, 30*time.Second,
		headless.SendKeys(chromedp.CSS("#login"), user),
		headless.SendKeys(chromedp.CSS("#password"), password),
		headless.Click(chromedp.CSS("#login-submit")),
		headless.WaitReady(chromedp.CSS(`body[data-page]:not([data-page="login"])`)))
}

// Logout clicks "log out" and waits for the login page.
func (b *Browser) Logout() {
	b.t.Helper()
	// Clicked from script: a page re-rendering its header (after a
	// change) may replace the button between finding and clicking it.
	b.Do("log out", 30*time.Second, headless.WaitReady(chromedp.CSS("#logout")))
	b.Eval(`(document.getElementById("logout").click(), "")`)
	b.Do("logged out", 30*time.Second, headless.WaitVisible(chromedp.CSS(`body[data-page="login"] #login`)))
}

// Navs are the pages of the navigation, comma-separated.
func (b *Browser) Navs() string {
	return b.Eval(`[...document.querySelectorAll("a[data-nav]")].map(a => a.dataset.nav).join(",")`)
}

// PNGFile is a small PNG picture in a temporary file: a rectification photo.
func PNGFile(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for i := range 240 {
		img.Set(i, i, color.RGBA{0, 160, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rectified.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
