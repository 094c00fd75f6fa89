//go:build linux

package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ToolPackage is the command Tool builds.
const ToolPackage = "github.com/sshdoctor/sshdoctor/cmd/sshdoctor"

// toolDirPattern names the directory Tool builds into: the PID lets Sweep
// remove it once this test binary is gone.
const toolDirPattern = "sshdoctor-lab-tool-%d-"

var tool struct {
	once sync.Once
	dir  string // the build directory, removed by Main
	path string
	err  error
}

// Tool returns the path of an sshdoctor binary built from this tree, building
// it once per test binary. SSHDOCTOR_LAB_TOOL, if set, names a binary to use
// instead (CI can build it once for every package).
//
// The binary goes into a fresh directory under os.TempDir named after the
// test binary's PID. Main removes it when the tests end; without Main
// (a package whose TestMain does not call it), Sweep removes it in the first
// lab test run after this process has exited. No finalizers are involved.
func Tool(t testing.TB) string {
	t.Helper()
	tool.once.Do(func() {
		if p := os.Getenv("SSHDOCTOR_LAB_TOOL"); p != "" {
			tool.path, tool.err = filepath.Abs(p)
			return
		}
		tool.dir, tool.err = os.MkdirTemp("", fmt.Sprintf(toolDirPattern, os.Getpid()))
		if tool.err != nil {
			return
		}
		out := filepath.Join(tool.dir, "sshdoctor")
		// go test runs a test binary in its package's directory, which is
		// inside this module, so go build finds the module from there.
		cmd := exec.Command("go", "build", "-o", out, ToolPackage)
		if b, err := cmd.CombinedOutput(); err != nil {
			tool.err = fmt.Errorf("building %s: %w\n%s", ToolPackage, err, b)
			return
		}
		tool.path = out
	})
	if tool.err != nil {
		t.Fatalf("lab: %v", tool.err)
	}
	return tool.path
}

// Main runs the tests and then removes what the lab keeps for the whole test
// binary (the binary Tool built). Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(lab.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if tool.dir != "" {
		if err := os.RemoveAll(tool.dir); err != nil {
			fmt.Fprintf(os.Stderr, "lab: removing %s: %v\n", tool.dir, err)
		}
	}
	return code
}

// RunTool runs sshdoctor (see Tool) with args inside the host and returns
// its stdout, stderr and exit status. The environment is clean and
// deterministic: PATH, HOME (an empty temporary directory), LANG=C,
// NO_COLOR=1, no SSH_AUTH_SOCK, then env on top (it may override any of
// these). A tool that runs longer than CommandTimeout is killed and fails
// the test with what it had printed.
func (h *Host) RunTool(t testing.TB, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	bin := Tool(t)
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := h.Command(ctx, bin, args...)
	cmd.Env = append(cleanEnv(t.TempDir()), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lab: sshdoctor %q in %s still running after %s; killed.\nstdout:\n%s\nstderr:\n%s",
			args, h.Name, CommandTimeout, out.String(), errOut.String())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		exit = exitErr.ExitCode()
	default:
		t.Fatalf("lab: running sshdoctor in %s: %v\nstderr:\n%s", h.Name, err, errOut.String())
	}
	return out.String(), errOut.String(), exit
}
