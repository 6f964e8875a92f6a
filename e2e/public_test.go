package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// liveEndpoint is a way a viewer asks for a camera's live picture, for
// the refusal tables: WHEP and HLS (the same watchable check).
type liveEndpoint struct {
	name string
	req  func(base, camera string) *http.Request
}

var liveEndpoints = []liveEndpoint{
	{"WHEP", func(base, camera string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/whep/"+camera, strings.NewReader(rtctest.OfferMinimal))
		req.Header.Set("Content-Type", "application/sdp")
		return req
	}},
	{"HLS", func(base, camera string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/hls/"+camera, nil)
		return req
	}},
}

// anonymousAsk sends an endpoint's request with no credentials and
// returns the status and the error code of the answer.
func anonymousAsk(t *testing.T, e liveEndpoint, base, camera string) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(e.req(base, camera))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var e2 struct{ Code string }
	_ = json.Unmarshal(b, &e2)
	if resp.StatusCode == 201 {
		// A view started: give it back.
		if loc := resp.Header.Get("Location"); loc != "" {
			// An HLS session's Location is its playlist; the session is its folder.
			del, _ := http.NewRequest("DELETE", base+strings.TrimSuffix(loc, "/index.m3u8"), nil)
			if r2, err := http.DefaultClient.Do(del); err == nil {
				r2.Body.Close()
			}
		}
	}
	return resp.StatusCode, e2.Code
}

// TestPublicKitchen: a visitor with no login opens a canteen's public
// page in headless Chromium and sees its notice and only the camera
// published to everyone, playing (frames decoded), inside the viewing
// window; the cameras for parents or staff are not on the page and their
// live endpoints refuse a request without credentials. Outside the
// window (and once unpublished) nothing plays: the page says when it
// opens next, the endpoints refuse, and the view that was playing is
// ended by the fleet's recheck.
func TestPublicKitchen(t *testing.T) {
	parallelBusy(t)
	// A recheck every 2 s rather than 30: the test waits for it below.
	r := startLiveRig(t, []string{"--live-recheck", "2s"}, camsim.Camera{Path: "cam-pub", Scene: "kitchen"},
		camsim.Camera{Path: "cam-par", Scene: "kitchen"}, camsim.Camera{Path: "cam-priv", Scene: "kitchen"})
	f := r.fleet
	base := "http://" + f.http
	always := [7][]string{}
	for d := range always {
		always[d] = []string{"00:00-24:00"}
	}
	if status, body := f.api("POST", "/api/v1/canteens", map[string]any{"id": "canteen-l", "name": "徐汇实验小学",
		"category": "school", "district": "徐汇区", "operating_hours": always, "viewing_windows": always}); status != 200 {
		t.Fatalf("register canteen: %d %s", status, body)
	}
	for cam, aud := range map[string]string{"cam-pub": "everyone", "cam-par": "parents", "cam-priv": "private"} {
		if status, body := f.api("PUT", "/api/v1/cameras/gw-l:"+cam, map[string]any{"area": "cooking", "audience": aud}); status != 200 {
			t.Fatalf("publish %s: %d %s", cam, status, body)
		}
	}
	if status, body := f.api("PUT", "/api/v1/canteens/canteen-l/publicity", map[string]any{"licence_no": "JY13101040001234",
		"person_in_charge": "张经理", "grade": "A", "inspection_result": "compliant", "inspected_on": "2026-01-05"}); status != 200 {
		t.Fatalf("notice: %d %s", status, body)
	}

	// The list, then the canteen's page, as a visitor.
	v := newSession(t, base)
	v.do("the public list", 30*time.Second, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/kitchens"),
		headless.WaitReady(chromedp.CSS(`li[data-canteen="canteen-l"]`)))
	v.do("the canteen's page playing", 60*time.Second, chromedp.Navigate(base+"/kitchens/canteen-l"),
		headless.WaitReady(chromedp.CSS(`figure[data-camera="gw-l:cam-pub"][data-playing="true"]`)))
	frames := func() int {
		n, _ := strconv.Atoi(v.eval(`(async () => { let f = 0;
			for (const pc of window.bkPeers()) (await pc.getStats()).forEach(s => { if (s.type === "inbound-rtp" && s.kind === "video") f += s.framesDecoded || 0; });
			return String(f); })()`))
		return n
	}
	wait.For(t, 30*time.Second, "frames decoded on the public page", func() bool { return frames() > 10 })
	if n := v.eval(`String(document.querySelectorAll("figure[data-camera]").length)`); n != "1" {
		t.Errorf("%s cameras on the public page, want 1 (the published one)", n)
	}
	for sel, want := range map[string]string{"#licence": "JY13101040001234", "#grade": "A 级（优秀）", "#person": "张经理",
		"#inspection": "符合 · 2026-01-05"} {
		if got := strings.TrimSpace(v.text(sel)); got != want {
			t.Errorf("notice %s = %q, want %q", sel, got, want)
		}
	}
	if href := v.eval(`document.getElementById("complain").getAttribute("href")`); href != "/complain?canteen=canteen-l" {
		t.Errorf("complaint link %q", href)
	}
	v.screenshot("public-kitchen.png")

	// Inside the window: only the published camera is served.
	for _, e := range liveEndpoints {
		for _, c := range []struct {
			camera string
			status int
			code   string
		}{
			{"gw-l:cam-par", 401, "unauthenticated"},
			{"gw-l:cam-priv", 401, "unauthenticated"},
			{"gw-l:cam-nope", 401, "unauthenticated"},
			{"cam-par", 401, "unauthenticated"},
		} {
			if status, code := anonymousAsk(t, e, base, c.camera); status != c.status || code != c.code {
				t.Errorf("%s %s, no login, inside the window: %d %s; want %d %s", e.name, c.camera, status, code, c.status, c.code)
			}
		}
	}
	publicViewers := func() int {
		var cams struct {
			Cameras []struct {
				Key           string `json:"key"`
				PublicViewers int    `json:"public_viewers"`
			} `json:"cameras"`
		}
		_, body := f.api("GET", "/api/v1/canteens/canteen-l/cameras", nil)
		_ = json.Unmarshal([]byte(body), &cams)
		n := 0
		for _, c := range cams.Cameras {
			n += c.PublicViewers
		}
		return n
	}
	if n := publicViewers(); n != 1 {
		t.Errorf("public viewers counted for staff: %d, want 1", n)
	}
	if m := f.metric("bk_fleet_public_views_total"); m < 1 {
		t.Errorf("bk_fleet_public_views_total = %v", m)
	}

	// The window closes: the page says when it opens next, nothing plays,
	// the endpoints refuse, and the recheck ends the view that played.
	closed := [7][]string{}
	closed[time.Now().Add(48*time.Hour).Weekday()] = []string{"11:00-12:00"}
	if status, body := f.api("PUT", "/api/v1/canteens/canteen-l/viewing", map[string]any{"viewing_windows": closed}); status != 200 {
		t.Fatalf("close the window: %d %s", status, body)
	}
	for _, e := range liveEndpoints {
		for _, c := range []struct {
			camera string
			status int
			code   string
		}{
			{"gw-l:cam-pub", 403, "outside_window"},
			{"gw-l:cam-par", 401, "unauthenticated"},
		} {
			if status, code := anonymousAsk(t, e, base, c.camera); status != c.status || code != c.code {
				t.Errorf("%s %s, no login, outside the window: %d %s; want %d %s", e.name, c.camera, status, code, c.status, c.code)
			}
		}
	}
	wait.For(t, 15*time.Second, "the recheck ending the public view", func() bool { return publicViewers() == 0 })
	v.do("the page outside the window", 30*time.Second, chromedp.Navigate(base+"/kitchens/canteen-l"),
		headless.WaitVisible(chromedp.CSS("#closed")))
	if n := v.eval(`String(document.querySelectorAll("video").length)`); n != "0" {
		t.Errorf("%s videos outside the window", n)
	}
	if got := v.text("#closed"); !strings.Contains(got, "下次开放") {
		t.Errorf("closed message %q", got)
	}
	v.screenshot("public-kitchen-closed.png")

	// Unpublished: the canteen leaves the list and its page is gone.
	if status, body := f.api("PUT", "/api/v1/canteens/canteen-l/viewing", map[string]any{"viewing_windows": always}); status != 200 {
		t.Fatalf("reopen the window: %d %s", status, body)
	}
	if status, body := f.api("PUT", "/api/v1/cameras/gw-l:cam-pub", map[string]any{"audience": "parents"}); status != 200 {
		t.Fatalf("unpublish: %d %s", status, body)
	}
	for _, e := range liveEndpoints {
		if status, code := anonymousAsk(t, e, base, "gw-l:cam-pub"); status != 401 || code != "unauthenticated" {
			t.Errorf("%s of the unpublished camera, no login: %d %s; want 401", e.name, status, code)
		}
	}
	resp, err := http.Get(base + "/kitchens/canteen-l")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the page of a canteen with nothing published: %d, want 404", resp.StatusCode)
	}
}
