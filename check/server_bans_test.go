package check

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
)

var banAt = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

func banOf(s string) bans.Ban {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		p = netip.MustParsePrefix(s)
	} else {
		a := netip.MustParseAddr(s)
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return bans.Ban{Addr: s, Prefix: p, At: banAt, Until: banAt.Add(10 * time.Minute)}
}

func sshdJail(banned ...string) *bans.Jail {
	j := &bans.Jail{Name: "sshd", Enabled: true, Running: true, Port: "ssh",
		Ports: []bans.PortRange{{Lo: 22, Hi: 22}}, Actions: []bans.Action{{Name: "iptables-multiport"}},
		BanTime: 10 * time.Minute, IgnoreIP: []string{"127.0.0.1/8", "::1"},
		IgnoreIPFile: "/etc/fail2ban/jail.local", IgnoreIPSection: "DEFAULT", CurrentlyBanned: len(banned)}
	for _, b := range banned {
		j.Bans = append(j.Bans, banOf(b))
	}
	return j
}

func f2bChain(jail string, entries ...string) *bans.Object {
	o := &bans.Object{Tool: bans.ToolFail2ban, Jail: jail, Backend: bans.BackendIPTables, Kind: bans.KindChain,
		Table: "filter", Name: "f2b-" + jail, Hooked: true}
	for _, e := range entries {
		en := entryOf(e)
		en.Rule = "-A f2b-" + jail + " -s " + e + " -j REJECT --reject-with icmp-port-unreachable"
		en.Verdict = "REJECT --reject-with icmp-port-unreachable"
		o.Entries = append(o.Entries, en)
	}
	return o
}

// entryOf makes the firewall entry of a CIDR network.
func entryOf(v string) bans.Entry {
	p := netip.MustParsePrefix(v).Masked()
	hi := p.Addr().AsSlice()
	for i := p.Bits(); i < len(hi)*8; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	h, _ := netip.AddrFromSlice(hi)
	return bans.Entry{Value: v, Lo: p.Addr(), Hi: h}
}

func liveBans(f2b *bans.Fail2ban, objs ...*bans.Object) *bans.Facts {
	return &bans.Facts{Root: "/", Live: true, Fail2ban: f2b,
		Firewall: &bans.Firewall{Objects: objs, Read: []string{"iptables -w -S"}}}
}

func running(jails ...*bans.Jail) *bans.Fail2ban {
	return &bans.Fail2ban{ConfigDir: "/etc/fail2ban", Jails: jails, Running: true, BanSource: bans.SourceServer,
		DBFile: "/var/lib/fail2ban/fail2ban.sqlite3"}
}

const client = "198.51.100.7"

func from(s string) netip.Addr { return netip.MustParseAddr(s) }

// one returns the only finding with code, failing otherwise.
func one(t *testing.T, fs []Finding, code string) Finding {
	t.Helper()
	var got []Finding
	for _, f := range fs {
		if f.Code == code {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one %s finding, got %d: %+v", code, len(got), fs)
	}
	if _, err := json.Marshal(got[0]); err != nil {
		t.Fatalf("finding does not marshal: %v", err)
	}
	return got[0]
}

func wantEv(t *testing.T, f Finding, kv map[string]any) {
	t.Helper()
	for k, want := range kv {
		if got := f.Evidence.Get(k); !jsonEqual(got, want) {
			t.Errorf("evidence %s = %#v, want %#v", k, got, want)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func wantCmds(t *testing.T, f Finding, cmds ...string) {
	t.Helper()
	if f.Fix == nil {
		t.Fatalf("no fix: %+v", f)
	}
	if strings.Join(f.Fix.Commands, "\n") != strings.Join(cmds, "\n") {
		t.Errorf("fix commands:\n%s\nwant:\n%s", strings.Join(f.Fix.Commands, "\n"), strings.Join(cmds, "\n"))
	}
}

func TestBanActiveEnforced(t *testing.T) {
	fs := ServerBans(&ServerBansFacts{
		Bans: liveBans(running(sshdJail(client, "198.51.100.8")), f2bChain("sshd", "198.51.100.8/32", client+"/32")),
		From: from(client),
	})
	f := one(t, fs, "ban.active")
	if f.Severity != SeverityError {
		t.Errorf("severity %s", f.Severity)
	}
	wantEv(t, f, map[string]any{
		"tool": "fail2ban", "jail": "sshd", "address": client, "source": "fail2ban-client", "enforced": true,
		"banned_until":  "2026-11-24T05:10:00Z",
		"firewall":      []string{"iptables chain f2b-sshd: -A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable"},
		"ignoreip_file": "/etc/fail2ban/jail.local", "ignoreip_section": "DEFAULT", "ignoreip_line": "ignoreip = 127.0.0.1/8 ::1 198.51.100.7",
	})
	if f.Evidence.Get("client") != nil {
		t.Errorf("client evidence for an exact ban: %v", f.Evidence.Get("client"))
	}
	wantCmds(t, f, "fail2ban-client set sshd unbanip 198.51.100.7")
	if !strings.Contains(f.Fix.Summary, "addignoreip 198.51.100.7") {
		t.Errorf("summary does not offer ignoreip: %s", f.Fix.Summary)
	}
	if v := Verdict(fs); v == nil || v.Code != "ban.active" {
		t.Errorf("verdict %v", v)
	}

	// Another address is not banned.
	if fs := ServerBans(&ServerBansFacts{
		Bans: liveBans(running(sshdJail(client)), f2bChain("sshd", client+"/32")),
		From: from("198.51.100.99"),
	}); len(fs) != 0 {
		t.Errorf("findings for an address nobody bans: %+v", fs)
	}
}

// A jail only the server knows (its configuration is gone) is one
// finding, not a ban plus a leftover.
func TestBanJailWithoutConfig(t *testing.T) {
	j := &bans.Jail{Name: "custom", Enabled: true, Running: true, Bans: []bans.Ban{banOf(client)}}
	fs := ServerBans(&ServerBansFacts{Bans: liveBans(running(j), f2bChain("custom", client+"/32")), From: from(client)})
	f := one(t, fs, "ban.active")
	wantEv(t, f, map[string]any{"jail": "custom", "enforced": true})
	wantCmds(t, f, "fail2ban-client set custom unbanip 198.51.100.7")
}

func TestBanNotEnforced(t *testing.T) {
	// fail2ban lists the ban, the firewall was read, the chain is gone.
	fs := ServerBans(&ServerBansFacts{Bans: liveBans(running(sshdJail(client))), From: from(client)})
	f := one(t, fs, "ban.active")
	if f.Severity != SeverityWarning || !strings.Contains(f.Detail, "does not enforce") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	wantEv(t, f, map[string]any{"enforced": false})
	// An action sshdoctor cannot check (ufw) keeps the error.
	j := sshdJail(client)
	j.Actions = []bans.Action{{Name: "ufw"}}
	f = one(t, ServerBans(&ServerBansFacts{Bans: liveBans(running(j)), From: from(client)}), "ban.active")
	if f.Severity != SeverityError || f.Evidence.Get("enforced") != nil {
		t.Errorf("ufw action: %s %v", f.Severity, f.Evidence)
	}
	// host/firewall's evaluation read the firewall and found no ban rule.
	fs = ServerBans(&ServerBansFacts{
		Bans:     &bans.Facts{Root: "/", Live: true, Fail2ban: running(sshdJail(client))},
		From:     from(client),
		Firewall: &bans.FirewallEvidence{Known: true},
	})
	if f := one(t, fs, "ban.active"); f.Severity != SeverityWarning {
		t.Errorf("firewall evidence without a rule: %s", f.Severity)
	}
}

func TestBanStaleFirewallEntry(t *testing.T) {
	fs := ServerBans(&ServerBansFacts{
		Bans: liveBans(running(sshdJail()), f2bChain("sshd", client+"/32")),
		From: from(client),
	})
	f := one(t, fs, "ban.active")
	if f.Severity != SeverityError || !strings.Contains(f.Detail, "leftover") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	wantEv(t, f, map[string]any{"source": "firewall", "stale": true, "address": client + "/32", "client": client})
	wantCmds(t, f, "iptables -D f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable")

	// The same entry in a chain nothing jumps to blocks nothing.
	unhooked := f2bChain("sshd", client+"/32")
	unhooked.Hooked = false
	f = one(t, ServerBans(&ServerBansFacts{Bans: liveBans(running(sshdJail()), unhooked), From: from(client)}), "ban.active")
	if f.Severity != SeverityWarning || !strings.Contains(f.Detail, "blocks nothing") {
		t.Errorf("unhooked chain: %s: %s", f.Severity, f.Detail)
	}

	// A chain of a jail the configuration no longer has.
	fs = ServerBans(&ServerBansFacts{
		Bans: liveBans(running(sshdJail()), f2bChain("old", "198.51.100.0/24")),
		From: from(client),
	})
	f = one(t, fs, "ban.active")
	wantEv(t, f, map[string]any{"jail": "old", "stale": true, "address": "198.51.100.0/24"})
	wantCmds(t, f, "iptables -D f2b-old -s 198.51.100.0/24 -j REJECT --reject-with icmp-port-unreachable")
}

func TestBanManagedRuleFromFirewall(t *testing.T) {
	mr := bans.ManagedRule{Tool: bans.ToolFail2ban, Backend: "nftables", Family: "inet", Table: "f2b-table",
		Chain: "f2b-chain", Handle: 3, Rule: "tcp dport 22 ip saddr @addr-set-sshd reject",
		Verdict: "reject", Set: "addr-set-sshd", Element: client}
	fs := ServerBans(&ServerBansFacts{
		Bans:     &bans.Facts{Root: "/", Live: true, Fail2ban: running(sshdJail())},
		From:     from(client),
		Firewall: &bans.FirewallEvidence{Known: true, Rules: []bans.ManagedRule{mr}},
	})
	f := one(t, fs, "ban.active")
	wantEv(t, f, map[string]any{"jail": "sshd", "stale": true,
		"firewall": []string{"nftables table inet f2b-table chain f2b-chain: tcp dport 22 ip saddr @addr-set-sshd reject (set addr-set-sshd holds 198.51.100.7)"}})
	wantCmds(t, f, "nft delete element inet f2b-table addr-set-sshd { 198.51.100.7 }")
}

// A rule from host/firewall that matches through a set is never deleted:
// that would lift every ban of the jail.
func TestBanManagedSetRuleWithoutElement(t *testing.T) {
	for rule, want := range map[string]string{
		"tcp dport 22 ip saddr @addr-set-sshd reject": "nft delete element inet f2b-table addr-set-sshd { 198.51.100.7 }",
		"-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable": "ipset del f2b-sshd 198.51.100.7",
	} {
		backend := "nftables"
		if strings.HasPrefix(rule, "-A") {
			backend = "iptables"
		}
		mr := bans.ManagedRule{Tool: bans.ToolFail2ban, Jail: "sshd", Backend: backend, Family: "inet", Table: "f2b-table", Chain: "f2b-chain", Handle: 3, Rule: rule}
		f := one(t, ServerBans(&ServerBansFacts{Bans: &bans.Facts{Root: "/", Live: true}, From: from(client),
			Firewall: &bans.FirewallEvidence{Known: true, Rules: []bans.ManagedRule{mr}}}), "ban.active")
		wantCmds(t, f, want)
	}
}

func TestBanManagedRuleOfUnknownJail(t *testing.T) {
	mr := bans.ManagedRule{Tool: bans.ToolFail2ban, Backend: "iptables", Family: "ip", Table: "filter",
		Chain: "f2b-gone", Rule: "-A f2b-gone -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable", Verdict: "reject"}
	fs := ServerBans(&ServerBansFacts{
		Bans:     &bans.Facts{Root: "/", Live: true},
		From:     from(client),
		Firewall: &bans.FirewallEvidence{Known: true, Rules: []bans.ManagedRule{mr}},
	})
	f := one(t, fs, "ban.active")
	wantEv(t, f, map[string]any{"jail": "gone", "stale": true})
	wantCmds(t, f, "iptables -t filter -D f2b-gone -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable")
}

func TestBanFromDatabase(t *testing.T) {
	f2b := &bans.Fail2ban{ConfigDir: "/etc/fail2ban", Jails: []*bans.Jail{sshdJail(client)}, BanSource: bans.SourceDatabase,
		ServerErr: "fail2ban-client: Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?",
		DBFile:    "/var/lib/fail2ban/fail2ban.sqlite3"}
	// Live, server stopped, no leftover in the firewall: not enforced now.
	f := one(t, ServerBans(&ServerBansFacts{Bans: liveBans(f2b), From: from(client)}), "ban.active")
	if f.Severity != SeverityWarning || !strings.Contains(f.Detail, "restore it when it starts") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	wantCmds(t, f, `sqlite3 /var/lib/fail2ban/fail2ban.sqlite3 'DELETE FROM bips WHERE jail = '\''sshd'\'' AND ip = '\''198.51.100.7'\''; DELETE FROM bans WHERE jail = '\''sshd'\'' AND ip = '\''198.51.100.7'\'';'`)

	// Offline: restored at boot, an error; paths under the tree.
	off := &bans.Facts{Root: "/mnt/disk", Fail2ban: f2b}
	f = one(t, ServerBans(&ServerBansFacts{Bans: off, From: from(client)}), "ban.active")
	if f.Severity != SeverityError || !strings.Contains(f.Detail, "at boot") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	if !strings.HasPrefix(f.Fix.Commands[0], "sqlite3 /mnt/disk/var/lib/fail2ban/fail2ban.sqlite3 ") {
		t.Errorf("command %q", f.Fix.Commands[0])
	}
	wantEv(t, f, map[string]any{"source": "database", "ignoreip_file": "/mnt/disk/etc/fail2ban/jail.local"})
}

func TestBanOtherPortsOnly(t *testing.T) {
	nginx := &bans.Jail{Name: "nginx-http-auth", Enabled: true, Running: true, Port: "http,https",
		Ports: []bans.PortRange{{Lo: 80, Hi: 80}, {Lo: 443, Hi: 443}}, Actions: []bans.Action{{Name: "iptables-multiport"}},
		Bans: []bans.Ban{banOf(client)}}
	fs := ServerBans(&ServerBansFacts{Bans: liveBans(running(sshdJail(), nginx), f2bChain("nginx-http-auth", client+"/32")), From: from(client)})
	f := one(t, fs, "ban.active")
	if f.Severity != SeverityInfo || !strings.Contains(f.Detail, "not what stops SSH") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	if Verdict(fs) != nil {
		t.Errorf("an info finding became the verdict")
	}
	// On a non-standard SSH port a jail on port ssh (22) misses it too.
	f = one(t, ServerBans(&ServerBansFacts{Bans: liveBans(running(sshdJail(client)), f2bChain("sshd", client+"/32")),
		From: from(client), Ports: []uint16{2222}}), "ban.active")
	if f.Severity != SeverityInfo {
		t.Errorf("port 2222: %s", f.Severity)
	}
}

func TestBanIgnoredAddress(t *testing.T) {
	j := sshdJail("192.0.2.0/24")
	j.IgnoreIP = append(j.IgnoreIP, "192.0.2.5")
	f := one(t, ServerBans(&ServerBansFacts{Bans: liveBans(running(j), f2bChain("sshd", "192.0.2.0/24")), From: from("192.0.2.5")}), "ban.active")
	wantEv(t, f, map[string]any{"ignoreip_entry": "192.0.2.5", "address": "192.0.2.0/24", "client": "192.0.2.5"})
	if !strings.Contains(f.Detail, "Oddly") || f.Evidence.Get("ignoreip_line") != nil {
		t.Errorf("detail %q, evidence %v", f.Detail, f.Evidence)
	}
	wantCmds(t, f, "fail2ban-client set sshd unbanip 192.0.2.0/24")
}

func sshguardSet(family string, entries ...string) *bans.Object {
	o := &bans.Object{Tool: bans.ToolSSHGuard, Backend: bans.BackendNFT, Kind: bans.KindSet, Table: family + " sshguard", Name: "attackers", Hooked: true}
	for _, e := range entries {
		o.Entries = append(o.Entries, entryOf(e))
	}
	return o
}

func TestSSHGuardBlocks(t *testing.T) {
	sg := &bans.SSHGuard{ConfigFile: "/etc/sshguard/sshguard.conf", BlockTime: 2 * time.Minute,
		BlacklistFile: "/var/lib/sshguard/enemies", WhitelistFile: "/etc/sshguard/whitelist", Whitelist: []string{"127.0.0.0/8"},
		Blacklist: []bans.BlacklistEntry{{Addr: from("10.9.0.77"), At: banAt, Line: 3}}}
	facts := liveBans(nil, sshguardSet("ip", "198.51.100.9/32", "10.9.0.0/24"))
	facts.SSHGuard = sg

	f := one(t, ServerBans(&ServerBansFacts{Bans: facts, From: from("10.9.0.77")}), "ban.active")
	if f.Severity != SeverityError {
		t.Errorf("severity %s", f.Severity)
	}
	wantEv(t, f, map[string]any{"tool": "sshguard", "address": "10.9.0.0/24", "client": "10.9.0.77",
		"firewall": []string{"nft set ip sshguard attackers: 10.9.0.0/24"}, "blacklist": "/var/lib/sshguard/enemies:3",
		"whitelist_file": "/etc/sshguard/whitelist"})
	wantCmds(t, f, "nft delete element ip sshguard attackers { 10.9.0.0/24 }", `sed -i '/|10\.9\.0\.77$/d' /var/lib/sshguard/enemies`)

	// Blacklisted, but sshguard's set does not hold it: it will.
	facts.Firewall.Objects = []*bans.Object{sshguardSet("ip")}
	f = one(t, ServerBans(&ServerBansFacts{Bans: facts, From: from("10.9.0.77")}), "ban.active")
	if f.Severity != SeverityWarning || !strings.Contains(f.Detail, "as soon as it starts") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	if fs := ServerBans(&ServerBansFacts{Bans: facts, From: from("10.9.0.78")}); len(fs) != 0 {
		t.Errorf("findings for another address: %+v", fs)
	}
}

func TestBansWithoutFrom(t *testing.T) {
	nginx := &bans.Jail{Name: "nginx-http-auth", Port: "http,https", Ports: []bans.PortRange{{Lo: 80, Hi: 80}},
		Bans: []bans.Ban{banOf("203.0.113.5")}}
	facts := liveBans(running(sshdJail(client, "198.51.100.8"), nginx), sshguardSet("ip", "198.51.100.9/32"))
	fs := ServerBans(&ServerBansFacts{Bans: facts})
	if len(fs) != 2 {
		t.Fatalf("findings %+v", fs)
	}
	for _, f := range fs {
		if f.Severity != SeverityInfo {
			t.Errorf("%s: severity %s", f.Detail, f.Severity)
		}
	}
	wantEv(t, fs[0], map[string]any{"jail": "sshd", "count": 2, "addresses": []string{client, "198.51.100.8"}})
	if !strings.HasPrefix(fs[0].Detail, "2 addresses are banned in fail2ban's jail sshd") {
		t.Errorf("detail %q", fs[0].Detail)
	}
	wantEv(t, fs[1], map[string]any{"tool": "sshguard", "count": 1})
}

func wrappers(allow, deny string) *tcpwrappers.Facts {
	w := &tcpwrappers.Facts{Root: "/", Live: true, SSHD: "/usr/sbin/sshd", Libwrap: true, Daemon: "sshd"}
	if allow != "-" {
		w.Allow = tcpwrappers.Parse(tcpwrappers.AllowFile, []byte(allow))
	}
	w.Deny = tcpwrappers.Parse(tcpwrappers.DenyFile, []byte(deny))
	return w
}

func TestTCPWrappersDenied(t *testing.T) {
	w := wrappers("# hosts.allow\n", "# deny\nsshd: 198.51.100.0/255.255.255.0\n")
	fs := ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)})
	f := one(t, fs, "tcpwrappers.denied")
	if f.Severity != SeverityError {
		t.Errorf("severity %s", f.Severity)
	}
	wantEv(t, f, map[string]any{"address": client, "file": "/etc/hosts.deny", "line": 2, "rule": "sshd: 198.51.100.0/255.255.255.0",
		"pattern": "198.51.100.0/255.255.255.0", "effect": "refuse", "allow_line": "sshd: 198.51.100.7"})
	if !strings.Contains(f.Detail, "/etc/hosts.deny:2") || !strings.Contains(f.Detail, "before its banner") {
		t.Errorf("detail %q", f.Detail)
	}
	wantCmds(t, f, "sed -i '1i sshd: 198.51.100.7' /etc/hosts.allow")

	// The line the fix writes makes the same evaluation grant.
	w.Allow = tcpwrappers.Parse(tcpwrappers.AllowFile, []byte("sshd: 198.51.100.7\n# hosts.allow\n"))
	if fs := ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}); len(fs) != 0 {
		t.Errorf("still refused after the fix: %+v", fs)
	}
	if fs := ServerBans(&ServerBansFacts{Wrappers: w, From: from("203.0.113.1")}); len(fs) != 0 {
		t.Errorf("another address refused: %+v", fs)
	}
}

func TestTCPWrappersFixes(t *testing.T) {
	// No hosts.allow at all; IPv6 in brackets; offline paths.
	w := wrappers("-", "ALL: ALL\n")
	w.Root, w.Live = "/mnt/disk", false
	f := one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from("2001:db8::7")}), "tcpwrappers.denied")
	wantCmds(t, f, "echo 'sshd: [2001:db8::7]' >> /mnt/disk/etc/hosts.allow")

	// An unterminated last line refuses everyone: add the newline.
	w = wrappers("", "sshd: 203.0.113.9")
	f = one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}), "tcpwrappers.denied")
	if !strings.Contains(f.Detail, "missing newline") {
		t.Errorf("detail %q", f.Detail)
	}
	wantCmds(t, f, "echo >> /etc/hosts.deny")

	// twist in hosts.allow.
	w = wrappers("sshd: ALL : twist /bin/echo go away\n", "")
	f = one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}), "tcpwrappers.denied")
	wantEv(t, f, map[string]any{"effect": "twist", "file": "/etc/hosts.allow"})
	if !strings.Contains(f.Detail, "never reaches sshd") {
		t.Errorf("detail %q", f.Detail)
	}
}

func TestTCPWrappersUncertainAndUnlinked(t *testing.T) {
	w := wrappers("", "sshd: .example.org\n")
	f := one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}), "tcpwrappers.denied")
	if f.Severity != SeverityWarning {
		t.Errorf("severity %s", f.Severity)
	}
	wantEv(t, f, map[string]any{"uncertain": []string{`/etc/hosts.deny:1 "sshd: .example.org" (needs the client's host name (reverse DNS))`}})
	// With the client's name the answer is certain.
	if fs := ServerBans(&ServerBansFacts{Wrappers: w, From: from(client), FromName: "pc.example.com"}); len(fs) != 0 {
		t.Errorf("name outside the domain: %+v", fs)
	}
	f = one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from(client), FromName: "pc.example.org"}), "tcpwrappers.denied")
	if f.Severity != SeverityError {
		t.Errorf("name in the domain: %s", f.Severity)
	}
	// An sshd without libwrap ignores the files.
	w = wrappers("", "ALL: ALL\n")
	w.Libwrap = false
	if fs := ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}); len(fs) != 0 {
		t.Errorf("sshd without libwrap: %+v", fs)
	}
	// Unknown linkage: still evaluated, as a warning.
	w.LibwrapErr = "reading /usr/sbin/sshd as ELF: bad magic"
	if f := one(t, ServerBans(&ServerBansFacts{Wrappers: w, From: from(client)}), "tcpwrappers.denied"); f.Severity != SeverityWarning {
		t.Errorf("unknown linkage: %s", f.Severity)
	}
}

func TestTCPWrappersWithoutFrom(t *testing.T) {
	f := one(t, ServerBans(&ServerBansFacts{Wrappers: wrappers("", "sshd: ALL\n")}), "tcpwrappers.denied")
	if f.Severity != SeverityError || !strings.Contains(f.Detail, "every client") {
		t.Errorf("%s: %s", f.Severity, f.Detail)
	}
	f = one(t, ServerBans(&ServerBansFacts{Wrappers: wrappers("sshd: 10.0.0.0/8\n", "sshd: ALL\n")}), "tcpwrappers.denied")
	if f.Severity != SeverityInfo {
		t.Errorf("per-client rules: %s: %s", f.Severity, f.Detail)
	}
	if fs := ServerBans(&ServerBansFacts{Wrappers: wrappers("", "vsftpd: ALL\n")}); len(fs) != 0 {
		t.Errorf("rules for another daemon: %+v", fs)
	}
}

func TestBanDocs(t *testing.T) {
	for _, code := range []string{"ban.active", "tcpwrappers.denied"} {
		d, ok := Lookup(code)
		if !ok || d.Layer != LayerBans || d.Severity != SeverityError {
			t.Errorf("%s: %+v", code, d)
		}
	}
}
