package fix

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
	"github.com/sshdoctor/sshdoctor/internal/diag"
)

func banServer(root string, live bool, from netip.Addr, b *bans.Facts) (*diag.ServerFacts, []check.Finding) {
	b.Root, b.Live = root, live
	f := &diag.ServerFacts{Sys: host.System{Root: root, Live: live}, Bans: b, From: from, Ports: []int{22}}
	return f, check.ServerBans(&check.ServerBansFacts{Bans: b, From: from, Ports: []uint16{22}})
}

func banEntry(v string) bans.Entry {
	p := netip.MustParsePrefix(v)
	return bans.Entry{Value: v, Lo: p.Addr(), Hi: p.Addr(), Rule: "-A f2b-sshd -s " + v + " -j REJECT --reject-with icmp-port-unreachable", Verdict: "REJECT --reject-with icmp-port-unreachable"}
}

// fail2ban runs and bans the client: its own unbanip lifts it, banip puts
// it back; trusting the address is only offered.
func TestPlanFail2banUnban(t *testing.T) {
	from := netip.MustParseAddr("10.0.0.7")
	jail := &bans.Jail{Name: "sshd", Enabled: true, Running: true, Port: "ssh", Ports: []bans.PortRange{{Lo: 22, Hi: 22}},
		Bans: []bans.Ban{{Addr: "10.0.0.7", Prefix: netip.MustParsePrefix("10.0.0.7/32"), At: time.Now()}}}
	obj := &bans.Object{Tool: bans.ToolFail2ban, Jail: "sshd", Backend: bans.BackendIPTables, Kind: bans.KindChain, Table: "filter", Name: "f2b-sshd",
		Hooked: true, Entries: []bans.Entry{banEntry("10.0.0.7/32")}}
	f, findings := banServer("/", true, from, &bans.Facts{
		Fail2ban: &bans.Fail2ban{Running: true, BanSource: bans.SourceServer, Jails: []*bans.Jail{jail}},
		Firewall: &bans.Firewall{Objects: []*bans.Object{obj}, Read: []string{"iptables -w -S"}}})
	if len(findings) != 1 || findings[0].Code != "ban.active" {
		t.Fatalf("findings %v", findings)
	}
	p := PlanServer(findings, f, nil)
	if len(p.Steps) != 1 {
		t.Fatalf("one step: fail2ban removes its firewall entry itself:\n%s", p.Render())
	}
	s := p.Steps[0]
	if strings.Join(s.Command, " ") != "fail2ban-client set sshd unbanip 10.0.0.7" || strings.Join(s.Restore, " ") != "fail2ban-client set sshd banip 10.0.0.7" ||
		strings.Join(s.Snapshot, " ") != "fail2ban-client status sshd" || s.Guarded || s.Phase != PhaseRuntime {
		t.Errorf("step %+v", s)
	}
	if len(p.Manual) != 1 || !strings.Contains(p.Manual[0].Summary, "ignoreip = 10.0.0.7") || !strings.Contains(p.Manual[0].Risk, "trusts") {
		t.Errorf("the ignoreip offer: %+v", p.Manual)
	}
	// Without --from nothing is lifted: the finding is information only.
	f, findings = banServer("/", true, netip.Addr{}, f.Bans)
	if p := PlanServer(findings, f, nil); !p.Empty() {
		t.Errorf("without --from:\n%s", p.Render())
	}
}

// A leftover entry fail2ban no longer knows: deleted from its chain, with
// the table saved first.
func TestPlanFail2banLeftover(t *testing.T) {
	from := netip.MustParseAddr("10.0.0.7")
	jail := &bans.Jail{Name: "sshd", Enabled: true, Running: true, Port: "ssh", Ports: []bans.PortRange{{Lo: 22, Hi: 22}}}
	obj := &bans.Object{Tool: bans.ToolFail2ban, Jail: "sshd", Backend: bans.BackendIPTables, Kind: bans.KindChain, Table: "filter", Name: "f2b-sshd",
		Hooked: true, Entries: []bans.Entry{banEntry("192.0.2.1/32"), banEntry("10.0.0.7/32")}}
	f, findings := banServer("/", true, from, &bans.Facts{
		Fail2ban: &bans.Fail2ban{Running: true, BanSource: bans.SourceServer, Jails: []*bans.Jail{jail}},
		Firewall: &bans.Firewall{Objects: []*bans.Object{obj}, Read: []string{"iptables -w -S"}}})
	p := PlanServer(findings, f, nil)
	if len(p.Steps) != 1 {
		t.Fatalf("plan:\n%s", p.Render())
	}
	s := p.Steps[0]
	if got := strings.Join(s.Command, " "); got != "iptables -w -t filter -D f2b-sshd -s 10.0.0.7/32 -j REJECT --reject-with icmp-port-unreachable" {
		t.Errorf("command %q", got)
	}
	if strings.Join(s.Snapshot, " ") != "iptables-save -c -t filter" || strings.Join(s.Restore, " ") != "iptables -w -t filter -I f2b-sshd 2 -s 10.0.0.7/32 -j REJECT --reject-with icmp-port-unreachable" {
		t.Errorf("snapshot %v restore %v", s.Snapshot, s.Restore)
	}
}

// sshguard's nft set and permanent blacklist: the element goes (and comes
// back exactly on undo), and the blacklist loses that one line.
func TestPlanSSHGuard(t *testing.T) {
	root := t.TempDir()
	from := netip.MustParseAddr("10.0.0.7")
	bl := "1700000000|100|4|192.0.2.1\n1700000100|100|4|10.0.0.7\n1700000200|100|4|192.0.2.9\n"
	fwTreeFile(t, root, "/var/lib/sshguard/enemies", bl)
	obj := &bans.Object{Tool: bans.ToolSSHGuard, Backend: bans.BackendNFT, Kind: bans.KindSet, Table: "ip sshguard", Name: "attackers",
		Hooked: true, Entries: []bans.Entry{{Value: "10.0.0.7", Lo: from, Hi: from}}}
	f, findings := banServer(root, true, from, &bans.Facts{
		SSHGuard: &bans.SSHGuard{BlacklistFile: "/var/lib/sshguard/enemies", WhitelistFile: "/etc/sshguard/whitelist",
			Blacklist: []bans.BlacklistEntry{{Addr: netip.MustParseAddr("192.0.2.1"), Line: 1}, {Addr: from, Line: 2}}},
		Firewall: &bans.Firewall{Objects: []*bans.Object{obj}, Read: []string{"nft -j list table ip sshguard"}}})
	if len(findings) != 1 {
		t.Fatalf("findings %v", findings)
	}
	p := PlanServer(findings, f, nil)
	if len(p.Steps) != 2 {
		t.Fatalf("plan:\n%s", p.Render())
	}
	var del, file Step
	for _, s := range p.Steps {
		if s.Kind == KindWrite {
			file = s
		} else {
			del = s
		}
	}
	if strings.Join(del.Command, " ") != "nft delete element ip sshguard attackers { 10.0.0.7 }" ||
		strings.Join(del.Restore, " ") != "nft add element ip sshguard attackers { 10.0.0.7 }" ||
		strings.Join(del.Snapshot, " ") != "nft list set ip sshguard attackers" {
		t.Errorf("delete %+v", del)
	}
	if file.Path != filepath.Join(root, "var/lib/sshguard/enemies") || string(file.Content) != "1700000000|100|4|192.0.2.1\n1700000200|100|4|192.0.2.9\n" {
		t.Errorf("blacklist %s:\n%s", file.Path, file.Content)
	}
	if len(p.Manual) != 1 || !strings.Contains(p.Manual[0].Command[0], "echo 10.0.0.7 >> /etc/sshguard/whitelist") {
		t.Errorf("whitelist offer %+v", p.Manual)
	}
}

// fail2ban stopped (or a tree offline): the ban is deleted from its
// database, and the undo puts the database back byte for byte.
func TestPlanFail2banDatabase(t *testing.T) {
	fwRequire(t, "sqlite3")
	root := t.TempDir()
	db := filepath.Join(root, "var/lib/fail2ban/fail2ban.sqlite3")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	schema := `CREATE TABLE bans(jail TEXT, ip TEXT, timeofban INTEGER, bantime INTEGER, bancount INTEGER, data JSON);
CREATE TABLE bips(ip TEXT, jail TEXT, timeofban INTEGER, bantime INTEGER, bancount INTEGER, data JSON, PRIMARY KEY(ip, jail));
INSERT INTO bans VALUES('sshd','10.0.0.7',1700000000,-1,1,'{}'),('sshd','192.0.2.1',1700000000,-1,1,'{}');
INSERT INTO bips VALUES('10.0.0.7','sshd',1700000000,-1,1,'{}'),('192.0.2.1','sshd',1700000000,-1,1,'{}');`
	if out, err := exec.Command("sqlite3", db, schema).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := os.Chmod(db, 0o600); err != nil {
		t.Fatal(err)
	}
	before := read(t, db)
	from := netip.MustParseAddr("10.0.0.7")
	jail := &bans.Jail{Name: "sshd", Enabled: true, Port: "ssh", Ports: []bans.PortRange{{Lo: 22, Hi: 22}},
		Bans: []bans.Ban{{Addr: "10.0.0.7", Prefix: netip.MustParsePrefix("10.0.0.7/32"), Permanent: true}}}
	f, findings := banServer(root, false, from, &bans.Facts{
		Fail2ban: &bans.Fail2ban{BanSource: bans.SourceDatabase, DBFile: "/var/lib/fail2ban/fail2ban.sqlite3", ServerErr: "offline tree", Jails: []*bans.Jail{jail}}})
	f.Sys = host.Offline(root)
	if len(findings) != 1 || findings[0].Severity != check.SeverityError {
		t.Fatalf("findings %v", findings)
	}
	p := PlanServer(findings, f, nil)
	if len(p.Steps) != 1 || p.Steps[0].Command[0] != "sqlite3" || p.Steps[0].Command[1] != db {
		t.Fatalf("plan:\n%s", p.Render())
	}
	state := t.TempDir()
	if _, err := Apply(t.Context(), p, Options{StateDir: state}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sqlite3", db, "SELECT ip FROM bips; SELECT ip FROM bans;").Output()
	if err != nil || string(out) != "192.0.2.1\n192.0.2.1\n" {
		t.Errorf("after the fix the database holds %q (%v)", out, err)
	}
	if _, err := Undo(t.Context(), Options{StateDir: state}); err != nil {
		t.Fatal(err)
	}
	if read(t, db) != before {
		t.Error("the undo must put the database back byte for byte")
	}
	if mode, _, _ := meta(t, db); mode != 0o600 {
		t.Errorf("mode after undo %o", mode)
	}
}

// TCP wrappers refuse the client: "sshd: ADDR" goes at the top of
// hosts.allow, and afterwards libwrap's evaluation lets it in.
func TestPlanTCPWrappers(t *testing.T) {
	sshd, err := os.ReadFile("/usr/sbin/sshd")
	if err != nil {
		fwSkip(t, "needs Debian's /usr/sbin/sshd (linked with libwrap)")
	}
	root := t.TempDir()
	fwTreeFile(t, root, "/usr/sbin/sshd", string(sshd))
	allow := "# /etc/hosts.allow: list of hosts that are allowed to access the system.\nALL: 127.0.0.1\n"
	fwTreeFile(t, root, "/etc/hosts.allow", allow)
	fwTreeFile(t, root, "/etc/hosts.deny", "sshd: ALL\n")
	sys := host.Offline(root)
	from := netip.MustParseAddr("10.0.0.7")
	gather := func() (*diag.ServerFacts, []check.Finding) {
		w := tcpwrappers.Gather(sys, "/usr/sbin/sshd")
		if !w.Libwrap {
			fwSkip(t, "this sshd does not use libwrap: "+w.LibwrapErr)
		}
		f := &diag.ServerFacts{Sys: sys, Wrappers: w, From: from, Ports: []int{22}}
		return f, check.ServerBans(&check.ServerBansFacts{Wrappers: w, From: from, Ports: []uint16{22}})
	}
	f, findings := gather()
	if len(findings) != 1 || findings[0].Code != "tcpwrappers.denied" {
		t.Fatalf("findings %v", findings)
	}
	p := PlanServer(findings, f, nil)
	if len(p.Steps) != 1 || p.Steps[0].Kind != KindWrite {
		t.Fatalf("plan:\n%s", p.Render())
	}
	want := "# Added by sshdoctor: let 10.0.0.7 reach sshd (the first matching line wins).\nsshd: 10.0.0.7\n" + allow
	if string(p.Steps[0].Content) != want {
		t.Errorf("hosts.allow:\n%s", p.Steps[0].Content)
	}
	if _, err := Apply(t.Context(), p, Options{StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, findings = gather(); len(findings) != 0 {
		t.Errorf("after the fix: %v", findings)
	}
	if p := PlanServer(findings, f, nil); !p.Empty() {
		t.Errorf("second plan:\n%s", p.Render())
	}

	// hosts.deny without its last newline refuses everyone: end it.
	fwTreeFile(t, root, "/etc/hosts.allow", allow)
	fwTreeFile(t, root, "/etc/hosts.deny", "sshd: 192.0.2.0/24")
	f, findings = gather()
	if len(findings) != 1 {
		t.Fatalf("findings %v", findings)
	}
	p = PlanServer(findings, f, nil)
	if len(p.Steps) != 1 || string(p.Steps[0].Content) != "sshd: 192.0.2.0/24\n" || p.Steps[0].Path != filepath.Join(root, "etc/hosts.deny") {
		t.Fatalf("plan:\n%s", p.Render())
	}
}
