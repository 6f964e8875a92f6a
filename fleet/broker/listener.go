package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"golang.org/x/time/rate"
)

// errPreAuth is what a connection's Read returns once the guard has dropped
// it: its first packet was not a CONNECT or declared more than
// MaxConnectPacket bytes.
var errPreAuth = errors.New("first packet is not a CONNECT within the size limit")

// gate holds what the listeners share: the limits before authentication
// and the count of unauthenticated connections per remote address.
type gate struct {
	connectTimeout time.Duration
	maxPerAddr     int

	mu      sync.Mutex
	pending map[string]int // remote IP -> connections not yet authenticated

	refusedAddr  atomic.Int64 // over maxPerAddr
	refusedLarge atomic.Int64 // first packet not CONNECT or too large
	paced        atomic.Int64 // reads a gateway's rate delayed
}

// admit counts a new connection from ip; false when ip already holds
// maxPerAddr unauthenticated connections.
func (g *gate) admit(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending[ip] >= g.maxPerAddr {
		return false
	}
	g.pending[ip]++
	return true
}

// release uncounts c, once: when it authenticates or closes.
func (g *gate) release(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !c.pending {
		return
	}
	c.pending = false
	if g.pending[c.ip]--; g.pending[c.ip] <= 0 {
		delete(g.pending, c.ip)
	}
}

// listener is mochi's listeners.Listener over a net.Listener of our own.
//
// It tracks every connection it accepted and, on Close, closes them itself
// and waits until mochi has finished with each. It never calls mochi's
// CloseFn: in mochi v2.7.9 that is Server.closeListenerClients, whose
// Clients.GetByListener takes the clients' read lock twice (the second time
// through Clients.Len), so a client leaving at that moment (Clients.Delete
// queues a writer between the two) deadlocks Server.Close. Closing the
// connections makes every client's read fail; mochi then ends the client
// the ordinary way (Will, hooks, Clients.Delete), and by the time mochi's
// Listeners.CloseAll waits on its ClientsWg, every client has returned.
//
// Before authentication each connection has the gate's deadline and the
// first-packet guard (see conn).
type listener struct {
	id   string
	ln   net.Listener
	tls  *tls.Config // nil for plain TCP
	gate *gate
	log  *slog.Logger

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // the accept loop and one per connection
}

func newListener(id, addr string, tlsConf *tls.Config, g *gate) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &listener{id: id, ln: ln, tls: tlsConf, gate: g, conns: map[*conn]struct{}{}}, nil
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Address() string  { return l.ln.Addr().String() }
func (l *listener) Protocol() string { return "tcp" }

// Init only keeps mochi's logger: the socket is bound in newListener, so
// that a bind error reaches Start before mochi is involved.
func (l *listener) Init(log *slog.Logger) error {
	l.log = log
	return nil
}

// Serve accepts until Close. A temporary accept error (out of file
// descriptors) is retried after a short, growing pause rather than ending
// the listener for good.
func (l *listener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	var pause time.Duration
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			l.mu.Lock()
			closed := l.closed
			l.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.log.Warn("mqtt accept failed; retrying", "err", err, "pause", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		l.accept(raw, establish)
	}
}

func (l *listener) accept(raw net.Conn, establish listeners.EstablishFn) {
	ip := raw.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	if !l.gate.admit(ip) {
		l.gate.refusedAddr.Add(1)
		_ = raw.Close()
		return
	}
	c := &conn{Conn: raw, raw: raw, l: l, ip: ip, pending: true}
	if l.tls != nil {
		c.Conn = tls.Server(raw, l.tls)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.gate.release(c)
		_ = raw.Close()
		return
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	// The deadline covers the TLS handshake and the whole CONNECT; mochi
	// replaces it with the client's keepalive once it has read the CONNECT.
	_ = raw.SetDeadline(time.Now().Add(l.gate.connectTimeout))
	go func() {
		defer l.wg.Done()
		defer l.forget(c)
		if err := establish(l.id, c); err != nil {
			l.log.Debug("mqtt connection ended", "remote", raw.RemoteAddr().String(), "err", err)
		}
		_ = c.Close() // mochi closes it too; this covers every path
	}()
}

func (l *listener) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Close stops accepting, closes every connection and waits until mochi has
// finished with each (see the type's comment: the CloseFn is not called).
func (l *listener) Close(listeners.CloseFn) {
	l.mu.Lock()
	l.closed = true
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	_ = l.ln.Close()
	for _, c := range conns {
		_ = c.raw.Close() // the raw socket: a TLS close_notify could block
	}
	l.wg.Wait()
}

// conn is an accepted connection as mochi sees it. Until its first packet's
// fixed header has gone by, Read checks it on the way: the packet must be a
// CONNECT of at most MaxConnectPacket bytes, or the connection is closed
// before mochi allocates a buffer of the declared length.
type conn struct {
	net.Conn          // raw, or TLS over raw
	raw      net.Conn // the TCP socket
	l        *listener
	ip       string

	// first-packet guard, touched only by the reading goroutine
	hdrDone  bool
	hdrBytes int    // bytes of the fixed header seen so far
	length   uint32 // remaining length decoded so far
	shift    uint

	pending   bool // counted in gate.pending; guarded by gate.mu
	closeOnce sync.Once

	// inbound, once a gateway has authenticated, paces what it sends
	// (Broker.GatewayBytesPerSec); nil for the fleet's client and unpaced
	// brokers.
	inbound atomic.Pointer[rate.Limiter]
}

func (c *conn) Read(p []byte) (int, error) {
	lim := c.inbound.Load()
	if lim != nil && len(p) > lim.Burst() {
		p = p[:lim.Burst()]
	}
	n, err := c.Conn.Read(p)
	if !c.hdrDone && n > 0 {
		if !c.check(p[:n]) {
			c.l.gate.refusedLarge.Add(1)
			_ = c.Close()
			return 0, errPreAuth
		}
	}
	if lim != nil && n > 0 {
		// The bytes are read: wait until they fit the gateway's rate
		// before mochi gets them, so a flooding gateway is held back by
		// TCP (its own queue fills) instead of filling the fleet's memory.
		if d := lim.ReserveN(time.Now(), n).Delay(); d > 0 {
			c.l.gate.paced.Add(1)
			time.Sleep(d)
		}
	}
	return n, err
}

// pace limits what the connection reads to bytesPerSec from now on.
func (c *conn) pace(bytesPerSec int) {
	burst := min(bytesPerSec, 64<<10)
	c.inbound.Store(rate.NewLimiter(rate.Limit(bytesPerSec), burst))
}

// check feeds bytes of the first packet's fixed header through the guard;
// false when the packet must be refused.
func (c *conn) check(b []byte) bool {
	for _, x := range b {
		if c.hdrBytes == 0 {
			if x != 0x10 { // CONNECT, flags 0
				return false
			}
			c.hdrBytes++
			continue
		}
		// remaining length: up to 4 bytes of 7 bits, low first
		c.length |= uint32(x&0x7f) << c.shift
		c.shift += 7
		c.hdrBytes++
		if c.length > MaxConnectPacket {
			return false
		}
		if x&0x80 == 0 {
			c.hdrDone = true
			return true
		}
		if c.hdrBytes == 5 {
			return false // malformed: a fifth length byte
		}
	}
	return true
}

// authenticated stops counting the connection against its address's cap of
// unauthenticated connections.
func (c *conn) authenticated() { c.l.gate.release(c) }

func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		_ = c.raw.Close()
		c.authenticated() // releases the pending slot if still held
	})
	return err
}
