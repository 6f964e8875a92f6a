// Package push holds the fleet's instant push: the channels alarms are
// pushed to, the users' subscriptions to them, the outbox of deliveries
// and the adapters that speak each channel's protocol. fleet/notify's
// Pusher runs it: it reads the alarms and notices as they are committed,
// works out who is subscribed, queues one outbox row per item and
// destination, and sends them.
//
// # Channels
//
// A channel is one place a message goes (channel.go), of a Kind:
//
//   - KindWeCom, a 企业微信 group robot: POST {base}/cgi-bin/webhook/send?key=KEY
//     with {"msgtype":"markdown","markdown":{"content":…}} (or "text" with
//     {"text":{"content":…}}); the reply {"errcode":0,"errmsg":"ok"} is a
//     success, any other errcode a failure to retry. Base defaults to
//     https://qyapi.weixin.qq.com.
//   - KindDingTalk, a 钉钉 group robot: POST {base}/robot/send?access_token=T
//     with {"msgtype":"markdown","markdown":{"title":…,"text":…}} (or
//     "text"); with a signing secret, &timestamp=<ms>&sign=<s> where s is
//     the URL-encoded base64 of HMAC-SHA256(secret, "<ms>\n<secret>")
//     (DingTalkSign). The reply's errcode is checked as for 企业微信. Base
//     defaults to https://oapi.dingtalk.com.
//   - KindSMS, an SMS gateway described by an HTTP template: method, URL,
//     headers and body with placeholders ({{phone}}, {{title}}, {{text}},
//     {{canteen}}, {{type}}, {{severity}}), each value escaped for where it
//     stands (query, JSON string, form), and a success check (the status,
//     and optionally a string the reply must contain). The phone is the
//     subscriber's.
//   - KindWebhook, the fleet's signed webhook: the Item as JSON with
//     X-BK-Timestamp, X-BK-Signature (Sign) and X-BK-Delivery.
//
// A channel belongs to a scope: ScopeAll (an admin's, for any item),
// ScopeCanteen (a canteen's shared group: that canteen's items only),
// ScopeDistrict (a district's: its canteens' items) or ScopeUser (a
// user's own robot: what that user subscribes to). Its secrets (a key, a
// token, a signing secret, header values, the webhook secret) are stored
// to be used and never shown back: Channel.Redacted is what the API
// returns and the audit log records.
//
// # Subscriptions and who gets what
//
// A user gets nothing unless subscribed. A subscription ties a user to a
// channel they may see, with filters: item kinds (ItemAlarm, ItemOffline,
// ItemDueSoon, ItemWorkflow, ItemGateway; none means all), violation types
// (none means all) and a lowest severity. An item (an alarm or a notice of
// a canteen) goes to the subscriptions of the users in its scope (the
// canteen's operators, the regulators of its district or of the whole
// city, the admins) whose filters it passes and whose channel's scope
// holds it. Several users on one shared channel make one delivery.
//
// # The outbox
//
// One row per item and destination (channel, and for SMS the phone),
// unique on (item_key, channel_id, recipient): an item is queued once per
// destination however many fleets see it or how often one restarts. A
// fleet claims a due row with a lease (LeaseTTL) before sending it, so two
// fleets never send one row at once; a failure is retried with capped
// exponential backoff until MaxTries. Delivery is at least once: a fleet
// that dies between the robot's answer and recording it leaves the row to
// be sent again when the lease ends.
package push
