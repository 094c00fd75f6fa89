//go:build linux

package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Each container gets a cgroup of its own, in every hierarchy that systemd
// manages (the cgroup2 one, and the v1 name=systemd one on a hybrid layout
// like this machine's). With --keep-unit, systemd-nspawn puts the container
// in a "payload" cgroup next to its own cgroup and leaves it behind when it
// exits; run from the machine's root cgroup, two containers would even share
// it, and their systemds would manage each other's services. So nspawn is
// started inside a fresh cgroup named after the container, and the lab
// removes that cgroup, subtree included, when the container is gone.

// cgroupDirs are the directories of one lab cgroup, one per hierarchy.
type cgroupDirs []string

// cgroupParents returns, for each hierarchy systemd manages, the directory
// of this process's own cgroup there: where the lab makes its cgroups.
func cgroupParents() ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	var parents []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controllers:path; "0::path" is cgroup2.
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		key := parts[1]
		if parts[0] == "0" && key == "" {
			key = "cgroup2"
		}
		if mp, ok := mounts[key]; ok {
			parents = append(parents, filepath.Join(mp, parts[2]))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab: reading /proc/self/cgroup: %w", err)
	}
	if len(parents) == 0 {
		return nil, errors.New("lab: found neither a cgroup2 nor a name=systemd cgroup hierarchy")
	}
	return parents, nil
}

// cgroupMounts finds the mount points of the cgroup2 hierarchy (key
// "cgroup2") and of the v1 name=systemd one (key "name=systemd").
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	mounts := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... mount-point ... - fstype source super-options
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(after) < 3 {
			continue
		}
		mp := unescapeMount(fields[4])
		switch {
		case after[0] == "cgroup2":
			mounts["cgroup2"] = mp
		case after[0] == "cgroup" && slices.Contains(strings.Split(after[2], ","), "name=systemd"):
			mounts["name=systemd"] = mp
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab: reading mountinfo: %w", err)
	}
	return mounts, nil
}

// newCgroup makes a cgroup called name under this process's own cgroup in
// every hierarchy systemd manages.
func newCgroup(name string) (cgroupDirs, error) {
	parents, err := cgroupParents()
	if err != nil {
		return nil, err
	}
	var dirs cgroupDirs
	for _, p := range parents {
		d := filepath.Join(p, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			dirs.remove()
			return nil, fmt.Errorf("lab: making cgroup %s: %w", d, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// enterArgs returns a command line that moves itself into the cgroup and
// then execs argv, keeping its PID: the process is in the cgroup before
// argv's first instruction.
func (c cgroupDirs) enterArgs(argv ...string) []string {
	script := `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 125; shift; n=$((n-1)); done; exec "$@"`
	args := []string{"sh", "-c", script, "sh", strconv.Itoa(len(c))}
	for _, d := range c {
		args = append(args, filepath.Join(d, "cgroup.procs"))
	}
	return append(args, argv...)
}

// remove kills whatever still runs in the cgroup and removes it with its
// whole subtree.
func (c cgroupDirs) remove() error {
	var errs []error
	for _, d := range c {
		if err := removeCgroup(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroup(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: cgroup %s: %w", dir, err)
	}
	// Deepest first: a cgroup can only go once its children have.
	slices.Reverse(dirs)
	for _, d := range dirs {
		var rmErr error
		for range 100 {
			rmErr = syscall.Rmdir(d)
			if rmErr == nil || errors.Is(rmErr, syscall.ENOENT) {
				rmErr = nil
				break
			}
			if !errors.Is(rmErr, syscall.EBUSY) {
				break
			}
			killCgroup(d)
			time.Sleep(20 * time.Millisecond)
		}
		if rmErr != nil {
			return fmt.Errorf("lab: removing cgroup %s: %w", d, rmErr)
		}
	}
	return nil
}

// killCgroup SIGKILLs the processes directly in a cgroup.
func killCgroup(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// sweepCgroups removes the lab cgroups (under this process's own cgroup)
// that stale says are leftovers.
func sweepCgroups(stale func(name string) bool) []error {
	parents, err := cgroupParents()
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, p := range parents {
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
				continue
			}
			if stale(e.Name()) {
				if err := removeCgroup(filepath.Join(p, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errs
}
