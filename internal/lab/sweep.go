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
// every process still inside them first), their directories under RunDir,
// and the binaries Tool built. It only touches names this package makes,
// and only those whose test binary, the PID in the name, no longer runs, so
// it is safe while other test binaries use the lab. Require calls it once
// per test binary.
func Sweep() error {
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
			if owner, ok := ownerPID(machine); ok && !pidAlive(owner) {
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
		if owner, ok := ownerPID(e.Name()); ok && !pidAlive(owner) {
			if err := deleteNetns(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, sweepCgroups()...)
	errs = append(errs, sweepDirs(RunDir, "")...)
	errs = append(errs, sweepDirs(os.TempDir(), "sshdoctor-lab-tool-")...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: sweep: %w", err)
	}
	return nil
}

// sweepDirs removes the entries of dir named prefix+"<pid>-..." whose PID
// no longer runs.
func sweepDirs(dir, prefix string) []error {
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
		if owner, ok := ownerPID(rest); ok && !pidAlive(owner) {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}
