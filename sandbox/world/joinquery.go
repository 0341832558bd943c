package world

import (
	"time"
)

// Guard bots and join-request queries (Bot API 10.1): a supergroup's
// creator may name a bot, an administrator with can_invite_users, to
// process join requests. When someone asks to join through a
// creates_join_request link, that bot alone gets the chat_join_request,
// with a query id, and must answer it within Limits.JoinRequestQueryTTL:
// approve (the person joins), decline (the request is dropped) or queue
// (the request is left to the admins, as it is when the time runs out).

// Join-request query results, as answerChatJoinRequestQuery spells them.
const (
	JoinQueryApprove = "approve"
	JoinQueryDecline = "decline"
	JoinQueryQueue   = "queue"
)

// Guard-bot errors.
var (
	// ErrGuardBotInvalid: the bot named as guard bot is not a bot, or not an
	// administrator with can_invite_users in the chat.
	ErrGuardBotInvalid = sentinel(BadRequest("BOT_INVALID", "the guard bot must be a bot administrator with can_invite_users"))
	// ErrJoinQueryResult: a result other than approve, decline or queue.
	ErrJoinQueryResult = sentinel(BadRequest("RESULT_INVALID", "invalid result specified"))
)

type joinQuery struct {
	id        string
	channelID int64
	userID    int64
	botID     int64
	request   *JoinRequest // the request it decides; compared by identity
	deadline  time.Time
	timer     *time.Timer // the real-time deadline
	done      bool        // answered or expired
	webApp    string      // the Mini App's URL once sendChatJoinRequestWebApp showed it
}

// SetGuardBot is the creator naming botID (0: nobody) the chat's guard bot,
// which must be a bot administrator with can_invite_users.
func (w *World) SetGuardBot(channelID, actorID, botID int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chats[channelID]
	if !ok {
		return ErrChatNotFound
	}
	if c.CreatorID != actorID {
		return ErrChatCreatorRequired
	}
	x := &w.ext
	x.init()
	if botID == 0 {
		delete(x.guards, channelID)
		return nil
	}
	if !w.canGuardLocked(c, botID) {
		return ErrGuardBotInvalid
	}
	x.guards[channelID] = botID
	return nil
}

// GuardBot is the chat's guard bot, if it has one.
func (w *World) GuardBot(channelID int64) (User, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id, ok := w.ext.guards[channelID]
	if !ok {
		return User{}, false
	}
	u, ok := w.users[id]
	if !ok {
		return User{}, false
	}
	return u.User, true
}

func (w *World) canGuardLocked(c *chat, botID int64) bool {
	u, ok := w.users[botID]
	return ok && u.IsBot && canLocked(w.memberLocked(c, botID), func(r AdminRights) bool { return r.CanInviteUsers })
}

// startJoinQueryLocked opens a join-request query for the request r when
// the chat has a guard bot that may still process it; it returns the
// query's id and the bot, or "" when there is none.
func (w *World) startJoinQueryLocked(c *chat, r *JoinRequest) (string, int64) {
	x := &w.ext
	x.init()
	botID, ok := x.guards[c.ID]
	if !ok || !w.canGuardLocked(c, botID) {
		return "", 0
	}
	ttl := w.limits.JoinRequestQueryTTL
	q := &joinQuery{id: w.queryIDLocked(), channelID: c.ID, userID: r.UserID, botID: botID, request: r, deadline: w.now().Add(ttl)}
	q.timer = time.AfterFunc(ttl, func() { w.expireJoinQuery(q.id) })
	x.joinQueries[q.id] = q
	return q.id, botID
}

// expireJoinQuery ends a query whose real-time deadline passed.
func (w *World) expireJoinQuery(id string) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if q, ok := w.ext.joinQueries[id]; ok {
		w.endJoinQueryLocked(q, true)
	}
}

// ExpireJoinRequestQueries ends the join-request queries whose deadline the
// world's clock has passed, leaving their requests to the admins (whose
// bots now get chat_join_request). The Bot API calls it before it hands
// out updates, so that a test moving a fake clock sees the effect; a real
// timer ends each query after Limits.JoinRequestQueryTTL of real time too.
func (w *World) ExpireJoinRequestQueries() {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireJoinQueriesLocked()
}

func (w *World) expireJoinQueriesLocked() {
	now := w.now()
	for _, q := range w.ext.joinQueries {
		if !now.Before(q.deadline) {
			w.endJoinQueryLocked(q, true)
		}
	}
}

// endJoinQueryLocked closes q; when queue is set and its request is still
// pending, the chat's other admin bots are told of the request.
func (w *World) endJoinQueryLocked(q *joinQuery, queue bool) {
	if q.done {
		return
	}
	q.done = true
	q.timer.Stop()
	delete(w.ext.joinQueries, q.id)
	c, ok := w.chats[q.channelID]
	if !ok || !queue || c.requests[q.userID] != q.request {
		return
	}
	r := *q.request
	var snap *InviteLink
	if l, ok := w.links[r.InviteLink]; ok {
		s := w.linkLocked(l)
		snap = &s
	}
	w.emitLocked(JoinRequested{ChannelID: c.ID, UserID: r.UserID, InviteLink: snap, Date: r.Date, GuardBotID: q.botID})
}

// AnswerJoinRequestQuery is answerChatJoinRequestQuery: the guard bot
// decides the request behind queryID with approve, decline or queue. A
// query that is unknown, another bot's, already answered, past its
// deadline, or whose request was settled meanwhile is QUERY_ID_INVALID.
func (w *World) AnswerJoinRequestQuery(botID int64, queryID, result string) error {
	switch result {
	case JoinQueryApprove, JoinQueryDecline, JoinQueryQueue:
	default:
		return ErrJoinQueryResult
	}
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireJoinQueriesLocked()
	q, ok := w.ext.joinQueries[queryID]
	if !ok || q.botID != botID {
		return ErrQueryIDInvalid
	}
	c := w.chats[q.channelID]
	if c == nil || c.requests[q.userID] != q.request {
		w.endJoinQueryLocked(q, false)
		return ErrQueryIDInvalid
	}
	switch result {
	case JoinQueryQueue:
		w.endJoinQueryLocked(q, true)
		return nil
	default:
		if err := w.resolveJoinRequestLocked(q.channelID, botID, q.userID, result == JoinQueryApprove); err != nil {
			return err
		}
		w.endJoinQueryLocked(q, false)
		return nil
	}
}
