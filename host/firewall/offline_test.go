package firewall

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

// writeTree creates files (path -> content) under a temp root; a content
// starting with "->" makes a symlink to the rest.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestOfflineNFTConf(t *testing.T) {
	root := writeTree(t, map[string]string{
		"/etc/nftables.conf":                                        "#!/usr/sbin/nft -f\nflush ruleset\ninclude \"/etc/nftables.d/*.nft\"\n",
		"/etc/nftables.d/10-filter.nft":                             "table inet filter {\n chain input { type filter hook input priority 0; iif \"eth0\" tcp dport 22 drop; }\n}\n",
		"/etc/nftables.d/20-more.nft":                               "include \"extra.conf\"\n",
		"/etc/nftables.d/extra.conf":                                "# relative to the including file\n",
		"/etc/systemd/system/sysinit.target.wants/nftables.service": "->/lib/systemd/system/nftables.service",
	})
	fixture, err := os.ReadFile("testdata/blocks.nft.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotScript string
	var gotIfaces []string
	old := loadNFT
	loadNFT = func(_ context.Context, script []byte, ifaces []string) ([]byte, error) {
		gotScript, gotIfaces = string(script), ifaces
		return fixture, nil
	}
	t.Cleanup(func() { loadNFT = old })

	f := Gather(context.Background(), host.Offline(root))
	if !f.Persisted || len(f.Rulesets) != 1 || f.Rulesets[0].Source != "/etc/nftables.conf" || len(f.Unreadable()) != 0 {
		t.Fatalf("facts %+v sources %+v", f, f.Sources)
	}
	for _, want := range []string{"# included from /etc/nftables.d/10-filter.nft", "iif \"eth0\" tcp dport 22 drop",
		"# included from /etc/nftables.d/extra.conf"} {
		if !strings.Contains(gotScript, want) {
			t.Errorf("the script given to nft lacks %q:\n%s", want, gotScript)
		}
	}
	if strings.Join(gotIfaces, ",") != "eth0" {
		t.Errorf("interfaces to create: %v", gotIfaces)
	}
	rep := Inspect(context.Background(), host.Offline(root), f, Query{Ports: []uint16{22}})
	ev := rep.Evaluations[0]
	d := ev.Chains[0].Decisions[0]
	if !d.Blocks() {
		t.Fatalf("%s", ev)
	}
	if a := rep.Allow(ev, ev.Chains[0], d); len(a.Commands) != 0 || !strings.Contains(a.Summary, "In /etc/nftables.conf, add \"tcp dport 22 accept\"") {
		t.Errorf("offline allow %+v", a)
	}

	// Not enabled: listed, not evaluated.
	if err := os.Remove(filepath.Join(root, "etc/systemd/system/sysinit.target.wants/nftables.service")); err != nil {
		t.Fatal(err)
	}
	f = Gather(context.Background(), host.Offline(root))
	if len(f.Rulesets) != 0 || !strings.Contains(f.Sources[0].Note, "not enabled") {
		t.Errorf("disabled nftables: %+v", f.Sources)
	}
	// A missing include is an error, not a silently smaller ruleset.
	root = writeTree(t, map[string]string{"/etc/nftables.conf": "include \"/etc/missing.nft\"\n"})
	f = Gather(context.Background(), host.Offline(root))
	if bad := f.Unreadable(); len(bad) != 1 || !strings.Contains(bad[0].Err, "missing.nft") {
		t.Errorf("missing include: %+v", f.Sources)
	}
}

// loadNFT is real here: the script goes through the real nft, in a
// throwaway namespace of its own.
func TestOfflineNFTConfRealNFT(t *testing.T) {
	requireLab(t, "nft", "unshare")
	root := writeTree(t, map[string]string{
		"/etc/nftables.conf": "flush ruleset\ndefine ssh = 22\ninclude \"/etc/nft/filter.nft\"\n",
		"/etc/nft/filter.nft": `table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		iif "enp3s0" tcp dport $ssh accept
		ct state established accept
	}
}
table netdev edge {
	chain ingress {
		type filter hook ingress device "wan0" priority -500;
		tcp dport 23 drop
	}
}
`,
	})
	f := Gather(context.Background(), host.Offline(root))
	if bad := f.Unreadable(); len(bad) > 0 {
		t.Fatalf("%+v", bad)
	}
	for iif, want := range map[string]VerdictKind{"enp3s0": VerdictAccept, "eth1": VerdictDrop} {
		d, _ := decisionFor(t, f.Rulesets, Packet{Family: 6, Src: ap("2001:db8::9"), DPort: 22, Iif: iif})
		if d.Verdict != want {
			t.Errorf("on %s: %s, want %s", iif, d, want)
		}
	}
	// The host's own ruleset is untouched: nft ran in its own namespace.
	if out, err := exec.Command("nft", "list", "table", "netdev", "edge").CombinedOutput(); err == nil {
		t.Errorf("the throwaway ruleset leaked into this machine's firewall:\n%s", out)
	}
}

func TestOfflineIPTablesSaved(t *testing.T) {
	rules, err := os.ReadFile("testdata/ipt-f2b.rules")
	if err != nil {
		t.Fatal(err)
	}
	root := writeTree(t, map[string]string{
		"/etc/iptables/rules.v4": string(rules),
		"/etc/iptables/ipsets":   "create f2b-recidive hash:ip family inet\nadd f2b-recidive 203.0.113.9\ncreate allow-admins hash:net family inet\nadd allow-admins 198.51.100.0/24\n",
		"/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service": "->/lib/systemd/system/netfilter-persistent.service",
	})
	f := Gather(context.Background(), host.Offline(root))
	if len(f.Rulesets) != 1 || f.Rulesets[0].Source != "/etc/iptables/rules.v4" || len(f.Unreadable()) != 0 {
		t.Fatalf("%+v %+v", f.Rulesets, f.Sources)
	}
	d, _ := decisionFor(t, f.Rulesets, Packet{Family: 4, Src: ap("198.51.100.7"), DPort: 22})
	if d.Verdict != VerdictAccept {
		t.Errorf("admin network: %s", d)
	}
	rep := Inspect(context.Background(), host.Offline(root), f, Query{Ports: []uint16{2222}, From: ap("192.0.2.50")})
	ev := rep.Evaluations[0]
	for _, c := range ev.Chains {
		for _, d := range c.Decisions {
			if d.Blocks() {
				a := rep.Allow(ev, c, d)
				want := `In /etc/iptables/rules.v4, add "-A INPUT -s 192.0.2.50 -p tcp --dport 2222 -j ACCEPT" to chain INPUT of table filter, just before "-A INPUT -p tcp -m tcp --dport 2222 -j REJECT --reject-with icmp-host-prohibited".`
				if a.Summary != want || len(a.Commands) != 0 {
					t.Errorf("allow %q", a.Summary)
				}
			}
		}
	}
}

// The ruleset rebuilt from ufw's files equals the one the real ufw loaded
// after "ufw reload", which loads the files as at boot (both saved by
// testdata/gen-fixtures.sh from the same scenario).
func TestOfflineUFWMatchesLiveUFW(t *testing.T) {
	tree, err := filepath.Abs("testdata/ufw-rules.tree")
	if err != nil {
		t.Fatal(err)
	}
	off := Gather(context.Background(), host.Offline(tree))
	if off.UFW == nil || !off.UFW.Active || off.UFW.DefaultIncoming != "deny" || len(off.UFW.Rules) == 0 {
		t.Fatalf("ufw %+v sources %+v", off.UFW, off.Sources)
	}
	if len(off.Rulesets) != 2 || len(off.Unreadable()) != 0 {
		t.Fatalf("rulesets %d, sources %+v", len(off.Rulesets), off.Sources)
	}
	liveF := gatherFixture(t, "ufw-boot")
	n := 0
	for _, fam := range []int{4, 6} {
		srcs := []string{"10.1.2.3", "192.0.2.1"}
		if fam == 6 {
			srcs = []string{"2001:db8::1", "fd00::5"}
		}
		for _, port := range []uint16{22, 2222, 8022, 10022, 80} {
			for _, iif := range []string{"eth0", "eth1"} {
				for _, src := range srcs {
					p := Packet{Family: fam, Src: ap(src), DPort: port, Iif: iif, Dst: ap(map[int]string{4: "10.0.0.1", 6: "2001:db8::a"}[fam])}
					a, evA := decisionFor(t, off.Rulesets, p)
					b, evB := decisionFor(t, liveF.Rulesets, p)
					if a.Verdict != b.Verdict || a.RejectWith != b.RejectWith {
						t.Errorf("%s: offline %s, live %s\noffline:\n%s\nlive:\n%s", p, a, b, evA, evB)
					}
					n++
				}
			}
		}
	}
	if n != 40 {
		t.Errorf("compared %d packets", n)
	}
	// Disabled: nothing evaluated.
	root := writeTree(t, map[string]string{"/etc/ufw/ufw.conf": "ENABLED=no\n"})
	f := Gather(context.Background(), host.Offline(root))
	if f.UFW == nil || f.UFW.Active || len(f.Rulesets) != 0 || !strings.Contains(f.Sources[0].Note, "ENABLED=no") {
		t.Errorf("disabled ufw: %+v %+v", f.UFW, f.Sources)
	}
}

func TestOfflineFirewalld(t *testing.T) {
	zone := func(target, body string) string {
		return `<?xml version="1.0" encoding="utf-8"?>` + "\n<zone" + target + ">\n  <short>Z</short>\n" + body + "</zone>\n"
	}
	root := writeTree(t, map[string]string{
		"/etc/firewalld/firewalld.conf":         "# comment\nDefaultZone=public\nFirewallBackend=nftables\n",
		"/usr/lib/firewalld/zones/public.xml":   zone("", `  <service name="ssh"/>`+"\n"),
		"/etc/firewalld/zones/public.xml":       zone("", `  <service name="dhcpv6-client"/>`+"\n"+`  <port protocol="tcp" port="2222"/>`+"\n"),
		"/usr/lib/firewalld/zones/internal.xml": zone(` target="ACCEPT"`, `  <source address="10.0.0.0/8"/>`+"\n"),
		"/usr/lib/firewalld/zones/drop.xml":     zone(` target="DROP"`, `  <interface name="eth9"/>`+"\n"),
		"/usr/lib/firewalld/services/ssh.xml":   `<service><port protocol="tcp" port="22"/></service>`,
		"/etc/firewalld/zones/trusted-admin.xml": zone("", `  <source address="192.0.2.0/24"/>`+"\n"+
			`  <rule family="ipv4"><source address="192.0.2.66"/><reject/></rule>`+"\n"+
			`  <rule family="ipv4"><source address="192.0.2.77"/><service name="ssh"/><drop/><limit value="1/m"/></rule>`+"\n"+
			`  <service name="ssh"/>`+"\n"),
		"/etc/systemd/system/multi-user.target.wants/firewalld.service": "->/lib/systemd/system/firewalld.service",
	})
	f := Gather(context.Background(), host.Offline(root))
	if f.Firewalld == nil || f.Firewalld.DefaultZone != "public" || len(f.Rulesets) != 1 || len(f.Unreadable()) != 0 {
		t.Fatalf("firewalld %+v sources %+v", f.Firewalld, f.Sources)
	}
	for _, tc := range []struct {
		src     string
		iif     string
		port    uint16
		verdict VerdictKind
		rule    string
	}{
		// /etc's public.xml replaces the one in /usr/lib: no ssh there.
		{"203.0.113.1", "eth0", 22, VerdictReject, `reject with icmpx type admin-prohibited comment "target of zone public"`},
		{"203.0.113.1", "eth0", 2222, VerdictAccept, `tcp dport 2222 accept comment "port 2222/tcp"`},
		{"10.1.1.1", "eth0", 22, VerdictAccept, `accept comment "target of zone internal"`},
		{"203.0.113.1", "eth9", 22, VerdictDrop, `drop comment "target of zone drop"`},
		{"192.0.2.5", "eth0", 22, VerdictAccept, `tcp dport 22 accept comment "service ssh"`},
		{"192.0.2.66", "eth0", 22, VerdictReject, `rule family="ipv4" source address="192.0.2.66" reject`},
		{"192.0.2.77", "eth0", 22, VerdictUncertain, ""},
		{"192.0.2.77", "eth0", 2222, VerdictReject, `reject with icmpx type admin-prohibited comment "target of zone trusted-admin"`},
	} {
		_, ev := decisionFor(t, f.Rulesets, Packet{Family: 4, Src: ap(tc.src), DPort: tc.port, Iif: tc.iif})
		d := chainDecision(t, ev, 0, ap(tc.src))
		rule := ""
		if d.Rule != nil && d.Verdict != VerdictUncertain {
			rule = d.Rule.Text
		}
		if d.Verdict != tc.verdict || rule != tc.rule || ev.Chains[0].Backend != BackendFirewalld {
			t.Errorf("%s on %s port %d: %s (%s), want %s by %q", tc.src, tc.iif, tc.port, d, ev.Chains[0].Backend, tc.verdict, tc.rule)
		}
	}
	rep := Inspect(context.Background(), host.Offline(root), f, Query{Ports: []uint16{22}, From: ap("203.0.113.1")})
	ev := rep.Evaluations[0]
	if a := rep.Allow(ev, ev.Chains[0], ev.Chains[0].Decisions[0]); !strings.Contains(a.Summary, "/etc/firewalld/zones/public.xml") {
		t.Errorf("allow %q", a.Summary)
	}
}
