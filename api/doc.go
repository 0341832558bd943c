// Package api is the website's REST API (under /api/v1), health and
// Prometheus metrics.
//
// Bodies are JSON or application/x-www-form-urlencoded (a plain HTML form
// works; multipart forms too); bulk takes a JSON array or NDJSON. Every
// error is an RFC 9457 problem+json document with a human-readable detail;
// internal errors are logged, never shown. Responses carry _links to related
// resources. The bearer key is compared in constant time.
package api
