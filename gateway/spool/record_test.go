package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

var recordCases = []struct {
	name string
	item Item
}{
	{"minimal", Item{Kind: "k"}},
	{"payload", Item{Kind: "violation", Payload: []byte(`{"rule":"no_hat","area":"prep"}`)}},
	{"blob", Item{Kind: "snapshot", Payload: []byte("x"), Blob: []byte{0xff, 0xd8, 0xff, 0xe0}}},
	{"long kind", Item{Kind: string(bytes.Repeat([]byte{'k'}, MaxKindLen)), Payload: make([]byte, 4096)}},
}

func TestRecordRoundTrip(t *testing.T) {
	at := time.Unix(1767225600, 123456789)
	for _, c := range recordCases {
		t.Run(c.name, func(t *testing.T) {
			v := encodeRecord(&c.item, at)
			if len(v) != encodedLen(&c.item) {
				t.Fatalf("encoded %d bytes, encodedLen says %d", len(v), encodedLen(&c.item))
			}
			r, err := decodeRecord(v)
			if err != nil {
				t.Fatal(err)
			}
			if r.kind != c.item.Kind || !bytes.Equal(r.payload, c.item.Payload) || r.at != at.UnixNano() {
				t.Fatalf("decoded %+v", r)
			}
			if hasBlob := len(c.item.Blob) > 0; (r.flags == flagBlob) != hasBlob || (hasBlob && r.blobCRC != checksum(c.item.Blob)) {
				t.Fatalf("blob flags %d crc %x", r.flags, r.blobCRC)
			}
			d, ok := markBlobDropped(v)
			if !ok {
				t.Fatal("markBlobDropped refused a valid record")
			}
			r2, err := decodeRecord(d)
			if err != nil || r2.flags != flagBlobDropped || r2.kind != r.kind || !bytes.Equal(r2.payload, r.payload) {
				t.Fatalf("after markBlobDropped: %+v, %v", r2, err)
			}
			// Every single-byte change is caught.
			for i := range v {
				bad := append([]byte{}, v...)
				bad[i] ^= 0x41
				if _, err := decodeRecord(bad); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("flipped byte %d: err = %v", i, err)
				}
			}
			if _, err := decodeRecord(v[:len(v)-1]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated: err = %v", err)
			}
		})
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	valid := encodeRecord(&Item{Kind: "k", Payload: []byte("p")}, time.Now())
	reseal := func(b []byte) []byte {
		n := len(b) - 4
		binary.BigEndian.PutUint32(b[n:], checksum(b[:n]))
		return b
	}
	mod := func(f func([]byte)) []byte {
		b := append([]byte{}, valid...)
		f(b)
		return reseal(b)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         valid[:recOverhead-1],
		"version":       mod(func(b []byte) { b[0] = 2 }),
		"both flags":    mod(func(b []byte) { b[1] = flagBlob | flagBlobDropped }),
		"unknown flag":  mod(func(b []byte) { b[1] = 8 }),
		"zero kind":     mod(func(b []byte) { b[14] = 0 }),
		"kind too long": mod(func(b []byte) { b[14] = 200 }),
	} {
		if _, err := decodeRecord(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	if _, ok := markBlobDropped(valid[:5]); ok {
		t.Error("markBlobDropped accepted a corrupt record")
	}
}

// FuzzDecodeRecord: arbitrary stored bytes never panic the decoder, and
// whatever decodes re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, c := range recordCases {
		f.Add(encodeRecord(&c.item, time.Unix(0, 42)))
	}
	f.Add([]byte{})
	f.Add(make([]byte, recOverhead))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		it := Item{Kind: r.kind, Payload: r.payload}
		again := encodeRecord(&it, time.Unix(0, r.at))
		// Flags and the blob checksum are not part of Item: copy them over.
		again[1] = r.flags
		binary.BigEndian.PutUint32(again[10:14], r.blobCRC)
		n := len(again) - 4
		binary.BigEndian.PutUint32(again[n:], checksum(again[:n]))
		if !bytes.Equal(again, b) {
			t.Fatalf("decode/encode changed the bytes:\n in %x\nout %x", b, again)
		}
	})
}
