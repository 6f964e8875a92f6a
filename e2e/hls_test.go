package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// hlsPlayback is what the player page reports on HLS.
type hlsPlayback struct {
	Mode    string  `json:"mode"`
	Width   int     `json:"w"`
	Time    float64 `json:"t"`
	Latency float64 `json:"lat"` // ms behind live (hls.js), -1 unknown
	PC      bool    `json:"pc"`  // a peer connection was made
}

const hlsPlaybackJS = `(() => {
  const v = document.getElementById("video");
  const lat = window.bkLatencyMs ? window.bkLatencyMs() : NaN;
  return {mode: window.bkMode ? window.bkMode() : "", w: v.videoWidth, t: v.currentTime,
    lat: Number.isFinite(lat) ? lat : -1, pc: !!(window.bkPeer && window.bkPeer())};
})()`

func readHLSPlayback(tab context.Context) (hlsPlayback, error) {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[hlsPlayback](hlsPlaybackJS))
}

// waitHLSFrames waits until the tab plays HLS with a picture and its video
// time has advanced by at least adv seconds since the first picture.
func waitHLSFrames(t testing.TB, tab context.Context, adv float64, limit time.Duration, what string) hlsPlayback {
	t.Helper()
	var p hlsPlayback
	first := -1.0
	wait.For(t, limit, what, func() bool {
		var err error
		if p, err = readHLSPlayback(tab); err != nil || p.Width == 0 {
			return false
		}
		if first < 0 {
			first = p.Time
		}
		return p.Time >= first+adv
	})
	return p
}

// TestHLSInChromium: with the player's WebRTC path switched off (#hls=1),
// and in a browser that has no RTCPeerConnection at all (the fallback
// chosen by itself), headless Chromium plays the camsim camera through
// the real gateway and fleet over HLS with the vendored hls.js: frames
// decode (videoWidth > 0) and the video time advances. Closing the pages
// ends the HLS sessions and the upstream stops after the linger.
func TestHLSInChromium(t *testing.T) {
	parallelBusy(t)
	r := startLiveRig(t, nil, camsim.Camera{Path: "cam-a", Scene: "kitchen"})
	bctx := browser(t)
	base := fmt.Sprintf("http://%s/live/cam-a#token=%s", r.fleet.http, r.fleet.token)

	start := time.Now()
	forced := openPlayer(t, bctx, base+"&hls=1")
	p := waitHLSFrames(t, forced, 2, 45*time.Second, "HLS frames in Chromium (#hls=1)")
	if p.Mode != "hls" || p.PC {
		t.Fatalf("forced HLS: mode %q, peer connection made %v", p.Mode, p.PC)
	}
	t.Logf("#hls=1: %dpx wide, video time %.1f s, %.0f ms behind live, %v after opening the page",
		p.Width, p.Time, p.Latency, time.Since(start).Round(time.Millisecond))

	// A browser without WebRTC: the player falls back by itself.
	noRTC, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(noRTC, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(noRTC, chromedp.Navigate(base)); err != nil {
		t.Fatal(err)
	}
	p = waitHLSFrames(t, noRTC, 2, 45*time.Second, "HLS frames in Chromium without RTCPeerConnection")
	if p.Mode != "hls" || p.PC {
		t.Fatalf("no WebRTC: mode %q, peer connection made %v", p.Mode, p.PC)
	}
	if n := r.fleet.metric("bk_live_viewers"); n != 2 {
		t.Errorf("bk_live_viewers = %v with two HLS players, want 2", n)
	}
	if n := r.fleet.metric("bk_live_hls_muxers"); n != 1 {
		t.Errorf("bk_live_hls_muxers = %v, want 1 (one per camera)", n)
	}

	// Leaving the pages DELETEs the sessions; the upstream then stops.
	for _, tab := range []context.Context{forced, noRTC} {
		if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
	}
	wait.For(t, 30*time.Second, "HLS sessions ended and upstream stopped", func() bool {
		return r.fleet.metric("bk_live_viewers") == 0 && r.fleet.metric("bk_live_hls_muxers") == 0 &&
			r.fleet.metric("bk_live_upstreams") == 0
	})
}
