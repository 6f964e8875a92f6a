package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestJoinLinks is issue 15's must-show for parents at school scale
// against the real bk-fleet (its own process, SQLite, --parent-url and
// --joins-per-addr set): a join link capped at 3 onboards 3 parents, each
// in a fresh browser context of one Chromium, each then on the school's
// parent page; the 4th is refused. A second link lets one in, is revoked,
// and refuses the next; the parents who joined stay signed in, across a
// restart of the fleet too (their device sessions are in the database).
func TestJoinLinks(t *testing.T) {
	parallelScenario(t)
	f := newFleet(t, "")
	base := "http://" + f.http
	f.args = []string{"--parent-url", base + "/", "--joins-per-addr", "10"}
	f.start()
	if status, body := f.api("POST", "/api/v1/canteens", map[string]any{"id": "school-j", "name": "闵行实验小学",
		"category": "school", "district": "minhang"}); status != 200 {
		t.Fatalf("register the school: %d %s", status, body)
	}
	link := func(capacity int) (url, id string) {
		t.Helper()
		status, body := f.api("POST", "/api/v1/canteens/school-j/join-links", map[string]any{"cap": capacity, "class": "1-1"})
		var m struct {
			URL  string
			Link struct{ ID string }
		}
		if err := json.Unmarshal([]byte(body), &m); status != 201 || err != nil {
			t.Fatalf("make a link: %d %s", status, body)
		}
		if !strings.HasPrefix(m.URL, base+"/#/join?link=bkj_") {
			t.Fatalf("link URL %q: not under --parent-url", m.URL)
		}
		return m.URL, m.Link.ID
	}
	url, _ := link(3)

	root := browser(t)
	fresh := func() context.Context {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// Started here, not by a first Do under a timeout, whose end
		// would close the tab.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("new browser context: %v", err)
		}
		return ctx
	}
	// The text of sel, by script: a DOM query on a page that re-renders
	// can wait on a node that is gone.
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	run := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v (page: %.400s)", what, err, text(ctx, "body"))
		}
	}
	join := func(url, name string) context.Context {
		t.Helper()
		ctx := fresh()
		run(ctx, name+" joins", chromedp.Navigate(url), headless.WaitVisible(chromedp.CSS("#join-school")),
			headless.SendKeys(chromedp.CSS("#join-name"), name), headless.Click(chromedp.CSS("#join-submit")),
			headless.WaitVisible(chromedp.CSS(`body[data-page="parent"] #parent h1`)))
		if got := text(ctx, "#parent h1"); got != "闵行实验小学" {
			t.Errorf("%s sees %q", name, got)
		}
		return ctx
	}
	refused := func(url, who string) {
		t.Helper()
		ctx := fresh()
		run(ctx, who, chromedp.Navigate(url), headless.WaitVisible(chromedp.CSS("#join-link #join-error")))
		if got := text(ctx, "#join-error"); !strings.Contains(got, "无效") {
			t.Errorf("%s: %q", who, got)
		}
	}
	var parents []context.Context
	for i := range 3 {
		parents = append(parents, join(url, fmt.Sprintf("家长%d", i+1)))
	}
	refused(url, "the 4th parent")

	url2, id2 := link(50)
	parents = append(parents, join(url2, "李爸爸"))
	if status, body := f.api("POST", "/api/v1/join-links/"+id2+"/revoke", nil); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	refused(url2, "a parent after revoking")

	// The fleet restarts; the parents are still signed in.
	if err := f.p.stop(); err != nil {
		t.Fatalf("stop the fleet: %v", err)
	}
	f.start()
	for i, ctx := range parents {
		run(ctx, fmt.Sprint("parent ", i, " after a restart"), chromedp.Reload(),
			headless.WaitVisible(chromedp.CSS(`body[data-page="parent"] #parent h1`)),
			headless.WaitVisible(chromedp.CSS(`#devices li[data-current="true"]`)))
	}
	var links struct {
		Links []struct {
			ID   string
			Used int
			Cap  int
		}
	}
	if err := f.get("/api/v1/canteens/school-j/join-links", &links); err != nil || len(links.Links) != 2 ||
		links.Links[1].Used != 3 || links.Links[1].Cap != 3 || links.Links[0].Used != 1 {
		t.Errorf("links: %+v, %v", links, err)
	}
}
