package botapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// reply_markup, checked as telegram-bot-api and TDLib check it, with their
// error texts.

// markupKind is what a reply_markup turns out to be.
type markupKind int

const (
	markupNone markupKind = iota
	markupKeyboard
	markupInline
	markupRemove
	markupForceReply
)

// checkReplyMarkup validates raw for a chat (private or a group) and
// returns it normalised to the one markup Telegram keeps (a reply keyboard
// wins over an inline one, as in telegram-bot-api), "" when it holds none.
// inlineOnly is for the edit methods, which take an inline keyboard only.
func checkReplyMarkup(raw string, private, inlineOnly bool) (string, markupKind, error) {
	if strings.TrimSpace(raw) == "" {
		return "", markupNone, nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", markupNone, badRequest("can't parse reply keyboard markup JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", markupNone, badRequest("object expected as reply markup")
	}
	rows, err := buttonRows(obj, "keyboard", `field "keyboard" must be an Array of Arrays`)
	if err != nil {
		return "", markupNone, err
	}
	for _, row := range rows {
		for _, b := range row {
			if err := checkKeyboardButton(b, private); err != nil {
				return "", markupNone, err
			}
		}
	}
	inline, err := buttonRows(obj, "inline_keyboard", `field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays`)
	if err != nil {
		return "", markupNone, err
	}
	normal := make([][]any, 0, len(inline))
	for _, row := range inline {
		out := make([]any, 0, len(row))
		for _, b := range row {
			nb, err := checkInlineButton(b, private)
			if err != nil {
				return "", markupNone, err
			}
			out = append(out, nb)
		}
		normal = append(normal, out)
	}
	var kind markupKind
	keep := []string{}
	switch {
	case len(rows) > 0 && hasButtons(rows):
		kind = markupKeyboard
		keep = []string{"keyboard", "is_persistent", "resize_keyboard", "one_time_keyboard", "input_field_placeholder", "selective"}
	case len(inline) > 0 && hasButtons(inline):
		kind = markupInline
		keep = []string{"inline_keyboard"}
		obj["inline_keyboard"] = normal
	case isTrue(obj["remove_keyboard"]) || isTrue(obj["hide_keyboard"]):
		kind = markupRemove
		keep = []string{"remove_keyboard", "selective"}
		obj["remove_keyboard"] = true
	case isTrue(obj["force_reply"]):
		kind = markupForceReply
		keep = []string{"force_reply", "input_field_placeholder", "selective"}
	}
	if inlineOnly && kind != markupInline && kind != markupNone {
		return "", markupNone, badRequest("inline keyboard expected")
	}
	if kind == markupNone {
		return "", markupNone, nil
	}
	out := map[string]any{}
	for _, k := range keep {
		if val, ok := obj[k]; ok {
			out[k] = val
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return "", markupNone, fmt.Errorf("encode reply markup: %w", err)
	}
	return string(data), kind, nil
}

// buttonRows reads obj[field] as an array of arrays of buttons.
func buttonRows(obj map[string]any, field, notRows string) ([][]any, error) {
	v, ok := obj[field]
	if !ok || v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, badRequest(fmt.Sprintf("field %q must be of type Array", field))
	}
	out := make([][]any, 0, len(arr))
	for _, r := range arr {
		row, ok := r.([]any)
		if !ok {
			return nil, badRequest(notRows)
		}
		out = append(out, row)
	}
	return out, nil
}

func hasButtons(rows [][]any) bool {
	for _, r := range rows {
		if len(r) > 0 {
			return true
		}
	}
	return false
}

func isTrue(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

// fieldError is TDLib's JSON field error, prefixed with what was parsed.
func fieldError(what string, obj map[string]any, name, typ string) error {
	v, ok := obj[name]
	if !ok {
		return badRequest(fmt.Sprintf("can't parse %s: Can't find field %q", what, name))
	}
	if !jsonIs(v, typ) {
		return badRequest(fmt.Sprintf("can't parse %s: Field %q must be of type %s", what, name, typ))
	}
	return nil
}

func jsonIs(v any, typ string) bool {
	switch typ {
	case "String":
		_, ok := v.(string)
		return ok
	case "Number":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "Object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// privateOnly are the keyboard buttons TDLib allows in private chats only,
// with its refusal elsewhere.
var privateOnly = []struct{ field, refusal string }{
	{"request_contact", "phone number can be requested in private chats only"},
	{"request_phone_number", "phone number can be requested in private chats only"},
	{"request_location", "location can be requested in private chats only"},
	{"request_poll", "poll can be requested in private chats only"},
	{"web_app", "web App buttons can be used in private chats only"},
	{"request_users", "users can be requested in private chats only"},
	{"request_user", "users can be requested in private chats only"},
	{"request_chat", "chats can be requested in private chats only"},
	{"request_managed_bot", "managed bots can be requested in private chats only"},
}

func checkKeyboardButton(b any, private bool) error {
	const what = "keyboard button"
	switch b := b.(type) {
	case string:
		if b == "" {
			return badRequest("keyboard button text must be non-empty")
		}
		return nil
	case map[string]any:
		if err := fieldError(what, b, "text", "String"); err != nil {
			return err
		}
		if rc, ok := b["request_chat"]; ok {
			if err := fieldError(what, b, "request_chat", "Object"); err != nil {
				return err
			}
			if err := fieldError(what, rc.(map[string]any), "request_id", "Number"); err != nil {
				return err
			}
			for _, f := range []string{"user_administrator_rights", "bot_administrator_rights"} {
				if r, ok := rc.(map[string]any)[f]; ok && !jsonIs(r, "Object") {
					return badRequest(fmt.Sprintf("can't parse %s: Field %q must be of type Object", what, f))
				}
			}
		}
		if ru, ok := b["request_users"]; ok {
			if err := fieldError(what, b, "request_users", "Object"); err != nil {
				return err
			}
			if err := fieldError(what, ru.(map[string]any), "request_id", "Number"); err != nil {
				return err
			}
		}
		if b["text"] == "" {
			return badRequest("keyboard button text must be non-empty")
		}
		if !private {
			for _, p := range privateOnly {
				if v, ok := b[p.field]; ok && v != false && v != nil {
					return badRequest(p.refusal)
				}
			}
		}
		return nil
	}
	return badRequest("can't parse keyboard button: KeyboardButton must be a String or an Object")
}

// inlineTypes are the fields that give an inline button its action, in the
// order telegram-bot-api looks for them.
var inlineTypes = []string{"url", "callback_data", "callback_game", "pay", "switch_inline_query", "switch_inline_query_chosen_chat", "switch_inline_query_current_chat", "login_url", "web_app", "copy_text"}

// checkInlineButton checks an inline button and returns it as Telegram
// keeps it: its text, looks and the one field that gives its action.
func checkInlineButton(b any, private bool) (map[string]any, error) {
	const what = "inline keyboard button"
	obj, ok := b.(map[string]any)
	if !ok {
		return nil, badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
	}
	if err := fieldError(what, obj, "text", "String"); err != nil {
		return nil, err
	}
	kind := ""
	for _, f := range inlineTypes {
		v, ok := obj[f]
		if !ok || ((f == "url" || f == "callback_data") && v == "") {
			continue
		}
		kind = f
		break
	}
	if kind == "" {
		return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	}
	if obj["text"] == "" {
		return nil, badRequest("inline keyboard button text must be non-empty")
	}
	switch kind {
	case "url":
		s, _ := obj["url"].(string)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") || (u.Scheme != "tg" && u.Host == "") {
			return nil, badRequest("BUTTON_URL_INVALID")
		}
	case "callback_data":
		s, ok := obj["callback_data"].(string)
		if !ok {
			return nil, badRequest(`can't parse inline keyboard button: Field "callback_data" must be of type String`)
		}
		if len(s) > 64 {
			return nil, badRequest("BUTTON_DATA_INVALID")
		}
	case "web_app":
		if !private {
			return nil, badRequest("BUTTON_TYPE_INVALID")
		}
	}
	out := map[string]any{"text": obj["text"], kind: obj[kind]}
	for _, f := range []string{"icon_custom_emoji_id", "style"} {
		if v, ok := obj[f]; ok && v != "" {
			out[f] = v
		}
	}
	return out, nil
}

// inlineMarkup is the reply_markup a Message shows: its inline keyboard,
// or nothing (reply keyboards are not part of Message).
func inlineMarkup(raw string) rawJSONOrAbsent {
	if !strings.Contains(raw, `"inline_keyboard"`) {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &obj) != nil || obj["inline_keyboard"] == nil {
		return ""
	}
	return rawJSONOrAbsent(`{"inline_keyboard":` + string(obj["inline_keyboard"]) + `}`)
}
