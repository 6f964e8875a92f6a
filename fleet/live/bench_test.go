package live

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// benchSink stands in for a viewer's SRTP write stream. In "srtp" mode it
// does what pion's SRTP session does per packet: marshal, encrypt (AES-128
// GCM), and one UDP send on a socket shared by all viewers, like the ICE
// UDP mux; in "noop" mode it only counts.
type benchSink struct {
	ctx     *srtp.Context
	conn    net.PacketConn
	to      net.Addr
	h       rtp.Header
	plain   []byte
	cipher  []byte
	written atomic.Int64
}

func (s *benchSink) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n := len(payload) + 12
	if s.ctx != nil {
		m, err := (&rtp.Packet{Header: *h, Payload: payload}).MarshalTo(s.plain)
		if err != nil {
			return 0, err
		}
		out, err := s.ctx.EncryptRTP(s.cipher[:0], s.plain[:m], &s.h)
		if err != nil {
			return 0, err
		}
		if n, err = s.conn.WriteTo(out, s.to); err != nil {
			return 0, err
		}
	}
	s.written.Add(1)
	return n, nil
}

func (s *benchSink) Write(b []byte) (int, error) { return len(b), nil }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanout measures the relay's hot path: one upstream packet
// (1200-byte payload) pushed into a camera's ring and written to N viewers
// by the camera's shard goroutines (header rewrite + sink). ns/op is per upstream packet
// fanned out to all N viewers; cpu-ns/viewer-pkt is the process CPU time
// per packet per viewer, and viewers/core@1Mbps what that gives for a
// 1 Mbit/s stream (~103 packets/s), ignoring ICE keepalives and RTCP.
func BenchmarkFanout(b *testing.B) {
	for _, mode := range []string{"noop", "srtp"} {
		for _, n := range []int{1, 10, 100, 500} {
			b.Run(fmt.Sprintf("%s/viewers=%d", mode, n), func(b *testing.B) { benchFanout(b, mode, n) })
		}
	}
}

func benchFanout(b *testing.B, mode string, n int) {
	m, err := newMetrics(nil)
	if err != nil {
		b.Fatal(err)
	}
	r := &Relay{m: m, epoch: time.Now(), log: testLogger()}
	c := newCamera("bench", false)
	c.setGen(1, nil)
	done := make(chan struct{})
	for _, sh := range c.shards {
		r.wg.Go(func() { sh.run(done, func(*viewer) {}) })
	}

	var conn, sinkConn net.PacketConn
	if mode == "srtp" {
		if conn, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		// Nobody reads it: the kernel drops what overflows, as a network would.
		if sinkConn, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		defer sinkConn.Close()
	}
	sinks := make([]*benchSink, n)
	for i := range n {
		s := &benchSink{plain: make([]byte, 1500), cipher: make([]byte, 1600)}
		if mode == "srtp" {
			key, salt := make([]byte, 16), make([]byte, 12)
			key[0], salt[0] = byte(i), byte(i>>8)
			if s.ctx, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm); err != nil {
				b.Fatal(err)
			}
			s.conn, s.to = conn, sinkConn.LocalAddr()
		}
		sinks[i] = s
		track := &viewerTrack{}
		track.binding.Store(&trackBinding{ws: s, ssrc: uint32(1000 + i), pt: 102})
		v := newViewer(r, c, fmt.Sprint(i), Viewer{}, track, uint16(i), uint32(i))
		c.attach(v)
		v.catchUp()
	}
	defer func() {
		close(done)
		r.wg.Wait()
	}()

	key := append([]byte{0x7c, 0x85}, make([]byte, 1198)...) // FU-A, start of an IDR
	delta := append([]byte{0x7c, 0x01}, make([]byte, 1198)...)
	const gop = 300 // packets per GOP
	slowest := func() int64 {
		low := sinks[0].written.Load()
		for _, s := range sinks[1:] {
			low = min(low, s.written.Load())
		}
		return low
	}

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		p := &packet{seq: uint16(i), ts: uint32(i/10) * 3000, marker: i%10 == 9, payload: delta}
		if i%gop == 0 {
			p.payload, p.key = key, true
		}
		p.at = r.clock()
		c.push(1, p)
		// Stay within the ring: a viewer more than ringSize behind would
		// (correctly) drop packets, which is not what is measured here.
		if i%64 == 63 {
			for int64(i)-slowest() > ringSize/2 {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for slowest() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("viewers wrote %d of %d packets", slowest(), b.N)
		}
		time.Sleep(20 * time.Microsecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	perViewerPkt := float64(cpu.Nanoseconds()) / float64(b.N) / float64(n)
	b.ReportMetric(perViewerPkt, "cpu-ns/viewer-pkt")
	b.ReportMetric(1e9/(perViewerPkt*103), "viewers/core@1Mbps")
}
