package decode

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTranscodeOptions(t *testing.T) {
	tests := []struct {
		in   TranscodeOptions
		want TranscodeOptions
		gop  int
		err  string
	}{
		{in: TranscodeOptions{}, want: TranscodeOptions{Bitrate: 1_500_000, GOP: 2 * time.Second, FPS: 25, Threads: 1}, gop: 50},
		{in: LiveTranscodeOptions(10), want: TranscodeOptions{MaxWidth: 1280, MaxHeight: 720, Bitrate: 1_500_000, GOP: 2 * time.Second, FPS: 10, Threads: 1}, gop: 20},
		{in: TranscodeOptions{GOP: 1500 * time.Millisecond, FPS: 15}, want: TranscodeOptions{Bitrate: 1_500_000, GOP: 1500 * time.Millisecond, FPS: 15, Threads: 1}, gop: 23},
		{in: TranscodeOptions{GOP: time.Millisecond}, want: TranscodeOptions{Bitrate: 1_500_000, GOP: time.Millisecond, FPS: 25, Threads: 1}, gop: 1},
		{in: TranscodeOptions{GOP: 1 << 62}, want: TranscodeOptions{Bitrate: 1_500_000, GOP: 1 << 62, FPS: 25, Threads: 1}, gop: maxTranscodeGOP},
		{in: TranscodeOptions{MaxWidth: 15}, err: "MaxWidth 15"},
		{in: TranscodeOptions{MaxHeight: 8193}, err: "MaxHeight 8193"},
		{in: TranscodeOptions{Bitrate: 15_999}, err: "Bitrate 15999"},
		{in: TranscodeOptions{Bitrate: 100_000_001}, err: "Bitrate 100000001"},
		{in: TranscodeOptions{FPS: 241}, err: "FPS 241"},
		{in: TranscodeOptions{Threads: 17}, err: "Threads 17"},
		{in: TranscodeOptions{GOP: -1}, err: "GOP -1ns"},
	}
	for _, tt := range tests {
		got, gop, err := tt.in.withDefaults()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: error %v, want one naming %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || gop != tt.gop {
			t.Errorf("%+v: %+v, GOP %d, %v; want %+v, GOP %d", tt.in, got, gop, err, tt.want, tt.gop)
		}
	}
}

func TestSplitAnnexB(t *testing.T) {
	tests := []struct {
		in   string // hex-ish: bytes as %x
		want []string
	}{
		{"", nil},
		{"6742", nil}, // no start code
		{"000001", nil},
		{"00000001", nil},
		{"00000001674200", []string{"6742"}},
		{"0000000167420000000168ce00000165888400", []string{"6742", "68ce", "658884"}},
		{"0000016742000001000001688000", []string{"6742", "6880"}},
		{"ff0000016742", []string{"6742"}}, // junk before the first start code
		{"000000016742030000000168", []string{"674203", "68"}},
	}
	for _, tt := range tests {
		var in []byte
		if _, err := fmt.Sscanf(tt.in, "%x", &in); err != nil && tt.in != "" {
			t.Fatal(err)
		}
		got := splitAnnexB(in)
		var hex []string
		for _, n := range got {
			hex = append(hex, fmt.Sprintf("%x", n))
			if cap(n) != len(n) {
				t.Errorf("%s: NAL unit %x not capped", tt.in, n)
			}
		}
		if !slices.Equal(hex, tt.want) {
			t.Errorf("splitAnnexB(%s) = %q, want %q", tt.in, hex, tt.want)
		}
	}
}

func TestParamSets(t *testing.T) {
	sps, pps := []byte{0x67, 1}, []byte{0x68, 2}
	sps2, pps2 := []byte{0x67, 3}, []byte{0x68, 4}
	aud, sei := []byte{0x09, 0xf0}, []byte{0x06, 5}
	idr, p := []byte{0x65, 6}, []byte{0x41, 7}
	pkt := func(nalus ...[]byte) []byte {
		var b []byte
		for _, n := range nalus {
			b = append(b, 0, 0, 0, 1)
			b = append(b, n...)
		}
		return b
	}

	var ps paramSets
	ps.reset(pkt(sps, pps))
	tests := []struct {
		name string
		pkt  []byte
		want [][]byte
		idr  bool
	}{
		{"IDR with both", pkt(sps2, pps2, sei, idr), [][]byte{sps2, pps2, sei, idr}, true},
		// The ones just seen are remembered.
		{"IDR alone", pkt(idr), [][]byte{sps2, pps2, idr}, true},
		{"IDR after AUD", pkt(aud, sei, idr), [][]byte{aud, sps2, pps2, sei, idr}, true},
		{"IDR with SPS only", pkt(sps, idr), [][]byte{sps, pps2, idr}, true},
		{"IDR with PPS only", pkt(pps, idr), [][]byte{sps, pps, idr}, true},
		{"P", pkt(p), [][]byte{p}, false},
		{"P with AUD", pkt(aud, p), [][]byte{aud, p}, false},
	}
	for _, tt := range tests {
		u := ps.unit(tt.pkt, time.Second)
		if u.IDR != tt.idr || u.PTS != time.Second || !slices.EqualFunc(u.NALUs, tt.want, bytes.Equal) {
			t.Errorf("%s: %x (IDR %v, %v), want %x (IDR %v)", tt.name, u.NALUs, u.IDR, u.PTS, tt.want, tt.idr)
		}
	}

	// Nothing to insert before any parameter set was seen.
	ps.reset(nil)
	if u := ps.unit(pkt(idr), 0); len(u.NALUs) != 1 || !u.IDR {
		t.Errorf("IDR with no parameter sets known: %x", u.NALUs)
	}
	if u := ps.unit([]byte{1, 2, 3}, 0); len(u.NALUs) != 0 {
		t.Errorf("no start code: %x", u.NALUs)
	}
}

func TestPTSQueue(t *testing.T) {
	var q ptsQueue
	if _, ok := q.pop(0); ok {
		t.Error("pop from an empty queue")
	}
	q.push(0, 10)
	q.push(1, 20)
	q.push(2, 30)
	if p, ok := q.pop(1); !ok || p != 20 { // 0 was dropped by the encoder
		t.Errorf("pop(1) = %v, %v", p, ok)
	}
	if _, ok := q.pop(0); ok {
		t.Error("pop(0) after pop(1)")
	}
	if p, ok := q.pop(2); !ok || p != 30 {
		t.Errorf("pop(2) = %v, %v", p, ok)
	}
	for i := range int64(1000) {
		q.push(i, time.Duration(i))
	}
	if len(q.q) != maxQueuedPTS {
		t.Errorf("queue holds %d, want at most %d", len(q.q), maxQueuedPTS)
	}
	if p, ok := q.pop(999); !ok || p != 999 || len(q.q) != 0 {
		t.Errorf("pop(999) = %v, %v, %d left", p, ok, len(q.q))
	}
}
