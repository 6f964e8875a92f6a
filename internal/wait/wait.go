// Package wait is the tests' one polling helper: wait for a condition that
// another goroutine or process brings about, bounded in time, and fail the
// test naming what did not happen.
package wait

import (
	"testing"
	"time"
)

// For polls cond until it holds and returns how long that took. If it does
// not hold within limit (checked once more at the end), the test fails with
// "timed out after LIMIT waiting for WHAT". It polls every fiftieth of
// limit, between 5 ms and 100 ms.
func For(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	every := min(max(limit/50, 5*time.Millisecond), 100*time.Millisecond)
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) >= limit {
			if cond() {
				return time.Since(start)
			}
			t.Fatalf("timed out after %v waiting for %s", limit, what)
			return 0
		}
		time.Sleep(every)
	}
}
