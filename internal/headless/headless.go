// Package headless runs headless Chromium for tests (chromedp), with the
// flags the project's browser tests share: no sandbox, GPU, QUIC,
// first-run, background networking, component updates or sync, and at
// most four renderer processes where tabs can share them.
//
// One Chromium serves a whole test binary, and every session gets a
// browser context of its own (Target.createBrowserContext): cookies,
// storage and cache of its own, as a fresh profile or another person's
// phone would have. Starting Chromium costs about 1.4 s of a core, and the
// e2e and fleet/web packages made some thirty sessions a run, each with
// its own Chromium.
//
// Its element actions (Click, SendKeys, SetValue, SetUploadFiles, Text)
// are chromedp's, looking for an element that is not there yet every Poll
// rather than every 5 ms; its waits (WaitReady, WaitVisible) ask the page
// by script every Poll. The tests use them.
package headless

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// browser is the test binary's Chromium, started by the first Session.
var browser struct {
	mu      sync.Mutex
	ctx     context.Context // its first tab, which keeps it open
	cancels []context.CancelFunc
	dir     string
	err     error
}

// Session returns a new browser context in the test binary's Chromium,
// closed when the test ends. The first call starts Chromium with the
// shared flags and extra after them; later calls must pass the same extra
// (it is one browser). A missing chromium fails the test: scripts/deps.sh
// installs it. TestMain calls Close after the tests.
func Session(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bctx, err := start(extra)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return ctx
}

// start starts the shared Chromium once; a failed start is not retried.
func start(extra []chromedp.ExecAllocatorOption) (context.Context, error) {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.ctx != nil || browser.err != nil {
		return browser.ctx, browser.err
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		browser.err = errors.New("chromium not found: scripts/deps.sh installs it")
		return nil, browser.err
	}
	if browser.dir, err = os.MkdirTemp("", "bk-chromium-"); err != nil {
		browser.err = err
		return nil, err
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Tabs of one site in one browser context share up to four
		// renderers rather than starting one each (browser contexts never
		// share one). e2e's TestLiveManyViewers opens 20 viewers' tabs
		// at once: 44 to 35 CPU-s on the test machine.
		chromedp.Flag("renderer-process-limit", "4"),
		chromedp.UserDataDir(browser.dir),
	}, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelA()
		os.RemoveAll(browser.dir)
		browser.err = err
		return nil, err
	}
	browser.cancels = []context.CancelFunc{cancel, cancelA}
	browser.ctx = ctx
	return ctx, nil
}

// Close ends the shared Chromium, if it started, and removes its profile.
// Chromium also dies with the test binary (chromedp starts it with a
// parent-death signal), but its profile would stay behind.
func Close() {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	for _, c := range browser.cancels {
		c()
	}
	if browser.dir != "" {
		os.RemoveAll(browser.dir)
	}
	browser.ctx, browser.cancels, browser.dir = nil, nil, ""
	browser.err = errors.New("headless: closed")
}
