//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Sweep removes what crashed earlier runs of lab tests left behind:
// containers and network namespaces whose names start with Prefix (killing
// every process still inside them first), the containers' cgroups, the
// directories under RunDir, and the binaries Tool built. It only touches names this package makes,
// and only those whose test binary, the PID in the name, no longer runs, so
// it is safe while other test binaries use the lab. Require calls it once
// per test binary.
func Sweep() error { return sweep(false) }

// sweep is Sweep; with ownPID it also removes namespaces, containers and
// cgroups named after this very process. Those can only be stale (a run
// before a reboot that had the same PID, /run being on disk here), and only
// before this process has made any, which is when Require calls it.
func sweep(ownPID bool) error {
	stale := func(name string) bool {
		owner, ok := ownerPID(name)
		return ok && (!pidAlive(owner) || ownPID && owner == os.Getpid())
	}
	var errs []error
	// Containers first: their processes are in the namespaces, but the
	// systemd-nspawn process that supervises each one is not.
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("lab: sweep: %w", err)
	}
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			machine, ok := strings.CutPrefix(string(arg), machineFlag+Prefix)
			if !ok {
				continue
			}
			if stale(machine) && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	namespaces, err := os.ReadDir("/run/netns")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range namespaces {
		if !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		if stale(e.Name()) {
			if err := deleteNetns(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, sweepCgroups(stale)...)
	errs = append(errs, sweepDirs(RunDir, "", stale)...)
	// Tool may build while Require sweeps, so its directory counts as stale
	// only once its owner is gone.
	errs = append(errs, sweepDirs(os.TempDir(), "sshdoctor-lab-tool-", func(name string) bool {
		owner, ok := ownerPID(name)
		return ok && !pidAlive(owner)
	})...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: sweep: %w", err)
	}
	return nil
}

// sweepDirs removes the entries of dir named prefix+"<pid>-..." that stale
// says are leftovers.
func sweepDirs(dir, prefix string, stale func(name string) bool) []error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return []error{err}
	}
	var errs []error
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if stale(rest) {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}
