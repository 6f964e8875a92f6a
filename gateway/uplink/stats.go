package uplink

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the uplink's counters since Start.
type Stats struct {
	// Connected is true while a connection is up and subscribed.
	Connected bool
	// Session is the session number of the current (or last) connection.
	Session uint64
	// Connects counts connections established; ConnectFailures counts
	// attempts that failed (dial, CONNACK, subscribe or state publish).
	Connects, ConnectFailures uint64
	// Published counts records sent for the first time by this process;
	// Resent counts records sent again (ack timeout or reconnect).
	Published, Resent uint64
	// Acked counts in-flight records acknowledged by the fleet; AckMessages
	// counts ack messages received.
	Acked, AckMessages uint64
	// Inflight is the number of records sent and not yet acknowledged.
	Inflight int
	// Rejected counts records removed from the outbox because they could
	// not be encoded (unknown kind, malformed payload).
	Rejected uint64
	// PublishErrors counts publishes that failed at once (not connected,
	// write timeout); those records are sent again after AckTimeout.
	PublishErrors uint64
	// Malformed counts inbound messages (ack, cmd, config/desired) that
	// failed to decode; they are ignored.
	Malformed uint64
	// Commands counts commands run; DuplicateCommands counts repeated
	// cmd_ids answered from memory; ExpiredCommands counts commands
	// answered failed because they had expired.
	Commands, DuplicateCommands, ExpiredCommands uint64
	// ConfigVersion is the last desired config version applied.
	ConfigVersion int64
	// LastAckLatency is the time from the (last) send of a record to the
	// fleet's ack of it, for the most recent ack.
	LastAckLatency time.Duration
	// Heartbeats counts heartbeats published.
	Heartbeats uint64
}

// counters are the atomics behind Stats.
type counters struct {
	connects, connectFailures atomic.Uint64
	published, resent         atomic.Uint64
	acked, ackMessages        atomic.Uint64
	rejected, publishErrors   atomic.Uint64
	malformed                 atomic.Uint64
	commands, duplicates      atomic.Uint64
	expired, heartbeats       atomic.Uint64
	lastAckLatency            atomic.Int64
}
