package spool

// Long file: the group-commit writer, its quotas and its drop order share one
// goroutine's state.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

type opKind int

const (
	opAppend opKind = iota
	opDelete
	opDeleteUpTo
	opNextSession
	opSetMeta
	opCompact
	opPurge // internal: remove what Read found corrupt
)

func (o opKind) String() string {
	return [...]string{"append", "delete", "delete up to", "next session", "set meta", "compact", "purge corrupt"}[o]
}

// request is one call handed to the writer goroutine.
type request struct {
	op    opKind
	ctx   context.Context // opAppend only
	items []Item
	seqs  []uint64
	upTo  uint64
	key   string
	val   []byte
	purge map[uint64]bool
	reply chan result // capacity 1: the writer never blocks on it
}

type result struct {
	seqs []uint64
	n    uint64
	err  error
}

// weight is what a request counts against Options.BatchMax.
func (r *request) weight() int {
	if r.op == opAppend {
		return len(r.items)
	}
	return 1
}

// do hands r to the writer and waits for its answer.
func (q *Queue) do(ctx context.Context, r *request) result {
	r.reply = make(chan result, 1)
	select {
	case q.reqs <- r:
	case <-q.done:
		return result{err: fmt.Errorf("%s: %w", r.op, ErrClosed)}
	case <-ctx.Done():
		return result{err: fmt.Errorf("%s: %w", r.op, ctx.Err())}
	}
	return <-r.reply
}

// run is the writer goroutine: it takes a request, gathers every other
// request already waiting (up to BatchMax records), commits them in one
// fsync'd transaction and answers each caller.
func (q *Queue) run() {
	defer close(q.writerDone)
	var carry *request
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			var dropCh chan DropReport // nil (never ready) unless a report waits
			if !q.pendingDrop.empty() {
				dropCh = q.dropped
			}
			select {
			case <-q.done:
				return
			case dropCh <- q.pendingDrop:
				q.pendingDrop = DropReport{}
				continue
			case first = <-q.reqs:
			case <-q.kick:
				first = q.purgeRequest()
				if first == nil {
					continue
				}
			}
		}
		if first.op == opCompact {
			err := q.compact()
			if err != nil {
				err = fmt.Errorf("compact: %w", err)
			}
			first.reply <- result{err: err}
			continue
		}
		batch := []*request{first}
		n := first.weight()
		sinceYield := 1 // requests gathered since the last yield
	gather:
		for n < q.opts.BatchMax {
			select {
			case r := <-q.reqs:
				if r.op == opCompact || n+r.weight() > q.opts.BatchMax {
					carry = r
					break gather
				}
				batch = append(batch, r)
				n += r.weight()
				sinceYield++
			default:
				// Callers answered by the last commit may be about to
				// send again: yield while that brings more requests
				// (microseconds, against the commit's fsyncs).
				if sinceYield == 0 {
					break gather
				}
				sinceYield = 0
				runtime.Gosched()
			}
		}
		q.commit(batch)
		q.flushDropReport()
		q.maybeAutoCompact()
	}
}

func (q *Queue) purgeRequest() *request {
	q.corruptMu.Lock()
	defer q.corruptMu.Unlock()
	if len(q.corruptQ) == 0 {
		return nil
	}
	r := &request{op: opPurge, purge: q.corruptQ, reply: make(chan result, 1)}
	q.corruptQ = make(map[uint64]bool)
	return r
}

// commit applies batch in one transaction. If that fails as a whole, it
// retries once after a compaction when the file hit its size limit, then
// request by request, so one bad request does not fail the others.
func (q *Queue) commit(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.op == opAppend && r.ctx != nil {
			if err := r.ctx.Err(); err != nil {
				r.reply <- result{err: fmt.Errorf("%s: %w", r.op, err)}
				continue
			}
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := q.apply(live)
	if err == nil {
		return
	}
	if errors.Is(err, berrors.ErrMaxSizeReached) {
		q.log.Warn("spool file reached its size limit, compacting", "file_bytes", q.st.fileBytes, "max_size", q.maxSize)
		if cerr := q.compact(); cerr != nil {
			q.log.Error("spool compaction failed", "err", cerr)
		} else if err = q.apply(live); err == nil {
			return
		}
	}
	if len(live) == 1 {
		live[0].reply <- result{err: fmt.Errorf("%s: %w", live[0].op, err)}
		return
	}
	for _, r := range live {
		if err := q.apply([]*request{r}); err != nil {
			r.reply <- result{err: fmt.Errorf("%s: %w", r.op, err)}
		}
	}
}

// apply runs reqs in one Update. On success it updates the in-memory state
// and answers every request; on failure it answers none and changes
// nothing.
func (q *Queue) apply(reqs []*request) error {
	if q.db == nil {
		if q.broken != nil {
			return q.broken
		}
		return ErrClosed
	}
	w := txWriter{q: q, st: q.st, now: time.Now()}
	results := make([]result, len(reqs))
	appended := false
	err := q.db.Update(func(tx *bolt.Tx) error {
		w.recs = tx.Bucket(bucketRecords)
		w.blobs = tx.Bucket(bucketBlobs)
		w.meta = tx.Bucket(bucketMeta)
		w.kv = tx.Bucket(bucketKV)
		// Appends go to the end: fill pages completely.
		w.recs.FillPercent = 1.0
		w.blobs.FillPercent = 1.0
		for i, r := range reqs {
			res, err := w.do(r)
			if err != nil {
				return err
			}
			results[i] = res
			appended = appended || r.op == opAppend
		}
		return w.finish()
	})
	if err != nil {
		return fmt.Errorf("commit spool transaction: %w", err)
	}
	w.st.fileBytes = q.fileSize()
	w.st.commits++
	q.st = w.st
	q.publish()
	// Notify before replying, so that an appender that returns can count on
	// the notification being there.
	if appended {
		select {
		case q.notify <- struct{}{}:
		default:
		}
	}
	for i, r := range reqs {
		r.reply <- results[i]
	}
	if !w.drop.empty() {
		q.log.Warn("spool over budget, dropped oldest data",
			"blobs", w.drop.Blobs, "records", w.drop.Records, "bytes", w.drop.Bytes,
			"oldest_seq_lost", w.drop.OldestSeqLost, "newest_seq_lost", w.drop.NewestSeqLost)
		q.pendingDrop.merge(w.drop)
	}
	return nil
}

// flushDropReport delivers the pending drop report if the channel has room.
func (q *Queue) flushDropReport() {
	if q.pendingDrop.empty() {
		return
	}
	select {
	case q.dropped <- q.pendingDrop:
		q.pendingDrop = DropReport{}
	default:
	}
}

// txWriter applies requests inside one write transaction, on a copy of
// the state that becomes the real one only if the transaction commits.
type txWriter struct {
	q                     *Queue
	st                    state
	now                   time.Time
	drop                  DropReport
	recs, blobs, meta, kv *bolt.Bucket
}

func (w *txWriter) do(r *request) (result, error) {
	switch r.op {
	case opAppend:
		seqs := make([]uint64, len(r.items))
		for i := range r.items {
			seq, err := w.append(&r.items[i])
			if err != nil {
				return result{}, err
			}
			seqs[i] = seq
		}
		return result{seqs: seqs}, nil
	case opDelete:
		for _, seq := range r.seqs {
			if err := w.remove(seq, nil); err != nil {
				return result{}, err
			}
		}
		return result{}, nil
	case opDeleteUpTo:
		return result{}, w.removeUpTo(r.upTo)
	case opNextSession:
		n := getU64(w.meta.Get(metaSession)) + 1
		return result{n: n}, w.meta.Put(metaSession, u64(n))
	case opSetMeta:
		if len(r.val) == 0 {
			return result{}, w.kv.Delete([]byte(r.key))
		}
		return result{}, w.kv.Put([]byte(r.key), r.val)
	case opPurge:
		return result{}, w.purge(r.purge)
	}
	return result{}, fmt.Errorf("unknown spool op %d", r.op)
}

func (w *txWriter) append(it *Item) (uint64, error) {
	cost := itemCost(it)
	if w.st.bytes+cost > w.q.opts.MaxBytes {
		if err := w.makeRoom(w.st.bytes + cost - w.q.opts.MaxBytes); err != nil {
			return 0, err
		}
	}
	seq, err := w.recs.NextSequence()
	if err != nil {
		return 0, err
	}
	k := seqKey(seq)
	if err := w.recs.Put(k, encodeRecord(it, w.now)); err != nil {
		return 0, err
	}
	if len(it.Blob) > 0 {
		if err := w.blobs.Put(k, it.Blob); err != nil {
			return 0, err
		}
	}
	if w.st.depth == 0 {
		w.st.oldest = seq
	}
	w.st.depth++
	w.st.bytes += cost
	w.st.lastSeq = seq
	return seq, nil
}

// makeRoom frees at least over budget bytes: the blobs of the oldest
// records first, then the oldest records.
func (w *txWriter) makeRoom(over int64) error {
	bc := w.blobs.Cursor()
	for over > 0 {
		k, v := bc.First()
		if k == nil {
			break
		}
		key := append([]byte{}, k...)
		n := int64(len(v))
		if err := bc.Delete(); err != nil {
			return err
		}
		if rv := w.recs.Get(key); rv != nil {
			if nv, ok := markBlobDropped(rv); ok {
				if err := w.recs.Put(key, nv); err != nil {
					return err
				}
			}
		}
		w.st.bytes -= n
		over -= n
		w.st.droppedBlobs++
		w.drop.Blobs++
		w.drop.Bytes += n
	}
	rc := w.recs.Cursor()
	for over > 0 {
		k, _ := rc.First()
		if k == nil {
			break
		}
		seq := keySeq(k)
		before := w.st.bytes
		if err := w.remove(seq, nil); err != nil {
			return err
		}
		n := before - w.st.bytes
		over -= n
		w.st.droppedRecords++
		w.drop.Records++
		w.drop.Bytes += n
		if w.drop.OldestSeqLost == 0 {
			w.drop.OldestSeqLost = seq
		}
		w.drop.NewestSeqLost = seq
	}
	return nil
}

// remove deletes record seq and its blob, if present. If v is non-nil it
// is the record's stored value.
func (w *txWriter) remove(seq uint64, v []byte) error {
	k := seqKey(seq)
	if v == nil {
		v = w.recs.Get(k)
	}
	if v == nil {
		return nil
	}
	n := int64(len(v))
	if err := w.recs.Delete(k); err != nil {
		return err
	}
	if bv := w.blobs.Get(k); bv != nil {
		n += int64(len(bv))
		if err := w.blobs.Delete(k); err != nil {
			return err
		}
	}
	w.st.depth--
	w.st.bytes -= n
	return nil
}

func (w *txWriter) removeUpTo(upTo uint64) error {
	c := w.recs.Cursor()
	for {
		k, v := c.First()
		if k == nil || keySeq(k) > upTo {
			break
		}
		n := int64(len(v))
		if err := c.Delete(); err != nil {
			return err
		}
		w.st.depth--
		w.st.bytes -= n
	}
	// Blobs without a record (there should be none) go too.
	bc := w.blobs.Cursor()
	for {
		k, v := bc.First()
		if k == nil || keySeq(k) > upTo {
			break
		}
		n := int64(len(v))
		if err := bc.Delete(); err != nil {
			return err
		}
		w.st.bytes -= n
	}
	return nil
}

// purge removes what Read found corrupt, after checking it still is.
func (w *txWriter) purge(bad map[uint64]bool) error {
	for seq, whole := range bad {
		k := seqKey(seq)
		v := w.recs.Get(k)
		if v == nil {
			continue
		}
		sr, err := decodeRecord(v)
		if whole {
			if err == nil {
				continue
			}
			if err := w.remove(seq, v); err != nil {
				return err
			}
			w.st.corrupt++
			continue
		}
		if err != nil || sr.flags != flagBlob {
			continue
		}
		bv := w.blobs.Get(k)
		if bv != nil && checksum(bv) == sr.blobCRC {
			continue
		}
		if bv != nil {
			w.st.bytes -= int64(len(bv))
			if err := w.blobs.Delete(k); err != nil {
				return err
			}
		}
		if nv, ok := markBlobDropped(v); ok {
			if err := w.recs.Put(k, nv); err != nil {
				return err
			}
		}
		w.st.corrupt++
	}
	return nil
}

// finish persists the counters that changed and refreshes the oldest seq.
func (w *txWriter) finish() error {
	old := &w.q.st
	for _, c := range []struct {
		key      []byte
		old, new uint64
	}{
		{metaDroppedBlobs, old.droppedBlobs, w.st.droppedBlobs},
		{metaDroppedRecords, old.droppedRecords, w.st.droppedRecords},
		{metaCorrupt, old.corrupt, w.st.corrupt},
	} {
		if c.old != c.new {
			if err := w.meta.Put(c.key, u64(c.new)); err != nil {
				return err
			}
		}
	}
	w.st.oldest = 0
	if k, _ := w.recs.Cursor().First(); k != nil {
		w.st.oldest = keySeq(k)
	}
	return nil
}

// maybeAutoCompact compacts when the file is mostly free space and the
// live data is small enough to copy quickly.
func (q *Queue) maybeAutoCompact() {
	st := &q.st
	if q.db == nil || q.opts.CompactMinBytes < 0 || st.fileBytes < q.opts.CompactMinBytes ||
		st.bytes*4 >= st.fileBytes || st.bytes > autoCompactMaxLive {
		return
	}
	if !q.lastAuto.IsZero() && time.Since(q.lastAuto) < autoCompactEvery {
		return
	}
	q.lastAuto = time.Now()
	before := st.fileBytes
	if err := q.compact(); err != nil {
		q.log.Error("spool compaction failed", "err", err)
		return
	}
	q.log.Info("spool compacted", "file_bytes_before", before, "file_bytes_after", q.st.fileBytes, "live_bytes", q.st.bytes)
}

// compact copies the live data into a temp file, syncs it, renames it over
// the spool file and reopens. The rename is the commit point: a crash
// before it leaves the old file (and a temp file Open removes), a crash
// after it leaves the new, complete file. Only the writer calls it.
func (q *Queue) compact() error {
	if q.db == nil {
		if q.broken != nil {
			return q.broken
		}
		return ErrClosed
	}
	tmp := q.tmpPath()
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old temp file: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{
		Timeout:        openTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		NoSync:         true, // one explicit sync at the end
	})
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	if err := bolt.Compact(dst, q.db, compactTxMax); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("copy: %w", err)
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("sync temp file: %w", err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("close temp file: %w", err)
	}
	if testHookCompact != nil {
		testHookCompact("copied")
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.db.Close(); err != nil {
		q.db = nil
		return q.reopenLocked(fmt.Errorf("close spool file: %w", err))
	}
	q.db = nil
	if err := os.Rename(tmp, q.opts.Path); err != nil {
		_ = os.Remove(tmp)
		return q.reopenLocked(fmt.Errorf("rename temp file: %w", err))
	}
	if err := atomicfile.SyncDir(filepath.Dir(q.opts.Path)); err != nil {
		// The rename may not be durable yet, but both files are complete;
		// keep going with the new one.
		q.log.Warn("spool compaction: sync directory", "err", err)
	}
	if testHookCompact != nil {
		testHookCompact("renamed")
	}
	if err := q.reopenLocked(nil); err != nil {
		return err
	}
	q.st.fileBytes = q.fileSize()
	q.st.compactions++
	q.publish()
	return nil
}

// reopenLocked reopens the spool file after a compaction step and returns
// cause (nil on the success path). If reopening fails the queue is broken:
// every later call returns the error. q.mu must be held.
func (q *Queue) reopenLocked(cause error) error {
	db, err := q.openDB()
	if err != nil {
		q.broken = fmt.Errorf("reopen spool after compaction: %w", err)
		q.log.Error("spool unusable", "err", q.broken)
		return errors.Join(cause, q.broken)
	}
	q.db = db
	return cause
}
