package e2e

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// profile says where the package's time goes, printed at the end of the
// run when BK_E2E_PROFILE is set: how long each scenario held its turn,
// and the CPU time of the processes the tests ran, by binary (Chromium's,
// run by chromedp, is not among them). make test's length is mostly this
// package's; this is what to read before making it shorter.
var profile = &timings{cpu: map[string]*procUse{}}

type procUse struct {
	n        int
	cpu, ran time.Duration
}

type timings struct {
	mu    sync.Mutex
	cpu   map[string]*procUse
	turns []turnTime
}

type turnTime struct {
	test string
	ran  time.Duration
}

// turn starts timing t's turn; the returned func ends it.
func (p *timings) turn(t *testing.T) func() {
	start := time.Now()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.turns = append(p.turns, turnTime{t.Name(), time.Since(start)})
	}
}

// add counts the CPU time of an exited process (and wall time, if known).
func (p *timings) add(name string, wall time.Duration, st *os.ProcessState) {
	if st == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.cpu[name]
	if u == nil {
		u = &procUse{}
		p.cpu[name] = u
	}
	u.n++
	u.cpu += st.UserTime() + st.SystemTime()
	u.ran += wall
}

func (p *timings) print() {
	if os.Getenv("BK_E2E_PROFILE") == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortFunc(p.turns, func(a, b turnTime) int { return int(b.ran - a.ran) })
	fmt.Fprintln(os.Stderr, "e2e profile: time each scenario held its turn")
	for _, tt := range p.turns {
		fmt.Fprintf(os.Stderr, "  %-40s %6.1fs\n", tt.test, tt.ran.Seconds())
	}
	fmt.Fprintln(os.Stderr, "e2e profile: CPU of the processes run, by binary")
	names := make([]string, 0, len(p.cpu))
	for n := range p.cpu {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(p.cpu[b].cpu - p.cpu[a].cpu) })
	var sum time.Duration
	for _, n := range names {
		u := p.cpu[n]
		sum += u.cpu
		fmt.Fprintf(os.Stderr, "  %-40s %3d runs %7.1fs CPU\n", n, u.n, u.cpu.Seconds())
	}
	var ch, self syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch) == nil && syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		tv := func(r syscall.Rusage) time.Duration {
			return time.Duration(r.Utime.Nano() + r.Stime.Nano())
		}
		fmt.Fprintf(os.Stderr, "  %-40s          %7.1fs CPU\n", "others (Chromium, go run, …)", (tv(ch) - sum).Seconds())
		fmt.Fprintf(os.Stderr, "  %-40s          %7.1fs CPU\n", "the test process itself", tv(self).Seconds())
	}
}
