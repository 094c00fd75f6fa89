package check_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/firewall"
)

// fwFixture reads one of host/firewall's saved rulesets (real output of
// nft, iptables-save, ipset and ufw in a lab namespace) the way sshdoctor
// reads a live system, and evaluates port 22 and 2222 for q.
func fwFixture(t *testing.T, name string, q firewall.Query, extra firewall.FixtureRunner) *firewall.Report {
	t.Helper()
	dir := filepath.Join("..", "host", "firewall", "testdata")
	r := firewall.FixtureRunner{}
	for cmd, suffix := range map[string]string{
		"nft -j list ruleset": ".nft.json", "iptables-nft-save": ".iptables-nft.save",
		"ip6tables-nft-save": ".ip6tables-nft.save", "iptables-legacy-save": ".iptables-legacy.save",
		"ip6tables-legacy-save": ".ip6tables-legacy.save", "ipset save": ".ipset.save",
		"ufw status verbose": ".ufw-status.txt", "firewall-cmd --get-default-zone": ".firewalld-default-zone.txt",
		"firewall-cmd --get-active-zones": ".firewalld-active-zones.txt", "firewall-cmd --zone=public --list-all": ".firewalld-public.txt",
	} {
		data, err := os.ReadFile(filepath.Join(dir, name+suffix))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		r[cmd] = firewall.FixtureOutput{Stdout: string(data)}
	}
	if r["firewall-cmd --get-default-zone"].Stdout != "" {
		r["firewall-cmd --state"] = firewall.FixtureOutput{Stdout: "running\n"}
	}
	for k, v := range extra {
		r[k] = v
	}
	sys := host.System{Root: "/", Live: true, Run: r}
	facts := firewall.Gather(context.Background(), sys)
	return firewall.Inspect(context.Background(), sys, facts, q)
}

var fwEth0 = firewall.FixtureRunner{
	"ip -j addr show": {Stdout: `[{"ifname":"eth0","flags":["UP"],"addr_info":[{"family":"inet","local":"192.0.2.10","scope":"global"}]}]`},
}

func fwOnly(t *testing.T, fs []check.Finding, code string) check.Finding {
	t.Helper()
	var got []check.Finding
	for _, f := range fs {
		if f.Code == code {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		var all []string
		for _, f := range fs {
			all = append(all, f.Code+": "+f.Detail)
		}
		t.Fatalf("want one %s, got:\n%s", code, strings.Join(all, "\n"))
	}
	f := got[0]
	d, _ := check.Lookup(code)
	if f.Severity != d.Severity || f.Title != d.Title || f.Detail == "" || f.Fix == nil || f.Fix.Summary == "" {
		t.Errorf("%s badly formed: %+v", code, f)
	}
	return f
}

func fwEvidence(t *testing.T, f check.Finding, want map[string]any) {
	t.Helper()
	for k, w := range want {
		got := f.Evidence.Get(k)
		if !equalEvidence(got, w) {
			t.Errorf("%s evidence %s = %#v, want %#v", f.Code, k, got, w)
		}
	}
}

func equalEvidence(a, b any) bool {
	as, ok1 := a.([]string)
	bs, ok2 := b.([]string)
	if ok1 && ok2 {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestFirewallBlocksNFT(t *testing.T) {
	rep := fwFixture(t, "blocks", firewall.Query{Ports: []uint16{22}}, fwEth0)
	fs := check.Firewall(rep)
	f := fwOnly(t, fs, "firewall.blocks")
	fwEvidence(t, f, map[string]any{
		"backend": "nftables", "table": "inet filter", "chain": "services",
		"rule": "tcp dport 22 reject with tcp reset", "verdict": "reject", "reject_with": "tcp reset",
		"client_sees": "Connection refused", "port": 22, "from": "anywhere", "address": "192.0.2.10",
		"interface": "eth0", "path": []string{"input", "services"},
	})
	if len(fs) != 1 {
		t.Errorf("findings %d, want 1", len(fs))
	}
	if f.Fix.Commands[0] != "nft insert rule inet filter services position 4 tcp dport 22 accept" {
		t.Errorf("fix %q", f.Fix.Commands)
	}
	if !strings.Contains(f.Fix.Summary, "/etc/nftables.conf") {
		t.Errorf("fix summary does not say how to persist: %q", f.Fix.Summary)
	}
	if check.Verdict(fs).Code != "firewall.blocks" {
		t.Errorf("verdict %v", check.Verdict(fs))
	}
}

func TestFirewallSourceRestricted(t *testing.T) {
	rep := fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}}, fwEth0)
	fs := check.Firewall(rep)
	f := fwOnly(t, fs, "firewall.source-restricted")
	fwEvidence(t, f, map[string]any{
		"backend": "nftables", "table": "inet filter", "chain": "input", "rule": "policy drop",
		"allowed_from": []string{"10.0.0.0/8", "192.0.2.10/31", "192.0.2.12/30", "192.0.2.16/30", "192.0.2.20/32"},
		"allowed_by":   []string{`tcp dport 22 ip saddr @admins accept comment "ssh from admins"`},
		"from":         "anywhere",
	})
	if len(fs) != 1 || !strings.Contains(f.Fix.Commands[0], "--from") || !strings.Contains(f.Detail, "in only from 10.0.0.0/8, 192.0.2.10/31") {
		t.Errorf("findings %v, fix %v", fs, f.Fix)
	}

	// With the client's address: a plain block by the policy, and the
	// accept goes at the end of the chain, limited to that address.
	rep = fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}, From: netip.MustParseAddr("203.0.113.5")},
		firewall.FixtureRunner{"ip -j route get 203.0.113.5": {Stdout: `[{"dst":"203.0.113.5","dev":"eth0","prefsrc":"192.0.2.10"}]`}})
	f = fwOnly(t, check.Firewall(rep), "firewall.blocks")
	fwEvidence(t, f, map[string]any{"rule": "policy drop", "verdict": "drop", "from": "203.0.113.5",
		"client_sees": "Connection timed out", "interface": "eth0"})
	if f.Fix.Commands[0] != "nft add rule inet filter input ip saddr 203.0.113.5 tcp dport 22 accept" {
		t.Errorf("fix %q", f.Fix.Commands)
	}
	// From the admin network: nothing to say.
	rep = fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}, From: netip.MustParseAddr("10.9.8.7")}, nil)
	if fs := check.Firewall(rep); len(fs) != 0 {
		t.Errorf("from an allowed address: %v", fs)
	}
}

func TestFirewallBansAreNotBlocks(t *testing.T) {
	for _, fixture := range []string{"f2b-nft", "f2b-ipt", "sshguard-nft"} {
		for _, from := range []string{"", "192.0.2.7", "203.0.113.9"} {
			q := firewall.Query{Ports: []uint16{22}}
			if from != "" {
				q.From = netip.MustParseAddr(from)
			}
			rep := fwFixture(t, fixture, q, nil)
			for _, f := range check.Firewall(rep) {
				if f.Code == "firewall.blocks" {
					t.Errorf("%s from %q: %s %v", fixture, from, f.Detail, f.Evidence)
				}
			}
		}
	}
	rep := fwFixture(t, "f2b-nft", firewall.Query{Ports: []uint16{22}, From: netip.MustParseAddr("192.0.2.7")}, nil)
	if bans := rep.Bans(); len(bans) != 1 || bans[0].Jail != "sshd" || bans[0].Tool != "fail2ban" {
		t.Errorf("bans %+v", bans)
	}
}

// A block list reads as one: what it blocks, not the rest of the Internet.
func TestFirewallBlockList(t *testing.T) {
	rep := fwFixture(t, "prerouting", firewall.Query{Ports: []uint16{22}}, fwEth0)
	var got []string
	for _, f := range check.Firewall(rep) {
		if f.Code != "firewall.source-restricted" {
			t.Errorf("unexpected %s: %s", f.Code, f.Detail)
			continue
		}
		got = append(got, f.Detail)
		if b := f.Evidence.Get("blocked_from").([]string); len(b) != 1 {
			t.Errorf("blocked_from %v", b)
		}
	}
	want := []string{
		`The rule "-A PREROUTING -s 203.0.113.0/24 -j DROP" in iptables chain PREROUTING (table raw) stops SSH to port 22 from 203.0.113.0/24, and lets it in from everywhere else.`,
		`The rule "ip saddr 198.51.100.0/24 tcp dport 22 drop" in nftables chain pre of table inet early stops SSH to port 22 from 198.51.100.0/24, and lets it in from everywhere else.`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("details:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFirewallUFW(t *testing.T) {
	rep := fwFixture(t, "ufw-default", firewall.Query{Ports: []uint16{22}}, fwEth0)
	f := fwOnly(t, check.Firewall(rep), "firewall.blocks")
	fwEvidence(t, f, map[string]any{"backend": "ufw", "table": "filter", "chain": "INPUT", "rule": "-P INPUT DROP", "verdict": "drop"})
	if !slices.Equal(f.Fix.Commands, []string{"ufw allow 22/tcp"}) {
		t.Errorf("fix %q", f.Fix.Commands)
	}
	// An explicit deny of the admin's: the allow must go before it.
	rep = fwFixture(t, "ufw-rules", firewall.Query{Ports: []uint16{8022}, From: netip.MustParseAddr("10.1.1.1")},
		firewall.FixtureRunner{"ip -j route get 10.1.1.1": {Stdout: `[{"dst":"10.1.1.1","dev":"eth0","prefsrc":"10.0.0.2"}]`}})
	f = fwOnly(t, check.Firewall(rep), "firewall.blocks")
	fwEvidence(t, f, map[string]any{"backend": "ufw", "chain": "ufw-user-input", "position": 5,
		"rule": "-A ufw-user-input -p tcp -m tcp --dport 8022 -j DROP"})
	if !slices.Equal(f.Fix.Commands, []string{"ufw insert 1 allow from 10.1.1.1 to any port 8022 proto tcp"}) {
		t.Errorf("fix %q", f.Fix.Commands)
	}
}

// A real firewalld whose zone lacks ssh (captured by host/firewall's
// TestFirewalldLab).
func TestFirewallFirewalld(t *testing.T) {
	rep := fwFixture(t, "firewalld-nossh", firewall.Query{Ports: []uint16{22}}, fwEth0)
	f := fwOnly(t, check.Firewall(rep), "firewall.blocks")
	fwEvidence(t, f, map[string]any{"backend": "firewalld", "table": "inet firewalld", "chain": "filter_IN_public",
		"rule": "reject with icmpx type admin-prohibited", "verdict": "reject", "reject_with": "icmpx admin-prohibited",
		"client_sees": "No route to host"})
	if !slices.Equal(f.Fix.Commands, []string{"firewall-cmd --zone=public --add-service=ssh", "firewall-cmd --permanent --zone=public --add-service=ssh"}) {
		t.Errorf("fix %q", f.Fix.Commands)
	}
}

func TestFirewallIPTables(t *testing.T) {
	rep := fwFixture(t, "f2b-ipt", firewall.Query{Ports: []uint16{2222}, From: netip.MustParseAddr("198.51.100.200")}, nil)
	f := fwOnly(t, check.Firewall(rep), "firewall.blocks")
	fwEvidence(t, f, map[string]any{"backend": "iptables", "table": "filter", "chain": "INPUT", "position": 8,
		"rule":        "-A INPUT -p tcp -m tcp --dport 2222 -j REJECT --reject-with icmp-host-prohibited",
		"reject_with": "icmp host-prohibited", "client_sees": "No route to host"})
	if !slices.Equal(f.Fix.Commands, []string{"iptables -I INPUT 8 -s 198.51.100.200 -p tcp --dport 2222 -j ACCEPT",
		"iptables-save > /etc/iptables/rules.v4"}) {
		t.Errorf("fix %q", f.Fix.Commands)
	}
}

func TestFirewallUncertain(t *testing.T) {
	rules := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m mark --mark 0x2 -j DROP\nCOMMIT\n"
	rep := fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}, From: netip.MustParseAddr("10.1.1.1")},
		firewall.FixtureRunner{"iptables-nft-save": {Stdout: "# Generated by iptables-nft-save v1.8.9 (nf_tables)\n" + rules}})
	f := fwOnly(t, check.Firewall(rep), "firewall.uncertain")
	fwEvidence(t, f, map[string]any{"backend": "iptables", "chain": "INPUT", "verdict": "uncertain",
		"rule": "-A INPUT -p tcp -m tcp --dport 22 -m mark --mark 0x2 -j DROP", "not_understood": []string{"-m mark --mark 0x2"},
		"possible": []string{"drop", "accept"}})

	rep = fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}},
		firewall.FixtureRunner{"nft -j list ruleset": {Err: "Operation not permitted"}})
	f = fwOnly(t, check.Firewall(rep), "firewall.uncertain")
	fwEvidence(t, f, map[string]any{"source": "nft -j list ruleset"})
	if !slices.Equal(f.Fix.Commands, []string{"sudo sshdoctor server"}) {
		t.Errorf("fix %+v", f.Fix)
	}
	// Another failure is not a matter of root.
	rep = fwFixture(t, "restricted", firewall.Query{Ports: []uint16{22}},
		firewall.FixtureRunner{"nft -j list ruleset": {Err: "Error: Could not process rule: No buffer space available"}})
	f = fwOnly(t, check.Firewall(rep), "firewall.uncertain")
	if len(f.Fix.Commands) != 0 || !strings.Contains(f.Fix.Summary, "Run 'nft -j list ruleset' to see its error") {
		t.Errorf("fix %+v", f.Fix)
	}
}
