//go:build linux

package lab

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Require skips the test unless it runs as root and every named tool (and
// always ip) can be found. A tool is a command name looked up in PATH or an
// absolute path. When the environment has CI=true the test fails instead,
// because CI installs everything the lab needs and a skip there would hide a
// test that never ran.
//
// The first successful Require of a test binary also runs Sweep, so leftovers
// of an earlier, crashed run are gone before this run makes new hosts.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "not running as root")
	}
	var missing []string
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
	}
	if len(problems) > 0 {
		msg := fmt.Sprintf("lab: %s; run as root on Debian with the packages listed in shared/LAB.md installed", strings.Join(problems, "; "))
		if inCI() {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		}
		t.Skip(msg)
	}
	sweepOnce.Do(func() {
		if err := sweep(true); err != nil {
			t.Logf("lab: sweeping leftovers of earlier runs: %v", err)
		}
	})
}

var sweepOnce sync.Once

// inCI reports whether the environment says this is a CI run, where the lab
// must not skip.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
