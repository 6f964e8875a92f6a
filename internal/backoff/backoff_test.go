package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDoublingAndReset(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("wait %d: %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Peek(); got != 100*time.Millisecond {
		t.Errorf("after Reset: %v", got)
	}
	if got := (&Backoff{Min: time.Second, Max: time.Hour}).After(1000); got != time.Hour {
		t.Errorf("After(1000) = %v: overflow?", got)
	}
	if got := (&Backoff{Min: time.Second}).After(3); got != time.Second {
		t.Errorf("Max below Min: %v", got)
	}
}

func TestJitter(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Second, Jitter: 0.5}
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := b.Next()
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 500*time.Millisecond || hi > time.Second || hi-lo < 300*time.Millisecond {
		t.Errorf("jittered waits in [%v, %v], want spread over [0.5s, 1s]", lo, hi)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("a whole wait reported cut short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("a cancelled wait reported whole")
	}
}
