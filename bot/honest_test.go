package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// TestBot_RebindRemovalSaysNothingToDo (issue 17 #9): after a chat moved
// to another group, the removal of a member who was only ever in the old
// one says in the audit trail that she was not in the chat and nothing was
// done, not "remove done".
func TestBot_RebindRemovalSaysNothingToDo(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	sam := h.person("Sam", "site_admin")
	h.opts.admins = []int64{sam.ID}
	h = h.restart()
	olga := h.person("Olga", "olga_owner")
	h.group(olga, "Webmasters Pro", "webmasters-pro")
	h.put("ann", 150, "webmasters")
	ann := h.person("Ann", "ann_tg")
	h.link("ann", ann)
	if res, err := h.sb.Join(ann.ID, h.joinLink("webmasters-pro")); err != nil || res.Result == "refused" {
		t.Fatalf("ann joins: %+v %v", res, err)
	}
	h.eventually("ann a member", func() bool { return h.state("ann", "webmasters-pro").InChat })

	moved := sandboxtest.MustChat(t, h.sb, sam.ID, "Webmasters Pro (new)")
	contains(t, "the rebind", h.sayInGroup(moved, sam, "/bind webmasters-pro"), "Bound to Webmasters Pro")
	h.idle()
	h.put("ann", 10, "webmasters")
	h.idle()
	evs, err := h.store.Events(h.ctx, models.EventFilter{Member: "ann", Chat: "webmasters-pro", Kind: models.EventActionDone})
	if err != nil {
		t.Fatal(err)
	}
	var removal string
	for _, e := range evs {
		if strings.HasPrefix(e.Detail, "remove") {
			removal = e.Detail
		}
	}
	if !strings.Contains(removal, "not in the chat") || !strings.Contains(removal, "nothing to do") {
		t.Fatalf("the removal from a group ann was never in is recorded as %q; want it to say she was not in the chat and nothing was done", removal)
	}
	if h.inChat(moved.BotAPIID())[ann.ID] {
		t.Fatal("ann is in the new group")
	}
}

// TestBot_BindOverMemberSendsNoJoinLink (issue 17 #9): a group bound while
// an eligible, linked member is already in it does not send her a join
// link to the group she is in.
func TestBot_BindOverMemberSendsNoJoinLink(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	sam := h.person("Sam", "site_admin")
	h.opts.admins = []int64{sam.ID}
	h = h.restart()
	bea := h.person("Bea", "bea_tg")
	h.put("bea", 150, "webmasters")
	h.link("bea", bea)
	before := len(h.received(bea.ID))

	olga := h.person("Olga", "olga_owner")
	c := sandboxtest.MustChat(t, h.sb, olga.ID, "Webmasters Pro")
	if _, _, err := h.sb.World().AddMembers(c.ID, olga.ID, []int64{bea.ID, sam.ID}); err != nil {
		t.Fatal(err)
	}
	if err := h.sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
		t.Fatal(err)
	}
	contains(t, "the bind", h.sayInGroup(c, sam, "/bind webmasters-pro"), "Bound to Webmasters Pro")
	h.eventually("bea recorded in the chat", func() bool { return h.state("bea", "webmasters-pro").InChat })
	h.idle()
	time.Sleep(300 * time.Millisecond)
	for _, m := range h.received(bea.ID)[before:] {
		if strings.Contains(m, "t.me/") || strings.Contains(strings.ToLower(m), "join") {
			t.Errorf("bea, already in the group, was sent %q", m)
		}
	}
}
