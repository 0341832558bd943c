// Package vault seals secrets karmagate keeps in its database: the userbot
// accounts' MTProto sessions (whoever holds an auth key is the account) and
// their logins in progress (phone_code_hash, the pending session).
//
// A Vault derives its keys from the master secret (KARMAGATE_SECRET) with
// HKDF-SHA256 and seals with AES-256-GCM, binding each sealed value to what
// it belongs to (the account id) as associated data, so that a sealed
// session copied onto another account's row does not open. Verifier is a
// value derived from the secret under another label, kept in the database
// at first start: Check compares it at every start, so that a wrong secret
// is reported plainly before anything is read or written with it.
package vault
