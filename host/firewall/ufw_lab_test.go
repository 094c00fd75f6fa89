package firewall

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// ufwLab runs ufw in the server namespace on private copies of its files,
// so that neither the host's firewall nor its /etc/ufw is touched.
type ufwLab struct {
	ns, dir string
}

func newUFWLab(t *testing.T, ns string) *ufwLab {
	dir := t.TempDir()
	for src, dst := range map[string]string{"/etc/ufw": "etc-ufw", "/etc/default/ufw": "default-ufw", "/lib/ufw": "lib-ufw"} {
		runCmd(t, "cp", "-a", src, filepath.Join(dir, dst))
	}
	return &ufwLab{ns: ns, dir: dir}
}

func (u *ufwLab) run(t *testing.T, cmd string) string {
	t.Helper()
	script := "mount --bind " + u.dir + "/etc-ufw /etc/ufw && mount --bind " + u.dir + "/default-ufw /etc/default/ufw && " +
		"mount --bind " + u.dir + "/lib-ufw /lib/ufw && mount -t tmpfs tmpfs /run && " + cmd
	out, err := nsRun(u.ns, "", "unshare", "--mount", "sh", "-c", script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return out
}

// A real ufw with its default policy blocks SSH; sshdoctor names ufw and
// prints "ufw allow ...", which lets the connection in.
func TestUFWLab(t *testing.T) {
	requireLab(t, "ufw", "unshare", "iptables-nft-save", "/lib/ufw/ufw-init")
	p := newLabPair(t)
	listen(t, p.srv, 22)
	u := newUFWLab(t, p.srv)
	u.run(t, "ufw --force enable")
	l := labLinks[0]
	src := l.cli4[0]
	if got, err := probe(p.cli, src, l.srv4, 22, 300*time.Millisecond); err != nil || got != "drop" {
		t.Fatalf("before: %s %v", got, err)
	}
	r := newNSRunner(p.srv, "ufw", "firewall-cmd")
	sys := host.System{Root: "/", Live: true, Run: r}
	facts := Gather(context.Background(), sys)
	if facts.UFW == nil || !facts.UFW.Active {
		t.Fatalf("ufw not seen: %+v", facts.Sources)
	}
	rep := Inspect(context.Background(), sys, facts, Query{Ports: []uint16{22}, From: src})
	ev := rep.Evaluations[0]
	if ev.Packet.Iif != l.srvIf || ev.Packet.Dst != l.srv4 {
		t.Errorf("packet %s, want it on %s to %s (ip route get)", ev.Packet, l.srvIf, l.srv4)
	}
	var cmds []string
	for _, c := range ev.Chains {
		for _, d := range c.Decisions {
			if d.Blocks() {
				if c.Backend != BackendUFW {
					t.Errorf("backend %s, want ufw", c.Backend)
				}
				cmds = append(cmds, rep.Allow(ev, c, d).Commands...)
			}
		}
	}
	want := "ufw allow from " + src.String() + " to any port 22 proto tcp"
	if strings.Join(cmds, ";") != want {
		t.Fatalf("allow %q, want %q\n%s", cmds, want, ev)
	}
	u.run(t, cmds[0])
	if got, err := probe(p.cli, src, l.srv4, 22, 1500*time.Millisecond); err != nil || got != "accept" {
		t.Errorf("after %q: %s %v", cmds[0], got, err)
	}
	after := Evaluate(Gather(context.Background(), sys).Rulesets, ev.Packet)
	if after.Overall[0].Verdict != VerdictAccept {
		t.Errorf("evaluator after the fix:\n%s", after)
	}
}
