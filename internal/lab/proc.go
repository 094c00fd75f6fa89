//go:build linux

package lab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StopGrace is how long Proc.Stop waits after SIGTERM before it sends
// SIGKILL.
var StopGrace = 5 * time.Second

// Proc is a background process started by the lab. Its stdout and stderr
// are collected together; Output returns what it has written so far.
type Proc struct {
	Cmd *exec.Cmd // the running command; Cmd.Process.Pid is the process itself

	grace    time.Duration // between SIGTERM and SIGKILL in Stop
	out      lockedBuffer
	done     chan struct{}
	err      error // Wait's result, set before done is closed
	stopOnce sync.Once
	stopErr  error
}

// startProc starts cmd with its output captured, and stops it at cleanup.
func startProc(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	return startProcGrace(t, cmd, StopGrace)
}

// startProcGrace is startProc for a process that needs longer than
// StopGrace to end cleanly after SIGTERM.
func startProcGrace(t testing.TB, cmd *exec.Cmd, grace time.Duration) *Proc {
	t.Helper()
	p := &Proc{Cmd: cmd, done: make(chan struct{}), grace: grace}
	cmd.Stdout = &p.out
	cmd.Stderr = &p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: starting %s: %v", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("lab: stopping %s: %v", strings.Join(cmd.Args, " "), err)
		}
	})
	return p
}

// Output returns everything the process has written to stdout and stderr so
// far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process has exited and been waited for.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error (as from exec.Cmd.Wait) once Done is
// closed, and nil before.
func (p *Proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process: SIGTERM, then SIGKILL after a grace period
// (StopGrace unless the lab knows the process needs longer), and waits
// for it. It returns an error only if the process could not be ended;
// exiting by the signal is what was asked. Calling it again returns the
// first result.
func (p *Proc) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Proc) stop() error {
	// Signal fails only when the process has already exited: fine.
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(p.grace):
	}
	_ = p.Cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(5*time.Second + p.Cmd.WaitDelay):
		return fmt.Errorf("pid %d still not reaped after SIGKILL", p.Cmd.Process.Pid)
	}
}

// lockedBuffer is a bytes.Buffer safe for the writers exec starts and a
// reader in the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
