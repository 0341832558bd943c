package main

import (
	"strings"
	"testing"
)

// TestConfig_PhoneImport: KARMAGATE_PHONE_IMPORT is off unless set, and a
// value that is not a boolean is refused by name.
func TestConfig_PhoneImport(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
		err  string
	}{
		{"", false, ""}, {"true", true, ""}, {"yes", true, ""},
		{"false", false, ""}, {"perhaps", false, `KARMAGATE_PHONE_IMPORT "perhaps" is not true or false`},
	} {
		t.Run(tc.v, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv("KARMAGATE_PHONE_IMPORT", tc.v))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if c.PhoneImport != tc.want {
				t.Errorf("PhoneImport = %v, want %v", c.PhoneImport, tc.want)
			}
		})
	}
}
