package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestRun_BindCode: karmagate bind-code KEY prints /bind KEY CODE with a
// code the store takes once, for that chat only.
func TestRun_BindCode(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "k.db")
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(modelstest.Rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(testContext(t), []string{"migrate", "--db", db}, mapEnv(), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	env := mapEnv("KARMAGATE_DB", db, "KARMAGATE_RULES", rules)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no key", []string{"bind-code"}, "name the chat"},
		{"a flag first", []string{"bind-code", "--db", db}, "name the chat"},
		{"an unknown chat", []string{"bind-code", "nosuch"}, `no chat "nosuch"`},
		{"a stray argument", []string{"bind-code", "webmasters-pro", "extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(testContext(t), tc.args, env, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || out.Len() != 0 {
				t.Fatalf("err = %v, stdout %q; want %q and nothing printed", err, out.String(), tc.wantErr)
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := run(testContext(t), []string{"bind-code", "webmasters-pro"}, env, &out, &errOut); err != nil {
		t.Fatalf("bind-code: %v (%s)", err, errOut.String())
	}
	cmd := strings.Fields(out.String())
	if len(cmd) != 3 || cmd[0] != "/bind" || cmd[1] != "webmasters-pro" || !strings.Contains(errOut.String(), "works once") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	ctx := context.Background()
	mdb, err := models.Open(ctx, db, models.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	store := models.NewStore(mdb, modelstest.MustRules(t, modelstest.Rules), models.Options{})
	if err := store.TakeBindCode(ctx, "customers-club", cmd[2], 1); err == nil {
		t.Error("the code bound another chat")
	}
	if err := store.TakeBindCode(ctx, "webmasters-pro", cmd[2], 1); err != nil {
		t.Errorf("the printed code: %v", err)
	}
}
