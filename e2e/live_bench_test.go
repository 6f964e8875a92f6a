package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// BenchmarkLiveFirstFrame measures, in headless Chromium, the time from the
// player's WHEP POST to its first decoded frame (requestVideoFrameCallback),
// for camsim cameras with a GOP of 2 s and 4 s: warm (another viewer keeps
// the upstream running; 10 samples) and on demand (the gateway is not
// publishing yet; 5 samples). Baseline in the same run: the relay's GOP
// cache switched off. Reports the median and p95 of each iteration.
func BenchmarkLiveFirstFrame(b *testing.B) {
	for _, gop := range []int{2, 4} {
		for _, cache := range []bool{true, false} {
			name := fmt.Sprintf("gop=%ds/cache=%v", gop, cache)
			b.Run(name, func(b *testing.B) {
				for range b.N {
					warm, cold := measureFirstFrame(b, gop, cache)
					report(b, "warm", warm)
					report(b, "ondemand", cold)
				}
			})
		}
	}
}

func report(b *testing.B, what string, ms []float64) {
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], what+"-p50-ms")
	b.ReportMetric(ms[min(len(ms)-1, (len(ms)*95+99)/100-1)], what+"-p95-ms")
}

func measureFirstFrame(b *testing.B, gop int, cache bool) (warm, cold []float64) {
	args := []string{"--live-linger", "1s"}
	if !cache {
		args = append(args, "--live-no-gop-cache")
	}
	r := startLiveRig(b, args, camsim.Camera{Path: "cam", Scene: "kitchen", GOP: gop})
	bctx := browser(b)
	url := fmt.Sprintf("http://%s/live/cam#token=%s", r.fleet.http, r.fleet.token)
	sample := func() float64 {
		tab, cancel := chromedp.NewContext(bctx)
		defer cancel()
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			b.Fatal(err)
		}
		var ms float64
		wait.For(b, 30*time.Second, "first frame", func() bool {
			ctx, cancel := context.WithTimeout(tab, 5*time.Second)
			defer cancel()
			v, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("window.bkFirstFrameMs || 0"))
			ms = v
			return err == nil && v > 0
		})
		_ = chromedp.Do(tab, chromedp.Navigate("about:blank"))
		return ms
	}
	idle := func() {
		wait.For(b, 20*time.Second, "upstream stopped", func() bool {
			st, err := getGatewayStatus(r.gwHTTP)
			return err == nil && len(st.Live) == 0 && r.fleet.metric("bk_live_upstreams") == 0
		})
	}
	for range 5 {
		idle()
		cold = append(cold, sample())
	}
	keeper := openPlayer(b, bctx, url)
	waitDecoding(b, keeper, 3, 30*time.Second, "keeper decoding")
	for i := range 10 {
		// Join at different points of the GOP.
		time.Sleep(time.Duration(300+i*137%1000) * time.Millisecond)
		warm = append(warm, sample())
	}
	r.gw.kill()
	r.fleet.p.kill()
	return warm, cold
}
