//go:build unix

package worker

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

func TestDeadHere(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		name  string
		owner string
		want  bool
	}{
		{"a process of this host that is gone", fmt.Sprintf("%s:%d:abcd", host, gone.Process.Pid), true},
		{"this process", fmt.Sprintf("%s:%d:abcd", host, os.Getpid()), false},
		{"a live process", fmt.Sprintf("%s:%d:abcd", host, os.Getppid()), false},
		{"another host", fmt.Sprintf("elsewhere-%s:%d:abcd", host, gone.Process.Pid), false},
		{"not host:pid", "standby", false},
		{"no pid", host + ":x:abcd", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DeadHere(tc.owner); got != tc.want {
				t.Errorf("DeadHere(%q) = %v, want %v", tc.owner, got, tc.want)
			}
		})
	}
}
