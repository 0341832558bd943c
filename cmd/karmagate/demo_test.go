package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo plays `karmagate demo --exit`: every step must do what it
// should, and it must say so.
func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(testContext(t), []string{"demo", "--exit", "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"Every step did what it should", "declined, and told why", "the bot removes him", "member (in)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's story lacks %q:\n%s", want, out.String())
		}
	}
}
