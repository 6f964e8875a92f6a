package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// publishCity gives each of the n canteens importCity made a gateway
// with two cameras, one published to everyone, a public notice and
// viewing windows all day, written straight into the fleet's database in
// one transaction (as a city's heartbeats and operators would leave it).
func publishCity(b testing.TB, f *fleet, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := dbtest.Open(ctx, filepath.Join(f.data, "fleet.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UnixMilli()
	always := `[["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"],["00:00-24:00"]]`
	grades := []string{"A", "B", "C", ""}
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE canteens SET viewing = $1`, always); err != nil {
			return err
		}
		for i := range n {
			c, gw := fmt.Sprintf("c%05d", i), fmt.Sprintf("gw-%05d", i)
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateways (id, canteen_id, username, password_hash, created_at)
				VALUES ($1, $2, $1, 'x', $3)`, gw, c, now); err != nil {
				return err
			}
			for k, published := range []bool{true, false} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cameras (gateway_id, camera_id, area, public, published, mapped, online, updated_at)
					VALUES ($1, $2, 'cooking', TRUE, $3, TRUE, TRUE, $4)`, gw, fmt.Sprintf("cam%d", k), published, now); err != nil {
					return err
				}
			}
			g := grades[i%len(grades)]
			insp, on := "", ""
			if g != "" {
				insp, on = "compliant", "2026-01-05"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO canteen_publicity (canteen_id, licence_no, person_in_charge, grade,
				inspection_result, inspected_on) VALUES ($1, $2, $3, $4, $5, $6)`,
				c, fmt.Sprintf("JY1310104%07d", i), "负责人", g, insp, on); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// paintJS is the page's first contentful paint and time to first byte,
// in ms from the navigation's start.
const paintJS = `(() => {
  const p = performance.getEntriesByName("first-contentful-paint")[0];
  const n = performance.getEntriesByType("navigation")[0];
  return JSON.stringify({fcp: p ? p.startTime : -1, ttfb: n ? n.responseStart : -1});
})()`

// BenchmarkPublicKitchensFirstPaint: the public pages (/kitchens, its
// district filter and a canteen's page) in headless Chromium with a
// phone's viewport, on loopback against a real bk-fleet with 5,000
// participating canteens over 16 districts; first contentful paint (the
// page's text: these server-rendered pages have nothing later to wait
// for) and time to first byte, 15 loads each after one warm-up load.
func BenchmarkPublicKitchensFirstPaint(b *testing.B) {
	f := newFleet(b, "")
	f.start()
	importCity(b, f, 5000, 16)
	publishCity(b, f, 5000)
	s := newSession(b, "http://"+f.http)
	s.do("viewport", 10*time.Second, chromedp.EmulateViewport(390, 844))
	pages := []struct{ name, path, ready string }{
		{"list", "/kitchens", `li[data-canteen]`},
		{"district", "/kitchens?district=%E5%8C%BA03&page=2", `li[data-canteen]`},
		{"canteen", "/kitchens/c02500", `#notice`},
	}
	const samples = 15
	for range b.N {
		for _, p := range pages {
			var fcp, ttfb []float64
			for i := range samples + 1 {
				sep := "?"
				if strings.Contains(p.path, "?") {
					sep = "&"
				}
				s.do(p.name, 30*time.Second, chromedp.Navigate(fmt.Sprintf("http://%s%s%sn=%d", f.http, p.path, sep, i)),
					headless.WaitReady(chromedp.CSS(p.ready)))
				var m struct{ FCP, TTFB float64 }
				var v string
				deadline := time.Now().Add(5 * time.Second)
				for {
					v = s.eval(paintJS)
					if _, err := fmt.Sscanf(v, `{"fcp":%g,"ttfb":%g}`, &m.FCP, &m.TTFB); err == nil && m.FCP >= 0 {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%s: no paint timing: %s", p.name, v)
					}
					time.Sleep(50 * time.Millisecond)
				}
				if i > 0 { // the first load warms the browser's cache
					fcp, ttfb = append(fcp, m.FCP), append(ttfb, m.TTFB)
				}
			}
			slices.Sort(fcp)
			slices.Sort(ttfb)
			b.ReportMetric(fcp[len(fcp)/2], p.name+"-fcp-p50-ms")
			b.ReportMetric(fcp[len(fcp)*9/10], p.name+"-fcp-p90-ms")
			b.ReportMetric(ttfb[len(ttfb)/2], p.name+"-ttfb-p50-ms")
		}
	}
}
