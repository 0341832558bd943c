package bot

import (
	"strings"
	"testing"
)

func TestTexts(t *testing.T) {
	t.Run("language by the primary subtag, English otherwise", func(t *testing.T) {
		tx, err := newTexts(nil)
		if err != nil {
			t.Fatal(err)
		}
		d := textData{Chat: "Pro", Link: "https://t.me/+x"}
		for lang, want := range map[string]string{"ru": "Вступить", "ru-RU": "Вступить", "en": "Join here", "de": "Join here", "": "Join here"} {
			if got := tx.render(msgAccessGained, lang, d); !strings.Contains(got, want) {
				t.Errorf("%q: %q, want %q", lang, got, want)
			}
		}
	})
	t.Run("overrides", func(t *testing.T) {
		tx, err := newTexts(map[string]map[string]string{msgAccessGained: {"en": "In you go: {{.Link}}", "de": "Hinein: {{.Link}}"}})
		if err != nil {
			t.Fatal(err)
		}
		d := textData{Link: "L"}
		if got := tx.render(msgAccessGained, "de-AT", d); got != "Hinein: L" {
			t.Errorf("de: %q", got)
		}
		if got := tx.render(msgAccessGained, "en", d); got != "In you go: L" {
			t.Errorf("en: %q", got)
		}
		if got := tx.render(msgAccessGained, "ru", d); !strings.Contains(got, "Вступить") {
			t.Errorf("ru keeps the built-in: %q", got)
		}
	})
	for _, tc := range []struct {
		name string
		o    map[string]map[string]string
		want string
	}{
		{"unknown key", map[string]map[string]string{"acces_gained": {"en": "x"}}, "unknown message \"acces_gained\""},
		{"bad template", map[string]map[string]string{msgAccessGained: {"en": "{{.Link"}}, "access_gained (en)"},
		{"unknown field", map[string]map[string]string{msgAccessGained: {"en": "{{.Karmaa}}"}}, "access_gained (en)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newTexts(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
