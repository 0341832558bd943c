package world

import "time"

// extState is the world's state for the Bot API features grown with the bot
// (callback queries, guard bots and their join-request queries, the daily
// supergroup quota). Its maps are made on first use, under w.mu.
type extState struct {
	callbacks   map[string]*callbackQuery // query id → query
	guards      map[int64]int64           // channel id → guard bot id
	joinQueries map[string]*joinQuery     // query id → query
	created     map[int64][]time.Time     // account → when it created supergroups
	imported    map[int64][]time.Time     // account → when it imported each contact
	webApps     map[int64][]shownWebApp   // person → the Mini App buttons they were shown (webapp.go)
}

func (x *extState) init() {
	if x.callbacks != nil {
		return
	}
	x.callbacks = map[string]*callbackQuery{}
	x.guards = map[int64]int64{}
	x.joinQueries = map[string]*joinQuery{}
	x.created = map[int64][]time.Time{}
	x.imported = map[int64][]time.Time{}
	x.webApps = map[int64][]shownWebApp{}
}

// importsLeftLocked is how many more contacts the account may import in
// the 24 hours ending now (Limits.ContactImportsPerDay). w.mu must be held.
func (w *World) importsLeftLocked(accountID int64) int {
	x := &w.ext
	x.init()
	now := w.now()
	ts := x.imported[accountID]
	i := 0
	for i < len(ts) && !ts[i].Add(24*time.Hour).After(now) {
		i++
	}
	ts = ts[i:]
	x.imported[accountID] = ts
	return max(0, w.limits.ContactImportsPerDay-len(ts))
}

// queryIDLocked draws a query id: a decimal number, as Telegram's are.
// w.mu must be held.
func (w *World) queryIDLocked() string {
	return itoa(w.rng.Int63())
}

// creationWaitLocked applies Limits.SupergroupsPerDay to an account about
// to create a supergroup: 0 when it may, else how long until its oldest
// creation of the last 24 hours leaves the window. Telegram has no error of
// its own for this daily quota; it answers FLOOD_WAIT_X (long waits are
// reported for messages.createChat and channels.createChannel), which is
// what the caller turns the wait into.
func (w *World) creationWaitLocked(accountID int64) time.Duration {
	x := &w.ext
	x.init()
	now := w.now()
	ts := x.created[accountID]
	i := 0
	for i < len(ts) && !ts[i].Add(24*time.Hour).After(now) {
		i++
	}
	ts = ts[i:]
	x.created[accountID] = ts
	if n := w.limits.SupergroupsPerDay; len(ts) >= n {
		return ts[len(ts)-n].Add(24 * time.Hour).Sub(now)
	}
	return 0
}
