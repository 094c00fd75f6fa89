package firewall

import (
	"fmt"
	"strings"
)

// Backend names, as the finding evidence shows them.
const (
	BackendNFT       = "nftables"
	BackendIPTables  = "iptables"
	BackendIP6Tables = "ip6tables"
	BackendUFW       = "ufw"
	BackendFirewalld = "firewalld"
)

// Ruleset is one backend's rules in a form the evaluator follows: what
// `nft -j list ruleset` or one `iptables-save` printed.
type Ruleset struct {
	// Backend is BackendNFT, BackendIPTables or BackendIP6Tables.
	Backend string
	// Variant is "nf_tables" or "legacy" for iptables; empty for nftables.
	Variant string
	// Source says where the rules were read from: a command line ("nft -j
	// list ruleset") or a file path. Empty when built by hand in a test.
	Source string
	// Tables in the order the backend listed them.
	Tables []*Table
	// Incompatible lists iptables tables that iptables-nft could not show
	// because they hold rules it did not write ("use 'nft' tool"): the nft
	// view evaluates them. Empty for nftables.
	Incompatible []string
}

// Table is an nftables table, or an iptables table (filter, raw, mangle...).
type Table struct {
	// Ruleset is the ruleset the table belongs to; nil only for a table
	// built by hand.
	Ruleset *Ruleset `json:"-"`
	// Family is the nftables family (ip, ip6, inet, netdev, bridge, arp). An
	// iptables table has "ip" and an ip6tables one "ip6".
	Family string
	Name   string
	// Handle is the nftables table handle; 0 for iptables.
	Handle int
	// Chains in the order the backend listed them.
	Chains []*Chain
	// Sets holds named sets and maps by name (nftables sets; for iptables,
	// the ipsets that its rules reference).
	Sets map[string]*Set

	chains map[string]*Chain
}

// Chain is a chain of rules. A base chain (Hook non-empty) is where the
// kernel starts evaluating; the others are only reached by jump or goto.
type Chain struct {
	// Table is the table the chain belongs to.
	Table *Table `json:"-"`
	Name  string
	// Handle is the nftables chain handle; 0 for iptables.
	Handle int
	// Type is the base chain type (filter, nat, route); empty for a regular chain.
	Type string
	// Hook is the netfilter hook of a base chain (ingress, prerouting,
	// input...); empty for a regular chain.
	Hook string
	// Priority orders base chains on one hook, lowest first.
	Priority int
	// Devices are the interfaces a netdev (ingress) base chain is bound to.
	Devices []string
	// Policy is the verdict at the end of a base chain: VerdictAccept or
	// VerdictDrop. Unset (empty) for regular chains, which return.
	Policy VerdictKind
	// Rules in order; empty for an empty chain.
	Rules []*Rule
}

// IsBase reports whether the chain is attached to a hook.
func (c *Chain) IsBase() bool { return c.Hook != "" }

// Rule is one rule of a chain.
type Rule struct {
	// Chain is the chain the rule is in.
	Chain *Chain `json:"-"`
	// Handle is the nftables rule handle (for `nft insert rule ... position
	// H`); 0 for iptables.
	Handle int
	// Position is the rule's 1-based index in its chain (for `iptables -I
	// CHAIN N`).
	Position int
	// Text is the rule as the admin writes it: nft syntax ("tcp dport 22
	// drop") or iptables-save syntax ("-A INPUT -p tcp --dport 22 -j DROP").
	Text string
	// Comment is the rule's comment, if any.
	Comment string
	// Exprs are evaluated in order: matches filter, statements act.
	Exprs []Expr
	// Managed is non-nil when fail2ban or sshguard owns the rule.
	Managed *Manager

	sets []string // named sets and ipsets the rule uses
}

// SetNames returns the named sets (nft) or ipsets (iptables) the rule
// uses; empty when none.
func (r *Rule) SetNames() []string { return append([]string(nil), r.sets...) }

// Manager names the ban tool that owns a rule, chain, table or set.
type Manager struct {
	// Tool is "fail2ban" or "sshguard".
	Tool string
	// Jail is the fail2ban jail; empty for sshguard or when not known.
	Jail string
}

// String names the tool and jail ("fail2ban jail sshd").
func (m *Manager) String() string {
	if m == nil {
		return ""
	}
	if m.Jail != "" {
		return m.Tool + " jail " + m.Jail
	}
	return m.Tool
}

// Set is a named set, map or ipset. Only what the evaluator needs is kept.
type Set struct {
	// Name is the set's name, without the "@".
	Name string
	// Type is the element type as the backend names it (ipv4_addr,
	// inet_service, "ipv4_addr . inet_service", hash:net...).
	Type string
	// Elems are the elements; for a verdict map each carries its verdict.
	Elems []SetElem
	// Verdicts is true for a verdict map.
	Verdicts bool
	// Supported is false when the set holds something the evaluator cannot
	// compare (an unknown type, a non-verdict map, an ipset type with
	// several dimensions): a rule using it is then uncertain.
	Supported bool
	// Why says, when Supported is false, what is not understood.
	Why string
	// Managed is non-nil when fail2ban or sshguard owns the set.
	Managed *Manager
}

// SetElem is one element of a set: a value (address, prefix, range, port,
// port range, string...) and, in a verdict map, the verdict.
type SetElem struct {
	// Val is the element's value.
	Val Value
	// Verdict is the element's verdict in a verdict map; nil in a set.
	Verdict *Verdict
}

// VerdictKind is what a chain does with a packet.
type VerdictKind string

// The verdicts. Continue and Return are control flow; Accept, Drop and
// Reject end a base chain; Uncertain means the evaluator could not tell.
const (
	VerdictAccept    VerdictKind = "accept"
	VerdictDrop      VerdictKind = "drop"
	VerdictReject    VerdictKind = "reject"
	VerdictJump      VerdictKind = "jump"
	VerdictGoto      VerdictKind = "goto"
	VerdictReturn    VerdictKind = "return"
	VerdictContinue  VerdictKind = "continue"
	VerdictUncertain VerdictKind = "uncertain"
)

// Verdict is a verdict statement.
type Verdict struct {
	// Kind is what happens to the packet.
	Kind VerdictKind
	// Target is the chain of a jump or goto.
	Target string
	// RejectWith says how a reject answers, normalized: "tcp reset", or
	// "icmp port-unreachable", "icmpv6 admin-prohibited", "icmpx
	// port-unreachable"... Empty for other verdicts.
	RejectWith string
}

// String writes the verdict as nft does ("jump services", "reject with tcp reset").
func (v Verdict) String() string {
	switch v.Kind {
	case VerdictJump, VerdictGoto:
		return string(v.Kind) + " " + v.Target
	case VerdictReject:
		if v.RejectWith != "" {
			return "reject with " + v.RejectWith
		}
	}
	return string(v.Kind)
}

// Field is a property of the packet that a match looks at.
type Field int

// The fields the evaluator understands.
const (
	FieldNone     Field = iota
	FieldSaddr          // source address: followed symbolically
	FieldDaddr          // destination address
	FieldDport          // TCP/UDP destination port
	FieldL4Proto        // layer 4 protocol number (6 = TCP)
	FieldNFProto        // 2 = IPv4, 10 = IPv6 (NFPROTO_*)
	FieldIifname        // incoming interface name (iif and iifname alike)
	FieldCtState        // conntrack state: a new SYN is "new"
	FieldCtStatus       // conntrack status bits: none for a new, un-NATed packet
	FieldCtDir          // conntrack direction: "original" for a new connection
	FieldFibDaddrType
	FieldPktType // meta pkttype: "host" for unicast to this machine
	FieldTCPFlags
)

// ValueKind says which part of a Value is set.
type ValueKind int

// The kinds of Value.
const (
	ValAddrs ValueKind = iota + 1 // Addrs
	ValNums                       // Nums (ports, protocols, flags)
	ValNames                      // Names (interface names, ct states, types)
)

// Value is the right-hand side of a match, or a set element: addresses
// (single, prefix, range), numbers and number ranges, or names (interface
// names with a trailing "*" wildcard, ct states, address types).
type Value struct {
	// Kind says which of the other fields holds the value.
	Kind ValueKind
	// Addrs are addresses, for ValAddrs.
	Addrs AddrSet
	// Nums are numbers and number ranges, for ValNums.
	Nums []NumRange
	// Names are names, for ValNames.
	Names []string
}

// NumRange is an inclusive range of numbers.
type NumRange struct{ Lo, Hi uint32 }

// Expr is one expression of a rule: a Match or a Stmt.
type Expr interface{ isExpr() }

// Match keeps the packet in the rule when the field's value is (or, with
// Negate, is not) in Val. Family restricts the match to IPv4 or IPv6
// packets: the "ip saddr" of an inet rule never matches an IPv6 packet, not
// even when negated, because nft adds an implicit protocol check.
type Match struct {
	// Field is what the match looks at.
	Field Field
	// Negate inverts the comparison (nft "!=", iptables "!").
	Negate bool
	// Family is 4 or 6 when the match only applies to that family; 0 when both.
	Family int
	// Val is what the field is compared with.
	Val Value
	// Mask, for FieldTCPFlags: the bits compared ("tcp flags & mask == val").
	Mask uint32
}

func (*Match) isExpr() {}

// Never is a match that fails for the packet the evaluator follows: a
// protocol other than TCP ("udp dport 53"), ICMP types, output interfaces...
type Never struct {
	// Why is the part of the rule that cannot match.
	Why string
}

func (*Never) isExpr() {}

// Assume is a match whose outcome depends on state the evaluator cannot see
// but that has an obvious answer for one new connection from a well-behaved
// client: rate limits are not exceeded, the reverse path is valid. The
// assumption is recorded in the result, never made silently.
type Assume struct {
	// Result is the outcome assumed.
	Result bool
	// Why says what is assumed, quoting the rule's part.
	Why string
}

func (*Assume) isExpr() {}

// Unknown is a match the evaluator does not understand. Reaching it makes
// the outcome uncertain (unless both outcomes lead to the same verdict).
type Unknown struct {
	// Text is the part of the rule that is not understood.
	Text string
}

func (*Unknown) isExpr() {}

// Stmt is a statement: a verdict, a verdict map lookup, or something that
// does not change the verdict (counter, log).
type Stmt struct {
	// Verdict is set for a verdict statement.
	Verdict *Verdict
	// Map is set for a verdict map lookup ("tcp dport vmap {...}"): the
	// field is looked up and the matching element's verdict applies; no
	// match lets the packet go on to the next rule.
	Map *VMap
	// NoTrack marks the packet untracked (nft notrack, iptables -j CT --notrack).
	NoTrack bool
	// Uncertain is set for a statement that changes the packet's fate in a
	// way the evaluator does not follow (dnat, redirect, queue, tproxy...).
	Uncertain string
}

func (*Stmt) isExpr() {}

// VMap is a verdict map lookup.
type VMap struct {
	// Key gives the field looked up (and its family); its Val and Negate
	// are unused.
	Key Match
	// Elems are the map's elements, each with its verdict.
	Elems []SetElem
}

func (t *Table) chain(name string) *Chain {
	if t.chains == nil {
		t.chains = map[string]*Chain{}
		for _, c := range t.Chains {
			t.chains[c.Name] = c
		}
	}
	return t.chains[name]
}

// Chain returns the table's chain named name, or nil.
func (t *Table) Chain(name string) *Chain { return t.chain(name) }

func (t *Table) addChain(c *Chain) {
	c.Table = t
	t.Chains = append(t.Chains, c)
	if t.chains != nil {
		t.chains[c.Name] = c
	}
}

// ID names the table the way nft does: "inet filter".
func (t *Table) ID() string { return t.Family + " " + t.Name }

// Where names a rule's place for a person: "table inet filter chain input
// handle 7" for nftables, "table filter chain INPUT rule 3" for iptables.
func (r *Rule) Where() string {
	c := r.Chain
	if c.Table.Ruleset != nil && c.Table.Ruleset.Backend != BackendNFT {
		return fmt.Sprintf("table %s chain %s rule %d", c.Table.Name, c.Name, r.Position)
	}
	if r.Handle == 0 {
		// Rules sshdoctor modelled from configuration files have no handle.
		return fmt.Sprintf("table %s chain %s rule %d", c.Table.ID(), c.Name, r.Position)
	}
	return fmt.Sprintf("table %s chain %s handle %d", c.Table.ID(), c.Name, r.Handle)
}

// Backend returns the backend the rule belongs to, naming the frontend when
// one manages it: ufw for ufw-* chains, firewalld for firewalld's tables
// and chains.
func (c *Chain) Backend() string {
	t := c.Table
	base := BackendNFT
	if t.Ruleset != nil {
		base = t.Ruleset.Backend
	}
	switch base {
	case BackendNFT:
		if t.Name == "firewalld" {
			return BackendFirewalld
		}
	default:
		if strings.HasPrefix(c.Name, "ufw-") || strings.HasPrefix(c.Name, "ufw6-") {
			return BackendUFW
		}
		if isFirewalldIPTChain(c.Name) {
			return BackendFirewalld
		}
	}
	return base
}

// isFirewalldIPTChain reports chain names that firewalld's iptables backend
// creates (INPUT_direct, INPUT_ZONES, IN_public, IN_public_allow...).
func isFirewalldIPTChain(name string) bool {
	switch name {
	case "INPUT_direct", "INPUT_ZONES", "INPUT_ZONES_SOURCE", "PREROUTING_direct", "PREROUTING_ZONES":
		return true
	}
	return strings.HasPrefix(name, "IN_") || strings.HasPrefix(name, "PRE_")
}
