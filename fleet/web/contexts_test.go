package web

import (
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Fresh is a new browser context in b's Chromium: a tab with cookies,
// storage and cache of its own, as another person's phone would be,
// without starting another Chromium. It records its page's errors as
// NewBrowser's do, and closes when the test ends.
func (b *Browser) Fresh() *Browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	nb := &Browser{t: b.t, ctx: ctx, base: b.base}
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new browser context: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = fmt.Sprintf("exception: %s at %s:%d", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber+1)
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
		nb.mu.Lock()
		nb.errs = append(nb.errs, msg)
		nb.mu.Unlock()
	}); err != nil {
		b.t.Fatal(err)
	}
	return nb
}
