package uplink

import "time"

// Record is one spooled record as the uplink reads it from its [Outbox].
type Record struct {
	// Seq is the outbox's sequence number: unique, only growing.
	Seq uint64
	// Kind is wire.KindEvent or wire.KindCameraStatus; records of any other
	// kind cannot be sent and are removed (counted in Stats.Rejected).
	Kind string
	// Payload is the JSON of a wire.Event or wire.CameraStatus, without seq
	// and historical: the uplink sets both when it publishes.
	Payload []byte
	// Blob is the event's JPEG snapshot, nil when it has none.
	Blob []byte
	// BlobDropped is true when the outbox dropped the snapshot to stay
	// within its budget; the event is then sent with snapshot_dropped.
	BlobDropped bool
	// At is when the record was appended.
	At time.Time
}

// Outbox is the durable queue the uplink drains: the gateway's spool, or a
// fake in tests. Its methods are called from several goroutines.
type Outbox interface {
	// Read returns up to max records with Seq > after, in ascending seq order.
	Read(after uint64, max int) ([]Record, error)
	// Delete removes the named records; seqs not present are ignored.
	Delete(seqs ...uint64) error
	// DeleteUpTo removes every record with Seq <= seq.
	DeleteUpTo(seq uint64) error
	// Notify returns a channel that receives (or is closed) after an append.
	// The uplink calls it before each Read, so either style works.
	Notify() <-chan struct{}
	// NextSession bumps and returns the persistent session counter. It is
	// called once per connection attempt; the first value must be >= 1.
	NextSession() (uint64, error)
}

// LastSeqer is implemented by an Outbox that can tell the highest seq it
// ever assigned. The uplink uses it at each connect to mark the records
// already there as historical (seq <= LastSeq). Without it, a record is
// historical when its At is before the moment the connection was
// established, which a wall-clock step can get wrong.
type LastSeqer interface {
	LastSeq() (uint64, error)
}

// Epocher is implemented by an Outbox that names its epoch: an id made when
// the outbox was created (for the spool, its file), under which seqs and
// sessions are unique. A new outbox (new SD card, deleted spool) starts seqs
// and sessions at 1 again under a new epoch; the uplink sends the epoch with
// every state, heartbeat, event and camera status so the fleet can tell the
// new numbers from the old ones, and ignores acks for another epoch.
type Epocher interface {
	Epoch() string
}
