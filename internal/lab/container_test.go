//go:build linux

package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContainerBootsSystemdWithSSH(t *testing.T) {
	t.Parallel()
	Require(t, "systemd-nspawn", "nsenter", "ssh")
	DebianTree(t) // built (once per cache) outside the measured boot
	bound := filepath.Join(t.TempDir(), "bound")
	if err := os.WriteFile(bound, []byte("from the test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c *Container
	var netns string
	var bodyEnd time.Time
	t.Run("scenario", func(t *testing.T) {
		defer func() { bodyEnd = time.Now() }()
		p := NewPair(t)
		netns = p.Server.Name
		start := time.Now()
		c = p.Server.Boot(t, ContainerOptions{BindRO: []string{bound + ":/etc/lab-bound"}})
		t.Logf("boot to an active ssh.service took %s", time.Since(start).Round(time.Millisecond))
		if got := strings.TrimSpace(c.Run(t, "systemctl", "is-active", "ssh")); got != "active" {
			t.Fatalf("systemctl is-active ssh: %q", got)
		}
		if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.InitPID)); !strings.Contains(string(cg), "/"+c.Machine+"-ct") {
			t.Errorf("the container is not in a cgroup of its own:\n%s", cg)
		}
		if comm := strings.TrimSpace(c.Run(t, "cat", "/proc/1/comm")); comm != "systemd" {
			t.Errorf("PID 1 in the container is %q, want systemd", comm)
		}
		if out := c.Run(t, "cat", "/etc/lab-bound"); out != "from the test\n" {
			t.Errorf("the bound file reads %q inside", out)
		}
		if out, err := c.Exec(t.Context(), "sh", "-c", "echo x >/etc/lab-bound").CombinedOutput(); err == nil {
			t.Errorf("a BindRO file is writable inside the container: %s", out)
		}

		key := NewUserKey(t, "ed25519")
		c.AuthorizeKey(t, key)
		if err := Login(t, p.Client, p.Server.Addr4, 22, key); err != nil {
			t.Fatalf("login to the container's sshd: %v", err)
		}

		// fail2ban's own unit can change the firewall: the container has
		// CAP_NET_ADMIN in its (the lab's) network namespace.
		c.Run(t, "fail2ban-client", "set", "sshd", "banip", p.Client.Addr4.String())
		if err := Login(t, p.Client, p.Server.Addr4, 22, key); err == nil || !strings.Contains(err.Error(), "Connection refused") {
			t.Fatalf("login while fail2ban bans the client: %v; want Connection refused", err)
		}
		c.Run(t, "fail2ban-client", "set", "sshd", "unbanip", p.Client.Addr4.String())

		c.Run(t, "systemctl", "stop", "ssh")
		err := Login(t, p.Client, p.Server.Addr4, 22, key)
		if err == nil || !strings.Contains(err.Error(), "Connection refused") {
			t.Fatalf("login after systemctl stop ssh: %v; want Connection refused", err)
		}
		if _, err := os.Stat(filepath.Join(c.Root, "root/.ssh/authorized_keys")); err == nil {
			t.Errorf("WriteFile wrote into the shared tree instead of the container's overlay")
		}
	})
	if c == nil {
		return
	}
	t.Logf("poweroff and cleanup took %s", time.Since(bodyEnd).Round(time.Millisecond))
	if _, err := os.Stat("/run/netns/" + netns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still exists (%v)", netns, err)
	}
	for _, pid := range []int{c.Proc.Cmd.Process.Pid, c.InitPID} {
		if pidAlive(pid) && !isZombie(pid) {
			t.Errorf("process %d still runs after the test", pid)
		}
	}
	if mounts, err := mountsUnder(c.Root); err != nil || len(mounts) > 0 {
		t.Errorf("mounts left under the tree: %v %v", mounts, err)
	}
	parents, err := cgroupParents()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parents {
		if left, _ := filepath.Glob(filepath.Join(p, c.Machine+"*")); len(left) > 0 {
			t.Errorf("cgroups left behind: %v", left)
		}
	}
}
