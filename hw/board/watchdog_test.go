package board

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeWatchdog is a regular file standing for the device: each write is
// appended to it, so its content is the kicks ('k') and the magic close
// ('V') in order. The ioctls fail on it, as on a driver without them.
func fakeWatchdog(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func written(t *testing.T, dev string) string {
	t.Helper()
	b, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A healthy gateway's device is fed every interval, and a deliberate stop
// ends with the magic close.
func TestWatchdogFeedsWhileHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := fakeWatchdog(t)
		w := &Watchdog{Device: dev, Interval: time.Second, Healthy: func() error { return nil }}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := written(t, dev); got != "k" {
			t.Fatalf("after Start the device got %q, want one kick at once", got)
		}
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if got := written(t, dev); got != strings.Repeat("k", 11) {
			t.Fatalf("after 10 intervals the device got %q, want 11 kicks", got)
		}
		if n := w.Kicks(); n != 11 {
			t.Errorf("Kicks() = %d, want 11", n)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := written(t, dev); got != strings.Repeat("k", 11)+"V" {
			t.Errorf("after Close the device got %q, want the kicks then the magic 'V'", got)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// An unhealthy gateway is still fed within the grace; past it the feeding
// stops for good (health coming back does not resume it) and Close leaves
// the device armed: no magic close.
func TestWatchdogStopsWhenUnhealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := fakeWatchdog(t)
		var sick atomic.Bool
		w := &Watchdog{Device: dev, Interval: time.Second, Grace: 3500 * time.Millisecond,
			Healthy: func() error {
				if sick.Load() {
					return errors.New("main loop stuck")
				}
				return nil
			}}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*time.Second + time.Millisecond) // kicks at 0, 1, 2
		synctest.Wait()
		sick.Store(true)
		// unhealthy from 3 (last well at 2): kicks at 3, 4, 5 (< 3.5s after
		// 2); at 6 it has been 4s: no more
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := written(t, dev); got != strings.Repeat("k", 6) {
			t.Fatalf("device got %q, want 6 kicks: 3 healthy, 3 within the grace", got)
		}
		if !w.GaveUp() {
			t.Error("GaveUp() = false after the grace")
		}
		sick.Store(false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := written(t, dev); got != strings.Repeat("k", 6) {
			t.Errorf("device got %q: want no kick once given up and no magic close", got)
		}
	})
}

// A failure shorter than the grace is forgiven: the count starts again.
func TestWatchdogGraceRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := fakeWatchdog(t)
		var tick atomic.Int64
		// unhealthy on every check but every third
		w := &Watchdog{Device: dev, Interval: time.Second, Grace: 2500 * time.Millisecond,
			Healthy: func() error {
				if tick.Add(1)%3 == 0 {
					return nil
				}
				return errors.New("flaky")
			}}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20*time.Second + time.Millisecond)
		synctest.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := written(t, dev); got != strings.Repeat("k", 21)+"V" {
			t.Errorf("device got %q, want 21 kicks and the magic close", got)
		}
	})
}

// Grace 0 stops at the first failure; the interval defaults to 1s when the
// device's timeout is unknown; a Timeout the device cannot take is not an
// error (the device keeps its own).
func TestWatchdogDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := fakeWatchdog(t)
		var sick atomic.Bool
		w := &Watchdog{Device: dev, Timeout: 10 * time.Second, Healthy: func() error {
			if sick.Load() {
				return errors.New("spool not writable")
			}
			return nil
		}}
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if w.interval != time.Second {
			t.Errorf("interval %v, want 1s", w.interval)
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		sick.Store(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := written(t, dev); got != "kk" || !w.GaveUp() {
			t.Errorf("device got %q, gave up %v: want 2 kicks, then none", got, w.GaveUp())
		}
		_ = w.Close()
	})
}

func TestWatchdogOpenError(t *testing.T) {
	w := &Watchdog{Device: filepath.Join(t.TempDir(), "missing")}
	if err := w.Start(t.Context()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start on a missing device: %v, want not exist", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after a failed Start: %v", err)
	}
	if err := (&Watchdog{}).Start(t.Context()); err == nil {
		t.Error("Start with no device: want an error")
	}
}
