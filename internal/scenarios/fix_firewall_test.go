package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// Lab proofs of `sshdoctor fix` for what stands between the client and
// sshd: each scenario breaks a real Debian 12 container (firewall, ban,
// TCP wrappers), shows that the real ssh client fails, runs `sshdoctor fix
// --apply --yes` inside, and shows that the same login then succeeds.

// fwFixRun runs `sshdoctor fix ARGS` in the container; it returns stdout,
// stderr and the exit status.
func (s *serverHost) fwFixRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", append([]string{"fix"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sshdoctor fix: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

// fwApply runs `sshdoctor fix --apply --yes ARGS` and fails the test unless
// it exits 0.
func (s *serverHost) fwApply(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.fwFixRun(t, append([]string{"--apply", "--yes"}, args...)...)
	if code != 0 {
		t.Fatalf("fix --apply %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
	}
	return out
}

// fwPlan runs `sshdoctor fix --json ARGS` (no apply) and returns the plan's
// steps and manual steps.
func (s *serverHost) fwPlan(t *testing.T, args ...string) (plan, manual []map[string]any) {
	t.Helper()
	out, errOut, _ := s.fwFixRun(t, append([]string{"--json"}, args...)...)
	var doc struct {
		Plan   []map[string]any `json:"plan"`
		Manual []map[string]any `json:"manual"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("fix --json: %v\n%s\n%s", err, out, errOut)
	}
	return doc.Plan, doc.Manual
}

// fwState is what must come back exactly after a rollback or an undo.
func (s *serverHost) fwState(t *testing.T, files ...string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range [][]string{
		{"nft", "list", "ruleset"},
		{"sh", "-c", "iptables-save | grep -v '^#' || true"},
		{"sh", "-c", "ip6tables-save | grep -v '^#' || true"},
		{"sh", "-c", "systemctl is-active ssh nftables fail2ban ufw || true"},
	} {
		b.WriteString("$ " + strings.Join(c, " ") + "\n" + s.C.Run(t, c[0], c[1:]...))
	}
	for _, f := range files {
		data, err := os.ReadFile(s.C.Path(f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		b.WriteString("== " + f + "\n" + string(data))
	}
	return b.String()
}

func (s *serverHost) fwLoginFails(t *testing.T, key *lab.Key, says string) {
	t.Helper()
	err := lab.Login(t, s.Client, s.Server.Addr4, 22, key)
	if err == nil {
		t.Fatal("the real ssh logs in, but the scenario should block it")
	}
	if says != "" && !strings.Contains(err.Error(), says) {
		t.Fatalf("ssh fails, but not with %q: %v", says, err)
	}
}

func (s *serverHost) fwLoginWorks(t *testing.T, key *lab.Key, when string) {
	t.Helper()
	if err := lab.Login(t, s.Client, s.Server.Addr4, 22, key); err != nil {
		t.Fatalf("%s, the real ssh still fails: %v", when, err)
	}
}

// The web server's firewall: only port 80 (and replies, and loopback, so
// that sshdoctor's own check after a guarded change can reach sshd).
const fwNFTConf = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 80 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter;
	}
}
`

func (s *serverHost) fwNFTPolicyDrop(t *testing.T) {
	t.Helper()
	s.C.WriteFile(t, "/etc/nftables.conf", []byte(fwNFTConf), 0o755)
	s.C.Run(t, "systemctl", "enable", "--now", "nftables.service")
}

// nftables, policy drop, only port 80 allowed, loaded at boot from
// /etc/nftables.conf. The fix accepts the client's SSH in the running
// chain and in the file (one line, the rest byte for byte), so a reload
// of the boot configuration keeps it; a second run plans nothing; --undo
// puts back exactly the rules and the file of before.
func TestFixNftablesPolicyDrop(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.fwNFTPolicyDrop(t)
	s.fwLoginFails(t, key, "timed out")
	before := s.fwState(t, "/etc/nftables.conf")
	from := s.Client.Addr4.String()

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "nft add rule inet filter input ip saddr "+from+" tcp dport 22 accept") {
		t.Errorf("the plan should show the nft command:\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	got, _ := os.ReadFile(s.C.Path("/etc/nftables.conf"))
	want := strings.Replace(fwNFTConf, "\t\ttcp dport 80 accept\n", "\t\ttcp dport 80 accept\n\t\tip saddr "+from+" tcp dport 22 accept\n", 1)
	if string(got) != want {
		t.Errorf("/etc/nftables.conf:\n%s\nwant:\n%s", got, want)
	}
	// What the machine loads at boot lets the client in too.
	s.C.Run(t, "systemctl", "restart", "nftables.service")
	s.fwLoginWorks(t, key, "after reloading /etc/nftables.conf")

	if plan, manual := s.fwPlan(t, "--from", from); len(plan) != 0 || len(manual) != 0 {
		t.Errorf("a second fix must plan nothing: %v %v", plan, manual)
	}
	if _, errOut, code := s.fwFixRun(t, "--undo"); code != 0 {
		t.Fatalf("fix --undo: exit %d: %s", code, errOut)
	}
	if after := s.fwState(t, "/etc/nftables.conf"); after != before {
		t.Errorf("fix --undo did not restore the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	s.fwLoginFails(t, key, "timed out")
}

// iptables REJECT of port 22. The fix inserts the accept just before it;
// nothing loads iptables rules at boot here, and the plan says so.
func TestFixIPTablesReject(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "iptables", "-A", "INPUT", "-p", "tcp", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
	s.C.Run(t, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT")
	s.C.Run(t, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "80", "-j", "ACCEPT")
	s.fwLoginFails(t, key, "Connection refused")
	before := s.C.Run(t, "iptables", "-S")
	from := s.Client.Addr4.String()

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "persists: nothing") {
		t.Errorf("the plan must say plainly that nothing keeps the rule:\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	after := s.C.Run(t, "iptables", "-S")
	want := strings.Replace(before, "-A INPUT -p tcp -m tcp --dport 22 -j REJECT", "-A INPUT -s "+from+"/32 -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j REJECT", 1)
	if after != want {
		t.Errorf("iptables -S:\n%s\nwant:\n%s", after, want)
	}
	if plan, _ := s.fwPlan(t, "--from", from); len(plan) != 0 {
		t.Errorf("a second fix must plan nothing: %v", plan)
	}
}

// ufw enabled without an SSH rule: `ufw allow` for the client.
func TestFixUFWWithoutSSHRule(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "ufw", "--force", "enable")
	s.fwLoginFails(t, key, "timed out")
	from := s.Client.Addr4.String()

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "ufw allow from "+from+" to any port 22 proto tcp") {
		t.Errorf("plan:\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	if st := s.C.Run(t, "ufw", "status"); !strings.Contains(st, "22/tcp") || !strings.Contains(st, from) {
		t.Errorf("ufw status:\n%s", st)
	}
	if plan, _ := s.fwPlan(t, "--from", from); len(plan) != 0 {
		t.Errorf("a second fix must plan nothing: %v", plan)
	}
}

// fail2ban bans the client: the fix lifts the ban through fail2ban; --undo
// bans it again.
func TestFixFail2banBan(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	from := s.Client.Addr4.String()
	s.C.Run(t, "sh", "-c", "systemctl start fail2ban && for i in $(seq 50); do fail2ban-client ping >/dev/null 2>&1 && break; sleep 0.2; done; fail2ban-client set sshd banip "+from)
	s.fwLoginFails(t, key, "Connection refused")

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "fail2ban-client set sshd unbanip "+from) || !strings.Contains(out, "ignoreip") {
		t.Errorf("plan (the unban, and the ignoreip offer):\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	if st := s.C.Run(t, "fail2ban-client", "status", "sshd"); strings.Contains(st, from) {
		t.Errorf("fail2ban still lists the ban:\n%s", st)
	}
	if plan, _ := s.fwPlan(t, "--from", from); len(plan) != 0 {
		t.Errorf("a second fix must plan nothing: %v", plan)
	}
	if _, errOut, code := s.fwFixRun(t, "--undo"); code != 0 {
		t.Fatalf("fix --undo: exit %d: %s", code, errOut)
	}
	if st := s.C.Run(t, "fail2ban-client", "status", "sshd"); !strings.Contains(st, from) {
		t.Errorf("fix --undo should ban the address again:\n%s", st)
	}
	s.fwLoginFails(t, key, "Connection refused")
}

// hosts.deny refuses everyone; the fix lets the client in at the top of
// hosts.allow.
func TestFixTCPWrappers(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.WriteFile(t, "/etc/hosts.deny", []byte("sshd: ALL\n"), 0o644)
	s.fwLoginFails(t, key, "")
	allowBefore, _ := os.ReadFile(s.C.Path("/etc/hosts.allow"))
	from := s.Client.Addr4.String()

	s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	s.fwLoginWorks(t, key, "after fix --apply")
	allow, _ := os.ReadFile(s.C.Path("/etc/hosts.allow"))
	if !strings.HasSuffix(string(allow), "\nsshd: "+from+"\n"+string(allowBefore)) {
		t.Errorf("hosts.allow:\n%s", allow)
	}
}

// A guarded change left unconfirmed is rolled back by itself: the nftables
// and iptables rules, /etc/nftables.conf and the services are exactly as
// before, and the client is blocked again.
func TestFixFirewallRollback(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.fwNFTPolicyDrop(t)
	// On the wire only: sshdoctor's own check after the change connects
	// over loopback.
	s.C.Run(t, "iptables", "-A", "INPUT", "-i", s.Server.Link, "-p", "tcp", "--dport", "22", "-j", "REJECT")
	s.fwLoginFails(t, key, "")
	before := s.fwState(t, "/etc/nftables.conf")
	from := s.Client.Addr4.String()

	out, errOut, code := s.fwFixRun(t, "--apply", "--yes", "--from", from, "--confirm-timeout", "3s")
	// Rolled back for want of a confirmation, after the change was
	// verified (not because the check after it failed).
	if code == 0 || !strings.Contains(errOut, "rolled back: not confirmed") {
		t.Fatalf("an unconfirmed change must roll back: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "nft add rule") || !strings.Contains(out, "iptables-nft -w -t filter -I INPUT 1") {
		t.Errorf("both backends should have been changed:\n%s", out)
	}
	if after := s.fwState(t, "/etc/nftables.conf"); after != before {
		t.Errorf("the rollback did not restore the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	s.fwLoginFails(t, key, "")
}

// Confirmed from a second session while fix waits, the change is kept.
func TestFixFirewallConfirmed(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.fwNFTPolicyDrop(t)
	from := s.Client.Addr4.String()

	done := make(chan int, 1)
	var out, errOut string
	go func() {
		var code int
		out, errOut, code = s.fwFixRun(t, "--apply", "--yes", "--from", from, "--confirm-timeout", "2m")
		done <- code
	}()
	confirmed := false
	for i := 0; i < 600 && !confirmed; i++ {
		select {
		case code := <-done:
			t.Fatalf("fix ended before the confirmation: exit %d\n%s\n%s", code, out, errOut)
		case <-time.After(200 * time.Millisecond):
		}
		confirmed = s.C.Exec(context.Background(), "/usr/local/bin/sshdoctor", "confirm").Run() == nil
	}
	if !confirmed {
		t.Fatal("sshdoctor confirm never found the change waiting")
	}
	if code := <-done; code != 0 {
		t.Fatalf("fix after confirm: exit %d\n%s\n%s", code, out, errOut)
	}
	s.fwLoginWorks(t, key, "after the confirmed fix")
	// The journal says kept, so the rollback watcher leaves it alone.
	ms, _ := filepath.Glob(s.C.Path("/var/lib/sshdoctor/journal/*/manifest.json"))
	if len(ms) != 1 {
		t.Fatalf("journals: %v", ms)
	}
	var m struct{ Status string }
	if data, err := os.ReadFile(ms[0]); err != nil || json.Unmarshal(data, &m) != nil || m.Status != "confirmed" {
		t.Errorf("journal status %q (%v)", m.Status, err)
	}
}

// An offline tree (a disk mounted in a rescue system) whose nftables.conf
// drops SSH: the fix edits the file the machine loads at boot, and the
// tree's rules then let the client in.
func TestFixOfflineNftables(t *testing.T) {
	lab.Require(t, "nft", "unshare")
	tr := newTree(t)
	tr.write("/etc/nftables.conf", fwNFTConf, 0o755)
	tr.mkdir("/etc/systemd/system/multi-user.target.wants", 0o755, 0)
	if err := os.Symlink("/lib/systemd/system/nftables.service", tr.path("/etc/systemd/system/multi-user.target.wants/nftables.service")); err != nil {
		t.Fatal(err)
	}
	from := "192.0.2.10"
	r, _ := tr.server("--from", from)
	if r.Find("firewall.blocks") == nil {
		t.Fatalf("the tree's rules should block SSH:\n%s", dump(r))
	}
	cmd := exec.Command(lab.Tool(t), "fix", "--root", tr.Root, "--from", from, "--apply", "--yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fix --root: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(tr.path("/etc/nftables.conf"))
	want := strings.Replace(fwNFTConf, "\t\ttcp dport 80 accept\n", "\t\ttcp dport 80 accept\n\t\tip saddr "+from+" tcp dport 22 accept\n", 1)
	if string(got) != want {
		t.Errorf("/etc/nftables.conf:\n%s\nwant:\n%s", got, want)
	}
	if r, _ = tr.server("--from", from); r.Find("firewall.blocks") != nil {
		t.Errorf("after the fix the tree still blocks SSH:\n%s", dump(r))
	}
	if _, err := os.Stat(filepath.Join(tr.Root, "var/lib/sshdoctor/journal")); err != nil {
		t.Errorf("the journal belongs in the tree: %v", err)
	}
}

// sshguard blocks the client (its nft-sets backend, fed a block as its
// blocker does): the fix deletes the address from sshguard's set; --undo
// puts exactly that element back.
func TestFixSSHGuardBlock(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	from := s.Client.Addr4.String()
	s.C.Run(t, "sh", "-c", "systemctl start sshguard && for i in $(seq 100); do nft list set ip sshguard attackers >/dev/null 2>&1 && break; sleep 0.1; done; nft add element ip sshguard attackers { "+from+" }")
	s.fwLoginFails(t, key, "timed out")
	before := s.C.Run(t, "nft", "list", "table", "ip", "sshguard")

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "nft delete element ip sshguard attackers '{' "+from+" '}'") {
		t.Errorf("plan:\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	if plan, _ := s.fwPlan(t, "--from", from); len(plan) != 0 {
		t.Errorf("a second fix must plan nothing: %v", plan)
	}
	if _, errOut, code := s.fwFixRun(t, "--undo"); code != 0 {
		t.Fatalf("fix --undo: exit %d: %s", code, errOut)
	}
	if after := s.C.Run(t, "nft", "list", "table", "ip", "sshguard"); after != before {
		t.Errorf("fix --undo:\n%s\nwant:\n%s", after, before)
	}
}

// firewalld's zone lacks ssh, at run time and in its permanent
// configuration: the fix adds the client's rich rule to both, so that a
// reload of firewalld (what a reboot does) keeps the client in.
func TestFixFirewalldZone(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "sh", "-c", "systemctl start firewalld && for i in $(seq 100); do [ \"$(firewall-cmd --state 2>/dev/null)\" = running ] && break; sleep 0.1; done; "+
		"firewall-cmd --zone=public --remove-service=ssh && firewall-cmd --permanent --zone=public --remove-service=ssh")
	s.fwLoginFails(t, key, "No route to host")
	from := s.Client.Addr4.String()

	out := s.fwApply(t, "--from", from, "--confirm-timeout", "0")
	if !strings.Contains(out, "firewall-cmd --permanent --zone=public") {
		t.Errorf("plan:\n%s", out)
	}
	s.fwLoginWorks(t, key, "after fix --apply")
	s.C.Run(t, "firewall-cmd", "--reload")
	s.fwLoginWorks(t, key, "after firewall-cmd --reload")
	if plan, _ := s.fwPlan(t, "--from", from); len(plan) != 0 {
		t.Errorf("a second fix must plan nothing: %v", plan)
	}
}

// An offline tree with ufw enabled and no SSH rule: the rule goes into
// ufw's user.rules as ufw itself writes it, and the tree's rules (rebuilt
// the way ufw loads them at boot) then let the client in.
func TestFixOfflineUFW(t *testing.T) {
	tr := newTree(t)
	deb := lab.DebianTree(t)
	for _, f := range []string{"/etc/ufw/before.rules", "/etc/ufw/after.rules", "/etc/ufw/user.rules",
		"/etc/ufw/before6.rules", "/etc/ufw/after6.rules", "/etc/ufw/user6.rules", "/etc/ufw/ufw.conf", "/etc/default/ufw"} {
		data, err := os.ReadFile(filepath.Join(deb, f))
		if err != nil {
			t.Fatal(err)
		}
		tr.write(f, strings.Replace(string(data), "ENABLED=no", "ENABLED=yes", 1), 0o640)
	}
	userBefore, _ := os.ReadFile(tr.path("/etc/ufw/user.rules"))
	from := "192.0.2.10"
	r, _ := tr.server("--from", from)
	if f := r.Find("firewall.blocks"); f == nil || evidence(f)["backend"] != "ufw" {
		t.Fatalf("ufw should block SSH in the tree:\n%s", dump(r))
	}
	cmd := exec.Command(lab.Tool(t), "fix", "--root", tr.Root, "--from", from, "--apply", "--yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fix --root: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(tr.path("/etc/ufw/user.rules"))
	// The package's user.rules, never written by ufw: the rule goes just
	// after "### RULES ###".
	want := strings.Replace(string(userBefore), "### RULES ###\n",
		"### RULES ###\n### tuple ### allow tcp 22 0.0.0.0/0 any "+from+" in\n-A ufw-user-input -p tcp --dport 22 -s "+from+" -j ACCEPT\n\n", 1)
	if string(got) != want {
		t.Errorf("user.rules:\n%s\nwant:\n%s", got, want)
	}
	if r, _ = tr.server("--from", from); r.Find("firewall.blocks") != nil {
		t.Errorf("after the fix the tree still blocks SSH:\n%s", dump(r))
	}
}
