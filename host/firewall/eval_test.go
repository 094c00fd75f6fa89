package firewall

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

// ipt parses an iptables-save text for a test.
func ipt(t *testing.T, fam int, text string, sets map[string]*Set) *Ruleset {
	t.Helper()
	rs, err := ParseIPTablesSave([]byte(text), fam, sets)
	if err != nil {
		t.Fatal(err)
	}
	rs.Source = "iptables-save"
	return rs
}

func TestEvaluateRestrictedFromAnywhere(t *testing.T) {
	f := gatherFixture(t, "restricted")
	ev := Evaluate(f.Rulesets, Packet{Family: 4, DPort: 22})
	if len(ev.Chains) != 1 {
		t.Fatalf("want the one input chain, got:\n%s", ev)
	}
	var accept, drop AddrSet
	for _, d := range ev.Chains[0].Decisions {
		switch d.Verdict {
		case VerdictAccept:
			accept = accept.Union(d.Sources)
			if d.Rule == nil || d.Rule.Text != `tcp dport 22 ip saddr @admins accept comment "ssh from admins"` {
				t.Errorf("accepted by %v, want the admins rule", d.Rule)
			}
		case VerdictDrop:
			drop = drop.Union(d.Sources)
			if d.Rule != nil || d.Chain.Name != "input" || d.Exit == nil || d.Exit.Chain.Name != "input" || d.Exit.Before != nil {
				t.Errorf("dropped by %s, want the input policy, leaving at the end of input", d)
			}
		default:
			t.Errorf("unexpected %s", d)
		}
	}
	if got := accept.String(); got != "10.0.0.0/8, 192.0.2.10/31, 192.0.2.12/30, 192.0.2.16/30, 192.0.2.20/32" {
		t.Errorf("accepted from %s", got)
	}
	if !accept.Union(drop).Equal(AllAddrs(4)) || !accept.Intersect(drop).IsEmpty() {
		t.Errorf("decisions do not partition the addresses: accept %s, drop %s", accept, drop)
	}
	if len(ev.Chains[0].SourceRules) != 1 {
		t.Errorf("source rules %v, want the admins rule", ev.Chains[0].SourceRules)
	}
	// IPv6 has its own rule.
	_, ev6 := decisionFor(t, f.Rulesets, Packet{Family: 6, Src: ap("fd00:1::5"), DPort: 22})
	if d := chainDecision(t, ev6, 0, ap("fd00:1::5")); d.Verdict != VerdictAccept || d.Rule == nil || d.Rule.Text != "tcp dport 22 ip6 saddr fd00:1::/64 accept" {
		t.Errorf("fd00:1::5: %s", d)
	}
	if d, _ := decisionFor(t, f.Rulesets, Packet{Family: 4, Src: ap("10.9.9.9"), DPort: 2222}); d.Verdict != VerdictDrop || d.Rule != nil {
		t.Errorf("port 2222: %s", d)
	}
}

func TestEvaluateJumpsAndReject(t *testing.T) {
	f := gatherFixture(t, "blocks")
	for _, tc := range []struct {
		port       uint16
		verdict    VerdictKind
		rejectWith string
		rule       string
		path       string
	}{
		{22, VerdictReject, "tcp reset", "tcp dport 22 reject with tcp reset", "input services"},
		{2222, VerdictDrop, "", "tcp dport 2222 drop", "input services"},
		{8022, VerdictDrop, "", "tcp dport vmap { 8022 : drop, 10022 : accept }", "input"},
		{10022, VerdictAccept, "", "tcp dport vmap { 8022 : drop, 10022 : accept }", "input"},
		{80, VerdictAccept, "", "", "input"},
	} {
		d, ev := decisionFor(t, f.Rulesets, Packet{Family: 6, Src: ap("2001:db8::1"), DPort: tc.port})
		c := ev.Chains[0].Decisions[0]
		rule := ""
		if c.Rule != nil {
			rule = c.Rule.Text
		}
		if d.Verdict != tc.verdict || d.RejectWith != tc.rejectWith || rule != tc.rule || strings.Join(c.Path, " ") != tc.path {
			t.Errorf("port %d: %s (path %v), want %s %q by %q via %s", tc.port, c, c.Path, tc.verdict, tc.rejectWith, tc.rule, tc.path)
		}
	}
}

func TestEvaluateGotoAndReturnExit(t *testing.T) {
	rs := ipt(t, 4, `*filter
:INPUT DROP [0:0]
:u0 - [0:0]
:u1 - [0:0]
-A INPUT -s 10.0.0.0/8 -g u0
-A INPUT -s 192.0.2.0/24 -g u1
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A u0 -p tcp -m tcp --dport 443 -j ACCEPT
-A u1 -p tcp -m tcp --dport 443 -j ACCEPT
-A u1 -j RETURN
-A u1 -j ACCEPT
COMMIT
`, nil)
	rep := &Report{Facts: &Facts{Rulesets: []*Ruleset{rs}}}
	for _, tc := range []struct {
		src, cmd string
	}{
		// Fell off the end of u0 after a goto: INPUT's policy decides, and
		// only a rule at the end of u0 is reached.
		{"10.1.2.3", "iptables -A u0 -s 10.1.2.3 -p tcp --dport 22 -j ACCEPT"},
		// Returned from u1 (reached by goto): the accept goes before the RETURN.
		{"192.0.2.9", "iptables -I u1 2 -s 192.0.2.9 -p tcp --dport 22 -j ACCEPT"},
		{"203.0.113.1", "iptables -A INPUT -s 203.0.113.1 -p tcp --dport 22 -j ACCEPT"},
	} {
		p := Packet{Family: 4, Src: ap(tc.src), DPort: 22}
		d, ev := decisionFor(t, rep.Facts.Rulesets, p)
		if d.Verdict != VerdictDrop || d.Rule != nil {
			t.Fatalf("%s: %s, want the policy", tc.src, d)
		}
		a := rep.Allow(ev, ev.Chains[0], d)
		if len(a.Commands) != 1 || a.Commands[0] != tc.cmd || len(a.Persist) != 1 || a.Persist[0] != "iptables-save > /etc/iptables/rules.v4" {
			t.Errorf("%s: allow %q then %q, want %q", tc.src, a.Commands, a.Persist, tc.cmd)
		}
	}
}

func TestEvaluateUncertain(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		p           Packet
		want        VerdictKind
		unknown     string
	}{
		{"mark decides", "-A INPUT -m mark --mark 0x1 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictUncertain, "-m mark --mark 0x1"},
		{"mark does not matter", "-A INPUT -m mark --mark 0x1 -j ACCEPT\n", Packet{Family: 4, DPort: 22}, VerdictAccept, ""},
		{"mark on another port", "-A INPUT -p tcp -m tcp --dport 80 -m mark --mark 0x1 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictAccept, ""},
		{"interface unknown", "-A INPUT -i eth1 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictUncertain, "interface"},
		{"interface known", "-A INPUT -i eth1 -j DROP\n", Packet{Family: 4, DPort: 22, Iif: "eth0"}, VerdictAccept, ""},
		{"wildcard interface", "-A INPUT -i eth+ -j DROP\n", Packet{Family: 4, DPort: 22, Iif: "eth0"}, VerdictDrop, ""},
		{"loopback never", "-A INPUT ! -i lo -p tcp -m tcp --dport 22 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictDrop, ""},
		{"local address unknown", "-A INPUT -d 10.0.0.1 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictUncertain, "local address"},
		{"loopback address never", "-A INPUT -d 127.0.0.1 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictAccept, ""},
		{"source port", "-A INPUT -p tcp -m tcp --sport 1024:65535 -j DROP\n", Packet{Family: 4, DPort: 22}, VerdictUncertain, "source port"},
		{"unknown target", "-A INPUT -p tcp -m tcp --dport 22 -j NFQUEUE --queue-num 1\n", Packet{Family: 4, DPort: 22}, VerdictUncertain, "NFQUEUE"},
	} {
		rs := ipt(t, 4, "*filter\n:INPUT ACCEPT [0:0]\n"+tc.rules+"COMMIT\n", nil)
		ev := Evaluate([]*Ruleset{rs}, tc.p)
		var got []VerdictKind
		var unk []string
		for _, d := range ev.Overall {
			got = append(got, d.Verdict)
			for _, u := range d.Unknown {
				unk = append(unk, u.What)
			}
		}
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("%s: %v, want %s\n%s", tc.name, got, tc.want, ev)
		}
		if tc.unknown != "" && !strings.Contains(strings.Join(unk, "|"), tc.unknown) {
			t.Errorf("%s: not understood %q, want it to mention %q", tc.name, unk, tc.unknown)
		}
		if tc.want == VerdictUncertain && (len(ev.Overall[0].Unknown) == 0 || ev.Overall[0].Unknown[0].Rule == nil) {
			t.Errorf("%s: an uncertain verdict must name the rule", tc.name)
		}
	}
}

func TestEvaluateAssumptionsAreRecorded(t *testing.T) {
	rs := ipt(t, 4, `*filter
:INPUT DROP [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 --name DEFAULT --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j ACCEPT
COMMIT
`, nil)
	_, ev := decisionFor(t, []*Ruleset{rs}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 22})
	d := chainDecision(t, ev, 0, ap("192.0.2.1"))
	if d.Verdict != VerdictAccept || len(d.Assumed) != 2 {
		t.Fatalf("%s, want accept assuming both limits", d)
	}
	if !strings.Contains(d.Assumed[0].Why, "connected too often") || !strings.Contains(d.Assumed[1].Why, "rate limit") {
		t.Errorf("assumed %+v", d.Assumed)
	}
}

func TestEvaluateConntrackBeforeItRuns(t *testing.T) {
	// In raw PREROUTING conntrack has not seen the packet yet: "ct state
	// new" does not match and "invalid" does.
	rs := ipt(t, 4, `*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate NEW -j DROP
-A PREROUTING -p tcp -m tcp --dport 2222 -j CT --notrack
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate UNTRACKED -j REJECT --reject-with tcp-reset
COMMIT
`, nil)
	d, _ := decisionFor(t, []*Ruleset{rs}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 22})
	if d.Verdict != VerdictAccept {
		t.Errorf("port 22: %s, want accept", d)
	}
	d, _ = decisionFor(t, []*Ruleset{rs}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 2222})
	if d.Verdict != VerdictReject || d.RejectWith != "tcp reset" {
		t.Errorf("port 2222 after notrack: %s, want the UNTRACKED reject", d)
	}
}

func TestEvaluateSamePriorityConflict(t *testing.T) {
	// iptables-nft and legacy iptables both hook INPUT at priority 0; which
	// runs first depends on the order they were loaded in.
	nftv := ipt(t, 4, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j REJECT\nCOMMIT\n", nil)
	legacy := ipt(t, 4, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n", nil)
	d, ev := decisionFor(t, []*Ruleset{nftv, legacy}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 22})
	if d.Verdict != VerdictUncertain || len(d.Possible) != 2 {
		t.Errorf("%s, want uncertain between reject and drop", d)
	}
	for _, c := range ev.Chains {
		if !c.Decisions[0].Blocks() {
			t.Errorf("chain %s: %s, want it to block on its own", c.Chain.Name, c.Decisions[0])
		}
	}
}

func TestEvaluateBansAreMarked(t *testing.T) {
	f := gatherFixture(t, "f2b-ipt")
	rep := Inspect(t.Context(), host.System{}, f, Query{Ports: []uint16{22}, From: ap("192.0.2.7")})
	bans := rep.Bans()
	if len(bans) != 1 || bans[0].Tool != ToolFail2ban || bans[0].Jail != "sshd" || !bans[0].Sources.Contains(ap("192.0.2.7")) ||
		bans[0].Rule.Text != "-A f2b-sshd -s 192.0.2.7/32 -j REJECT --reject-with icmp-port-unreachable" {
		t.Errorf("bans %+v", bans)
	}
	// The recidive jail bans through an ipset, with a rule in INPUT.
	rep = Inspect(t.Context(), host.System{}, f, Query{Ports: []uint16{22}})
	var jails []string
	for _, b := range rep.Bans() {
		jails = append(jails, b.Jail+"="+b.Sources.String())
	}
	if strings.Join(jails, " ") != "sshd=192.0.2.7/32 recidive=203.0.113.9/32" {
		t.Errorf("bans from anywhere: %v", jails)
	}
	// The admins ipset has a nomatch hole: 198.51.100.128/25 is not let in.
	for src, want := range map[string]VerdictKind{"198.51.100.5": VerdictAccept, "198.51.100.200": VerdictDrop, "10.1.1.1": VerdictAccept} {
		d, _ := decisionFor(t, f.Rulesets, Packet{Family: 4, Src: ap(src), DPort: 22, Iif: "eth0"})
		if d.Verdict != want {
			t.Errorf("%s: %s, want %s", src, d, want)
		}
	}
}

func TestClientSees(t *testing.T) {
	for _, tc := range []struct {
		d      Decision
		fam    int
		typ    int
		code   int
		sshSay string
	}{
		{Decision{Verdict: VerdictDrop}, 4, -1, -1, "Connection timed out"},
		{Decision{Verdict: VerdictReject, RejectWith: "tcp reset"}, 6, -1, -1, "Connection refused"},
		{Decision{Verdict: VerdictReject, RejectWith: "icmp port-unreachable"}, 4, 3, 3, "Connection refused"},
		{Decision{Verdict: VerdictReject, RejectWith: "icmp host-prohibited"}, 4, 3, 10, "No route to host"},
		{Decision{Verdict: VerdictReject, RejectWith: "icmpx admin-prohibited"}, 4, 3, 13, "No route to host"},
		{Decision{Verdict: VerdictReject, RejectWith: "icmpx admin-prohibited"}, 6, 1, 1, "Permission denied"},
		{Decision{Verdict: VerdictReject, RejectWith: "icmpv6 port-unreachable"}, 6, 1, 4, "Connection refused"},
	} {
		typ, code, says := tc.d.ClientSees(tc.fam)
		if typ != tc.typ || code != tc.code || says != tc.sshSay {
			t.Errorf("%s (IPv%d): %d/%d %q, want %d/%d %q", tc.d.RejectWith, tc.fam, typ, code, says, tc.typ, tc.code, tc.sshSay)
		}
	}
}

func TestEvaluateLoopsAndHugeRulesets(t *testing.T) {
	// The kernel refuses jump loops, but a saved file may have one.
	rs := ipt(t, 4, "*filter\n:INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -j a\nCOMMIT\n", nil)
	d, _ := decisionFor(t, []*Ruleset{rs}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 22})
	if d.Verdict != VerdictUncertain || !strings.Contains(d.Unknown[0].What, "jumps back into itself") {
		t.Errorf("loop: %s", d)
	}
	// Many paths into the same chains: cut short, not hung.
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, ":c%d - [0:0]\n", i)
	}
	for i := 0; i < 30; i++ {
		from := "INPUT"
		if i > 0 {
			from = fmt.Sprintf("c%d", i-1)
		}
		fmt.Fprintf(&b, "-A %s -j c%d\n-A %s -j c%d\n", from, i, from, i)
	}
	b.WriteString("COMMIT\n")
	rs = ipt(t, 4, b.String(), nil)
	d, _ = decisionFor(t, []*Ruleset{rs}, Packet{Family: 4, Src: ap("192.0.2.1"), DPort: 22})
	if d.Verdict != VerdictUncertain {
		t.Errorf("2^30 paths: %s, want uncertain", d)
	}
}

// Fixtures from a real fail2ban (testdata/gen-fixtures.sh, section 10).
func TestRealFail2banBans(t *testing.T) {
	for _, name := range []string{"f2b-real-ipt", "f2b-real-nft"} {
		f := gatherFixture(t, name)
		rep := Inspect(t.Context(), host.System{}, f, Query{Ports: []uint16{22, 2222}})
		var got []string
		for _, b := range rep.Bans() {
			got = append(got, fmt.Sprintf("%s/%s:%d=%s", b.Tool, b.Jail, b.Port, b.Sources))
		}
		sort.Strings(got)
		want := "fail2ban/recidive:2222=203.0.113.9/32 fail2ban/recidive:22=203.0.113.9/32 fail2ban/sshd:2222=192.0.2.7/32 fail2ban/sshd:22=192.0.2.7/32"
		if strings.Join(got, " ") != want {
			t.Errorf("%s: bans %v\nwant %s", name, got, want)
		}
		for _, b := range rep.Bans() {
			if b.Jail == "recidive" && name == "f2b-real-ipt" && strings.Join(b.Rule.SetNames(), ",") != "f2b-recidive" {
				t.Errorf("recidive rule uses sets %v", b.Rule.SetNames())
			}
			if b.Jail == "sshd" && name == "f2b-real-nft" && strings.Join(b.Rule.SetNames(), ",") != "addr-set-sshd" {
				t.Errorf("sshd rule uses sets %v", b.Rule.SetNames())
			}
		}
		// Everyone else gets in: nothing for the firewall check to report.
		for _, ev := range rep.Evaluations {
			for _, c := range ev.Chains {
				for _, d := range c.Decisions {
					if d.Blocks() && d.Managed == nil {
						t.Errorf("%s: unmanaged block %s", name, d)
					}
				}
			}
		}
	}
}
