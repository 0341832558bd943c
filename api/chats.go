package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

func (s *Server) chats(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	sums, err := s.store.ChatSummaries(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(sums))
	for _, c := range sums {
		out = append(out, chatJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out, "_links": map[string]any{"self": link("/api/v1/chats")}})
	return nil
}

// chatJSON is a gated chat as GET /api/v1/chats lists it.
func chatJSON(c models.ChatSummary) map[string]any {
	groups := c.Chat.Groups
	if c.Chat.AnyGroup {
		groups = []string{"*"}
	}
	counts := map[string]int64{}
	for st, n := range c.Counts {
		counts[string(st)] = n
	}
	return map[string]any{
		"key": c.Chat.Key, "title": c.Chat.Title, "about": c.Chat.About, "groups": groups,
		"min_karma": c.Chat.MinKarma, "leave_below": c.Chat.LeaveBelow,
		"grace": gate.FormatDuration(c.Chat.Grace), "grace_seconds": int64(c.Chat.Grace / time.Second),
		"on_violation": c.Chat.OnViolation, "telegram_chat_id": c.TgChatID, "counts": counts,
		"_links": map[string]any{"self": link("/api/v1/chats/" + url.PathEscape(c.Chat.Key)),
			"events":     link("/api/v1/events?chat=" + url.QueryEscape(c.Chat.Key)),
			"pending":    link("/api/v1/chats/" + url.PathEscape(c.Chat.Key) + "/pending"),
			"bind-codes": link("/api/v1/chats/" + url.PathEscape(c.Chat.Key) + "/bind-codes")},
	}
}

// eventKinds are the kinds of audit event the store writes.
var eventKinds = []string{
	models.EventMemberCreated, models.EventBulkImport, models.EventMemberUpdated, models.EventMemberDeleted,
	"member.linked", models.EventKarmaChanged, models.EventStateChanged, models.EventOverrideSet,
	models.EventActionDone, models.EventActionFailed, models.EventActionRetry, models.EventMembership,
	models.EventRulesChanged, models.EventChatBound, models.EventChatUnbound, models.EventBindCodeIssued, models.EventBindCodeUsed,
	models.EventDryRunStarted, models.EventRemovalsConfirmed, models.EventRemovalsReleased,
	models.EventBreakerOpened, models.EventBreakerClosed, models.EventStranger, models.EventStrangerClock,
	models.EventSourceRefused, models.EventSourceFailed, models.EventSourceHeld,
}

// unknownChat refuses a chat filter that names no chat of the rules.
func (s *Server) unknownChat(key string) error {
	var keys []string
	for _, c := range s.store.Rules().Chats {
		keys = append(keys, c.Key)
	}
	if len(keys) > 10 {
		keys = append(keys[:10], "…")
	}
	return badParam("chat", fmt.Sprintf("no gated chat %q in the rules (they have %s)", truncate(key, 64), strings.Join(keys, ", ")))
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "member", "chat", "kind", "before", "limit")
	if err != nil {
		return err
	}
	f := models.EventFilter{Member: q.Get("member"), Chat: q.Get("chat"), Kind: q.Get("kind")}
	if f.Member != "" {
		if err := models.CheckID(f.Member); err != nil {
			return badID("member", err)
		}
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return badParam("before", "must be an event id (a positive integer)")
		}
		f.Before = n
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	f.Limit = limit
	evs, err := s.store.Events(r.Context(), f)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		if err := s.checkEventFilter(r.Context(), f); err != nil {
			return err
		}
		evs = []models.Event{}
	}
	last := ""
	if len(evs) > 0 {
		last = strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	links := pageLinks("/api/v1/events", q, len(evs), limit, "before", last)
	writeJSON(w, http.StatusOK, map[string]any{"events": evs, "_links": links})
	return nil
}

// checkEventFilter refuses, when a filter found nothing, a chat or kind
// that neither the rules (or the store's kinds) nor the audit trail know:
// a typo, not a quiet chat. The trail outlives the rules, so a chat taken
// out of them keeps its history; and it outlives members, so any
// well-formed member id may be asked for.
func (s *Server) checkEventFilter(ctx context.Context, f models.EventFilter) error {
	if f.Chat != "" {
		if _, ok := s.store.Rules().Chat(f.Chat); !ok {
			evs, err := s.store.Events(ctx, models.EventFilter{Chat: f.Chat, Limit: 1})
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return s.unknownChat(f.Chat)
			}
		}
	}
	if f.Kind != "" && !slices.Contains(eventKinds, f.Kind) {
		evs, err := s.store.Events(ctx, models.EventFilter{Kind: f.Kind, Limit: 1})
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return badParam("kind", fmt.Sprintf("no event kind %q (kinds are %s)", truncate(f.Kind, 64), strings.Join(eventKinds, ", ")))
		}
	}
	return nil
}
