package api

import (
	"context"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// TestAnonymousHLS: HLS gives the anonymous visitor exactly what WHEP
// does (startView): a camera published to everyone of an active canteen
// inside its window gets past the checks, anything else 401 or 403, the
// canteen's cap of anonymous views counts HLS views, and a start that
// fails gives the place back.
func TestAnonymousHLS(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		for _, cam := range []string{"gw-A:pub-A", "gw-C:pub-C"} {
			if err := w.st.SetCameraAudience(ctx, cam, "cooking", registry.AudienceEveryone); err != nil {
				t.Fatal(err)
			}
		}
		w.api.MaxPublicViewers = 2
		for _, c := range []struct {
			name, method, path string
			status             int
			code               string
		}{
			{"published, open (no gateway here)", "POST", "/hls/gw-A:pub-A", 502, "start_failed"},
			{"published, open, bare playlist", "GET", "/hls/gw-A:pub-A/index.m3u8", 502, "start_failed"},
			{"parents only", "POST", "/hls/gw-A:priv-A", 401, "unauthenticated"},
			{"parents only, bare playlist", "GET", "/hls/gw-A:priv-A/index.m3u8", 401, "unauthenticated"},
			{"published, outside the window", "POST", "/hls/gw-C:pub-C", 403, "outside_window"},
			{"unknown camera", "POST", "/hls/gw-A:nope", 401, "unauthenticated"},
			{"delete someone's session", "DELETE", "/hls/gw-A:pub-A/NOSUCHSESSION", 404, ""},
		} {
			status, body := doCT(t, c.method, w.srv.URL+c.path, "", "", "")
			if status != c.status || (c.code != "" && !strings.Contains(body, `"code":"`+c.code+`"`)) {
				t.Errorf("%s: %s %s: %d %s; want %d %s", c.name, c.method, c.path, status, body, c.status, c.code)
			}
		}
		// The failed starts gave their places back; a full canteen refuses HLS too.
		for range 2 {
			if !w.api.public.reserve("A", "gw-A:pub-A", 2) {
				t.Fatal("could not take a place: a failed HLS start kept one")
			}
		}
		if status, body := doCT(t, "POST", w.srv.URL+"/hls/gw-A:pub-A", "", "", ""); status != 429 || !strings.Contains(body, "public_cap") {
			t.Fatalf("third visitor over HLS: %d %s; want 429 public_cap", status, body)
		}
	})
}
