package models_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
)

// TestOpen_FileModes: the SQLite database and its -wal and -shm files hold
// member data, phone numbers and deep-link tokens; only karmagate's user may
// read them (0600), whatever the umask, and files left looser by an older
// version are tightened on open, with a log line.
func TestOpen_FileModes(t *testing.T) {
	ctx := context.Background()
	files := func(path string) []string { return []string{path, path + "-wal", path + "-shm"} }
	check := func(t *testing.T, path string) {
		t.Helper()
		for _, f := range files(path) {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatalf("stat %s: %v", filepath.Base(f), err)
			}
			if mode := st.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %#o, want 0600", filepath.Base(f), mode)
			}
		}
	}
	t.Run("a new database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "karmagate.db")
		db, err := models.Open(ctx, "sqlite:"+path, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, path)
	})
	t.Run("an existing database readable by others", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "karmagate.db")
		db, err := models.Open(ctx, "sqlite:"+path, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, f := range files(path) {
			// -wal and -shm may be gone after a clean close: create them
			// again, empty, as SQLite would.
			fh, err := os.OpenFile(f, os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			fh.Close()
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		db, err = models.Open(ctx, "sqlite:"+path+"?_pragma=busy_timeout(5000)", models.OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, path)
		if !strings.Contains(logs.String(), "0600") {
			t.Errorf("no log line about tightening the modes; logs:\n%s", logs.String())
		}
	})
}
