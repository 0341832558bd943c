package botapi

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// set/get/deleteMyCommands, stored per scope and language as Telegram
// does; the checks and error texts are telegram-bot-api's and TDLib's.

var (
	commandRE  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	languageRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// commandKey names the list a call addresses: its scope and language_code.
func (s *Server) commandKey(c *call) (string, error) {
	scope, err := s.commandScope(c)
	if err != nil {
		return "", err
	}
	lang := c.p.str("language_code")
	if lang != "" && !languageRE.MatchString(lang) {
		return "", badRequest("invalid language code specified")
	}
	return scope + "|" + lang, nil
}

// commandScope reads scope (a BotCommandScope; default when absent) into a
// key: default, all_private_chats, all_group_chats, all_chat_administrators,
// chat:<id>, chat_administrators:<id>, chat_member:<id>:<user id>.
func (s *Server) commandScope(c *call) (string, error) {
	raw := c.p.str("scope")
	if raw == "" {
		return "default", nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", badRequest("can't parse BotCommandScope JSON object")
	}
	fail := func(msg string) error { return badRequest("can't parse BotCommandScope: " + msg) }
	obj, ok := v.(map[string]any)
	if !ok {
		return "", fail("BotCommandScope must be an Object")
	}
	typ, ok := obj["type"].(string)
	if !ok {
		if _, present := obj["type"]; present {
			return "", fail(`Field "type" must be of type String`)
		}
		return "", fail(`Can't find field "type"`)
	}
	switch typ {
	case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
		return typ, nil
	case "chat", "chat_administrators", "chat_member":
	default:
		return "", fail("Unsupported type specified")
	}
	var chat string
	switch id := obj["chat_id"].(type) {
	case string:
		chat = id
	case float64:
		chat = strconv.FormatInt(int64(id), 10)
	case nil:
		return "", fail(`Can't find field "chat_id"`)
	default:
		return "", fail(`Field "chat_id" must be of type String`)
	}
	if chat == "" {
		return "", fail("Empty chat_id specified")
	}
	var userID int64
	if typ == "chat_member" {
		u, ok := obj["user_id"].(float64)
		if !ok {
			return "", fail(`Can't find field "user_id"`)
		}
		if userID = int64(u); userID <= 0 {
			return "", fail("Invalid user_id specified")
		}
	}
	// The chat must be one the bot can see, as check_chat requires.
	sub := &call{bot: c.bot, state: c.state, method: c.method, p: params{"chat_id": chat}}
	id, err := s.chatID(sub)
	if err != nil {
		return "", err
	}
	if id > 0 {
		if id != c.bot.ID && !s.w.Knows(c.bot.ID, id) {
			return "", badRequest("chat not found")
		}
		if typ != "chat" {
			return "", badRequest("can't use specified scope in private chats")
		}
		return fmt.Sprintf("%s:%d", typ, id), nil
	}
	if _, err := s.group(sub); err != nil {
		return "", err
	}
	if typ == "chat_member" {
		return fmt.Sprintf("%s:%d:%d", typ, id, userID), nil
	}
	return fmt.Sprintf("%s:%d", typ, id), nil
}

// parseCommands reads commands as setMyCommands does: trimmed, a leading
// "/" dropped, 1–32 characters of [a-z0-9_], descriptions 1–256
// characters, at most 100.
func parseCommands(raw string) ([]apiBotCommand, error) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, badRequest("expected an Array of BotCommand")
	}
	out := make([]apiBotCommand, 0, len(arr))
	for _, x := range arr {
		obj, ok := x.(map[string]any)
		if !ok {
			return nil, badRequest("can't parse BotCommand: expected an Object")
		}
		var cmd apiBotCommand
		for _, f := range []struct {
			name string
			to   *string
		}{{"command", &cmd.Command}, {"description", &cmd.Description}} {
			val, present := obj[f.name]
			str, isString := val.(string)
			switch {
			case !present:
				return nil, badRequest(fmt.Sprintf("can't parse BotCommand: Can't find field %q", f.name))
			case !isString:
				return nil, badRequest(fmt.Sprintf("can't parse BotCommand: Field %q must be of type String", f.name))
			}
			*f.to = strings.TrimSpace(str)
		}
		if v, present := obj["is_ephemeral"]; present {
			b, ok := v.(bool)
			if !ok {
				return nil, badRequest(`can't parse BotCommand: Field "is_ephemeral" must be of type Boolean`)
			}
			cmd.IsEphemeral = b
		}
		cmd.Command = strings.TrimPrefix(cmd.Command, "/")
		switch n := utf8.RuneCountInString(cmd.Description); {
		case cmd.Command == "":
			return nil, badRequest("command must be non-empty")
		case utf8.RuneCountInString(cmd.Command) > 32:
			return nil, badRequest("command length must not exceed 32")
		case n == 0:
			return nil, badRequest("command description must be non-empty")
		case n > 256:
			return nil, badRequest("command description length must not exceed 256")
		}
		out = append(out, cmd)
	}
	// What the server refuses after TDLib's checks.
	if len(out) > 100 {
		return nil, badRequest("BOT_COMMANDS_TOO_MUCH")
	}
	for _, cmd := range out {
		if !commandRE.MatchString(cmd.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
	}
	return out, nil
}

func (s *Server) setMyCommands(_ context.Context, c *call) (any, error) {
	cmds, err := parseCommands(c.p.str("commands"))
	if err != nil {
		return nil, err
	}
	key, err := s.commandKey(c)
	if err != nil {
		return nil, err
	}
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	if c.state.commands == nil {
		c.state.commands = map[string][]apiBotCommand{}
	}
	if len(cmds) == 0 {
		delete(c.state.commands, key)
	} else {
		c.state.commands[key] = cmds
	}
	return true, nil
}

// getMyCommands answers the list set for exactly this scope and language
// (an empty list when none is), as Telegram does.
func (s *Server) getMyCommands(_ context.Context, c *call) (any, error) {
	key, err := s.commandKey(c)
	if err != nil {
		return nil, err
	}
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	return append([]apiBotCommand{}, c.state.commands[key]...), nil
}

func (s *Server) deleteMyCommands(_ context.Context, c *call) (any, error) {
	key, err := s.commandKey(c)
	if err != nil {
		return nil, err
	}
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	delete(c.state.commands, key)
	return true, nil
}
