package live

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
)

var (
	tSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xaa}
	tPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	tAUD = []byte{0x09, 0xf0}
)

func idrNALU(n int) []byte {
	b := bytes.Repeat([]byte{0xab}, n)
	b[0] = 0x65
	return b
}

func pNALU(n int) []byte {
	b := bytes.Repeat([]byte{0xcd}, n)
	b[0] = 0x41
	return b
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func au(pts time.Duration, wall time.Duration, idr bool, nalus ...[]byte) camera.AccessUnit {
	return camera.AccessUnit{PTS: pts, NTP: epoch.Add(wall), NALUs: nalus, IDR: idr}
}

func noParams() ([]byte, []byte)    { return nil, nil }
func mediaParams() ([]byte, []byte) { return tSPS, tPPS }

// depay returns the NAL units carried by single-NALU and FU-A packets.
func depay(t *testing.T, pkts []*rtp.Packet) [][]byte {
	t.Helper()
	var out [][]byte
	var frag []byte
	for _, p := range pkts {
		pl := p.Payload
		switch pl[0] & 0x1f {
		case 28:
			if pl[1]&0x80 != 0 {
				frag = []byte{pl[0]&0xe0 | pl[1]&0x1f}
			}
			frag = append(frag, pl[2:]...)
			if pl[1]&0x40 != 0 {
				out = append(out, frag)
				frag = nil
			}
		case 24:
			t.Fatal("unexpected STAP-A")
		default:
			out = append(out, pl)
		}
	}
	return out
}

func TestPackerParamsBeforeIDR(t *testing.T) {
	idr := idrNALU(3000)
	in := [][]byte{tAUD, idr}
	pk := newPacker(65530, 0xfffffff0)
	pkts := pk.pack(au(0, 0, true, in...), mediaParams)
	got := depay(t, pkts)
	want := [][]byte{tSPS, tPPS, idr} // the AUD is dropped by the payloader
	if len(got) != len(want) {
		t.Fatalf("got %d NALUs, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("NALU %d differs (type %d, want %d)", i, got[i][0]&0x1f, want[i][0]&0x1f)
		}
	}
	if len(in) != 2 || !bytes.Equal(in[0], tAUD) {
		t.Fatal("the shared unit was modified")
	}
	for i, p := range pkts {
		if len(p.Payload) > MaxPayload {
			t.Errorf("packet %d: %d bytes", i, len(p.Payload))
		}
		if p.Marker != (i == len(pkts)-1) {
			t.Errorf("packet %d: marker %v", i, p.Marker)
		}
		if p.SequenceNumber != uint16(65530+i) {
			t.Errorf("packet %d: seq %d", i, p.SequenceNumber)
		}
		if p.Timestamp != 0xfffffff0 {
			t.Errorf("packet %d: ts %d", i, p.Timestamp)
		}
	}
	if pk.paramsAdded != 1 || pk.keyframes != 1 || pk.units != 1 {
		t.Errorf("counters: params %d keyframes %d units %d", pk.paramsAdded, pk.keyframes, pk.units)
	}

	// an IDR that carries its own parameter sets is left alone
	pk.pack(au(100*time.Millisecond, 100*time.Millisecond, true, tSPS, tPPS, idrNALU(500)), func() ([]byte, []byte) {
		t.Fatal("params asked for an IDR that has them")
		return nil, nil
	})
	// and one without, with no known parameter sets, is sent as it is
	pkts = pk.pack(au(200*time.Millisecond, 200*time.Millisecond, true, idrNALU(500)), noParams)
	if got := depay(t, pkts); len(got) != 1 {
		t.Fatalf("%d NALUs, want the IDR alone", len(got))
	}
	// the timestamp wrapped without going backwards
	if d := int32(pkts[0].Timestamp - 0xfffffff0); d != 2*9000 {
		t.Errorf("timestamp step %d, want 18000", d)
	}
}

func TestPackerSkipsUntilIDR(t *testing.T) {
	pk := newPacker(0, 0)
	if pkts := pk.pack(au(0, 0, false, pNALU(100)), mediaParams); pkts != nil {
		t.Fatal("a unit before the first IDR was sent")
	}
	if pkts := pk.pack(au(100*time.Millisecond, 100*time.Millisecond, true, idrNALU(100)), mediaParams); pkts == nil {
		t.Fatal("the IDR was not sent")
	}
	if pkts := pk.pack(au(200*time.Millisecond, 200*time.Millisecond, false, pNALU(100)), mediaParams); pkts == nil {
		t.Fatal("the P unit after the IDR was not sent")
	}
	if pk.skipped != 1 {
		t.Errorf("skipped %d, want 1", pk.skipped)
	}
}

func TestPackerTimestamps(t *testing.T) {
	ms := time.Millisecond
	type step struct {
		pts, wall time.Duration
		idr       bool
		sent      bool
		wantStep  int64 // RTP ticks since the previous unit; 0: not checked
	}
	cases := []struct {
		name  string
		steps []step
		disc  uint64
	}{
		{"steady", []step{{0, 0, true, true, 0}, {100 * ms, 100 * ms, false, true, 9000}, {200 * ms, 205 * ms, false, true, 9000}}, 0},
		{"camera reconnect: PTS restarts, wall gap 2 s, wait for IDR", []step{
			{5000 * ms, 0, true, true, 0},
			{5100 * ms, 100 * ms, false, true, 9000},
			{30 * ms, 2100 * ms, false, false, 2000 * 90}, // new session, not an IDR: skipped
			{130 * ms, 2200 * ms, true, true, 9000},
			{230 * ms, 2300 * ms, false, true, 9000},
		}, 1},
		{"reconnect that starts with an IDR", []step{
			{800 * ms, 0, true, true, 0},
			{0, 1500 * ms, true, true, 1500 * 90},
			{100 * ms, 1600 * ms, false, true, 9000},
		}, 1},
		{"small step back (reordering) stays monotonic and is sent", []step{
			{0, 0, true, true, 0},
			{200 * ms, 40 * ms, false, true, 18000},
			{100 * ms, 80 * ms, false, true, 40 * 90},
		}, 1},
		{"equal PTS", []step{{0, 0, true, true, 0}, {0, 0, false, true, 1}}, 1},
		{"jump forward far beyond the wall clock", []step{
			{0, 0, true, true, 0},
			{time.Hour, 100 * ms, false, true, 9000},
			{time.Hour + 100*ms, 200 * ms, false, true, 9000},
		}, 1},
		{"long outage caps the step", []step{
			{9 * time.Second, 0, true, true, 0},
			{0, time.Minute, true, true, int64(maxGap/ms) * 90},
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pk := newPacker(0, 1000)
			var last int64
			for i, s := range tc.steps {
				before := pk.last
				pkts := pk.pack(au(s.pts, s.wall, s.idr, func() []byte {
					if s.idr {
						return idrNALU(50)
					}
					return pNALU(50)
				}()), mediaParams)
				if (pkts != nil) != s.sent {
					t.Fatalf("step %d: sent %v, want %v", i, pkts != nil, s.sent)
				}
				if i > 0 {
					if d := pk.last - before; d <= 0 {
						t.Fatalf("step %d: timestamp went from %d to %d", i, before, pk.last)
					} else if s.wantStep != 0 && d != s.wantStep {
						t.Errorf("step %d: step %d ticks, want %d", i, d, s.wantStep)
					}
				}
				if pkts != nil {
					ts := int64(pkts[0].Timestamp) - 1000
					if ts != pk.last || ts < last {
						t.Fatalf("step %d: RTP timestamp %d, packer %d, previous %d", i, ts, pk.last, last)
					}
					last = ts
				}
			}
			if pk.discontinuities != tc.disc {
				t.Errorf("discontinuities %d, want %d", pk.discontinuities, tc.disc)
			}
		})
	}
}

func TestWithParamsDropsPartialSets(t *testing.T) {
	idr := idrNALU(10)
	got := withParams([][]byte{tPPS, idr}, tSPS, tPPS)
	if len(got) != 3 || !bytes.Equal(got[0], tSPS) || !bytes.Equal(got[1], tPPS) || !bytes.Equal(got[2], idr) {
		t.Fatalf("got %d NALUs", len(got))
	}
}

func FuzzCheckAnswer(f *testing.F) {
	f.Add("")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n")
	f.Add("v=0\r\nm=video 0 RTP 96\r\n")
	f.Add("\x00garbage")
	f.Fuzz(func(t *testing.T, s string) {
		_ = checkAnswer(s)
		_ = serverMessage([]byte(s))
	})
}
