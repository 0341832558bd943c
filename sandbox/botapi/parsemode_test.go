package botapi

import (
	"slices"
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

func TestFormatText(t *testing.T) {
	tests := []struct {
		name, mode, in string
		text           string
		entities       []world.Entity
		err            string
	}{
		{name: "plain", in: "a < b", text: "a < b"},
		{name: "HTML bold and link", mode: "HTML", in: `Hi <b>Alice</b>, join <a href="https://t.me/+abc">here</a> &amp; enjoy`,
			text: "Hi Alice, join here & enjoy", entities: []world.Entity{{Type: "bold", Offset: 3, Length: 5}, {Type: "text_link", Offset: 15, Length: 4, URL: "https://t.me/+abc"}}},
		{name: "HTML offsets in UTF-16", mode: "HTML", in: "😀 <i>é</i>", text: "😀 é", entities: []world.Entity{{Type: "italic", Offset: 3, Length: 1}}},
		{name: "HTML nested", mode: "html", in: "<b>a<i>b</i></b>", text: "ab", entities: []world.Entity{{Type: "bold", Offset: 0, Length: 2}, {Type: "italic", Offset: 1, Length: 1}}},
		{name: "HTML unsupported tag", mode: "HTML", in: "karma <100>", err: `Bad Request: can't parse entities: Unsupported start tag "100" at byte offset 6`},
		{name: "HTML unclosed", mode: "HTML", in: "<b>bold", err: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "HTML mismatched", mode: "HTML", in: "<b><i>x</b></i>", err: `Bad Request: can't parse entities: Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{name: "MarkdownV2", mode: "MarkdownV2", in: `*Welcome*, _Alice_\! Karma: 150\.`, text: "Welcome, Alice! Karma: 150.",
			entities: []world.Entity{{Type: "bold", Offset: 0, Length: 7}, {Type: "italic", Offset: 9, Length: 5}}},
		{name: "MarkdownV2 link", mode: "MarkdownV2", in: `[join](https://t.me/+abc)`, text: "join", entities: []world.Entity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://t.me/+abc"}}},
		{name: "MarkdownV2 unescaped dot", mode: "MarkdownV2", in: "Karma: 150.", err: `Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\'`},
		{name: "MarkdownV2 unescaped minus", mode: "MarkdownV2", in: "karma -2", err: `Bad Request: can't parse entities: Character '-' is reserved and must be escaped with the preceding '\'`},
		{name: "MarkdownV2 unclosed bold", mode: "MarkdownV2", in: "*bold", err: `Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0`},
		{name: "MarkdownV2 code keeps specials", mode: "MarkdownV2", in: "`a.b-c`", text: "a.b-c", entities: []world.Entity{{Type: "code", Offset: 0, Length: 5}}},
		{name: "Markdown", mode: "Markdown", in: "*hi* there.", text: "hi there.", entities: []world.Entity{{Type: "bold", Offset: 0, Length: 2}}},
		{name: "Markdown unclosed", mode: "Markdown", in: "snake_case", err: `Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 5`},
		{name: "unknown mode", mode: "BBCode", in: "x", err: "Bad Request: unsupported parse_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, entities, err := formatText(tt.in, tt.mode)
			if tt.err != "" {
				if err == nil || errorDescription(err) != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.text || !slices.Equal(entities, tt.entities) {
				t.Errorf("got %q %+v, want %q %+v", text, entities, tt.text, tt.entities)
			}
		})
	}
}
