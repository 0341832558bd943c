// Package world is the state shared by the sandbox's two faces, the Bot API
// emulator (package botapi) and the MTProto server (package mtproto): people,
// bots, supergroups, memberships, invite links, join requests, private
// messages, login codes, rate limits, faults and a log of every call.
//
// A World is deterministic under Options.Seed (ids, access hashes, tokens,
// invite hashes, login codes and injected faults come from one seeded
// source) and reads time only from Options.Now, so tests move a fake clock
// instead of sleeping. All methods are safe for concurrent use; they return
// copies, never pointers into the world.
//
// What is emulated, and how it differs from Telegram:
//
//   - Only supergroups exist. A "group" created by hand is a supergroup too;
//     there are no basic groups, channels (broadcast), topics or migrations.
//   - Membership follows Telegram's rules for the states creator,
//     administrator, member, restricted, left and kicked; bans with an
//     until date shorter than 30 s or longer than 366 days are forever, and
//     lapse by themselves when the clock passes the date.
//   - Adding people (AddMembers, the userbot's channels.inviteToChannel)
//     honours each person's privacy setting (everybody, contacts, nobody),
//     refuses people who left by themselves unless they are mutual contacts,
//     refuses banned people (USER_KICKED), and answers PEER_FLOOD after
//     Limits.PeerFloodAfter adds by one account in 24 hours. Per-person
//     refusals are reported in MissingInvitee; whole-call refusals as *Error.
//   - Invite links follow the Bot API's rules (name ≤ 32, member_limit
//     1–99999, member_limit excludes creates_join_request, the creator needs
//     can_invite_users, about 20 links per minute per chat). member_limit
//     counts people currently in the chat who came through the link, so a
//     slot frees up when one leaves, as on Telegram.
//   - A bot may message a person who started it, or who asked to join a chat
//     the bot administers (with can_invite_users) in the last 5 minutes.
//   - A bot's messages are paced on the injected clock: Telegram's
//     published rates (1 message/s per chat, 30/s per bot) as token
//     buckets with short bursts on top (3 per chat, 30 overall;
//     Limits.*Burst), since Telegram "may allow short bursts"; 20 in any
//     60 s per group as a sliding window (twenty a second apart all go);
//     Limits.StrictPacing makes them exact sliding windows. Other limits
//     are exact windows (20 invite links/min per chat, FLOOD_WAIT minimum
//     intervals per MTProto method, 50 adds and 50 new supergroups per
//     account a day); real Telegram is fuzzier and adapts per bot. Allow
//     and AllowWindow let other layers add their own.
//   - Messages are text, contacts and chat_shared only; there is no media,
//     no reactions, no message history for groups beyond what was sent
//     here, and each chat keeps only its last Options.MaxMessagesPerChat
//     messages. Bots edit their own messages (EditMessage) at any age; a
//     message carrying a reply keyboard cannot be edited.
//   - Keyboards: a bot's reply_markup is kept with the message. People press
//     inline buttons (PressButton; only callback_data a button holds), and
//     the bot must answer within Limits.CallbackQueryTTL (15 s). The last
//     reply keyboard a bot showed a person (ActiveKeyboard) is what
//     ShareChat answers: request_chat picks a supergroup that fits the
//     request, and the bot is added or promoted with the rights it asked.
//   - Member tags (SetMemberTag, Bot API 9.5): 0–16 characters, no emoji,
//     regular members only, set by admins with can_manage_tags.
//   - Guard bots (SetGuardBot, Bot API 10.1): their join-request queries
//     end after Limits.JoinRequestQueryTTL (10 s) of the world's clock or of
//     real time, whichever comes first; a fake clock moved past it takes
//     effect at the next ExpireJoinRequestQueries (every Bot API call runs
//     one). A query whose bot showed a Mini App (SendJoinRequestWebApp)
//     stays open for Limits.JoinRequestWebAppTTL (1 h, unconfirmed) from
//     then; OpenWebApp is the person opening it, with signed initData.
//   - Memory stays bounded over long runs: the call log is a ring of the
//     last Options.MaxCalls calls (numbered by Call.Seq, read with
//     CallsSince), rate-limit counters are swept once their window has
//     passed, and Reset (an empty world but for the users kept) and
//     DeleteUser clear out what a finished story left behind. Ids are never
//     reused, across resets included.
//   - Login codes are never delivered: read them with LastCode (or
//     GET /sandbox/codes/{phone}). Any phone number may exist.
package world
