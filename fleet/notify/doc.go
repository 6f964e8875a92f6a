// Package notify runs the alarm workflow's background duties for the
// fleet: it raises the notices of alarms whose rectification is overdue
// (alarms.Alarms.FlagOverdue) and the gateway-level alarms (a gateway
// offline past its grace, its disk nearly full, its board too hot:
// alarms.Alarms.FlagGateways), and delivers the notices queued for the webhook
// (alarms.Alarms.PendingWebhooks) as signed JSON POSTs, retrying failed deliveries
// with capped exponential backoff.
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
