package live

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/rtc"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

// testLogger logs to stderr with BK_LIVE_TEST_LOG=debug|info, else discards.
func testLogger() *slog.Logger {
	switch os.Getenv("BK_LIVE_TEST_LOG") {
	case "debug":
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case "info":
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// peerAPI is the pion API of the test's publishers and viewers: loopback
// only, with pion's default codecs and interceptors (like a browser).
func peerAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := rtc.BrowserAPI(testLogger().With("side", "peer"))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// env is a relay behind an HTTP server, a fake gateway and its metrics.
type env struct {
	t     testing.TB
	relay *Relay
	srv   *httptest.Server
	gw    *fakeGateway
	reg   *prometheus.Registry
	api   *webrtc.API

	endsMu sync.Mutex
	ends   []string // principals whose sessions ended

	closeOnce sync.Once
	peersMu   sync.Mutex
	peers     []*webrtc.PeerConnection // viewer peers, closed with the env
}

// newEnv starts a relay (loopback, one UDP port) configured by mod, with a
// gateway that publishes scene at gop seconds when auto is set.
func newEnv(t testing.TB, gop int, auto bool, mod func(*Config)) *env {
	t.Helper()
	clip, err := camsim.Clip("kitchen", gop)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, reg: prometheus.NewRegistry(), api: peerAPI(t)}
	e.gw = &fakeGateway{t: t, env: e, clip: clip, pubs: map[string]*publisher{}, startCh: make(chan Ticket, 64)}
	e.gw.auto.Store(auto)
	cfg := Config{
		UDPListen:    "127.0.0.1:0",
		Loopback:     true,
		Linger:       500 * time.Millisecond,
		StartTimeout: 5 * time.Second,
		Start:        e.gw.Start,
		Stop:         e.gw.Stop,
		OnViewerEnd: func(v Viewer, _ string, from, to time.Time) {
			e.endsMu.Lock()
			e.ends = append(e.ends, v.Principal)
			e.endsMu.Unlock()
		},
		Registerer: e.reg,
		Logger:     testLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	e.relay, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/whep/{camera}", func(w http.ResponseWriter, r *http.Request) {
		v := Viewer{Principal: r.Header.Get("X-Principal"), CanteenID: r.Header.Get("X-Canteen"), Role: "parent"}
		if d, err := time.ParseDuration(r.Header.Get("X-Until")); err == nil {
			v.Until = time.Now().Add(d)
		}
		e.relay.WHEP(w, r, r.PathValue("camera"), v)
	})
	mux.HandleFunc("/whep/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		e.relay.WHEPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	mux.HandleFunc("/hls/{camera}", func(w http.ResponseWriter, r *http.Request) {
		v := Viewer{Principal: r.Header.Get("X-Principal"), CanteenID: r.Header.Get("X-Canteen"), Role: "parent"}
		if d, err := time.ParseDuration(r.Header.Get("X-Until")); err == nil {
			v.Until = time.Now().Add(d)
		}
		e.relay.HLSStart(w, r, r.PathValue("camera"), v)
	})
	mux.HandleFunc("/hls/{camera}/{session}/{file}", func(w http.ResponseWriter, r *http.Request) {
		e.relay.HLSServe(w, r, r.PathValue("camera"), r.PathValue("session"), r.PathValue("file"))
	})
	mux.HandleFunc("/hls/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		e.relay.HLSDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	mux.HandleFunc("/whip/{camera}", func(w http.ResponseWriter, r *http.Request) {
		e.relay.WHIP(w, r, r.PathValue("camera"))
	})
	mux.HandleFunc("/whip/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		e.relay.WHIPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.close)
	return e
}

// close closes the gateway's publishers, the relay, the HTTP server and
// the viewer peers; it is idempotent.
func (e *env) close() {
	e.closeOnce.Do(func() {
		e.gw.close()
		if err := e.relay.Close(); err != nil {
			e.t.Errorf("close relay: %v", err)
		}
		e.srv.Close()
		e.peersMu.Lock()
		peers := e.peers
		e.peersMu.Unlock()
		for _, pc := range peers {
			_ = pc.Close()
		}
		http.DefaultClient.CloseIdleConnections()
	})
}

func (e *env) endedSessions() []string {
	e.endsMu.Lock()
	defer e.endsMu.Unlock()
	return append([]string(nil), e.ends...)
}

// metric returns the value of a counter or gauge (summed over labels
// matching the given label pairs).
func (e *env) metric(name string, labels ...string) float64 {
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// fakeGateway plays the gateway: on Start it publishes the clip over WHIP
// with the ticket (when auto is set); on Stop it closes that publisher.
type fakeGateway struct {
	t    testing.TB
	env  *env
	clip *camsim.ClipData
	auto atomic.Bool

	mu      sync.Mutex
	starts  []Ticket
	stops   []string
	pubs    map[string]*publisher // by session
	closed  bool
	startCh chan Ticket
	wg      sync.WaitGroup
}

func (g *fakeGateway) Start(_ context.Context, cameraID string, t Ticket) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.starts = append(g.starts, t)
	select {
	case g.startCh <- t:
	default:
	}
	if g.auto.Load() && !g.closed {
		g.wg.Go(func() {
			if _, err := g.publish(cameraID, t); err != nil {
				g.t.Logf("gateway publish: %v", err)
			}
		})
	}
	return nil
}

func (g *fakeGateway) Stop(_ context.Context, _ string, session string) error {
	g.mu.Lock()
	g.stops = append(g.stops, session)
	p := g.pubs[session]
	delete(g.pubs, session)
	g.mu.Unlock()
	if p != nil {
		p.close()
	}
	return nil
}

func (g *fakeGateway) counts() (starts, stops int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.starts), len(g.stops)
}

// publish connects a publisher for ticket t and registers it.
func (g *fakeGateway) publish(cameraID string, t Ticket) (*publisher, error) {
	p, err := startPublisher(g.env.api, g.env.srv.URL+"/whip/"+cameraID, t.Token, g.clip)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		p.close()
		return nil, fmt.Errorf("gateway closed")
	}
	old := g.pubs[t.Session]
	g.pubs[t.Session] = p
	g.mu.Unlock()
	if old != nil {
		old.close()
	}
	return p, nil
}

// publisher returns the publisher of session (nil if none).
func (g *fakeGateway) publisher(session string) *publisher {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pubs[session]
}

func (g *fakeGateway) close() {
	g.mu.Lock()
	g.closed = true
	pubs := g.pubs
	g.pubs = map[string]*publisher{}
	g.mu.Unlock()
	g.wg.Wait()
	for _, p := range pubs {
		p.close()
	}
}

// publisher sends the clip's access units in a loop, paced at its frame
// rate, through a TrackLocalStaticSample (pion's H.264 payloader).
type publisher struct {
	pc       *webrtc.PeerConnection
	location string // the WHIP resource
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	mu   sync.Mutex
	idrs []time.Time // when each IDR was written
}

func startPublisher(api *webrtc.API, url, token string, clip *camsim.ClipData) (*publisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &publisher{pc: pc, stop: make(chan struct{}), done: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "camera")
	if err != nil {
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	connected := make(chan struct{})
	var connOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			connOnce.Do(func() { close(connected) })
		}
	})
	if p.location, _, err = signal(pc, url, token, nil); err != nil {
		_ = pc.Close()
		return nil, err
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		_ = pc.Close()
		return nil, fmt.Errorf("publisher did not connect")
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	go p.feed(track, clip)
	return p, nil
}

func (p *publisher) feed(track *webrtc.TrackLocalStaticSample, clip *camsim.ClipData) {
	defer close(p.done)
	frame := time.Second / time.Duration(clip.FPS)
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for i := 0; ; i++ {
		n := i % len(clip.AccessUnits)
		if clip.IsRandomAccess(n) {
			p.mu.Lock()
			p.idrs = append(p.idrs, time.Now())
			p.mu.Unlock()
		}
		var au []byte
		for _, nalu := range clip.AccessUnits[n] {
			au = append(append(au, 0, 0, 0, 1), nalu...)
		}
		if err := track.WriteSample(media.Sample{Data: au, Duration: frame}); err != nil {
			return
		}
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

// idrTimes returns when the publisher wrote its IDRs.
func (p *publisher) idrTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.idrs...)
}

func (p *publisher) close() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		_ = p.pc.Close()
	})
}

// signal does the offer/answer over HTTP (WHIP or WHEP) with a bearer
// token ("" for none) and more headers; see rtctest.Post.
func signal(pc *webrtc.PeerConnection, url, token string, hdr map[string]string) (string, int, error) {
	h := rtctest.Bearer(token)
	for k, v := range hdr {
		h.Set(k, v)
	}
	return rtctest.Post(pc, url, h)
}

// rcvd is one RTP packet a viewer peer received.
type rcvd struct {
	seq uint16
	ts  uint32
	at  time.Time
	key bool
}

// viewerPeer is a WHEP client, rtctest's viewer, that keeps what it
// received.
type viewerPeer struct {
	*rtctest.Viewer
	location string
	posted   time.Time
	first    <-chan struct{}

	mu   sync.Mutex
	pkts []rcvd
}

// watch POSTs a WHEP offer for cameraID; on a refusal it returns the
// status and the error.
func (e *env) watch(cameraID string, hdr map[string]string, audio bool) (*viewerPeer, int, error) {
	v := &viewerPeer{Viewer: &rtctest.Viewer{API: e.api, Audio: audio, Header: http.Header{}}}
	for k, val := range hdr {
		v.Header.Set(k, val)
	}
	v.OnRTP = func(p *rtp.Packet, at time.Time) {
		r := rcvd{seq: p.SequenceNumber, ts: p.Timestamp, at: at, key: isKeyPayload(p.Payload)}
		v.mu.Lock()
		v.pkts = append(v.pkts, r)
		v.mu.Unlock()
	}
	status, err := v.Watch(e.srv.URL + "/whep/" + cameraID)
	if err != nil {
		return nil, status, err
	}
	v.location, v.posted, v.first = v.Location, v.Posted, v.First()
	e.peersMu.Lock()
	e.peers = append(e.peers, v.PC())
	e.peersMu.Unlock()
	return v, status, nil
}

// packets returns a copy of what the viewer received.
func (v *viewerPeer) packets() []rcvd {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]rcvd(nil), v.pkts...)
}

// waitPackets waits until the viewer has received at least n packets.
func (v *viewerPeer) waitPackets(t testing.TB, n int, timeout time.Duration) []rcvd {
	t.Helper()
	v.WaitPackets(t, n, timeout)
	return v.packets()
}

// del DELETEs the viewer's WHEP session.
func (e *env) del(location string) int {
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// testCounter reads a counter's value.
func testCounter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
