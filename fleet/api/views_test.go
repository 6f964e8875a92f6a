package api

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// fakeViews stands in for the relay's sessions.
type fakeViews struct {
	mu sync.Mutex
	ss []live.ViewerSession
}

func (f *fakeViews) end(end func(live.ViewerSession) bool) int {
	f.mu.Lock()
	ss := slices.Clone(f.ss)
	f.mu.Unlock()
	n := 0
	for _, s := range ss {
		if end(s) {
			f.mu.Lock()
			f.ss = slices.DeleteFunc(f.ss, func(x live.ViewerSession) bool { return x.ID == s.ID })
			f.mu.Unlock()
			n++
		}
	}
	return n
}

// left lists the sessions still running.
func (f *fakeViews) left() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.ss {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

// TestViewsEnd: a live view ends when its user logs out or is deleted (at
// once), or, on the periodic recheck, when the user is disabled, the token
// revoked, the camera made non-public (parents) or the viewing window
// closed; the views still allowed go on.
func TestViewsEnd(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	fv := &fakeViews{}
	w.api.viewsHook = fv.end
	view := func(id, who, login, role, camera string) {
		fv.ss = append(fv.ss, live.ViewerSession{ID: id, Camera: camera,
			Viewer: live.Viewer{Principal: who, Role: role, CanteenID: "A", Login: login}})
	}
	// Four parents and an operator of school A log in; each watches.
	browsers, logins := map[string]*browser{}, map[string]string{}
	for _, u := range []auth.User{
		{ID: "mum", Role: auth.RoleParent, Canteens: []string{"A"}},
		{ID: "dad", Role: auth.RoleParent, Canteens: []string{"A"}},
		{ID: "gran", Role: auth.RoleParent, Canteens: []string{"A"}},
		{ID: "aunt", Role: auth.RoleParent, Canteens: []string{"A"}},
		{ID: "op", Role: auth.RoleOperator, Canteens: []string{"A"}},
	} {
		if _, err := w.st.AddUser(ctx, u, "correct horse"); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, w.srv.URL)
		if status, body := b.do("POST", "/api/v1/login", `{"login":"`+u.ID+`","password":"correct horse"}`); status != 200 {
			t.Fatalf("login %s: %d %s", u.ID, status, body)
		}
		browsers[u.ID] = b
		cookie := ""
		srvURL, _ := url.Parse(w.srv.URL)
		for _, c := range b.c.Jar.Cookies(srvURL) {
			if c.Name == SessionCookie {
				cookie = c.Value
			}
		}
		logins[u.ID] = "session:" + auth.SessionKey(cookie)
		view(u.ID, "user:"+u.ID, logins[u.ID], u.Role, "gw-A:pub-A")
	}
	_, tok, err := w.st.AddToken(ctx, auth.Token{Role: auth.RoleParent, Canteens: []string{"A"}})
	if err != nil {
		t.Fatal(err)
	}
	view("token", "token:"+tok.ID, "token:"+tok.ID, auth.RoleParent, "gw-A:pub-A")
	view("admin", "admin-token", "admin-token", auth.RoleAdmin, "gw-A:priv-A")
	want := func(step string, ids ...string) {
		t.Helper()
		if got := fv.left(); !slices.Equal(got, ids) {
			t.Fatalf("%s: views left %v, want %v", step, got, ids)
		}
	}
	if n := w.api.RecheckViewers(ctx); n != 0 {
		t.Fatalf("recheck with nothing changed ended %d views", n)
	}

	// At once: logout, delete.
	if status, _ := browsers["mum"].do("POST", "/api/v1/logout", ""); status != 204 {
		t.Fatal("logout")
	}
	want("after mum's logout", "admin", "aunt", "dad", "gran", "op", "token")
	if status, _ := w.req(t, "admin", "DELETE", "/api/v1/users/dad", "", nil); status != 204 {
		t.Fatal("delete dad")
	}
	want("after dad's deletion", "admin", "aunt", "gran", "op", "token")

	// On the recheck: disabled, revoked.
	if err := w.st.SetUserDisabled(ctx, "gran", true); err != nil {
		t.Fatal(err)
	}
	if err := w.st.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	w.api.RecheckViewers(ctx)
	want("after gran disabled and the token revoked", "admin", "aunt", "op")

	// The camera no longer public: parents' views end, staff's go on.
	hb := wire.Heartbeat{V: wire.Version, At: time.Now(), Cameras: []wire.CameraHealth{
		{CameraID: "pub-A", Online: true, Picture: wire.PictureOK, Area: "cooking", Public: false},
		{CameraID: "priv-A", Online: true, Picture: wire.PictureOK, Area: "washing"},
	}}
	if err := w.st.Heartbeat(ctx, "gw-A", hb, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.api.RecheckViewers(ctx)
	want("after pub-A made private", "admin", "op")

	// The viewing window changed and closed now.
	hb.Cameras[0].Public = true
	if err := w.st.Heartbeat(ctx, "gw-A", hb, time.Now()); err != nil {
		t.Fatal(err)
	}
	view("aunt", "user:aunt", logins["aunt"], auth.RoleParent, "gw-A:pub-A")
	w.api.RecheckViewers(ctx)
	want("aunt watching again", "admin", "aunt", "op")
	if err := w.st.SetViewing(ctx, "A", coverage.Week{}, 0); err != nil {
		t.Fatal(err)
	}
	w.api.RecheckViewers(ctx)
	want("after the window closed", "admin", "op")
}
