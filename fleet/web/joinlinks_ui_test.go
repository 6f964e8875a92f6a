package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestUIJoinLinks is issue 15's must-show for parents at school scale:
// the school's operator makes a join link capped at 3 on their page (its
// QR code and poster show); three parents, each in a fresh browser
// context, open it, type a name and land on the school's parent page,
// signed in (their device listed); a 4th is refused. A second link lets
// a parent in, is revoked on the operator's page, and refuses the next;
// the parents who joined stay signed in until the operator disables one.
func TestUIJoinLinks(t *testing.T) {
	w := newWorld(t)
	op := web.NewBrowser(t, w.base)
	op.Login("zhang.op", password)
	link := func(class, cap string) (url, id string) {
		t.Helper()
		// From a blank page: #/my afresh, not a re-render under our feet.
		op.Do("make a join link", 30*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(w.base+"/#/my"),
			headless.WaitVisible(css(`body[data-page="my"] #jl-create`)))
		op.Eval(fmt.Sprintf(`(document.querySelector("#jl-cap").value = %q, document.querySelector("#jl-class").value = %q, "")`, cap, class))
		op.Do("create it", 30*time.Second, headless.Click(css("#jl-create")), headless.WaitVisible(css("#jl-url")))
		url = op.Eval(`document.querySelector("#jl-url").href`)
		id = op.Eval(`document.querySelector(".join-link-box").dataset.link`)
		if !strings.HasPrefix(url, w.base+"/#/join?link=bkj_") || id == "" {
			t.Fatalf("join link %q, id %q", url, id)
		}
		return url, id
	}
	url, id := link("3-2", "3")
	// The QR code has loaded (a 512 px PNG), and the poster shows it.
	op.Do("QR code", 30*time.Second, chromedp.Poll[chromedp.Void](`document.querySelector(".join-link-box img.qr").naturalWidth === 512`))
	poster := op.Eval(`document.querySelector("#jl-poster").getAttribute("href")`)
	op.Do("poster", 30*time.Second, chromedp.Navigate(w.base+"/"+poster),
		headless.WaitVisible(css(`body[data-page="joinposter"] #join-poster`)),
		chromedp.Poll[chromedp.Void](`document.querySelector("#join-poster-qr").naturalWidth === 512`))
	if got := op.Text("#join-poster h1"); got != "徐汇实验小学食堂" {
		t.Errorf("poster title %q", got)
	}
	if got := op.Text(".jposter-url"); got != url {
		t.Errorf("poster URL %q, want %q", got, url)
	}
	op.Screenshot("join-link-poster.png")

	// joins opens url in a fresh context as name and waits for the
	// parent page.
	joins := func(url, name string) *web.Browser {
		t.Helper()
		p := op.Fresh()
		p.Do(name+" joins", 30*time.Second, chromedp.Navigate(url),
			headless.WaitVisible(css("#join-school")), headless.SendKeys(css("#join-name"), name),
			headless.Click(css("#join-submit")),
			headless.WaitVisible(css(`body[data-page="parent"] #parent h1`)),
			headless.WaitVisible(css(`#devices li[data-current="true"]`)))
		if got := p.Text("#parent h1"); got != "徐汇实验小学食堂" {
			t.Errorf("%s sees %q", name, got)
		}
		if n := p.Eval(`String(document.querySelectorAll("#devices li").length)`); n != "1" {
			t.Errorf("%s has %s devices", name, n)
		}
		return p
	}
	refused := func(url, who string) {
		t.Helper()
		p := op.Fresh()
		p.Do(who+" refused", 30*time.Second, chromedp.Navigate(url), headless.WaitVisible(css("#join-link #join-error")))
		if got := p.Text("#join-error"); got != "该加入链接无效，请向学校索取新的链接。" {
			t.Errorf("%s: %q", who, got)
		}
		if n := p.Eval(`String(document.querySelectorAll("#join-name").length)`); n != "0" {
			t.Errorf("%s: the name form is shown", who)
		}
	}
	var parents []*web.Browser
	for i := range 3 {
		parents = append(parents, joins(url, fmt.Sprintf("家长%d", i+1)))
	}
	parents[0].Screenshot("join-link-parent.png")
	refused(url, "the 4th parent")

	// The operator's list: 3 of 3, full.
	op.Do("links", 30*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(w.base+"/#/my"),
		headless.WaitVisible(css(fmt.Sprintf(`#jl-list li[data-link=%q][data-state="full"]`, id))))
	if got := op.Text(fmt.Sprintf(`#jl-list li[data-link=%q] .jl-used`, id)); got != "已加入 3 / 3" {
		t.Errorf("used %q", got)
	}
	// A second link: one parent in, then revoked, then the next refused.
	url2, id2 := link("", "100")
	parents = append(parents, joins(url2, "王爸爸"))
	row := fmt.Sprintf(`#jl-list li[data-link=%q]`, id2)
	op.Do("revoke", 30*time.Second, headless.WaitVisible(css(row+`[data-state="valid"] button`)),
		headless.Click(css(row+" button")), headless.Click(css(row+" button")),
		headless.WaitVisible(css(row+`[data-state="revoked"]`)))
	refused(url2, "a parent after revoking")
	op.Screenshot("join-links-my.png")
	// The parents who joined stay.
	for i, p := range parents {
		p.Do(fmt.Sprint("parent ", i, " still in"), 30*time.Second, chromedp.Reload(),
			headless.WaitVisible(css(`body[data-page="parent"] #parent h1`)))
	}
	// Four parents through links on the operator's list, with the class.
	op.Do("parents", 30*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(w.base+"/#/my"), headless.WaitVisible(css(`#parents li[data-user^="p-"]`)))
	if n := op.Eval(`String(document.querySelectorAll('#parents li[data-user^="p-"]').length)`); n != "4" {
		t.Errorf("%s parents through links on the list", n)
	}
	// The operator disables the first parent: signed out at the next
	// request, the others not.
	first := parents[0].Eval(`fetch("/api/v1/me").then(r => r.json()).then(m => m.id)`)
	li := fmt.Sprintf(`#parents li[data-user=%q]`, first)
	op.Do("disable a parent", 30*time.Second, headless.Click(css(li+` button[data-action="disable"]`)),
		headless.WaitVisible(css(li+`[data-disabled="true"]`)))
	parents[0].Do("disabled parent signed out", 30*time.Second, chromedp.Reload(),
		headless.WaitVisible(css(`body[data-page="login"] #login`)))
	parents[1].Do("another parent still in", 30*time.Second, chromedp.Reload(),
		headless.WaitVisible(css(`body[data-page="parent"] #parent h1`)))
}
