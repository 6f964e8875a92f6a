package web

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots saves a screenshot of every page at desktop and phone
// sizes into $BK_ARTIFACTS, for a person to look at. It runs only with
// BK_WEB_SCREENSHOTS=1.
func TestScreenshots(t *testing.T) {
	if os.Getenv("BK_WEB_SCREENSHOTS") == "" {
		t.Skip("set BK_WEB_SCREENSHOTS=1 (and BK_ARTIFACTS=DIR) to take them")
	}
	f, base := startFake(t)
	b := newBrowser(t, base)
	shots := []struct{ user, route, ready string }{
		{"li.reg", "dashboard", `body[data-ready="dashboard"]`},
		{"li.reg", "review", `body[data-page="review"]`},
		{"li.reg", "canteens", `body[data-page="canteens"]`},
		{"li.reg", "canteen/" + fakeCanteen, `body[data-page="canteen"]`},
		{"li.reg", "alarm/42", `body[data-page="alarm"]`},
		{"li.reg", "gateways", `body[data-page="gateways"]`},
		{"li.reg", "audit", `body[data-page="audit"]`},
		{"zhang.op", "my", `body[data-page="my"]`},
		{"admin", "users", `body[data-page="users"]`},
		{"wang.mum", "parent", `body[data-page="parent"]`},
	}
	user := ""
	for _, s := range shots {
		if s.user != user {
			if user != "" {
				b.logout()
			}
			b.login(s.user)
			user = s.user
		}
		for _, size := range []struct {
			name string
			w, h int64
		}{{"desktop", 1440, 900}, {"phone", 390, 844}} {
			b.do(s.route, 30*time.Second, chromedp.EmulateViewport(size.w, size.h),
				chromedp.Navigate(base+"/#/"+s.route), chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(s.ready)),
				chromedp.Sleep(300*time.Millisecond))
			b.screenshot("screen-" + size.name + "-" + cleanName(s.route) + ".png")
		}
	}
	// English.
	b.logout()
	b.eval(`localStorage.setItem("bk.lang", "en"), ""`)
	b.login("li.reg")
	for _, route := range []string{"dashboard", "alarm/42"} {
		b.do(route, 30*time.Second, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(base+"/#/"+route),
			chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(`body[data-page]`)), chromedp.Sleep(300*time.Millisecond))
		b.screenshot("screen-en-" + cleanName(route) + ".png")
	}
	_ = f
}

func cleanName(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '/' {
			r = '-'
		}
		out = append(out, r)
	}
	return string(out)
}
