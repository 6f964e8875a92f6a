package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/rtc"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fix.close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

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

// Camera paths of the shared camsim server.
const (
	camGOP4    = "gop4"    // kitchen, GOP 4 s
	camH265    = "h265"    // kitchen in H.265, GOP 2 s
	camSDPOnly = "sdponly" // kitchen, GOP 1 s, SPS/PPS only in the SDP
	camFlap    = "flap"    // kitchen, GOP 1 s, stopped and restarted by a test
	camManager = "manager" // kitchen, GOP 1 s
)

// fixture is one camsim server and one camera.Source per path, shared by
// the tests (started on first use, so cameras warm up while other tests
// run) and closed by TestMain.
type fixture struct {
	once    sync.Once
	err     error
	sim     *camsim.Server
	sources map[string]*camera.Source
}

var fix fixture

func (f *fixture) get(t testing.TB) *fixture {
	t.Helper()
	f.once.Do(func() {
		f.sim = &camsim.Server{
			Listen: "127.0.0.1:0", GOP: 1, NoScenes: true, Logger: testLogger(),
			Cameras: []camsim.Camera{
				{Path: camGOP4, Scene: "kitchen", GOP: 4},
				{Path: camH265, Scene: "kitchen-h265", GOP: 2},
				{Path: camSDPOnly, Scene: "kitchen", ParamsInSDPOnly: true},
				{Path: camFlap, Scene: "kitchen"},
				{Path: camManager, Scene: "kitchen"},
			},
		}
		if f.err = f.sim.Start(); f.err != nil {
			return
		}
		f.sources = map[string]*camera.Source{}
		for _, p := range []string{camGOP4, camH265, camSDPOnly, camFlap, camManager} {
			src := &camera.Source{
				ID: p, URL: f.sim.URL(p), Transport: "tcp",
				BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
				ReadTimeout: 2 * time.Second, Logger: testLogger(),
			}
			if f.err = src.Start(context.Background()); f.err != nil {
				return
			}
			f.sources[p] = src
		}
	})
	if f.err != nil {
		t.Fatalf("fixture: %v", f.err)
	}
	return f
}

func (f *fixture) close() {
	for _, s := range f.sources {
		_ = s.Close()
	}
	if f.sim != nil {
		_ = f.sim.Close()
	}
}

// source returns the camera of path once its GOP cache holds a keyframe.
func (f *fixture) source(t testing.TB, path string) *camera.Source {
	t.Helper()
	src := f.get(t).sources[path]
	wait.For(t, 10*time.Second, "camera "+path+" GOP cache", func() bool { return len(src.GOP()) > 0 })
	return src
}

// receiverAPI is the pion API of the test's WHIP endpoint: loopback only,
// pion's default codecs and interceptors (NACKs, reports), like a relay.
func receiverAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := rtc.BrowserAPI(testLogger().With("side", "receiver"))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// whipServer is a WHIP endpoint on 127.0.0.1: it checks the bearer token,
// answers with a pion peer connection and records the RTP it receives.
type whipServer struct {
	t   testing.TB
	srv *httptest.Server
	api *webrtc.API

	mu       sync.Mutex
	token    string
	status   int    // when set, POST answers this status with body
	body     string // the body of status, or of a 201 when garbage
	garbage  bool   // answer 201 with body instead of an SDP answer
	posts    int
	deletes  []string // sessions deleted
	sessions map[string]*rx
	order    []string // sessions in POST order
}

// rx is one WHIP session's peer connection and what it received.
type rx struct {
	pc      *webrtc.PeerConnection
	created time.Time
	mu      sync.Mutex
	pkts    []rxPacket
}

type rxPacket struct {
	rtp.Packet
	at time.Time
}

func newWHIPServer(t testing.TB, token string) *whipServer {
	t.Helper()
	w := &whipServer{t: t, api: receiverAPI(t), token: token, sessions: map[string]*rx{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{camera}", w.post)
	mux.HandleFunc("DELETE /whip/{camera}/{session}", w.del)
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.close)
	return w
}

func (w *whipServer) url(cameraID string) string { return w.srv.URL + "/whip/" + cameraID }

func httpError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg, "code": strings.ToLower(http.StatusText(status))})
}

func (w *whipServer) authorized(rw http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	w.mu.Lock()
	token := w.token
	w.mu.Unlock()
	switch {
	case auth == "":
		httpError(rw, http.StatusUnauthorized, "missing bearer token")
		return false
	case auth != "Bearer "+token:
		httpError(rw, http.StatusForbidden, "bearer token does not match")
		return false
	}
	return true
}

func (w *whipServer) post(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	w.posts++
	status, body, garbage := w.status, w.body, w.garbage
	w.mu.Unlock()
	if !w.authorized(rw, r) {
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		httpError(rw, http.StatusUnsupportedMediaType, "want application/sdp")
		return
	}
	if status != 0 {
		rw.WriteHeader(status)
		_, _ = rw.Write([]byte(body))
		return
	}
	session := fmt.Sprintf("s%d", time.Now().UnixNano())
	if garbage {
		rw.Header().Set("Content-Type", "application/sdp")
		rw.Header().Set("Location", "/whip/"+r.PathValue("camera")+"/"+session)
		rw.WriteHeader(http.StatusCreated)
		_, _ = rw.Write([]byte(body))
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		httpError(rw, http.StatusBadRequest, err.Error())
		return
	}
	answer, err := w.answer(session, string(offer))
	if err != nil {
		httpError(rw, http.StatusBadRequest, err.Error())
		return
	}
	rw.Header().Set("Content-Type", "application/sdp")
	rw.Header().Set("Location", "/whip/"+r.PathValue("camera")+"/"+session)
	rw.WriteHeader(http.StatusCreated)
	_, _ = rw.Write([]byte(answer))
}

func (w *whipServer) answer(session, offer string) (string, error) {
	pc, err := w.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	s := &rx{pc: pc, created: time.Now()}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.Payload = append([]byte(nil), p.Payload...)
			s.mu.Lock()
			s.pkts = append(s.pkts, rxPacket{Packet: *p, at: time.Now()})
			s.mu.Unlock()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = pc.Close()
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		_ = pc.Close()
		return "", err
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
	}
	w.mu.Lock()
	w.sessions[session] = s
	w.order = append(w.order, session)
	w.mu.Unlock()
	return pc.LocalDescription().SDP, nil
}

func (w *whipServer) del(rw http.ResponseWriter, r *http.Request) {
	if !w.authorized(rw, r) {
		return
	}
	session := r.PathValue("session")
	w.mu.Lock()
	s := w.sessions[session]
	w.deletes = append(w.deletes, session)
	w.mu.Unlock()
	if s == nil {
		httpError(rw, http.StatusNotFound, "no such session")
		return
	}
	_ = s.pc.Close()
	rw.WriteHeader(http.StatusOK)
}

func (w *whipServer) close() {
	w.srv.Close()
	w.mu.Lock()
	sessions := w.sessions
	w.mu.Unlock()
	for _, s := range sessions {
		_ = s.pc.Close()
	}
}

// last returns the latest session (nil if none).
func (w *whipServer) last() *rx {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.order) == 0 {
		return nil
	}
	return w.sessions[w.order[len(w.order)-1]]
}

func (w *whipServer) counts() (posts, sessions, deletes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.posts, len(w.order), len(w.deletes)
}

func (s *rx) packets() []rxPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}

// unit is an access unit as a viewer reassembles it.
type unit struct {
	ts     uint32
	nalus  [][]byte
	at     time.Time // arrival of its last packet
	npkts  int
	maxLen int
}

func (u unit) has(typ byte) bool {
	for _, n := range u.nalus {
		if len(n) > 0 && n[0]&0x1f == typ {
			return true
		}
	}
	return false
}

func (u unit) key() bool { return u.has(naluIDR) }

// units orders pkts by sequence number (dropping duplicates from
// retransmissions) and reassembles access units, checking RFC 6184 framing
// on the way: every payload ≤ MaxPayload, the marker on the last packet of
// each unit and only there. An incomplete unit at the end is left out.
func units(t testing.TB, pkts []rxPacket) []unit {
	t.Helper()
	if len(pkts) == 0 {
		return nil
	}
	// extend sequence numbers relative to the first packet
	type ext struct {
		n int64
		p rxPacket
	}
	base := pkts[0].SequenceNumber
	xs := make([]ext, 0, len(pkts))
	seen := map[int64]bool{}
	for _, p := range pkts {
		n := int64(int16(p.SequenceNumber - base))
		if seen[n] {
			continue
		}
		seen[n] = true
		xs = append(xs, ext{n, p})
	}
	slices.SortFunc(xs, func(a, b ext) int { return int(a.n - b.n) })

	var (
		out []unit
		cur *unit
		dec = &rtph264.Decoder{PacketizationMode: 1}
	)
	if err := dec.Init(); err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		p := x.p
		if len(p.Payload) > MaxPayload {
			t.Errorf("packet %d: payload of %d bytes > %d", p.SequenceNumber, len(p.Payload), MaxPayload)
		}
		if i > 0 && x.n != xs[i-1].n+1 {
			t.Errorf("packets lost between seq %d and %d", xs[i-1].p.SequenceNumber, p.SequenceNumber)
			cur = nil
			dec = &rtph264.Decoder{PacketizationMode: 1}
			_ = dec.Init()
		}
		if cur == nil {
			cur = &unit{ts: p.Timestamp}
		} else if p.Timestamp != cur.ts {
			t.Errorf("packet %d: timestamp %d inside unit %d (missing marker)", p.SequenceNumber, p.Timestamp, cur.ts)
		}
		cur.npkts++
		cur.maxLen = max(cur.maxLen, len(p.Payload))
		pkt := p.Packet
		nalus, err := dec.Decode(&pkt)
		switch {
		case err == nil:
			if !p.Marker {
				t.Errorf("packet %d: decoder completed a unit without marker", p.SequenceNumber)
			}
			cur.nalus, cur.at = nalus, p.at
			out = append(out, *cur)
			cur = nil
		case errors.Is(err, rtph264.ErrMorePacketsNeeded):
			if p.Marker {
				t.Errorf("packet %d: marker set but the unit is incomplete", p.SequenceNumber)
			}
		default:
			t.Errorf("packet %d: depacketize: %v", p.SequenceNumber, err)
			cur = nil
		}
	}
	return out
}

// checkMonotonic fails if a unit's timestamp is not after the previous one.
func checkMonotonic(t testing.TB, us []unit) {
	t.Helper()
	for i := 1; i < len(us); i++ {
		if d := int32(us[i].ts - us[i-1].ts); d <= 0 {
			t.Fatalf("unit %d: RTP timestamp %d is not after %d (step %d)", i, us[i].ts, us[i-1].ts, d)
		}
	}
}

// fakeSource is a camera whose Media is fixed and whose subscription is
// never used (tests of Start's refusals).
type fakeSource struct {
	media camera.Media
	ok    bool
}

func (f fakeSource) SubscribeGOP(int) *camera.Subscription {
	panic("fakeSource: SubscribeGOP must not be called")
}
func (f fakeSource) Media() (camera.Media, bool) { return f.media, f.ok }

var h264Media = camera.Media{Codec: camera.CodecH264, SPS: []byte{0x67, 0x42, 0xc0, 0x1f}, PPS: []byte{0x68, 0xce, 0x3c, 0x80}}

// newHangServer answers nothing: it signals hang on the first request and
// holds every request until the client gives up (at most 10 s).
func newHangServer(t testing.TB, hang chan struct{}) *httptest.Server {
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// reading the body lets the server notice the client going away
		_, _ = io.Copy(io.Discard, r.Body)
		once.Do(func() { close(hang) })
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
