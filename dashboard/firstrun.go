package dashboard

import "github.com/karmagate/karmagate/models"

// Telegram tells the first-run steps whether the bot's token was checked:
// the bot (package bot) answers once Telegram answered its getMe.
type Telegram interface {
	Connected() bool
	Username() string
}

// firstRunStep is one step of the first-run walk-through, ticked from the
// real state.
type firstRunStep struct {
	Key   string // data-step: token, chat, members, linked
	Title string
	Done  bool
	// Note says what was found when done; How says what to do otherwise.
	Note string
	How  string
	// Code is a command or call to copy, shown under How.
	Code string
}

// firstRun is the walk-through the overview shows until every step is
// done; nil once they all are.
type firstRun struct {
	Steps []firstRunStep
	Done  int
}

// newFirstRun reads the steps off the overview and the bot: the bot token
// checked with Telegram, a chat bound (or created by the userbot), the
// website pushing members, a first member linked.
func newFirstRun(ov models.Overview, tg Telegram) *firstRun {
	token := firstRunStep{Key: "token", Title: "Bot token checked with Telegram",
		How:  "karmagate has not reached Telegram with TELEGRAM_BOT_TOKEN yet. Check the token (@BotFather → /mybots → API Token) and that this server reaches api.telegram.org; karmagate doctor says which.",
		Code: "karmagate doctor"}
	if tg != nil && tg.Connected() {
		token.Done, token.Note = true, "Telegram knows the bot: @"+tg.Username()+"."
	}
	chat := firstRunStep{Key: "chat", Title: "A chat bound or created",
		How:  "Make the bot an admin of your group (invite users, ban users), then send /bind KEY CODE there, with a code from the Bind code button below or from the server; or log a userbot account in (Userbots) and karmagate creates the groups itself.",
		Code: "karmagate bind-code KEY"}
	if len(ov.Chats) == 0 {
		chat.How = "The rules file names no chat yet: add one under chats: (KARMAGATE_RULES; see rules.example.yaml) and restart karmagate."
		chat.Code = ""
	}
	for _, c := range ov.Chats {
		if c.Row.TgChatID != nil {
			chat.Done, chat.Note = true, c.Chat.Title+" is gated."
			break
		}
	}
	members := firstRunStep{Key: "members", Title: "The website pushing members",
		How:  "Have the website send each member with their karma and groups, e.g. on sign-up and whenever the karma changes (examples/php shows how).",
		Code: `curl -X PUT -H "Authorization: Bearer $KARMAGATE_API_KEY" -d karma=150 -d groups=webmasters https://your.domain/api/v1/members/alice`}
	if ov.Members > 0 {
		members.Done, members.Note = true, plural(ov.Members, "member")+" sent by the website."
	}
	linked := firstRunStep{Key: "linked", Title: "The first member linked to Telegram",
		How:  "Show each member the deep link POST /api/v1/members/{id}/link returns (a Connect Telegram button on their profile page); they tap it and press Start.",
		Code: `curl -X POST -H "Authorization: Bearer $KARMAGATE_API_KEY" https://your.domain/api/v1/members/alice/link`}
	if ov.Linked > 0 {
		linked.Done, linked.Note = true, plural(ov.Linked, "member")+" linked."
	}
	fr := &firstRun{Steps: []firstRunStep{token, chat, members, linked}}
	for _, s := range fr.Steps {
		if s.Done {
			fr.Done++
		}
	}
	if fr.Done == len(fr.Steps) {
		return nil
	}
	return fr
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return formatInt(n) + " " + what + "s"
}
