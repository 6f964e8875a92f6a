package setup

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
)

// Files in the data directory.
const (
	// HashFile holds the setup password's PBKDF2 hash.
	HashFile = "setup-password.hash"
	// PasswordFile holds the password itself, readable by its owner only,
	// for whoever has the board's console.
	PasswordFile = "setup-password.txt"
)

// pbkdf2Iter is PBKDF2-SHA256's work factor for new hashes: tens of
// milliseconds per guess on an arm64 board (a var for tests).
var pbkdf2Iter = 120_000

// passwordAlphabet has no look-alikes (0/O, 1/l/I): the password is read
// off a console and typed on a phone.
const passwordAlphabet = "23456789abcdefghijkmnpqrstuvwxyz"

// newPassword is 15 random characters of passwordAlphabet (75 bits) in
// three groups: "k7m2q-9xv4c-hp3rt".
func newPassword() string {
	var b strings.Builder
	for i := range 15 {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(passwordAlphabet[randIntn(len(passwordAlphabet))])
	}
	return b.String()
}

func randIntn(n int) int {
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}

// hashPassword is "pbkdf2-sha256$<iter>$<salt hex>$<key hex>".
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, pw, salt, pbkdf2Iter, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%x$%x", pbkdf2Iter, salt, key), nil
}

// checkPassword compares pw with a hashPassword line in constant time.
func checkPassword(hash, pw string) bool {
	parts := strings.Split(strings.TrimSpace(hash), "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1000 || iter > 10_000_000 {
		return false
	}
	salt, err1 := hex.DecodeString(parts[2])
	want, err2 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) != 32 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, normalise(pw), salt, iter, 32)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// normalise forgives what phones do to a typed password: spaces around
// it and capital letters (the alphabet is lowercase).
func normalise(pw string) string { return strings.ToLower(strings.TrimSpace(pw)) }

// ensurePassword makes the setup password on first start: it writes the
// hash and the owner-only password file into dir and returns the password
// ("" when one existed already).
func ensurePassword(dir string) (string, error) {
	hashPath := filepath.Join(dir, HashFile)
	if _, err := os.Stat(hashPath); err == nil {
		return "", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	pw := newPassword()
	h, err := hashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(filepath.Join(dir, PasswordFile), []byte(pw+"\n"), 0o600, nil); err != nil {
		return "", err
	}
	if err := atomicfile.Write(hashPath, []byte(h+"\n"), 0o600, nil); err != nil {
		return "", err
	}
	return pw, nil
}

// limiter counts failed sign-ins per client address: after maxFails within
// window, that address is refused until its oldest failure is window old.
// All addresses together may fail globalFails times per window, so a
// guesser with many addresses is slowed as well.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	fails  map[string][]time.Time
	global []time.Time
}

const (
	maxFails    = 5
	globalFails = 50
	failWindow  = 15 * time.Minute
	maxTracked  = 4096
)

// wait is how long addr must wait before trying again (0: it may try).
func (l *limiter) wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.global = prune(l.global, now)
	f := prune(l.fails[addr], now)
	if len(f) == 0 {
		delete(l.fails, addr)
	} else {
		l.fails[addr] = f
	}
	var d time.Duration
	if len(f) >= maxFails {
		d = f[0].Add(failWindow).Sub(now)
	}
	if len(l.global) >= globalFails {
		d = max(d, l.global[0].Add(failWindow).Sub(now))
	}
	return d
}

func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if _, ok := l.fails[addr]; !ok && len(l.fails) >= maxTracked {
		for k := range l.fails { // forget one: bounded memory
			delete(l.fails, k)
			break
		}
	}
	l.fails[addr] = append(l.fails[addr], now)
	l.global = append(l.global, now)
}

func prune(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= failWindow {
		i++
	}
	return ts[i:]
}

// sessions are the signed-in browsers: random tokens, in memory only (a
// restart signs everybody out), each for sessionTTL.
type sessions struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]time.Time
}

const (
	sessionTTL  = 2 * time.Hour
	maxSessions = 32
)

func (s *sessions) add() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, exp := range s.m {
		if now.After(exp) {
			delete(s.m, k)
		}
	}
	for len(s.m) >= maxSessions { // the oldest goes
		var oldest string
		for k, exp := range s.m {
			if oldest == "" || exp.Before(s.m[oldest]) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[tok] = now.Add(sessionTTL)
	return tok
}

func (s *sessions) valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.m[tok]
	return ok && s.now().Before(exp)
}

func (s *sessions) remove(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, tok)
}
