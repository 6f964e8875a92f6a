package web

import (
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
	nb.recordErrors()
	return nb
}
