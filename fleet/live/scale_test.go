//go:build scale

package live

// The scale test measures the relay's own CPU and memory per real pion
// viewer. The viewers run in a child process (this test binary re-run), so
// the relay process is measured alone. Run it with
//
//	BK_LIVE_SCALE_VIEWERS=300 go test -tags scale -run TestScale -v ./fleet/live/

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

const scaleChildEnv = "BK_LIVE_SCALE_CHILD"

// syntheticPublisher publishes bitrate bit/s of 1200-byte H.264 FU-A
// packets, an IDR every 2 s, over WHIP.
func syntheticPublisher(api *webrtc.API, url, token string, bitrate int, stop <-chan struct{}) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "synthetic")
	if err != nil {
		return err
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		return err
	}
	if _, _, err := signal(pc, url, token, nil); err != nil {
		return err
	}
	const payload = 1200
	pps := bitrate / 8 / (payload + 12)
	interval := time.Second / time.Duration(pps)
	key := append([]byte{0x7c, 0x85}, make([]byte, payload-2)...)
	delta := append([]byte{0x7c, 0x01}, make([]byte, payload-2)...)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 900}, Payload: delta}
		if i%(2*pps) == 0 {
			p.Payload = key
		}
		if err := track.WriteRTP(p); err != nil {
			return err
		}
	}
}

func rssBytes() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func TestScale(t *testing.T) {
	if os.Getenv(scaleChildEnv) != "" {
		t.Skip("child")
	}
	n := 200
	if s := os.Getenv("BK_LIVE_SCALE_VIEWERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	stop := make(chan struct{})
	var pubWG sync.WaitGroup
	e := newEnv(t, 1, false, func(c *Config) { c.MaxViewersPerCamera, c.MaxViewersPerCanteen = -1, -1 })
	e.gw.mu.Lock()
	e.gw.closed = true // publish ourselves
	e.gw.mu.Unlock()
	go func() {
		for tk := range e.gw.startCh {
			pubWG.Go(func() {
				if err := syntheticPublisher(e.api, e.srv.URL+"/whip/cam1", tk.Token, 1_000_000, stop); err != nil {
					t.Logf("publisher: %v", err)
				}
			})
		}
	}()
	defer func() { close(stop); pubWG.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestScaleChild$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", scaleChildEnv, e.srv.URL, n))
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	waitLine := func(prefix string) string {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text()+" ", prefix+" ") {
				return lines.Text()
			}
		}
		t.Fatalf("child ended before %q", prefix)
		return ""
	}

	waitLine("READY 1")
	time.Sleep(2 * time.Second)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss0, heap0, g0 := rssBytes(), ms.HeapInuse, runtime.NumGoroutine()
	t0 := time.Now()
	_, _ = fmt.Fprintln(stdin, "MORE")
	waitLine(fmt.Sprintf("READY %d", n))
	t.Logf("%d more viewers connected in %v", n-1, time.Since(t0).Round(time.Millisecond))
	time.Sleep(3 * time.Second)

	const window = 10 * time.Second
	if p := os.Getenv("BK_LIVE_SCALE_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cpu0, bytes0 := cpuTime(), e.metric("bk_live_bytes_total", "direction", "out")
	time.Sleep(window)
	cpu, sent := cpuTime()-cpu0, e.metric("bk_live_bytes_total", "direction", "out")-bytes0
	runtime.GC()
	runtime.ReadMemStats(&ms)
	rss, heap, g := rssBytes(), ms.HeapInuse, runtime.NumGoroutine()

	if got := e.relay.Viewers("cam1"); got != n {
		t.Fatalf("relay has %d viewers, want %d", got, n)
	}
	core := cpu.Seconds() / window.Seconds()
	t.Logf("viewers=%d relay CPU %.2f cores (%.0f viewers/core at 1 Mbit/s), sent %.1f Mbit/s",
		n, core, float64(n)/core, sent*8/window.Seconds()/1e6)
	t.Logf("per viewer: RSS %.0f KiB, Go heap %.0f KiB, goroutines %.1f",
		float64(rss-rss0)/float64(n-1)/1024, float64(int64(heap)-int64(heap0))/float64(n-1)/1024,
		float64(g-g0)/float64(n-1))
	_, _ = fmt.Fprintln(stdin, "STOP")
	fmt.Fprintln(os.Stderr, waitLine("RECEIVED"))
}

// TestScaleChild runs the viewers of TestScale in a child process.
func TestScaleChild(t *testing.T) {
	arg := os.Getenv(scaleChildEnv)
	if arg == "" {
		t.Skip("run by TestScale")
	}
	url, ns, _ := strings.Cut(arg, ",")
	n, _ := strconv.Atoi(ns)
	api := peerAPI(t)
	var (
		mu      sync.Mutex
		viewers []*rtctest.Viewer
	)
	connect := func() {
		v := &rtctest.Viewer{API: api}
		if _, err := v.Watch(url + "/whep/cam1"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-v.First():
		case <-time.After(30 * time.Second):
			t.Fatal("viewer got no media")
		}
		mu.Lock()
		viewers = append(viewers, v)
		mu.Unlock()
	}
	connect()
	fmt.Println("READY 1")
	in := bufio.NewScanner(os.Stdin)
	in.Scan() // MORE
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for range n - 1 {
		sem <- struct{}{}
		wg.Go(func() { defer func() { <-sem }(); connect() })
	}
	wg.Wait()
	fmt.Printf("READY %d\n", n)
	cpu0, t0 := cpuTime(), time.Now()
	in.Scan() // STOP
	total := 0
	for _, v := range viewers {
		total += v.Packets()
	}
	fmt.Printf("RECEIVED %d packets over %d viewers; viewer process CPU %.2f cores\n",
		total, n, (cpuTime()-cpu0).Seconds()/time.Since(t0).Seconds())
	for _, v := range viewers {
		_ = v.Close()
	}
}
