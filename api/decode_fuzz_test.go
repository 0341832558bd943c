package api

import (
	"net/url"
	"testing"

	"github.com/karmagate/karmagate/models"
)

// FuzzMemberBody feeds arbitrary bodies to the JSON and form decoders: each
// must give a member or a clear error, never panic, and what it accepts must
// normalize or be refused with a field.
func FuzzMemberBody(f *testing.F) {
	f.Add(`{"karma": 150, "groups": ["webmasters"], "name": "Alice"}`)
	f.Add(`{"karma": "-12", "groups": "a,b", "phone": "+14155550123"}`)
	f.Add(`{"karma": 1e3}`)
	f.Add(`karma=5&groups[]=a&groups[]=b&username=@alice_tg`)
	f.Add(`{"karma": 9223372036854775807, "groups": null, "id": "x", "_links": {}}`)
	f.Fuzz(func(t *testing.T, body string) {
		check := func(in *models.MemberInput, err error) {
			if err != nil {
				if _, ok := err.(*Problem); ok {
					return
				}
				if _, ok := err.(*models.InputError); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				return
			}
			if err := in.Normalize(nil); err != nil {
				if ie, ok := err.(*models.InputError); !ok || ie.Field == "" {
					t.Fatalf("normalize error without a field: %v", err)
				}
			}
		}
		in := models.MemberInput{ID: "fuzz"}
		obj, err := jsonObject([]byte(body))
		if err == nil {
			err = memberFromJSON(obj, &in)
		}
		check(&in, err)
		if form, perr := url.ParseQuery(body); perr == nil {
			in := models.MemberInput{ID: "fuzz"}
			check(&in, memberFromForm(form, &in))
		}
	})
}
