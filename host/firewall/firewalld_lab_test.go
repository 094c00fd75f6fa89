package firewall

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// containerRunner runs commands inside a lab container, the way
// `sshdoctor server` would run them on that machine.
type containerRunner struct{ c *lab.Container }

func (r containerRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := r.c.Exec(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if strings.Contains(stderr.String(), "No such file or directory") && len(out) == 0 {
			return nil, host.ErrNotFound
		}
		return out, &host.ExitError{Cmd: name, Code: ee.ExitCode(), Stderr: stderr.String()}
	}
	return out, err
}

// A real firewalld (in a booted systemd container, for its D-Bus) whose
// default zone lacks ssh: sshdoctor reads firewalld's nftables table,
// names firewalld and its zone, and the firewall-cmd it prints lets the
// connection in. With SSHDOCTOR_FW_CAPTURE=1 it also saves the outputs as
// the firewalld-* fixtures.
func TestFirewalldLab(t *testing.T) {
	requireLab(t, "systemd-nspawn", "nsenter")
	lab.Require(t, "systemd-nspawn", "debootstrap")
	p := lab.NewPair(t)
	c := p.Server.Boot(t, lab.ContainerOptions{})
	c.Run(t, "systemctl", "start", "firewalld")
	for i := 0; ; i++ {
		out, _ := c.Exec(context.Background(), "firewall-cmd", "--state").Output()
		if strings.TrimSpace(string(out)) == "running" {
			break
		}
		if i == 100 {
			t.Fatalf("firewalld does not start: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The container's sshd answers on 22.
	c.Run(t, "firewall-cmd", "--zone=public", "--remove-service=ssh")
	capture(t, c, "firewalld-nossh")

	r := containerRunner{c}
	sys := host.System{Root: "/", Live: true, Run: r}
	facts := Gather(context.Background(), sys)
	if bad := facts.Unreadable(); len(bad) > 0 || facts.Firewalld == nil || facts.Firewalld.DefaultZone != "public" {
		t.Fatalf("facts: firewalld %+v, unreadable %+v", facts.Firewalld, bad)
	}
	if got, err := probe(p.Client.Name, p.Client.Addr4, p.Server.Addr4, 22, 300*time.Millisecond); err != nil || got != "icmp:3/13" {
		t.Fatalf("before: %s %v", got, err)
	}
	rep := Inspect(context.Background(), sys, facts, Query{Ports: []uint16{22}, From: p.Client.Addr4})
	ev := rep.Evaluations[0]
	var cmds []string
	for _, res := range ev.Chains {
		for _, d := range res.Decisions {
			switch {
			case d.Verdict == VerdictUncertain:
				t.Errorf("uncertain: %s\n%s", d, ev)
			case d.Blocks():
				if res.Backend != BackendFirewalld || d.RejectWith != "icmpx admin-prohibited" {
					t.Errorf("%s blocks with %s, want firewalld's admin-prohibited", res.Backend, d)
				}
				a := rep.Allow(ev, res, d)
				cmds = append(cmds, a.Commands...)
			}
		}
	}
	want := `firewall-cmd --zone=public --add-rich-rule='rule family="ipv4" source address="` + p.Client.Addr4.String() +
		`" port port="22" protocol="tcp" accept'`
	if strings.Join(cmds, "\n") != want {
		t.Fatalf("allow:\n%s\nwant:\n%s\n%s", strings.Join(cmds, "\n"), want, ev)
	}
	c.Run(t, "sh", "-c", cmds[0])
	if got, err := probe(p.Client.Name, p.Client.Addr4, p.Server.Addr4, 22, 1500*time.Millisecond); err != nil || got != "accept" {
		t.Errorf("after the fix: %s %v", got, err)
	}
	after := Evaluate(Gather(context.Background(), sys).Rulesets, ev.Packet)
	if after.Overall[0].Verdict != VerdictAccept {
		t.Errorf("evaluator after the fix:\n%s", after)
	}
}

// capture saves what sshdoctor reads from the container as fixtures, when
// asked to.
func capture(t *testing.T, c *lab.Container, name string) {
	if os.Getenv("SSHDOCTOR_FW_CAPTURE") != "1" {
		return
	}
	for file, cmd := range map[string][]string{
		".nft.json":                   {"nft", "-j", "list", "ruleset"},
		".firewalld-default-zone.txt": {"firewall-cmd", "--get-default-zone"},
		".firewalld-active-zones.txt": {"firewall-cmd", "--get-active-zones"},
		".firewalld-public.txt":       {"firewall-cmd", "--zone=public", "--list-all"},
	} {
		out := c.Run(t, cmd[0], cmd[1:]...)
		if err := os.WriteFile(filepath.Join("testdata", name+file), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
