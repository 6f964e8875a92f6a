package camsim

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer starts a server on a free loopback port and closes it at the
// end of the test.
func startServer(t *testing.T, s *Server) *Server {
	t.Helper()
	s.Listen = "127.0.0.1:0"
	if s.Logger == nil {
		s.Logger = quiet
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// frame is an access unit received by a reader.
type frame struct {
	ts   uint32
	ssrc uint32
	at   time.Time
	au   [][]byte
}

type rtpDecoder interface {
	Decode(*rtp.Packet) ([][]byte, error)
}

// reader is a gortsplib client playing one path, over TCP.
type reader struct {
	c      *gortsplib.Client
	codec  Codec
	h264   *format.H264
	h265   *format.H265
	frames chan frame
}

func dial(t *testing.T, url string) (*reader, error) {
	tcp := gortsplib.ProtocolTCP
	return dialProtocol(t, url, &tcp)
}

// dialProtocol is dial with a transport protocol; nil lets the client choose
// (UDP first, then TCP).
func dialProtocol(t *testing.T, url string, protocol *gortsplib.Protocol) (*reader, error) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: protocol}
	if err := c.Start(); err != nil {
		return nil, err
	}
	r := &reader{c: c, frames: make(chan frame, 1024)}
	t.Cleanup(c.Close)

	desc, _, err := c.Describe(u)
	if err != nil {
		c.Close()
		return nil, err
	}
	var (
		medi  *description.Media
		forma format.Format
		dec   rtpDecoder
	)
	if m := desc.FindFormat(&r.h265); m != nil {
		medi, forma, r.codec = m, r.h265, CodecH265
		dec, err = r.h265.CreateDecoder()
	} else if m := desc.FindFormat(&r.h264); m != nil {
		medi, forma, r.codec = m, r.h264, CodecH264
		dec, err = r.h264.CreateDecoder()
	} else {
		c.Close()
		return nil, errors.New("no H.264 or H.265 media in the SDP")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		c.Close()
		return nil, err
	}
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err != nil {
			return // more packets needed
		}
		select {
		case r.frames <- frame{ts: pkt.Timestamp, ssrc: pkt.SSRC, at: time.Now(), au: au}:
		default: // the test stopped reading
		}
	})
	if _, err := c.Play(nil); err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

func mustDial(t *testing.T, url string) *reader {
	t.Helper()
	r, err := dial(t, url)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return r
}

// collect returns the frames received during d (at most max).
func (r *reader) collect(d time.Duration, max int) []frame {
	var out []frame
	deadline := time.After(d)
	for len(out) < max {
		select {
		case f := <-r.frames:
			out = append(out, f)
		case <-deadline:
			return out
		}
	}
	return out
}

// checkStream checks the count, pacing, RTP timestamps and SSRC of frames
// received from a fps stream during d.
func checkStream(t *testing.T, frames []frame, fps int, d time.Duration) {
	t.Helper()
	want := int(d.Seconds() * float64(fps))
	if len(frames) < want*6/10 || len(frames) > want*14/10+2 {
		t.Fatalf("got %d frames in %v, want about %d (%d fps)", len(frames), d, want, fps)
	}
	step := uint32(90000 / fps)
	for i := 1; i < len(frames); i++ {
		if diff := frames[i].ts - frames[i-1].ts; diff != step {
			t.Fatalf("frame %d: RTP timestamp advanced by %d, want %d", i, diff, step)
		}
		if frames[i].ssrc != frames[0].ssrc {
			t.Fatalf("frame %d: SSRC changed", i)
		}
	}
	// Real time: the frames span about (n-1)/fps of wall clock.
	span := frames[len(frames)-1].at.Sub(frames[0].at)
	ideal := time.Duration(len(frames)-1) * time.Second / time.Duration(fps)
	if span < ideal/2 || span > ideal*2+200*time.Millisecond {
		t.Errorf("%d frames arrived over %v, want about %v", len(frames), span, ideal)
	}
}

func countParamSets(codec Codec, au [][]byte) (n int) {
	for _, nalu := range au {
		if isParamSet(codec, nalu) {
			n++
		}
	}
	return n
}

// TestPlayInBandParams reads kitchen looping over its first second, so the
// read crosses the loop point, and checks pacing, timestamps, looping and
// the parameter sets before each IDR.
func TestPlayInBandParams(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{GOP: 1, loopFrames: 10})
	r := mustDial(t, s.URL("kitchen"))
	if r.codec != CodecH264 || r.h264.SPS == nil || r.h264.PPS == nil {
		t.Fatalf("SDP: codec %s, want H.264 with sprop-parameter-sets", r.codec)
	}

	const d = 2200 * time.Millisecond
	frames := r.collect(d, 100)
	checkStream(t, frames, 10, d)

	idrs, looped := 0, false
	for i, f := range frames {
		if isRandomAccess(CodecH264, f.au) {
			idrs++
			if got := countParamSets(CodecH264, f.au); got != 2 {
				t.Errorf("frame %d: IDR with %d in-band parameter sets, want SPS and PPS", i, got)
			}
		}
		if i >= 10 && slicesEqual(f.au, frames[i-10].au) && isRandomAccess(CodecH264, f.au) {
			looped = true
		}
	}
	if idrs < 1 {
		t.Error("no IDR received")
	}
	if !looped {
		t.Error("the stream did not loop after 10 frames")
	}
}

func slicesEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

func TestPlayParamsInSDPOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{GOP: 1, ParamsInSDPOnly: true})
	r := mustDial(t, s.URL("kitchen"))
	clip, _ := Clip("kitchen", 1)
	if string(r.h264.SPS) != string(clip.SPS) || string(r.h264.PPS) != string(clip.PPS) {
		t.Fatalf("SDP parameter sets %x %x, want %x %x", r.h264.SPS, r.h264.PPS, clip.SPS, clip.PPS)
	}
	const d = 1500 * time.Millisecond
	frames := r.collect(d, 100)
	checkStream(t, frames, 10, d)
	idrs := 0
	for i, f := range frames {
		if n := countParamSets(CodecH264, f.au); n != 0 {
			t.Fatalf("frame %d has %d in-band parameter sets, want none", i, n)
		}
		if isRandomAccess(CodecH264, f.au) {
			idrs++
		}
	}
	if idrs < 1 {
		t.Error("no IDR received")
	}
	if p := s.Paths(); len(p) == 0 || !p[0].ParamsInSDPOnly {
		t.Errorf("Paths() = %+v, want ParamsInSDPOnly", p)
	}
}

func TestPlayH265(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{GOP: 1, loopFrames: 10})
	r := mustDial(t, s.URL("night-h265"))
	if r.codec != CodecH265 || r.h265.VPS == nil || r.h265.SPS == nil || r.h265.PPS == nil {
		t.Fatalf("SDP: codec %s, want H.265 with VPS, SPS and PPS", r.codec)
	}
	const d = 1500 * time.Millisecond
	frames := r.collect(d, 100)
	checkStream(t, frames, 10, d)
	idrs := 0
	for i, f := range frames {
		if isRandomAccess(CodecH265, f.au) {
			idrs++
			if got := countParamSets(CodecH265, f.au); got != 3 {
				t.Errorf("frame %d: IDR with %d in-band parameter sets, want VPS, SPS and PPS", i, got)
			}
		}
	}
	if idrs < 1 {
		t.Error("no IDR received")
	}
}

// TestPlayTransportFallback reads with the client's default transport
// choice: the server offers TCP only, so the client must fall back to it.
func TestPlayTransportFallback(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{})
	r, err := dialProtocol(t, s.URL("covered"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.collect(time.Second, 3); len(f) < 3 {
		t.Fatalf("got %d frames in 1 s", len(f))
	}
}

func TestPlay1080(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{NoScenes: true, Cameras: []Camera{{Path: "big", Scene: "kitchen-1080"}}})
	r := mustDial(t, s.URL("big"))
	const d = 1200 * time.Millisecond
	frames := r.collect(d, 200)
	checkStream(t, frames, 25, d)
}

func statusCode(err error) base.StatusCode {
	var bad liberrors.ErrClientBadStatusCode
	if errors.As(err, &bad) {
		return bad.Code
	}
	return 0
}

// TestStopStartPath flaps one camera and checks that the other, playing the
// same scene, does not notice.
func TestStopStartPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, &Server{
		NoScenes: true,
		Cameras:  []Camera{{Path: "cam1", Scene: "kitchen"}, {Path: "cam2", Scene: "kitchen"}},
	})
	r1 := mustDial(t, s.URL("cam1"))
	r2 := mustDial(t, s.URL("cam2"))
	f1 := r1.collect(500*time.Millisecond, 100)
	f2 := r2.collect(500*time.Millisecond, 100)
	if len(f1) == 0 || len(f2) == 0 {
		t.Fatalf("got %d and %d frames, want both cameras streaming", len(f1), len(f2))
	}
	if f1[0].ssrc == f2[0].ssrc {
		t.Error("cam1 and cam2 share an SSRC: not independent")
	}

	if err := s.StopPath("cam1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r1.c.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader of a stopped path still connected after 5 s")
	}
	if _, err := dial(t, s.URL("cam1")); statusCode(err) != base.StatusNotFound {
		t.Fatalf("DESCRIBE on a stopped path: err = %v, want 404", err)
	}
	if err := s.StopPath("cam1"); err != nil {
		t.Errorf("second StopPath: %v", err)
	}
	for _, p := range s.Paths() {
		if want := p.Name != "cam1"; p.Running != want {
			t.Errorf("path %s running = %v, want %v", p.Name, p.Running, want)
		}
	}

	// cam2 went on unharmed.
	const d = 1 * time.Second
	checkStream(t, append(f2, r2.collect(d, 100)...), 10, d+500*time.Millisecond)

	if err := s.StartPath("cam1"); err != nil {
		t.Fatal(err)
	}
	r1 = mustDial(t, s.URL("cam1"))
	frames := r1.collect(d, 100)
	checkStream(t, frames, 10, d)

	if err := s.StopPath("nope"); !errors.Is(err, ErrUnknownPath) {
		t.Errorf("StopPath(nope): err = %v, want ErrUnknownPath", err)
	}
}

func TestNotFound(t *testing.T) {
	s := startServer(t, &Server{GOP: 4})
	if _, err := dial(t, s.URL("garage")); statusCode(err) != base.StatusNotFound {
		t.Errorf("unknown path: err = %v, want 404", err)
	}
	// kitchen-1080 has no 4 s GOP clip, so it is not served at GOP 4.
	if _, err := dial(t, s.URL("kitchen-1080")); statusCode(err) != base.StatusNotFound {
		t.Errorf("kitchen-1080 at GOP 4: err = %v, want 404", err)
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		s    *Server
		want error
		msg  string
	}{
		{"gop 3", &Server{GOP: 3}, ErrBadConfig, "GOP 3 s"},
		{"unknown scene", &Server{Cameras: []Camera{{Path: "c", Scene: "garage"}}}, ErrUnknownScene, `"garage"`},
		{"1080 at gop 4", &Server{Cameras: []Camera{{Path: "c", Scene: "kitchen-1080", GOP: 4}}}, ErrNoClip, "kitchen-1080"},
		{"duplicate path", &Server{Cameras: []Camera{{Path: "kitchen", Scene: "empty"}}}, ErrBadConfig, "already served"},
		{"slash in path", &Server{Cameras: []Camera{{Path: "a/b", Scene: "empty"}}}, ErrBadConfig, "cameras[0].path"},
		{"nothing to serve", &Server{NoScenes: true}, ErrBadConfig, "no path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Listen, tc.s.Logger = "127.0.0.1:0", quiet
			err := tc.s.Start()
			if err == nil {
				_ = tc.s.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}

	s := &Server{Listen: "256.0.0.1:0", Logger: quiet}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("bad listen address: err = %v", err)
	}

	for _, in := range []string{"cam1", "=kitchen", "cam1="} {
		if _, err := ParseCamera(in); !errors.Is(err, ErrBadConfig) {
			t.Errorf("ParseCamera(%q): err = %v, want ErrBadConfig", in, err)
		}
	}
	if c, err := ParseCamera("cam1=night-h265"); err != nil || c != (Camera{Path: "cam1", Scene: "night-h265"}) {
		t.Errorf("ParseCamera(cam1=night-h265) = %+v, %v", c, err)
	}
}

func TestControlHandler(t *testing.T) {
	s := startServer(t, &Server{NoScenes: true, Cameras: []Camera{{Path: "cam1", Scene: "empty"}}})
	h := s.ControlHandler()
	do := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}
	if w := do("POST", "/paths/cam1/stop"); w.Code != http.StatusNoContent {
		t.Fatalf("stop: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/paths"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"running":false`) {
		t.Errorf("list after stop: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/paths/cam1/start"); w.Code != http.StatusNoContent {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/paths"); !strings.Contains(w.Body.String(), `"running":true`) {
		t.Errorf("list after start: %s", w.Body)
	}
	if w := do("POST", "/paths/nope/stop"); w.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d", w.Code)
	}
	if w := do("GET", "/paths/cam1/stop"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET on stop: %d", w.Code)
	}
}

// TestCloseLeaksNothing closes a server with a reader attached and checks
// that no goroutine survives, and that a closed server refuses to flap.
func TestCloseLeaksNothing(t *testing.T) {
	s := &Server{Listen: "127.0.0.1:0", Logger: quiet}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	r := mustDial(t, s.URL("kitchen-h265"))
	if f := r.collect(300*time.Millisecond, 5); len(f) == 0 {
		t.Fatal("no frame before Close")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waitChan(r.c):
	case <-time.After(5 * time.Second):
		t.Fatal("reader still connected 5 s after Close")
	}
	r.c.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.StartPath("kitchen"); !errors.Is(err, ErrNotStarted) {
		t.Errorf("StartPath after Close: err = %v, want ErrNotStarted", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
	goleak.VerifyNone(t)
}

func waitChan(c *gortsplib.Client) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- c.Wait() }()
	return ch
}
