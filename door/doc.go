// Package door serves the guard bot's Mini App at a chat's door (rule
// door: app): GET /app/join is the page Telegram opens at a join request
// (server-rendered, with telegram-web-app.js); it posts
// Telegram.WebApp.initData to POST /app/join/session, which checks it
// with the bot's token (Validator: constant-time hash, auth_date at most an
// hour old) and answers with the person's standing, rendered: who
// karmagate thinks they are, their karma against the chat's bar, the
// groups it asks for, what is missing and where on the website to get it.
// Each visit asks the Doors (the bot) to decide the request once the
// person qualifies: approved during the visit, or queued for the admins
// with a one-line reason when borderline.
//
// The package knows no store and no Telegram: the bot implements Doors.
package door
