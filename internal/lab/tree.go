//go:build linux

package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultCacheDir is where DebianTree keeps its trees unless
// SSHDOCTOR_LAB_CACHE names another directory. It is outside any temp
// directory on purpose: building a tree takes minutes, so it outlives test
// runs and reboots.
const DefaultCacheDir = "/var/cache/sshdoctor-lab"

// DefaultMirror is the Debian mirror DebianTree installs from unless
// SSHDOCTOR_LAB_MIRROR names another.
const DefaultMirror = "http://deb.debian.org/debian"

const treeSuite = "bookworm"

// treePackages is what the server scenarios need on top of minbase: a booting
// systemd with sshd, every firewall front end sshdoctor reads (nftables,
// iptables, ufw, firewalld), both ban tools (fail2ban with its journal
// backend, sshguard) and the tools the tests drive them with.
var treePackages = []string{
	"systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2",
	"nftables", "iptables", "ufw", "firewalld", "fail2ban", "python3-systemd",
	"sshguard", "procps", "sudo", "less",
	// firewalld needs polkitd, which needs "default-logind | logind";
	// debootstrap does not resolve virtual packages, so name the provider.
	"libpam-systemd",
}

// treeDisabled are services the packages enable but that would change every
// scenario if they ran at boot: firewalld puts its own ruleset in place and
// sshguard its own chains. Tests that need them start them.
var treeDisabled = []string{"firewalld.service", "sshguard.service"}

// treeFiles are written into the tree after debootstrap. A minbase system
// has no syslog, so fail2ban's default sshd jail finds no log file and the
// service fails at boot; the journal backend is what such a machine needs.
var treeFiles = map[string]string{
	"etc/fail2ban/jail.d/sshdoctor-lab.conf": "# Written by sshdoctor's test lab: this tree has no syslog, only the journal.\n[sshd]\nbackend = systemd\n",
}

var tree struct {
	sync.Mutex
	path string
	err  error
}

// DebianTree returns the path of a Debian bookworm tree (debootstrap
// minbase plus treePackages) that Boot can start with systemd-nspawn.
//
// The tree is built once and cached in DefaultCacheDir (or
// $SSHDOCTOR_LAB_CACHE) under a name derived from the recipe, so changing
// the package list builds a new tree instead of reusing a stale one. The
// build runs in a hidden directory next to the cache and is renamed into
// place only when complete; a file lock keeps two test binaries from
// building it at once (the second waits and then reuses the first's tree).
// Building takes minutes and needs the mirror; a failure fails every later
// caller in this test binary at once instead of retrying.
//
// Callers must not modify the tree: Boot runs it with a throwaway overlay.
func DebianTree(t testing.TB) string {
	t.Helper()
	Require(t)
	tree.Lock()
	defer tree.Unlock()
	if tree.path == "" && tree.err == nil {
		if _, err := os.Stat(filepath.Join(cacheDir(), treeName())); err != nil {
			// Only building needs these; a cached tree is enough without.
			Require(t, "debootstrap", "unshare", "systemctl")
		}
		tree.path, tree.err = ensureTree(t)
	}
	if tree.err != nil {
		t.Fatalf("lab: %v", tree.err)
	}
	return tree.path
}

func cacheDir() string {
	if dir := os.Getenv("SSHDOCTOR_LAB_CACHE"); dir != "" {
		return dir
	}
	return DefaultCacheDir
}

func mirror() string {
	if m := os.Getenv("SSHDOCTOR_LAB_MIRROR"); m != "" {
		return m
	}
	return DefaultMirror
}

// treeRecipe describes everything that decides the tree's contents; its hash
// names the cached tree. The mirror is left out: any mirror gives the same
// packages.
func treeRecipe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "suite %s\nvariant minbase\ninclude %s\ndisable %s\n",
		treeSuite, strings.Join(treePackages, ","), strings.Join(treeDisabled, ","))
	for _, name := range sortedKeys(treeFiles) {
		fmt.Fprintf(&b, "file %s\n%s", name, treeFiles[name])
	}
	return b.String()
}

func treeName() string {
	sum := sha256.Sum256([]byte(treeRecipe()))
	return treeSuite + "-" + hex.EncodeToString(sum[:6])
}

func ensureTree(t testing.TB) (string, error) {
	dir := cacheDir()
	final := filepath.Join(dir, treeName())
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("debian tree: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("debian tree: %w", err)
	}
	defer lock.Close() // closing drops the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("debian tree: locking %s: %w", lock.Name(), err)
	}
	if _, err := os.Stat(final); err == nil {
		return final, nil // another test binary built it while we waited
	}
	// Holding the lock, any build directory is the remains of a build that
	// was interrupted.
	stale, _ := filepath.Glob(filepath.Join(dir, ".build-*"))
	for _, s := range stale {
		if err := removeTree(s); err != nil {
			return "", fmt.Errorf("debian tree: removing an interrupted build: %w", err)
		}
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".build-%s-%d", treeName(), os.Getpid()))
	t.Logf("lab: building the Debian tree %s with debootstrap (minutes, once; later runs reuse it)", final)
	start := time.Now()
	if err := buildTree(tmp); err != nil {
		// Keep debootstrap's own log, which names the failing package,
		// before the partial tree goes.
		if log, rerr := os.ReadFile(filepath.Join(tmp, "debootstrap/debootstrap.log")); rerr == nil {
			saved := filepath.Join(dir, "failed-build.log")
			if os.WriteFile(saved, log, 0o644) == nil {
				err = fmt.Errorf("%w\n(debootstrap's log: %s)", err, saved)
			}
		}
		if rmErr := removeTree(tmp); rmErr != nil {
			err = fmt.Errorf("%w (and removing the partial tree: %v)", err, rmErr)
		}
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("debian tree: %w", err)
	}
	os.Remove(filepath.Join(dir, "failed-build.log")) // about an earlier build
	t.Logf("lab: built %s in %s", final, time.Since(start).Round(time.Second))
	return final, nil
}

func buildTree(root string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// debootstrap mounts /proc, /sys and maybe /dev inside the target. In
	// a private mount namespace those mounts die with it, so an interrupted
	// build never leaves host mounts under the cache for removeTree to trip
	// over.
	args := []string{"--mount", "--propagation", "private", "--",
		"debootstrap", "--variant=minbase", "--include=" + strings.Join(treePackages, ","),
		treeSuite, root, mirror()}
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Kill the whole group: dpkg and maintainer scripts run as children.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("debian tree: debootstrap into %s: %w\n%s", root, err, tail(string(out), 40))
	}
	for name, content := range treeFiles {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("debian tree: %w", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("debian tree: %w", err)
		}
	}
	// systemctl --root edits the unit symlinks offline; nothing runs.
	disable := append([]string{"--root=" + root, "disable"}, treeDisabled...)
	if out, err := exec.CommandContext(ctx, "systemctl", disable...).CombinedOutput(); err != nil {
		return fmt.Errorf("debian tree: systemctl disable: %w\n%s", err, out)
	}
	// The downloaded .debs are not needed to boot and would double the size.
	debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		os.Remove(d)
	}
	recipe := "# The recipe sshdoctor's test lab built this tree from (internal/lab/tree.go).\n" + treeRecipe()
	if err := os.WriteFile(filepath.Join(root, "etc/sshdoctor-lab-tree"), []byte(recipe), 0o644); err != nil {
		return fmt.Errorf("debian tree: %w", err)
	}
	return nil
}

// removeTree deletes a directory tree, but refuses when something is mounted
// inside it: RemoveAll would otherwise descend into the mount and delete
// files that belong to the host.
func removeTree(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("lab: not removing %s: mounted inside it: %s", dir, strings.Join(mounts, ", "))
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists the mount points of this mount namespace at or below dir.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var found []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 is the mount point, with spaces and such octal-escaped.
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			found = append(found, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lab: reading mountinfo: %w", err)
	}
	return found, nil
}

// unescapeMount undoes the \NNN octal escapes the kernel puts in mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tail returns the last n lines of s, enough to see why a command failed.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
