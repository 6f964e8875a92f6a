package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func openTest(t testing.TB, o Options) *Queue {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "spool.db")
	}
	q, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func reopen(t testing.TB, q *Queue) *Queue {
	t.Helper()
	o := q.opts
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	return openTest(t, o)
}

func mustAppend(t testing.TB, q *Queue, items ...Item) []uint64 {
	t.Helper()
	seqs, err := q.Append(context.Background(), items...)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != len(items) {
		t.Fatalf("got %d seqs for %d items", len(seqs), len(items))
	}
	return seqs
}

func readAll(t testing.TB, q *Queue) []Record {
	t.Helper()
	var out []Record
	var after uint64
	for range 100000 {
		recs, err := q.Read(after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].Seq
	}
	t.Fatal("readAll: too many rounds")
	return nil
}

func seqsOf(recs []Record) []uint64 {
	s := make([]uint64, len(recs))
	for i, r := range recs {
		s[i] = r.Seq
	}
	return s
}

func ev(i int) Item {
	it := Item{Kind: "violation", Payload: []byte(fmt.Sprintf("event-%d", i))}
	if i%2 == 0 {
		it.Blob = bytes.Repeat([]byte{byte(i)}, 100+i)
	}
	return it
}

func TestAppendReadDelete(t *testing.T) {
	q := openTest(t, Options{})
	if _, ok := q.Oldest(); ok {
		t.Fatal("Oldest on empty spool reported a record")
	}
	var items []Item
	for i := 1; i <= 10; i++ {
		items = append(items, ev(i))
	}
	before := time.Now()
	seqs := mustAppend(t, q, items[:4]...)
	seqs = append(seqs, mustAppend(t, q, items[4:]...)...)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("seqs = %v, want 1..10", seqs)
		}
	}
	recs := readAll(t, q)
	if len(recs) != 10 {
		t.Fatalf("read %d records, want 10", len(recs))
	}
	for i, r := range recs {
		it := items[i]
		if r.Seq != uint64(i+1) || r.Kind != it.Kind || !bytes.Equal(r.Payload, it.Payload) || !bytes.Equal(r.Blob, it.Blob) || r.BlobDropped {
			t.Fatalf("record %d = %+v, want item %+v", i, r, it)
		}
		if r.At.Before(before.Add(-time.Second)) || r.At.After(time.Now().Add(time.Second)) {
			t.Fatalf("record %d At = %v", i, r.At)
		}
	}

	got, err := q.Read(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s := seqsOf(got); fmt.Sprint(s) != "[4 5]" {
		t.Fatalf("Read(3, 2) = %v, want [4 5]", s)
	}
	if got, _ := q.Read(10, 5); len(got) != 0 {
		t.Fatalf("Read past the end = %v", seqsOf(got))
	}

	if err := q.Delete(2, 4, 999, 4); err != nil {
		t.Fatal(err)
	}
	if s := seqsOf(readAll(t, q)); fmt.Sprint(s) != "[1 3 5 6 7 8 9 10]" {
		t.Fatalf("after Delete(2, 4, 999): %v", s)
	}
	if err := q.DeleteUpTo(6); err != nil {
		t.Fatal(err)
	}
	if s := seqsOf(readAll(t, q)); fmt.Sprint(s) != "[7 8 9 10]" {
		t.Fatalf("after DeleteUpTo(6): %v", s)
	}
	if o, ok := q.Oldest(); !ok || o != 7 {
		t.Fatalf("Oldest = %d, %v; want 7", o, ok)
	}
	st := q.Stats()
	var want int64
	for _, it := range items[6:] {
		want += itemCost(&it)
	}
	if st.Depth != 4 || st.Bytes != want || st.LastSeq != 10 || st.OldestSeq != 7 {
		t.Fatalf("stats = %+v, want depth 4, bytes %d, last 10", st, want)
	}
	if err := q.DeleteUpTo(100); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Depth != 0 || st.Bytes != 0 || st.LastSeq != 10 {
		t.Fatalf("stats after deleting all = %+v", st)
	}
	if _, ok := q.Oldest(); ok {
		t.Fatal("Oldest on emptied spool reported a record")
	}
}

func TestSeqsNeverReused(t *testing.T) {
	q := openTest(t, Options{})
	id := q.ID()
	if len(id) < 16 {
		t.Fatalf("ID = %q", id)
	}
	if other := openTest(t, Options{}); other.ID() == id {
		t.Fatal("two spools share an ID")
	}
	mustAppend(t, q, ev(1), ev(2), ev(3))
	if err := q.DeleteUpTo(3); err != nil {
		t.Fatal(err)
	}
	q = reopen(t, q)
	if st := q.Stats(); st.LastSeq != 3 || st.Depth != 0 {
		t.Fatalf("after reopen: %+v", st)
	}
	if s := mustAppend(t, q, ev(4)); s[0] != 4 {
		t.Fatalf("first seq after reopen = %d, want 4", s[0])
	}
	if err := q.Delete(4); err != nil {
		t.Fatal(err)
	}
	if err := q.Compact(); err != nil {
		t.Fatal(err)
	}
	q = reopen(t, q)
	if s := mustAppend(t, q, ev(5)); s[0] != 5 {
		t.Fatalf("first seq after compaction and reopen = %d, want 5", s[0])
	}
	if q.ID() != id {
		t.Fatalf("ID changed from %q to %q across compaction and reopen", id, q.ID())
	}
}

func TestStatsSurviveReopen(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 1000})
	for i := range 40 {
		mustAppend(t, q, ev(i))
	}
	if err := q.Delete(30, 31); err != nil {
		t.Fatal(err)
	}
	want := q.Stats()
	if want.DroppedBlobs == 0 || want.DroppedRecords == 0 {
		t.Fatalf("test setup: expected drops, got %+v", want)
	}
	q = reopen(t, q)
	got := q.Stats()
	got.FileBytes, want.FileBytes = 0, 0
	if got != want {
		t.Fatalf("stats after reopen\n got %+v\nwant %+v", got, want)
	}
}

func TestConcurrentAppend(t *testing.T) {
	q := openTest(t, Options{})
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	got := make([][]uint64, writers)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				s, err := q.Append(context.Background(), Item{Kind: "ev", Payload: []byte(fmt.Sprintf("%d/%d", w, i))})
				if err != nil {
					errs <- err
					return
				}
				got[w] = append(got[w], s[0])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make(map[uint64]string, writers*each)
	for w := range writers {
		for i, s := range got[w] {
			if i > 0 && s <= got[w][i-1] {
				t.Fatalf("writer %d: seqs not increasing: %d after %d", w, s, got[w][i-1])
			}
			if _, dup := seen[s]; dup {
				t.Fatalf("seq %d assigned twice", s)
			}
			seen[s] = fmt.Sprintf("%d/%d", w, i)
		}
	}
	recs := readAll(t, q)
	if len(recs) != writers*each {
		t.Fatalf("read %d records, want %d", len(recs), writers*each)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: not contiguous", i, r.Seq)
		}
		if string(r.Payload) != seen[r.Seq] {
			t.Fatalf("seq %d payload %q, want %q", r.Seq, r.Payload, seen[r.Seq])
		}
	}
	if st := q.Stats(); st.Depth != writers*each || st.LastSeq != writers*each {
		t.Fatalf("stats = %+v", st)
	}
}

func TestAppendErrors(t *testing.T) {
	q := openTest(t, Options{MaxBytes: 1000})
	if _, err := q.Append(context.Background(), Item{Kind: "big", Blob: make([]byte, 1000)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized item: err = %v, want ErrTooLarge", err)
	}
	if _, err := q.Append(context.Background(), ev(1), Item{Payload: []byte("x")}); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("empty kind: err = %v, want ErrInvalidItem", err)
	}
	if _, err := q.Append(context.Background(), Item{Kind: string(make([]byte, MaxKindLen+1))}); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("long kind: err = %v, want ErrInvalidItem", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Append(ctx, ev(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: err = %v", err)
	}
	if st := q.Stats(); st.Depth != 0 || st.LastSeq != 0 {
		t.Fatalf("failed appends stored something: %+v", st)
	}
	if seqs, err := q.Append(context.Background()); err != nil || seqs != nil {
		t.Fatalf("empty Append = %v, %v", seqs, err)
	}
	// The budget-sized item itself fits.
	mustAppend(t, q, Item{Kind: "k", Blob: make([]byte, 1000-recOverhead-1)})
}

func TestNotify(t *testing.T) {
	q := openTest(t, Options{})
	select {
	case <-q.Notify():
		t.Fatal("notified before any append")
	default:
	}
	mustAppend(t, q, ev(1))
	mustAppend(t, q, ev(2))
	select {
	case <-q.Notify():
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after append")
	}
	select {
	case <-q.Notify():
		t.Fatal("notifications did not coalesce")
	default:
	}
	if err := q.DeleteUpTo(2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.Notify():
		t.Fatal("notified after a delete")
	default:
	}
}

func TestSessionAndMeta(t *testing.T) {
	q := openTest(t, Options{})
	for want := uint64(1); want <= 3; want++ {
		n, err := q.NextSession()
		if err != nil || n != want {
			t.Fatalf("NextSession = %d, %v; want %d", n, err, want)
		}
	}
	if v, err := q.Meta("config_version"); err != nil || v != nil {
		t.Fatalf("Meta of a missing key = %q, %v", v, err)
	}
	if err := q.SetMeta("config_version", []byte("42")); err != nil {
		t.Fatal(err)
	}
	if err := q.SetMeta("", []byte("x")); err == nil {
		t.Fatal("SetMeta with an empty key succeeded")
	}
	if err := q.SetMeta("big", make([]byte, maxMetaValue+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("SetMeta too large: %v", err)
	}
	q = reopen(t, q)
	if n, err := q.NextSession(); err != nil || n != 4 {
		t.Fatalf("NextSession after reopen = %d, %v; want 4", n, err)
	}
	if v, err := q.Meta("config_version"); err != nil || string(v) != "42" {
		t.Fatalf("Meta after reopen = %q, %v", v, err)
	}
	if err := q.SetMeta("config_version", nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := q.Meta("config_version"); v != nil {
		t.Fatalf("Meta after delete = %q", v)
	}
}

func TestClose(t *testing.T) {
	q := openTest(t, Options{})
	mustAppend(t, q, ev(1))
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := q.Append(context.Background(), ev(2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := q.Read(0, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := q.DeleteUpTo(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("DeleteUpTo after Close: %v", err)
	}
	if _, err := q.Meta("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Meta after Close: %v", err)
	}
	if _, err := q.NextSession(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NextSession after Close: %v", err)
	}
}

// TestCloseWhileAppending checks that Close neither loses an acknowledged
// append nor hangs callers.
func TestCloseWhileAppending(t *testing.T) {
	q := openTest(t, Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []uint64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10000 {
				s, err := q.Append(context.Background(), ev(1))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, s...)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	o := q.opts
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	q = openTest(t, o)
	have := map[uint64]bool{}
	for _, r := range readAll(t, q) {
		have[r.Seq] = true
	}
	for _, s := range acked {
		if !have[s] {
			t.Fatalf("acknowledged seq %d missing after Close", s)
		}
	}
}

func TestOpenRemovesStaleTemp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	if err := os.WriteFile(path+".compact", []byte("half a compaction"), 0o600); err != nil {
		t.Fatal(err)
	}
	openTest(t, Options{Path: path})
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file still there: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without a path succeeded")
	}
	path := filepath.Join(t.TempDir(), "spool.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Path: path}); err == nil {
		t.Fatal("Open of a garbage file succeeded")
	}
}

// TestCorruptRecordSkipped plants a record with a bad checksum and a blob
// that does not match its record: Read skips the first, returns the second
// with BlobDropped, and the writer cleans both up.
func TestCorruptRecordSkipped(t *testing.T) {
	q := openTest(t, Options{})
	mustAppend(t, q, ev(1), ev(2), ev(3), ev(4))
	o := q.opts
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		recs, blobs := tx.Bucket(bucketRecords), tx.Bucket(bucketBlobs)
		v := append([]byte{}, recs.Get(seqKey(3))...)
		v[len(v)-6] ^= 0xff // payload byte: checksum no longer matches
		if err := recs.Put(seqKey(3), v); err != nil {
			return err
		}
		b := append([]byte{}, blobs.Get(seqKey(2))...)
		b[0] ^= 0xff
		return blobs.Put(seqKey(2), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	q = openTest(t, o)
	recs := readAll(t, q)
	if s := seqsOf(recs); fmt.Sprint(s) != "[1 2 4]" {
		t.Fatalf("read %v, want [1 2 4]", s)
	}
	if !recs[1].BlobDropped || recs[1].Blob != nil {
		t.Fatalf("record with a corrupt blob: BlobDropped=%v blob=%d bytes", recs[1].BlobDropped, len(recs[1].Blob))
	}
	wait.For(t, 10*time.Second, "the corrupt data purged", func() bool { return q.Stats().CorruptRecords >= 2 })
	q = reopen(t, q)
	st := q.Stats()
	want := itemCost(&[]Item{ev(1)}[0]) + itemCost(&Item{Kind: ev(2).Kind, Payload: ev(2).Payload}) + itemCost(&[]Item{ev(4)}[0])
	if st.Depth != 3 || st.Bytes != want || st.CorruptRecords != 2 {
		t.Fatalf("after purge and reopen: %+v (want depth 3, bytes %d)", st, want)
	}
	recs = readAll(t, q)
	if !recs[1].BlobDropped {
		t.Fatal("purged blob not marked dropped on disk")
	}
}
