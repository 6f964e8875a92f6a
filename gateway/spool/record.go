package spool

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Item is one record to append.
type Item struct {
	// Kind names what the payload is (for example "violation" or
	// "heartbeat"); the uplink picks the MQTT topic from it. 1 to
	// MaxKindLen bytes.
	Kind string
	// Payload is the record body, stored as is. May be empty.
	Payload []byte
	// Blob is optional bulk data (a JPEG snapshot). Blobs are the first
	// thing the budget drops, oldest first, keeping the record.
	Blob []byte
}

// Record is one stored record, as returned by Read.
type Record struct {
	Seq     uint64
	Kind    string
	Payload []byte
	// Blob is nil when the item had none or when it was dropped.
	Blob []byte
	// BlobDropped is true when the item had a blob that the byte budget
	// dropped (or that was found corrupt).
	BlobDropped bool
	// At is when the record was appended (wall clock of the gateway).
	At time.Time
}

// MaxKindLen is the longest Item.Kind accepted.
const MaxKindLen = 255

// Stored record layout (the value in the records bucket, key = big-endian seq):
//
//	[0]      format version (1)
//	[1]      flags: flagBlob (a blob is stored under the same seq) or
//	         flagBlobDropped (there was one, the budget dropped it)
//	[2:10]   append time, Unix nanoseconds, big-endian
//	[10:14]  CRC-32C of the blob (0 without one)
//	[14]     kind length k
//	[15:15+k] kind
//	...      payload
//	[-4:]    CRC-32C of everything before it
const (
	recVersion      = 1
	flagBlob        = 1 << 0
	flagBlobDropped = 1 << 1
	recHeaderLen    = 15
	recOverhead     = recHeaderLen + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the CRC-32C used for records and blobs.
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func encodedLen(it *Item) int { return recOverhead + len(it.Kind) + len(it.Payload) }

// itemCost is what an item counts against the budget: its stored record
// (header, kind, payload) plus its blob.
func itemCost(it *Item) int64 { return int64(encodedLen(it)) + int64(len(it.Blob)) }

// encodeRecord builds the stored value of it, appended at at.
func encodeRecord(it *Item, at time.Time) []byte {
	b := make([]byte, encodedLen(it))
	b[0] = recVersion
	if len(it.Blob) > 0 {
		b[1] = flagBlob
		binary.BigEndian.PutUint32(b[10:14], crc32.Checksum(it.Blob, castagnoli))
	}
	binary.BigEndian.PutUint64(b[2:10], uint64(at.UnixNano()))
	b[14] = byte(len(it.Kind))
	n := recHeaderLen + copy(b[recHeaderLen:], it.Kind)
	n += copy(b[n:], it.Payload)
	binary.BigEndian.PutUint32(b[n:], crc32.Checksum(b[:n], castagnoli))
	return b
}

// storedRecord is a decoded record value; Payload aliases the input.
type storedRecord struct {
	flags   byte
	at      int64
	blobCRC uint32
	kind    string
	payload []byte
}

// decodeRecord parses a stored record value. Any malformed input gives an
// error wrapping ErrCorrupt, never a panic.
func decodeRecord(b []byte) (storedRecord, error) {
	var r storedRecord
	if len(b) < recOverhead {
		return r, corruptf("short record", len(b))
	}
	if b[0] != recVersion {
		return r, corruptf("unknown format version", int(b[0]))
	}
	n := len(b) - 4
	if got, want := crc32.Checksum(b[:n], castagnoli), binary.BigEndian.Uint32(b[n:]); got != want {
		return r, corruptf("checksum mismatch", -1)
	}
	r.flags = b[1]
	switch r.flags {
	case 0, flagBlob, flagBlobDropped:
	default:
		return r, corruptf("bad flags", int(r.flags))
	}
	r.at = int64(binary.BigEndian.Uint64(b[2:10]))
	r.blobCRC = binary.BigEndian.Uint32(b[10:14])
	k := int(b[14])
	if k == 0 || recHeaderLen+k > n {
		return r, corruptf("bad kind length", k)
	}
	r.kind = string(b[recHeaderLen : recHeaderLen+k])
	r.payload = b[recHeaderLen+k : n]
	return r, nil
}

// markBlobDropped returns a copy of the stored value v with flagBlob
// replaced by flagBlobDropped and the checksums updated. It reports false
// (and leaves v alone) when v does not decode: a corrupt record is not
// re-checksummed into a valid-looking one.
func markBlobDropped(v []byte) ([]byte, bool) {
	if _, err := decodeRecord(v); err != nil {
		return nil, false
	}
	b := make([]byte, len(v))
	copy(b, v)
	b[1] = flagBlobDropped
	binary.BigEndian.PutUint32(b[10:14], 0)
	n := len(b) - 4
	binary.BigEndian.PutUint32(b[n:], crc32.Checksum(b[:n], castagnoli))
	return b, true
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

func keySeq(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}
