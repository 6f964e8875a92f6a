// Package notify runs the alarm workflow's background duties for the
// fleet: it raises the notices of alarms whose rectification is overdue
// (alarms.Alarms.FlagOverdue) and the gateway-level alarms (a gateway
// offline past its grace, its disk nearly full, its board too hot:
// alarms.Alarms.FlagGateways), and delivers the notices queued for the webhook
// (alarms.Alarms.PendingWebhooks) as signed JSON POSTs, retrying failed deliveries
// with capped exponential backoff.
//
// Its Pusher (pusher.go) runs the instant push of fleet/push: it reads the
// alarms and notices committed after its cursors (every second, and at
// once when ingest commits events), raises the due-soon notices
// (alarms.FlagDueSoon), routes each item to the subscriptions of the users
// in its scope (the canteen's operators, the district's regulators, the
// admins) through the channels whose scope holds it, queues one outbox row
// per destination and sends the rows due with the same capped backoff. It
// joins three domains (alarms, auth, push), which import none of each
// other.
//
// Delivery is at least once: a receiver drops a repeated X-BK-Delivery
// (the notice id). With a secret, X-BK-Timestamp is the time of sending
// (Unix seconds) and X-BK-Signature is "sha256=" and the hex HMAC-SHA256,
// under the secret, of the timestamp, a '.' and the body. A receiver
// (Verify does it) recomputes the signature over the raw body, compares it
// in constant time, and refuses a timestamp more than 5 minutes
// (DefaultReplayWindow) from its clock, so that a captured delivery cannot
// be replayed later; within the window it drops a repeated X-BK-Delivery.
package notify
