package web_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestScreenshots saves a screenshot of every page at desktop and phone
// sizes into $BK_ARTIFACTS, for a person to look at, with the real API
// and the world of realapi_test.go. It runs only with
// BK_WEB_SCREENSHOTS=1.
func TestScreenshots(t *testing.T) {
	if os.Getenv("BK_WEB_SCREENSHOTS") == "" {
		t.Skip("set BK_WEB_SCREENSHOTS=1 (and BK_ARTIFACTS=DIR) to take them")
	}
	w := newWorld(t)
	b := web.NewBrowser(t, w.base)
	alarm := fmt.Sprintf("alarm/%d", w.mask)
	shots := []struct{ user, route, ready string }{
		{"li.reg", "dashboard", `body[data-ready="dashboard"]`},
		{"li.reg", "review", `body[data-page="review"]`},
		{"li.reg", "canteens", `body[data-page="canteens"]`},
		{"li.reg", "canteen/" + canteenID, `body[data-page="canteen"]`},
		{"li.reg", alarm, `body[data-page="alarm"]`},
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
				b.Logout()
			}
			b.Login(s.user, password)
			user = s.user
		}
		for _, size := range []struct {
			name string
			w, h int64
		}{{"desktop", 1440, 900}, {"phone", 390, 844}} {
			b.Do(s.route, 30*time.Second, chromedp.EmulateViewport(size.w, size.h),
				chromedp.Navigate(w.base+"/#/"+s.route), chromedp.Reload(), headless.WaitReady(chromedp.CSS(s.ready)),
				chromedp.Sleep(300*time.Millisecond))
			b.Screenshot("screen-" + size.name + "-" + strings.ReplaceAll(s.route, "/", "-") + ".png")
		}
	}
	// English.
	b.Logout()
	b.Eval(`localStorage.setItem("bk.lang", "en"), ""`)
	b.Login("li.reg", password)
	for _, route := range []string{"dashboard", alarm} {
		b.Do(route, 30*time.Second, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(w.base+"/#/"+route),
			chromedp.Reload(), headless.WaitReady(chromedp.CSS(`body[data-page]`)), chromedp.Sleep(300*time.Millisecond))
		b.Screenshot("screen-en-" + strings.ReplaceAll(route, "/", "-") + ".png")
	}
}
