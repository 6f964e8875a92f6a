package live

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// hlsStart POSTs /hls/{camera} and returns the status, the playlist's path
// and the error code of a refusal.
func (e *env) hlsStart(camera string, hdr map[string]string) (status int, playlist, code string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/hls/"+camera, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Session, Playlist, Code string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
	if resp.StatusCode == http.StatusCreated && resp.Header.Get("Location") != body.Playlist {
		e.t.Fatalf("Location %q, body's playlist %q", resp.Header.Get("Location"), body.Playlist)
	}
	return resp.StatusCode, body.Playlist, body.Code
}

// get GETs a path of the test server and returns the status and body.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// hlsReader plays an HLS playlist with gohlslib's client and counts the
// H.264 access units and IDRs it decodes.
type hlsReader struct {
	c      *gohlslib.Client
	mu     sync.Mutex
	aus    int
	idrs   int
	lastPT int64
	back   bool // a presentation time went back
}

// playHLS plays playlist with gohlslib's client, startDistance segments
// from the live end. That client does not wait for a segment not yet
// made: it reloads the playlist while two segments are still to be played
// and fails if the next one is not listed, so it must start far enough
// behind (4 segments of 1 s leave a second to spare); it is started once
// the playlist lists startDistance segments.
func (e *env) playHLS(playlist string, startDistance int) *hlsReader {
	e.t.Helper()
	media := strings.TrimSuffix(playlist, "index.m3u8") + "video1_stream.m3u8"
	wait.For(e.t, 20*time.Second, fmt.Sprintf("%d segments listed", startDistance), func() bool {
		_, body := e.get(media)
		return strings.Count(body, "#EXTINF:") >= startDistance
	})
	r := &hlsReader{}
	quiet := func(string) {}
	r.c = &gohlslib.Client{
		URI:                       e.srv.URL + playlist,
		StartDistance:             startDistance,
		MaxDistance:               max(startDistance, 5),
		OnDownloadPrimaryPlaylist: quiet, OnDownloadStreamPlaylist: quiet,
		OnDownloadSegment: quiet, OnDownloadPart: quiet,
		OnDecodeError: func(err error) { e.t.Logf("HLS decode: %v", err) },
	}
	r.c.OnTracks = func(tracks []*gohlslib.Track) error {
		for _, tr := range tracks {
			if _, ok := tr.Codec.(*codecs.H264); !ok {
				continue
			}
			r.c.OnDataH26x(tr, func(pts, _ int64, au [][]byte) {
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.aus > 0 && pts < r.lastPT {
					r.back = true
				}
				r.aus, r.lastPT = r.aus+1, pts
				_, _, idr := paramSets(au)
				if idr {
					r.idrs++
				}
			})
		}
		return nil
	}
	if err := r.c.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(r.c.Close)
	return r
}

func (r *hlsReader) counts() (aus, idrs int, back bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aus, r.idrs, r.back
}

// TestHLSPlays: an HLS session starts the camera on demand, and a real
// HLS client decodes its access units, starting at an IDR; a second HLS
// viewer and a WHEP viewer share the one upstream and the one muxer.
func TestHLSPlays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, nil)
	st, playlist, code := e.hlsStart("cam1", nil)
	if st != http.StatusCreated {
		t.Fatalf("POST /hls/cam1: %d %s", st, code)
	}
	if !strings.HasPrefix(playlist, "/hls/cam1/") || !strings.HasSuffix(playlist, "/index.m3u8") {
		t.Fatalf("playlist %q", playlist)
	}
	r := e.playHLS(playlist, 4)
	wait.For(t, 20*time.Second, "30 access units over HLS", func() bool { n, _, _ := r.counts(); return n >= 30 })
	if _, idrs, back := r.counts(); idrs == 0 || back {
		t.Fatalf("idrs %d, presentation time went back %v", idrs, back)
	}
	// The playlist is LL-HLS in fMP4: an init file, segments with their
	// wall-clock time, parts, blocking reloads and a preload hint.
	st, body := e.get(strings.TrimSuffix(playlist, "index.m3u8") + "video1_stream.m3u8")
	if st != http.StatusOK || strings.Count(body, "#EXTINF:") < 2 || !strings.Contains(body, "#EXT-X-PROGRAM-DATE-TIME:") ||
		!strings.Contains(body, "#EXT-X-MAP:") || !strings.Contains(body, "#EXT-X-PART:") ||
		!strings.Contains(body, "CAN-BLOCK-RELOAD=YES") || !strings.Contains(body, "#EXT-X-PRELOAD-HINT:TYPE=PART") {
		t.Fatalf("media playlist: %d\n%s", st, body)
	}

	st2, playlist2, _ := e.hlsStart("cam1", nil)
	if st2 != http.StatusCreated || playlist2 == playlist {
		t.Fatalf("second HLS viewer: %d %q", st2, playlist2)
	}
	r2 := e.playHLS(playlist2, 4)
	if _, _, err := e.watch("cam1", nil, false); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "the second HLS viewer's frames", func() bool { n, _, _ := r2.counts(); return n >= 10 })
	if starts, _ := e.gw.counts(); starts != 1 {
		t.Fatalf("%d starts for three viewers, want 1", starts)
	}
	if n := e.relay.Viewers("cam1"); n != 3 {
		t.Fatalf("%d viewers, want 3 (2 HLS, 1 WHEP)", n)
	}
	if got := e.metric("bk_live_hls_muxers"); got != 1 {
		t.Fatalf("bk_live_hls_muxers = %v, want 1", got)
	}
	hls := 0
	for _, s := range e.relay.Sessions() {
		if s.HLS {
			hls++
		}
	}
	if hls != 2 {
		t.Fatalf("%d HLS sessions listed, want 2", hls)
	}
}

// TestHLSLifecycle: the muxer lives while HLS sessions do; a DELETE ends a
// session, an idle session ends by itself, and after the last viewer the
// upstream lingers and stops; a new HLS viewer starts it again.
func TestHLSLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, func(c *Config) { c.HLSIdle = 700 * time.Millisecond })
	st, playlist, _ := e.hlsStart("cam1", map[string]string{"X-Principal": "deleted"})
	if st != http.StatusCreated {
		t.Fatal(st)
	}
	if st, _ := e.get(playlist); st != http.StatusOK {
		t.Fatalf("playlist: %d", st)
	}
	session := strings.Split(playlist, "/")[3]
	if got := e.del("/whep/cam1/" + session); got != http.StatusNotFound {
		t.Fatalf("WHEP DELETE of an HLS session: %d, want 404", got)
	}
	if got := e.del("/hls/cam1/" + session); got != http.StatusOK {
		t.Fatalf("DELETE: %d", got)
	}
	if st, _ := e.get(playlist); st != http.StatusNotFound {
		t.Fatalf("playlist of a deleted session: %d, want 404", st)
	}
	if got := e.metric("bk_live_hls_muxers"); got != 0 {
		t.Fatalf("bk_live_hls_muxers = %v after the last HLS viewer, want 0", got)
	}
	wait.For(t, 10*time.Second, "stop after linger", func() bool { _, stops := e.gw.counts(); return stops == 1 })

	// An idle session (no requests) ends after HLSIdle; one that fetches
	// stays.
	_, idle, _ := e.hlsStart("cam1", map[string]string{"X-Principal": "idle"})
	_, busy, _ := e.hlsStart("cam1", map[string]string{"X-Principal": "busy"})
	if starts, _ := e.gw.counts(); starts != 2 {
		t.Fatalf("%d starts, want 2 (once per on-demand start)", starts)
	}
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if st, _ := e.get(strings.TrimSuffix(busy, "index.m3u8") + "video1_stream.m3u8"); st != http.StatusOK {
			t.Fatalf("busy session's playlist: %d", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, _ := e.get(idle); st != http.StatusNotFound {
		t.Fatalf("idle session's playlist: %d, want 404", st)
	}
	if n := e.relay.Viewers("cam1"); n != 1 {
		t.Fatalf("%d viewers, want 1", n)
	}
	// The audit hook runs once the session is gone from the counts.
	wait.For(t, 5*time.Second, "the busy one idles out too", func() bool { return len(e.endedSessions()) == 3 })
	ends := strings.Join(e.endedSessions(), ",")
	if ends != "deleted,idle,busy" {
		t.Fatalf("ended sessions %q, want deleted,idle,busy", ends)
	}
	if got := e.metric("bk_live_viewer_drops_total", "reason", "idle"); got != 2 {
		t.Fatalf("idle drops %v, want 2", got)
	}
}

// TestHLSCaps: HLS viewers count against the same caps as WHEP viewers,
// and a viewing window closing ends an HLS session.
func TestHLSCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, func(c *Config) {
		c.MaxViewersPerCamera = 2
		c.MaxViewersPerCanteen = 3
	})
	school1 := map[string]string{"X-Canteen": "school-1"}
	if st, _, _ := e.hlsStart("camA", school1); st != http.StatusCreated {
		t.Fatal(st)
	}
	if _, _, err := e.watch("camA", school1, false); err != nil {
		t.Fatal(err)
	}
	if st, _, code := e.hlsStart("camA", nil); st != http.StatusTooManyRequests || code != "camera_full" {
		t.Fatalf("third viewer over HLS: %d %s, want 429 camera_full", st, code)
	}
	if st, _, _ := e.hlsStart("camB", school1); st != http.StatusCreated {
		t.Fatal(st)
	}
	if st, _, code := e.hlsStart("camB", school1); st != http.StatusTooManyRequests || code != "canteen_full" {
		t.Fatalf("fourth viewer of the school over HLS: %d %s, want 429 canteen_full", st, code)
	}
	if _, st, _ := e.watch("camB", school1, false); st != http.StatusTooManyRequests {
		t.Fatalf("WHEP over the canteen cap with HLS viewers: %d, want 429", st)
	}

	st, playlist, _ := e.hlsStart("camC", map[string]string{"X-Until": "600ms", "X-Principal": "window"})
	if st != http.StatusCreated {
		t.Fatal(st)
	}
	wait.For(t, 5*time.Second, "the window closes", func() bool { s, _ := e.get(playlist); return s == http.StatusNotFound })
	if got := e.metric("bk_live_viewer_drops_total", "reason", "until"); got != 1 {
		t.Fatalf("until drops %v, want 1", got)
	}
}

// TestHLSStartFails: a camera whose gateway never publishes is refused with
// 504 like WHEP, and holds no place afterwards.
func TestHLSStartFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, false, func(c *Config) { c.StartTimeout = 300 * time.Millisecond })
	if st, _, code := e.hlsStart("cam1", nil); st != http.StatusGatewayTimeout || code != "start_timeout" {
		t.Fatalf("HLS of a camera that never publishes: %d %s, want 504 start_timeout", st, code)
	}
	if n := e.relay.Viewers("cam1"); n != 0 {
		t.Fatalf("%d viewers after a refused start", n)
	}
}

// TestHLSBadRequests: requests for no session, another camera's session,
// file names the muxer never makes, and wrong methods get clear errors.
func TestHLSBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, nil)
	_, playlist, _ := e.hlsStart("cam1", nil)
	session := strings.Split(playlist, "/")[3]
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/hls/cam1/NOSUCHSESSION/index.m3u8", 404},
		{"GET", "/hls/cam2/" + session + "/index.m3u8", 404},
		{"GET", "/hls/cam1/" + session + "/nosuch_stream.m3u8", 404},
		{"GET", "/hls/cam1/" + session + "/..%2Fx.mp4", 404},
		{"GET", "/hls/cam1/" + session + "/index.html", 404},
		{"GET", "/hls/cam1/" + session + "/" + strings.Repeat("a", 200) + ".mp4", 404},
		{"POST", "/hls/cam1/" + session + "/index.m3u8", 405},
		{"PUT", "/hls/cam1", 405},
		{"DELETE", "/hls/cam1/NOSUCHSESSION", 404},
		{"GET", "/hls/cam1/" + session, 405},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), `"code"`) {
			t.Errorf("%s %s: %d %s, want %d with a JSON error", tc.method, tc.path, resp.StatusCode, b, tc.status)
		}
	}
	if st, _ := e.get(playlist); st != http.StatusOK {
		t.Fatalf("the good session still plays: %d", st)
	}
	// GET of the bare URL (a native player) is redirected to a new session.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.srv.URL + "/hls/cam1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/hls/cam1/") ||
		!strings.HasSuffix(loc, "/index.m3u8") || loc == playlist {
		t.Fatalf("GET /hls/cam1: %d %q, want 302 to a new session's playlist", resp.StatusCode, loc)
	}
	if n := e.relay.Viewers("cam1"); n != 2 {
		t.Fatalf("%d viewers, want 2", n)
	}
}

// TestHLSInflightAndClose: a session's requests waiting in the muxer are
// capped (one more is 429 hls_busy), and closing the relay while they wait
// ends them all. The upstream is stopped for good once the playlist has
// its first segment, so the hinted part is never finished by the camera:
// seven requests wait on the preload hint and one on a blocking reload for
// the part after it. gohlslib v2.2.0, closed while a preload hint waits,
// leaves its mutex locked and every other waiter hangs; the muxer's
// quiesce must finish parts until none waits before it closes.
func TestHLSInflightAndClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, nil)
	_, playlist, _ := e.hlsStart("cam1", nil)
	tk := firstTicket(t, e)
	base := strings.TrimSuffix(playlist, "index.m3u8")
	if st, _ := e.get(base + "video1_stream.m3u8"); st != http.StatusOK {
		t.Fatal(st)
	}
	e.gw.auto.Store(false) // the camera is not published again
	var pub *publisher
	wait.For(t, 5*time.Second, "publisher", func() bool { pub = e.gw.publisher(tk.Session); return pub != nil })
	pub.close()
	// The last hint once the ring has no more to give.
	var hint, msn, part string
	same := 0
	wait.For(t, 5*time.Second, "a preload hint that stays (4 polls, 300 ms)", func() bool {
		_, body := e.get(base + "video1_stream.m3u8")
		_, h, ok := strings.Cut(body, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="`)
		h, _, _ = strings.Cut(h, `"`)
		if !ok || h == "" || h != hint {
			hint, same = h, 0
			return false
		}
		same++
		return same >= 3
	})
	// The hinted part is part N of segment M: the reload waits for it.
	_, body := e.get(base + "video1_stream.m3u8")
	msn, part = nextPart(t, body)

	var v *viewer
	e.relay.mu.Lock()
	for _, x := range e.relay.sessions {
		v = x
	}
	e.relay.mu.Unlock()
	done := make(chan int, maxHLSInflight)
	get := func(path string) {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}
	for range maxHLSInflight - 1 {
		go get(base + hint)
	}
	go get(base + "video1_stream.m3u8?_HLS_msn=" + msn + "&_HLS_part=" + part)
	wait.For(t, 5*time.Second, "requests waiting in the muxer", func() bool { return v.hls.inflight.Load() == maxHLSInflight })
	if st, body := e.get(base + hint); st != http.StatusTooManyRequests || !strings.Contains(body, "hls_busy") {
		t.Fatalf("one request over the cap: %d %s, want 429 hls_busy", st, body)
	}
	select {
	case st := <-done:
		t.Fatalf("a request answered %d before its part was finished", st)
	default:
	}
	closed := make(chan struct{})
	go func() { e.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("closing the relay hung with requests waiting in the HLS muxer")
	}
	for range maxHLSInflight {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting request did not end")
		}
	}
}

// nextPart returns the media sequence number and part index of the part
// after the last one an LL-HLS media playlist lists.
func nextPart(t *testing.T, body string) (msn, part string) {
	t.Helper()
	seq := -1
	segs, parts := 0, 0
	for line := range strings.Lines(body) {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:")))
		case strings.HasPrefix(line, "#EXTINF:"):
			segs, parts = segs+1, 0
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			parts++
		}
	}
	if seq < 0 {
		t.Fatalf("no media sequence in\n%s", body)
	}
	// Parts after the last #EXTINF belong to the segment being written.
	return strconv.Itoa(seq + segs), strconv.Itoa(parts)
}

// TestHLSUpstreamRestarted: the publisher dies while an HLS viewer
// watches; the relay re-Starts the camera, and the same HLS session goes
// on with the new upstream, its presentation times never going back.
func TestHLSUpstreamRestarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, nil)
	_, playlist, _ := e.hlsStart("cam1", nil)
	tk := firstTicket(t, e)
	r := e.playHLS(playlist, 6)
	wait.For(t, 20*time.Second, "frames before the restart", func() bool { n, _, _ := r.counts(); return n >= 20 })
	e.gw.publisher(tk.Session).close()
	select {
	case <-e.gw.startCh:
	case <-time.After(15 * time.Second):
		t.Fatal("relay did not re-Start the camera")
	}
	before, _, _ := r.counts()
	wait.For(t, 20*time.Second, "frames after the restart", func() bool { n, _, _ := r.counts(); return n >= before+30 })
	if _, idrs, back := r.counts(); back || idrs < 2 {
		t.Fatalf("across the restart: presentation time went back %v, %d IDRs", back, idrs)
	}
	if n := e.relay.Viewers("cam1"); n != 1 {
		t.Fatalf("%d viewers after the restart, want 1", n)
	}
}

// TestHLSEndViewers: EndViewers (the fleet's recheck: a logout, a revoked
// token, a lost right) ends HLS sessions as it ends WHEP ones.
func TestHLSEndViewers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, true, nil)
	_, gone, _ := e.hlsStart("cam1", map[string]string{"X-Principal": "revoked"})
	_, kept, _ := e.hlsStart("cam1", map[string]string{"X-Principal": "kept"})
	n := e.relay.EndViewers(func(s ViewerSession) bool { return s.HLS && s.Viewer.Principal == "revoked" })
	if n != 1 {
		t.Fatalf("EndViewers ended %d, want 1", n)
	}
	if st, _ := e.get(gone); st != http.StatusNotFound {
		t.Fatalf("an ended session's playlist: %d, want 404", st)
	}
	if st, _ := e.get(kept); st != http.StatusOK {
		t.Fatalf("the other session's playlist: %d", st)
	}
	if got := e.metric("bk_live_viewer_drops_total", "reason", "revoked"); got != 1 {
		t.Fatalf("revoked drops %v, want 1", got)
	}
}
