// Package source pulls a website's members from its own database, for
// sites that would rather not call the REST API (KARMAGATE_SOURCE and the
// rules' source: section).
//
// A Poller runs the rules' query (source.query) every source.every through
// a Fetcher (MySQL: a read-only transaction on the site's MySQL or MariaDB
// database) and applies what changed through the same store path as the
// REST API's bulk import (Store.PutMembers): it reads karmagate's own member
// rows page by page, sends only the members whose karma, groups or profile
// differ, and so re-plans only those. Rows it cannot take (a bad id, karma
// that is not an integer, an unknown group, …) are refused one by one,
// reported in the log, the audit trail and a metric, and never hold up the
// rest.
//
// A member the query no longer returns is deleted as DELETE
// /api/v1/members/{id} would, but only after a poll that ran to its end,
// returned at least one row, and would delete no more than source.max_delete
// (a share of karmagate's members; 10% by default): a poll that would
// delete more deletes nobody and says so loudly, since an emptied or
// mistyped table is likelier than a tenth of a site's members leaving at
// once.
package source
