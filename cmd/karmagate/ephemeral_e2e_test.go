package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestE2E_KarmaOnlyTheAskerSees (issue 18, part 3) through the binary:
// a member sends /karma in the gated group; serve answers with an
// ephemeral message, which the sandbox shows to her (her messages, her
// view of the group) and to nobody else (the owner's views, the group's).
func TestE2E_KarmaOnlyTheAskerSees(t *testing.T) {
	e := newE2E(t, false)
	e.serve()
	chat, person := e.story("kim")
	var owner int64
	for id, st := range e.members(chat) {
		if st == "creator" {
			owner = id
		}
	}
	if owner == 0 {
		t.Fatalf("no creator among %v", e.members(chat))
	}
	groupView := func(as int64) []string {
		var list []struct {
			From int64  `json:"from"`
			Text string `json:"text"`
		}
		path := fmt.Sprintf("/sandbox/chats/%d/messages", chat)
		if as != 0 {
			path += fmt.Sprintf("?as=%d", as)
		}
		e.sandbox("GET", path, nil, &list)
		var out []string
		for _, m := range list {
			out = append(out, m.Text)
		}
		return out
	}
	e.say(person, chat, "/karma")
	var answer string
	e.eventually("kim's answer in the group, for her eyes", func() bool {
		for _, text := range groupView(person) {
			if strings.Contains(text, "your karma is 150") {
				answer = text
				return true
			}
		}
		return false
	})
	if !slices.Contains(e.received(person), answer) {
		t.Errorf("kim's messages lack the answer: %q", e.received(person))
	}
	for _, who := range []struct {
		name string
		id   int64
	}{{"the group", 0}, {"the owner", owner}} {
		if slices.Contains(groupView(who.id), answer) {
			t.Errorf("%s sees kim's standing", who.name)
		}
	}
	if slices.Contains(e.received(owner), answer) {
		t.Error("the owner received kim's standing")
	}
}
