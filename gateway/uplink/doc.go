// Package uplink is the gateway's MQTT side of the device contract
// (SPEC.md §2): it keeps one connection to the broker, announces the
// gateway's state, sends heartbeats, drains the spool to the fleet, and
// answers the fleet's commands and desired config.
//
// A [Client] connects in the background and reconnects forever with a
// capped, jittered backoff; it runs its own reconnect loop (paho's
// auto-reconnect is off) so that every connection gets a fresh session
// number from the [Outbox] and a Last Will that carries it:
//
//	state  {online:true,  session:N}  retained, published after connect
//	state  {online:false, session:N}  retained, the Last Will of that connection
//
// The fleet ignores a Will whose session is older than the last online
// state it saw.
//
// # Delivery
//
// Records leave the outbox at least once and in seq order. One drain
// goroutine per connection reads the outbox after the highest seq already
// sent and publishes each record at QoS 1 without waiting for its PUBACK,
// keeping at most MaxInflight records unacknowledged by the fleet. An event
// with a snapshot is published as the JPEG on snapshot/{event_id} first,
// then the event. A record is deleted from the outbox only when the fleet's
// application-level ack names it, never on a PUBACK: a broker may
// acknowledge a message and still lose it. A record that is not acked
// within AckTimeout is sent again; after a reconnect every record still in
// the outbox is sent again from the oldest, marked historical, at no more
// than ReplayRate records per second. The fleet stores by (gateway_id,
// event_id), so a record sent twice is stored once.
//
// The MQTT client keeps its in-flight messages in memory only: durability
// is the outbox's job.
//
// # Commands and config
//
// A command is acknowledged "received", run through OnCommand in its own
// goroutine (a few at a time), then acknowledged "running" and "ok" or
// "failed". The last 1,000 command ids are remembered with their latest
// status: a repeated cmd_id is answered from memory and never run twice. A
// desired config is handed to OnConfig once per version; a version at or
// below the last applied one is reported applied again without re-applying.
//
// Importing this package routes paho's ERROR, CRITICAL and WARN loggers to
// the slog logger of the most recently started Client.
package uplink
