package web_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/web"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// The push settings page in headless Chromium against the real API.

// TestUIPush: an operator sees the canteen's shared 企业微信 channel
// (never its key), subscribes to it, adds a robot of its own, and reads
// in the delivery log a push that failed, with its tries and error.
func TestUIPush(t *testing.T) {
	w := newWorld(t)
	var shared struct {
		ID string `json:"id"`
	}
	w.call("POST", "/api/v1/push/channels", map[string]any{"kind": "wecom", "name": "后厨群", "scope": "canteen", "scope_id": canteenID,
		"config": map[string]any{"key": "SHAREDKEY123"}}, &shared)
	ctx := t.Context()
	now := time.Now()
	if _, err := w.st.Push.Enqueue(ctx, push.Item{Key: "alarm:9", Kind: push.ItemAlarm, CanteenID: canteenID, ViolationID: w.mask, At: now},
		[]push.Dest{{ChannelID: shared.ID}}, now); err != nil {
		t.Fatal(err)
	}
	ds, err := w.st.Push.Claim(ctx, "test", now, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim %v, %v", ds, err)
	}
	if err := w.st.Push.Done(ctx, ds[0].ID, "test", fmt.Errorf("HTTP 500: \"busy\""), now.Add(time.Hour), false, now); err != nil {
		t.Fatal(err)
	}

	b := web.NewBrowser(t, w.base)
	b.Login("zhang.op", password)
	b.Do("push page", 30*time.Second, chromedp.Navigate(w.base+"/#/push"),
		headless.WaitReady(css(`body[data-page="push"] [data-channel="`+shared.ID+`"]`)))
	if html := b.Eval(`document.body.innerHTML`); strings.Contains(html, "SHAREDKEY123") {
		t.Fatal("the page shows the channel's key")
	}
	if got := b.Text(`[data-delivery] [data-error="1"]`); !strings.Contains(got, "HTTP 500") {
		t.Errorf("delivery log error %q", got)
	}
	if got := b.Text(`[data-delivery] td.num`); got != "1" {
		t.Errorf("delivery log tries %q", got)
	}
	b.Do("subscribe", 30*time.Second, headless.Click(css(`[data-subscribe="`+shared.ID+`"]`)),
		headless.WaitVisible(css(`#toast.show.ok`)),
		headless.WaitReady(css(`[data-channel="`+shared.ID+`"][data-subscribed="1"]`)))
	b.Do("own robot", 30*time.Second,
		headless.SendKeys(css(`#push-add-form input[name="name"]`), "我的机器人"),
		headless.SendKeys(css(`#push-add-form input[name="key"]`), "OWNKEY456"),
		headless.Click(css(`#push-add-submit`)),
		headless.WaitReady(css(`body[data-page="push"] [data-channel]:nth-of-type(2)`)))
	if html := b.Eval(`document.body.innerHTML`); strings.Contains(html, "OWNKEY456") {
		t.Fatal("the page shows the new robot's key")
	}
	var subs struct {
		Subscriptions []push.Subscription `json:"subscriptions"`
	}
	w.call("GET", "/api/v1/push/subscriptions?user=zhang.op", nil, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].ChannelID != shared.ID || len(subs.Subscriptions[0].Kinds) != 0 {
		t.Errorf("subscriptions %+v", subs.Subscriptions)
	}
	var chs struct {
		Channels []push.Channel `json:"channels"`
	}
	w.call("GET", "/api/v1/push/channels", nil, &chs)
	if !slices.ContainsFunc(chs.Channels, func(c push.Channel) bool { return c.Scope == "user" && c.ScopeID == "zhang.op" && c.Kind == "wecom" }) {
		t.Errorf("channels %+v", chs.Channels)
	}
	b.CheckErrors("end")
}
