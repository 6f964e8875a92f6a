package spool

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Benchmarks of fsync'd 1 KB events. One op is one event; events/s is
// the throughput. Run with:
//
//	go test -run '^$' -bench . -benchtime 20000x ./gateway/spool/

var event1K = Item{Kind: "violation", Payload: make([]byte, 1024)}

func reportEvents(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{16, 64} {
		b.Run("concurrent"+strconv.Itoa(appenders), func(b *testing.B) {
			q := openTest(b, Options{CompactMinBytes: -1})
			b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := q.Append(context.Background(), event1K); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportEvents(b, start)
			b.StopTimer()
			if err := q.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/float64(q.st.commits), "events/commit")
		})
	}
	for _, batch := range []int{16, 256} {
		b.Run("batch"+strconv.Itoa(batch), func(b *testing.B) {
			q := openTest(b, Options{CompactMinBytes: -1})
			items := make([]Item, batch)
			for i := range items {
				items[i] = event1K
			}
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				if _, err := q.Append(context.Background(), items[:n]...); err != nil {
					b.Fatal(err)
				}
			}
			reportEvents(b, start)
		})
	}
	b.Run("serial", func(b *testing.B) {
		q := openTest(b, Options{CompactMinBytes: -1})
		start := time.Now()
		b.ResetTimer()
		for range b.N {
			if _, err := q.Append(context.Background(), event1K); err != nil {
				b.Fatal(err)
			}
		}
		reportEvents(b, start)
	})
}

// BenchmarkAppendBaselineTxPerEvent is what the spool replaces: one
// fsync'd bbolt transaction per event, same bucket layout and options.
func BenchmarkAppendBaselineTxPerEvent(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "baseline.db"), 0o600, &bolt.Options{
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketRecords)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketRecords)
			bk.FillPercent = 1.0
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			return bk.Put(seqKey(seq), encodeRecord(&event1K, start))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportEvents(b, start)
}

// BenchmarkReadDelete is the drain path: Read 256 records, then ack them
// with DeleteUpTo, until the spool is empty.
func BenchmarkReadDelete(b *testing.B) {
	q := openTest(b, Options{CompactMinBytes: -1})
	items := make([]Item, 1024)
	for i := range items {
		items[i] = event1K
	}
	for done := 0; done < b.N; done += len(items) {
		if _, err := q.Append(context.Background(), items[:min(len(items), b.N-done)]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	var after uint64
	read := 0
	for read < b.N {
		recs, err := q.Read(after, 256)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			b.Fatalf("spool empty after %d of %d records", read, b.N)
		}
		after = recs[len(recs)-1].Seq
		if err := q.DeleteUpTo(after); err != nil {
			b.Fatal(err)
		}
		read += len(recs)
	}
	reportEvents(b, start)
}
