package firewall

// Random rulesets over the features the evaluator claims to understand,
// for the property test. The addresses, interfaces and ports are those of
// labPair, so that rules hit and miss the probes in every combination.

import (
	"fmt"
	"math/rand"
	"strings"
)

var (
	genPorts = []string{"22", "2222", "8022", "23", "9", "20-30", "2000-3000", "8000-9000",
		"{ 22, 8022 }", "{ 2222, 10000-20000 }", "{ 9, 22 }"}
	genV4Prefixes = []string{"10.1.0.0/24", "10.1.0.0/25", "10.1.0.128/25", "10.2.0.0/16", "10.0.0.0/8",
		"10.1.0.0/28", "10.1.0.16/28", "192.0.2.0/24", "10.1.0.15-10.1.0.150", "10.2.0.50-10.2.0.100"}
	genV6Prefixes = []string{"fd00:1::/64", "fd00:2::/64", "fd00::/8", "fd00:1::/120", "fd00:1::8000:0:0:0/65",
		"2001:db8::/32", "fd00:1::15-fd00:1::ff", "fd00:2::50-fd00:2::100"}
	// Pairwise disjoint, so that any subset is a valid interval set.
	genV4Disjoint    = []string{"10.1.0.10", "10.1.0.20", "10.1.0.128/25", "10.2.0.64/26", "10.2.0.10", "192.0.2.1"}
	genV6Disjoint    = []string{"fd00:1::10", "fd00:1::20", "fd00:1::8000:0:0:0/65", "fd00:2::77", "fd00:2::10", "2001:db8::1"}
	genPortsDisjoint = []string{"22", "2222", "8022-8030", "9000", "9"}
)

type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

func (g gen) subset(xs []string, min int) []string {
	var out []string
	for _, x := range xs {
		if g.chance(0.4) {
			out = append(out, x)
		}
	}
	for len(out) < min {
		x := xs[g.r.Intn(len(xs))]
		if !containsName(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (g gen) cliAddr(fam int) string {
	var all []string
	for _, l := range labLinks {
		src := l.cli4
		if fam == 6 {
			src = l.cli6
		}
		for _, a := range src {
			all = append(all, a.String())
		}
	}
	return g.pick(all...)
}

func (g gen) srvAddr(fam int) string {
	l := labLinks[g.r.Intn(len(labLinks))]
	if fam == 6 {
		return l.srv6.String()
	}
	return l.srv4.String()
}

// nftAddr is an address expression: one address, a prefix or range, an
// anonymous set, or a named set (when the table has one).
func (g gen) nftAddr(fam int, dst bool, named bool) string {
	one := g.cliAddr(fam)
	if dst {
		one = g.srvAddr(fam)
	}
	pfx, disj, set := genV4Prefixes, genV4Disjoint, "@a4"
	if fam == 6 {
		pfx, disj, set = genV6Prefixes, genV6Disjoint, "@a6"
	}
	switch n := g.r.Intn(10); {
	case n < 3:
		return one
	case n < 6:
		return g.pick(pfx...)
	case n < 8 || !named || dst:
		return "{ " + strings.Join(g.subset(disj, 1), ", ") + " }"
	default:
		return set
	}
}

type nftTable struct {
	family, name string
	hasA4, hasA6 bool
	hasPorts     bool
	hasVMap      bool
}

func (t nftTable) fams() []int {
	switch t.family {
	case "ip":
		return []int{4}
	case "ip6":
		return []int{6}
	}
	return []int{4, 6}
}

// nftMatch returns one random match of family fam for a rule of table t.
func (g gen) nftMatch(t nftTable, fam int) string {
	ip := "ip"
	if fam == 6 {
		ip = "ip6"
	}
	neg := func() string {
		if g.chance(0.25) {
			return "!= "
		}
		return ""
	}
	switch g.r.Intn(16) {
	case 0, 1, 2:
		return ip + " saddr " + neg() + g.nftAddr(fam, false, (fam == 4 && t.hasA4) || (fam == 6 && t.hasA6))
	case 3:
		return ip + " daddr " + neg() + g.nftAddr(fam, true, false)
	case 4, 5, 6:
		if t.hasPorts && g.chance(0.2) {
			return "tcp dport " + neg() + "@p"
		}
		return "tcp dport " + neg() + g.pick(genPorts...)
	case 7:
		return g.pick("tcp dport < 1024", "tcp dport >= 2222", "meta l4proto tcp th dport 22", "tcp dport != 22-25")
	case 8:
		l4 := []string{"meta l4proto tcp", "meta l4proto udp", "meta l4proto { tcp, udp }", "udp dport 22", "meta l4proto != tcp"}
		if fam == 4 {
			l4 = append(l4, "ip protocol tcp")
		} else {
			l4 = append(l4, "ip6 nexthdr tcp")
		}
		return g.pick(l4...)
	case 9:
		if t.family == "inet" {
			if fam == 6 {
				return g.pick("meta nfproto ipv6", "meta nfproto != ipv4")
			}
			return g.pick("meta nfproto ipv4", "meta nfproto != ipv6")
		}
		return "meta l4proto tcp"
	case 10, 11:
		return g.pick(`iifname "sa"`, `iifname "sb"`, `iifname "s*"`, `iifname != "sa"`, `iif "lo"`, `iif "sb"`,
			`iifname { "sa", "lo" }`, `iifname "x*"`)
	case 12, 13:
		return g.pick("ct state new", "ct state established,related", "ct state != established",
			"ct state { new, untracked }", "ct state invalid", "ct state untracked", "ct state != new")
	case 14:
		return g.pick("tcp flags syn", "tcp flags & (syn | ack) == syn", "tcp flags & (fin | syn | rst | ack) == syn | ack",
			"tcp flags & (syn | ack) != syn")
	default:
		return g.pick("fib daddr type local", "fib daddr type != local", "meta pkttype host", "meta pkttype broadcast",
			"ct status dnat", "ct direction original")
	}
}

// nftVerdict returns a random verdict for a rule of family fam in table t;
// later lists the regular chains it may jump to.
func (g gen) nftVerdict(t nftTable, fam int, later []string, notrack bool) string {
	var vs []string
	vs = append(vs, "accept", "accept", "drop", "drop", "", "continue", "return")
	rej := []string{"reject", "reject with tcp reset"}
	switch t.family {
	case "ip":
		rej = append(rej, "reject with icmp type host-prohibited", "reject with icmp type net-unreachable")
	case "ip6":
		rej = append(rej, "reject with icmpv6 type admin-prohibited", "reject with icmpv6 type addr-unreachable")
	default:
		rej = append(rej, "reject with icmpx type admin-prohibited", "reject with icmpx type no-route")
		if fam == 4 {
			rej = append(rej, "reject with icmp type host-prohibited")
		} else {
			rej = append(rej, "reject with icmpv6 type admin-prohibited")
		}
	}
	vs = append(vs, g.pick(rej...), g.pick(rej...))
	for _, c := range later {
		vs = append(vs, "jump "+c, "goto "+c)
	}
	vm := []string{"tcp dport vmap { 22 : accept, 8022 : drop, 9 : drop }", "tcp dport vmap { 2222 : drop, 20-30 : accept }"}
	if fam == 4 {
		vm = append(vm, "ip saddr vmap { 10.1.0.0/25 : drop, 10.1.0.128/25 : accept, 10.2.0.77 : drop }")
	}
	if fam == 6 {
		vm = append(vm, "ip6 saddr vmap { fd00:1::/120 : drop, fd00:2::/64 : accept }")
	}
	if t.hasVMap {
		vm = append(vm, "tcp dport vmap @vm")
	}
	if len(later) > 0 {
		vm = append(vm, "tcp dport vmap { 22 : jump "+later[0]+", 2222 : drop }")
	}
	vs = append(vs, g.pick(vm...))
	if notrack {
		vs = append(vs, "notrack", "notrack")
	}
	return g.pick(vs...)
}

// genNFT returns a random nft script (for nft -f) of one to three tables.
func genNFT(r *rand.Rand) string {
	g := gen{r}
	var b strings.Builder
	n := 1 + r.Intn(3)
	used := map[string]bool{}
	for ti := 0; ti < n; ti++ {
		t := nftTable{family: g.pick("ip", "ip6", "inet", "inet")}
		t.name = fmt.Sprintf("t%d", ti)
		if t.family != "inet" && g.chance(0.15) {
			// A native table named like an iptables one: iptables-nft-save
			// shows it, or calls it incompatible.
			t.name = g.pick("filter", "raw")
		}
		if used[t.family+t.name] {
			continue
		}
		used[t.family+t.name] = true
		fmt.Fprintf(&b, "table %s %s {\n", t.family, t.name)
		for _, fam := range t.fams() {
			if !g.chance(0.4) {
				continue
			}
			typ, name, disj := "ipv4_addr", "a4", genV4Disjoint
			if fam == 6 {
				typ, name, disj = "ipv6_addr", "a6", genV6Disjoint
				t.hasA6 = true
			} else {
				t.hasA4 = true
			}
			fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", name, typ)
			if els := g.subset(disj, 0); len(els) > 0 {
				fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
			}
			b.WriteString("\t}\n")
		}
		if g.chance(0.3) {
			t.hasPorts = true
			fmt.Fprintf(&b, "\tset p {\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = { %s }\n\t}\n",
				strings.Join(g.subset(genPortsDisjoint, 1), ", "))
		}
		if g.chance(0.2) {
			t.hasVMap = true
			b.WriteString("\tmap vm {\n\t\ttype inet_service : verdict\n\t\telements = { 22 : drop, 2222 : accept }\n\t}\n")
		}
		nb := 1 + r.Intn(2)
		ci := 0
		for bi := 0; bi < nb; bi++ {
			hook := g.pick("input", "input", "input", "prerouting")
			prio := g.pick("-150", "-10", "0", "10", "100", "-1")
			if hook == "prerouting" {
				prio = g.pick("-300", "-250", "-150", "-100", "0")
			}
			policy := "accept"
			if g.chance(0.3) {
				policy = "drop"
			}
			notrack := hook == "prerouting" && (prio == "-300" || prio == "-250")
			var regs []string
			for k := r.Intn(3); k > 0; k-- {
				regs = append(regs, fmt.Sprintf("c%d", ci))
				ci++
			}
			fmt.Fprintf(&b, "\tchain b%d {\n\t\ttype filter hook %s priority %s; policy %s;\n", bi, hook, prio, policy)
			writeNFTRules(g, &b, t, regs, notrack)
			b.WriteString("\t}\n")
			for i, c := range regs {
				fmt.Fprintf(&b, "\tchain %s {\n", c)
				writeNFTRules(g, &b, t, regs[i+1:], false)
				b.WriteString("\t}\n")
			}
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// notTCP reports whether a match makes the rule about another protocol,
// after which nft refuses TCP matches in the same rule.
func notTCP(m string) bool {
	return strings.Contains(m, "udp") || strings.Contains(m, "l4proto != tcp")
}

func usesTCP(m string) bool {
	return !notTCP(m) && (strings.Contains(m, "tcp") || strings.Contains(m, "th dport"))
}

func writeNFTRules(g gen, b *strings.Builder, t nftTable, later []string, notrack bool) {
	for k := g.r.Intn(6); k > 0; k-- {
		var parts []string
		other, tcp := false, false
		// One family per rule: nft refuses "ip saddr ... ip6 daddr ...".
		fams := t.fams()
		fam := fams[g.r.Intn(len(fams))]
		for m := g.r.Intn(3); m > 0; m-- {
			x := g.nftMatch(t, fam)
			if (other && usesTCP(x)) || (tcp && notTCP(x)) {
				continue
			}
			other = other || notTCP(x)
			tcp = tcp || usesTCP(x)
			parts = append(parts, x)
		}
		if g.chance(0.2) {
			parts = append(parts, g.pick("counter", `log prefix "t "`))
		}
		v := g.nftVerdict(t, fam, later, notrack)
		for other && (usesTCP(v) || strings.Contains(v, "tcp")) {
			v = g.nftVerdict(t, fam, later, notrack)
		}
		if v != "" {
			parts = append(parts, v)
		}
		if len(parts) == 0 {
			parts = []string{"counter"}
		}
		fmt.Fprintf(b, "\t\t%s\n", strings.Join(parts, " "))
	}
}
