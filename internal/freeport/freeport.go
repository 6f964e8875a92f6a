// Package freeport gives tests loopback TCP addresses for the processes
// they start: free a moment ago, and kept by the test across a kill -9 and
// restart of the process, which is why the test picks the port rather
// than the process.
//
// The ports come from below the kernel's ephemeral range. A port from that
// range (what a listen on port 0 gives) can be taken, between the check
// and the process's own listen, by any outgoing connection of a busy
// machine: a gateway under e2e once failed to start so ("bind: address
// already in use").
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var ports struct {
	mu     sync.Mutex
	given  map[int]bool
	lo, hi int
}

// Addr returns "127.0.0.1:port" for a port that was free a moment ago,
// picked at random from 20000 up to the ephemeral range, and never handed
// out twice in one test binary.
func Addr(t testing.TB) string {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
		ports.lo, ports.hi = 20000, ephemeralLow()-1
	}
	for range 200 {
		p := ports.lo + rand.IntN(ports.hi-ports.lo+1)
		if ports.given[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		ports.given[p] = true
		return ln.Addr().String()
	}
	t.Fatalf("freeport: no free port in %d..%d after 200 tries", ports.lo, ports.hi)
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// if it cannot be read), and at least 21000, so that a thousand ports are
// left to choose from; on a machine whose range starts lower they overlap
// it.
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	return max(low, 21000)
}
