package world

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Member tags (Bot API 9.5 setChatMemberTag; MTProto's participant rank).

// MaxTagLength is the longest member tag, in characters.
const MaxTagLength = 16

// Tag errors, as the Bot API passes MTProto's through (RANK_* renamed TAG_*).
var (
	ErrTagInvalid         = sentinel(BadRequest("TAG_INVALID", ""))
	ErrTagEmojiNotAllowed = sentinel(BadRequest("TAG_EMOJI_NOT_ALLOWED", ""))
	// ErrChatCreatorRequired: an administrator's tag is their custom title,
	// which only the creator (or whoever promoted them) may change; Telegram
	// answers a bot that tries CHAT_CREATOR_REQUIRED.
	ErrChatCreatorRequired = sentinel(BadRequest("CHAT_CREATOR_REQUIRED", ""))
)

// SetMemberTag is setChatMemberTag: actorID sets (or with "" clears) the
// tag of userID, a regular or restricted member of the supergroup. The
// actor must be the creator or an administrator with can_manage_tags
// (CHAT_ADMIN_REQUIRED otherwise); the tag is at most MaxTagLength
// characters (TAG_INVALID) without emoji (TAG_EMOJI_NOT_ALLOWED); the
// creator's and administrators' tags are their titles
// (CHAT_CREATOR_REQUIRED); people not in the chat are USER_NOT_PARTICIPANT.
// A tag lasts until the member's status changes (they leave, are banned or
// promoted). No update is sent for it.
func (w *World) SetMemberTag(channelID, actorID, userID int64, tag string) error {
	if utf8.RuneCountInString(tag) > MaxTagLength || !utf8.ValidString(tag) {
		return ErrTagInvalid
	}
	if hasEmoji(tag) {
		return ErrTagEmojiNotAllowed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, _, target, err := w.actOnLocked(channelID, actorID, userID, func(r AdminRights) bool { return r.CanManageTags })
	if err != nil {
		if errors.Is(err, ErrNotEnoughRights) {
			return ErrChatAdminRequired
		}
		return err
	}
	switch target.Status {
	case StatusCreator, StatusAdministrator:
		return ErrChatCreatorRequired
	case StatusMember, StatusRestricted:
	default:
		return ErrUserNotParticipant
	}
	c.members[userID].tag = tag
	return nil
}

// hasEmoji reports whether s holds an emoji: a pictographic symbol, a
// regional indicator, a variation selector or a zero-width joiner.
func hasEmoji(s string) bool {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.So, r),
			r >= 0x1F000 && r <= 0x1FAFF, // pictographs, emoticons, flags, symbols
			r >= 0x2600 && r <= 0x27BF,   // miscellaneous symbols, dingbats
			r == 0xFE0F || r == 0x200D || r == 0x20E3:
			return true
		}
	}
	return false
}
