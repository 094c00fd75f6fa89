// Package host describes the machine `sshdoctor server` inspects: the live
// system, or an offline tree (--root) such as a broken machine's disk
// mounted elsewhere. Subsystem inspectors live in host/<subsystem> and only
// gather facts; the check package judges them.
package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// System is the machine under inspection.
type System struct {
	// Root is "/" for the live system, or the directory an offline tree is
	// mounted at. Every file path is resolved inside it.
	Root string
	// Live is true when the running kernel, services and commands belong to
	// the system inspected; false for an offline tree, where only files count.
	Live bool
	// Run runs commands on the live system; nil offline.
	Run Runner
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LiveSystem returns the running system, with commands run by exec.
func LiveSystem() System {
	return System{Root: "/", Live: true, Run: ExecRunner{}}
}

// Offline returns a System for a tree at root; nothing is executed.
func Offline(root string) System {
	return System{Root: root}
}

// Path returns p (an absolute path on the inspected system) as a path on
// this machine.
func (s System) Path(p string) string {
	if s.Root == "" || s.Root == "/" {
		return p
	}
	return filepath.Join(s.Root, p)
}

// ReadFile reads a file of the inspected system.
func (s System) ReadFile(p string) ([]byte, error) {
	return os.ReadFile(s.Path(p))
}

// Lstat stats a file of the inspected system without following a final
// symlink.
func (s System) Lstat(p string) (os.FileInfo, error) {
	return os.Lstat(s.Path(p))
}

// Clock returns the current time on the inspected system.
func (s System) Clock() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Command runs a command on the live system and returns its stdout. Offline
// it returns ErrOffline; a missing program gives ErrNotFound.
func (s System) Command(ctx context.Context, name string, args ...string) ([]byte, error) {
	if !s.Live || s.Run == nil {
		return nil, ErrOffline
	}
	return s.Run.Run(ctx, name, args...)
}

// Errors of Command.
var (
	ErrOffline  = errors.New("host: offline tree: commands are not run")
	ErrNotFound = errors.New("host: program not installed")
)

// Runner runs programs. Tests replace it to run inside a namespace or to
// replay recorded output.
type Runner interface {
	// Run runs name with args and returns stdout. A non-zero exit returns
	// stdout together with an *ExitError holding stderr.
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Cmd    string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		return fmt.Sprintf("%s: exit status %d", e.Cmd, e.Code)
	}
	return fmt.Sprintf("%s: exit status %d: %s", e.Cmd, e.Code, msg)
}

// ExecRunner runs programs with os/exec, with a 10s safety timeout.
type ExecRunner struct {
	// Prefix is prepended to every command line (e.g. "ip netns exec NS");
	// empty runs directly.
	Prefix []string
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if len(r.Prefix) == 0 {
		if _, err := exec.LookPath(name); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	argv := append(append(append([]string(nil), r.Prefix...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_PAGER=", "PAGER=cat", "SYSTEMD_COLORS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, &ExitError{Cmd: name, Code: ee.ExitCode(), Stderr: stderr.String()}
		}
		return out, fmt.Errorf("host: %s: %w", name, err)
	}
	return out, nil
}
