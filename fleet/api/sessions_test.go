package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
)

// browser is an HTTP client with a cookie jar, like a browser tab.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, url string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, url: url}
}

func (b *browser) do(method, path, body string, hdr ...string) (int, string) {
	b.t.Helper()
	r, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

func TestLoginSessions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.st.AddUser(ctx, auth.User{ID: "li.wei", Name: "李伟", Role: auth.RoleRegulator,
		Districts: []string{"xuhui"}}, "correct horse"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w.srv.URL)
	if status, _ := b.do("GET", "/api/v1/me", ""); status != 401 {
		t.Fatalf("me before login: %d", status)
	}
	if status, body := b.do("POST", "/api/v1/login", `{"login":"li.wei","password":"wrong"}`); status != 401 ||
		!strings.Contains(body, "bad_credentials") {
		t.Fatalf("wrong password: %d %s", status, body)
	}
	if status, body := b.do("POST", "/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); status != 200 ||
		!strings.Contains(body, `"role":"regulator"`) {
		t.Fatalf("login: %d %s", status, body)
	}
	if status, body := b.do("GET", "/api/v1/me", ""); status != 200 || !strings.Contains(body, `"name":"李伟"`) {
		t.Fatalf("me: %d %s", status, body)
	}
	// The session carries the regulator's scope.
	if status, _ := b.do("GET", "/api/v1/canteens/B", ""); status != 403 {
		t.Errorf("regulator session on B: %d", status)
	}
	// A cross-origin state change with the cookie is refused.
	status, body := b.do("POST", "/api/v1/violations/1/review", `{"verdict":"confirmed"}`, "Origin", "http://evil.example")
	if status != 403 || !strings.Contains(body, "cross_origin") {
		t.Errorf("cross-origin POST: %d %s", status, body)
	}
	if status, _ := b.do("POST", "/api/v1/logout", ""); status != 204 {
		t.Errorf("logout: %d", status)
	}
	if status, _ := b.do("GET", "/api/v1/me", ""); status != 401 {
		t.Errorf("me after logout: %d", status)
	}

	// Five failures for one login (one above, four here) lock it for a
	// while, whatever the password then.
	for i := range loginFailsPerPair - 1 {
		if status, _ := b.do("POST", "/api/v1/login", `{"login":"li.wei","password":"guess"}`); status != 401 {
			t.Fatalf("failure %d: %d", i, status)
		}
	}
	r, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/login", strings.NewReader(`{"login":"li.wei","password":"correct horse"}`))
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after %d failures: %d, Retry-After %q", loginFailsPerPair, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	es, err := w.st.AuditLog(ctx, auth.AuditFilter{Action: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for _, e := range es {
		switch e.Outcome {
		case "ok":
			ok++
		case "failed":
			failed++
		}
	}
	if ok != 1 || failed != loginFailsPerPair {
		t.Errorf("audited logins: %d ok, %d failed", ok, failed)
	}
}

func TestParentInvite(t *testing.T) {
	w := newWorld(t)
	status, body := w.req(t, "operatorA", "POST", "/api/v1/canteens/A/invites", "application/json", []byte(`{"label":"Class 3-2","ttl_h":48}`))
	if status != 201 {
		t.Fatalf("invite: %d %s", status, body)
	}
	code := between(body, `"code":"`, `"`)
	if len(code) != 11 {
		t.Fatalf("code %q", code)
	}
	parent := newBrowser(t, w.srv.URL)
	redeem := `{"code":"` + strings.ToLower(code) + `","login":"mum.wang","name":"王妈妈","password":"school run 1"}`
	if status, body := parent.do("POST", "/api/v1/invites/redeem", redeem); status != 201 || !strings.Contains(body, `"role":"parent"`) {
		t.Fatalf("redeem: %d %s", status, body)
	}
	if status, body := parent.do("GET", "/api/v1/canteens/A/cameras", ""); status != 200 || strings.Contains(body, "priv-A") {
		t.Errorf("parent cameras: %d %s", status, body)
	}
	other := newBrowser(t, w.srv.URL)
	if status, body := other.do("POST", "/api/v1/invites/redeem", strings.Replace(redeem, "mum.wang", "dad.li", 1)); status != 400 ||
		!strings.Contains(body, "bad_invite") {
		t.Errorf("second redeem: %d %s", status, body)
	}
	// The operator sees and can remove the parent; another operator can't.
	if status, body := w.req(t, "operatorA", "GET", "/api/v1/users", "", nil); status != 200 || !strings.Contains(body, "mum.wang") {
		t.Errorf("operator's parents: %d %s", status, body)
	}
	// Only schools invite parents.
	if status, _ := w.req(t, "admin", "POST", "/api/v1/canteens", "application/json",
		[]byte(`{"id":"H","name":"Hospital","category":"hospital","district":"xuhui"}`)); status != 200 {
		t.Fatal("put hospital")
	}
	if status, body := w.req(t, "admin", "POST", "/api/v1/canteens/H/invites", "application/json", []byte(`{}`)); status != 400 {
		t.Errorf("hospital invite: %d %s", status, body)
	}
	secret, _, err := w.st.AddToken(context.Background(), auth.Token{Role: auth.RoleOperator, Canteens: []string{"B"}})
	if err != nil {
		t.Fatal(err)
	}
	w.tokens["operatorB"] = secret
	if status, body := w.req(t, "operatorB", "DELETE", "/api/v1/users/mum.wang", "", nil); status != 403 && status != 404 {
		t.Errorf("another canteen's operator removes the parent: %d %s", status, body)
	}
	if status, _ := w.req(t, "operatorA", "DELETE", "/api/v1/users/mum.wang", "", nil); status != 204 {
		t.Errorf("remove parent: %d", status)
	}
	if status, _ := parent.do("GET", "/api/v1/me", ""); status != 401 {
		t.Errorf("removed parent's session still works: %d", status)
	}
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// TestLimiterFull: with the limiter full of live names, a new name is not
// recorded (memory stays bounded) but its address still is, and a known
// name still counts.
func TestLimiterFull(t *testing.T) {
	now := time.Now()
	l := newLimiter()
	for i := range maxLimiterKeys + 1 {
		l.fails[fmt.Sprintf("login:u%d", i)] = []time.Time{now}
	}
	l.failLocked(now, "login:new", "addr:10.0.0.1", "login:u7")
	if _, ok := l.fails["login:new"]; ok {
		t.Error("a new name was recorded in a full limiter")
	}
	if len(l.fails["addr:10.0.0.1"]) != 1 || len(l.fails["login:u7"]) != 2 {
		t.Errorf("address %v, known name %v: want 1 and 2 failures", l.fails["addr:10.0.0.1"], l.fails["login:u7"])
	}
}
