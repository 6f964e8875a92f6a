package api

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Login limits; the package doc and README describe the policy. Failures
// count in a sliding window of loginWindow. An attempt takes a slot in
// every limit it counts against before its password is hashed and gives
// it back afterwards, recording a failure if it failed, so that
// concurrent guesses cannot all pass the check before any is counted.
const (
	loginWindow = 15 * time.Minute
	// loginFailsPerPair blocks one login from one client address.
	loginFailsPerPair = 5
	// loginFailsPerAddr blocks one client address for every login (and
	// access code).
	loginFailsPerAddr = 20
	// loginFailsPerLogin puts a login under attack from many addresses:
	// it is then tried only from addresses that have not failed it in
	// the window, one attempt at a time each.
	loginFailsPerLogin = 50
)

// knownFor is how long a login stays known at an address after it
// succeeded there: such attempts skip the address and login limits (only
// their pair's applies) and hash in their own slots.
const knownFor = 30 * 24 * time.Hour

// maxLimiterKeys bounds the limiter's memory under a spray of names.
const maxLimiterKeys = 100_000

// hashWait is how long a request waits for a password-hashing slot
// before it is answered 503 with Retry-After.
const hashWait = 2 * time.Second

// limiter counts login failures and attempts in progress per key: "pair:"
// (a login from an address), "addr:" (an address) and "login:" (a login).
type limiter struct {
	mu       sync.Mutex
	fails    map[string][]time.Time
	inflight map[string]int
	// known holds the pairs whose login succeeded lately: pair key → when.
	known map[string]time.Time
	swept time.Time // the last sweep of expired keys
}

func newLimiter() *limiter {
	return &limiter{fails: map[string][]time.Time{}, inflight: map[string]int{}, known: map[string]time.Time{}}
}

func limitOf(key string) int {
	switch {
	case strings.HasPrefix(key, "addr:"):
		return loginFailsPerAddr
	case strings.HasPrefix(key, "login:"):
		return loginFailsPerLogin
	}
	return loginFailsPerPair
}

// slot is an attempt that reserve let through; done gives it back.
type slot struct {
	l    *limiter
	keys []string
	// known: the login succeeded from this address lately.
	known bool
	once  sync.Once
}

// Outcomes of an attempt.
const (
	unchecked = iota // not checked (no hashing slot, an error)
	failed
	succeeded
)

// done ends the attempt: a failure is recorded against its keys, a
// success makes its login known at its address.
func (s *slot) done(outcome int) {
	s.once.Do(func() { s.l.finish(time.Now(), outcome, s.keys) })
}

// loginKeys are the keys of an attempt at login from addr; login "" is an
// attempt that names no login (an access code).
func loginKeys(login, addr string) []string {
	if login == "" {
		return []string{"addr:" + addr}
	}
	return []string{"pair:" + addr + "\x00" + login, "addr:" + addr, "login:" + login}
}

// reserve lets an attempt through, taking a slot in each of keys, or says
// how long to wait. keys come from loginKeys.
func (l *limiter) reserve(now time.Time, keys []string) (*slot, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	known := false
	if at, ok := l.known[keys[0]]; ok && len(keys) == 3 {
		if known = now.Sub(at) < knownFor; known {
			keys = keys[:1] // the pair's limit only
		} else {
			delete(l.known, keys[0])
		}
	}
	var wait time.Duration
	pairUsed := 0
	for _, k := range keys {
		ts := l.recent(now, k)
		used, limit := len(ts)+l.inflight[k], limitOf(k)
		if strings.HasPrefix(k, "pair:") {
			pairUsed = used
		}
		if strings.HasPrefix(k, "login:") && used >= limit && pairUsed == 0 {
			continue // a login under attack, tried from a clean address
		}
		if used < limit {
			continue
		}
		if len(ts) >= limit {
			// Free when the failure that filled the limit leaves the window.
			wait = max(wait, ts[len(ts)-limit].Add(loginWindow).Sub(now))
		} else {
			wait = max(wait, time.Second) // full of attempts in progress
		}
	}
	if wait > 0 {
		return nil, wait
	}
	for _, k := range keys {
		l.inflight[k]++
	}
	return &slot{l: l, keys: keys, known: known}, 0
}

func (l *limiter) finish(now time.Time, outcome int, keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.inflight[k]--; l.inflight[k] <= 0 {
			delete(l.inflight, k)
		}
	}
	if outcome == failed {
		l.failLocked(now, keys...)
	} else if outcome == succeeded && strings.HasPrefix(keys[0], "pair:") {
		if _, ok := l.known[keys[0]]; ok || len(l.known) < maxLimiterKeys {
			l.known[keys[0]] = now
		}
	}
}

// failLocked records a failure against keys.
func (l *limiter) failLocked(now time.Time, keys ...string) {
	if len(l.fails) > maxLimiterKeys && now.Sub(l.swept) > time.Minute {
		l.swept = now
		for k := range l.fails {
			if len(l.recent(now, k)) == 0 {
				delete(l.fails, k)
			}
		}
		for k, at := range l.known {
			if now.Sub(at) >= knownFor {
				delete(l.known, k)
			}
		}
	}
	for _, k := range keys {
		if _, known := l.fails[k]; !known && len(l.fails) > maxLimiterKeys && !strings.HasPrefix(k, "addr:") {
			// Still full after the sweep (a spray of names): new names
			// go uncounted; their addresses are still limited.
			continue
		}
		ts := append(l.recent(now, k), now)
		if n := limitOf(k); len(ts) > n {
			ts = ts[len(ts)-n:]
		}
		l.fails[k] = ts
	}
}

// recent drops k's failures older than the window.
func (l *limiter) recent(now time.Time, k string) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	if i == len(ts) {
		delete(l.fails, k)
		return nil
	}
	ts = ts[i:]
	l.fails[k] = ts
	return ts
}

// hashGate bounds concurrent password hashing (argon2id takes 19 MiB and
// tens of milliseconds of a core each): at most hashSlots hashes at once,
// plus GOMAXPROCS more for logins known at their address (so that a flood
// of guesses from elsewhere does not queue their users), a request waiting
// at most hashWait for its turn.
type hashGate struct {
	once      sync.Once
	sem, fast chan struct{}
	// Counted for tests and metrics.
	hashes, peak, running atomic.Int64
}

// hashSlots is the bound: twice the cores Go may use.
func hashSlots() int { return 2 * runtime.GOMAXPROCS(0) }

// do runs hash in a slot (known: in the known logins' slots); ok is false
// (hash not run) when no slot freed up within hashWait or ctx ended first.
func (g *hashGate) do(ctx context.Context, known bool, hash func()) (ok bool) {
	g.once.Do(func() {
		g.sem, g.fast = make(chan struct{}, hashSlots()), make(chan struct{}, runtime.GOMAXPROCS(0))
	})
	sem := g.sem
	if known {
		sem = g.fast
	}
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
	defer func() { <-sem }()
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.hashes.Add(1)
	hash()
	return true
}
