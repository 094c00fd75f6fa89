package firewall

import (
	"context"
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// FixtureRunner is a host.Runner that answers commands from a table: the
// key is the command line joined by spaces ("nft -j list ruleset"). A
// command not in the table is not installed (host.ErrNotFound). Tests use
// it to run the gathering code on saved output.
type FixtureRunner map[string]FixtureOutput

// FixtureOutput is the canned answer to one command.
type FixtureOutput struct {
	// Stdout is what the command prints.
	Stdout string
	// Err, when not empty, makes the command fail with this message on
	// standard error (exit status 1).
	Err string
}

// Run looks the command up.
func (f FixtureRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	out, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", host.ErrNotFound, name)
	}
	if out.Err != "" {
		return []byte(out.Stdout), &host.ExitError{Cmd: name, Code: 1, Stderr: out.Err}
	}
	return []byte(out.Stdout), nil
}
