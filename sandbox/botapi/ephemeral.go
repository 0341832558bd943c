package botapi

import (
	"encoding/json"
	"fmt"
	"math"
)

// ephemeralReceiver reads ephemeral_message_parameters (Bot API 10.3's
// EphemeralMessageParameters; 10.2 had receiver_user_id and
// callback_query_id as parameters of their own): the person the message
// is for, 0 when the parameter is absent. The fields are checked as
// telegram-bot-api checks an object's fields; callback_query_id and
// replace_callback_query_message are accepted and not acted on (the
// sandbox's inline keyboards answer through the control API only).
func ephemeralReceiver(raw string) (int64, error) {
	if raw == "" {
		return 0, nil
	}
	fail := func(msg string) error { return badRequest("can't parse EphemeralMessageParameters: " + msg) }
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return 0, badRequest("can't parse EphemeralMessageParameters JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return 0, fail("EphemeralMessageParameters must be an Object")
	}
	if q, present := obj["callback_query_id"]; present {
		if _, ok := q.(string); !ok {
			return 0, fail(`Field "callback_query_id" must be of type String`)
		}
	}
	if r, present := obj["replace_callback_query_message"]; present {
		if _, ok := r.(bool); !ok {
			return 0, fail(`Field "replace_callback_query_message" must be of type Boolean`)
		}
	}
	id, present := obj["receiver_user_id"]
	if !present {
		return 0, fail(`Can't find field "receiver_user_id"`)
	}
	f, ok := id.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fail(`Field "receiver_user_id" must be of type Integer`)
	}
	if f <= 0 {
		return 0, badRequest(fmt.Sprintf("invalid receiver_user_id specified: %d", int64(f)))
	}
	return int64(f), nil
}
