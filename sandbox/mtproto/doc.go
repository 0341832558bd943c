// Package mtproto is the sandbox's MTProto server: gotd's tgtest server
// with handlers that serve a world.World, so that an unmodified gotd
// telegram.Client (the userbot) can log in and administer supergroups that
// the Bot API emulator (package botapi) shows to the bot.
//
// # Starting it
//
//	srv, err := mtproto.New(w, mtproto.Options{Logger: log})
//	err = srv.Start("127.0.0.1:0")          // or: go srv.Serve(ctx, listener)
//	defer srv.Close()
//	opts := mtproto.ClientOptions(srv)     // DC list, resolver, public key
//	opts.SessionStorage = ...
//	client := telegram.NewClient(srv.AppID(), srv.AppHash(), opts)
//
// A program that knows the server only by address and key (the env file of
// `karmagate sandbox`: TELEGRAM_DC_ADDR, TELEGRAM_SERVER_KEY) uses
// ClientOptionsFor(addr, pem). PublicKeyPEM gives that PEM (PKCS#1, as
// Telegram publishes its keys). With Serve in a goroutine, Addr and
// ClientOptions are valid once Serve has begun; ClientOptionsFor with the
// listener's address has no such wait.
//
// # What is emulated
//
//   - Five data centers (1 to world.MaxDC), each on its own TCP address
//     (DC 2 on the one Serve or Start is given, the others on ports of
//     their own on its host; help.getConfig lists them all and names the
//     one asked as this_dc). An account lives on one (world.User.DC):
//     auth.sendCode elsewhere answers 303 PHONE_MIGRATE_X, auth.signIn 303
//     USER_MIGRATE_X, and a QR token it accepts makes
//     auth.exportLoginToken answer auth.loginTokenMigrateTo, completed by
//     auth.importLoginToken on that DC. Any of gotd's transports
//     (detected per connection), the real key exchange and encryption.
//     Requests are acknowledged at once; invokeWithLayer, initConnection and
//     invokeWithoutUpdates are unwrapped.
//   - One layer: answers are encoded in gotd's layer (tg.Layer), so a client
//     declaring another one in invokeWithLayer (GramJS, Telethon, TDLib of
//     another version) is refused with 400 LAYER_INVALID_<tg.Layer> rather
//     than answered in objects it cannot decode. Only clients of gotd's
//     layer work.
//   - Login: auth.sendCode (the app's api_id and api_hash must match
//     Options, else API_ID_INVALID; flood-limited per phone), auth.signIn
//     with the code the world "sent" (world.LastCode), SESSION_PASSWORD_NEEDED
//     for accounts with a 2FA password, account.getPassword and
//     auth.checkPassword with real server-side SRP
//     (passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow over
//     Telegram's 2048-bit prime, g = 3): the server keeps only the verifier
//     v = g^x mod p, answers srp_B/srp_id, and checks A and M1; a wrong
//     password is PASSWORD_HASH_INVALID, a stale or reused srp_id
//     SRP_ID_INVALID. QR login: auth.exportLoginToken (tokens live 30 s),
//     auth.acceptLoginToken from a logged-in client or AcceptLoginURL for a
//     simulated person scanning the code, updateLoginToken pushed to the
//     waiting client, then auth.loginTokenSuccess or
//     SESSION_PASSWORD_NEEDED. auth.logOut. Authorization belongs to the
//     auth key, so a client that keeps its session stays logged in across
//     reconnects.
//   - Before login, every method but the connection and login ones answers
//     AUTH_KEY_UNREGISTERED (401); between code and password,
//     SESSION_PASSWORD_NEEDED (401).
//   - help.getConfig (pointing at this server), help.getNearestDc,
//     help.getAppConfig (channels_limit_default is the world's per-account
//     cap), updates.getState, updates.getDifference (always empty: there is
//     no common message box), channels.getDifference, users.getUsers,
//     users.getFullUser, contacts.importContacts, contacts.deleteContacts,
//     contacts.getContacts, contacts.resolveUsername, contacts.resolvePhone,
//     channels.createChannel (megagroups only), channels.editAdmin,
//     channels.inviteToChannel, channels.editBanned,
//     channels.getParticipants (filters recent, admins, kicked, banned,
//     search, bots, contacts; offset/limit paging, at most 200 a page),
//     channels.getParticipant, channels.getChannels, channels.getFullChannel,
//     channels.editTitle, channels.leaveChannel, messages.exportChatInvite,
//     messages.getDialogs (supergroups only). Anything else:
//     INPUT_METHOD_INVALID.
//   - Access hashes are checked: a wrong one is CHANNEL_INVALID,
//     USER_ID_INVALID or PEER_ID_INVALID as the parameter's type calls for;
//     a supergroup the caller is not in is CHANNEL_PRIVATE.
//   - The world's rules come through with Telegram's error types and codes:
//     USER_PRIVACY_RESTRICTED people are returned in missing_invitees,
//     USER_NOT_MUTUAL_CONTACT, USER_KICKED, PEER_FLOOD, USERS_TOO_MUCH,
//     CHANNELS_TOO_MUCH, CHAT_ADMIN_REQUIRED, RIGHT_FORBIDDEN … as errors.
//     FLOOD_WAIT_X (420) comes from world.Limits.FloodWait (or
//     Options.FloodWait), per method and account, on the world's clock, X
//     rounded up to whole seconds; channels.createChannel beyond
//     world.Limits.SupergroupsPerDay (50) creations in 24 hours is
//     FLOOD_WAIT_X until the oldest leaves the window (Telegram has no error
//     of its own for that quota).
//   - Updates: every supergroup has a message box of service messages
//     (created, joined by link, by request, added, removed or left, title
//     changed) with its own message ids and pts, written as the world's
//     events happen. Members with a live session (and the user concerned)
//     are pushed updateChannel and updateNewChannelMessage; RPCs that
//     change a supergroup answer with the same messages and pts, and
//     channels.getDifference returns what a client missed, so gotd's
//     updates manager keeps its state without gaps.
//   - Account troubles on demand: RevokeSessions (later calls answer 401
//     SESSION_REVOKED until a new login), Freeze (420
//     FROZEN_METHOD_INVALID for all but config, state and user lookups),
//     world.SetRestricted (400 USER_RESTRICTED for creating groups and
//     adding people), world.SetBanned (401 USER_DEACTIVATED_BAN for every
//     call, 400 PHONE_NUMBER_BANNED for auth.sendCode), SetSendCodeAnswer (auth.sendCode answers
//     PHONE_NUMBER_FLOOD, SEND_CODE_UNAVAILABLE, a login email to set up,
//     or a payment). An auth key used by two clients at once (requests
//     from one session, another, then the first again) loses its
//     authorization: 406 AUTH_KEY_DUPLICATED on every later call.
//     A user deleted from the world (world.DeleteUser, or world.Reset) is
//     logged out everywhere: 401 AUTH_KEY_UNREGISTERED, as for a deleted
//     account. A reset also drops the supergroups' message boxes.
//   - Faults (world.SetFaults), drawn per call, deterministic under the
//     seed, for every method but connection setup, login and updates:
//     "5xx" is rpc_error 500 INTERNAL, "timeout" is rpc_error -503 Timeout
//     (what Telegram answers when a backend times out; the call is not
//     carried out), "429" is FLOOD_WAIT_1, "drop" closes the connection
//     without an answer. Every call is in the world's call log.
//
// # Where it differs from Telegram
//
//   - No messages, media, private chats or message history beyond the
//     service messages (the last 10000 per supergroup); a client that
//     misses more than that does not get channelDifferenceTooLong.
//   - No basic groups, broadcast channels, forums, usernames for chats,
//     restrictions short of a ban (editBanned with partial rights is
//     BANNED_RIGHTS_INVALID), sign-up, bot login over MTProto,
//     PFS temporary keys, or CDN and file DCs.
//   - Access hashes are per user and per chat, not per viewer.
//   - Phones are shown to the user themselves and their contacts only;
//     contacts.resolvePhone hides people whose privacy is "nobody".
//   - Timing: no server-side timeouts, flood waits only where configured.
//   - Auth keys and authorizations live in memory: a restarted server knows
//     no client (they redo the key exchange and log in again), and with a
//     generated Key, clients need the new public key.
package mtproto
