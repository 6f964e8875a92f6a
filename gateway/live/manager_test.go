package live

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func newTestManager(t *testing.T) *Manager {
	m := &Manager{Loopback: true, Logger: testLogger(), Fleet: Origin{Scheme: "http", Host: "127.0.0.1"}}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func startArgs(w *whipServer, cameraID, session string) StartArgs {
	return StartArgs{CameraID: cameraID, Session: session, Token: testToken, WHIPURL: w.url(cameraID)}
}

// TestManager: one publisher per camera; the same session is idempotent, a
// new one replaces it, Stop of a stale session does nothing, Stop and
// Close end everything.
func TestManager(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camManager)
	w := newWHIPServer(t, testToken)
	m := newTestManager(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// the same live.start twice at once, then once more: one publisher
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = m.Start(ctx, src, startArgs(w, "cam1", "s1")) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, src, startArgs(w, "cam1", "s1")); err != nil {
		t.Fatal(err)
	}
	if posts, _, _ := w.counts(); posts != 1 {
		t.Fatalf("%d POSTs for one session, want 1", posts)
	}
	if got := m.Active(); !slices.Equal(got, []string{"cam1"}) {
		t.Fatalf("Active = %v", got)
	}
	first := w.last()
	wait.For(t, 5*time.Second, "media of s1", func() bool { return len(first.packets()) > 0 })

	// a new session replaces the old one, whose resource is deleted
	if err := m.Start(ctx, src, startArgs(w, "cam1", "s2")); err != nil {
		t.Fatal(err)
	}
	second := w.last()
	if second == first {
		t.Fatal("no new WHIP session for s2")
	}
	wait.For(t, 5*time.Second, "DELETE of s1's resource", func() bool {
		_, _, dels := w.counts()
		return dels == 1
	})
	wait.For(t, 5*time.Second, "media of s2", func() bool { return len(second.packets()) > 0 })
	if got := m.Active(); !slices.Equal(got, []string{"cam1"}) {
		t.Fatalf("Active = %v", got)
	}

	// live.stop of the replaced session is ignored
	m.Stop("cam1", "s1")
	if got := m.Active(); !slices.Equal(got, []string{"cam1"}) {
		t.Fatalf("Active after a stale stop = %v", got)
	}
	m.Stop("cam1", "s2")
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("Active after stop = %v", got)
	}
	if _, _, dels := w.counts(); dels != 2 {
		t.Fatalf("%d DELETEs, want 2", dels)
	}
	m.Stop("cam1", "s2") // again: nothing

	// two cameras (one Source may feed several), then Close ends both
	for _, id := range []string{"cam1", "cam2"} {
		if err := m.Start(ctx, src, startArgs(w, id, "s3")); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Active(); !slices.Equal(got, []string{"cam1", "cam2"}) {
		t.Fatalf("Active = %v", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("Active after Close = %v", got)
	}
	if _, _, dels := w.counts(); dels != 4 {
		t.Fatalf("%d DELETEs after Close, want 4", dels)
	}
	if err := m.Start(ctx, src, startArgs(w, "cam1", "s4")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

// TestManagerRepublish: when the receiving side closes the peer
// connection, the manager publishes again with the same ticket; a refusal
// ends the session for good.
func TestManagerRepublish(t *testing.T) {
	t.Parallel()
	src := fix.source(t, camManager)
	w := newWHIPServer(t, testToken)
	m := newTestManager(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if err := m.Start(ctx, src, startArgs(w, "cam", "s1")); err != nil {
		t.Fatal(err)
	}
	first := w.last()
	wait.For(t, 5*time.Second, "media", func() bool { return len(first.packets()) > 0 })
	_ = first.pc.Close() // the relay drops the upstream

	wait.For(t, 5*time.Second, "a second WHIP session", func() bool {
		_, sessions, _ := w.counts()
		return sessions == 2
	})
	second := w.last()
	wait.For(t, 5*time.Second, "media on the second session", func() bool { return len(second.packets()) > 0 })
	us := units(t, second.packets())
	if len(us) > 0 && !us[0].key() {
		t.Errorf("the republished session does not start with a keyframe: %v", naluTypes(us[0]))
	}
	if got := m.Active(); !slices.Equal(got, []string{"cam"}) {
		t.Fatalf("Active = %v", got)
	}

	// now the relay refuses the ticket: no more attempts, the session ends
	w.mu.Lock()
	w.token = "rotated"
	w.mu.Unlock()
	posts0, _, _ := w.counts()
	_ = second.pc.Close()
	// The session leaves Active as its loop returns: no POST can follow.
	wait.For(t, 5*time.Second, "the session to end", func() bool { return len(m.Active()) == 0 })
	if posts, _, _ := w.counts(); posts != posts0+1 {
		t.Errorf("%d POSTs after the refusal, want exactly 1", posts-posts0)
	}
}

func TestStartArgsValidate(t *testing.T) {
	m := newTestManager(t)
	src := fakeSource{media: h264Media, ok: true}
	for _, a := range []StartArgs{
		{Session: "s", WHIPURL: "http://x/whip/c"},
		{CameraID: "c", WHIPURL: "http://x/whip/c"},
		{CameraID: "c", Session: "s"},
	} {
		if err := m.Start(context.Background(), src, a); err == nil {
			t.Errorf("Start(%+v) = nil, want an error", a)
		}
	}
	if err := m.Start(context.Background(), nil, StartArgs{CameraID: "c", Session: "s", WHIPURL: "http://x/whip/c"}); err == nil {
		t.Error("Start with no source = nil")
	}
	if len(m.Active()) != 0 {
		t.Error("a refused start left a session")
	}
}

// TestManagerRefusesForeignWHIP: a whip_url off the fleet's origin is
// refused before anything is published, with ErrForeignWHIP (permanent).
func TestManagerRefusesForeignWHIP(t *testing.T) {
	t.Parallel()
	m := &Manager{Loopback: true, Logger: testLogger(), Fleet: Origin{Scheme: "https", Host: "fleet.example", Port: "443"}}
	t.Cleanup(func() { _ = m.Close() })
	for _, u := range []string{
		"https://evil.example/whip/cam1",
		"http://fleet.example/whip/cam1",       // scheme
		"https://fleet.example:8443/whip/cam1", // port
		"https://fleet.example.evil/whip/cam1", // host suffix
		"https://fleet.example@evil.example/x", // userinfo trick
		"ftp://fleet.example/whip/cam1",        // not http
		"https://127.0.0.1/whip/cam1",          // another host
	} {
		err := m.Start(context.Background(), nil, StartArgs{CameraID: "cam1", Session: "s", WHIPURL: u})
		if !errors.Is(err, ErrForeignWHIP) || !Permanent(err) {
			t.Errorf("%s: %v", u, err)
		}
	}
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("active %v", got)
	}
	var zero Manager
	if err := zero.Start(context.Background(), nil, StartArgs{CameraID: "c", Session: "s", WHIPURL: "http://127.0.0.1/x"}); !errors.Is(err, ErrForeignWHIP) {
		t.Errorf("zero Fleet: %v", err)
	}
}

func TestOriginAllows(t *testing.T) {
	for _, tc := range []struct {
		o    Origin
		u    string
		want bool
	}{
		{Origin{Scheme: "https", Host: "fleet.example", Port: "443"}, "https://fleet.example/whip/a", true},
		{Origin{Scheme: "https", Host: "fleet.example", Port: "443"}, "https://FLEET.example:443/whip/a", true},
		{Origin{Scheme: "https", Host: "fleet.example", Port: "443"}, "https://fleet.example:444/whip/a", false},
		{Origin{Host: "10.0.0.5"}, "http://10.0.0.5:8080/whip/a", true},
		{Origin{Host: "10.0.0.5"}, "https://10.0.0.5/whip/a", true},
		{Origin{Host: "10.0.0.5"}, "http://10.0.0.6:8080/whip/a", false},
		{Origin{Host: "::1"}, "http://[::1]:8080/whip/a", true},
		{Origin{}, "http:///whip/a", false},
	} {
		u, err := url.Parse(tc.u)
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.o.Allows(u); got != tc.want {
			t.Errorf("%v allows %s: %v, want %v", tc.o, tc.u, got, tc.want)
		}
	}
	o, err := OriginOf("https://fleet.example")
	if err != nil || o != (Origin{Scheme: "https", Host: "fleet.example", Port: "443"}) {
		t.Errorf("OriginOf: %+v %v", o, err)
	}
	if _, err := OriginOf("fleet.example:443"); err == nil {
		t.Error("OriginOf without scheme: no error")
	}
}
