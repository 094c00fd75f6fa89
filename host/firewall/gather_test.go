package firewall

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

func tableIDs(rss []*Ruleset) string {
	var out []string
	for _, rs := range rss {
		for _, t := range rs.Tables {
			out = append(out, rs.Backend+":"+t.ID())
		}
	}
	return strings.Join(out, " ")
}

func TestGatherIPTablesNFTIsReadFromIPTablesSave(t *testing.T) {
	f := gatherFixture(t, "f2b-ipt")
	// nft lists ip filter too (as xt stubs); it must be evaluated once,
	// from iptables-nft-save.
	if got := tableIDs(f.Rulesets); got != "iptables:ip filter" {
		t.Errorf("rulesets %s", got)
	}
	if !strings.Contains(f.Sources[0].Note, "ip filter belong to iptables-nft") {
		t.Errorf("nft source note %q", f.Sources[0].Note)
	}
	ev := Evaluate(f.Rulesets, Packet{Family: 4, DPort: 22, Iif: "eth0"})
	for _, d := range ev.Overall {
		if d.Verdict == VerdictUncertain {
			t.Errorf("uncertain: %s", d)
		}
	}
}

func TestGatherIncompatibleTableStaysWithNFT(t *testing.T) {
	f := gatherFixture(t, "incompatible")
	if got := tableIDs(f.Rulesets); got != "nftables:ip filter" {
		t.Errorf("rulesets %s, want only nft's ip filter (iptables-nft-save printed a placeholder)", got)
	}
	d, _ := decisionFor(t, f.Rulesets, Packet{Family: 4, Src: ap("192.0.2.66"), DPort: 22})
	if d.Verdict != VerdictDrop || d.Rule == nil || d.Rule.Text != "ip saddr @blocked tcp dport 22 drop" {
		t.Errorf("%s", d)
	}
}

// iptables-nft-save gives up on native nft tables it cannot parse; nft's
// view still has every nf_tables table, so nothing is unreadable.
func TestGatherIPTablesNFTSaveFails(t *testing.T) {
	r := fixtureRunner(t, "incompatible")
	r["iptables-nft-save"] = FixtureOutput{Err: "Error: range with unknown payload base\niptables-nft-save v1.8.9 (nf_tables): Parsing nftables rule failed"}
	f := gatherLive(context.Background(), r)
	if bad := f.Unreadable(); len(bad) != 0 {
		t.Errorf("unreadable %+v", bad)
	}
	if got := tableIDs(f.Rulesets); got != "nftables:ip filter" {
		t.Errorf("rulesets %s", got)
	}
	var src Source
	for _, s := range f.Sources {
		if s.What == "iptables-nft-save" {
			src = s
		}
	}
	if !src.Covered || src.Err == "" || src.Note == "" {
		t.Errorf("source %+v", src)
	}
}

func TestGatherLegacy(t *testing.T) {
	f := gatherFixture(t, "f2b-ipt-legacy")
	if got := tableIDs(f.Rulesets); got != "nftables: iptables:ip filter" && got != "iptables:ip filter" {
		t.Errorf("rulesets %s", got)
	}
	for _, rs := range f.Rulesets {
		if rs.Backend == BackendIPTables && (rs.Variant != "legacy" || rs.Source != "iptables-legacy-save") {
			t.Errorf("variant %q source %q", rs.Variant, rs.Source)
		}
	}
	rep := Inspect(context.Background(), host.System{}, f, Query{Ports: []uint16{2222}, From: ap("192.0.2.1")})
	ev := rep.Evaluations[0]
	for _, c := range ev.Chains {
		for _, d := range c.Decisions {
			if d.Blocks() {
				a := rep.Allow(ev, c, d)
				if a.Commands[0] != "iptables-legacy -I INPUT 8 -s 192.0.2.1 -p tcp --dport 2222 -j ACCEPT" ||
					a.Persist[0] != "iptables-legacy-save > /etc/iptables/rules.v4" {
					t.Errorf("allow %+v", a)
				}
			}
		}
	}
}

func TestGatherUnreadable(t *testing.T) {
	r := FixtureRunner{
		"nft -j list ruleset": {Err: "Operation not permitted (you must be root)"},
		"iptables-nft-save":   {Err: "Permission denied (you must be root)"},
	}
	f := gatherLive(context.Background(), r)
	bad := f.Unreadable()
	if len(bad) != 2 || bad[0].What != "nft -j list ruleset" || !strings.Contains(bad[0].Err, "you must be root") {
		t.Errorf("unreadable %+v", bad)
	}
	if len(f.Rulesets) != 0 || f.UFW != nil || f.Firewalld != nil {
		t.Errorf("facts %+v", f)
	}
}

func TestGatherUFW(t *testing.T) {
	f := gatherFixture(t, "ufw-rules")
	if f.UFW == nil || !f.UFW.Active || f.UFW.DefaultIncoming != "deny" || len(f.UFW.Rules) != 7 ||
		f.UFW.Rules[0] != "22/tcp ALLOW IN 10.0.0.0/8" {
		t.Errorf("ufw %+v", f.UFW)
	}
	if f := gatherFixture(t, "restricted"); f.UFW != nil {
		t.Errorf("ufw without ufw chains: %+v", f.UFW)
	}
}

func TestGatherFirewalld(t *testing.T) {
	r := FixtureRunner{
		"firewall-cmd --state":                    {Stdout: "running\n"},
		"firewall-cmd --get-default-zone":         {Stdout: "public\n"},
		"firewall-cmd --get-active-zones":         {Stdout: "internal\n  sources: 10.0.0.0/8\npublic\n  interfaces: eth0\n"},
		"firewall-cmd --zone=internal --list-all": {Stdout: "internal (active)\n  target: default\n  sources: 10.0.0.0/8\n  services: ssh mdns\n  ports: \n  rich rules: \n"},
		"firewall-cmd --zone=public --list-all":   {Stdout: "public (active)\n  target: default\n  icmp-block-inversion: no\n  interfaces: eth0\n  sources: \n  services: dhcpv6-client\n  ports: 8080/tcp\n  rich rules: \n\trule family=\"ipv4\" source address=\"192.0.2.9\" reject\n"},
	}
	// Without firewalld's rules in the kernel, firewall-cmd is not asked.
	if f := gatherLive(context.Background(), r); f.Firewalld != nil {
		t.Errorf("firewalld without its rules: %+v", f.Firewalld)
	}
	nftOut, err := os.ReadFile("testdata/firewalld-nossh.nft.json")
	if err != nil {
		t.Fatal(err)
	}
	r["nft -j list ruleset"] = FixtureOutput{Stdout: string(nftOut)}
	f := gatherLive(context.Background(), r)
	fw := f.Firewalld
	if fw == nil || fw.DefaultZone != "public" || len(fw.Zones) != 2 {
		t.Fatalf("firewalld %+v", fw)
	}
	if z := fw.Zones[1]; z.Target != "default" || z.Ports[0] != "8080/tcp" || len(z.RichRules) != 1 || !strings.HasPrefix(z.RichRules[0], "rule family") {
		t.Errorf("public zone %+v", z)
	}
	for _, tc := range []struct{ src, iif, zone string }{
		{"10.1.2.3", "eth0", "internal"}, {"192.0.2.1", "eth0", "public"}, {"", "eth1", "public"},
	} {
		var src netip.Addr // unknown
		if tc.src != "" {
			src = ap(tc.src)
		}
		if z := fw.ZoneFor(src, tc.iif); z == nil || z.Name != tc.zone {
			t.Errorf("zone for %s on %s: %v, want %s", tc.src, tc.iif, z, tc.zone)
		}
	}
	r["firewall-cmd --state"] = FixtureOutput{Stdout: "not running\n", Err: "exit status 252"}
	if f := gatherLive(context.Background(), r); f.Firewalld != nil {
		t.Errorf("stopped firewalld: %+v", f.Firewalld)
	}
}

func TestInspectPicksPackets(t *testing.T) {
	f := gatherFixture(t, "blocks")
	r := FixtureRunner{
		"ip -j addr show": {Stdout: `[{"ifname":"lo","flags":["LOOPBACK","UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","scope":"host"}]},
			{"ifname":"eth0","flags":["BROADCAST","UP","LOWER_UP"],"addr_info":[{"family":"inet","local":"192.0.2.10","scope":"global"},
			{"family":"inet6","local":"fe80::1","scope":"link"},{"family":"inet6","local":"2001:db8::10","scope":"global"}]},
			{"ifname":"eth1","flags":["BROADCAST"],"addr_info":[{"family":"inet","local":"198.51.100.1","scope":"global"}]}]`},
		"ip -j route get 203.0.113.7": {Stdout: `[{"dst":"203.0.113.7","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.10"}]`},
	}
	rep := Inspect(context.Background(), live(r), f, Query{Ports: []uint16{22, 2222}})
	var got []string
	for _, ev := range rep.Evaluations {
		got = append(got, ev.Packet.String())
	}
	want := "TCP SYN from anywhere to 192.0.2.10 port 22 on eth0|TCP SYN from anywhere to 192.0.2.10 port 2222 on eth0|" +
		"TCP SYN from anywhere to 2001:db8::10 port 22 on eth0|TCP SYN from anywhere to 2001:db8::10 port 2222 on eth0"
	if strings.Join(got, "|") != want {
		t.Errorf("packets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	rep = Inspect(context.Background(), live(r), f, Query{Ports: []uint16{22}, From: ap("203.0.113.7"), Listen: []netip.Addr{ap("0.0.0.0")}})
	if len(rep.Evaluations) != 1 || rep.Evaluations[0].Packet.String() != "TCP SYN from 203.0.113.7 to 192.0.2.10 port 22 on eth0" {
		t.Errorf("with --from: %v (notes %v)", rep.Evaluations, rep.Notes)
	}
	// Offline, or when ip is missing: one packet per family, nothing known.
	rep = Inspect(context.Background(), live(FixtureRunner{}), f, Query{Ports: []uint16{22}})
	if len(rep.Evaluations) != 2 || rep.Evaluations[1].Packet.String() != "TCP SYN from anywhere to this host port 22" {
		t.Errorf("without ip: %v", rep.Evaluations)
	}
}

// From a real firewalld (TestFirewalldLab): its nft table is followed with
// nothing left uncertain, named firewalld, and fixed in its zone.
func TestGatherRealFirewalld(t *testing.T) {
	f := gatherFixture(t, "firewalld-nossh")
	if f.Firewalld == nil || f.Firewalld.DefaultZone != "public" || len(f.Firewalld.Zones) != 1 ||
		strings.Join(f.Firewalld.Zones[0].Services, " ") != "dhcpv6-client" {
		t.Fatalf("firewalld %+v", f.Firewalld)
	}
	rep := Inspect(context.Background(), host.System{}, f, Query{Ports: []uint16{22}})
	for _, ev := range rep.Evaluations {
		var blocks int
		for _, c := range ev.Chains {
			for _, d := range c.Decisions {
				if d.Verdict == VerdictUncertain {
					t.Errorf("uncertain %s", d)
				}
				if d.Blocks() {
					blocks++
					a := rep.Allow(ev, c, d)
					if c.Backend != BackendFirewalld || strings.Join(a.Commands, ";") != "firewall-cmd --zone=public --add-service=ssh" ||
						strings.Join(a.Persist, ";") != "firewall-cmd --permanent --zone=public --add-service=ssh" {
						t.Errorf("%s: %+v", c.Backend, a)
					}
				}
			}
		}
		if blocks != 1 {
			t.Errorf("%d blocks:\n%s", blocks, ev)
		}
	}
}
