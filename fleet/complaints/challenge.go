package complaints

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// The proof of work a form solves before filing, which needs no outside
// service: the fleet hands out a challenge, a token it signs with a key
// of its database (so any fleet replica checks any other's), and the
// page's JavaScript finds a nonce such that SHA-256(token ":" nonce)
// starts with Bits zero bits (2^Bits hashes on average; DefaultBits 16 is
// well under a second in a phone's browser). Filing spends the challenge
// (File: single use), which expires after ChallengeTTL.

// Challenge defaults.
const (
	DefaultBits  = 16
	MaxBits      = 28
	ChallengeTTL = 15 * time.Minute
	maxToken     = 200
)

// ErrChallenge: a challenge token that is malformed, forged, expired or
// whose nonce does not solve it.
var ErrChallenge = errors.New("bad challenge")

// Challenge is what the form solves.
type Challenge struct {
	Token   string    `json:"token"`
	Bits    int       `json:"bits"`
	Expires time.Time `json:"expires_at"`
}

// Key returns the database's complaint key (32 random bytes, made on first
// use): the challenges' HMAC key and the address hashes' salt.
func (s *Complaints) Key(ctx context.Context) ([]byte, error) {
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM complaint_keys WHERE name = 'hmac'`).Scan(&v)
	if err != nil {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO complaint_keys (name, value) VALUES ('hmac', $1) ON CONFLICT (name) DO NOTHING`,
			hex.EncodeToString(raw)); err != nil {
			return nil, fmt.Errorf("complaint key: %w", err)
		}
		if err := s.w.QueryRowContext(ctx, `SELECT value FROM complaint_keys WHERE name = 'hmac'`).Scan(&v); err != nil {
			return nil, fmt.Errorf("complaint key: %w", err)
		}
	}
	return hex.DecodeString(v)
}

// NewChallenge signs a challenge of bits (0: DefaultBits) for canteen,
// valid from now for ChallengeTTL.
func NewChallenge(key []byte, canteen string, bitsN int, now time.Time) (Challenge, error) {
	if bitsN <= 0 {
		bitsN = DefaultBits
	}
	if bitsN > MaxBits {
		return Challenge{}, fmt.Errorf("bits %d: at most %d: %w", bitsN, MaxBits, store.ErrInvalid)
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return Challenge{}, err
	}
	exp := now.Add(ChallengeTTL).Truncate(time.Second)
	body := strings.Join([]string{"v1", base64.RawURLEncoding.EncodeToString(id), strconv.FormatInt(exp.Unix(), 10),
		strconv.Itoa(bitsN), base64.RawURLEncoding.EncodeToString([]byte(canteen))}, ".")
	return Challenge{Token: body + "." + sign(key, body), Bits: bitsN, Expires: exp.UTC()}, nil
}

func sign(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Verified is a challenge that checked out.
type Verified struct {
	// ID names it in complaint_challenges (its single use).
	ID      string
	Expires time.Time
}

// VerifyChallenge checks token (signed by key, not expired at now, for
// canteen) and that nonce solves it. ErrChallenge says why not.
func VerifyChallenge(key []byte, token, nonce, canteen string, now time.Time) (Verified, error) {
	bad := func(why string) (Verified, error) { return Verified{}, fmt.Errorf("%w: %s", ErrChallenge, why) }
	if len(token) > maxToken || len(nonce) > 32 || nonce == "" {
		return bad("malformed")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 6 || parts[0] != "v1" {
		return bad("malformed")
	}
	body := strings.Join(parts[:5], ".")
	if !hmac.Equal([]byte(sign(key, body)), []byte(parts[5])) {
		return bad("not signed by this fleet")
	}
	exp, err1 := strconv.ParseInt(parts[2], 10, 64)
	n, err2 := strconv.Atoi(parts[3])
	c, err3 := base64.RawURLEncoding.DecodeString(parts[4])
	if err1 != nil || err2 != nil || err3 != nil || n <= 0 || n > MaxBits {
		return bad("malformed")
	}
	if string(c) != canteen {
		return bad("issued for another canteen")
	}
	expires := time.Unix(exp, 0).UTC()
	if !now.Before(expires) {
		return bad("expired: ask for a new one")
	}
	if LeadingZeros(token, nonce) < n {
		return bad("the nonce does not solve it")
	}
	return Verified{ID: parts[1], Expires: expires}, nil
}

// LeadingZeros counts the leading zero bits of SHA-256(token ":" nonce).
func LeadingZeros(token, nonce string) int {
	sum := sha256.Sum256([]byte(token + ":" + nonce))
	z := 0
	for i := 0; i < len(sum); i += 8 {
		w := binary.BigEndian.Uint64(sum[i:])
		z += bits.LeadingZeros64(w)
		if w != 0 {
			break
		}
	}
	return z
}

// Solve finds a nonce for token of bits leading zero bits (tests and
// scripted clients; the form does the same in JavaScript), trying at most
// limit nonces; "" if none was found.
func Solve(token string, bitsN, limit int) string {
	for i := range limit {
		if nonce := strconv.Itoa(i); LeadingZeros(token, nonce) >= bitsN {
			return nonce
		}
	}
	return ""
}
