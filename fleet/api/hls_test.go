package api

import (
	"context"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
)

// TestHLSViewRefusals: HLS views get exactly the answers WHEP views get
// (startView and watchable are shared), by POST and by GET of the bare
// playlist; refusals are audited; a parent over its cap is refused with
// 429 and a start that fails gives the parent's place back.
func TestHLSViewRefusals(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		who, camera string
		status      int
		code        string
	}{
		{"parentA", "priv-A", 403, "forbidden"},
		{"parentA", "pub-B", 403, "forbidden"},
		{"parentC", "pub-C", 403, "outside_window"},
		{"operatorA", "pub-B", 403, "forbidden"},
		{"regulator", "priv-B", 403, "forbidden"},
		{"parentA", "no-such-camera", 403, "forbidden"},
		{"nobody", "pub-A", 401, "unauthenticated"},
		{"admin", "gw-A:bad%20id", 400, "bad_request"},
		// Allowed: past the checks to the relay, whose gateway cannot be
		// asked in this test (502), not 401/403.
		{"parentA", "pub-A", 502, "start_failed"},
		{"operatorA", "pub-A", 502, "start_failed"},
		{"regulator", "pub-A", 502, "start_failed"},
	}
	for _, c := range cases {
		for _, method := range []string{"POST", "GET"} {
			path := "/hls/" + c.camera
			if method == "GET" {
				path += "/index.m3u8"
			}
			status, body := w.req(t, c.who, method, path, "", nil)
			if status != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) {
				t.Errorf("%s %s %s: %d %s; want %d %s", c.who, method, path, status, body, c.status, c.code)
			}
		}
	}
	entries, err := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "live_view"})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, e := range entries {
		if e.Outcome == "refused" {
			refused[e.CameraID] = e.Detail
		}
	}
	if refused["pub-C"] != "outside_window" || refused["priv-A"] != "forbidden" {
		t.Errorf("HLS refusals audited: %v", refused)
	}

	// The failed starts above gave parentA's places back.
	w.api.parents.mu.Lock()
	held := w.api.parents.n["A"]
	w.api.parents.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d parents' places held after refused starts", held)
	}
	// A parent at its own cap is refused over HLS as over WHEP.
	for range DefaultMaxViewsPerParent {
		if code := w.api.parents.reserve("A", 50, parentPrincipal(t, w, "parentA"), DefaultMaxViewsPerParent); code != "" {
			t.Fatal(code)
		}
	}
	if status, body := w.req(t, "parentA", "POST", "/hls/pub-A", "", nil); status != 429 || !strings.Contains(body, `"parent_views"`) {
		t.Fatalf("a parent's third view over HLS: %d %s; want 429 parent_views", status, body)
	}

	// A session's files need the session: no session, no file.
	for _, path := range []string{"/hls/gw-A:pub-A/NOSUCH/index.m3u8", "/hls/gw-A:pub-A/NOSUCH/x_part1.mp4"} {
		if status, body := w.req(t, "nobody", "GET", path, "", nil); status != 404 || !strings.Contains(body, `"code":"not_found"`) {
			t.Errorf("GET %s: %d %s; want 404 not_found", path, status, body)
		}
	}
	if status, body := w.req(t, "parentA", "DELETE", "/hls/gw-A:pub-A/NOSUCH", "", nil); status != 404 {
		t.Errorf("DELETE of no session: %d %s; want 404", status, body)
	}
}

// parentPrincipal is the principal id of a test token's parent.
func parentPrincipal(t *testing.T, w *world, who string) string {
	t.Helper()
	tok, err := w.st.TokenBySecret(context.Background(), w.tokens[who])
	if err != nil {
		t.Fatalf("token of %s: %v", who, err)
	}
	return principalOfToken(tok).ID
}
