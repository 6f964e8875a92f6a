package headless

import (
	"time"

	"github.com/chromedp/chromedp"
)

// Poll is how often the element actions below look again for an element
// that is not there (or not ready, or not visible) yet. chromedp's own is
// 5 ms: a test waiting on a page for a stream to play or a command to
// finish asked for the element 200 times a second, each time a few
// DevTools calls through the test binary (under -race), the browser
// process and the renderer. Measured alone, the change was within the
// noise (e2e's TestWebUI: Chromium 20.5 and 22.7 CPU-s against 24.1 and
// 23.4); it matters more when the waits grow long on a loaded machine.
// At 50 ms an action ends on average 25 ms later than the element
// appears.
const Poll = 50 * time.Millisecond

// poll puts Poll before opts, which may set their own interval.
func poll(opts []chromedp.QueryOption) []chromedp.QueryOption {
	return append([]chromedp.QueryOption{chromedp.RetryInterval(Poll)}, opts...)
}

// WaitReady is chromedp.WaitReady, looking again every Poll.
func WaitReady[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.WaitReady(sel, poll(opts)...)
}

// WaitVisible is chromedp.WaitVisible, looking again every Poll.
func WaitVisible[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(sel, poll(opts)...)
}

// Click is chromedp.Click, looking again every Poll.
func Click[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.Click(sel, poll(opts)...)
}

// SendKeys is chromedp.SendKeys, looking again every Poll.
func SendKeys[S chromedp.Selectable](sel S, v string, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(sel, v, poll(opts)...)
}

// SetValue is chromedp.SetValue, looking again every Poll.
func SetValue[S chromedp.Selectable](sel S, v string, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(sel, v, poll(opts)...)
}

// SetUploadFiles is chromedp.SetUploadFiles, looking again every Poll.
func SetUploadFiles[S chromedp.Selectable](sel S, files []string, opts ...chromedp.QueryOption) chromedp.Action[chromedp.Void] {
	return chromedp.SetUploadFiles(sel, files, poll(opts)...)
}

// Text is chromedp.Text, looking again every Poll.
func Text[S chromedp.Selectable](sel S, opts ...chromedp.QueryOption) chromedp.Action[string] {
	return chromedp.Text(sel, poll(opts)...)
}
