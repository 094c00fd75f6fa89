package firewall

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Packet is the connection attempt the evaluator follows: the first packet
// of a new TCP connection (a SYN) arriving at this machine.
type Packet struct {
	// Family is 4 or 6.
	Family int
	// Src is the client's address. The zero Addr means "from anywhere": the
	// evaluator then follows every source address at once and reports which
	// ones get which verdict.
	Src netip.Addr
	// Dst is the local address the client connects to. The zero Addr means
	// unknown (but not a loopback address): a rule that looks at it makes
	// the result depend on it.
	Dst netip.Addr
	// DPort is the destination port.
	DPort uint16
	// Iif is the name of the interface the SYN arrives on. Empty means
	// unknown (but not the loopback interface).
	Iif string
}

// String describes the packet for a person.
func (p Packet) String() string {
	src := "anywhere"
	if p.Src.IsValid() {
		src = p.Src.String()
	}
	dst := "this host"
	if p.Dst.IsValid() {
		dst = p.Dst.String()
	}
	s := fmt.Sprintf("TCP SYN from %s to %s port %d", src, dst, p.DPort)
	if p.Iif != "" {
		s += " on " + p.Iif
	}
	return s
}

// Evaluation is what the firewall does with one Packet.
type Evaluation struct {
	// Packet is the connection followed.
	Packet Packet
	// Chains are the base chains the packet meets, in the order the kernel
	// runs them, each evaluated as if every earlier one had accepted. A
	// packet gets through only if every chain accepts it, so each chain
	// that blocks needs its own fix.
	Chains []*ChainResult
	// Overall is the packet's fate across all chains, by source address:
	// the first chain that does not accept decides.
	Overall []Decision
}

// ChainResult is the verdict of one base chain, by source address.
type ChainResult struct {
	// Chain is the base chain.
	Chain *Chain
	// Backend is the backend that owns the chain, naming the frontend (ufw,
	// firewalld) when one manages it.
	Backend string
	// Decisions partition the source addresses considered (one address
	// when Packet.Src is set). Never empty.
	Decisions []Decision
	// SourceRules are rules whose outcome depended on the source address
	// (at most a few dozen; rules managed by fail2ban or sshguard are left
	// out). Empty when the source was given.
	SourceRules []*Rule
}

// Decision is the verdict for a set of source addresses.
type Decision struct {
	// Sources are the client addresses the decision holds for.
	Sources AddrSet
	// Verdict is VerdictAccept, VerdictDrop, VerdictReject or VerdictUncertain.
	Verdict VerdictKind
	// RejectWith is how a reject answers ("tcp reset", "icmp
	// port-unreachable"...); empty for other verdicts.
	RejectWith string
	// Rule is the rule that decided; nil when the base chain's policy did
	// (then Chain is the base chain).
	Rule *Rule
	// Chain is the chain whose rule or policy decided.
	Chain *Chain
	// Path lists the chains entered, from the base chain to where the
	// packet was decided.
	Path []string
	// Exit is, when the policy decided, where the packet left the rules:
	// at the end of a chain (Before nil) or at a return rule. An accept
	// rule placed there is reached (after a goto, the end of the base chain
	// is not). Nil when a rule decided.
	Exit *Position
	// Managed is non-nil when fail2ban or sshguard owns the deciding rule
	// (or the chain, set or table it is in): a ban, not the admin's
	// firewall policy.
	Managed *Manager
	// Assumed lists what the evaluator assumed on the way (a rate limit not
	// exceeded, a valid reverse path). Empty means nothing was assumed.
	Assumed []Assumption
	// Unknown lists, for an uncertain verdict, the rules the evaluator did
	// not understand and that the verdict depends on.
	Unknown []UnknownRule
	// Possible lists, for an uncertain verdict, the verdicts it could be
	// when known ("accept", "drop"); empty when nothing is known.
	Possible []VerdictKind
}

// Blocks reports whether the decision stops the connection.
func (d Decision) Blocks() bool { return d.Verdict == VerdictDrop || d.Verdict == VerdictReject }

// Position is a place in a chain: before rule Before, or at the end of
// Chain when Before is nil.
type Position struct {
	// Chain is the chain.
	Chain *Chain
	// Before is the rule the place is just before; nil for the chain's end.
	Before *Rule
}

// Assumption is a rule whose outcome the evaluator assumed.
type Assumption struct {
	// Rule is the rule; nil when the assumption is about a chain (an
	// ingress chain's device).
	Rule *Rule
	// Why says what was assumed.
	Why string
}

// UnknownRule is a rule with a part the evaluator does not understand.
type UnknownRule struct {
	// Rule is the rule; nil when what is not understood is the order of
	// two chains.
	Rule *Rule
	// What is the part not understood, or why it matters.
	What string
}

// maxForks bounds how many not-understood matches one path may fork on
// (each doubles the work). Past it, the path is uncertain.
const maxForks = 6

// maxDepth bounds jump nesting; nftables itself stops at 16.
const maxDepth = 32

// maxSteps bounds the rule evaluations spent on one base chain. Real
// rulesets need a few thousand; a pathological one (many jumps into the
// same chains, as only a hand-edited file can have) is cut short and
// reported uncertain instead of hanging.
const maxSteps = 200000

// ctState is what conntrack says about the packet in a chain.
type ctState int

const (
	ctNew       ctState = iota // after conntrack (priority > -200): a new SYN is "new"
	ctNone                     // before conntrack: "invalid", no ct to read
	ctUntracked                // marked notrack before conntrack
	ctUnknown                  // at exactly the conntrack priority: order not known
)

// Evaluate follows pkt through every base chain of the rulesets on its way
// in: ingress, prerouting and input hooks, ordered by priority.
func Evaluate(rulesets []*Ruleset, pkt Packet) *Evaluation {
	pkt.Src, pkt.Dst = pkt.Src.Unmap(), pkt.Dst.Unmap()
	ev := &Evaluation{Packet: pkt}
	all := AllAddrs(pkt.Family)
	if pkt.Src.IsValid() {
		all = SingleAddr(pkt.Src)
	}
	in := []state{{src: all}}
	alive := all
	bcs := baseChains(rulesets, pkt)
	// Chains at the same hook and priority run in an order no listing
	// shows: each is evaluated both with the state the group starts from
	// and with the state the other chains leave (a notrack in one changes
	// what "ct state" sees in the other). Where the two disagree, decide
	// reports the addresses as uncertain instead of guessing an order.
	for start := 0; start < len(bcs); {
		end := start + 1
		for end < len(bcs) && bcs[end].chain.Hook == bcs[start].chain.Hook && bcs[end].chain.Priority == bcs[start].chain.Priority {
			end++
		}
		groupIn := in
		runs := make([][]outcome, end-start)
		evs := make([]*evaluator, end-start)
		for k, bc := range bcs[start:end] {
			evs[k] = &evaluator{pkt: pkt, ct: ctFor(bc.chain), srcDeps: map[*Rule]bool{}}
			runs[k] = evs[k].runChain(bc.chain, in, nil, 0)
			var next []state
			for _, o := range runs[k] {
				next = append(next, state{src: o.st.src, untracked: o.st.untracked})
			}
			in = mergeStates(next)
		}
		if end-start > 1 && !sameStates(groupIn, in) {
			for k, bc := range bcs[start:end] {
				e := &evaluator{pkt: pkt, ct: ctFor(bc.chain), srcDeps: map[*Rule]bool{}}
				runs[k] = append(runs[k], e.runChain(bc.chain, in, nil, 0)...)
				if k == 0 {
					// The first chain was run on groupIn above; this second
					// run covers it being last.
					continue
				}
				runs[k] = append(runs[k], e.runChain(bc.chain, groupIn, nil, 0)...)
			}
		}
		var group []*ChainResult
		for k, bc := range bcs[start:end] {
			outs := runs[k]
			for i := range outs {
				if o := &outs[i]; o.verdict.Kind == VerdictReturn {
					o.verdict = Verdict{Kind: bc.chain.Policy}
					if o.verdict.Kind == "" {
						o.verdict.Kind = VerdictAccept
					}
					o.exit = &Position{Chain: o.chain, Before: o.rule}
					o.rule, o.chain = nil, bc.chain
				}
			}
			if len(bc.assumed) > 0 {
				for i := range outs {
					outs[i].st.assumed = append(outs[i].st.assumed[:len(outs[i].st.assumed):len(outs[i].st.assumed)], bc.assumed...)
				}
			}
			res := &ChainResult{Chain: bc.chain, Backend: chainBackend(bc.chain), Decisions: decide(outs)}
			if !pkt.Src.IsValid() {
				res.SourceRules = evs[k].srcList
			}
			ev.Chains = append(ev.Chains, res)
			group = append(group, res)
		}
		alive = overall(ev, group, alive)
		start = end
	}
	if !alive.IsEmpty() {
		ev.Overall = append(ev.Overall, Decision{Sources: alive, Verdict: VerdictAccept})
	}
	return ev
}

// sameStates reports whether two state lists carry the same sources and
// tracking, whatever their order.
func sameStates(a, b []state) bool {
	key := func(ss []state) map[string]bool {
		m := map[string]bool{}
		for _, s := range ss {
			m[fmt.Sprintf("%v|%v", s.src, s.untracked)] = true
		}
		return m
	}
	ka, kb := key(a), key(b)
	if len(ka) != len(kb) {
		return false
	}
	for k := range ka {
		if !kb[k] {
			return false
		}
	}
	return true
}

// baseChain is a base chain on the way in, with what is assumed about it.
type baseChain struct {
	chain   *Chain
	order   int
	assumed []Assumption
}

var hookOrder = map[string]int{"ingress": 0, "prerouting": 1, "input": 2}

// baseChains returns the base chains a packet of pkt's family meets on its
// way in, in kernel order. Tables of other families (arp, bridge) and hooks
// on other paths (forward, output, postrouting) are left out.
func baseChains(rulesets []*Ruleset, pkt Packet) []baseChain {
	var out []baseChain
	n := 0
	for _, rs := range rulesets {
		for _, t := range rs.Tables {
			switch t.Family {
			case "ip":
				if pkt.Family != 4 {
					continue
				}
			case "ip6":
				if pkt.Family != 6 {
					continue
				}
			case "inet", "netdev":
			default:
				continue
			}
			for _, c := range t.Chains {
				if _, ok := hookOrder[c.Hook]; !ok || c.Type == "route" {
					continue
				}
				if t.Family == "netdev" && c.Hook != "ingress" {
					continue
				}
				bc := baseChain{chain: c, order: n}
				n++
				if c.Hook == "ingress" && len(c.Devices) == 0 {
					// nft before 1.0.7 does not name the device in its JSON.
					bc.assumed = append(bc.assumed, Assumption{Why: fmt.Sprintf(
						"ingress chain %s of table %s is assumed to be bound to the interface the connection arrives on (nft's JSON does not name its device)",
						c.Name, t.ID())})
				} else if len(c.Devices) > 0 {
					if pkt.Iif == "" {
						bc.assumed = append(bc.assumed, Assumption{Why: fmt.Sprintf(
							"chain %s of table %s applies only to connections arriving on %s",
							c.Name, t.ID(), strings.Join(c.Devices, ", "))})
					} else if !containsName(c.Devices, pkt.Iif) {
						continue
					}
				}
				out = append(out, bc)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].chain, out[j].chain
		if hookOrder[a.Hook] != hookOrder[b.Hook] {
			return hookOrder[a.Hook] < hookOrder[b.Hook]
		}
		return a.Priority < b.Priority
	})
	return out
}

// ctFor says what conntrack has told a packet by the time it reaches c:
// conntrack runs at priority -200 of prerouting.
func ctFor(c *Chain) ctState {
	switch {
	case c.Hook == "ingress":
		return ctNone
	case c.Hook == "prerouting" && c.Priority < -200:
		return ctNone
	case c.Hook == "prerouting" && c.Priority == -200:
		return ctUnknown
	}
	return ctNew
}

// chainBackend names the backend of a base chain, naming ufw or firewalld
// when the chain hands packets to their chains.
func chainBackend(c *Chain) string {
	if b := c.Backend(); b != c.Table.backendBase() {
		return b
	}
	for _, r := range c.Rules {
		for _, x := range r.Exprs {
			st, ok := x.(*Stmt)
			if !ok || st.Verdict == nil || st.Verdict.Target == "" {
				continue
			}
			if t := c.Table.chain(st.Verdict.Target); t != nil {
				if b := t.Backend(); b != c.Table.backendBase() {
					return b
				}
			}
		}
	}
	return c.Backend()
}

func (t *Table) backendBase() string {
	if t.Ruleset != nil {
		return t.Ruleset.Backend
	}
	return BackendNFT
}
