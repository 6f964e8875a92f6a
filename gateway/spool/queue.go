package spool

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options configures a Queue. The zero value of every field except Path
// means its default.
type Options struct {
	// Path is the bbolt file. Required. Its directory is created if missing.
	Path string
	// MaxBytes is the byte budget: stored record bytes (kind, payload and a
	// 19-byte header per record) plus blob bytes. Default 256 MiB. bbolt's
	// own hard limit on the file (MaxSize) is set to 2*MaxBytes + 16 MiB.
	MaxBytes int64
	// BatchMax is how many records concurrent Append calls may group into
	// one transaction. Default 1024. A single Append call is always one
	// transaction, however many items it carries.
	BatchMax int
	// Logger receives the spool's few log lines. Default: discard.
	Logger *slog.Logger
	// CompactMinBytes is the file size from which automatic compaction is
	// considered (it also needs live bytes under a quarter of the file).
	// Default 32 MiB; negative disables automatic compaction (Compact still
	// works).
	CompactMinBytes int64
}

const (
	defaultMaxBytes        = 256 << 20
	defaultBatchMax        = 1024
	defaultCompactMinBytes = 32 << 20
	// autoCompactMaxLive bounds the live data an automatic compaction
	// copies (appends wait while it runs).
	autoCompactMaxLive = 64 << 20
	// autoCompactEvery rate-limits automatic compactions.
	autoCompactEvery = time.Minute
	// compactTxMax bounds the memory of one compaction transaction.
	compactTxMax = 16 << 20
	// maxMetaValue bounds a SetMeta value.
	maxMetaValue  = 64 << 10
	dropQueueLen  = 16
	openTimeout   = 5 * time.Second
	formatVersion = 1
)

var (
	bucketRecords = []byte("records")
	bucketBlobs   = []byte("blobs")
	bucketMeta    = []byte("meta") // the spool's own counters
	bucketKV      = []byte("kv")   // Meta / SetMeta

	metaFormat         = []byte("format")
	metaID             = []byte("id")
	metaSession        = []byte("session")
	metaDroppedBlobs   = []byte("dropped_blobs")
	metaDroppedRecords = []byte("dropped_records")
	metaCorrupt        = []byte("corrupt")
)

// Stats is a snapshot of the spool, kept in memory and consistent with the
// last committed transaction.
type Stats struct {
	// Depth is the number of records stored.
	Depth int
	// Bytes is what the records count against Options.MaxBytes.
	Bytes int64
	// LastSeq is the last seq ever assigned (0 before the first append);
	// it does not go down when records are deleted.
	LastSeq uint64
	// DroppedBlobs and DroppedRecords count what the byte budget dropped
	// over the life of the file (persisted).
	DroppedBlobs   uint64
	DroppedRecords uint64
	// FileBytes is the size of the bbolt file.
	FileBytes int64

	// OldestSeq is the seq of the oldest stored record, 0 when empty.
	OldestSeq uint64
	// CorruptRecords counts records (or blobs) found corrupt on Read and
	// removed, over the life of the file (persisted).
	CorruptRecords uint64
	// Compactions counts the compactions done since Open.
	Compactions uint64
}

// DropReport tells what one transaction had to drop to stay within the byte
// budget. Reports that could not be delivered (channel full) are merged into
// the next one, so the totals are exact.
type DropReport struct {
	Blobs   uint64 // blobs dropped, their records kept (BlobDropped)
	Records uint64 // records dropped entirely
	Bytes   int64  // budget bytes freed
	// OldestSeqLost and NewestSeqLost are the lowest and highest seq of the
	// records dropped entirely; 0 when only blobs were dropped.
	OldestSeqLost uint64
	NewestSeqLost uint64
}

func (r *DropReport) merge(o DropReport) {
	r.Blobs += o.Blobs
	r.Records += o.Records
	r.Bytes += o.Bytes
	if o.OldestSeqLost != 0 && (r.OldestSeqLost == 0 || o.OldestSeqLost < r.OldestSeqLost) {
		r.OldestSeqLost = o.OldestSeqLost
	}
	if o.NewestSeqLost > r.NewestSeqLost {
		r.NewestSeqLost = o.NewestSeqLost
	}
}

func (r *DropReport) empty() bool { return r.Blobs == 0 && r.Records == 0 }

// state is the in-memory mirror of the file. The writer goroutine owns
// Queue.st; Stats reads the copy published under statMu.
type state struct {
	depth          int
	bytes          int64
	lastSeq        uint64
	oldest         uint64
	droppedBlobs   uint64
	droppedRecords uint64
	corrupt        uint64
	fileBytes      int64
	compactions    uint64
	commits        uint64 // write transactions since Open (benchmarks)
}

// Queue is a durable, bounded, seq-ordered outbox in one bbolt file. Its
// methods are safe for concurrent use.
type Queue struct {
	opts    Options
	log     *slog.Logger
	maxSize int // bbolt MaxSize

	// mu guards db: readers hold it shared for the length of a read
	// transaction; the writer holds it exclusively only to swap the file
	// after a compaction, and Close to close it.
	mu     sync.RWMutex
	db     *bolt.DB
	closed bool
	broken error // set when the file could not be reopened after compaction

	statMu sync.Mutex
	pub    state

	st          state      // writer-owned
	pendingDrop DropReport // writer-owned: a report the channel had no room for
	lastAuto    time.Time  // writer-owned: last automatic compaction

	reqs       chan *request
	kick       chan struct{} // Read found corrupt records to purge
	done       chan struct{}
	writerDone chan struct{}
	id         string // random, made when the file is created
	closeOnce  sync.Once
	closeErr   error

	notify  chan struct{}
	dropped chan DropReport

	corruptMu sync.Mutex
	corruptQ  map[uint64]bool // seq -> whole record corrupt (false: only its blob)
}

// testHookCompact, when set, is called at the stages of a compaction
// ("copied": the new file is synced, the old one still in place;
// "renamed": the new file is in place, not yet reopened).
var testHookCompact func(stage string)

// Open opens (or creates) the spool at o.Path, rebuilds the in-memory
// stats by scanning it, removes a compaction temp file a crash may have
// left, and starts the writer.
func Open(o Options) (*Queue, error) {
	if o.Path == "" {
		return nil, errors.New("open spool: Options.Path is required")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.BatchMax <= 0 {
		o.BatchMax = defaultBatchMax
	}
	if o.CompactMinBytes == 0 {
		o.CompactMinBytes = defaultCompactMinBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	maxSize := int64(math.MaxInt)
	if o.MaxBytes < (math.MaxInt-(16<<20))/2 {
		maxSize = 2*o.MaxBytes + 16<<20
	}
	q := &Queue{
		opts:       o,
		log:        o.Logger,
		maxSize:    int(maxSize),
		reqs:       make(chan *request),
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		notify:     make(chan struct{}, 1),
		dropped:    make(chan DropReport, dropQueueLen),
		corruptQ:   make(map[uint64]bool),
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	// A compaction temp file is never the live file: the rename is the
	// commit point, so whatever is left under the temp name is garbage.
	if err := os.Remove(q.tmpPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open spool: remove stale compaction file: %w", err)
	}
	db, err := q.openDB()
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	q.db = db
	if err := q.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open spool: %w", err)
	}
	q.publish()
	go q.run()
	return q, nil
}

func (q *Queue) tmpPath() string { return q.opts.Path + ".compact" }

func (q *Queue) openDB() (*bolt.DB, error) {
	return bolt.Open(q.opts.Path, 0o600, &bolt.Options{
		Timeout:        openTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		MaxSize:        q.maxSize,
	})
}

// load creates the buckets if needed and rebuilds q.st by scanning.
func (q *Queue) load() error {
	var st state
	err := q.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketBlobs, bucketMeta, bucketKV} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaFormat); v == nil {
			if err := meta.Put(metaFormat, u64(formatVersion)); err != nil {
				return err
			}
		} else if f := getU64(v); f != formatVersion {
			return fmt.Errorf("unsupported spool format %d (want %d)", f, formatVersion)
		}
		if v := meta.Get(metaID); len(v) > 0 {
			q.id = string(v)
		} else {
			q.id = rand.Text()
			if err := meta.Put(metaID, []byte(q.id)); err != nil {
				return err
			}
		}
		st.droppedBlobs = getU64(meta.Get(metaDroppedBlobs))
		st.droppedRecords = getU64(meta.Get(metaDroppedRecords))
		st.corrupt = getU64(meta.Get(metaCorrupt))

		recs := tx.Bucket(bucketRecords)
		c := recs.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			st.depth++
			st.bytes += int64(len(v))
		}
		if k, _ := c.First(); k != nil {
			st.oldest = keySeq(k)
		}
		st.lastSeq = recs.Sequence()
		// Seqs must never be reused: the bucket sequence is the source of
		// truth, but never let it be behind a stored key.
		if k, _ := c.Last(); k != nil && keySeq(k) > st.lastSeq {
			st.lastSeq = keySeq(k)
			if err := recs.SetSequence(st.lastSeq); err != nil {
				return err
			}
		}
		bc := tx.Bucket(bucketBlobs).Cursor()
		for k, v := bc.First(); k != nil; k, v = bc.Next() {
			st.bytes += int64(len(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.fileBytes = q.fileSize()
	q.st = st
	return nil
}

func (q *Queue) fileSize() int64 {
	fi, err := os.Stat(q.opts.Path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (q *Queue) publish() {
	q.statMu.Lock()
	q.pub = q.st
	q.statMu.Unlock()
}

// Append stores items as one transaction and returns their seqs, in order,
// once that transaction is fsync'd. Concurrent calls are grouped into one
// transaction. If ctx ends before the writer takes the call, nothing is
// stored and ctx's error is returned; once taken, Append waits for the
// commit (a few milliseconds), so a nil error always means stored and an
// error always means not stored.
//
// Appends are not refused for lack of room: the oldest blobs, then the
// oldest records, are dropped instead (see DropReport). An item whose cost
// (kind + payload + blob + 19 bytes) exceeds Options.MaxBytes gives
// ErrTooLarge and nothing of the call is stored.
func (q *Queue) Append(ctx context.Context, items ...Item) ([]uint64, error) {
	if len(items) == 0 {
		return nil, nil
	}
	for i := range items {
		it := &items[i]
		if len(it.Kind) == 0 || len(it.Kind) > MaxKindLen {
			return nil, fmt.Errorf("append: item %d: kind must be 1 to %d bytes, got %d: %w", i, MaxKindLen, len(it.Kind), ErrInvalidItem)
		}
		if c := itemCost(it); c > q.opts.MaxBytes || int64(encodedLen(it)) > bolt.MaxValueSize || int64(len(it.Blob)) > bolt.MaxValueSize {
			return nil, fmt.Errorf("append: item %d (%s) costs %d bytes, budget %d: %w", i, it.Kind, c, q.opts.MaxBytes, ErrTooLarge)
		}
	}
	res := q.do(ctx, &request{op: opAppend, ctx: ctx, items: items})
	return res.seqs, res.err
}

// Read returns up to max records with Seq > after, in ascending seq order.
// The returned slices are copies the caller owns. A record whose stored
// bytes are corrupt is skipped, logged, counted in Stats.CorruptRecords and
// removed by the writer; a corrupt blob is returned as BlobDropped.
func (q *Queue) Read(after uint64, max int) ([]Record, error) {
	if max <= 0 || after == math.MaxUint64 {
		return nil, nil
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if err := q.usableLocked(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	out := make([]Record, 0, min(max, 256))
	var bad map[uint64]bool
	err := q.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bucketBlobs)
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			seq := keySeq(k)
			sr, err := decodeRecord(v)
			if err != nil {
				if bad == nil {
					bad = make(map[uint64]bool)
				}
				bad[seq] = true
				q.log.Error("spool record corrupt, removing it", "seq", seq, "err", err)
				continue
			}
			r := Record{
				Seq:         seq,
				Kind:        sr.kind,
				Payload:     append([]byte{}, sr.payload...),
				BlobDropped: sr.flags == flagBlobDropped,
				At:          time.Unix(0, sr.at),
			}
			if sr.flags == flagBlob {
				bv := blobs.Get(k)
				if bv == nil || checksum(bv) != sr.blobCRC {
					if bad == nil {
						bad = make(map[uint64]bool)
					}
					bad[seq] = false
					q.log.Error("spool blob corrupt, dropping it", "seq", seq, "blob_bytes", len(bv))
					r.BlobDropped = true
				} else {
					r.Blob = append([]byte{}, bv...)
				}
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(bad) > 0 {
		q.queueCorrupt(bad)
	}
	return out, nil
}

func (q *Queue) queueCorrupt(bad map[uint64]bool) {
	q.corruptMu.Lock()
	for seq, whole := range bad {
		q.corruptQ[seq] = whole || q.corruptQ[seq]
	}
	q.corruptMu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// usableLocked tells why the db cannot be used; q.mu must be held.
func (q *Queue) usableLocked() error {
	switch {
	case q.closed:
		return ErrClosed
	case q.db == nil && q.broken != nil:
		return q.broken
	case q.db == nil:
		return ErrClosed
	}
	return nil
}

// Oldest returns the seq of the oldest stored record; false when the spool
// is empty.
func (q *Queue) Oldest() (uint64, bool) {
	q.statMu.Lock()
	defer q.statMu.Unlock()
	return q.pub.oldest, q.pub.depth > 0
}

// Delete removes the records with the given seqs (the fleet acknowledged
// them), with their blobs. Unknown seqs are ignored. It returns once the
// deletion is fsync'd.
func (q *Queue) Delete(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return q.do(context.Background(), &request{op: opDelete, seqs: seqs}).err
}

// DeleteUpTo removes every record with Seq <= seq.
func (q *Queue) DeleteUpTo(seq uint64) error {
	if seq == 0 {
		return nil
	}
	return q.do(context.Background(), &request{op: opDeleteUpTo, upTo: seq}).err
}

// Stats returns the in-memory stats; it does no I/O.
func (q *Queue) Stats() Stats {
	q.statMu.Lock()
	s := q.pub
	q.statMu.Unlock()
	return Stats{
		Depth:          s.depth,
		Bytes:          s.bytes,
		LastSeq:        s.lastSeq,
		DroppedBlobs:   s.droppedBlobs,
		DroppedRecords: s.droppedRecords,
		FileBytes:      s.fileBytes,
		OldestSeq:      s.oldest,
		CorruptRecords: s.corrupt,
		Compactions:    s.compactions,
	}
}

// ID returns the spool's identity: a random string made when the file was
// created and kept for its life (compactions included). Seqs are unique
// only within one ID: if the file is lost and recreated, seqs start again
// at 1 under a new ID, so a receiver deduplicating by seq must key on
// (ID, seq).
func (q *Queue) ID() string { return q.id }

// Notify returns a channel (capacity 1) signalled after each successful
// Append. Signals coalesce: after a receive, Read until empty.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

// Dropped returns a channel of budget drop reports (capacity 16). Reports
// the channel had no room for are merged into the next one delivered.
func (q *Queue) Dropped() <-chan DropReport { return q.dropped }

// NextSession bumps the persistent session counter and returns its new
// value (1 on the first call ever), after an fsync.
func (q *Queue) NextSession() (uint64, error) {
	res := q.do(context.Background(), &request{op: opNextSession})
	return res.n, res.err
}

// Meta returns the value stored under key by SetMeta, nil if none.
func (q *Queue) Meta(key string) ([]byte, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if err := q.usableLocked(); err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	var out []byte
	err := q.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketKV).Get([]byte(key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	return out, nil
}

// SetMeta stores a small value (at most 64 KiB) under key, fsync'd. An
// empty val deletes the key.
func (q *Queue) SetMeta(key string, val []byte) error {
	if key == "" || len(key) > bolt.MaxKeySize {
		return fmt.Errorf("set meta: key must be 1 to %d bytes", bolt.MaxKeySize)
	}
	if len(val) > maxMetaValue {
		return fmt.Errorf("set meta %q: value of %d bytes over %d: %w", key, len(val), maxMetaValue, ErrTooLarge)
	}
	return q.do(context.Background(), &request{op: opSetMeta, key: key, val: append([]byte{}, val...)}).err
}

// Compact rewrites the spool into a fresh file now, whatever its state.
// Appends wait while it runs. The writer also compacts on its own when the
// file is mostly free (see Options.CompactMinBytes).
func (q *Queue) Compact() error {
	return q.do(context.Background(), &request{op: opCompact}).err
}

// Close stops the writer (calls already taken complete, later ones get
// ErrClosed), waits for it and closes the file. It is idempotent.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		close(q.done)
		<-q.writerDone
		q.mu.Lock()
		defer q.mu.Unlock()
		q.closed = true
		if q.db != nil {
			if err := q.db.Close(); err != nil {
				q.closeErr = fmt.Errorf("close spool: %w", err)
			}
			q.db = nil
		}
	})
	return q.closeErr
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
