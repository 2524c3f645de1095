// Package notify delivers envpipe's alerts to the people on call: to
// Alertmanager (which routes, groups, inhibits and repeats them), to any
// HTTP endpoint as an Alertmanager-style webhook payload (HMAC-signed),
// and to WeCom (企业微信) and DingTalk (钉钉) group robots as markdown
// messages in Chinese or English.
//
// Every receiver is an alert.Notifier. Build creates the receivers of the
// `notify` section of envpipe.yaml behind a Multi, which fans a
// notification out to all of them and reports each receiver's failure.
//
// Delivery: each notification is one HTTP POST series. Network errors,
// 408, 429 and 5xx answers, and a robot's rate-limit error codes are
// retried with exponential back-off and jitter (Retry-After honoured), up
// to max_attempts and within the caller's context; any other 4xx answer or
// robot error code is final. A failure is logged once, after the last
// attempt. Logs and errors never carry a secret: URLs lose their query
// values (robot keys, tokens, signatures) and userinfo, and every known
// secret is scrubbed from error texts.
//
// Repetition: the rule engine re-sends firing alerts about every minute to
// the notifiers that implement alert.Resender and say so, because
// Alertmanager keeps alerts in memory only. Alertmanager receives every
// re-send. Webhooks and robots hear of an alert once when it starts firing
// and once when it ends; with a repeat_interval they also take the
// re-sends, and their gate turns them into a reminder every
// repeat_interval (see Gate). What a gate has told is its receiver's
// memory (alert.Teller), which the rule engine keeps in its state file:
// a restart pages nobody again for what was told.
//
// Metrics (Options.Metrics, see NewMetrics):
//
//	envpipe_notifications_total{receiver, result}   success | failure | retry | suppressed
//	envpipe_notification_duration_seconds{receiver} hand-over to delivery or giving up
package notify
