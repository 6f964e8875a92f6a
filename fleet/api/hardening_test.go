package api

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
)

// pngBomb is a PNG that declares w×h pixels of 16-bit RGBA (8 bytes a
// pixel) with a tiny IDAT: under 64 bytes that decode to w×h×8.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // 16-bit, RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00}) // an empty zlib stream's start
	return b.Bytes()
}

// jpegBomb is a JPEG whose SOF0 declares w×h pixels of YCbCr.
func jpegBomb(w, h uint16) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xd8})                                                          // SOI
	b.Write([]byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}) // APP0
	// DQT, table 0, all ones.
	b.Write([]byte{0xff, 0xdb, 0, 67, 0})
	b.Write(bytes.Repeat([]byte{1}, 64))
	sof := []byte{0xff, 0xc0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	b.Write(sof)
	b.Write([]byte{0xff, 0xd9}) // EOI
	return b.Bytes()
}

func TestImageBomb(t *testing.T) {
	w := newWorld(t)
	base := fmt.Sprintf("/api/v1/violations/%d", w.alarm["A"])
	bomb := pngBomb(60000, 60000)
	if len(bomb) > 64 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	// Before the alarm is confirmed, no body is read at all.
	ct, body := multipartBody(t, "fixed", bomb, "bomb.png")
	if status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body); status != 409 || !strings.Contains(resp, "wrong_state") {
		t.Fatalf("rectification of a new alarm: %d %s", status, resp)
	}
	if status, resp := w.req(t, "regulator", "POST", base+"/review", "application/json", []byte(`{"verdict":"confirmed"}`)); status != 200 {
		t.Fatalf("review: %d %s", status, resp)
	}
	for name, photo := range map[string][]byte{"png": bomb, "jpeg": jpegBomb(65000, 65000)} {
		ct, body := multipartBody(t, "fixed", photo, "bomb."+name)
		status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body)
		if status != 413 || !strings.Contains(resp, "image too large") {
			t.Errorf("%s bomb: %d %.300s; want 413 image too large", name, status, resp)
		}
		// The server still answers.
		if status, resp := w.req(t, "", "GET", "/healthz", "", nil); status != 200 {
			t.Fatalf("healthz after the %s bomb: %d %s", name, status, resp)
		}
	}
	// A real photo still goes through.
	ct, body = multipartBody(t, "fixed", pngBytes(t), "fix.png")
	if status, resp := w.req(t, "operatorA", "POST", base+"/rectification", ct, body); status != 201 {
		t.Errorf("real photo: %d %.300s", status, resp)
	}
}

// serveWith serves h with the timeouts t on a loopback port.
func serveWith(t *testing.T, h http.Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(h, to)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reads c until it is closed and fails unless that happens
// within d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: connection still open after %v", what, d)
	}
	t.Logf("%s: closed after %v", what, time.Since(start).Round(time.Millisecond))
}

func TestTimeouts(t *testing.T) {
	w := newWorld(t)
	addr := serveWith(t, w.api.Handler(), Timeouts{Read: 300 * time.Millisecond, Idle: 300 * time.Millisecond})

	// A slow body: a byte every 50 ms of a declared kilobyte.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for range 100 { // at most 5 s
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	closedWithin(t, c, 3*time.Second, "slow body")

	// An idle keep-alive connection, after one answered request.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(c2)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closedWithin(t, c2, 3*time.Second, "idle keep-alive")
}

func TestBodyCap(t *testing.T) {
	w := newWorld(t)
	big := `{"note":"` + strings.Repeat("a", 10<<20) + `"}`
	for _, c := range []struct{ who, path string }{
		{"", "/api/v1/invites/redeem"},
		{"", "/api/v1/login"},
		{"regulator", fmt.Sprintf("/api/v1/violations/%d/review", w.alarm["A"])},
	} {
		status, resp := w.req(t, c.who, "POST", c.path, "application/json", []byte(big))
		if status != 413 {
			t.Errorf("10 MiB to %s: %d %.200s; want 413", c.path, status, resp)
		}
	}
	r, _ := http.NewRequest("POST", "/api/v1/violations/7/rectification", nil)
	if bodyLimit(r) != MaxRectification {
		t.Errorf("rectification limit %d", bodyLimit(r))
	}
	// the cap is on every request, before any handler: a handler that
	// reads all it is given gets MaxBody bytes at most
	var got int
	h := harden(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got = len(b)
		if err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/anything", strings.NewReader(big)))
	if rec.Code != 413 || got > MaxBody {
		t.Errorf("a handler without a cap of its own read %d bytes (%d), want at most MaxBody %d", got, rec.Code, MaxBody)
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := newWorld(t)
	// A stored snapshot, to check its headers too.
	vs, err := w.st.Violations(t.Context(), alarms.ViolationFilter{CanteenID: "A"})
	if err != nil || len(vs) != 1 {
		t.Fatal(vs, err)
	}
	for _, path := range []string{"/", "/static/app.js", "/healthz", "/live/gw-A:pub-A", "/api/v1/nope",
		fmt.Sprintf("/api/v1/violations/%d/snapshot", vs[0].ID)} {
		req, _ := http.NewRequest("GET", w.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		// The player page is the web UI's, with the UI's one WHEP player.
		if strings.HasPrefix(path, "/live/") && (resp.StatusCode != 200 || !strings.Contains(string(body), `src="/static/player.js?v=`)) {
			t.Errorf("%s: %d %.300s; want the web UI's player page", path, resp.StatusCode, body)
		}
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s (%d): headers %v", path, resp.StatusCode, h)
		}
		if (path == "/" || strings.HasPrefix(path, "/live/")) && !strings.Contains(csp, "'sha256-") {
			t.Errorf("%s: CSP %q allows no inline script", path, csp)
		}
		if strings.Contains(csp, "http") {
			t.Errorf("%s: CSP %q names another origin", path, csp)
		}
	}
}

func TestCrossOriginLogin(t *testing.T) {
	w := newWorld(t)
	for _, path := range []string{"/api/v1/login", "/api/v1/invites/redeem"} {
		for origin, want := range map[string]int{"http://evil.example": 403, "null": 403, w.srv.URL: 400, "": 400} {
			req, _ := http.NewRequest("POST", w.srv.URL+path, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s from %q: %d %s; want %d", path, origin, resp.StatusCode, b, want)
			}
		}
	}
}

func TestMetricsAccess(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bk_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	c.Inc()
	a := &Server{Registry: w.st.Registry, Auth: w.st.Auth, Alarms: w.st.Alarms, Rates: w.st.Rates, AdminToken: "secret", Gatherer: reg}
	addr := serveWith(t, a.Handler(), Timeouts{})
	for tok, want := range map[string]int{"": 401, w.tokens["regulator"]: 403, w.tokens["operatorA"]: 403, "secret": 200} {
		status, body := doCT(t, "GET", "http://"+addr+"/metrics", tok, "", "")
		if status != want || (want == 200) != strings.Contains(body, "bk_test_total 1") {
			t.Errorf("/metrics with token %q: %d %.100s; want %d", tok, status, body, want)
		}
	}
	// Its own listener serves it to anyone.
	own := serveWith(t, a.MetricsHandler(), Timeouts{})
	if status, body := doCT(t, "GET", "http://"+own+"/metrics", "", "", ""); status != 200 || !strings.Contains(body, "bk_test_total 1") {
		t.Errorf("metrics listener: %d %.100s", status, body)
	}
}
