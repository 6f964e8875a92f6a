package api

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
)

// BenchmarkLoginUnderAttack: 100 connections, each from its own loopback
// address, guess passwords as fast as they are answered (for the real
// user's login and for others), while the real user logs in from another
// address where they logged in before, with real argon2id. Reports the real user's login time (goal ≤
// 2,000 ms), the attackers' answered attempts and the passwords hashed per
// second.
func BenchmarkLoginUnderAttack(b *testing.B) {
	ctx := context.Background()
	st, err := dbtest.Open(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddUser(ctx, auth.User{ID: "li.wei", Name: "Li", Role: auth.RoleAdmin}, "correct horse"); err != nil {
		b.Fatal(err)
	}
	a := &Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	// The user has logged in from here before (known at the address).
	user := clientFrom("127.0.20.1")
	if st := post(b, user, srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
		b.Fatalf("first login: %d", st)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var attempts atomic.Int64
	for i := range 100 {
		c := clientFrom(fmt.Sprintf("127.0.%d.%d", 10+i/200, 1+i%200))
		login := "li.wei"
		if i%2 == 1 {
			login = fmt.Sprintf("user%d", i)
		}
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Post(srv.URL+"/api/v1/login", "application/json",
					strings.NewReader(fmt.Sprintf(`{"login":%q,"password":"guess%d"}`, login, n)))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					attempts.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the attack under way
	var worst time.Duration
	started, hashed0, attempts0 := time.Now(), a.hashing.hashes.Load(), attempts.Load()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if st := post(b, user, srv.URL+"/api/v1/login", `{"login":"li.wei","password":"correct horse"}`); st != 200 {
			b.Fatalf("the real user: %d", st)
		}
		worst = max(worst, time.Since(t0))
	}
	b.StopTimer()
	secs := time.Since(started).Seconds()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "user-login-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "user-login-max-ms")
	b.ReportMetric(float64(attempts.Load()-attempts0)/secs, "attempts/s")
	b.ReportMetric(float64(a.hashing.hashes.Load()-hashed0)/secs, "hashes/s")
	b.ReportMetric(0, "ns/op")
}
