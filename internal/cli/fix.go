package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/fix"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/report"
)

// fixReport is the JSON document of `fix --json`: the diagnosis before, the
// plan, what was done, and the diagnosis after.
type fixReport struct {
	Schema   string          `json:"schema"`
	Command  string          `json:"command"`
	Target   *report.Target  `json:"target,omitempty"`
	Applied  bool            `json:"applied"`
	Plan     []fix.Step      `json:"plan"`
	Manual   []fix.Step      `json:"manual"`
	Skipped  []string        `json:"skipped"`
	Status   string          `json:"status,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Results  []fix.Result    `json:"results"`
	OK       bool            `json:"ok"`
	Findings []check.Finding `json:"findings"`
	Before   []check.Finding `json:"before"`
}

func runFix(e *env, args []string) error {
	fs := newFlagSet("fix", "sshdoctor fix [DEST] [--root DIR] [--user U] [--from ADDR] [--key PUB] [--only CODE,...] [--apply] [--yes] [--json] [--confirm-timeout D]\n       sshdoctor fix --undo")
	var df diagFlags
	df.register(fs)
	var sf serverFlags
	sf.register(fs)
	only := fs.String("only", "", "fix only these finding codes (comma-separated); needed for accounts, Allow/Deny and known_hosts")
	apply := fs.Bool("apply", false, "carry out the plan (it asks first unless --yes)")
	yes := fs.Bool("yes", false, "do not ask before applying")
	undo := fs.Bool("undo", false, "restore what the last apply changed")
	confirmTimeout := waitFlag(60 * time.Second)
	fs.Var(&confirmTimeout, "confirm-timeout", "how long a change that can cut the connection waits for confirmation before it rolls back (0 turns the guard off)")
	watch := fs.String("watch", "", "")
	stateDir := fs.String("state-dir", "", "where journals are kept (default /var/lib/sshdoctor, inside --root when given)")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("give at most one DEST", "unexpected argument %q", pos[1])
	}
	if sf.user == "" {
		sf.user = df.user
	}
	var onlyCodes []string
	for _, c := range strings.Split(*only, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if _, ok := check.Lookup(c); !ok {
			hint := "run 'sshdoctor explain --list' for the codes"
			if sim := check.Similar(c); len(sim) > 0 {
				hint = "did you mean " + strings.Join(sim, ", ") + "?"
			}
			return usagef(hint, "--only: unknown finding code %q", c)
		}
		onlyCodes = append(onlyCodes, c)
	}
	state := *stateDir
	if state == "" {
		state = defaultStateDir(sf.root, len(pos) == 1)
	}
	opts := fix.Options{StateDir: state, Log: e.stderr, ConfirmTimeout: time.Duration(confirmTimeout)}

	switch {
	case *watch != "":
		return fix.Watch(e.ctx, *watch, opts)
	case *undo:
		j, err := fix.Undo(e.ctx, opts)
		if errors.Is(err, fix.ErrNothingToUndo) {
			return usagef("nothing was applied from "+state, "%v", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Restored what the apply of %s changed (%d steps).\n", j.M.ID, len(j.M.Entries))
		return nil
	}

	if len(pos) == 0 {
		return runFixServer(e, sf, onlyCodes, *apply, *yes, df.json, opts)
	}
	o, err := checkOptions(e, pos[0], df)
	if err != nil {
		return err
	}
	r, facts, err := diag.Check(e.ctx, o)
	if err != nil {
		var de *dest.Error
		if errors.As(err, &de) {
			return &UsageError{Msg: de.Error(), Hint: de.Hint}
		}
		return err
	}
	cfg := df.sshConfig
	if cfg == "" {
		cfg = filepath.Join(homeOf(e), ".ssh", "config")
	}
	plan, err := fix.PlanClient(r.Findings, facts, fix.ClientOptions{ConfigFile: cfg, Only: onlyCodes})
	if err != nil {
		return err
	}
	after := func() (*report.Report, error) {
		r2, _, err := diag.Check(e.ctx, o)
		return r2, err
	}
	return e.runPlan(r, plan, *apply, *yes, df.json, opts, after)
}

// runPlan shows the plan, applies it when asked, runs the diagnosis again
// and reports.
func (e *env) runPlan(before *report.Report, plan *fix.Plan, apply, yes, asJSON bool, opts fix.Options, again func() (*report.Report, error)) error {
	fr := &fixReport{Schema: report.Schema, Command: "fix", Target: before.Target, Plan: plan.Steps, Manual: plan.Manual,
		Skipped: plan.Skipped, Before: before.Findings, Findings: before.Findings, OK: before.OK, Results: []fix.Result{}}
	if fr.Plan == nil {
		fr.Plan = []fix.Step{}
	}
	if fr.Manual == nil {
		fr.Manual = []fix.Step{}
	}
	if fr.Skipped == nil {
		fr.Skipped = []string{}
	}
	if !asJSON {
		fmt.Fprintf(e.stdout, "Plan for %s:\n", planSubject(before))
		fmt.Fprint(e.stdout, plan.Render())
	}
	if !apply || plan.Empty() {
		if !asJSON && !plan.Empty() {
			fmt.Fprintln(e.stdout, "\nNothing was changed. Run again with --apply to carry this out.")
		}
		return e.finishFix(fr, before, asJSON)
	}
	if !yes {
		ok, err := askApply()
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(e.stderr, "Nothing was changed.")
			return e.finishFix(fr, before, asJSON)
		}
	}
	fr.Applied = true
	out, applyErr := e.apply(plan, opts)
	if out != nil {
		fr.Status, fr.Reason, fr.Results = out.Status, out.Reason, out.Results
		if fr.Results == nil {
			fr.Results = []fix.Result{}
		}
	}
	if errors.Is(applyErr, fix.ErrValidation) {
		fr.Reason = applyErr.Error()
	}
	if r2, err := again(); err == nil {
		fr.Findings, fr.OK = r2.Findings, r2.OK
		if !asJSON {
			fmt.Fprintln(e.stdout, "\nAfter the change:")
			_ = report.WriteText(e.stdout, r2, report.TextOptions{Color: e.color()})
		}
	}
	if applyErr != nil && !asJSON {
		fmt.Fprintf(e.stderr, "sshdoctor: %s\n", oneLine(applyErr.Error()))
	}
	if err := e.finishFix(fr, before, asJSON); err != nil && applyErr == nil {
		return err
	}
	if applyErr != nil {
		return exitError(report.ExitFailed)
	}
	if !fr.OK {
		return exitError(report.ExitFailed)
	}
	return nil
}

// askApply asks on the terminal whether to apply.
func askApply() (bool, error) {
	if !isTerminal(os.Stdin) {
		return false, usagef("add --yes to apply without a terminal", "--apply needs a confirmation")
	}
	fmt.Fprint(os.Stderr, "Apply these changes? [y/N] ")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// apply carries out a plan, with the detached rollback watcher and the
// terminal confirmation when a guarded step needs them.
func (e *env) apply(plan *fix.Plan, opts fix.Options) (*fix.Outcome, error) {
	if opts.ConfirmTimeout > 0 && plan.Guarded() {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.SpawnWatcher = func(dir string) error { return fix.SpawnWatcher(self, dir) }
		if isTerminal(os.Stdin) {
			opts.WaitConfirm = waitEnter
		}
	}
	return fix.Apply(e.ctx, plan, opts)
}

func (e *env) finishFix(fr *fixReport, before *report.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(fr); err != nil {
			return err
		}
	}
	if !fr.OK {
		return exitError(report.ExitFailed)
	}
	return nil
}

func planSubject(r *report.Report) string {
	if r.Subject != "" {
		return r.Subject
	}
	return "this machine"
}

func waitEnter(ctx context.Context) bool {
	got := make(chan bool, 1)
	go func() {
		_, err := bufio.NewReader(os.Stdin).ReadString('\n')
		got <- err == nil
	}()
	select {
	case ok := <-got:
		return ok
	case <-ctx.Done():
		return false
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func homeOf(e *env) string {
	if h := e.getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// defaultStateDir is where journals live: /var/lib/sshdoctor for root,
// inside the tree for --root, and the user's state directory for client
// fixes by an ordinary user.
func defaultStateDir(root string, client bool) string {
	if root != "" {
		return filepath.Join(root, "var/lib/sshdoctor")
	}
	if client && os.Geteuid() != 0 {
		if x := os.Getenv("XDG_STATE_HOME"); x != "" {
			return filepath.Join(x, "sshdoctor")
		}
		h, _ := os.UserHomeDir()
		return filepath.Join(h, ".local/state/sshdoctor")
	}
	return "/var/lib/sshdoctor"
}

func runConfirm(e *env, args []string) error {
	fs := newFlagSet("confirm", "sshdoctor confirm   (keep a guarded change; run it from a new session)")
	stateDir := fs.String("state-dir", "/var/lib/sshdoctor", "where journals are kept")
	if _, err := fs.parse(args, e.stdout); err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if err := fix.Confirm(*stateDir, ""); err != nil {
		if errors.Is(err, fix.ErrNothingToConfirm) {
			return usagef("it may have been rolled back already: see 'sshdoctor fix' again", "%v", err)
		}
		return err
	}
	fmt.Fprintln(e.stdout, "Confirmed: the change is kept.")
	return nil
}
