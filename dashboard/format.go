package dashboard

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// funcs are the helpers the templates use.
var funcs = template.FuncMap{
	"num":        formatNum,
	"pct":        percent,
	"when":       formatTime,
	"ago":        ago,
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"stateLabel": stateLabel,
	"stateClass": stateClass,
	"kindLabel":  kindLabel,
	"kindClass":  kindClass,
	"deref":      func(s *string) string { return deref(s) },
	"derefInt": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"maskPhone": maskPhone,
	"add":       func(a, b int) int { return a + b },
	"int64":     func(i int) int64 { return int64(i) },
	"f1":        func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"groups":    groupsText,
	"botStanding": func(r models.ChatRow) standing {
		return botStanding(r)
	},
	"rule":    ruleText,
	"count":   func(m map[gate.State]int64, st string) int64 { return m[gate.State(st)] },
	"pending": func(m map[gate.ActionKind]int64, k string) int64 { return m[gate.ActionKind(k)] },
	"eventList": func(evs []models.Event, hideMember bool) eventList {
		return eventList{Events: evs, HideMember: hideMember}
	},
	"initial": func(s string) string {
		for _, r := range s {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
}

// eventList is the audit table's input: the events, and whether the
// member column is left out (on a member's own page).
type eventList struct {
	Events     []models.Event
	HideMember bool
}

// formatNum formats an int or int64 as formatInt does.
func formatNum(v any) string {
	switch n := v.(type) {
	case int:
		return formatInt(int64(n))
	case int64:
		return formatInt(n)
	}
	return fmt.Sprint(v)
}

// formatInt writes n with thin thousands separators: 12,345.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func percent(part, whole int64) string {
	if whole <= 0 {
		return "0%"
	}
	return strconv.FormatInt((part*100+whole/2)/whole, 10) + "%"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04")
}

// ago says how long before now t was, coarsely: "3 min ago", "in 2 h".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	if suffix == "" {
		return "in " + s
	}
	return s + suffix
}

var stateLabels = map[gate.State]string{
	gate.StateNotEligible: "Not eligible",
	gate.StateNeedsLink:   "Needs link",
	gate.StateEligible:    "Eligible",
	gate.StateInvited:     "Invited",
	gate.StateMember:      "Member",
	gate.StateGrace:       "Grace",
	gate.StateRemoving:    "Removing",
	gate.StateRemoved:     "Removed",
	gate.StateExempt:      "Exempt",
}

func stateLabel(s string) string {
	if l, ok := stateLabels[gate.State(s)]; ok {
		return l
	}
	if s == "" {
		return "Not eligible"
	}
	return s
}

// stateClass is the badge colour of a state.
func stateClass(s string) string {
	switch gate.State(s) {
	case gate.StateMember:
		return "ok"
	case gate.StateEligible, gate.StateInvited:
		return "info"
	case gate.StateNeedsLink, gate.StateGrace:
		return "warn"
	case gate.StateRemoving:
		return "bad"
	case gate.StateExempt:
		return "special"
	}
	return "muted"
}

var kindLabels = map[string]string{
	string(gate.ActionInvite):   "Invites",
	string(gate.ActionUninvite): "Invites withdrawn",
	string(gate.ActionWarn):     "Warnings",
	string(gate.ActionRemove):   "Removals",
	string(gate.ActionFlag):     "Flags to admins",
	models.ActionNotify:         "Messages",
	models.ActionCallback:       "Callbacks to the website",
	"failed":                    "Failed for good",
	models.EventMemberCreated:   "Member created",
	models.EventMemberUpdated:   "Member updated",
	models.EventMemberDeleted:   "Member deleted",
	models.EventBulkImport:      "Bulk import",
	models.EventKarmaChanged:    "Karma changed",
	models.EventStateChanged:    "State changed",
	models.EventOverrideSet:     "Override",
	models.EventLinked:          "Linked",
	models.EventUnlinked:        "Unlinked",
	models.EventMembership:      "Membership",
	models.EventStranger:        "Stranger seen",
	models.EventActionDone:      "Action done",
	models.EventActionRetry:     "Action retried",
	models.EventActionFailed:    "Action failed",
	models.EventActionDeferred:  "Action deferred",
	models.EventChatBound:       "Chat bound",
	models.EventChatUnbound:     "Chat unbound",
	models.EventRulesChanged:    "Rules changed",
	models.EventSourceRefused:   "Source row refused",
	models.EventSourceFailed:    "Source poll failed",
	models.EventSourceHeld:      "Source deletions held",
}

func kindLabel(k string) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return k
}

// kindClass is the badge colour of an audit event's kind.
func kindClass(k string) string {
	switch k {
	case models.EventActionFailed, models.EventMemberDeleted, models.EventStranger, models.EventUnlinked,
		models.EventSourceFailed, models.EventSourceHeld:
		return "bad"
	case models.EventActionRetry, models.EventActionDeferred, models.EventKarmaChanged, models.EventSourceRefused:
		return "warn"
	case models.EventActionDone, models.EventLinked, models.EventMembership:
		return "ok"
	case models.EventOverrideSet:
		return "special"
	case models.EventStateChanged, models.EventMemberCreated, models.EventMemberUpdated, models.EventBulkImport:
		return "info"
	}
	return "muted"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func groupsText(c *gate.Chat) string {
	if c.AnyGroup {
		return "any group"
	}
	return strings.Join(c.Groups, ", ")
}

// ruleText sums up who a chat lets in: "karma ≥ 100, stays ≥ 90, 24h grace".
func ruleText(c *gate.Chat) string {
	parts := []string{"karma ≥ " + formatInt(c.MinKarma)}
	if c.LeaveBelow != c.MinKarma {
		parts = append(parts, "stays ≥ "+formatInt(c.LeaveBelow))
	}
	if c.Grace > 0 {
		parts = append(parts, shortDuration(c.Grace)+" grace")
	}
	if c.OnViolation == gate.ViolationFlag {
		parts = append(parts, "flags, never removes")
	}
	return strings.Join(parts, " · ")
}

func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 72*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// standing is the bot's standing in a chat, as a badge and a note.
type standing struct {
	Label string
	Class string
	Note  string
}

func botStanding(r models.ChatRow) standing {
	switch {
	case r.TgChatID == nil:
		return standing{"Not set up", "muted", "No Telegram group yet: the userbot creates it, or an admin binds one with /bind."}
	case r.BotStatus == "administrator" || r.BotStatus == "creator":
		var missing []string
		if !r.CanInvite {
			missing = append(missing, "invite users")
		}
		if !r.CanRestrict {
			missing = append(missing, "ban users")
		}
		if len(missing) > 0 {
			return standing{"Admin, limited", "warn", "The bot needs the right to " + strings.Join(missing, " and ") + "."}
		}
		return standing{"Admin", "ok", "Can invite and remove members."}
	case r.BotStatus == "":
		return standing{"Unknown", "muted", "Telegram has not told the bot its rights here yet."}
	case r.BotStatus == "left" || r.BotStatus == "kicked":
		return standing{"Not in the group", "bad", "Add the bot back and make it an admin."}
	}
	return standing{"Not admin", "bad", "Make the bot an admin with the right to invite and ban users."}
}

// maskPhone hides the middle of a phone number: +1 415 ••• 0123.
func maskPhone(p string) string {
	if len(p) < 8 {
		return p
	}
	return p[:len(p)-7] + "•••" + p[len(p)-4:]
}
