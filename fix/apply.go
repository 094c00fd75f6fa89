package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Executor runs commands for exec steps, snapshots and undos.
type Executor interface {
	Run(ctx context.Context, argv []string, stdin []byte) ([]byte, error)
}

// ExecExecutor runs commands on this machine.
type ExecExecutor struct{}

// Run implements Executor.
func (ExecExecutor) Run(ctx context.Context, argv []string, stdin []byte) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("fix: empty command")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_PAGER=", "DEBIAN_FRONTEND=noninteractive")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return out, fmt.Errorf("%s: %w: %s", commandLine(argv), err, msg)
	}
	return out, nil
}

// Options control an apply.
type Options struct {
	// StateDir holds the journals (/var/lib/sshdoctor, or inside --root).
	StateDir string
	// Exec runs commands; nil means ExecExecutor.
	Exec Executor
	// Validate checks the sshd configuration as it would be with these file
	// contents installed (path -> content), before any of them is; nil
	// means no validation is possible, and the plan says so.
	Validate func(ctx context.Context, candidates map[string][]byte) error
	// Verify checks, after guarded steps, that a fresh TCP connection and
	// SSH handshake to each port works; nil skips the check.
	Verify func(ctx context.Context, ports []int) error
	// ConfirmTimeout is how long an unconfirmed guarded apply lives; 0
	// turns the guard off.
	ConfirmTimeout time.Duration
	// WaitConfirm blocks until the person confirms on the terminal (Enter)
	// or ctx ends; nil means confirmation only by `sshdoctor confirm`.
	WaitConfirm func(ctx context.Context) bool
	// SpawnWatcher starts the detached rollback watcher for a journal; it
	// must survive this process. nil means no watcher (tests).
	SpawnWatcher func(journalDir string) error
	// Log receives progress lines for people (stderr).
	Log io.Writer
}

func (o *Options) exec() Executor {
	if o.Exec == nil {
		return ExecExecutor{}
	}
	return o.Exec
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Result is the outcome of one step.
type Result struct {
	Step  Step   `json:"step"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Outcome is what an apply did.
type Outcome struct {
	Journal *Journal `json:"-"`
	// Status is the journal's final status.
	Status  string   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
	Results []Result `json:"results"`
}

// ErrValidation is returned when the sshd configuration candidate does not
// validate: nothing was changed.
var ErrValidation = errors.New("the new sshd configuration does not validate")

// Apply carries out a plan: validate, journal, back up, change, and for
// guarded steps verify and wait for confirmation. On any failure what was
// done is undone. It returns the outcome even on error.
func Apply(ctx context.Context, p *Plan, o Options) (*Outcome, error) {
	out := &Outcome{}
	if p.Empty() {
		out.Status = StatusApplied
		return out, nil
	}
	// Validate every sshd configuration change together, before anything.
	cands := map[string][]byte{}
	for _, s := range p.Steps {
		if s.ValidateSSHD && s.Kind == KindWrite {
			cands[s.Path] = s.Content
		}
	}
	if len(cands) > 0 && o.Validate != nil {
		if err := o.Validate(ctx, cands); err != nil {
			out.Status, out.Reason = StatusFailed, err.Error()
			return out, fmt.Errorf("%w: %v; nothing was changed", ErrValidation, err)
		}
	}
	unlock, err := lock(o.StateDir)
	if err != nil {
		return out, err
	}
	j, err := newJournal(o.StateDir, p.Steps)
	if err != nil {
		unlock()
		return out, err
	}
	out.Journal = j
	guard := p.Guarded() && o.ConfirmTimeout > 0
	if guard {
		// The watcher starts before the first change, with a deadline that
		// already runs: if this process dies half-way, the changes still
		// roll back by themselves.
		j.M.Deadline = time.Now().Add(o.ConfirmTimeout + 30*time.Second)
		if err := j.save(); err != nil {
			unlock()
			return out, err
		}
		if o.SpawnWatcher != nil {
			if err := o.SpawnWatcher(j.Dir); err != nil {
				j.M.Status, j.M.Reason = StatusFailed, "could not start the rollback watcher: "+err.Error()
				_ = j.save()
				unlock()
				return out, fmt.Errorf("fix: %s; nothing was changed", j.M.Reason)
			}
		}
	}
	for i := range j.M.Entries {
		s := j.M.Entries[i].Step
		o.logf("applying: %s", s.Summary)
		err := j.do(ctx, i, o)
		out.Results = append(out.Results, Result{Step: s, OK: err == nil, Error: errString(err)})
		if err != nil {
			o.logf("failed: %v; undoing what was done", err)
			j.M.Reason = fmt.Sprintf("step %d (%s) failed: %v", i+1, s.Summary, err)
			undoErr := j.undo(ctx, o)
			j.M.Status = StatusFailed
			_ = j.save()
			unlock()
			out.Status, out.Reason = j.M.Status, j.M.Reason
			return out, errors.Join(fmt.Errorf("fix: %s", j.M.Reason), undoErr)
		}
	}
	if !guard {
		j.M.Status = StatusApplied
		err := j.save()
		unlock()
		out.Status = j.M.Status
		return out, err
	}
	unlock()
	return out, j.awaitConfirmation(ctx, p, o, out)
}

// awaitConfirmation verifies the guarded change and waits for a person to
// keep it; otherwise the change is rolled back.
func (j *Journal) awaitConfirmation(ctx context.Context, p *Plan, o Options, out *Outcome) error {
	ports := p.SSHPorts
	for _, s := range p.Steps {
		if s.Guarded && len(s.VerifyPorts) > 0 {
			ports = s.VerifyPorts
		}
	}
	if o.Verify != nil {
		o.logf("verifying: a fresh TCP connection and SSH handshake to port(s) %v", ports)
		if err := o.Verify(ctx, ports); err != nil {
			o.logf("verification failed: %v; rolling back now", err)
			return j.rollback(ctx, o, out, "the check after the change failed: "+err.Error())
		}
	}
	unlock, err := lock(o.StateDir)
	if err != nil {
		return err
	}
	j.M.Status = StatusAwaiting
	j.M.Deadline = time.Now().Add(o.ConfirmTimeout)
	err = j.save()
	unlock()
	if err != nil {
		return err
	}
	o.logf("The change is live. Keep it within %s: press Enter here, or run 'sshdoctor confirm' from a NEW ssh session (that proves you can still get in). Otherwise it is rolled back by itself.", o.ConfirmTimeout)
	confirmed := make(chan struct{}, 1)
	wctx, cancel := context.WithDeadline(ctx, j.M.Deadline)
	defer cancel()
	if o.WaitConfirm != nil {
		go func() {
			if o.WaitConfirm(wctx) {
				confirmed <- struct{}{}
			}
		}()
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-confirmed:
			if err := Confirm(o.StateDir, j.M.ID); err != nil {
				return err
			}
			o.logf("confirmed: the change is kept")
			out.Status = StatusConfirmed
			return nil
		case <-tick.C:
			cur, err := OpenJournal(j.Dir)
			if err != nil {
				return err
			}
			switch cur.M.Status {
			case StatusConfirmed:
				o.logf("confirmed from another session: the change is kept")
				out.Status = StatusConfirmed
				j.M = cur.M
				return nil
			case StatusRolled, StatusUndone:
				j.M = cur.M
				out.Status, out.Reason = cur.M.Status, cur.M.Reason
				return fmt.Errorf("fix: rolled back: %s", cur.M.Reason)
			}
			if time.Now().After(j.M.Deadline.Add(2 * time.Second)) {
				// The watcher should have acted; do it ourselves.
				return j.rollback(ctx, o, out, fmt.Sprintf("not confirmed within %s", o.ConfirmTimeout))
			}
		case <-ctx.Done():
			// Interrupted: the watcher rolls back at the deadline.
			return ctx.Err()
		}
	}
}

// rollback undoes an awaiting journal, unless it was confirmed meanwhile.
func (j *Journal) rollback(ctx context.Context, o Options, out *Outcome, reason string) error {
	unlock, err := lock(o.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := OpenJournal(j.Dir)
	if err != nil {
		return err
	}
	if cur.M.Status == StatusConfirmed || cur.M.Status == StatusRolled || cur.M.Status == StatusUndone {
		j.M = cur.M
		out.Status = cur.M.Status
		return nil
	}
	j.M = cur.M
	undoErr := j.undo(ctx, o)
	j.M.Status, j.M.Reason = StatusRolled, reason
	if err := j.save(); err != nil {
		return err
	}
	out.Status, out.Reason = StatusRolled, reason
	return errors.Join(fmt.Errorf("fix: rolled back: %s", reason), undoErr)
}

// Confirm marks a journal (or, with id empty, every journal awaiting
// confirmation) as kept. It returns the ids confirmed through the error
// when there was nothing to confirm.
func Confirm(stateDir, id string) error {
	unlock, err := lock(stateDir)
	if err != nil {
		return err
	}
	defer unlock()
	js, err := Journals(stateDir)
	if err != nil {
		return err
	}
	n := 0
	for _, j := range js {
		if id != "" && j.M.ID != id {
			continue
		}
		if j.M.Status != StatusAwaiting {
			continue // only a verified, live change can be kept
		}
		j.M.Status = StatusConfirmed
		if err := j.save(); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return ErrNothingToConfirm
	}
	return nil
}

// ErrNothingToConfirm says no guarded change is waiting.
var ErrNothingToConfirm = errors.New("no change is waiting for confirmation")

// Watch is the rollback watcher: it waits for the journal's deadline and
// rolls the change back unless it was confirmed. It runs detached from the
// process that applied the change, so a lost session cannot stop it.
func Watch(ctx context.Context, dir string, o Options) error {
	for {
		j, err := OpenJournal(dir)
		if err != nil {
			return err
		}
		switch j.M.Status {
		case StatusConfirmed, StatusRolled, StatusUndone, StatusFailed, StatusApplied:
			return nil
		}
		if !j.M.Deadline.IsZero() && time.Now().After(j.M.Deadline) {
			o.StateDir = filepath.Dir(filepath.Dir(dir))
			var out Outcome
			return j.rollback(ctx, o, &out, "not confirmed in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Undo restores what the last apply (the newest journal that changed
// anything) changed, and marks it undone.
func Undo(ctx context.Context, o Options) (*Journal, error) {
	unlock, err := lock(o.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	js, err := Journals(o.StateDir)
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		switch j.M.Status {
		case StatusApplied, StatusConfirmed, StatusApplying, StatusAwaiting:
			err := j.undo(ctx, o)
			j.M.Status, j.M.Reason = StatusUndone, "fix --undo"
			if serr := j.save(); serr != nil {
				return j, serr
			}
			return j, err
		}
	}
	return nil, ErrNothingToUndo
}

// ErrNothingToUndo says no journal holds changes to undo.
var ErrNothingToUndo = errors.New("no applied change to undo")

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
