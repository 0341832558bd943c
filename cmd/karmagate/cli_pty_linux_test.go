//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what the program sees (its
// terminal) and what the test types into and reads from.
func openPTY(t *testing.T) (term, tty *os.File) {
	t.Helper()
	term, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(term.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(term.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close(); tty.Close() })
	return term, tty
}

// screen collects what a program writes to its terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want n times.
func (s *screen) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(s.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q (%d times):\n%s", want, n, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2E_CLILoginAfterATypo (issue 17): `karmagate userbot login` in a
// terminal, a wrong code typed first, then the right one: the login goes
// on (it once forgot its own id after a typo, "userbot 0: not found"),
// the account is ready, and the code typed is not echoed.
func TestE2E_CLILoginAfterATypo(t *testing.T) {
	t.Parallel()
	e := newUserbotE2E(t, threeChatRules)
	const phone = "+31611119001"
	e.person("Typo", phone, "")
	term, tty := openPTY(t)
	cmd := exec.Command(os.Args[0], "userbot", "login", "--phone", phone)
	cmd.Dir, cmd.Env = e.dir, e.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var sc screen
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := term.Read(b)
			sc.mu.Lock()
			sc.buf.Write(b[:n])
			sc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	sc.waitFor(t, "Code Telegram sent", 1)
	code := e.code(phone, "")
	wrong := "00000"
	if code == wrong {
		wrong = "11111"
	}
	io.WriteString(term, wrong+"\n")
	sc.waitFor(t, "Code Telegram sent", 2) // asked again
	io.WriteString(term, code+"\n")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("userbot login after a typo: %v\n%s", err, sc.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("userbot login did not finish:\n%s", sc.String())
	}
	if !strings.Contains(sc.String(), "is ready") {
		t.Fatalf("userbot login said:\n%s", sc.String())
	}
	list := e.cli("userbot", "list")
	if !strings.Contains(list, phone) || !strings.Contains(list, "ready") {
		t.Errorf("userbot list after the login:\n%s", list)
	}
}
