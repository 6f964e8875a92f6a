package spool

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// Costs in these tests: kind "k" (1 byte) + payload + 19-byte header,
// plus the blob.
func budgetItem(payload, blob int) Item {
	it := Item{Kind: "k", Payload: bytes.Repeat([]byte{'p'}, payload)}
	if blob > 0 {
		it.Blob = bytes.Repeat([]byte{'b'}, blob)
	}
	return it
}

func nextDrop(t *testing.T, q *Queue) DropReport {
	t.Helper()
	select {
	case r := <-q.Dropped():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no drop report")
	}
	return DropReport{}
}

func noDrop(t *testing.T, q *Queue) {
	t.Helper()
	select {
	case r := <-q.Dropped():
		t.Fatalf("unexpected drop report %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestBudgetDropsBlobsThenRecords(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 1000})
	small := budgetItem(10, 100) // 30 + 100
	if c := itemCost(&small); c != 130 {
		t.Fatalf("test assumes cost 130, got %d", c)
	}
	for range 7 {
		mustAppend(t, q, small) // seqs 1..7, 910 bytes
	}
	noDrop(t, q)

	// 910 + 130 > 1000: the oldest blob (seq 1) goes.
	mustAppend(t, q, small) // seq 8
	if r := nextDrop(t, q); r != (DropReport{Blobs: 1, Bytes: 100}) {
		t.Fatalf("report = %+v", r)
	}
	if st := q.Stats(); st.Bytes != 940 || st.Depth != 8 || st.DroppedBlobs != 1 || st.DroppedRecords != 0 {
		t.Fatalf("stats = %+v", st)
	}

	// 940 + 400: four more blobs (seqs 2..5).
	mustAppend(t, q, budgetItem(380, 0)) // seq 9, cost 400
	if r := nextDrop(t, q); r != (DropReport{Blobs: 4, Bytes: 400}) {
		t.Fatalf("report = %+v", r)
	}
	recs := readAll(t, q)
	for _, r := range recs[:8] {
		wantDropped := r.Seq <= 5
		if r.BlobDropped != wantDropped || (r.Blob == nil) != wantDropped {
			t.Fatalf("seq %d: BlobDropped=%v blob=%d bytes", r.Seq, r.BlobDropped, len(r.Blob))
		}
		if string(r.Payload) != string(small.Payload) {
			t.Fatalf("seq %d payload changed", r.Seq)
		}
	}

	// 940 + 600: the last three blobs (300), then records 1..8 (8 x 30).
	mustAppend(t, q, budgetItem(580, 0)) // seq 10, cost 600
	want := DropReport{Blobs: 3, Records: 8, Bytes: 540, OldestSeqLost: 1, NewestSeqLost: 8}
	if r := nextDrop(t, q); r != want {
		t.Fatalf("report = %+v, want %+v", r, want)
	}
	st := q.Stats()
	if st.Bytes != 1000 || st.Depth != 2 || st.DroppedBlobs != 8 || st.DroppedRecords != 8 || st.OldestSeq != 9 {
		t.Fatalf("stats = %+v", st)
	}
	if s := seqsOf(readAll(t, q)); fmt.Sprint(s) != "[9 10]" {
		t.Fatalf("left %v, want [9 10]", s)
	}

	// One item as large as the whole budget replaces everything.
	mustAppend(t, q, budgetItem(1000-recOverhead-1, 0))
	if r := nextDrop(t, q); r.Records != 2 || r.OldestSeqLost != 9 || r.NewestSeqLost != 10 {
		t.Fatalf("report = %+v", r)
	}
	if st := q.Stats(); st.Bytes != 1000 || st.Depth != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestBudgetWithinOneAppend: items of one call can push out earlier items
// of the same call; the seqs are still all returned and the budget holds.
func TestBudgetWithinOneAppend(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 1000})
	items := make([]Item, 10)
	for i := range items {
		items[i] = budgetItem(10, 100)
	}
	seqs := mustAppend(t, q, items...)
	if seqs[9] != 10 {
		t.Fatalf("seqs = %v", seqs)
	}
	st := q.Stats()
	if st.Bytes > 1000 || st.Depth != 10 || st.DroppedBlobs != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestDropReportsMerge: reports the channel has no room for are merged,
// so the reports received add up to the stats.
func TestDropReportsMerge(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 1000})
	for range 60 {
		mustAppend(t, q, budgetItem(10, 100))
	}
	st := q.Stats()
	var sum DropReport
	deadline := time.After(5 * time.Second)
	for sum.Blobs != st.DroppedBlobs || sum.Records != st.DroppedRecords {
		select {
		case r := <-q.Dropped():
			sum.merge(r)
		case <-deadline:
			t.Fatalf("reports add up to %+v, stats say %+v", sum, st)
		}
	}
	if st.DroppedBlobs == 0 || st.DroppedRecords == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestBudgetConcurrent(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 20000})
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range 300 {
				if _, err := q.Append(context.Background(), budgetItem(w+i%50, (i%3)*100)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := q.Stats()
	if st.Bytes > 20000 || st.DroppedRecords == 0 {
		t.Fatalf("stats = %+v", st)
	}
	var sum int64
	for _, r := range readAll(t, q) {
		it := Item{Kind: r.Kind, Payload: r.Payload, Blob: r.Blob}
		sum += itemCost(&it)
	}
	if sum != st.Bytes {
		t.Fatalf("stored bytes %d, stats say %d", sum, st.Bytes)
	}
	q = reopen(t, q)
	if got := q.Stats().Bytes; got != sum {
		t.Fatalf("bytes after reopen %d, want %d", got, sum)
	}
}
