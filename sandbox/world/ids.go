package world

// botAPIChannelBase is what separates a supergroup's Bot API id from its
// MTProto channel id: bot id = -(1000000000000 + channel id).
const botAPIChannelBase = 1000000000000

// BotAPIChatID is the Bot API id (-100…) of the supergroup with channelID.
func BotAPIChatID(channelID int64) int64 {
	return -(botAPIChannelBase + channelID)
}

// ChannelID is the MTProto channel id behind a Bot API supergroup id; ok is
// false for ids that are not supergroup ids (users, basic groups).
func ChannelID(botAPIID int64) (int64, bool) {
	if botAPIID >= -botAPIChannelBase {
		return 0, false
	}
	id := -botAPIID - botAPIChannelBase
	if id <= 0 || id >= botAPIChannelBase {
		return 0, false
	}
	return id, true
}
