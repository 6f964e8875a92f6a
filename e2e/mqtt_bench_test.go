package e2e

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMQTTPreAuth measures bk-fleet's RSS while 100 unauthenticated
// connections hold its embedded broker's port, against the same fleet idle
// just before (goal: within 50 MB of idle). The attackers come from five
// loopback addresses, 20 each (the default cap per address), and each sends
// the worst a connection may before it authenticates: a CONNECT header
// declaring the largest size allowed (64 KiB) and 1 KiB of it, then
// nothing. The broker drops each at its CONNECT deadline (5 s) and the
// attacker connects again at once, for 15 s; RSS is sampled every 250 ms
// and the peak reported.
func BenchmarkMQTTPreAuth(b *testing.B) {
	const slots, perAddr = 100, 20
	const window = 15 * time.Second
	for range b.N {
		f := newFleet(b, "")
		f.start()
		pid := f.p.cmd.Process.Pid
		time.Sleep(3 * time.Second) // settle after start
		idle, err := sampleProc(pid)
		if err != nil {
			b.Fatal(err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), window)
		var held, dropped atomic.Int64
		var wg sync.WaitGroup
		// 0x10, remaining length 65536 (0x80 0x80 0x04), then 1 KiB of body
		msg := append([]byte{0x10, 0x80, 0x80, 0x04}, make([]byte, 1024)...)
		for i := range slots {
			from := net.IPv4(127, 0, 0, byte(2+i/perAddr))
			wg.Go(func() {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: time.Second}
				for ctx.Err() == nil {
					c, err := d.DialContext(ctx, "tcp", f.mqtt)
					if err != nil {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					stop := context.AfterFunc(ctx, func() { c.Close() })
					if _, err := c.Write(msg); err == nil {
						held.Add(1)
						buf := make([]byte, 64)
						for {
							if _, err := c.Read(buf); err != nil {
								break
							}
						}
						held.Add(-1)
						if ctx.Err() == nil {
							dropped.Add(1)
						}
					}
					stop()
					c.Close()
				}
			})
		}
		peak, maxHeld := idle.rss, int64(0)
		tick := time.NewTicker(250 * time.Millisecond)
		for ctx.Err() == nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			s, err := sampleProc(pid)
			if err != nil {
				b.Fatal(err)
			}
			peak = max(peak, s.rss)
			maxHeld = max(maxHeld, held.Load())
		}
		tick.Stop()
		cancel()
		wg.Wait()
		if err := f.p.stop(); err != nil {
			b.Error(err)
		}
		b.ReportMetric(float64(idle.rss)/(1<<20), "idle-RSS-MB")
		b.ReportMetric(float64(peak)/(1<<20), "attack-RSS-MB")
		b.ReportMetric(float64(peak-idle.rss)/(1<<20), "delta-RSS-MB")
		b.ReportMetric(float64(maxHeld), "held-conns")
		b.ReportMetric(float64(dropped.Load())/window.Seconds(), "drops/s")
	}
}
