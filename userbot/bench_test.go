package userbot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/userbot"
	"github.com/karmagate/karmagate/worker"
)

// benchRules gates n chats, chat-NN for the website group gNN.
func benchRules(n int) string {
	var b strings.Builder
	b.WriteString("chats:\n")
	for i := range n {
		fmt.Fprintf(&b, "  chat-%02d:\n    title: Chat %02d\n    groups: [g%02d]\n    min_karma: 1\n", i, i, i)
	}
	return b.String()
}

// runWorkers runs a worker pool with the userbot pool's executors alone.
func (h *harness) runWorkers(tb testing.TB) *worker.Pool {
	wp := worker.New(worker.Options{Store: h.store, Executors: h.pool.Executors(), Now: h.now, Poll: 20 * time.Millisecond, Workers: 16,
		Logger: testLogger(tb)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = wp.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return wp
}

// doneActions counts the outbox actions of a kind that are done.
func (h *harness) doneActions(tb testing.TB, kind string) int {
	as, err := h.store.Actions(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, a := range as {
		if a.Kind == kind && a.Status == models.ActionDone {
			n++
		}
	}
	return n
}

// BenchmarkPool_Audit audits 41 gated chats of 250 members each, end to
// end: actions queued, claimed by the worker pool, participants listed
// over MTProto (two pages a chat) and recorded. The first round finds
// every member inside unreported (10,250 re-planned); later rounds find
// nothing new. A Bot API bot sweeping with getChatMember needs about 10
// minutes for the same at Telegram's pace.
func BenchmarkPool_Audit(b *testing.B) {
	const chats, perChat = 41, 250
	h := newHarness(b, harnessOptions{rules: benchRules(chats), noBot: true,
		limits: world.Limits{PeerFloodAfter: 1 << 30, MaxInvitePerCall: 1000, FloodWait: map[string]time.Duration{}}})
	ctx := context.Background()
	alice := h.person("alice", "", world.PrivacyEverybody)
	// 41 groups of alice's, 250 people in each, each linked to a member.
	var ins []models.MemberInput
	for c := range chats {
		ch, err := h.w.CreateSupergroup(alice.ID, fmt.Sprintf("Chat %02d", c), "")
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]int64, perChat)
		for i := range ids {
			u, err := h.w.CreateUser(world.UserSpec{FirstName: fmt.Sprintf("p%d-%d", c, i)})
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = u.ID
			in := models.MemberInput{ID: fmt.Sprintf("u%d", u.ID), Karma: 10, Groups: []string{fmt.Sprintf("g%02d", c)}}
			if err := in.Normalize(h.store.Rules()); err != nil {
				b.Fatal(err)
			}
			ins = append(ins, in)
		}
		if _, _, err := h.w.AddMembers(ch.ID, alice.ID, ids); err != nil {
			b.Fatal(err)
		}
		if err := h.store.BindChat(ctx, fmt.Sprintf("chat-%02d", c), ch.BotAPIID(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := h.store.PutMembers(ctx, ins, "bench"); err != nil {
		b.Fatal(err)
	}
	// Link every member to its account in one statement.
	if err := h.store.DB().Gorm().Exec("UPDATE members SET tg_user_id = CAST(SUBSTR(external_id, 2) AS INTEGER), linked_at = updated_at").Error; err != nil {
		b.Fatal(err)
	}
	h.login(alice, "")
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := h.pool.WaitReady(wctx, 1); err != nil {
		b.Fatal(err)
	}
	h.runWorkers(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		for c := range chats {
			if _, err := h.store.QueueChatAction(ctx, userbot.ActionAudit, fmt.Sprintf("chat-%02d", c), "bench"); err != nil {
				b.Fatal(err)
			}
		}
		want := chats * (i + 1)
		deadline := time.Now().Add(2 * time.Minute)
		for h.doneActions(b, userbot.ActionAudit) < want {
			if time.Now().After(deadline) {
				b.Fatal("audits did not finish")
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.Logf("round %d: audited %d chats x %d members in %s", i+1, chats, perChat, time.Since(start).Round(time.Millisecond))
	}
	st, err := h.store.FindMember(ctx, ins[0].ID)
	if err != nil || !st.Chats[0].InChat {
		b.Fatalf("the audit recorded nothing: %+v %v", st, err)
	}
}

// BenchmarkPool_CreateGroups creates 20 groups with a pool of 3 accounts
// where Telegram lets an account create one group a second: the minimum is
// 7 creations on one account, 6 s apart.
func BenchmarkPool_CreateGroups(b *testing.B) {
	const groups, accounts = 20, 3
	const every = time.Second
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, harnessOptions{rules: benchRules(groups), noBot: true,
			limits: world.Limits{FloodWait: map[string]time.Duration{"channels.createChannel": every}},
			pace:   map[string]time.Duration{"channels.createChannel": every}})
		for i := range accounts {
			h.login(h.person(fmt.Sprintf("acc%d", i), "", world.PrivacyEverybody), "")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := h.pool.WaitReady(ctx, accounts); err != nil {
			b.Fatal(err)
		}
		cancel()
		b.StartTimer()
		start := time.Now()
		h.runWorkers(b)
		for h.doneActions(b, userbot.ActionCreateGroup) < groups {
			if time.Since(start) > 2*time.Minute {
				b.Fatal("groups not created")
			}
			time.Sleep(5 * time.Millisecond)
		}
		wall := time.Since(start)
		minimum := time.Duration((groups+accounts-1)/accounts-1) * every
		floods := 0
		for _, c := range h.w.Calls() {
			if c.Method == "channels.createChannel" && strings.HasPrefix(c.Error, "FLOOD_WAIT") {
				floods++
			}
		}
		b.Logf("%d groups across %d accounts in %s; the flood limit (1 createChannel per %s per account) allows %s at best; %d FLOOD_WAITs met",
			groups, accounts, wall.Round(time.Millisecond), every, minimum, floods)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(minimum.Seconds(), "min-s")
	}
}
