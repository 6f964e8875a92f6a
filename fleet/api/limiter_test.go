package api

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.0/8 all reach the test server on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// post sends a JSON body and returns the status.
func post(t testing.TB, c *http.Client, url, body string) int {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
	resp.Body.Close()
	return resp.StatusCode
}

func loginWorld(t *testing.T) *world {
	w := newWorld(t)
	if _, err := w.st.AddUser(context.Background(), auth.User{ID: "li.wei", Name: "Li", Role: auth.RoleRegulator,
		Districts: []string{"xuhui"}}, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return w
}

// fastWrong makes wrong passwords quick to check (argon2 under -race takes
// about a second on a busy machine): a wrong one takes d, the right one
// is checked for real.
func fastWrong(w *world, d time.Duration) {
	w.api.checkHook = func(ctx context.Context, login, password string) (auth.User, error) {
		if password == "correct horse" {
			return w.st.CheckPassword(ctx, login, password)
		}
		time.Sleep(d)
		return auth.User{}, store.ErrBadCredentials
	}
}

// TestConcurrentGuesses: 40 guesses at once for one login from one
// address hash at most loginFailsPerPair passwords (the rest are refused
// 429 before hashing), and the real user, from another address, still
// logs in.
func TestConcurrentGuesses(t *testing.T) {
	w := loginWorld(t)
	fastWrong(w, 20*time.Millisecond)
	attacker := clientFrom("127.0.0.7")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 40 {
		wg.Go(func() {
			st := post(t, attacker, w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"guess123"}`)
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := w.api.hashing.hashes.Load(); n > loginFailsPerPair {
		t.Errorf("%d passwords hashed for 40 concurrent guesses; want at most %d (statuses %v)", n, loginFailsPerPair, statuses)
	}
	if statuses[401] != loginFailsPerPair || statuses[429] != 40-loginFailsPerPair {
		t.Errorf("statuses %v: want %d checked, the rest 429", statuses, loginFailsPerPair)
	}
	if st := post(t, clientFrom("127.0.0.8"), w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
		t.Errorf("the real user from another address during the attack: %d", st)
	}
	if st := post(t, attacker, w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 429 {
		t.Errorf("the right password from the blocked address: %d; want 429", st)
	}
}

// TestDistributedGuesses: guesses for one login from many addresses put it
// under attack; then addresses that failed it are refused, and a clean
// address (the real user's) still gets in.
func TestDistributedGuesses(t *testing.T) {
	w := loginWorld(t)
	fastWrong(w, time.Millisecond)
	var wg sync.WaitGroup
	for a := range 12 {
		c := clientFrom(fmt.Sprintf("127.0.1.%d", a+1))
		wg.Go(func() {
			for range loginFailsPerPair + 2 {
				post(t, c, w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"guess123"}`)
			}
		})
	}
	wg.Wait()
	if n := w.api.hashing.hashes.Load(); n > loginFailsPerLogin+12 {
		t.Errorf("%d passwords hashed: want at most %d", n, loginFailsPerLogin+12)
	}
	if st := post(t, clientFrom("127.0.1.1"), w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 429 {
		t.Errorf("an attacking address: %d; want 429", st)
	}
	if st := post(t, clientFrom("127.0.2.1"), w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
		t.Errorf("the real user from a clean address: %d; want 200", st)
	}
}

// TestHashingBound: 40 logins at once, each a different login from a
// different address (none rate-limited), never hash more than hashSlots
// passwords at a time.
func TestHashingBound(t *testing.T) {
	w := loginWorld(t)
	fastWrong(w, 50*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 40 {
		c := clientFrom(fmt.Sprintf("127.0.3.%d", i+1))
		wg.Go(func() {
			st := post(t, c, w.srv.URL+"/api/v1/login", fmt.Sprintf(`{"login":"user%d","password":"guess123"}`, i))
			if st != 401 {
				t.Errorf("login %d: %d", i, st)
			}
		})
	}
	wg.Wait()
	if peak := w.api.hashing.peak.Load(); peak > int64(hashSlots()) || peak < 1 {
		t.Errorf("peak concurrent hashes %d; want 1 to %d", peak, hashSlots())
	}
}

// TestInviteGuessesHashNothing: a wrong access code is refused before any
// password is hashed.
func TestInviteGuessesHashNothing(t *testing.T) {
	w := loginWorld(t)
	c := clientFrom("127.0.4.1")
	for i := range 5 {
		body := fmt.Sprintf(`{"code":"AAAAA-%05d","login":"guess%d","password":"long enough"}`, i, i)
		if st := post(t, c, w.srv.URL+"/api/v1/invites/redeem", body); st != 400 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if n := w.api.hashing.hashes.Load(); n != 0 {
		t.Errorf("%d passwords hashed for wrong codes", n)
	}
}

// TestLoginAuditSanitized: a login name that is not a valid login (here
// one that would forge a line and CSV fields) is not written to the audit
// log as given.
func TestLoginAuditSanitized(t *testing.T) {
	w := loginWorld(t)
	evil := `li.wei\n2026-01-01,user:admin,admin,login,ok,=cmd|' /C calc'!A0`
	if st := post(t, http.DefaultClient, w.srv.URL+"/api/v1/login", `{"login":"`+evil+`","password":"guess123"}`); st != 401 {
		t.Fatalf("login: %d", st)
	}
	es, err := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "login"})
	if err != nil || len(es) != 1 {
		t.Fatalf("audit: %v, %v", es, err)
	}
	e := es[0]
	if e.Actor != "anonymous" || strings.ContainsAny(e.Actor+e.Detail, "\n\r,=|") && strings.Contains(e.Detail, "cmd") {
		t.Errorf("audited %q / %q", e.Actor, e.Detail)
	}
	if strings.Contains(e.Actor+e.Detail, "admin") || strings.ContainsRune(e.Actor+e.Detail, '\n') {
		t.Errorf("the attempted name reached the audit log: %q / %q", e.Actor, e.Detail)
	}
	if w.api.hashing.hashes.Load() != 0 {
		t.Error("a password was hashed for a login that cannot exist")
	}
}

// TestKnownAddress: an attacker who shares the user's address (one NAT)
// and blocks it by spraying other logins does not lock out a user who has
// logged in from there before.
func TestKnownAddress(t *testing.T) {
	w := loginWorld(t)
	fastWrong(w, time.Millisecond)
	office := clientFrom("127.0.5.1")
	if st := post(t, office, w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
		t.Fatalf("first login: %d", st)
	}
	for i := range loginFailsPerAddr + 5 {
		post(t, office, w.srv.URL+"/api/v1/login", fmt.Sprintf(`{"login":"user%d","password":"guess123"}`, i))
	}
	if st := post(t, office, w.srv.URL+"/api/v1/login", `{"login":"new.user","password":"guess123"}`); st != 429 {
		t.Errorf("another login from the sprayed address: %d; want 429", st)
	}
	if st := post(t, office, w.srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
		t.Errorf("the known user from the sprayed address: %d; want 200", st)
	}
}
