package firewall

import (
	"fmt"
	"math/rand"
	"strings"
)

// iptCase is a random iptables ruleset for one family, with the ipsets it uses.
type iptCase struct {
	fam   int
	rules string // iptables-restore input
	sets  string // ipset restore input
}

var (
	iptV4Addrs = []string{"10.1.0.10", "10.1.0.130", "10.2.0.77", "10.1.0.0/25", "10.1.0.128/25", "10.0.0.0/8",
		"10.2.0.0/24", "192.0.2.0/24", "10.1.0.16/28"}
	iptV6Addrs = []string{"fd00:1::10", "fd00:1::8000:0:0:1", "fd00:2::77", "fd00:1::/120", "fd00:1::/64", "fd00::/8",
		"fd00:2::/64", "2001:db8::/32"}
)

func (g gen) iptAddr(fam int) string {
	if fam == 6 {
		return g.pick(iptV6Addrs...)
	}
	return g.pick(iptV4Addrs...)
}

// iptMatches returns random matches for an iptables rule.
func (g gen) iptMatches(fam int, set string) string {
	var parts []string
	proto := ""
	neg := func() string {
		if g.chance(0.25) {
			return "! "
		}
		return ""
	}
	used := map[int]bool{}
	for m := g.r.Intn(3); m > 0; m-- {
		kind := g.r.Intn(11)
		if kind == 1 {
			kind = 0
		}
		if used[kind] {
			continue // iptables takes each option once
		}
		used[kind] = true
		switch kind {
		case 0:
			parts = append(parts, neg()+"-s "+g.iptAddr(fam))
		case 2:
			l := labLinks[g.r.Intn(len(labLinks))]
			a := l.srv4.String()
			if fam == 6 {
				a = l.srv6.String()
			}
			parts = append(parts, neg()+"-d "+a)
		case 3, 4:
			if proto != "" {
				continue
			}
			proto = "tcp"
			switch g.r.Intn(4) {
			case 0:
				parts = append(parts, "-p tcp -m tcp "+neg()+"--dport "+g.pick("22", "2222", "8022", "9", "20:30", "2000:3000"))
			case 1:
				parts = append(parts, "-p tcp -m multiport "+neg()+"--dports "+g.pick("22,8022", "2000:3000,9", "2222"))
			case 2:
				parts = append(parts, "-p tcp -m tcp --syn")
			default:
				parts = append(parts, "-p tcp")
			}
		case 5:
			if proto != "" {
				continue
			}
			proto = "udp"
			parts = append(parts, g.pick("-p udp -m udp --dport 22", "! -p udp", "-p udp"))
		case 6:
			parts = append(parts, neg()+"-i "+g.pick("sa", "sb", "s+", "lo"))
		case 7:
			parts = append(parts, g.pick("-m conntrack --ctstate NEW", "-m conntrack --ctstate RELATED,ESTABLISHED",
				"-m conntrack ! --ctstate ESTABLISHED", "-m state --state NEW", "-m conntrack --ctstate INVALID",
				"-m conntrack --ctstate UNTRACKED", "-m state --state INVALID,UNTRACKED"))
		case 8:
			if set != "" {
				parts = append(parts, "-m set "+neg()+"--match-set "+set+" src")
			}
		case 9:
			r := "10.1.0.15-10.1.0.150"
			if fam == 6 {
				r = "fd00:1::15-fd00:1::ff"
			}
			parts = append(parts, "-m iprange "+neg()+"--src-range "+r)
		default:
			types := []string{"-m addrtype --dst-type LOCAL", "-m addrtype ! --dst-type LOCAL", `-m comment --comment "a comment"`}
			if fam == 4 {
				types = append(types, "-m addrtype --dst-type BROADCAST") // IPv6 has no broadcast
			}
			parts = append(parts, g.pick(types...))
		}
	}
	return strings.Join(parts, " ")
}

// genIPT returns a random iptables (fam 4) or ip6tables (fam 6) ruleset:
// filter INPUT with user chains, raw PREROUTING and mangle INPUT.
func genIPT(r *rand.Rand, fam int) iptCase {
	g := gen{r}
	c := iptCase{fam: fam}
	set := ""
	if g.chance(0.4) {
		set = "s4"
		family, disj := "inet", []string{"10.1.0.0/25", "10.2.0.77", "192.0.2.1", "10.1.0.200"}
		if fam == 6 {
			set, family, disj = "s6", "inet6", []string{"fd00:1::/120", "fd00:2::77", "2001:db8::1", "fd00:1::8000:0:0:1"}
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "create %s hash:net family %s\n", set, family)
		for _, e := range g.subset(disj, 0) {
			fmt.Fprintf(&sb, "add %s %s\n", set, e)
		}
		if g.chance(0.3) {
			// An exception inside a listed network.
			if fam == 4 {
				fmt.Fprintf(&sb, "add %s 10.1.0.0/25\nadd %s 10.1.0.16/28 nomatch\n", set, set)
			} else {
				fmt.Fprintf(&sb, "add %s fd00:1::/120\nadd %s fd00:1::10/124 nomatch\n", set, set)
			}
		}
		c.sets = sb.String()
	}
	rejects := []string{"REJECT", "REJECT --reject-with tcp-reset", "REJECT --reject-with icmp-host-prohibited",
		"REJECT --reject-with icmp-admin-prohibited", "REJECT --reject-with icmp-net-unreachable"}
	if fam == 6 {
		rejects = []string{"REJECT", "REJECT --reject-with tcp-reset", "REJECT --reject-with icmp6-adm-prohibited",
			"REJECT --reject-with icmp6-addr-unreachable", "REJECT --reject-with icmp6-no-route"}
	}
	var b strings.Builder
	rule := func(chain string, targets []string) {
		t := g.pick(targets...)
		line := "-A " + chain
		m := g.iptMatches(fam, set)
		if m != "" {
			line += " " + m
		}
		if strings.Contains(t, "tcp-reset") && !strings.Contains(m, "-p tcp") {
			t = "-j REJECT" // the kernel wants -p tcp for a TCP reset
		}
		if t != "" {
			line += " " + t
		}
		b.WriteString(line + "\n")
	}
	if g.chance(0.3) {
		b.WriteString("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
		for k := 1 + r.Intn(3); k > 0; k-- {
			rule("PREROUTING", []string{"-j DROP", "-j ACCEPT", "-j CT --notrack", "-j CT --notrack", "-j RETURN", ""})
		}
		b.WriteString("COMMIT\n")
	}
	if g.chance(0.3) {
		b.WriteString("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT " + g.pick("ACCEPT", "ACCEPT", "DROP") +
			" [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
		for k := 1 + r.Intn(3); k > 0; k-- {
			rule("INPUT", []string{"-j DROP", "-j ACCEPT", "-j RETURN", "-j MARK --set-mark 1", ""})
		}
		b.WriteString("COMMIT\n")
	}
	policy := "ACCEPT"
	if g.chance(0.35) {
		policy = "DROP"
	}
	fmt.Fprintf(&b, "*filter\n:INPUT %s [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n", policy)
	var users []string
	for k := r.Intn(3); k > 0; k-- {
		users = append(users, fmt.Sprintf("u%d", len(users)))
	}
	for _, u := range users {
		fmt.Fprintf(&b, ":%s - [0:0]\n", u)
	}
	chains := append([]string{"INPUT"}, users...)
	for i, ch := range chains {
		targets := []string{"ACCEPT", "ACCEPT", "DROP", "DROP", "RETURN", "", `LOG --log-prefix "x "`}
		targets = append(targets, g.pick(rejects...), g.pick(rejects...))
		for _, u := range chains[i+1:] {
			targets = append(targets, "-j "+u, "-g "+u)
		}
		for k := r.Intn(6); k > 0; k-- {
			var ts []string
			for _, t := range targets {
				if t != "" && !strings.HasPrefix(t, "-") {
					t = "-j " + t
				}
				ts = append(ts, t)
			}
			rule(ch, ts)
		}
	}
	b.WriteString("COMMIT\n")
	c.rules = b.String()
	return c
}
