package live

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

const testToken = "secret-token"

// publish starts a Publisher of src into w and closes it with the test.
func publish(t *testing.T, w *whipServer, cameraID string, src Source) *Publisher {
	t.Helper()
	p := &Publisher{
		CameraID: cameraID, Session: "s-" + cameraID, Token: testToken, WHIPURL: w.url(cameraID),
		Source: src, Loopback: true, Logger: testLogger(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// waitUnits waits until the latest WHIP session of w holds n complete units.
func waitUnits(t *testing.T, w *whipServer, n int, timeout time.Duration) []unit {
	t.Helper()
	var us []unit
	wait.For(t, timeout, "received access units", func() bool {
		s := w.last()
		if s == nil {
			return false
		}
		us = units(t, s.packets())
		return len(us) >= n
	})
	return us
}

// TestPublishFromCamera publishes a real camera (camsim, GOP 4 s) and
// checks what a viewer needs: the cached keyframe with its parameter sets
// first and at once, RTP framing, monotonic timestamps.
func TestPublishFromCamera(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camGOP4)
	w := newWHIPServer(t, testToken)

	start := time.Now()
	p := publish(t, w, camGOP4, src)
	// 15 units = 1.5 s at 10 fps: the cached GOP catches up, then live
	us := waitUnits(t, w, 15, 5*time.Second)

	first := us[0]
	if !first.key() || !first.has(naluSPS) || !first.has(naluPPS) {
		t.Fatalf("first unit is not SPS+PPS+IDR: %d NALUs, types %v", len(first.nalus), naluTypes(first))
	}
	if d := first.at.Sub(start); d > time.Second {
		t.Fatalf("first keyframe arrived %v after Start, want < 1s (GOP 4 s: the cache must be used)", d)
	} else {
		t.Logf("first keyframe %v after Start (%d packets)", d.Round(time.Millisecond), first.npkts)
	}
	if first.npkts < 2 || first.maxLen != MaxPayload {
		t.Errorf("keyframe in %d packets, largest %d bytes: want it fragmented at %d", first.npkts, first.maxLen, MaxPayload)
	}
	checkMonotonic(t, us)
	for i, u := range us {
		if u.key() && (!u.has(naluSPS) || !u.has(naluPPS)) {
			t.Errorf("unit %d: IDR without SPS/PPS", i)
		}
	}

	st := p.Stats()
	if st.Units < 15 || st.Keyframes < 1 || st.Packets < st.Units || st.Bytes == 0 {
		t.Errorf("stats %+v", st)
	}
	if st.FirstFrameAt.Before(st.Connected) || st.Connected.Before(st.StartedAt) {
		t.Errorf("stats times out of order: %+v", st)
	}
	select {
	case <-p.Done():
		t.Fatalf("session ended: %v", p.Err())
	default:
	}

	// Close DELETEs the resource and ends Done with no error.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_ = p.Close() // idempotent
	if _, _, dels := w.counts(); dels != 1 {
		t.Errorf("%d DELETEs after Close, want 1", dels)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done still open after Close")
	}
	if err := p.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
}

func naluTypes(u unit) []byte {
	var ts []byte
	for _, n := range u.nalus {
		if len(n) > 0 {
			ts = append(ts, n[0]&0x1f)
		}
	}
	return ts
}

// TestParamsInSDPOnly: a camera that sends SPS/PPS only in its SDP; every
// IDR the viewer receives still carries them.
func TestParamsInSDPOnly(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camSDPOnly)
	w := newWHIPServer(t, testToken)
	publish(t, w, camSDPOnly, src)

	// GOP 1 s at 10 fps: 25 units hold at least two IDRs
	us := waitUnits(t, w, 25, 6*time.Second)
	keys := 0
	for i, u := range us {
		if !u.key() {
			continue
		}
		keys++
		if !u.has(naluSPS) || !u.has(naluPPS) {
			t.Errorf("unit %d: IDR without SPS/PPS, NALU types %v", i, naluTypes(u))
		}
	}
	if keys < 2 {
		t.Fatalf("%d keyframes in %d units, want >= 2", keys, len(us))
	}
	if !us[0].key() {
		t.Fatalf("first unit is not a keyframe: %v", naluTypes(us[0]))
	}
	checkMonotonic(t, us)
}

// TestCameraFlap: the camera goes away and comes back while published;
// publishing goes on and timestamps never go backwards.
func TestCameraFlap(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camFlap)
	w := newWHIPServer(t, testToken)
	p := publish(t, w, camFlap, src)

	waitUnits(t, w, 5, 5*time.Second)
	sim := fix.sim
	if err := sim.StopPath(camFlap); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	wait.For(t, 5*time.Second, "camera offline", func() bool { return len(src.GOP()) == 0 })
	time.Sleep(700 * time.Millisecond)
	if err := sim.StartPath(camFlap); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()

	// a keyframe from the new camera session, and a few units after it
	var us []unit
	wait.For(t, 8*time.Second, "units after the camera returned", func() bool {
		us = units(t, w.last().packets())
		n := 0
		for _, u := range us {
			if u.at.After(restarted) {
				n++
			}
		}
		return n >= 5
	})
	checkMonotonic(t, us)
	var after []unit
	for _, u := range us {
		if u.at.After(restarted) {
			after = append(after, u)
		}
	}
	if !after[0].key() {
		t.Errorf("first unit after the camera returned is not a keyframe: %v", naluTypes(after[0]))
	}
	// the gap in RTP time roughly matches the outage in wall time
	var before unit
	for _, u := range us {
		if u.at.Before(stopped) {
			before = u
		}
	}
	gap := time.Duration(after[0].ts-before.ts) * time.Second / clockRate
	if gap < 500*time.Millisecond || gap > 6*time.Second {
		t.Errorf("RTP time across the outage %v (outage about %v)", gap, restarted.Sub(stopped))
	}
	st := p.Stats()
	if st.Discontinuities < 1 {
		t.Errorf("no discontinuity counted: %+v", st)
	}
	select {
	case <-p.Done():
		t.Fatalf("session ended: %v", p.Err())
	default:
	}
}

// TestStartRefused: a WHIP endpoint that refuses or answers garbage makes
// Start fail with a clear error and leaves nothing running.
func TestStartRefused(t *testing.T) {
	w := newWHIPServer(t, testToken)
	src := fakeSource{media: h264Media, ok: true}
	cases := []struct {
		name    string
		token   string
		setup   func()
		wantErr func(error) bool
		want    string
	}{
		{"no token", "", nil, statusIs(http.StatusUnauthorized), "401"},
		{"wrong token", "nope", nil, statusIs(http.StatusForbidden), "403"},
		{"server error", testToken, func() { w.status, w.body = http.StatusInternalServerError, "relay on fire" }, statusIs(500), "relay on fire"},
		{"garbage answer", testToken, func() { w.garbage, w.body = true, "\x00\x01 not an SDP at all" }, isBadAnswer, "malformed WHIP answer"},
		{"empty answer", testToken, func() { w.garbage, w.body = true, "" }, isBadAnswer, "empty"},
		{"answer without video", testToken, func() {
			w.garbage, w.body = true, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
		}, isBadAnswer, "no video"},
		{"video rejected", testToken, func() {
			w.garbage, w.body = true, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n"
		}, isBadAnswer, "port 0"},
		{"answer pion rejects", testToken, func() {
			w.garbage, w.body = true, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
		}, isBadAnswer, "malformed WHIP answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.mu.Lock()
			w.status, w.body, w.garbage = 0, "", false
			if tc.setup != nil {
				tc.setup()
			}
			w.mu.Unlock()
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

			p := &Publisher{CameraID: "c1", Token: tc.token, WHIPURL: w.url("c1"), Source: src, Loopback: true, Logger: testLogger()}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := p.Start(ctx)
			if err == nil || !tc.wantErr(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v, want an error with %q", err, tc.want)
			}
			t.Logf("Start: %v", err)
			select {
			case <-p.Done():
			default:
				t.Fatal("Done open after a failed Start")
			}
			if !errors.Is(p.Err(), err) && p.Err() != err {
				t.Errorf("Err = %v, want %v", p.Err(), err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if err := p.Start(ctx); !errors.Is(err, ErrClosed) {
				t.Errorf("Start after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func statusIs(code int) func(error) bool {
	return func(err error) bool {
		var se *StatusError
		return errors.As(err, &se) && se.StatusCode == code && Permanent(err) == (code < 500)
	}
}

func isBadAnswer(err error) bool { return errors.Is(err, ErrBadAnswer) }

// TestStartChecksCamera: H.265, unknown media and bad settings fail before
// any request.
func TestStartChecksCamera(t *testing.T) {
	w := newWHIPServer(t, testToken)
	cases := []struct {
		name string
		p    *Publisher
		want error
	}{
		{"no media yet", &Publisher{CameraID: "c", WHIPURL: w.url("c"), Source: fakeSource{}}, ErrNoMedia},
		{"mjpeg", &Publisher{CameraID: "c", WHIPURL: w.url("c"), Source: fakeSource{media: camera.Media{Codec: "MJPEG"}, ok: true}}, ErrUnsupportedCodec},
		{"bad url", &Publisher{CameraID: "c", WHIPURL: "rtsp://x/y", Source: fakeSource{media: h264Media, ok: true}}, nil},
		{"no camera id", &Publisher{WHIPURL: w.url("c"), Source: fakeSource{media: h264Media, ok: true}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			// bounds the wait for a camera that never describes itself
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := p.Start(ctx)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Start = %v, want %v", err, tc.want)
			}
			t.Logf("Start: %v", err)
			_ = p.Close()
		})
	}
	if posts, _, _ := w.counts(); posts != 0 {
		t.Errorf("%d POSTs, want none", posts)
	}
}

// TestCloseDuringStart: Close while the POST hangs ends Start at once.
func TestCloseDuringStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hang := make(chan struct{})
	srv := newHangServer(t, hang)
	p := &Publisher{CameraID: "c", WHIPURL: srv.URL + "/whip/c", Source: fakeSource{media: h264Media, ok: true}, Loopback: true}
	errc := make(chan error, 1)
	go func() { errc <- p.Start(context.Background()) }()
	<-hang // the POST arrived
	_ = p.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Start = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after Close")
	}
	srv.Close()
}

// TestStartWaitsForMedia: a Source started just before (a live sub-stream
// opened for this viewer) is not described yet; Start waits for it, and the
// viewer's first unit is the camera's first IDR.
func TestStartWaitsForMedia(t *testing.T) {
	t.Parallel()
	sim := fix.get(t).sim
	src := &camera.Source{ID: "fresh", URL: sim.URL(camManager), Transport: "tcp", Logger: testLogger()}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, ok := src.Media(); ok {
		t.Fatal("media known before the first DESCRIBE")
	}
	w := newWHIPServer(t, testToken)
	p := publish(t, w, "fresh", src)
	us := waitUnits(t, w, 3, 5*time.Second)
	if !us[0].key() || !us[0].has(naluSPS) {
		t.Fatalf("first unit %v, want SPS+PPS+IDR", naluTypes(us[0]))
	}
	_ = p.Close()
}

// TestPublishH265Transcoded: an H.265-only camera is transcoded to H.264
// while published: the receiver gets H.264 keyframes with SPS and PPS
// that decode, then further pictures.
func TestPublishH265Transcoded(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camH265)
	w := newWHIPServer(t, testToken)
	p := publish(t, w, camH265, src)
	us := waitUnits(t, w, 15, 10*time.Second)
	first := us[0]
	if !first.key() || !first.has(naluSPS) || !first.has(naluPPS) {
		t.Fatalf("first unit is not SPS+PPS+IDR: types %v", naluTypes(first))
	}
	checkMonotonic(t, us)
	dec, err := decode.New(decode.CodecH264)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pictures := 0
	for _, u := range us {
		if got, err := dec.Decode(u.nalus, 0); err == nil && got {
			pictures++
		}
	}
	if w, h, _, ok := dec.Picture(); !ok || w != 640 || h != 360 || pictures < len(us)*9/10 {
		t.Errorf("decoded %d of %d units, last picture %dx%d", pictures, len(us), w, h)
	}
	_ = p.Close()
}
