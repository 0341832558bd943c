package sandboxtest_test

import (
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

func TestStart(t *testing.T) {
	clk := &sandboxtest.Clock{}
	sb := sandboxtest.Start(t, sandbox.Config{NoMTProto: true, Now: clk.Now})
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	c := sandboxtest.MustChat(t, sb, owner.ID, "Webmasters Pro")
	if c.MembersCount != 2 {
		t.Errorf("members %d, want owner and bot", c.MembersCount)
	}
	start := clk.Now()
	clk.Advance(time.Hour)
	if got := sb.World().Now().Sub(start); got != time.Hour {
		t.Errorf("world clock moved %s", got)
	}
}
