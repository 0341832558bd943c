// Package api is the website's REST API (under /api/v1), health and
// Prometheus metrics.
//
// Bodies are JSON or application/x-www-form-urlencoded (a plain HTML form
// works; multipart forms too); bulk takes a JSON array or NDJSON. Input is
// read strictly, the same on every route: an unknown field, a field given
// twice, text that is not UTF-8 and a body that starts with a byte order
// mark are refused, never guessed at (jsonread.go reads JSON in one pass
// and keeps encoding/json's leniencies out). A bulk body is decoded as it
// arrives, one member at a time, and only MaxBulk imports run at once.
//
// Every error is an RFC 9457 problem+json document with a human-readable
// detail, including the answers no route gives (404, 405 with Allow):
// 400 for a wrong URL (path id, query), 422 for a body field that breaks a
// rule, 503 with Retry-After when the database stays busy past WriteWait.
// Internal errors are logged, never shown. Responses carry _links to
// related resources. The bearer key is compared in constant time. The
// userbot pool's routes take the admin token (KARMAGATE_ADMIN_TOKEN)
// instead, and refuse the website's API key.
package api
