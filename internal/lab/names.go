//go:build linux

package lab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// Prefix begins the name of every network namespace and container the lab
// makes: Prefix, the PID of the test binary, a counter, a role. Sweep relies on
// it to recognise leftovers, so nothing else should use it.
const Prefix = "sdl-"

// RunDir holds the lab's per-test files that sshd must trust (its config, host
// keys, authorized_keys). It is not under /tmp because sshd's StrictModes walk
// rejects any group- or world-writable directory on the path to
// authorized_keys, sticky bit or not, so /tmp and /var/tmp never pass.
const RunDir = "/run/sshdoctor-lab"

var seq atomic.Uint32

// nextSeq numbers topologies within this test binary.
func nextSeq() uint32 { return seq.Add(1) }

// nsName builds a namespace name that is unique per test binary (the PID) and
// per topology (n), e.g. "sdl-1234-3-srv".
func nsName(n uint32, role string) string {
	return fmt.Sprintf("%s%d-%d-%s", Prefix, os.Getpid(), n, role)
}

// ownerPID returns the PID embedded in a name made by nsName, or in a
// directory name of the form "<pid>-...".
func ownerPID(name string) (int, bool) {
	name = strings.TrimPrefix(name, Prefix)
	head, _, ok := strings.Cut(name, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(head)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// pidAlive reports whether a process with this PID exists. A reused PID reads
// as alive, which only makes Sweep keep something a little longer.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// trustedDir makes a fresh directory under RunDir whose every path component
// is root-owned and not group- or world-writable, so sshd with StrictModes
// accepts the files in it. It is removed when the test ends.
func trustedDir(t testing.TB) string {
	t.Helper()
	if err := os.MkdirAll(RunDir, 0o700); err != nil {
		t.Fatalf("lab: %v", err)
	}
	// MkdirAll leaves an existing directory as it is; make sure nobody
	// loosened it, or every sshd login would fail for a confusing reason.
	if err := os.Chmod(RunDir, 0o700); err != nil {
		t.Fatalf("lab: %v", err)
	}
	dir, err := os.MkdirTemp(RunDir, fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("lab: removing %s: %v", dir, err)
		}
	})
	return dir
}
