package doctor

import (
	"context"
	"fmt"
)

// userbots reports each account of the userbot pool as the store records
// it (the pool records what Telegram last said: a session ended, a
// restriction after spam reports, a freeze).
func userbots(ctx context.Context, opts Options) []Result {
	if !opts.Userbots {
		return []Result{{OK, "userbots", "off (no TELEGRAM_API_ID): groups are made by hand and bound with /bind", ""}}
	}
	list, err := opts.Store.Userbots(ctx)
	if err != nil {
		return []Result{{Fail, "userbots", "could not read the accounts: " + err.Error(), "check the database (see above)"}}
	}
	if len(list) == 0 {
		return []Result{{Warn, "userbots", "TELEGRAM_API_ID is set but no account is logged in",
			"log one in: karmagate userbot login --phone +CC… (or the dashboard's Userbots page)"}}
	}
	var out []Result
	for _, u := range list {
		out = append(out, userbot(u))
	}
	return out
}

func userbot(u Userbot) Result {
	name := fmt.Sprintf("userbot %d", u.ID)
	who := MaskPhone(u.Phone)
	again := fmt.Sprintf("karmagate userbot logout %d, then karmagate userbot login --phone <its number>", u.ID)
	why := ""
	if u.LastError != "" {
		why = " (" + u.LastError + ")"
	}
	switch u.State {
	case "ready":
		if u.PeerFlood {
			return Result{Warn, name, who + " ready, but Telegram stopped it adding people (PEER_FLOOD)",
				"it still creates and audits groups; members come in through links; it lifts with time"}
		}
		if u.ChannelCap > 0 && u.Channels >= u.ChannelCap*9/10 {
			return Result{Warn, name, fmt.Sprintf("%s ready, in %d of %d groups", who, u.Channels, u.ChannelCap), "log another account in before this one is full"}
		}
		return Result{OK, name, fmt.Sprintf("%s ready, in %d of %d groups", who, u.Channels, u.ChannelCap), ""}
	case "unauthorized":
		return Result{Fail, name, who + ": Telegram ended its session" + why, "log it in again: " + again}
	case "restricted":
		return Result{Fail, name, who + ": Telegram restricted the account after spam reports" + why,
			"ask @SpamBot from that account to lift the restriction, or log another account in"}
	case "frozen":
		return Result{Fail, name, who + ": Telegram froze the account" + why, "appeal from that account (Telegram shows how), or log another account in"}
	case "deactivated":
		return Result{Fail, name, who + ": the account was deleted or banned" + why, fmt.Sprintf("karmagate userbot logout %d, and log another account in", u.ID)}
	case "code_sent", "password_needed":
		return Result{Warn, name, who + ": login not finished (" + u.State + ")", "finish it: karmagate userbot login --phone <its number>, or log it out: karmagate userbot logout " + fmt.Sprint(u.ID)}
	default:
		return Result{Fail, name, who + ": state " + u.State + why, again}
	}
}

// MaskPhone keeps a phone's first three and last two digits.
func MaskPhone(p string) string {
	if len(p) <= 6 {
		return p
	}
	return p[:3] + "…" + p[len(p)-2:]
}
