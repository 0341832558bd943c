// Package callback tells the website what happened to its members: the
// executor of the outbox's callback actions (models.ActionCallback).
//
// The store queues a callback in the same transaction as the change it
// reports (a member linked or unlinked, joined or left a gated chat, was
// warned or removed), so none is lost and none is made up. A Sender POSTs
// each as JSON to KARMAGATE_CALLBACK_URL, signed with HMAC-SHA256 under
// KARMAGATE_CALLBACK_SECRET over the timestamp and the body:
//
//	X-Karmagate-Timestamp: 1764064800
//	X-Karmagate-Signature: sha256=hex(HMAC-SHA256(secret, "1764064800" + "." + body))
//	X-Karmagate-Event: the event id, the same on every delivery of one event
//
// Any 2xx answer delivers it; anything else (an error, a timeout, a
// redirect, another status) is tried again with a growing wait, for up to
// Options.Window, then parked as failed. Delivery is at least once: the
// website drops an event id it has seen, and an event whose seq is below
// the last it applied for that member. Verify is the check the website
// makes, in Go.
package callback
