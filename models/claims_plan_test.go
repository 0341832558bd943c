package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_ClaimsWalkOnlyWhatWaits: the statements behind a claim of
// updates, a claim of actions and a decision that supersedes queued
// actions read what waits through an index, never every row ever stored.
// Each once scanned the whole table (done rows too) on every call: behind
// a backlog the crash story's serve spent most of its CPU there and sent a
// third of the messages it could. SQLite's plans, which it makes without
// statistics, so they do not depend on the rows in the test.
func TestStore_ClaimsWalkOnlyWhatWaits(t *testing.T) {
	spec, ok := modelstest.Specs(t)["sqlite"]
	if !ok {
		t.Skip("no sqlite")
	}
	f := newFixture(t, spec)
	ctx := context.Background()
	// History: updates and actions done before.
	var ups []models.Update
	for i := range 50 {
		ups = append(ups, models.Update{UpdateID: int64(100 + i), Lane: int64(1 + i%5), Kind: "message", Payload: fmt.Sprintf(`{"update_id":%d}`, 100+i)})
	}
	if _, err := f.store.SaveUpdates(ctx, ups); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := f.store.ClaimUpdates(ctx, "w", 16, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		for _, u := range got {
			if err := f.store.FinishUpdate(ctx, u.UpdateID, "w", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.put(t, "alice", 150, "webmasters")
	if _, err := f.store.RelinkTelegram(ctx, "alice", models.TelegramUser{ID: 4101}, "bot"); err != nil {
		t.Fatal(err)
	}

	type stmt struct {
		sql  string
		vars []any
	}
	var seen []stmt
	models.CaptureStatements(f.db, func(sql string, vars []any) {
		if strings.Contains(sql, "actions") || strings.Contains(sql, "updates") {
			seen = append(seen, stmt{sql, vars})
		}
	})
	if _, err := f.store.SaveUpdates(ctx, []models.Update{{UpdateID: 500, Lane: 9, Kind: "message", Payload: `{"update_id":500}`}}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.ClaimUpdates(ctx, "w", 16, time.Minute); err != nil || len(got) != 1 {
		t.Fatalf("claim updates = %d, %v", len(got), err)
	}
	// alice's invite waits; a new decision about her cancels it.
	f.put(t, "alice", 10, "webmasters")
	if _, err := f.store.ClaimActions(ctx, "w", 16, time.Minute); err != nil {
		t.Fatal(err)
	}

	wanted := map[string]bool{"claim updates": false, "claim actions": false, "cancel": false}
	for _, s := range seen {
		var what string
		switch {
		case strings.Contains(s.sql, "FROM updates AS u") && strings.Contains(s.sql, "FOR UPDATE") || strings.Contains(s.sql, "FROM updates AS u") && strings.Contains(s.sql, "ORDER BY u.seq"):
			what = "claim updates"
		case strings.Contains(s.sql, "FROM `actions`") && strings.Contains(s.sql, "ORDER BY id"):
			what = "claim actions"
		case strings.HasPrefix(s.sql, "UPDATE actions SET status") && strings.Contains(s.sql, "CROSS JOIN") || strings.HasPrefix(s.sql, "UPDATE actions SET status") && strings.Contains(s.sql, "chat_states"):
			what = "cancel"
		default:
			continue
		}
		wanted[what] = true
		var plan []struct {
			ID, Parent, Notused int
			Detail              string
		}
		if err := f.db.Gorm().Raw("EXPLAIN QUERY PLAN "+s.sql, s.vars...).Scan(&plan).Error; err != nil {
			t.Fatalf("explain %s: %v\n%s", what, err, s.sql)
		}
		var lines []string
		for _, p := range plan {
			lines = append(lines, p.Detail)
		}
		text := strings.Join(lines, "\n")
		for _, bad := range []string{"SCAN actions", "SCAN updates", "SCAN u", "SCAN a ", "actions_claim (status=?)\nSEARCH cs"} {
			if strings.Contains(text+"\n", bad) && !(what == "cancel" && strings.HasPrefix(bad, "SCAN u")) {
				t.Errorf("%s walks the table (%q):\n%s\n-- plan:\n%s", what, bad, s.sql, text)
			}
		}
		if what != "cancel" && strings.Contains(text, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("%s sorts everything waiting on every claim instead of reading it in order:\n%s", what, text)
		}
		if what == "cancel" && strings.Contains(text, "actions_claim") {
			t.Errorf("cancel walks every waiting action (actions_claim) instead of the pair's (actions_member):\n%s", text)
		}
	}
	for what, ok := range wanted {
		if !ok {
			t.Errorf("no %s statement seen", what)
		}
	}
}
