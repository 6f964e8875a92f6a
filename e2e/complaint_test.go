package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestComplaintUI: in headless Chromium against a real bk-fleet, a
// visitor with no login files a complaint from the form (the page solves
// the proof of work), a regulator of the canteen's district finds it in
// the queue, accepts it and replies, and the visitor reads the reply with
// the ticket code; a regulator of another district sees nothing of it.
func TestComplaintUI(t *testing.T) {
	parallelScenario(t)
	f := newFleet(t, "")
	f.start()
	defer f.p.stop()
	base := f.url("")
	if status, body := f.api("POST", "/api/v1/canteens", map[string]any{"id": "canteen-cp", "name": "徐汇实验小学食堂",
		"category": "school", "district": "xuhui", "active": true}); status != 200 {
		t.Fatalf("register canteen: %d %s", status, body)
	}
	f.addUser("li.reg", "regulator", "regulator pw 1", "--district", "xuhui", "--name", "李科长")
	f.addUser("zhao.reg", "regulator", "regulator pw 2", "--district", "minhang", "--name", "赵科长")
	f.addUser("wu.op", "operator", "operator pw 1", "--canteen", "canteen-cp", "--name", "吴经理")

	// The operator prints the dining hall's poster: its QR code loads.
	op := newSession(t, base)
	op.login("wu.op", "operator pw 1")
	op.do("open the poster", 30*time.Second,
		headless.Click(`[data-poster="canteen-cp"]`),
		headless.WaitVisible(`#poster-qr`),
		chromedp.Poll[chromedp.Void](`document.querySelector("#poster-qr").naturalWidth === 512`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if got := op.text(".poster-url"); got != base+"/complain?canteen=canteen-cp" {
		t.Errorf("poster address %q", got)
	}

	// The visitor: no login.
	visitor := newSession(t, base)
	const text = "今天午饭的米饭里有头发，后厨门口垃圾桶没有盖。"
	visitor.do("file a complaint", 60*time.Second,
		chromedp.Navigate(base+"/complain?canteen=canteen-cp"),
		headless.WaitVisible(`body[data-state="ready"]`),
		headless.SetValue(`#cp-category`, "foreign_matter"),
		headless.SendKeys(`#cp-text`, text),
		headless.SendKeys(`#cp-contact`, "13900001111"),
		headless.Click(`#cp-submit`),
		headless.WaitVisible(`body[data-state="filed"]`),
	)
	// What the proof of work costs a browser: 2^16 hashes on average at
	// the default 16 bits.
	t.Logf("proof of work in Chromium: %s", visitor.eval(`import("/static/sha256.js").then(m => {
		const n = 200000, t0 = performance.now();
		for (let i = 0; i < n; i++) m.leadingZeros("v1.AAAAAAAAAAAAAAAA.1767225600.16.Y2FudGVlbi1jcA.BBBBBBBBBBBBBBBBBBBBBB:" + i);
		const ms = performance.now() - t0;
		return (n / ms * 1000).toFixed(0) + " hashes/s; 16 bits take " + (65536 / n * ms).toFixed(0) + " ms on average";
	})`))
	code := strings.TrimSpace(visitor.text("#cp-code"))
	if len(code) != 14 {
		t.Fatalf("ticket code %q", code)
	}
	visitor.screenshot("complaint-filed.png")

	// The district's regulator: the queue, the ticket, accept, reply.
	reg := newSession(t, base)
	reg.login("li.reg", "regulator pw 1")
	const reply = "经现场检查，情况属实，已责令食堂整改并加强留样和垃圾管理。"
	reg.do("open the queue", 30*time.Second,
		chromedp.Navigate(base+"/#/complaints"),
		headless.WaitVisible(`#complaints-body tr[data-complaint] a`),
		headless.Click(`#complaints-body tr[data-complaint] a`),
		headless.WaitVisible(`#cp-accept`),
	)
	if body := reg.text("#complaint"); !strings.Contains(body, "13900001111") || !strings.Contains(body, "头发") {
		t.Errorf("the regulator's ticket lacks the contact or the text: %s", body)
	}
	reg.do("accept and reply", 30*time.Second,
		headless.Click(`#cp-accept`),
		headless.WaitVisible(`#cp-state[data-state="accepted"]`),
		headless.SendKeys(`#cp-note`, reply),
		headless.Click(`#cp-reply`),
		headless.WaitVisible(`#cp-state[data-state="replied"]`),
	)
	reg.screenshot("complaint-replied.png")

	// The visitor reads the reply with the code.
	visitor.do("follow the ticket", 30*time.Second,
		chromedp.Navigate(base+"/complain?ticket="+code),
		headless.WaitVisible(`#cp-state[data-state="replied"]`),
	)
	if got := visitor.text("#cp-reply"); !strings.Contains(got, "已责令食堂整改") {
		t.Errorf("reply shown %q", got)
	}

	// Another district's regulator: an empty queue, and the ticket refused.
	other := newSession(t, base)
	other.login("zhao.reg", "regulator pw 2")
	other.do("open the queue", 30*time.Second,
		chromedp.Navigate(base+"/#/complaints"),
		headless.WaitVisible(`#complaints-body`),
	)
	if n := other.eval(`String(document.querySelectorAll("#complaints-body tr[data-complaint]").length)`); n != "0" {
		t.Errorf("闵行's regulator sees %s tickets", n)
	}
	var list struct {
		Complaints []struct{ ID int64 } `json:"complaints"`
	}
	if err := f.get("/api/v1/complaints", &list); err != nil || len(list.Complaints) != 1 {
		t.Fatalf("complaints: %v %v", list, err)
	}
	status := other.eval(fmt.Sprintf(`fetch("/api/v1/complaints/%d").then(r => String(r.status))`, list.Complaints[0].ID))
	if status != "403" {
		t.Errorf("闵行's regulator GET the ticket: %s, want 403", status)
	}
}
