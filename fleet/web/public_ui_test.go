package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestUIPublicKitchen: the operator publishes a camera to everyone from
// the canteen page and fills in its part of the public notice (only its
// fields are offered); the district's regulator fills in the grade and
// the inspection; a visitor with no login finds the canteen on /kitchens
// and its page shows the notice, and, the kitchen being closed to
// viewers, when it opens next instead of a player.
func TestUIPublicKitchen(t *testing.T) {
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	hideToast := `(() => { const t = document.getElementById("toast"); if (t) t.className = ""; return ""; })()`
	openEditor := `(document.querySelector("#publicity .publicity-editor").open = true, "")`

	b.Login("zhang.op", password)
	b.Do("canteen", 30*time.Second, chromedp.Navigate(w.base+"/#/canteen/"+canteenID),
		headless.WaitReady(css(`[data-camera="cam-1"] .cam-edit`)),
		headless.WaitReady(css(`#publicity #pub-licence_no`)))
	if n := b.Eval(`String(document.querySelectorAll("#pub-grade, #pub-inspection_result, #pub-inspected_on").length)`); n != "0" {
		t.Errorf("the operator is offered %s of the regulator's fields", n)
	}
	b.Do("publish cam-1", 30*time.Second,
		headless.Click(css(`[data-camera="cam-1"] .cam-edit summary`)),
		headless.SetValue(css(`[data-camera="cam-1"] .cam-form select.cam-audience`), "everyone"),
		headless.Click(css(`[data-camera="cam-1"] .cam-form button[type=submit]`)),
		headless.WaitVisible(css(`#toast.show.ok`)),
		headless.WaitReady(css(`[data-camera="cam-1"] [data-audience="everyone"]`)))
	b.Eval(hideToast)
	// The editor is opened and saved by script: a click by coordinates
	// there can land on the sticky header once scrolled into view.
	b.Eval(openEditor)
	b.Do("the operator's part of the notice", 30*time.Second,
		headless.SendKeys(css(`#pub-licence_no`), "JY13101040001234"),
		headless.SendKeys(css(`#pub-person_in_charge`), "张经理"))
	b.Eval(`(document.getElementById("pub-save").click(), "")`)
	b.Do("saved", 30*time.Second, headless.WaitVisible(css(`#toast.show.ok`)))
	b.Logout()

	b.Login("li.reg", password)
	b.Do("the regulator's part", 30*time.Second, chromedp.Navigate(w.base+"/#/canteen/"+canteenID),
		headless.WaitReady(css(`#publicity #pub-grade`)))
	b.Eval(openEditor)
	b.Do("the regulator's fields", 30*time.Second,
		headless.SetValue(css(`#pub-grade`), "B"),
		headless.SetValue(css(`#pub-inspection_result`), "basically_compliant"),
		headless.SetValue(css(`#pub-inspected_on`), "2026-01-05"))
	b.Eval(`(document.getElementById("pub-save").click(), "")`)
	b.Do("saved", 30*time.Second, headless.WaitReady(css(`#publicity dd[data-grade="B"]`)))
	if n := b.Eval(`String(document.querySelectorAll("#pub-licence_no, #pub-person_in_charge").length)`); n != "0" {
		t.Errorf("the regulator is offered %s of the operator's fields", n)
	}
	b.CheckErrors("staff")
	b.Logout()

	// A visitor: the list, then the page, closed to viewers now.
	b.Do("the public list", 30*time.Second, chromedp.Navigate(w.base+"/kitchens"),
		headless.WaitReady(css(`li[data-canteen="`+canteenID+`"]`)))
	b.Do("the public page", 30*time.Second, chromedp.Navigate(w.base+"/kitchens/"+canteenID),
		headless.WaitVisible(css(`#closed`)))
	for sel, want := range map[string]string{"#licence": "JY13101040001234", "#person": "张经理", "#grade": "B 级（良好）",
		"#inspection": "基本符合 · 2026-01-05"} {
		if got := strings.TrimSpace(b.Text(sel)); got != want {
			t.Errorf("public page %s = %q, want %q", sel, got, want)
		}
	}
	if n := b.Eval(`String(document.querySelectorAll("video").length)`); n != "0" {
		t.Errorf("%s players on a page closed to viewers", n)
	}
	b.Screenshot("public-closed.png")
}
