package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// joinWorld is an API over one backend with two schools (A, B) and a
// hospital (H), an operator token for each school and the admin token.
type joinWorld struct {
	st     *dbtest.DB
	api    *Server
	srv    *httptest.Server
	tokens map[string]string
}

func newJoinWorld(t *testing.T, dbURL string, joinsPerAddr int) *joinWorld {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Of(storetest.Open(t, dbURL))
	for _, c := range []registry.Canteen{
		{ID: "A", Name: "实验小学", Category: registry.CategorySchool, District: "xuhui", Active: true},
		{ID: "B", Name: "School B", Category: registry.CategorySchool, District: "minhang", Active: true},
		{ID: "H", Name: "Hospital", Category: registry.CategoryHospital, District: "xuhui", Active: true},
	} {
		if _, err := st.PutCanteen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	w := &joinWorld{st: st, tokens: map[string]string{"admin": "secret"}}
	for name, tok := range map[string]auth.Token{
		"operatorA": {Role: auth.RoleOperator, Canteens: []string{"A"}},
		"operatorB": {Role: auth.RoleOperator, Canteens: []string{"B"}},
		"operatorH": {Role: auth.RoleOperator, Canteens: []string{"H"}},
	} {
		secret, _, err := st.AddToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[name] = secret
	}
	w.api = &Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret",
		JoinsPerAddr: joinsPerAddr}
	w.srv = httptest.NewServer(w.api.Handler())
	t.Cleanup(w.srv.Close)
	return w
}

func (w *joinWorld) req(t *testing.T, who, method, path, body string) (int, string) {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return doCT(t, method, w.srv.URL+path, w.tokens[who], ct, body)
}

type madeLink struct {
	Link  auth.JoinLink `json:"link"`
	Token string        `json:"token"`
	URL   string        `json:"url"`
}

func (w *joinWorld) makeLink(t *testing.T, who, canteen, body string) madeLink {
	t.Helper()
	status, out := w.req(t, who, "POST", "/api/v1/canteens/"+canteen+"/join-links", body)
	if status != 201 {
		t.Fatalf("make link: %d %s", status, out)
	}
	var m madeLink
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// join redeems a link in browser b as name.
func join(b *browser, token, name string) (int, string) {
	b.t.Helper()
	body, _ := json.Marshal(joinRequest{Link: token, Name: name})
	return b.do("POST", "/api/v1/join", string(body))
}

func TestJoinLinksAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		w := newJoinWorld(t, dbURL, 8)
		// Making links: scope, category, bounds.
		for _, c := range []struct {
			who, canteen, body string
			status             int
			contains           string
		}{
			{"operatorB", "A", `{"cap":3}`, 403, "forbidden"},
			{"", "A", `{"cap":3}`, 401, "unauthenticated"},
			{"operatorH", "H", `{"cap":3}`, 400, "only schools"},
			{"operatorA", "A", `{}`, 400, "cap 0"},
			{"operatorA", "A", `{"cap":10001}`, 400, "cap 10001"},
			{"operatorA", "A", `{"cap":3,"ttl_h":9000}`, 400, "ttl_h"},
			{"operatorA", "A", `{"cap":3,"class":"` + strings.Repeat("x", 101) + `"}`, 400, "class"},
			{"operatorA", "A", `{"cap":3,"extra":1}`, 400, "unknown field"},
			{"operatorA", "A", `{"cap":"3"}`, 400, "bad_request"},
		} {
			if status, body := w.req(t, c.who, "POST", "/api/v1/canteens/"+c.canteen+"/join-links", c.body); status != c.status ||
				!strings.Contains(body, c.contains) {
				t.Errorf("%s POST %s %s: %d %s; want %d %q", c.who, c.canteen, c.body, status, body, c.status, c.contains)
			}
		}
		m := w.makeLink(t, "operatorA", "A", `{"cap":3,"class":"3-2","ttl_h":48}`)
		if !auth.WellFormedJoinToken(m.Token) || m.URL != w.srv.URL+"/#/join?link="+m.Token || m.Link.Cap != 3 || m.Link.Class != "3-2" ||
			m.Link.CreatedBy == "" || time.Until(m.Link.ExpiresAt) < 47*time.Hour {
			t.Fatalf("made %+v", m)
		}
		// The QR code: a 512 px PNG for the token's maker; nothing for a
		// wrong token or another school's operator.
		resp, err := http.DefaultClient.Do(authed(t, "GET", w.srv.URL+"/api/v1/join-links/"+m.Link.ID+"/qr.png?token="+url.QueryEscape(m.Token), w.tokens["operatorA"]))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 512 {
			t.Fatalf("QR code: %v %s %v", err, resp.Header.Get("Content-Type"), img)
		}
		wrong := m.Token[:len(m.Token)-2] + "xx"
		if status, body := w.req(t, "operatorA", "GET", "/api/v1/join-links/"+m.Link.ID+"/qr.png?token="+wrong, ""); status != 404 ||
			!strings.Contains(body, "bad_join_link") {
			t.Errorf("QR with a wrong token: %d %s", status, body)
		}
		if status, _ := w.req(t, "operatorB", "GET", "/api/v1/join-links/"+m.Link.ID+"/qr.png?token="+m.Token, ""); status != 403 {
			t.Errorf("QR for another school's operator: %d", status)
		}

		// A parent opens the link: which school it joins.
		p1 := newBrowser(t, w.srv.URL)
		if status, body := p1.do("POST", "/api/v1/join/check", `{"link":"`+m.Token+`"}`); status != 200 ||
			!strings.Contains(body, `"canteen_name":"实验小学"`) || !strings.Contains(body, `"class":"3-2"`) {
			t.Fatalf("check: %d %s", status, body)
		}
		// Three parents join, each in a browser of their own, and see
		// the school; the cookie is HttpOnly and lasts half a year.
		parents := []*browser{p1, newBrowser(t, w.srv.URL), newBrowser(t, w.srv.URL)}
		for i, b := range parents {
			if i == 0 {
				c := joinCookie(t, b, m.Token, "家长0")
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || time.Until(c.Expires) < 179*24*time.Hour || c.Path != "/" {
					t.Errorf("parent's cookie: %+v", c)
				}
			} else if status, body := join(b, m.Token, fmt.Sprint("家长", i)); status != 201 {
				t.Fatalf("join %d: %d %s", i, status, body)
			}
			status, body := b.do("GET", "/api/v1/me", "")
			if status != 200 || !strings.Contains(body, `"role":"parent"`) || !strings.Contains(body, `"canteens":["A"]`) ||
				!strings.Contains(body, fmt.Sprint("家长", i)) {
				t.Fatalf("parent %d's me: %d %s", i, status, body)
			}
			if status, body := b.do("GET", "/api/v1/canteens/A", ""); status != 200 || !strings.Contains(body, "实验小学") {
				t.Errorf("parent %d on school A: %d %s", i, status, body)
			}
			if status, _ := b.do("GET", "/api/v1/canteens/B", ""); status != 403 {
				t.Errorf("parent %d on school B: %d", i, status)
			}
		}
		// The 4th is refused, as an unknown token and a revoked link are:
		// the same answer, nothing told.
		fourth := newBrowser(t, w.srv.URL)
		_, full := join(fourth, m.Token, "第四位")
		_, unknown := join(fourth, "bkj_"+strings.Repeat("A", 32), "第四位")
		_, malformed := join(fourth, "nope", "第四位")
		_, checkFull := fourth.do("POST", "/api/v1/join/check", `{"link":"`+m.Token+`"}`)
		for _, body := range []string{full, unknown, malformed, checkFull} {
			if body != full || !strings.Contains(body, "bad_join_link") {
				t.Errorf("refusals differ or wrong: %q vs %q", body, full)
			}
		}
		if status, _ := fourth.do("GET", "/api/v1/me", ""); status != 401 {
			t.Errorf("refused parent signed in: %d", status)
		}
		var list struct{ Links []auth.JoinLink }
		_, body := w.req(t, "operatorA", "GET", "/api/v1/canteens/A/join-links", "")
		if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Links) != 1 || list.Links[0].Used != 3 || list.Links[0].Cap != 3 {
			t.Fatalf("list: %s", body)
		}
		if status, body := w.req(t, "operatorA", "GET", "/api/v1/join-links/"+m.Link.ID, ""); status != 200 || !strings.Contains(body, `"used":3`) {
			t.Errorf("get link: %d %s", status, body)
		}
		if status, _ := w.req(t, "operatorB", "GET", "/api/v1/join-links/"+m.Link.ID, ""); status != 403 {
			t.Errorf("operator B gets A's link: %d", status)
		}
		if status, _ := w.req(t, "operatorB", "GET", "/api/v1/canteens/A/join-links", ""); status != 403 {
			t.Errorf("operator B lists A's links: %d", status)
		}
		// No token in any listing.
		if strings.Contains(body, m.Token) {
			t.Errorf("token listed: %s", body)
		}

		// Revoking: new redemptions refused, the parents who joined stay.
		m2 := w.makeLink(t, "admin", "A", `{"cap":50}`)
		if status, body := join(newBrowser(t, w.srv.URL), m2.Token, "早到的"); status != 201 {
			t.Fatalf("join m2: %d %s", status, body)
		}
		if status, _ := w.req(t, "operatorB", "POST", "/api/v1/join-links/"+m2.Link.ID+"/revoke", ""); status != 403 {
			t.Errorf("operator B revokes A's link: %d", status)
		}
		if status, _ := w.req(t, "operatorA", "POST", "/api/v1/join-links/jl_nope/revoke", ""); status != 404 {
			t.Errorf("revoke unknown: %d", status)
		}
		if status, body := w.req(t, "operatorA", "POST", "/api/v1/join-links/"+m2.Link.ID+"/revoke", ""); status != 200 ||
			!strings.Contains(body, `"revoked_by":"token:`) {
			t.Fatalf("revoke: %d %s", status, body)
		}
		if _, body := join(newBrowser(t, w.srv.URL), m2.Token, "晚到的"); body != full {
			t.Errorf("revoked link: %s", body)
		}
		if status, _ := w.req(t, "operatorA", "GET", "/api/v1/join-links/"+m2.Link.ID+"/qr.png?token="+m2.Token, ""); status != 404 {
			t.Errorf("QR of a revoked link: %d", status)
		}
		for i, b := range parents {
			if status, _ := b.do("GET", "/api/v1/me", ""); status != 200 {
				t.Errorf("parent %d after revoking: %d", i, status)
			}
		}
		// Cross-origin joins are refused (login CSRF).
		if status, body := fourth.do("POST", "/api/v1/join", `{"link":"`+m2.Token+`","name":"x"}`, "Origin", "http://evil.example"); status != 403 ||
			!strings.Contains(body, "cross_origin") {
			t.Errorf("cross-origin join: %d %s", status, body)
		}
		// Bad input: no name, a huge body, malformed JSON.
		m3 := w.makeLink(t, "operatorA", "A", `{"cap":50}`)
		for _, c := range []struct {
			body   string
			status int
		}{
			{`{"link":"` + m3.Token + `","name":"  "}`, 400},
			{`{"link":"` + m3.Token + `","name":"` + strings.Repeat("x", 5000) + `"}`, 413},
			{`{"link":`, 400},
			{`[]`, 400},
		} {
			if status, body := fourth.do("POST", "/api/v1/join", c.body); status != c.status {
				t.Errorf("join %.40s: %d %s", c.body, status, body)
			}
		}

		// Disabling a parent: their sessions end; another school's
		// operator and a staff user are refused.
		var me struct{ ID string }
		_, body = parents[2].do("GET", "/api/v1/me", "")
		_ = json.Unmarshal([]byte(body), &me)
		for _, c := range []struct {
			who, id, body string
			status        int
		}{
			{"operatorB", me.ID, `{"disabled":true}`, 403},
			{"operatorA", "nobody", `{"disabled":true}`, 403},
			{"admin", "nobody", `{"disabled":true}`, 404},
			{"operatorA", me.ID, `{}`, 400},
		} {
			if status, body := w.req(t, c.who, "PUT", "/api/v1/users/"+c.id+"/disabled", c.body); status != c.status {
				t.Errorf("%s disables %s: %d %s", c.who, c.id, status, body)
			}
		}
		if status, body := w.req(t, "operatorA", "PUT", "/api/v1/users/"+me.ID+"/disabled", `{"disabled":true}`); status != 200 ||
			!strings.Contains(body, `"disabled":true`) {
			t.Fatalf("disable: %d %s", status, body)
		}
		if status, _ := parents[2].do("GET", "/api/v1/me", ""); status != 401 {
			t.Errorf("disabled parent: %d", status)
		}

		// The address limit (8 here): 3 + 1 joined so far from 127.0.0.1.
		for i := range 4 {
			if status, body := join(newBrowser(t, w.srv.URL), m3.Token, "x"); status != 201 {
				t.Fatalf("join %d under the limit: %d %s", i, status, body)
			}
		}
		if status, body := join(newBrowser(t, w.srv.URL), m3.Token, "x"); status != 429 || !strings.Contains(body, "rate_limited") {
			t.Errorf("join over the address limit: %d %s", status, body)
		}

		// The audit log has the links and the joins.
		_, body = w.req(t, "admin", "GET", "/api/v1/audit?canteen_id=A", "")
		for _, action := range []string{`"join_link_add"`, `"join_link_revoke"`, `"join"`, `"user_disable"`} {
			if !strings.Contains(body, action) {
				t.Errorf("audit lacks %s", action)
			}
		}
		if strings.Contains(body, m.Token) || strings.Contains(body, m2.Token) {
			t.Errorf("a token in the audit log")
		}
	})
}

// TestJoinDevices: a parent (the invite path, with a password) signed
// in on two browsers sees both devices, this one marked, ends the other
// (which is then signed out) and then all (this one too).
func TestJoinDevices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		w := newJoinWorld(t, dbURL, 0)
		if _, err := w.st.AddUser(context.Background(), auth.User{ID: "wang.mum", Name: "王妈妈", Role: auth.RoleParent,
			Canteens: []string{"A"}}, "parent password"); err != nil {
			t.Fatal(err)
		}
		phone, laptop := newBrowser(t, w.srv.URL), newBrowser(t, w.srv.URL)
		for _, b := range []*browser{phone, laptop} {
			if status, body := b.do("POST", "/api/v1/login", `{"login":"wang.mum","password":"parent password"}`); status != 200 {
				t.Fatalf("login: %d %s", status, body)
			}
		}
		var ds struct {
			Devices []struct {
				ID      string
				Current bool
				Sliding bool
			}
		}
		status, body := phone.do("GET", "/api/v1/me/devices", "")
		if err := json.Unmarshal([]byte(body), &ds); err != nil || status != 200 || len(ds.Devices) != 2 {
			t.Fatalf("devices: %d %s", status, body)
		}
		var other string
		for _, d := range ds.Devices {
			if !d.Sliding {
				t.Errorf("a parent's session is not sliding: %s", body)
			}
			if !d.Current {
				other = d.ID
			}
		}
		if other == "" || other == auth.SessionKey(cookieOf(t, phone).Value) {
			t.Fatalf("no other device: %s", body)
		}
		// Another user cannot end it; the parent can.
		staff := newBrowser(t, w.srv.URL)
		if _, err := w.st.AddUser(context.Background(), auth.User{ID: "zhang.op", Role: auth.RoleOperator, Canteens: []string{"A"}}, "operator pw"); err != nil {
			t.Fatal(err)
		}
		staff.do("POST", "/api/v1/login", `{"login":"zhang.op","password":"operator pw"}`)
		if status, _ := staff.do("DELETE", "/api/v1/me/devices/"+other, ""); status != 404 {
			t.Errorf("another user ends the device: %d", status)
		}
		if status, _ := w.req(t, "admin", "DELETE", "/api/v1/me/devices", ""); status != 400 {
			t.Errorf("a token ends all devices: %d", status)
		}
		if status, _ := phone.do("DELETE", "/api/v1/me/devices/"+other, ""); status != 204 {
			t.Fatalf("end other: %d", status)
		}
		if status, _ := laptop.do("GET", "/api/v1/me", ""); status != 401 {
			t.Errorf("ended device still signed in: %d", status)
		}
		if status, _ := phone.do("GET", "/api/v1/me", ""); status != 200 {
			t.Errorf("this device signed out: %d", status)
		}
		laptop.do("POST", "/api/v1/login", `{"login":"wang.mum","password":"parent password"}`)
		if status, _ := phone.do("DELETE", "/api/v1/me/devices", ""); status != 204 {
			t.Fatalf("end all: %d", status)
		}
		for _, b := range []*browser{phone, laptop} {
			if status, _ := b.do("GET", "/api/v1/me", ""); status != 401 {
				t.Errorf("after ending all: %d", status)
			}
		}
		if status, _ := staff.do("GET", "/api/v1/me", ""); status != 200 {
			t.Errorf("staff signed out by a parent: %d", status)
		}
	})
}

// TestJoinCapConcurrentAPI: 12 browsers join a link capped at 3 at once;
// exactly 3 get in.
func TestJoinCapConcurrentAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		w := newJoinWorld(t, dbURL, 0)
		m := w.makeLink(t, "operatorA", "A", `{"cap":3}`)
		const n = 12
		codes := make([]int, n)
		bs := make([]*browser, n)
		for i := range bs {
			bs[i] = newBrowser(t, w.srv.URL)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				body, _ := json.Marshal(joinRequest{Link: m.Token, Name: fmt.Sprint("p", i)})
				r, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/join", bytes.NewReader(body))
				resp, err := bs[i].c.Do(r)
				if err != nil {
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		got := map[int]int{}
		for _, c := range codes {
			got[c]++
		}
		if got[201] != 3 || got[404] != n-3 {
			t.Errorf("statuses %v, want 3 × 201 and %d × 404", got, n-3)
		}
	})
}

// TestJoinGuessing: unknown tokens count against the address like failed
// logins; after 20 the address is refused even a good link.
func TestJoinGuessing(t *testing.T) {
	w := newJoinWorld(t, storetest.FreshSQLite(t), 0)
	m := w.makeLink(t, "operatorA", "A", `{"cap":3}`)
	b := newBrowser(t, w.srv.URL)
	for i := range loginFailsPerAddr {
		if status, _ := join(b, fmt.Sprintf("bkj_%032d", i), "x"); status != 404 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	if status, body := join(b, m.Token, "x"); status != 429 || !strings.Contains(body, "rate_limited") {
		t.Errorf("after %d guesses: %d %s", loginFailsPerAddr, status, body)
	}
}

func authed(t *testing.T, method, u, token string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// cookieOf is b's session cookie as its jar holds it (name and value).
func cookieOf(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(b.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// joinCookie joins in b and returns the session cookie the answer set,
// with its attributes.
func joinCookie(t *testing.T, b *browser, token, name string) *http.Cookie {
	t.Helper()
	body, _ := json.Marshal(joinRequest{Link: token, Name: name})
	r, _ := http.NewRequest("POST", b.url+"/api/v1/join", bytes.NewReader(body))
	resp, err := b.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie && resp.StatusCode == 201 {
			return c
		}
	}
	t.Fatalf("join: %d, no session cookie", resp.StatusCode)
	return nil
}
