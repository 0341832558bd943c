package gate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Violation says what happens to someone in a chat who no longer qualifies.
type Violation string

// The on_violation choices.
const (
	ViolationRemove Violation = "remove"
	ViolationFlag   Violation = "flag"
)

// Chat is one gated chat as the rules file describes it.
type Chat struct {
	Key         string
	Title       string
	About       string
	Groups      []string // any of these website groups; empty when AnyGroup
	AnyGroup    bool     // groups: ["*"]: every member, whatever their groups
	MinKarma    int64
	LeaveBelow  int64 // equals MinKarma when the file sets none
	Grace       time.Duration
	OnViolation Violation
	// Tag is the member tag template (tag:), e.g. "{{group}} {{karma}}";
	// empty when the chat sets no tags.
	Tag string
	// PersonalLinks gives each member a link of their own (member_limit 1,
	// revoked once used) instead of the chat's join-request link
	// (personal_links: true).
	PersonalLinks bool
	// DryRun plans removals without carrying them out until an admin
	// confirms them (dry_run: true).
	DryRun bool
	// MaxRemovals is the chat's removal breaker (max_removals:); zero when
	// the file sets none (then KARMAGATE_MAX_REMOVALS, else
	// DefaultRemovalCap).
	MaxRemovals RemovalCap
	// Strangers is what happens to people inside whom no member is linked
	// to (strangers:, strangers.go).
	Strangers Strangers
	// Door is what a join request meets (door:): DoorSilent, the bot's
	// answer alone, or DoorApp, the guard bot's Mini App first.
	Door Door
	// Review queues borderline requests for the chat's admins (review:
	// true) instead of deciding them.
	Review bool

	mask  uint64              // bit set of Groups in Rules.groupBits
	group map[string]struct{} // fallback when the rules name more than 64 groups
}

// Rules is a parsed, validated rules file. It is immutable once loaded and
// safe for concurrent use.
type Rules struct {
	// Groups, when not empty, is the site's whole taxonomy: members may only
	// carry these groups.
	Groups []string
	// Chats in file order.
	Chats []*Chat
	// Hash identifies the file's content, to notice rule changes.
	Hash string
	// Messages overrides the bot's texts: message key → language → text
	// (messages: in the file). The bot checks the keys.
	Messages map[string]map[string]string
	// MessageLines is where each message text stands in the file (key →
	// language → line), for the bot's checks to point at.
	MessageLines map[string]map[string]int
	// File is the rules file's name, as errors show it.
	File string
	// Source, when not nil, is where karmagate pulls members from (source:
	// in the file): a query on the website's own database, run every so
	// often.
	Source *Source

	byKey     map[string]*Chat
	allowed   map[string]struct{}
	groupBits map[string]uint64 // group name -> bit, when at most 64 are named
}

// Chat returns the chat with this key.
func (r *Rules) Chat(key string) (*Chat, bool) {
	c, ok := r.byKey[key]
	return c, ok
}

// GroupAllowed reports whether members may carry group g.
func (r *Rules) GroupAllowed(g string) bool {
	if len(r.allowed) == 0 {
		return true
	}
	_, ok := r.allowed[g]
	return ok
}

// RestrictsGroups reports whether the rules list the site's groups.
func (r *Rules) RestrictsGroups() bool { return len(r.allowed) > 0 }

// Patterns for the names the rules file and the API accept.
var (
	keyPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	groupPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// ValidGroup reports whether g is a well-formed group name.
func ValidGroup(g string) bool { return groupPattern.MatchString(g) }

// Error is a problem in a rules file, with where it is.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors are several problems in a rules file, in the file's order: every
// one is told at once, a line each.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the problems one by one (errors.As finds the first).
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// collect makes one error of several: nil for none, the *Error itself for
// one, else Errors, flattened and sorted by line. A problem that is not an
// *Error (none is expected) stays as it is, joined.
func collect(errs []error) error {
	var out Errors
	var other []error
	for _, err := range errs {
		switch e := err.(type) {
		case nil:
		case *Error:
			out = append(out, e)
		case Errors:
			out = append(out, e...)
		default:
			other = append(other, err)
		}
	}
	if len(other) > 0 {
		return errors.Join(append(other, out.Unwrap()...)...)
	}
	slices.SortStableFunc(out, func(a, b *Error) int { return a.Line - b.Line })
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// LoadRules reads and validates a rules file.
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return ParseRules(path, data)
}

// MaxRulesSize bounds a rules file; anything larger is surely a mistake.
const MaxRulesSize = 1 << 20

// ParseRules parses rules from data; name is used in error messages.
func ParseRules(name string, data []byte) (*Rules, error) {
	p := parser{file: name}
	if len(data) > MaxRulesSize {
		return nil, p.errf(nil, "file is %d bytes, more than the %d allowed", len(data), MaxRulesSize)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errf(nil, "file is empty: it needs a chats: section")
		}
		return nil, p.yamlErr(err)
	}
	sum := sha256.Sum256(data)
	r, err := p.rules(&doc)
	if err != nil {
		return nil, err
	}
	r.Hash = hex.EncodeToString(sum[:])
	r.File = name
	return r, nil
}

type parser struct{ file string }

func (p parser) errf(n *yaml.Node, format string, args ...any) error {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p parser) yamlErr(err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: p.file, Line: line, Msg: m[2]}
	}
	return &Error{File: p.file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// mapping walks a YAML mapping, rejecting duplicate keys.
func (p parser) mapping(n *yaml.Node, what string, fn func(key string, k, v *yaml.Node) error) error {
	if n.Kind == yaml.AliasNode {
		return p.errf(n, "%s: aliases are not supported", what)
	}
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s must be a mapping", what)
	}
	// Every key is looked at, whatever the ones before it said: a file
	// with several mistakes is told of all of them at once.
	seen := map[string]int{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, p.errf(k, "%s: keys must be plain names", what))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			errs = append(errs, p.errf(k, "%s: %q is repeated (first on line %d)", what, k.Value, line))
			continue
		}
		seen[k.Value] = k.Line
		if err := fn(k.Value, k, v); err != nil {
			errs = append(errs, err)
		}
	}
	return collect(errs)
}

func (p parser) rules(doc *yaml.Node) (*Rules, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, p.errf(doc, "expected one YAML document")
	}
	root := doc.Content[0]
	r := &Rules{byKey: map[string]*Chat{}}
	var chatsNode *yaml.Node
	err := p.mapping(root, "the file", func(key string, k, v *yaml.Node) error {
		switch key {
		case "groups":
			gs, err := p.groups(v, "groups", false)
			if err != nil {
				return err
			}
			r.Groups = gs
		case "chats":
			chatsNode = v
		case "messages":
			ms, lines, err := p.messages(v)
			if err != nil {
				return err
			}
			r.Messages, r.MessageLines = ms, lines
		case "source":
			src, err := p.source(v)
			if err != nil {
				return err
			}
			r.Source = src
		default:
			return p.errf(k, "unknown section %q (expected groups, chats, messages or source)", key)
		}
		return nil
	})
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if len(r.Groups) > 0 {
		r.allowed = make(map[string]struct{}, len(r.Groups))
		for _, g := range r.Groups {
			r.allowed[g] = struct{}{}
		}
	}
	if chatsNode == nil {
		return nil, collect(append(errs, p.errf(root, "no chats: section: name at least one gated chat")))
	}
	err = p.mapping(chatsNode, "chats", func(key string, k, v *yaml.Node) error {
		if !keyPattern.MatchString(key) {
			return p.errf(k, "chat key %q: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit", key)
		}
		c, err := p.chat(key, v, r)
		if err != nil {
			return err
		}
		r.Chats = append(r.Chats, c)
		r.byKey[key] = c
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := collect(errs); err != nil {
		return nil, err
	}
	if len(r.Chats) == 0 {
		return nil, p.errf(chatsNode, "chats: is empty: name at least one gated chat")
	}
	r.compile()
	return r, nil
}

func (p parser) groups(v *yaml.Node, what string, allowStar bool) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, "%s must be a list, e.g. [webmasters, customers]", what)
	}
	seen := map[string]bool{}
	var out []string
	for _, g := range v.Content {
		if g.Kind != yaml.ScalarNode {
			return nil, p.errf(g, "%s: each entry must be a group name", what)
		}
		name := g.Value
		if name == "*" && allowStar {
			out = append(out, name)
			continue
		}
		if !ValidGroup(name) {
			return nil, p.errf(g, "%s: %q is not a valid group name (1-64 of A-Za-z0-9._-)", what, name)
		}
		if seen[name] {
			return nil, p.errf(g, "%s: %q is listed twice", what, name)
		}
		seen[name] = true
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, p.errf(v, "%s is empty", what)
	}
	return out, nil
}

func (p parser) int64(v *yaml.Node, what string) (int64, error) {
	if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		return 0, p.errf(v, "%s must be an integer, not %q", what, v.Value)
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v.Value, 64)
		if ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int64(f), nil
		}
		return 0, p.errf(v, "%s must be an integer between %d and %d, not %s", what, int64(math.MinInt64), int64(math.MaxInt64), v.Value)
	}
	return n, nil
}

func (p parser) str(v *yaml.Node, what string, max int) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v, "%s must be text", what)
	}
	s := strings.TrimSpace(v.Value)
	if n := len([]rune(s)); n > max {
		return "", p.errf(v, "%s is %d characters; Telegram allows %d", what, n, max)
	}
	return s, nil
}

func (p parser) chat(key string, n *yaml.Node, r *Rules) (*Chat, error) {
	c := &Chat{Key: key, OnViolation: ViolationRemove, Door: DoorSilent}
	where := "chats." + key
	var haveMin, haveLeave, haveGroups bool
	err := p.mapping(n, where, func(field string, k, v *yaml.Node) error {
		var err error
		switch field {
		case "title":
			c.Title, err = p.str(v, where+".title", 128) // Telegram's chat title limit
		case "about":
			c.About, err = p.str(v, where+".about", 255) // Telegram's description limit
		case "groups":
			var gs []string
			gs, err = p.groups(v, where+".groups", true)
			haveGroups = true
			for _, g := range gs {
				if g == "*" {
					if len(gs) > 1 {
						return p.errf(v, "%s.groups: \"*\" means any group; list nothing else with it", where)
					}
					c.AnyGroup = true
					return nil
				}
				if !r.GroupAllowed(g) && len(r.Groups) > 0 {
					return p.errf(v, "%s.groups: %q is not in the top-level groups list %v", where, g, r.Groups)
				}
			}
			c.Groups = gs
		case "min_karma":
			c.MinKarma, err = p.int64(v, where+".min_karma")
			haveMin = true
		case "leave_below":
			c.LeaveBelow, err = p.int64(v, where+".leave_below")
			haveLeave = true
		case "grace":
			if v.Kind != yaml.ScalarNode {
				return p.errf(v, "%s.grace must be a duration such as 24h or 90m", where)
			}
			c.Grace, err = time.ParseDuration(v.Value)
			if err != nil {
				return p.errf(v, "%s.grace: %q is not a duration (use e.g. 24h, 90m, 1h30m)", where, v.Value)
			}
			if c.Grace < 0 || c.Grace > 366*24*time.Hour {
				return p.errf(v, "%s.grace must be between 0 and 8784h (366 days)", where)
			}
		case "on_violation":
			switch Violation(v.Value) {
			case ViolationRemove, ViolationFlag:
				c.OnViolation = Violation(v.Value)
			default:
				return p.errf(v, "%s.on_violation must be remove or flag, not %q", where, v.Value)
			}
		case "tag":
			c.Tag, err = p.tag(v, where+".tag")
		case "personal_links":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				return p.errf(v, "%s.personal_links must be true or false", where)
			}
			c.PersonalLinks = v.Value == "true"
		case "dry_run":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				return p.errf(v, "%s.dry_run must be true or false", where)
			}
			c.DryRun = v.Value == "true"
		case "max_removals":
			c.MaxRemovals, err = p.removalCap(v, where+".max_removals")
		case "strangers":
			c.Strangers, err = p.strangers(v, where+".strangers")
		case "door":
			c.Door, err = p.door(v, where+".door")
		case "review":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				return p.errf(v, "%s.review must be true or false", where)
			}
			c.Review = v.Value == "true"
		default:
			return p.errf(k, "%s: unknown field %q (expected title, about, groups, min_karma, leave_below, grace, on_violation, tag, personal_links, dry_run, max_removals, strangers, door, review)", where, field)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case c.Title == "":
		return nil, p.errf(n, "%s: title is required (the group's name in Telegram)", where)
	case !haveGroups:
		return nil, p.errf(n, "%s: groups is required (use [\"*\"] for any group)", where)
	case !haveMin:
		return nil, p.errf(n, "%s: min_karma is required", where)
	}
	if !haveLeave {
		c.LeaveBelow = c.MinKarma
	} else if c.LeaveBelow > c.MinKarma {
		return nil, p.errf(n, "%s: leave_below (%d) must not be above min_karma (%d)", where, c.LeaveBelow, c.MinKarma)
	}
	return c, nil
}

// compile assigns each group the rules name a bit so that matching a member
// against every chat costs one AND per chat.
func (r *Rules) compile() {
	names := map[string]struct{}{}
	for _, c := range r.Chats {
		for _, g := range c.Groups {
			names[g] = struct{}{}
		}
	}
	if len(names) <= 64 {
		r.groupBits = make(map[string]uint64, len(names))
		for _, c := range r.Chats {
			for _, g := range c.Groups {
				bit, ok := r.groupBits[g]
				if !ok {
					bit = 1 << uint(len(r.groupBits))
					r.groupBits[g] = bit
				}
				c.mask |= bit
			}
		}
		return
	}
	for _, c := range r.Chats {
		c.group = make(map[string]struct{}, len(c.Groups))
		for _, g := range c.Groups {
			c.group[g] = struct{}{}
		}
	}
}

// messages reads the messages: section: key → language → text.
func (p parser) messages(n *yaml.Node) (map[string]map[string]string, map[string]map[string]int, error) {
	out := map[string]map[string]string{}
	lines := map[string]map[string]int{}
	err := p.mapping(n, "messages", func(key string, k, v *yaml.Node) error {
		if !keyPattern.MatchString(key) {
			return p.errf(k, "messages: %q is not a message key", key)
		}
		langs := map[string]string{}
		lines[key] = map[string]int{}
		err := p.mapping(v, "messages."+key, func(lang string, lk, lv *yaml.Node) error {
			if !langPattern.MatchString(lang) {
				return p.errf(lk, "messages.%s: %q is not a language code such as en or ru", key, lang)
			}
			text, err := p.str(lv, "messages."+key+"."+lang, 4096) // Telegram's message limit
			if err != nil {
				return err
			}
			if text == "" {
				return p.errf(lv, "messages.%s.%s is empty", key, lang)
			}
			langs[lang] = text
			lines[key][lang] = lv.Line
			return nil
		})
		out[key] = langs
		return err
	})
	return out, lines, err
}

var langPattern = regexp.MustCompile(`^[a-z]{2,3}$`)

// tagPlaceholders are what a tag template may use.
var tagPlaceholders = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// tag reads a member tag template: text with {{group}}, {{karma}} or
// {{name}}, no emoji (Telegram refuses them in tags).
func (p parser) tag(v *yaml.Node, what string) (string, error) {
	s, err := p.str(v, what, 64)
	if err != nil {
		return "", err
	}
	for _, m := range tagPlaceholders.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "group", "karma", "name":
		default:
			return "", p.errf(v, "%s: unknown placeholder {{%s}} (use {{group}}, {{karma}}, {{name}})", what, m[1])
		}
	}
	for _, r := range s {
		if r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) {
			return "", p.errf(v, "%s: Telegram allows no emoji in member tags", what)
		}
	}
	return s, nil
}

// RenderTag fills a chat's tag template for a member: at most 16
// characters, as Telegram allows.
func (c *Chat) RenderTag(karma int64, group, name string) string {
	if c.Tag == "" {
		return ""
	}
	out := tagPlaceholders.ReplaceAllStringFunc(c.Tag, func(m string) string {
		switch strings.Trim(m, "{} \t") {
		case "group":
			return group
		case "karma":
			return strconv.FormatInt(karma, 10)
		case "name":
			return name
		}
		return ""
	})
	out = strings.Join(strings.Fields(out), " ")
	if r := []rune(out); len(r) > 16 {
		out = strings.TrimSpace(string(r[:16]))
	}
	return out
}
