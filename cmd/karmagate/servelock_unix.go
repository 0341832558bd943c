//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockServe takes an exclusive lock that one `serve` holds on a SQLite
// database for as long as it runs (PATH.serve.lock, 0600): a second serve
// on the same file is refused with a sentence instead of taking work from
// the first. Several instances need MariaDB. The returned function
// releases it; the lock also ends with the process.
func lockServe(spec string) (func(), error) {
	path, ok := strings.CutPrefix(spec, "sqlite:")
	if !ok {
		return func() {}, nil
	}
	path, _, _ = strings.Cut(path, "?")
	f, err := os.OpenFile(path+".serve.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the SQLite database for serve: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path + ".serve.lock")
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(holder))); err == nil {
				who = fmt.Sprintf("process %d", pid)
			}
			return nil, fmt.Errorf("another karmagate serve (%s) runs on the SQLite database %s: stop it first; several instances need MariaDB (KARMAGATE_DB=mysql:…)", who, path)
		}
		return nil, fmt.Errorf("lock the SQLite database for serve: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
