// Package spool is the gateway's durable outbox: records (violations,
// heartbeats, snapshots) waiting to be sent to the fleet over MQTT.
//
// A [Queue] keeps its records in one bbolt file. Every [Queue.Append] returns
// only after the transaction holding its records is fsync'd, so a record whose
// seq was returned survives a crash or kill -9 at any point. A record leaves
// the spool only when the fleet acknowledges it at the application level
// ([Queue.Delete], [Queue.DeleteUpTo]); an MQTT PUBACK is not enough.
//
// One writer goroutine owns every write. Concurrent Append calls are grouped
// into one transaction (group commit), which is what makes fsync'd appends
// cheap: one fsync per batch instead of one per record.
//
// Each record gets a seq, a per-spool number that only grows: seqs are never
// reused, even after every record is deleted and the spool reopened. The
// spool's [Queue.ID], a random string made when the file is created and kept
// through compactions, is its epoch: a new file (new SD card, deleted spool)
// starts seqs and the session counter at 1 again under a new ID. The uplink
// sends it as "epoch" with every record, state and heartbeat, so the fleet
// keys its de-duplication and session order by (gateway, epoch, seq). Seqs may
// have gaps (records acknowledged out of order, or dropped by the budget) but
// records are always read back in seq order.
//
// The spool is bounded by a byte budget ([Options.MaxBytes]). When an append
// would go over it, the spool first drops the blobs (snapshots) of the oldest
// records, keeping the records themselves and marking them BlobDropped, and
// then, if that is not enough, drops the oldest records. Appends are never
// refused for lack of room, only when a single item is larger than the whole
// budget ([ErrTooLarge]). Each drop is counted in [Stats] and reported on
// [Queue.Dropped].
//
// When the file is mostly free space after acknowledgements, the writer
// compacts it into a new file and renames that over the old one; a crash at
// any moment leaves either the old or the new file intact.
package spool
