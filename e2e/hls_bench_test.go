package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// BenchmarkHLSFirstFrame measures, in headless Chromium with the player
// forced to HLS (#hls=1, the vendored hls.js playing the relay's LL-HLS
// in low-latency mode), the
// time from the player's POST /hls/{camera} to its first decoded frame
// (requestVideoFrameCallback), through the real gateway and fleet, for
// camsim cameras with a GOP of 1 s and 2 s: on demand (nothing is
// published yet; 5 samples) and warm (another HLS viewer keeps the
// upstream and the camera's muxer running; 5 samples). With each warm
// sample, after 6 s of playing, how far the picture is behind live: now
// minus hls.js's playingDate, the program date-time of the frame shown,
// which the fleet stamps with the frame's arrival at the relay (so the
// camera → gateway → relay hop, a few ms on loopback, is not in it).
// Reports the median and p95 of each iteration.
func BenchmarkHLSFirstFrame(b *testing.B) {
	for _, gop := range []int{1, 2} {
		b.Run(fmt.Sprintf("gop=%ds", gop), func(b *testing.B) {
			for range b.N {
				cold, warm, behind := measureHLS(b, gop)
				report(b, "ondemand", cold)
				report(b, "warm", warm)
				report(b, "behind-live", behind)
			}
		})
	}
}

func measureHLS(b *testing.B, gop int) (cold, warm, behind []float64) {
	r := startLiveRig(b, []string{"--live-linger", "1s"}, camsim.Camera{Path: "cam", Scene: "kitchen", GOP: gop})
	bctx := browser(b)
	url := fmt.Sprintf("http://%s/live/cam#token=%s&hls=1", r.fleet.http, r.fleet.token)
	eval := func(tab context.Context, js string) (float64, error) {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.Evaluate[float64](js))
	}
	sample := func(lat bool) (first, late float64) {
		tab, cancel := chromedp.NewContext(bctx)
		defer cancel()
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			b.Fatal(err)
		}
		wait.For(b, 30*time.Second, "first HLS frame", func() bool {
			v, err := eval(tab, "window.bkFirstFrameMs || 0")
			first = v
			return err == nil && v > 0
		})
		if lat {
			time.Sleep(6 * time.Second)
			wait.For(b, 10*time.Second, "a latency reading", func() bool {
				v, err := eval(tab, "(x => Number.isFinite(x) ? x : -1)(window.bkLatencyMs())")
				late = v
				return err == nil && v >= 0
			})
		}
		_ = chromedp.Do(tab, chromedp.Navigate("about:blank"))
		return first, late
	}
	idle := func() {
		wait.For(b, 30*time.Second, "upstream stopped", func() bool {
			return r.fleet.metric("bk_live_upstreams") == 0 && r.fleet.metric("bk_live_viewers") == 0
		})
	}
	for range 5 {
		idle()
		f, _ := sample(false)
		cold = append(cold, f)
	}
	keeper := openPlayer(b, bctx, url)
	waitHLSFrames(b, keeper, 1, 30*time.Second, "keeper playing HLS")
	for i := range 5 {
		time.Sleep(time.Duration(300+i*137%1000) * time.Millisecond)
		f, l := sample(true)
		warm, behind = append(warm, f), append(behind, l)
	}
	r.gw.kill()
	r.fleet.p.kill()
	return cold, warm, behind
}
