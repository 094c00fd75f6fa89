// Package cli implements sshdoctor's command line: one file per subcommand.
// Main is the only place where errors become exit statuses.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sshdoctor/sshdoctor/report"
)

// Version is the program version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// UsageError is bad usage or bad input: exit status 2, one line on stderr
// saying what is wrong and what to do.
type UsageError struct {
	Msg  string // what is wrong
	Hint string // what to do; may be empty
}

func (e *UsageError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + "; " + e.Hint
}

func usagef(hint, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// exitError carries a report's exit status out of a command that has already
// printed its output.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// env is what every command gets: its streams and the process environment,
// replaceable in tests.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"check", "diagnose SSH to DESTINATION from this machine", runCheck},
		{"server", "inspect the SSH server on this machine (or an offline tree with --root)", runServer},
		{"scan", "diagnose many destinations at once (JSON Lines with --json; --listen for Prometheus)", runScan},
		{"fix", "plan, and with --apply carry out, the fixes for findings", runFix},
		{"port", "move sshd to another port without locking anyone out: port move N", runPort},
		{"confirm", "keep a guarded change (run it from a new session)", runConfirm},
		{"keys", "make, install and rotate SSH keys (keys new|install|rotate)", runKeys},
		{"explain", "print the documentation of one finding code", runExplain},
		{"version", "print the version", func(e *env, _ []string) error {
			fmt.Fprintln(e.stdout, "sshdoctor", Version)
			return nil
		}},
	}
}

// Main runs sshdoctor with args (without the program name) and returns the
// exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return e.main(args)
}

func (e *env) main(args []string) (code int) {
	defer func() {
		// A bug must never show a stack trace to a user mid-diagnosis; say
		// what happened and exit with the tool-failure status.
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "sshdoctor: internal error: %v; please report this with the command you ran\n", r)
			code = report.ExitTool
		}
	}()
	if len(args) == 0 {
		e.usage(e.stderr)
		return report.ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		e.usage(e.stdout)
		return report.ExitOK
	case "-V", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return e.exit(c.run(e, args[1:]))
		}
	}
	return e.exit(usagef("run 'sshdoctor --help' for the list of commands", "unknown command %q", name))
}

func (e *env) exit(err error) int {
	if err == nil {
		return report.ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return int(ee)
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "sshdoctor: %s\n", oneLine(ue.Error()))
		return report.ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(e.stderr, "sshdoctor: interrupted")
		return report.ExitTool
	}
	fmt.Fprintf(e.stderr, "sshdoctor: %s\n", oneLine(err.Error()))
	return report.ExitTool
}

func oneLine(s string) string {
	return report.Escape(strings.TrimSpace(s))
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintln(w, "sshdoctor tells exactly why SSH to a host fails, and how to fix it.")
	fmt.Fprintln(w, "\nUsage:\n  sshdoctor COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'sshdoctor COMMAND --help' for the flags of a command.")
}
