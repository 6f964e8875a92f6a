package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/internal/headless"
	"github.com/brightkitchen/brightkitchen/internal/wait"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

// liveRig is camsim, a fleet relaying live views on loopback and a gateway.
type liveRig struct {
	cam    *camsim.Server
	fleet  *fleet
	gw     *proc
	gwHTTP string
}

func startLiveRig(t testing.TB, fleetArgs []string, cams ...camsim.Camera) *liveRig {
	t.Helper()
	r := &liveRig{cam: startCamsim(t, cams...)}
	r.fleet = newFleet(t, "")
	r.fleet.args = append([]string{"--webrtc-loopback", "--live-linger", "3s"}, fleetArgs...)
	r.fleet.start()
	user, pass := r.fleet.addGateway("gw-l", "canteen-l")
	r.gwHTTP = freePort(t)
	urls := map[string]string{}
	for _, c := range cams {
		urls[c.Path] = r.cam.URL(c.Path)
	}
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-l", Broker: "tcp://" + r.fleet.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: r.gwHTTP, Cameras: urls,
	})
	r.gw = startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	// The fleet learns of the cameras from the gateway's first heartbeat.
	wait.For(t, 20*time.Second, "cameras known to the fleet", func() bool {
		for _, g := range r.fleet.gateways() {
			if g.ID == "gw-l" && len(g.Cameras) == len(cams) {
				for _, c := range g.Cameras {
					if !c.Online {
						return false
					}
				}
				return true
			}
		}
		return false
	})
	return r
}

// token makes an API token with bk-fleet token add.
func (f *fleet) tokenFor(role, canteens string) string {
	f.t.Helper()
	args := []string{"token", "add", "--role", role, "--data", f.data}
	if canteens != "" {
		args = append(args, "--canteen", canteens)
	}
	out, err := exec.Command(filepath.Join(binDir, "bk-fleet"), args...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("token add: %v: %s", err, out)
	}
	lines := strings.Fields(string(out))
	return lines[len(lines)-1]
}

// browser is a browser context of its own in the package's headless
// Chromium, which has the flags WebRTC on a loopback-only machine needs.
func browser(t testing.TB) context.Context {
	t.Helper()
	return headless.Session(t,
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"))
}

// playback is what the player page reports.
type playback struct {
	Width   int `json:"w"`
	Decoded int `json:"f"`
}

const playbackJS = `(async () => {
  const pc = window.bkPeer && window.bkPeer();
  let f = 0;
  if (pc) (await pc.getStats()).forEach(s => { if (s.type === "inbound-rtp" && s.kind === "video") f = s.framesDecoded || 0; });
  return {w: document.getElementById("video").videoWidth, f};
})()`

// openPlayer opens /live/{camera} in a new tab and returns the tab.
func openPlayer(t testing.TB, bctx context.Context, url string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return tab
}

func readPlayback(tab context.Context) (playback, error) {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[playback](playbackJS, chromedp.EvalAwaitPromise))
}

// waitDecoding waits until the tab decodes frames beyond min.
func waitDecoding(t testing.TB, tab context.Context, min int, limit time.Duration, what string) playback {
	t.Helper()
	var p playback
	wait.For(t, limit, what, func() bool {
		var err error
		p, err = readPlayback(tab)
		return err == nil && p.Width > 0 && p.Decoded > min
	})
	return p
}

// TestLiveInChromium: a browser opens the player for a camsim camera through
// the real gateway and fleet and decodes frames, also for a camera that
// sends its SPS/PPS only in the SDP and for an H.265 camera (transcoded on
// the gateway); a camera flap while watched resumes without a reload.
func TestLiveInChromium(t *testing.T) {
	parallelBusy(t)
	r := startLiveRig(t, nil, camsim.Camera{Path: "cam-a", Scene: "kitchen"},
		camsim.Camera{Path: "cam-sdp", Scene: "kitchen", ParamsInSDPOnly: true},
		camsim.Camera{Path: "cam-h265", Scene: "kitchen-h265"})
	bctx := browser(t)
	for _, cam := range []string{"cam-a", "cam-sdp", "cam-h265"} {
		start := time.Now()
		tab := openPlayer(t, bctx, fmt.Sprintf("http://%s/live/%s#token=%s", r.fleet.http, cam, r.fleet.token))
		p := waitDecoding(t, tab, 5, 30*time.Second, cam+" decoding in Chromium")
		t.Logf("%s: %dpx wide, %d frames decoded, %v after opening the page", cam, p.Width, p.Decoded, time.Since(start).Round(time.Millisecond))
	}
	// The flap: the viewer stays, the picture resumes.
	tab := openPlayer(t, bctx, fmt.Sprintf("http://%s/live/cam-a#token=%s", r.fleet.http, r.fleet.token))
	p := waitDecoding(t, tab, 5, 30*time.Second, "cam-a decoding before the flap")
	if err := r.cam.StopPath("cam-a"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	before, _ := readPlayback(tab)
	if err := r.cam.StartPath("cam-a"); err != nil {
		t.Fatal(err)
	}
	after := waitDecoding(t, tab, before.Decoded+10, 30*time.Second, "picture resuming after the flap")
	t.Logf("flap: %d frames before, %d after, first session %d", before.Decoded, after.Decoded, p.Decoded)
}

// TestLiveAccess: WHEP without a token, with a token of another canteen or
// with garbage is refused, and an operator of the camera's canteen is let
// in; WHIP with a wrong token is refused.
func TestLiveAccess(t *testing.T) {
	parallelBusy(t)
	r := startLiveRig(t, nil, camsim.Camera{Path: "cam-a", Scene: "kitchen"})
	other := r.fleet.tokenFor("operator", "canteen-x")
	mine := r.fleet.tokenFor("operator", "canteen-l")
	post := func(path, token, contentType, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+r.fleet.http+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, path, token string
		want              int
	}{
		{"WHEP without a token", "/whep/cam-a", "", 401},
		{"WHEP with a wrong token", "/whep/cam-a", "bk_nope", 401},
		{"WHEP with another canteen's operator", "/whep/cam-a", other, 403},
		{"WHEP of an unknown camera as an operator", "/whep/cam-zz", mine, 403},
		{"WHIP when no live view was asked for", "/whip/gw-l:cam-a", "nope", 404},
	} {
		if code, body := post(c.path, c.token, "application/sdp", "v=0\r\n"); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	if code, body := post("/whep/cam-a", mine, "application/sdp", "not an SDP"); code != 400 {
		t.Errorf("garbage offer: %d %s, want 400", code, body)
	}
	if code, body := post("/whep/cam-a", mine, "text/plain", "v=0\r\n"); code != 415 {
		t.Errorf("wrong content type: %d %s, want 415", code, body)
	}
	if code, body := post("/whep/cam-a", mine, "application/sdp", strings.Repeat("a", 1<<20)); code != 413 {
		t.Errorf("oversized offer: %d %.100s, want 413", code, body)
	}
	// The operator of the camera's canteen watches it in a browser.
	tab := openPlayer(t, browser(t), fmt.Sprintf("http://%s/live/cam-a#token=%s", r.fleet.http, mine))
	waitDecoding(t, tab, 5, 30*time.Second, "operator's player decoding")
	// While the camera is live, a WHIP publish needs the session's token.
	for _, c := range []struct {
		name, token string
		want        int
	}{{"WHIP with a wrong token", "nope", 403}, {"WHIP without a token", "", 401}, {"WHIP with an API token", mine, 403}} {
		if code, body := post("/whip/gw-l:cam-a", c.token, "application/sdp", "v=0\r\n"); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	waitDecoding(t, tab, 20, 20*time.Second, "the player still decoding after the refused publishers")

	// A viewer session is ended by its viewer (or an admin) only: another
	// operator of the same canteen is told it does not exist.
	req, _ := http.NewRequest("POST", "http://"+r.fleet.http+"/whep/cam-a", strings.NewReader(rtctest.OfferMinimal))
	req.Header.Set("Authorization", "Bearer "+mine)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 201 || !strings.HasPrefix(loc, "/whep/gw-l:cam-a/") {
		t.Fatalf("WHEP POST: %d, Location %q", resp.StatusCode, loc)
	}
	del := func(token string) int {
		req, _ := http.NewRequest("DELETE", "http://"+r.fleet.http+loc, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	colleague := r.fleet.tokenFor("operator", "canteen-l")
	for _, c := range []struct {
		who, token string
		want       int
	}{{"a colleague", colleague, 404}, {"another canteen's operator", other, 403}, {"its viewer", mine, 200}, {"its viewer again", mine, 404}} {
		if code := del(c.token); code != c.want {
			t.Errorf("DELETE %s by %s: %d, want %d", loc, c.who, code, c.want)
		}
	}
}

// TestLiveManyViewers: 20 browser tabs watch one camera through one
// upstream from the gateway, all decoding; when they leave, the upstream
// stops after the linger.
func TestLiveManyViewers(t *testing.T) {
	parallelBusy(t)
	r := startLiveRig(t, nil, camsim.Camera{Path: "cam-a", Scene: "kitchen"})
	bctx := browser(t)
	url := fmt.Sprintf("http://%s/live/cam-a#token=%s", r.fleet.http, r.fleet.token)
	const n = 20
	// The tabs open at once, as an open day's parents would, and are not
	// left playing one after another while the rest open: a tab decoding
	// and drawing the stream costs Chromium a tenth of a core here.
	tabs := make([]context.Context, n)
	opened := make(chan error, n)
	for i := range tabs {
		tab, cancel := chromedp.NewContext(bctx)
		t.Cleanup(cancel)
		tabs[i] = tab
		go func() { opened <- chromedp.Do(tab, chromedp.Navigate(url)) }()
	}
	for range tabs {
		if err := <-opened; err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
	}
	for i, tab := range tabs {
		waitDecoding(t, tab, 3, 60*time.Second, fmt.Sprintf("viewer %d decoding", i))
	}
	if up := r.fleet.metric("bk_live_upstreams"); up != 1 {
		t.Errorf("bk_live_upstreams = %v with %d viewers, want 1", up, n)
	}
	if v := r.fleet.metric("bk_live_viewers"); v != n {
		t.Errorf("bk_live_viewers = %v, want %d", v, n)
	}
	st, err := getGatewayStatus(r.gwHTTP)
	if err != nil || len(st.Live) != 1 || st.Live[0] != "cam-a" {
		t.Errorf("gateway publishing %v (%v), want [cam-a]", st.Live, err)
	}
	// They leave at once, closing their tabs (the page's pagehide sends
	// the WHEP DELETE); the linger starts when the last one has left,
	// after this instant. Navigating each tab to about:blank in turn, as
	// this did, took 11 s here while the others went on decoding: each
	// navigation started a renderer of its own.
	left := time.Now()
	closed := make(chan error, n)
	for _, tab := range tabs {
		go func() {
			_, err := chromedp.Call(tab, page.Close, cdp.Empty{})
			closed <- err
		}()
	}
	for range tabs {
		if err := <-closed; err != nil {
			t.Fatalf("close a tab: %v", err)
		}
	}
	wait.For(t, 20*time.Second, "no viewers left", func() bool { return r.fleet.metric("bk_live_viewers") == 0 })
	// Each left by its DELETE or by closing its peer connection, whichever
	// reached the relay first; none by the relay giving up on a peer.
	if d, c := r.fleet.metric("bk_live_viewer_drops_total"), r.fleet.metric("bk_live_viewer_drops_total", `reason="closed"`); d != c {
		t.Errorf("bk_live_viewer_drops_total = %v, %v of them closed: viewers ended other than by leaving", d, c)
	}
	wait.For(t, 20*time.Second, "upstream stopped after the linger", func() bool {
		st, err := getGatewayStatus(r.gwHTTP)
		return err == nil && len(st.Live) == 0 && r.fleet.metric("bk_live_upstreams") == 0
	})
	if d := time.Since(left); d < 3*time.Second {
		t.Errorf("upstream stopped %v after the viewers left, before the 3 s linger", d)
	}
}
