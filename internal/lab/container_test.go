//go:build linux

package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContainerBootsSystemdWithSSH(t *testing.T) {
	Require(t, "systemd-nspawn", "nsenter", "ssh", "debootstrap", "go")
	DebianTree(t) // built (once per cache) outside the measured boot
	tool := Tool(t)
	var c *Container
	var netns string
	t.Run("scenario", func(t *testing.T) {
		p := NewPair(t)
		netns = p.Server.Name
		start := time.Now()
		c = p.Server.Boot(t, ContainerOptions{BindRO: []string{tool + ":/usr/local/bin/sshdoctor"}})
		t.Logf("boot to an active ssh.service took %s", time.Since(start).Round(time.Millisecond))
		if got := strings.TrimSpace(c.Run(t, "systemctl", "is-active", "ssh")); got != "active" {
			t.Fatalf("systemctl is-active ssh: %q", got)
		}
		if comm := strings.TrimSpace(c.Run(t, "cat", "/proc/1/comm")); comm != "systemd" {
			t.Errorf("PID 1 in the container is %q, want systemd", comm)
		}
		if out := c.Run(t, "sshdoctor", "version"); !strings.Contains(out, "sshdoctor") {
			t.Errorf("the bound sshdoctor binary does not run inside: %q", out)
		}

		key := NewUserKey(t, "ed25519")
		c.WriteFile(t, "/root/.ssh/authorized_keys", []byte(key.AuthorizedLine+"\n"), 0o600)
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
		if _, err := os.Stat(filepath.Join(p, c.Machine)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still exists (%v)", filepath.Join(p, c.Machine), err)
		}
	}
}
