//go:build linux

package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// machineFlag is how the lab names a container to systemd-nspawn; Sweep
// finds leftover nspawn processes by it.
const machineFlag = "--machine="

// BootTimeout bounds how long Boot waits for a container to be ready.
var BootTimeout = 2 * time.Minute

// ContainerStopGrace is how long a container gets to power off cleanly
// when its test ends before it is killed.
var ContainerStopGrace = 30 * time.Second

// ContainerOptions configures Boot. The zero value boots DebianTree and
// waits for ssh.service.
type ContainerOptions struct {
	// Tree is the root file system to boot; empty means DebianTree(t). It
	// is never written to: the container writes into a throwaway overlay.
	Tree string

	// BindRO are read-only bind mounts in systemd-nspawn's syntax,
	// "HOSTPATH:CONTAINERPATH" (or one path for both), e.g. the sshdoctor
	// binary: Tool(t) + ":/usr/local/bin/sshdoctor". A single file can be
	// bound over a file of the tree (an sshd_config to boot with).
	BindRO []string

	// Bind are writable bind mounts, in the same syntax.
	Bind []string

	// Ready says whether the container is ready for the test; Boot polls
	// it until it returns nil. Nil means DefaultReady: systemd finished
	// booting and ssh.service is active. A scenario whose sshd must fail
	// passes its own (for example SystemReady).
	Ready func(ctx context.Context, c *Container) error
}

// Container is a Debian system booted with systemd-nspawn inside a host's
// network namespace: a real systemd (PID 1 of its own PID namespace), real
// ssh.service, journald, firewall services. Its network is the host's: the
// container listens on Host.Addr4 and Host.Addr6.
type Container struct {
	Host    *Host  // the host whose network namespace it uses
	Root    string // the tree it booted (read-only lower layer of its overlay)
	Machine string // its machine name and hostname (the host's namespace name)
	InitPID int    // PID of its systemd, as seen from the test machine
	Proc    *Proc  // the systemd-nspawn process; Output holds the console
}

// Boot starts a container on the host with
//
//	systemd-nspawn -D TREE --volatile=overlay --register=no --keep-unit -b
//	    --network-namespace-path=/run/netns/HOST ...
//
// and waits until it is ready (see ContainerOptions.Ready). On this kind of
// machine (no systemd as PID 1, no system bus) --register=no and
// --keep-unit are what make nspawn work at all: without them it asks the
// host's systemd for a scope unit and exits. The container's network is a
// namespace the lab made; nspawn's own --network-veth needs that same bus.
// --volatile=overlay gives each boot a tmpfs upper layer, so scenarios start
// from the same clean tree and nothing persists. The container is powered
// off (then killed, if it takes longer than ContainerStopGrace) when the
// test ends.
func (h *Host) Boot(t testing.TB, o ContainerOptions) *Container {
	t.Helper()
	Require(t, "systemd-nspawn", "nsenter")
	root := o.Tree
	if root == "" {
		root = DebianTree(t)
	}
	c := &Container{Host: h, Root: root, Machine: h.Name}
	args := []string{
		"-D", root,
		"--volatile=overlay",
		"--register=no", "--keep-unit",
		machineFlag + c.Machine,
		"--network-namespace-path=/run/netns/" + h.Name,
		// nspawn grants CAP_NET_ADMIN only with a network it made itself;
		// without it firewalld, fail2ban and ufw started by the
		// container's systemd cannot touch the firewall ("Operation not
		// permitted"). The namespace is the lab's own, so this is safe.
		"--capability=CAP_NET_ADMIN",
		// Leave the host alone: no journal linked into the host's
		// /var/log/journal, no resolv.conf or timezone copied about.
		"--link-journal=no", "--resolv-conf=off", "--timezone=off",
		"--console=read-only",
	}
	for _, b := range o.BindRO {
		args = append(args, "--bind-ro="+b)
	}
	for _, b := range o.Bind {
		args = append(args, "--bind="+b)
	}
	args = append(args, "-b")
	// Numbered, so that a test can boot the same host again.
	cg, err := newCgroup(fmt.Sprintf("%s-ct%d", h.Name, nextSeq()))
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	// Registered before the process's cleanups, so it runs after them.
	t.Cleanup(func() {
		if err := cg.remove(); err != nil {
			t.Errorf("lab: container %s: %v", c.Machine, err)
		}
	})
	argv := cg.enterArgs(append([]string{"systemd-nspawn"}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	// nspawn turns SIGTERM into a clean poweroff of the container; give it
	// the time that takes.
	c.Proc = startProcGrace(t, cmd, ContainerStopGrace)
	t.Cleanup(func() {
		// Runs before Proc's own cleanup (cleanups run last-in first-out).
		// If nspawn had to be killed, its container's PID 1 may outlive
		// it; killing PID 1 ends every process of the container.
		c.Proc.Stop()
		if c.InitPID > 0 {
			syscall.Kill(c.InitPID, syscall.SIGKILL)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), BootTimeout)
	defer cancel()
	if err := c.findInit(ctx); err != nil {
		t.Fatalf("lab: booting %s: %v\nconsole:\n%s", c.Machine, err, tail(c.Proc.Output(), 60))
	}
	ready := o.Ready
	if ready == nil {
		ready = DefaultReady
	}
	for {
		if err = ready(ctx, c); err == nil {
			break
		}
		if c.Proc.Exited() || ctx.Err() != nil {
			t.Fatalf("lab: container %s not ready after %s: %v\n%s\nconsole:\n%s",
				c.Machine, time.Since(start).Round(time.Millisecond), err, c.diagnose(), tail(c.Proc.Output(), 60))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("lab: container %s ready in %s", c.Machine, time.Since(start).Round(time.Millisecond))
	return c
}

// SystemReady is a readiness condition: systemd has finished booting, with
// or without failed units ("running" or "degraded").
func SystemReady(ctx context.Context, c *Container) error {
	out, _ := c.Exec(ctx, "systemctl", "is-system-running").Output()
	switch state := strings.TrimSpace(string(out)); state {
	case "running", "degraded":
		return nil
	default:
		return fmt.Errorf("systemctl is-system-running: %q", state)
	}
}

// DefaultReady is the readiness condition Boot uses unless told otherwise:
// SystemReady, and ssh.service active.
func DefaultReady(ctx context.Context, c *Container) error {
	if err := SystemReady(ctx, c); err != nil {
		return err
	}
	out, _ := c.Exec(ctx, "systemctl", "is-active", "ssh.service").Output()
	if state := strings.TrimSpace(string(out)); state != "active" {
		return fmt.Errorf("ssh.service is %q", state)
	}
	return nil
}

// findInit waits for the container's PID 1 to appear: the child of
// systemd-nspawn that lives in a PID namespace of its own.
func (c *Container) findInit(ctx context.Context) error {
	nspawn := c.Proc.Cmd.Process.Pid
	ourPIDNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	for {
		for _, pid := range childrenOf(nspawn) {
			ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
			if err == nil && ns != ourPIDNS {
				c.InitPID = pid
				return nil
			}
		}
		if c.Proc.Exited() {
			return fmt.Errorf("systemd-nspawn exited: %v", c.Proc.Err())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no container init under systemd-nspawn (pid %d): %w", nspawn, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the name: state, then the parent's PID.
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	}
	return kids
}

// diagnose gathers what systemd inside says, for a boot that went wrong.
func (c *Container) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	for _, args := range [][]string{
		{"systemctl", "--no-pager", "--failed"},
		{"systemctl", "--no-pager", "list-jobs"},
		{"systemctl", "--no-pager", "status", "ssh.service"},
	} {
		out, _ := c.Exec(ctx, args[0], args[1:]...).CombinedOutput()
		fmt.Fprintf(&b, "$ %s\n%s", strings.Join(args, " "), out)
	}
	return b.String()
}

// Exec returns a command that runs inside the container (its mount, UTS,
// IPC, network and PID namespaces, via nsenter), with a plain root
// environment.
func (c *Container) Exec(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append([]string{"-t", strconv.Itoa(c.InitPID), "-m", "-u", "-i", "-n", "-p", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", argv...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C", "NO_COLOR=1", "SYSTEMD_PAGER=", "PAGER=cat",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command inside the container and returns its combined output,
// failing the test if it fails or outlives CommandTimeout.
func (c *Container) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	out, err := c.Exec(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lab: %s in container %s: %v\n%s", strings.Join(append([]string{name}, args...), " "), c.Machine, err, out)
	}
	return string(out)
}

// Path returns where a path inside the running container can be reached
// from the test process (through /proc/INIT/root), to read or write its
// files directly.
func (c *Container) Path(p string) string {
	return filepath.Join("/proc", strconv.Itoa(c.InitPID), "root", p)
}

// WriteFile writes a file inside the container (into its overlay, so the
// tree is untouched), creating parent directories, with exactly this mode.
func (c *Container) WriteFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	t.Helper()
	full := c.Path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatalf("lab: container %s: %v", c.Machine, err)
	}
	if err := writeFileMode(full, data, mode); err != nil {
		t.Fatalf("lab: container %s: %v", c.Machine, err)
	}
}

// AuthorizeKey lets key log in as root over SSH: it writes
// /root/.ssh/authorized_keys inside the container (modes 0700 and 0600, as
// StrictModes wants), replacing what was there.
func (c *Container) AuthorizeKey(t testing.TB, key *Key) {
	t.Helper()
	dir := c.Path("/root/.ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("lab: container %s: %v", c.Machine, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("lab: container %s: %v", c.Machine, err)
	}
	c.WriteFile(t, "/root/.ssh/authorized_keys", []byte(key.AuthorizedLine+"\n"), 0o600)
}
