// Package backoff is the project's one retry delay: it doubles from Min to
// Max after each failure, may take a random part off each wait so that
// many clients do not retry in step, and starts again at Min after a
// success that held. The gateway's uplink, cameras and live publisher, the
// fleet's relay and webhooks, and the plugin supervisor all wait with it.
//
// It imports nothing of ours, so plugins/sdk (whose supervisor uses it)
// still brings no gateway or fleet code into a plugin's build.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a retry delay. The zero value waits nothing; set Min and Max.
// It is not safe for concurrent use.
type Backoff struct {
	// Min is the first wait, Max the most (below Min: Min).
	Min, Max time.Duration
	// Jitter is the most of a wait taken off at random, as a fraction in
	// [0, 1]: 0.5 waits between half and all of it. 0: none.
	Jitter float64

	failures int
}

// Next returns the wait before the next attempt and counts a failure, so
// that the wait after it is twice as long, up to Max.
func (b *Backoff) Next() time.Duration {
	d := b.After(b.failures)
	b.failures++
	if j := min(max(b.Jitter, 0), 1); j > 0 && d > 0 {
		d -= time.Duration(rand.Float64() * j * float64(d))
	}
	return d
}

// Peek is the wait Next would return next, without jitter or counting.
func (b *Backoff) Peek() time.Duration { return b.After(b.failures) }

// Reset starts again at Min: call it after a success that held.
func (b *Backoff) Reset() { b.failures = 0 }

// After is the wait after n failures, without jitter: Min·2^n, at most Max.
// It is for callers that keep the count themselves (a webhook's tries).
func (b *Backoff) After(n int) time.Duration {
	d, ceil := b.Min, max(b.Max, b.Min)
	for range max(n, 0) {
		if d >= ceil/2 {
			return ceil
		}
		d *= 2
	}
	return min(d, ceil)
}

// Sleep waits d, or less if ctx ends first; it reports whether the whole
// wait passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
