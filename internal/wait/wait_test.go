package wait

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps a Fatalf instead of stopping.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(30 * time.Millisecond)
		n.Store(1)
	}()
	if d := For(t, 5*time.Second, "the store", func() bool { return n.Load() == 1 }); d < 20*time.Millisecond {
		t.Errorf("returned after %v, before the condition could hold", d)
	}
	r := &recorder{TB: t}
	polls := 0
	For(r, 50*time.Millisecond, "never", func() bool { polls++; return false })
	if !strings.Contains(r.msg, "timed out after 50ms waiting for never") {
		t.Errorf("a condition that never holds: %q", r.msg)
	}
	if polls < 5 || polls > 60 {
		t.Errorf("%d polls in 50 ms", polls)
	}
}
