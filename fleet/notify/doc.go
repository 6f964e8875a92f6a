// Package notify runs the alarm workflow's background duties for the
// fleet: it raises the notices of alarms whose rectification is overdue
// (store.FlagOverdue) and delivers the notices queued for the webhook
// (store.PendingWebhooks) as signed JSON POSTs, retrying failed deliveries
// with capped exponential backoff.
//
// Delivery is at least once: a receiver drops a repeated X-BK-Delivery
// (the notice id). With a secret, X-BK-Signature is "sha256=" and the
// hex HMAC-SHA256 of the body under it.
package notify
