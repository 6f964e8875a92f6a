// Package ingest is the fleet's MQTT consumer: it subscribes (at an
// external broker with shared subscriptions, so fleet replicas split the
// load; at the embedded broker in process, see [Consumer.InProcess]) to
// every gateway's topics, validates each payload against the device contract, commits events
// and camera statuses to the store in batches, and only then acknowledges
// them to the gateway with an application-level ack. Ingest is idempotent by
// (gateway_id, event_id): a replay is acknowledged again but stored once.
//
// One gateway cannot hurt the others. Everything is bounded per gateway:
//
//   - Messages wait in a queue of their gateway's own (at most
//     [Consumer.QueueMax] messages and [Consumer.QueueBytes] bytes); the MQTT
//     client hands each message over without blocking and without a
//     goroutine of its own, and a message that finds its gateway's queue
//     full is dropped and counted (reason "overload"). Nothing dropped was
//     acknowledged, so the gateway sends it again.
//   - One batcher takes the queues round-robin, one message per gateway in
//     turn, so a flooding gateway gets its share of each batch and no more.
//   - Snapshots that wait for their event, and events that wait for their
//     snapshot, are kept per gateway ([Consumer.PendingMax],
//     [Consumer.PendingBytes]); when a gateway has too many, its own oldest
//     go, never another gateway's.
//   - Snapshot bytes stored per gateway and UTC day are capped by
//     [Consumer.SnapshotQuota]; over it, an event is stored (and acked)
//     without its snapshot, marked snapshot_dropped, and counted (reason
//     "over_quota").
//
// Acks still follow commits only: a record is acked after the batch that
// holds it is committed.
//
// Spool epochs: records carry their spool's epoch; the store keeps a new
// spool's seqs and sessions apart from the old one's (see registry.Registry.Ingest and
// registry.Registry.GatewayState), and acks name the epoch they are for.
//
// Desired config: when a gateway comes online (state) or sends a heartbeat
// while its reported config version is behind the stored desired one, the
// consumer publishes the stored desired config again (retained), so a config
// set while the gateway was offline survives a fleet restart (the embedded
// broker keeps retained messages in memory only). On heartbeats this is done
// at most once per [Consumer.ConfigResend].
package ingest
