package web

// Fresh is another session in the tests' Chromium: a browser context with
// cookies, storage and cache of its own, as another person's phone would
// be. It records its page's errors as NewBrowser's do, and closes when the
// test ends.
func (b *Browser) Fresh() *Browser {
	b.t.Helper()
	return NewBrowser(b.t, b.base)
}
