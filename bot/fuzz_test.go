package bot

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeUpdate: any bytes decode to an update or an error, never a
// panic; a decoded update has a positive id and a kind, and its lane never
// panics either.
func FuzzDecodeUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"text":"/start abc"}}`,
		`{"update_id":2,"chat_join_request":{"chat":{"id":-1001,"type":"supergroup"},"from":{"id":5,"is_bot":false,"first_name":"A"},"user_chat_id":5,"date":1,"query_id":"q1"}}`,
		`{"update_id":3,"chat_member":{"chat":{"id":-1001,"type":"supergroup"},"from":{"id":5,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"left","user":{"id":6,"is_bot":false,"first_name":"B"}},"new_chat_member":{"status":"member","user":{"id":6,"is_bot":false,"first_name":"B"}}}}`,
		`{"update_id":4,"my_chat_member":{"chat":{"id":-1001,"type":"supergroup"},"from":{"id":5,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"left","user":{"id":9,"is_bot":true,"first_name":"K"}},"new_chat_member":{"status":"administrator","can_manage_tags":true,"user":{"id":9,"is_bot":true,"first_name":"K"}}}}`,
		`{"update_id":5,"callback_query":{"id":"c","from":{"id":5,"is_bot":false,"first_name":"A"},"chat_instance":"x","data":"bind:-1001:0"}}`,
		`{"update_id":6,"chat_member":{"new_chat_member":{"status":"kicked"}}}`,
		`{"update_id":7,"chat_member":{"new_chat_member":{"status":"wizard"}}}`,
		`{}`, `[]`, `null`, `{"update_id":"1"}`, `{"update_id":-1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := decodeUpdate(raw)
		if err != nil {
			if u != nil {
				t.Fatal("an error with an update")
			}
			return
		}
		if u.ID <= 0 {
			t.Fatalf("decoded update_id %d", u.ID)
		}
		_ = u.lane()
		if u.kind() == "" {
			t.Fatal("no kind")
		}
		st, err := storable(raw)
		if err != nil || st.UpdateID != u.ID || !json.Valid([]byte(st.Payload)) || !bytes.Equal([]byte(st.Payload), raw) {
			t.Fatalf("storable disagrees with decodeUpdate: %+v, %v", st, err)
		}
	})
}
