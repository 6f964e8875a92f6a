package camera

// Long file: every camera fault (auth, codec, loss, reconnect, GOP cache)
// against a real RTSP server.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Parameter sets of real encoders, as used in gortsplib's own tests.
var (
	h264SPS = []byte{
		0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02,
		0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9,
		0x20,
	}
	h264PPS = []byte{0x68, 0xce, 0x3c, 0x80}
	// a second SPS (1280x720 high profile, from a VLC RTSP server)
	h264SPS2 = []byte{
		0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50,
		0x05, 0xbb, 0x01, 0x6c, 0x80, 0x00, 0x00, 0x03,
		0x00, 0x80, 0x00, 0x00, 0x1e, 0x07, 0x8c, 0x18,
		0xcb,
	}
	h265VPS = []byte{
		0x40, 0x1, 0xc, 0x1, 0xff, 0xff, 0x1, 0x60,
		0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3,
		0x0, 0x0, 0x3, 0x0, 0x78, 0x99, 0x98, 0x9,
	}
	h265SPS = []byte{
		0x42, 0x1, 0x1, 0x1, 0x60, 0x0, 0x0, 0x3,
		0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3,
		0x0, 0x78, 0xa0, 0x3, 0xc0, 0x80, 0x10, 0xe5,
		0x96, 0x66, 0x69, 0x24, 0xca, 0xe0, 0x10, 0x0,
		0x0, 0x3, 0x0, 0x10, 0x0, 0x0, 0x3, 0x1,
		0xe0, 0x80,
	}
	h265PPS = []byte{0x44, 0x1, 0xc1, 0x72, 0xb4, 0x62, 0x40}
)

// testCam is an in-process RTSP camera: a gortsplib server on 127.0.0.1
// serving one path of synthetic access units (valid NALU headers, filler
// payload) at a fixed rate.
type testCam struct {
	Codec    string // CodecH264 (default) or CodecH265
	FPS      int    // default 25
	GOP      int    // units per GOP, default 10
	InBand   bool   // send parameter sets with each IDR
	SPS      []byte // in-band SPS when InBand (default: the SDP one)
	IDRSize  int    // default 3000 (fragmented over several packets)
	PSize    int    // default 400
	NoVideo  bool   // offer an audio track only
	NoMarker bool   // never set the RTP marker bit (some cameras do not)

	srv    *gortsplib.Server
	addr   string
	mu     sync.Mutex
	stream *gortsplib.ServerStream
	enc    interface {
		Encode([][]byte) ([]*rtp.Packet, error)
	}
	frame  int
	paused bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// start listens on addr ("127.0.0.1:0" for any port) and starts serving.
func (c *testCam) start(t *testing.T, addr string) {
	t.Helper()
	if c.Codec == "" {
		c.Codec = CodecH264
	}
	if c.FPS == 0 {
		c.FPS = 25
	}
	if c.GOP == 0 {
		c.GOP = 10
	}
	if c.IDRSize == 0 {
		c.IDRSize = 3000
	}
	if c.PSize == 0 {
		c.PSize = 400
	}
	c.srv = &gortsplib.Server{Handler: c, RTSPAddress: addr}
	if err := c.srv.Start(); err != nil {
		t.Fatal(err)
	}
	c.addr = c.srv.NetListener().Addr().String()
	c.setOnline(t, true)
	c.stop = make(chan struct{})
	c.wg.Go(c.write)
	t.Cleanup(c.close)
}

func (c *testCam) url() string { return "rtsp://" + c.addr + "/kitchen" }

func (c *testCam) close() {
	if c.stop == nil {
		return
	}
	close(c.stop)
	c.wg.Wait()
	c.stop = nil
	c.mu.Lock()
	if c.stream != nil {
		c.stream.Close()
		c.stream = nil
	}
	c.mu.Unlock()
	c.srv.Close()
}

// setOnline publishes the path (a fresh stream starting with an IDR) or
// withdraws it, which disconnects every reader.
func (c *testCam) setOnline(t *testing.T, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream != nil {
		c.stream.Close()
		c.stream = nil
	}
	if !on {
		return
	}
	var forma format.Format
	switch {
	case c.NoVideo:
		forma = &format.G711{PayloadTyp: 8, MULaw: false, SampleRate: 8000, ChannelCount: 1}
	case c.Codec == CodecH265:
		f := &format.H265{PayloadTyp: 96, VPS: h265VPS, SPS: h265SPS, PPS: h265PPS}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		forma, c.enc = f, enc
	default:
		f := &format.H264{PayloadTyp: 96, SPS: h264SPS, PPS: h264PPS, PacketizationMode: 1}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		forma, c.enc = f, enc
	}
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{forma},
	}}}
	if c.NoVideo {
		desc.Medias[0].Type = description.MediaTypeAudio
	}
	st := &gortsplib.ServerStream{Server: c.srv, Desc: desc}
	if err := st.Initialize(); err != nil {
		t.Fatal(err)
	}
	c.stream, c.frame = st, 0
}

// pause stops or resumes sending while the session stays up.
func (c *testCam) pause(p bool) {
	c.mu.Lock()
	c.paused = p
	c.mu.Unlock()
}

func (c *testCam) unit(idr bool) [][]byte {
	fill := func(hdr []byte, n int) []byte {
		b := append([]byte(nil), hdr...)
		return append(b, bytes.Repeat([]byte{0xab}, n-len(hdr))...)
	}
	if c.Codec == CodecH265 {
		if !idr {
			return [][]byte{fill([]byte{0x02, 0x01}, c.PSize)} // TRAIL_R
		}
		au := [][]byte{fill([]byte{0x26, 0x01}, c.IDRSize)} // IDR_W_RADL
		if c.InBand {
			au = append([][]byte{h265VPS, h265SPS, h265PPS}, au...)
		}
		return au
	}
	if !idr {
		return [][]byte{fill([]byte{0x41}, c.PSize)}
	}
	au := [][]byte{fill([]byte{0x65}, c.IDRSize)}
	if c.InBand {
		sps := c.SPS
		if sps == nil {
			sps = h264SPS
		}
		au = append([][]byte{sps, h264PPS}, au...)
	}
	return au
}

func (c *testCam) write() {
	tick := time.NewTicker(time.Second / time.Duration(c.FPS))
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		if c.stream != nil && !c.paused && c.enc != nil && !c.NoVideo {
			pkts, err := c.enc.Encode(c.unit(c.frame%c.GOP == 0))
			if err == nil {
				ts := uint32(c.frame * 90000 / c.FPS)
				for _, p := range pkts {
					p.Timestamp = ts
					if c.NoMarker {
						p.Marker = false
					}
					_ = c.stream.WritePacketRTP(c.stream.Desc.Medias[0], p)
				}
			}
			c.frame++
		}
		c.mu.Unlock()
	}
}

func (c *testCam) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

func (c *testCam) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return c.OnDescribe(nil)
}

func (c *testCam) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func startSource(t *testing.T, s *Source) *Source {
	t.Helper()
	if s.BackoffMin == 0 {
		s.BackoffMin = 50 * time.Millisecond
	}
	if s.BackoffMax == 0 {
		s.BackoffMax = 400 * time.Millisecond
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = time.Second
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func online(s *Source) func() bool { return func() bool { return s.Health().Online } }

// Not parallel: beside the other streams of this package on a loaded
// run, its session once timed out and reconnected, which resets Since.
func TestOnlineAndHealth(t *testing.T) {
	cam := &testCam{}
	cam.start(t, "127.0.0.1:0")

	var mu sync.Mutex
	var changes []Health
	var inCallback atomic.Int32
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), OnHealth: func(h Health) {
		if inCallback.Add(1) != 1 {
			t.Error("OnHealth called concurrently")
		}
		mu.Lock()
		changes = append(changes, h)
		mu.Unlock()
		inCallback.Add(-1)
	}})
	if h := s.Health(); h.Online || h.Since.IsZero() {
		t.Errorf("before the first frame: %+v", h)
	}

	wait.For(t, 2*time.Second, "online", online(s))
	// 1.6 s of frames at 25 fps, counted rather than slept for: the rates
	// below are over the camera's own pacing.
	wait.For(t, 10*time.Second, "40 frames", func() bool { return s.Stats().Frames >= 40 })

	h := s.Health()
	// 25 fps; per GOP of 10 units: one 3000-byte IDR and nine 400-byte units,
	// so 25/10*(3000+9*400)*8/1000 = 132 kbps
	if h.FPS < 18 || h.FPS > 32 {
		t.Errorf("fps %.1f, want about 25", h.FPS)
	}
	if h.Kbps < 90 || h.Kbps > 180 {
		t.Errorf("kbps %.1f, want about 132", h.Kbps)
	}
	if h.LastFrameAge > 500*time.Millisecond || h.Err != "" || time.Since(h.Since) < time.Second {
		t.Errorf("health %+v", h)
	}

	m, ok := s.Media()
	if !ok || m.Codec != CodecH264 || !bytes.Equal(m.SPS, h264SPS) || !bytes.Equal(m.PPS, h264PPS) {
		t.Errorf("media %+v, %v", m, ok)
	}
	if m.Width != 1920 || m.Height != 1080 {
		t.Errorf("size %dx%d, want 1920x1080 from the SPS", m.Width, m.Height)
	}

	st := s.Stats()
	if st.Sessions != 1 || st.Attempts != 1 || st.Frames < 30 || st.Bytes < 10000 || st.DecodeErrors != 0 {
		t.Errorf("stats %+v", st)
	}

	mu.Lock()
	if len(changes) != 1 || !changes[0].Online {
		t.Errorf("OnHealth calls %+v, want one Online", changes)
	}
	mu.Unlock()

	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || changes[1].Online {
		t.Errorf("after Close, OnHealth calls %+v, want a last one offline", changes)
	}
}

func TestH265(t *testing.T) {
	cam := &testCam{Codec: CodecH265}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), Transport: "tcp"})
	wait.For(t, 2*time.Second, "online", online(s))
	m, _ := s.Media()
	if m.Codec != CodecH265 || !bytes.Equal(m.VPS, h265VPS) || m.Width == 0 || m.Height == 0 {
		t.Errorf("media %+v", m)
	}
	wait.For(t, 2*time.Second, "a GOP", func() bool { return len(s.GOP()) > 2 })
	gop := s.GOP()
	first := gop[0]
	if !first.IDR || len(first.NALUs) != 4 || !bytes.Equal(first.NALUs[0], h265VPS) ||
		!bytes.Equal(first.NALUs[1], h265SPS) || !bytes.Equal(first.NALUs[2], h265PPS) {
		t.Errorf("first unit of the GOP: IDR %v, %d NALUs", first.IDR, len(first.NALUs))
	}
}

func TestFanOut(t *testing.T) {
	t.Parallel()
	cam := &testCam{FPS: 50}
	cam.start(t, "127.0.0.1:0")
	// TCP: with auto, a loaded machine can miss UDP's first packets,
	// switch to TCP and start a new session, whose timestamps start over.
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), Transport: "tcp"})

	fast1, fast2, slow := s.Subscribe(64), s.Subscribe(64), s.Subscribe(2)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, sub := range []*Subscription{fast1, fast2} {
		wg.Go(func() {
			var prev time.Duration = -1
			for au := range sub.C() {
				if au.PTS <= prev {
					t.Errorf("subscriber %d: PTS %v after %v", i, au.PTS, prev)
				}
				prev = au.PTS
				counts[i]++
			}
		})
	}

	wait.For(t, 2*time.Second, "online", online(s))
	wait.For(t, 3*time.Second, "50 units", func() bool { return s.Stats().Frames >= 50 })
	fast1.Close()
	fast2.Close()
	fast1.Close() // twice is fine
	wg.Wait()

	frames := s.Stats().Frames
	for i, n := range counts {
		if n < 45 || uint64(n) > frames {
			t.Errorf("fast subscriber %d got %d of %d units", i, n, frames)
		}
	}
	if fast1.Dropped() != 0 || fast2.Dropped() != 0 {
		t.Errorf("fast subscribers dropped %d, %d", fast1.Dropped(), fast2.Dropped())
	}
	if slow.Dropped() < 40 || len(slow.C()) != 2 {
		t.Errorf("slow subscriber: %d dropped, %d queued", slow.Dropped(), len(slow.C()))
	}
	if st := s.Stats(); st.Dropped < slow.Dropped() {
		t.Errorf("Stats.Dropped %d < %d", st.Dropped, slow.Dropped())
	}

	s.Close()
	n := 0
	for range slow.C() { // closed by Source.Close
		n++
	}
	if n != 2 {
		t.Errorf("slow subscriber drained %d units", n)
	}
	if _, open := <-s.Subscribe(1).C(); open {
		t.Error("Subscribe after Close: channel open")
	}
}

func TestGOPCache(t *testing.T) {
	// parameter sets only in the SDP: the cache must re-insert them
	cam := &testCam{FPS: 50, GOP: 10}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url()})
	wait.For(t, 2*time.Second, "online", online(s))

	for range 20 {
		gop := s.GOP()
		if len(gop) > 10 {
			t.Fatalf("GOP of %d units, the camera's GOP is 10", len(gop))
		}
		if len(gop) > 0 {
			if !gop[0].IDR || len(gop[0].NALUs) != 3 || !bytes.Equal(gop[0].NALUs[0], h264SPS) ||
				!bytes.Equal(gop[0].NALUs[1], h264PPS) || gop[0].NALUs[2][0] != 0x65 {
				t.Fatalf("GOP starts with IDR=%v, %d NALUs", gop[0].IDR, len(gop[0].NALUs))
			}
			for _, au := range gop[1:] {
				if au.IDR {
					t.Fatal("second IDR in the GOP")
				}
			}
		}
		time.Sleep(37 * time.Millisecond)
	}

	sub := s.SubscribeGOP(16)
	first := <-sub.C()
	if !first.IDR {
		t.Error("SubscribeGOP: first unit is not an IDR")
	}
	sub.Close()
}

func TestGOPBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxUnits int
		maxBytes int
	}{
		{"units", 5, 0},
		{"bytes", 0, 3000 + 100 + 4*400}, // an IDR with its parameter sets and 4 more
	} {
		t.Run(tc.name, func(t *testing.T) {
			cam := &testCam{FPS: 50, GOP: 10}
			cam.start(t, "127.0.0.1:0")
			s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), GOPMaxUnits: tc.maxUnits, GOPMaxBytes: tc.maxBytes})
			wait.For(t, 2*time.Second, "online", online(s))
			empty, full := false, false
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) && !(empty && full) {
				gop := s.GOP()
				bytes := 0
				for _, au := range gop {
					bytes += au.Size()
				}
				if len(gop) > 5 || bytes > 3000+100+4*400 {
					t.Fatalf("GOP of %d units, %d bytes: over its bounds", len(gop), bytes)
				}
				if len(gop) > 0 && !gop[0].IDR {
					t.Fatal("GOP does not start with an IDR")
				}
				empty = empty || len(gop) == 0
				full = full || len(gop) == 5
				time.Sleep(5 * time.Millisecond)
			}
			if !empty || !full {
				t.Errorf("saw an empty cache %v, a full one %v", empty, full)
			}
			if s.Stats().GOPOverflows == 0 {
				t.Error("no overflow counted")
			}
		})
	}
}

func TestInBandParameterSets(t *testing.T) {
	// the camera announces one SPS and sends another in-band
	cam := &testCam{InBand: true, SPS: h264SPS2}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url()})
	wait.For(t, 2*time.Second, "the in-band SPS", func() bool {
		m, _ := s.Media()
		return bytes.Equal(m.SPS, h264SPS2)
	})
	if m, _ := s.Media(); m.Width != 1280 || m.Height != 720 {
		t.Errorf("size %dx%d, want 1280x720 from the in-band SPS", m.Width, m.Height)
	}
	wait.For(t, 2*time.Second, "a GOP", func() bool { return len(s.GOP()) > 0 })
	if gop := s.GOP(); len(gop[0].NALUs) != 3 || !bytes.Equal(gop[0].NALUs[0], h264SPS2) {
		t.Errorf("in-band parameter sets not kept as sent")
	}
}

func TestReconnect(t *testing.T) {
	cam := &testCam{}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), BackoffMin: 50 * time.Millisecond, BackoffMax: 800 * time.Millisecond})
	wait.For(t, 2*time.Second, "online", online(s))

	cam.setOnline(t, false)
	wait.For(t, 2*time.Second, "offline", func() bool { return !s.Health().Online })
	if h := s.Health(); h.FPS != 0 || h.Err == "" {
		t.Errorf("offline health %+v", h)
	}
	if len(s.GOP()) != 0 {
		t.Error("GOP kept after the session ended")
	}
	// DESCRIBE now answers 404: the wait doubles after each attempt
	var seen []time.Duration
	wait.For(t, 5*time.Second, "backoff to reach 400ms", func() bool {
		b := s.Backoff()
		if len(seen) == 0 || seen[len(seen)-1] != b {
			seen = append(seen, b)
		}
		return b >= 400*time.Millisecond
	})
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("backoff went down while failing: %v", seen)
		}
	}
	if !strings.Contains(s.Health().Err, "404") {
		t.Errorf("Err %q, want the 404", s.Health().Err)
	}

	back := time.Now()
	limit := s.Backoff() + 2*time.Second
	cam.setOnline(t, true)
	wait.For(t, limit, "online again", online(s))
	t.Logf("online again after %v (backoff %v)", time.Since(back), s.Backoff())
	if s.Backoff() != 50*time.Millisecond {
		t.Errorf("backoff %v after frames, want reset to 50ms", s.Backoff())
	}
	if st := s.Stats(); st.Sessions != 2 {
		t.Errorf("stats %+v, want 2 sessions", st)
	}
}

func TestBackoffCapped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startSource(t, &Source{ID: "cam-1", URL: "rtsp://" + addr + "/x", BackoffMin: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond})
	wait.For(t, 3*time.Second, "8 attempts", func() bool { return s.Stats().Attempts >= 8 })
	if b := s.Backoff(); b != 40*time.Millisecond {
		t.Errorf("backoff %v, want capped at 40ms", b)
	}
}

func TestFirstConnectRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	s := startSource(t, &Source{ID: "cam-1", URL: "rtsp://" + addr + "/kitchen", BackoffMin: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	wait.For(t, 3*time.Second, "3 failed attempts", func() bool { return s.Stats().Attempts >= 3 })
	if h := s.Health(); h.Online || !strings.Contains(h.Err, "refused") {
		t.Errorf("health %+v, want offline with connection refused", h)
	}

	cam := &testCam{}
	cam.start(t, addr)
	wait.For(t, s.Backoff()+2*time.Second, "online once the camera appears", online(s))
}

func TestReadTimeout(t *testing.T) {
	t.Parallel()
	cam := &testCam{}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), ReadTimeout: 500 * time.Millisecond})
	wait.For(t, 2*time.Second, "online", online(s))

	cam.pause(true) // the session stays up, the pictures stop
	paused := time.Now()
	wait.For(t, 2*time.Second, "offline", func() bool { return !s.Health().Online })
	if d := time.Since(paused); d < 400*time.Millisecond {
		t.Errorf("offline after %v, before ReadTimeout", d)
	}
	if h := s.Health(); h.LastFrameAge < 400*time.Millisecond {
		t.Errorf("LastFrameAge %v", h.LastFrameAge)
	}
	cam.pause(false)
	wait.For(t, 3*time.Second, "online again", online(s))
}

func TestNoVideo(t *testing.T) {
	cam := &testCam{NoVideo: true}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url()})
	wait.For(t, 2*time.Second, "an error", func() bool { return s.Health().Err != "" })
	if h := s.Health(); h.Online || h.Err != ErrNoVideo.Error() {
		t.Errorf("health %+v", h)
	}
	if _, ok := s.Media(); ok {
		t.Error("media known without a video track")
	}
}

func TestFlapsNoLeak(t *testing.T) {
	cam := &testCam{FPS: 50, GOP: 5}
	cam.start(t, "127.0.0.1:0")
	s := startSource(t, &Source{ID: "cam-1", URL: cam.url(), BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	wait.For(t, 2*time.Second, "online", online(s))
	sub := s.Subscribe(1000)
	defer sub.Close()

	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	for i := range 20 {
		cam.setOnline(t, false)
		wait.For(t, 2*time.Second, fmt.Sprintf("flap %d offline", i), func() bool { return !s.Health().Online })
		cam.setOnline(t, true)
		wait.For(t, 2*time.Second, fmt.Sprintf("flap %d online", i), online(s))
	}
	time.Sleep(100 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > base+5 {
		t.Errorf("%d goroutines after 20 flaps, %d before", n, base)
	}
	if st := s.Stats(); st.Sessions != 21 {
		t.Errorf("sessions %d, want 21", st.Sessions)
	}
}

func TestStartErrors(t *testing.T) {
	for _, s := range []*Source{
		{ID: "a", URL: "http://127.0.0.1/x"},
		{ID: "a", URL: "rtsp://"},
		{ID: "a", URL: "::"},
		{ID: "a", URL: "rtsp://127.0.0.1/x", Transport: "quic"},
	} {
		if err := s.Start(context.Background()); err == nil {
			t.Errorf("Start(%q, %q) accepted", s.URL, s.Transport)
			s.Close()
		}
	}
	s := &Source{ID: "a", URL: "rtsp://127.0.0.1:1/x"}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v", err)
	}
	s.Close()
	s.Close()
	if err := s.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
	(&Source{}).Close() // never started
}

func TestContextEndsLoop(t *testing.T) {
	cam := &testCam{}
	cam.start(t, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{ID: "cam-1", URL: cam.url()}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 2*time.Second, "online", online(s))
	cancel()
	wait.For(t, 2*time.Second, "offline", func() bool { return !s.Health().Online })
	s.Close()
}

func TestPTS(t *testing.T) {
	t.Parallel()
	for _, noMarker := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_marker=%v", noMarker), func(t *testing.T) {
			cam := &testCam{NoMarker: noMarker}
			cam.start(t, "127.0.0.1:0")
			s := startSource(t, &Source{ID: "cam-1", URL: cam.url()})
			sub := s.Subscribe(64)
			defer sub.Close()
			var units []AccessUnit
			timeout := time.After(3 * time.Second)
			for len(units) < 12 {
				select {
				case au := <-sub.C():
					units = append(units, au)
				case <-timeout:
					t.Fatalf("%d units in 3s", len(units))
				}
			}
			for i := 1; i < len(units); i++ {
				if d := units[i].PTS - units[i-1].PTS; d != 40*time.Millisecond {
					t.Errorf("unit %d: PTS step %v, want 40ms (25 fps)", i, d)
				}
				if units[i].NTP.Before(units[i-1].NTP) {
					t.Errorf("unit %d: NTP goes back", i)
				}
				if want := units[i].NALUs[0][0] == 0x65 || units[i].NALUs[0][0] == 0x67; units[i].IDR != want {
					t.Errorf("unit %d: IDR %v", i, units[i].IDR)
				}
			}
		})
	}
}
