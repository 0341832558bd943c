//go:build unix

package worker

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// DeadHere reports whether owner (host:pid:…, DefaultOwner) names a
// process of this host that does not exist.
func DeadHere(owner string) bool {
	host, rest, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	me, err := os.Hostname()
	if err != nil || me != host {
		return false
	}
	pidText, _, _ := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
