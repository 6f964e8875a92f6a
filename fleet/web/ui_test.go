package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestUI drives the web UI in headless Chromium against the fake API, for
// what the real fleet/api cannot show without a gateway or a retention
// run (the rest is in realapi_test.go): an alarm whose snapshot
// retention deleted, and an admin's ping of a gateway that answers.
func TestUI(t *testing.T) {
	f, base := startFake(t)
	b := NewBrowser(t, base)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// A link to the alarm without a session: log in, then the alarm.
	b.Do("alarm link", 30*time.Second, chromedp.Navigate(base+"/#/alarm/42"),
		headless.WaitVisible(css(`body[data-page="login"] #login`)))
	b.Login("li.reg", fakePassword)
	b.Do("expired snapshot", 30*time.Second,
		headless.WaitReady(css(`#alarm[data-id="42"][data-status="new"]`)),
		headless.WaitReady(css(`#alarm-snapshot[data-drawn="placeholder"]`)), headless.WaitVisible(css("#snapshot-expired")))
	if got := b.Text("#alarm h1"); !strings.Contains(got, "未戴口罩") {
		t.Errorf("alarm title %q", got)
	}
	b.Logout()

	// The admin pings a gateway: the command, then its status until ok.
	b.Do("gateways link", 30*time.Second, chromedp.Navigate(base+"/#/gateways"),
		headless.WaitVisible(css(`body[data-page="login"] #login`)))
	b.Login("admin", fakePassword)
	b.Do("ping a gateway", 30*time.Second,
		headless.WaitReady(css(`body[data-page="gateways"] [data-ping="gw-xh-001"]`)),
		headless.Click(css(`[data-ping="gw-xh-001"]`)),
		headless.WaitReady(css(`tr[data-gateway="gw-xh-001"] .ping-result[data-result="ok"]`)))
	f.mu.Lock()
	if got := strings.Join(f.cmds, "; "); got != "gw-xh-001 ping 30s" || f.cmdPolls != 3 {
		t.Errorf("commands sent %q, status read %d times; want one ping, read 3 times", got, f.cmdPolls)
	}
	f.mu.Unlock()
	// place (ui.js), which the gateway page's refresh uses, leaves a row
	// that stays in place: its input keeps the focus.
	if got := b.Eval(placeCheckJS); got != "ok" {
		t.Errorf("place: %s", got)
	}
	b.CheckErrors("end")
}

// placeCheckJS puts three children in a div, the middle one a focused
// input, and places a new first and last child around that input.
const placeCheckJS = `(async () => {
  const {place} = await import("/static/ui.js");
  const el = document.createElement("div");
  document.body.append(el);
  const k = document.createElement("input");
  el.append(document.createElement("p"), k, document.createElement("p"));
  k.focus();
  let detached = false;
  new MutationObserver(ms => ms.forEach(m => m.removedNodes.forEach(n => { if (n === k) detached = true; })))
    .observe(el, {childList: true});
  const want = [document.createElement("p"), k, document.createElement("p")];
  place(el, want);
  await null;
  const order = el.children.length === 3 && want.every((n, i) => el.children[i] === n);
  const focus = document.activeElement === k;
  el.remove();
  return order && focus && !detached ? "ok" : "order " + order + ", focus kept " + focus + ", input detached " + detached;
})()`
