package botapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// spec.json is a trimmed copy of the Bot API specification
// (telegram-bot-api-spec, MIT): the methods served here and the types they
// answer with. It was cut from /work/shared/spec/bot-api-10.1.json keeping,
// per method, "returns" and the fields' name/types/required, and per type
// its fields and subtypes; then brought to Bot API 10.3 (August 2026) by
// hand, for what touches the methods and types kept here, from the
// changelogs: ephemeral_message_parameters on sendMessage and sendContact
// (10.2's receiver_user_id and callback_query_id, moved into
// EphemeralMessageParameters by 10.3), Message.receiver_user,
// ephemeral_message_id, community_chat_added and community_chat_removed,
// ChatFullInfo.community and Update.subscription (10.2),
// BotCommand.is_ephemeral (10.2, left out at first), and the
// can_send_welcome_messages right (10.3: required in
// ChatAdministratorRights and ChatMemberAdministrator, a parameter of
// promoteChatMember). Types it names but does not hold (Community,
// CommunityChatAdded, …) are not checked.
//
//go:embed spec.json
var specJSON []byte

// Spec is the part of the Bot API specification the emulator checks
// requests against (and tests check answers against).
type Spec struct {
	Version string                `json:"version"`
	Methods map[string]SpecMethod `json:"methods"`
	Types   map[string]SpecType   `json:"types"`
}

// SpecMethod is a method's parameters and return types.
type SpecMethod struct {
	Returns []string    `json:"returns"`
	Fields  []SpecField `json:"fields"`
}

// SpecType is a type's fields, or its subtypes.
type SpecType struct {
	Fields   []SpecField `json:"fields"`
	Subtypes []string    `json:"subtypes"`
}

// SpecField is a parameter or field.
type SpecField struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
}

var loadSpec = sync.OnceValue(func() *Spec {
	var s Spec
	if err := json.Unmarshal(specJSON, &s); err != nil {
		panic(fmt.Sprintf("botapi: embedded spec: %v", err))
	}
	return &s
})

// BotAPISpec returns the embedded (trimmed) specification.
func BotAPISpec() *Spec { return loadSpec() }

// validate checks params against the method's specification, the way the
// Bot API does: required parameters present, integers parse, JSON-typed
// parameters parse. Unknown parameters are ignored, as Telegram does.
func (s *Spec) validate(method string, p params) error {
	m, ok := s.Methods[method]
	if !ok {
		return nil
	}
	for _, f := range m.Fields {
		v, present := p[f.Name]
		if !present || v == "" {
			if f.Required {
				return missingParam(method, f.Name)
			}
			continue
		}
		if err := checkType(f, v); err != nil {
			return err
		}
	}
	return nil
}

func missingParam(method, name string) error {
	switch {
	case name == "text" && method == "sendMessage":
		return badRequest("message text is empty")
	case name == "user_id":
		return badRequest("invalid user_id specified")
	case name == "url" && method == "setWebhook":
		return nil // an empty url removes the webhook
	}
	return badRequest(fmt.Sprintf("%s is empty", name))
}

func checkType(f SpecField, v string) error {
	types := f.Types
	has := func(t string) bool {
		for _, x := range types {
			if x == t {
				return true
			}
		}
		return false
	}
	switch {
	case has("String") || has("InputFile"):
		return nil
	case has("Integer"):
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			if f.Name == "user_id" {
				return badRequest("invalid user_id specified")
			}
			return badRequest(fmt.Sprintf("invalid %s specified", f.Name))
		}
	case has("Boolean"):
		if _, ok := parseBool(v); !ok {
			return badRequest(fmt.Sprintf("can't parse %s as Boolean", f.Name))
		}
	case has("Float"):
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return badRequest(fmt.Sprintf("can't parse %s as Float", f.Name))
		}
	default: // arrays and objects travel as JSON
		if !json.Valid([]byte(v)) {
			name := f.Name
			if n, ok := jsonParamNames[name]; ok {
				name = n
			}
			return badRequest(fmt.Sprintf("can't parse %s JSON object", name))
		}
		if strings.HasPrefix(types[0], "Array of") && !strings.HasPrefix(strings.TrimSpace(v), "[") {
			return badRequest(fmt.Sprintf("field \"%s\" must be an Array", f.Name))
		}
	}
	return nil
}

// jsonParamNames are how telegram-bot-api names JSON parameters it cannot
// parse ("can't parse <name> JSON object").
var jsonParamNames = map[string]string{
	"reply_markup": "reply keyboard markup",
	"scope":        "BotCommandScope",

	"ephemeral_message_parameters": "EphemeralMessageParameters",
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, true
	case "false", "0", "":
		return false, true
	}
	return false, false
}
