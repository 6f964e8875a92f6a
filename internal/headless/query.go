package headless

import (
	"context"
	"encoding/json"
	"fmt"
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

// WaitReady waits until an element matches the CSS selector sel, asking
// the page by script every Poll (see waitJS).
func WaitReady[S ~string](sel S) chromedp.Action[chromedp.Void] {
	return waitJS(string(sel), "in the page", "document.querySelector(%s) !== null")
}

// WaitVisible waits until the first element matching the CSS selector sel
// is rendered: in the document and not display:none, which is what
// chromedp.WaitVisible asks of its box model. It asks the page by script
// every Poll (see waitJS).
func WaitVisible[S ~string](sel S) chromedp.Action[chromedp.Void] {
	return waitJS(string(sel), "visible", "(e => e !== null && e.getClientRects().length > 0)(document.querySelector(%s))")
}

// waitJS evaluates check (with the selector quoted in place of %s) every
// Poll until it is true or ctx ends; an evaluation that fails, as while a
// page navigates, is tried again.
//
// chromedp's own waits run DOM.querySelector and then wait for the node
// to appear in chromedp's copy of the DOM, which it keeps from the DOM
// domain's events. On a page that redraws (the parent page after a join
// link, under a loaded machine) that copy can miss the node, and the
// wait then lasts until its deadline with the element on screen: e2e's
// TestJoinLinks failed so, its page text showing the element it waited
// for. A script asks the live document.
func waitJS(sel, what, check string) chromedp.Action[chromedp.Void] {
	quoted, _ := json.Marshal(sel) // a JSON string is a JavaScript string
	expr := fmt.Sprintf(check, quoted)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		tick := time.NewTicker(Poll)
		defer tick.Stop()
		var last error
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if err != nil && ctx.Err() == nil {
				last = err
			}
			select {
			case <-ctx.Done():
				if last != nil {
					return chromedp.Void{}, fmt.Errorf("wait for %s %s: %w (last evaluation: %v)", sel, what, ctx.Err(), last)
				}
				return chromedp.Void{}, fmt.Errorf("wait for %s %s: %w", sel, what, ctx.Err())
			case <-tick.C:
			}
		}
	}
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
