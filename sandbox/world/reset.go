package world

import (
	"slices"
	"strings"
	"time"
)

// For long test runs: empty the world between stories, or take out one
// person.

// Reset empties the world for a new story: people, bots, supergroups,
// invite links, join requests, messages, login codes and rate-limit counts
// are gone, except the users in keep (typically the bot a service runs as),
// who stay with their ids, access hashes and tokens, their contacts
// emptied. The clock, the call log and the fault setting carry on, and so
// do the id counters: ids are never reused, so a service that remembers
// users or chats from before the reset never mistakes a new one for an old
// one. Subscribers get WorldReset.
func (w *World) Reset(keep ...int64) {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	users := map[int64]*user{}
	for _, id := range keep {
		if u, ok := w.users[id]; ok {
			u.contacts = map[int64]bool{}
			users[id] = u
		}
	}
	w.users = users
	w.refuse.reset()
	w.byPhone = map[string]int64{}
	w.byName = map[string]int64{}
	w.byToken = map[string]int64{}
	kept := make([]int64, 0, len(users))
	for id, u := range users {
		kept = append(kept, id)
		if u.Phone != "" {
			w.byPhone[u.Phone] = id
		}
		if u.Username != "" {
			w.byName[strings.ToLower(u.Username)] = id
		}
		if u.token != "" {
			w.byToken[u.token] = id
		}
	}
	slices.Sort(kept)
	w.chats = map[int64]*chat{}
	w.basics = map[int64]int64{}
	w.links = map[string]*inviteLink{}
	w.privates = map[[2]int64]*private{}
	w.msgs = map[msgKey][]stored{}
	w.msgSeq = map[msgKey]int{}
	w.talks = map[int64]map[int64]bool{}
	w.codes = map[string]*loginCode{}
	w.adds = map[int64][]time.Time{}
	w.limiter.mu.Lock()
	w.limiter.init()
	w.limiter.mu.Unlock()
	w.emitLocked(WorldReset{Keep: kept})
}

// DeleteUser deletes a person or bot: they are gone from every supergroup
// (without MemberChanged events; a chat they created stays, without its
// creator), every join request, everyone's contacts, and their private
// chats are gone with their messages; their username and phone are free
// again; a bot's token stops working. Their id is never given out again.
// Subscribers get UserDeleted. USER_ID_INVALID for an unknown id.
func (w *World) DeleteUser(userID int64) error {
	defer w.flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.users[userID]
	if !ok {
		return ErrUserNotFound
	}
	delete(w.users, userID)
	if u.Phone != "" {
		delete(w.byPhone, u.Phone)
		delete(w.codes, u.Phone)
	}
	if u.Username != "" {
		delete(w.byName, strings.ToLower(u.Username))
	}
	if u.token != "" {
		delete(w.byToken, u.token)
	}
	for _, other := range w.users {
		delete(other.contacts, userID)
	}
	for _, c := range w.chats {
		c.forget(userID)
	}
	for other := range w.talks[userID] {
		key := dialogKey(userID, other)
		delete(w.msgs, key)
		delete(w.msgSeq, key)
		delete(w.talks[other], userID)
	}
	delete(w.talks, userID)
	for _, botID := range w.byToken { // {bot, person} dialog states
		delete(w.privates, msgKey{botID, userID})
	}
	if u.IsBot {
		for k := range w.privates {
			if k[0] == userID {
				delete(w.privates, k)
			}
		}
	}
	delete(w.adds, userID)
	w.emitLocked(UserDeleted{UserID: userID})
	return nil
}

// forget takes userID out of the chat and all its indexes, as if they had
// never been in it.
func (c *chat) forget(userID int64) {
	if m, ok := c.members[userID]; ok {
		if m.status.IsMember() {
			c.count--
			if m.link != "" {
				c.byLink[m.link]--
			}
		}
		delete(c.members, userID)
		i := c.pos[userID]
		c.order = slices.Delete(c.order, i, i+1)
		delete(c.pos, userID)
		for j := i; j < len(c.order); j++ {
			c.pos[c.order[j]] = j
		}
	}
	delete(c.admins, userID)
	delete(c.bots, userID)
	delete(c.requests, userID)
	delete(c.lastRequest, userID)
	delete(c.leftSelf, userID)
}
