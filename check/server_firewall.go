package check

import (
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/firewall"
)

var (
	_ = Register(Doc{
		Code: "firewall.blocks", Severity: SeverityError, Layer: LayerFirewall,
		Title: "The firewall stops SSH connections",
		Meaning: `A rule of the firewall on this machine, or the policy of one of its chains, drops or
rejects a new TCP connection to the SSH port, so clients never reach sshd however healthy it
is. A DROP shows on the client as "Connection timed out"; a REJECT as "Connection refused" or
"No route to host", which people often mistake for sshd not running. Every chain the packet
meets must accept it: nftables tables, iptables tables and the frontends that write them (ufw,
firewalld) each decide on their own, so each one that blocks needs its own fix. Blocks that
fail2ban or sshguard manage are bans, reported as ban.active instead.`,
		Detection: `sshdoctor reads every active backend (nft -j list ruleset, iptables-save and
ip6tables-save in both their nf_tables and legacy variants, ipsets, ufw and firewalld) and
follows a new TCP SYN to each SSH port through the hooks a packet meets on its way in
(ingress, prerouting, input) in priority order: policies, jumps, gotos and returns, sets and
verdict maps, addresses, ports, interfaces, conntrack state and reject types. Without --from it
follows every source address at once; with --from only that one. The evaluator is tested
against the kernel: random rulesets are loaded into a test namespace and its verdicts compared
with what real SYNs get.`,
		Fix: `Add an accept rule where it takes effect: before the blocking rule, in the same chain
(nft insert rule ... position HANDLE, iptables -I CHAIN N), or through the frontend that owns the
rules (ufw allow, firewall-cmd --add-service=ssh). Then make it survive a reboot (the nftables
configuration file, iptables-save into the saved rules, firewall-cmd --permanent). sshdoctor
prints the exact commands, restricted to the --from address when one was given.`,
	})
	_ = Register(Doc{
		Code: "firewall.source-restricted", Severity: SeverityWarning, Layer: LayerFirewall,
		Title: "The firewall accepts SSH only from some addresses",
		Meaning: `The firewall lets SSH in from some source addresses (an admin network, a VPN range)
and drops or rejects it from all others. That is often deliberate, and it is the most common
reason why SSH works from one place and not from another. Whether it is the cause of your
problem depends on the address your client connects from, which sshdoctor was not told.`,
		Detection: `Run without --from, sshdoctor follows a SYN from every possible source address
through the firewall at once and finds that the verdict depends on the source: it lists the
addresses accepted, the rules that accept them, and the rule or policy that stops the rest.`,
		Fix: `Find the address your client comes from (on the client: 'curl -s ifconfig.me', or the
address sshd logs for a connection that got through) and run 'sshdoctor server --from ADDRESS':
it tells whether that address is let in and, if not, prints the exact rule to add.`,
	})
	_ = Register(Doc{
		Code: "firewall.uncertain", Severity: SeverityWarning, Layer: LayerFirewall,
		Title: "sshdoctor cannot tell what the firewall does with SSH",
		Meaning: `A rule on the way of an SSH connection uses a match or an action the evaluator does
not follow (a packet mark, a source port, an iptables module it does not know, NAT to
another port...), and the verdict depends on it; or the firewall could not be read at all,
usually because sshdoctor did not run as root. sshdoctor then says so instead of guessing: the
connection may be accepted or stopped.`,
		Detection: `While following the SYN, each match the evaluator does not understand is tried both
ways; when the two outcomes differ, the verdict is uncertain and the rule is shown. A firewall
command that failed (permission denied, a crash) is shown with its error.`,
		Fix: `Read the rule shown and decide by hand whether a new SSH connection matches it, or test
from the client with 'sshdoctor check HOST', which sees what the network really does. When the
firewall could not be read, run 'sudo sshdoctor server'.`,
	})
)

// Firewall judges the firewall's evaluation for each SSH port: blocks the
// admin's rules make (firewall.blocks), access limited to some sources when
// no --from was given (firewall.source-restricted), and answers the
// evaluator could not give (firewall.uncertain). Blocks that fail2ban or
// sshguard own are left to the bans check (Report.Bans).
func Firewall(rep *firewall.Report) []Finding {
	if rep == nil || rep.Facts == nil {
		return nil
	}
	var out []Finding
	seen := map[string]int{}
	add := func(key string, f Finding, ev *firewall.Evaluation) {
		if i, ok := seen[key]; ok {
			fwMergeWhere(&out[i], ev)
			return
		}
		seen[key] = len(out)
		out = append(out, f)
	}
	for _, s := range rep.Facts.Unreadable() {
		f := New("firewall.uncertain", fmt.Sprintf("The %s rules could not be read, so sshdoctor cannot tell whether they stop SSH.",
			fwOr(s.Backend, "firewall")),
			E("source", s.What), E("error", s.Err))
		if fwNotRoot(s.Err) {
			f = f.WithFix("Run sshdoctor as root, so that it can read the firewall.", "sudo sshdoctor server")
		} else {
			f = f.WithFix(fmt.Sprintf("Run '%s' to see its error, then check those rules by hand.", s.What))
		}
		add("unreadable|"+s.What, f, nil)
	}
	for _, ev := range rep.Evaluations {
		for _, res := range ev.Chains {
			var blocks, accepts []firewall.Decision
			for _, d := range res.Decisions {
				switch {
				case d.Verdict == firewall.VerdictAccept:
					accepts = append(accepts, d)
				case d.Blocks() && d.Managed == nil:
					blocks = append(blocks, d)
				case d.Verdict == firewall.VerdictUncertain:
					f := fwUncertain(rep, ev, res, d)
					add("uncertain|"+fwRuleKey(d)+fmt.Sprint(ev.Packet.DPort), f, ev)
				}
			}
			if len(blocks) == 0 {
				continue
			}
			if !ev.Packet.Src.IsValid() && len(accepts) > 0 {
				f := fwRestricted(rep, ev, res, blocks, accepts)
				add("restricted|"+res.Chain.Table.ID()+"|"+res.Chain.Name+fmt.Sprint(ev.Packet.DPort), f, ev)
				continue
			}
			for _, d := range blocks {
				f := fwBlocks(rep, ev, res, d)
				add("blocks|"+fwRuleKey(d)+fmt.Sprint(ev.Packet.DPort), f, ev)
			}
		}
	}
	return out
}

// fwNotRoot reports errors that mean "not allowed": nft and iptables
// need root (CAP_NET_ADMIN) even to list the rules.
func fwNotRoot(err string) bool {
	for _, m := range []string{"Operation not permitted", "Permission denied", "must be root", "needs root"} {
		if strings.Contains(err, m) {
			return true
		}
	}
	return false
}

func fwOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fwRuleKey identifies the deciding rule (or policy) across evaluations.
func fwRuleKey(d firewall.Decision) string {
	if d.Rule != nil {
		return fmt.Sprintf("%p", d.Rule)
	}
	return fmt.Sprintf("%p", d.Chain)
}

// fwWhere is the evidence that says which connection was followed.
func fwWhere(ev *firewall.Evaluation) []KV {
	p := ev.Packet
	from := "anywhere"
	if p.Src.IsValid() {
		from = p.Src.String()
	}
	kv := []KV{E("port", int(p.DPort)), E("from", from)}
	if p.Dst.IsValid() {
		kv = append(kv, E("address", p.Dst.String()))
	}
	if p.Iif != "" {
		kv = append(kv, E("interface", p.Iif))
	}
	return kv
}

// fwMergeWhere adds the address and interface of another evaluation that
// reached the same finding, so that one rule blocking two interfaces reads
// as one finding.
func fwMergeWhere(f *Finding, ev *firewall.Evaluation) {
	if ev == nil {
		return
	}
	for i, kv := range f.Evidence {
		var v string
		switch kv.Key {
		case "address":
			if ev.Packet.Dst.IsValid() {
				v = ev.Packet.Dst.String()
			}
		case "interface":
			v = ev.Packet.Iif
		default:
			continue
		}
		if v == "" {
			continue
		}
		switch cur := kv.Value.(type) {
		case string:
			if cur != v {
				f.Evidence[i].Value = []string{cur, v}
			}
		case []string:
			if !fwContains(cur, v) {
				f.Evidence[i].Value = append(cur, v)
			}
		}
	}
}

func fwContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// fwRuleEvidence names the deciding rule the way its backend writes it.
func fwRuleEvidence(res *firewall.ChainResult, d firewall.Decision) []KV {
	c := d.Chain
	if d.Rule != nil {
		c = d.Rule.Chain
	}
	t := c.Table
	nft := t.Ruleset == nil || t.Ruleset.Backend == firewall.BackendNFT
	table := t.Name
	if nft {
		table = t.ID()
	}
	kv := []KV{E("backend", res.Backend), E("table", table), E("chain", c.Name)}
	switch {
	case d.Rule != nil:
		kv = append(kv, E("rule", d.Rule.Text))
		if nft {
			kv = append(kv, E("handle", d.Rule.Handle))
		} else {
			kv = append(kv, E("position", d.Rule.Position))
		}
	case nft:
		kv = append(kv, E("rule", "policy "+string(c.Policy)))
	default:
		kv = append(kv, E("rule", "-P "+c.Name+" "+strings.ToUpper(string(c.Policy))))
	}
	return kv
}

func fwRuleWords(d firewall.Decision) string {
	if d.Rule != nil {
		return fmt.Sprintf("the rule %q in %s", d.Rule.Text, fwChainName(d.Rule.Chain))
	}
	return fmt.Sprintf("the %s policy of %s, as no rule accepts it first,", d.Verdict, fwChainName(d.Chain))
}

func fwChainName(c *firewall.Chain) string {
	t := c.Table
	if t.Ruleset != nil && t.Ruleset.Backend != firewall.BackendNFT {
		return fmt.Sprintf("%s chain %s (table %s)", t.Ruleset.Backend, c.Name, t.Name)
	}
	return fmt.Sprintf("nftables chain %s of table %s", c.Name, t.ID())
}

func fwBlocks(rep *firewall.Report, ev *firewall.Evaluation, res *firewall.ChainResult, d firewall.Decision) Finding {
	p := ev.Packet
	from := "from anywhere"
	if p.Src.IsValid() {
		from = "from " + p.Src.String()
	}
	verb := "drops"
	if d.Verdict == firewall.VerdictReject {
		verb = "rejects"
	}
	detail := fmt.Sprintf("%s %s new SSH connections to port %d %s.", fwUpperFirst(fwRuleWords(d)), verb, p.DPort, from)
	if rep.Facts.Persisted {
		detail += " These are the rules saved on disk, which the machine loads at boot."
	}
	kv := fwRuleEvidence(res, d)
	kv = append(kv, E("verdict", string(d.Verdict)))
	if d.RejectWith != "" {
		kv = append(kv, E("reject_with", d.RejectWith))
	}
	if _, _, says := d.ClientSees(p.Family); says != "" {
		kv = append(kv, E("client_sees", says))
	}
	if len(d.Path) > 1 {
		kv = append(kv, E("path", d.Path))
	}
	kv = append(kv, fwWhere(ev)...)
	if len(d.Assumed) > 0 {
		var as []string
		for _, a := range d.Assumed {
			as = append(as, a.Why)
		}
		kv = append(kv, E("assumed", as))
	}
	a := rep.Allow(ev, res, d)
	return New("firewall.blocks", detail, kv...).WithFix(a.Summary, append(a.Commands, a.Persist...)...)
}

func fwUpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fwRestricted(rep *firewall.Report, ev *firewall.Evaluation, res *firewall.ChainResult, blocks, accepts []firewall.Decision) Finding {
	var allowed, blocked firewall.AddrSet
	var by []string
	for _, a := range accepts {
		allowed = allowed.Union(a.Sources)
		if a.Rule != nil && !fwContains(by, a.Rule.Text) {
			by = append(by, a.Rule.Text)
		}
	}
	main := blocks[0]
	for _, b := range blocks {
		blocked = blocked.Union(b.Sources)
		if b.Sources.Size() > main.Sources.Size() {
			main = b
		}
	}
	port := ev.Packet.DPort
	var detail string
	if blocked.Size() < allowed.Size() {
		// A block list: say what it blocks.
		detail = fmt.Sprintf("%s stops SSH to port %d from %s, and lets it in from everywhere else.",
			fwUpperFirst(fwRuleWords(main)), port, fwShortList(blocked))
	} else {
		detail = fmt.Sprintf("%s lets SSH to port %d in only from %s; %s stops it from everywhere else.",
			fwUpperFirst(fwChainName(res.Chain)), port, fwShortList(allowed), fwRuleWords(main))
	}
	kv := fwRuleEvidence(res, main)
	kv = append(kv, E("verdict", string(main.Verdict)), E("allowed_from", fwPrefixes(allowed)), E("blocked_from", fwPrefixes(blocked)))
	if len(by) > 0 {
		kv = append(kv, E("allowed_by", by))
	}
	kv = append(kv, fwWhere(ev)...)
	return New("firewall.source-restricted", detail, kv...).WithFix(
		"If your client's address is among those stopped, that is why SSH fails from it. Run sshdoctor again with the client's address to get the exact rule to add.",
		fmt.Sprintf("sshdoctor server --from CLIENT_ADDRESS --port %d", port))
}

// fwPrefixes lists a set's prefixes for evidence, at most 16 of them.
func fwPrefixes(s firewall.AddrSet) []string {
	ps := s.Prefixes()
	var out []string
	for i, p := range ps {
		if i == 16 {
			out = append(out, fmt.Sprintf("(%d more)", len(ps)-16))
			break
		}
		out = append(out, p.String())
	}
	return out
}

func fwUncertain(rep *firewall.Report, ev *firewall.Evaluation, res *firewall.ChainResult, d firewall.Decision) Finding {
	var rules, whats []string
	for _, u := range d.Unknown {
		if u.Rule != nil && !fwContains(rules, u.Rule.Text) {
			rules = append(rules, u.Rule.Text)
		}
		if u.What != "" && !fwContains(whats, u.What) {
			whats = append(whats, u.What)
		}
	}
	var poss []string
	for _, p := range d.Possible {
		poss = append(poss, string(p))
	}
	from := "from anywhere"
	if ev.Packet.Src.IsValid() {
		from = "from " + ev.Packet.Src.String()
	} else if d.Sources.Family() != 0 && !d.Sources.Equal(firewall.AllAddrs(d.Sources.Family())) {
		from = "from " + fwShortList(d.Sources)
	}
	detail := fmt.Sprintf("In %s, what happens to SSH to port %d %s depends on a rule sshdoctor does not understand",
		fwChainName(res.Chain), ev.Packet.DPort, from)
	if len(poss) > 0 {
		detail += " (it is " + strings.Join(poss, " or ") + ")"
	}
	detail += "."
	kv := []KV{E("backend", res.Backend)}
	if d.Rule != nil {
		kv = fwRuleEvidence(res, d)
	} else {
		kv = append(kv, E("table", res.Chain.Table.Name), E("chain", res.Chain.Name))
	}
	if len(rules) > 1 {
		kv = append(kv, E("rules", rules))
	}
	kv = append(kv, E("verdict", "uncertain"))
	if len(whats) > 0 {
		kv = append(kv, E("not_understood", whats))
	}
	if len(poss) > 0 {
		kv = append(kv, E("possible", poss))
	}
	kv = append(kv, fwWhere(ev)...)
	return New("firewall.uncertain", detail, kv...).WithFix(
		"Check by hand whether a new SSH connection matches the rule shown, or test from the client, which sees what the network really does.",
		"sshdoctor check HOST")
}

func fwShortList(s firewall.AddrSet) string {
	ps := s.Prefixes()
	var out []string
	for i, p := range ps {
		if i == 4 {
			out = append(out, fmt.Sprintf("and %d more ranges", len(ps)-4))
			break
		}
		out = append(out, p.String())
	}
	return strings.Join(out, ", ")
}
