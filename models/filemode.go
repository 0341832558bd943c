package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
)

// FileMode is the mode of every file karmagate creates: the SQLite
// database and its -wal and -shm files hold members' names, phone numbers
// and, for a while, raw deep-link tokens; only karmagate's own user may
// read them.
const FileMode fs.FileMode = 0o600

// sqliteFile is the file an SQLite DSN names, or "" for an in-memory
// database.
func sqliteFile(dsn string) string {
	p, q, _ := strings.Cut(dsn, "?")
	vals, _ := url.ParseQuery(q)
	if strings.HasPrefix(p, "file:") {
		p = strings.TrimPrefix(p, "file:")
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	if p == "" || strings.HasPrefix(p, ":memory:") || vals.Get("mode") == "memory" || vals.Get("vfs") == "memdb" {
		return ""
	}
	return p
}

// prepareSQLiteFile creates the database file with FileMode before SQLite
// opens it, so that SQLite, which gives the -wal and -shm files the mode of
// the database file, creates those 0600 too; a file that exists with a
// looser mode (an older version made them 0644) is tightened, with a log
// line.
func prepareSQLiteFile(ctx context.Context, path string, log *slog.Logger) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("create the SQLite database %s: %w", path, err)
		}
		return nil
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create the SQLite database %s: %w", path, err)
	}
	return tightenSQLiteFiles(ctx, path, log)
}

// tightenSQLiteFiles sets FileMode on the database file and on its -wal and
// -shm files where they exist with a looser mode.
func tightenSQLiteFiles(ctx context.Context, path string, log *slog.Logger) error {
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check the mode of %s: %w", f, err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&^FileMode == 0 {
			continue
		}
		if err := os.Chmod(f, FileMode); errors.Is(err, fs.ErrPermission) {
			// Another user owns it: refusing to start would not make it
			// private, so say loudly what to do and go on.
			log.ErrorContext(ctx, "the SQLite file is readable by others and karmagate may not change its mode: chown it to karmagate's user and chmod 0600",
				"file", f, "mode", fmt.Sprintf("%#o", st.Mode().Perm()), "err", err)
			continue
		} else if err != nil {
			return fmt.Errorf("make %s readable by its owner only (chmod 0600): %w", f, err)
		}
		log.WarnContext(ctx, "the SQLite file was readable by others: its mode is now 0600", "file", f, "was", fmt.Sprintf("%#o", st.Mode().Perm()))
	}
	return nil
}
