package spool

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// fillLarge appends n records with 10 KB blobs in batches.
func fillLarge(t *testing.T, q *Queue, n int) {
	t.Helper()
	for i := 0; i < n; i += 100 {
		var batch []Item
		for j := i; j < i+100 && j < n; j++ {
			batch = append(batch, Item{
				Kind:    "snapshot",
				Payload: []byte(fmt.Sprintf("event-%d", j+1)),
				Blob:    bytes.Repeat([]byte{byte(j)}, 10<<10),
			})
		}
		mustAppend(t, q, batch...)
	}
}

func checkLarge(t *testing.T, recs []Record) {
	t.Helper()
	for _, r := range recs {
		if string(r.Payload) != fmt.Sprintf("event-%d", r.Seq) || len(r.Blob) != 10<<10 || r.Blob[0] != byte(r.Seq-1) || r.Blob[len(r.Blob)-1] != byte(r.Seq-1) {
			t.Fatalf("seq %d: payload %q, blob %d bytes", r.Seq, r.Payload, len(r.Blob))
		}
	}
}

func TestCompactShrinks(t *testing.T) {
	q := openTest(t, Options{CompactMinBytes: -1})
	fillLarge(t, q, 4000) // about 40 MB
	if err := q.DeleteUpTo(3900); err != nil {
		t.Fatal(err)
	}
	before := q.Stats()
	if before.FileBytes < 40<<20 || before.Compactions != 0 {
		t.Fatalf("before compaction: %+v", before)
	}
	if err := q.Compact(); err != nil {
		t.Fatal(err)
	}
	after := q.Stats()
	if after.FileBytes > before.FileBytes/4 || after.Compactions != 1 {
		t.Fatalf("file %d bytes before, %d after compaction", before.FileBytes, after.FileBytes)
	}
	if after.Depth != 100 || after.Bytes != before.Bytes || after.LastSeq != 4000 || after.OldestSeq != 3901 {
		t.Fatalf("stats changed: before %+v after %+v", before, after)
	}
	t.Logf("file %d -> %d bytes", before.FileBytes, after.FileBytes)
	recs := readAll(t, q)
	if len(recs) != 100 || recs[0].Seq != 3901 {
		t.Fatalf("after compaction: %d records from %d", len(recs), recs[0].Seq)
	}
	checkLarge(t, recs)

	// Still a working spool, on disk too.
	if s := mustAppend(t, q, ev(1)); s[0] != 4001 {
		t.Fatalf("seq after compaction %d", s[0])
	}
	q = reopen(t, q)
	if st := q.Stats(); st.Depth != 101 || st.FileBytes != q.fileSize() {
		t.Fatalf("after reopen: %+v", st)
	}
	checkLarge(t, readAll(t, q)[:100])
}

func TestAutoCompact(t *testing.T) {
	q := openTest(t, Options{CompactMinBytes: 4 << 20})
	fillLarge(t, q, 600) // about 6 MB
	if st := q.Stats(); st.Compactions != 0 {
		t.Fatalf("compacted while full: %+v", st)
	}
	// Acks leave the file mostly free: the writer compacts on its own.
	if err := q.DeleteUpTo(590); err != nil {
		t.Fatal(err)
	}
	// The writer answers the ack first, then compacts.
	wait.For(t, 20*time.Second, "an automatic compaction", func() bool { return q.Stats().Compactions > 0 })
	if st := q.Stats(); st.Compactions != 1 || st.FileBytes >= 4<<20 {
		t.Fatalf("no automatic compaction: %+v", st)
	}
	recs := readAll(t, q)
	if len(recs) != 10 {
		t.Fatalf("%d records left", len(recs))
	}
	checkLarge(t, recs)
}

// TestCompactConcurrent runs compactions while others append and read.
func TestCompactConcurrent(t *testing.T) {
	q := openTest(t, Options{CompactMinBytes: -1})
	done := make(chan error, 3)
	go func() {
		for i := range 500 {
			if _, err := q.Append(context.Background(), ev(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for range 20 {
			if err := q.Compact(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for range 200 {
			if _, err := q.Read(0, 50); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	recs := readAll(t, q)
	if len(recs) != 500 || recs[499].Seq != 500 {
		t.Fatalf("%d records after concurrent compaction", len(recs))
	}
}
