package firewall

import (
	"encoding/json"
	"strings"
)

// nftRuleParser turns one rule's expression list into Exprs.
type nftRuleParser struct {
	t    *Table
	sets []string // named sets the rule uses
}

func (p *nftRuleParser) rule(exprs []any) []Expr {
	var out []Expr
	for _, e := range exprs {
		o, ok := e.(map[string]any)
		if !ok || len(o) != 1 {
			out = append(out, &Unknown{Text: compactJSON(e)})
			continue
		}
		for k, v := range o {
			out = append(out, p.stmt(k, v, o)...)
		}
	}
	return out
}

func (p *nftRuleParser) stmt(k string, v any, whole map[string]any) []Expr {
	text := renderNFTStmt(whole)
	switch k {
	case "match":
		m, _ := v.(map[string]any)
		if m == nil {
			return []Expr{&Unknown{Text: text}}
		}
		return []Expr{p.match(str(m["op"]), m["left"], m["right"], text)}
	case "accept", "drop", "return", "continue", "jump", "goto":
		vd, ok := nftVerdict(whole)
		if !ok {
			return []Expr{&Stmt{Uncertain: text}}
		}
		return []Expr{&Stmt{Verdict: &vd}}
	case "reject":
		return p.reject(v)
	case "counter", "log", "mangle", "comment", "flow", "secmark", "ct helper", "ct timeout", "ct expectation":
		// No effect on the verdict; marks it sets are only matched by
		// expressions the evaluator does not follow anyway.
		return []Expr{&Stmt{}}
	case "limit":
		o, _ := v.(map[string]any)
		over := o != nil && o["inv"] == true
		return []Expr{&Assume{Result: !over, Why: "rate limit not exceeded (" + text + ")"}}
	case "quota":
		o, _ := v.(map[string]any)
		over := o != nil && o["inv"] == true
		return []Expr{&Assume{Result: !over, Why: "quota not used up (" + text + ")"}}
	case "ct count":
		o, _ := v.(map[string]any)
		over := o != nil && o["inv"] == true
		return []Expr{&Assume{Result: !over, Why: "connection count under its limit (" + text + ")"}}
	case "notrack":
		return []Expr{&Stmt{NoTrack: true}}
	case "vmap":
		return []Expr{p.vmap(v, text)}
	case "set", "meter":
		// A dynamic set update. It passes unless a stateful expression in
		// it (a per-source rate limit) says otherwise.
		if strings.Contains(compactJSON(v), `"limit"`) {
			return []Expr{&Assume{Result: !strings.Contains(compactJSON(v), `"inv":true`),
				Why: "per-source rate limit not exceeded (" + text + ")"}}
		}
		return []Expr{&Stmt{}}
	case "xt":
		o, _ := v.(map[string]any)
		name := str(o["name"])
		if str(o["type"]) == "target" {
			switch name {
			case "LOG", "NFLOG", "TRACE", "MARK", "CONNMARK", "CLASSIFY", "TOS", "DSCP", "TTL", "HL":
				return []Expr{&Stmt{}}
			}
			return []Expr{&Stmt{Uncertain: text + " (an iptables target nft cannot show; read it with iptables-save)"}}
		}
		return []Expr{&Unknown{Text: text + " (an iptables match nft cannot show; read it with iptables-save)"}}
	case "dnat", "snat", "masquerade", "redirect", "tproxy", "queue", "synproxy", "fwd", "dup":
		return []Expr{&Stmt{Uncertain: text}}
	}
	return []Expr{&Stmt{Uncertain: text}}
}

// reject reads a reject statement. A reject with an ICMP type of one family
// carries an implicit check of that family: nft adds "meta nfproto ipv4"
// to "reject with icmp type ..." in an inet table.
func (p *nftRuleParser) reject(v any) []Expr {
	o, _ := v.(map[string]any)
	ty, code := str(o["type"]), str(o["expr"])
	var fam int
	switch ty {
	case "":
		switch p.t.Family {
		case "ip":
			ty = "icmp"
		case "ip6":
			ty = "icmpv6"
		default:
			ty = "icmpx"
		}
	case "icmp":
		fam = 4
	case "icmpv6":
		fam = 6
	}
	with := ty
	if ty != "tcp reset" {
		if code == "" {
			code = "port-unreachable"
		}
		with += " " + code
	}
	var out []Expr
	if fam != 0 && p.t.Family != "ip" && p.t.Family != "ip6" {
		nf := uint32(2)
		if fam == 6 {
			nf = 10
		}
		out = append(out, &Match{Field: FieldNFProto, Val: Value{Kind: ValNums, Nums: []NumRange{{nf, nf}}}})
	}
	return append(out, &Stmt{Verdict: &Verdict{Kind: VerdictReject, RejectWith: with}})
}

func (p *nftRuleParser) vmap(v any, text string) Expr {
	o, _ := v.(map[string]any)
	if o == nil {
		return &Stmt{Uncertain: text}
	}
	f, fam, ok := nftField(o["key"])
	if !ok || f == FieldNone {
		return &Stmt{Uncertain: text}
	}
	vm := &VMap{Key: Match{Field: f, Family: fam}}
	switch d := o["data"].(type) {
	case string:
		s := p.lookupSet(d)
		if s == nil || !s.Supported || !s.Verdicts {
			return &Stmt{Uncertain: text}
		}
		if len(s.Elems) > 0 && s.Elems[0].Val.Kind != valueKindFor(f) {
			return &Stmt{Uncertain: text}
		}
		vm.Elems = s.Elems
	case map[string]any:
		items, _ := d["set"].([]any)
		if items == nil {
			return &Stmt{Uncertain: text}
		}
		for _, it := range items {
			pair, ok := it.([]any)
			if !ok || len(pair) != 2 {
				return &Stmt{Uncertain: text}
			}
			val, ok := nftValue(f, pair[0])
			vd, ok2 := nftVerdict(pair[1])
			if !ok || !ok2 {
				return &Stmt{Uncertain: text}
			}
			vm.Elems = append(vm.Elems, SetElem{Val: val, Verdict: &vd})
		}
	default:
		return &Stmt{Uncertain: text}
	}
	return &Stmt{Map: vm}
}

func (p *nftRuleParser) lookupSet(ref string) *Set {
	name, ok := strings.CutPrefix(ref, "@")
	if !ok {
		return nil
	}
	p.sets = append(p.sets, name)
	return p.t.Sets[name]
}

// nftField reads the left side of a match. ok is false for expressions the
// evaluator does not follow; FieldNone with ok means "never matches a TCP
// packet" (another protocol's header).
func nftField(v any) (f Field, family int, ok bool) {
	o, _ := v.(map[string]any)
	if o == nil || len(o) != 1 {
		return FieldNone, 0, false
	}
	if pl, ok := o["payload"].(map[string]any); ok {
		proto, field := str(pl["protocol"]), str(pl["field"])
		switch proto {
		case "ip":
			switch field {
			case "saddr":
				return FieldSaddr, 4, true
			case "daddr":
				return FieldDaddr, 4, true
			case "protocol":
				return FieldL4Proto, 4, true
			}
		case "ip6":
			switch field {
			case "saddr":
				return FieldSaddr, 6, true
			case "daddr":
				return FieldDaddr, 6, true
			case "nexthdr":
				return FieldL4Proto, 6, true
			}
		case "tcp", "th":
			switch field {
			case "dport":
				return FieldDport, 0, true
			case "flags":
				if proto == "tcp" {
					return FieldTCPFlags, 0, true
				}
			}
		case "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "igmp", "esp", "ah", "comp", "gre", "arp", "vlan":
			return FieldNone, 0, true
		}
		return FieldNone, 0, false
	}
	if m, ok := o["meta"].(map[string]any); ok {
		switch str(m["key"]) {
		case "l4proto":
			return FieldL4Proto, 0, true
		case "nfproto", "protocol":
			return FieldNFProto, 0, true
		case "iif", "iifname":
			return FieldIifname, 0, true
		case "pkttype":
			return FieldPktType, 0, true
		}
		return FieldNone, 0, false
	}
	if c, ok := o["ct"].(map[string]any); ok && c["dir"] == nil {
		switch str(c["key"]) {
		case "state":
			return FieldCtState, 0, true
		case "status":
			return FieldCtStatus, 0, true
		case "direction":
			return FieldCtDir, 0, true
		}
		return FieldNone, 0, false
	}
	if fb, ok := o["fib"].(map[string]any); ok {
		flags, _ := fb["flags"].([]any)
		if str(fb["result"]) == "type" && len(flags) == 1 && str(flags[0]) == "daddr" {
			return FieldFibDaddrType, 0, true
		}
	}
	return FieldNone, 0, false
}

// match builds a Match from op, left and right.
func (p *nftRuleParser) match(op string, left, right any, text string) Expr {
	// The reverse path check: "fib saddr [. mark] . iif oif missing".
	if fb, ok := asObj(left)["fib"].(map[string]any); ok && str(fb["result"]) == "oif" &&
		strings.Contains(compactJSON(fb["flags"]), "saddr") {
		if b, ok := right.(bool); ok {
			res := b == true // route assumed to exist: "oif exists" is true
			if op == "!=" {
				res = !res
			}
			return &Assume{Result: res, Why: "the client's address routes back through the interface it came in on (" + text + ")"}
		}
	}
	// tcp flags & mask == value
	if and, ok := asObj(left)["&"].([]any); ok && len(and) == 2 {
		f, _, ok := nftField(and[0])
		if ok && f == FieldTCPFlags {
			mask, ok1 := tcpFlagBits(and[1])
			val, ok2 := tcpFlagBits(right)
			if ok1 && ok2 && (op == "==" || op == "!=") {
				return tcpFlagsMatch(mask, val, op == "!=", text)
			}
		}
		return &Unknown{Text: text}
	}
	f, fam, ok := nftField(left)
	if !ok {
		return &Unknown{Text: text}
	}
	if f == FieldNone {
		return &Never{Why: text}
	}
	if f == FieldTCPFlags {
		bits, ok := tcpFlagBits(right)
		if !ok {
			return &Unknown{Text: text}
		}
		switch op {
		case "in":
			return &Match{Field: f, Val: Value{Kind: ValNums, Nums: []NumRange{{bits, bits}}}}
		case "==", "!=":
			// "tcp flags == syn" compares all eight bits.
			return tcpFlagsMatch(0xff, bits, op == "!=", text)
		}
		return &Unknown{Text: text}
	}
	neg := false
	switch op {
	case "==", "in":
	case "!=":
		neg = true
	case "<", ">", "<=", ">=":
		n, ok := right.(json.Number)
		if !ok || (f != FieldDport && f != FieldL4Proto) {
			return &Unknown{Text: text}
		}
		i, err := n.Int64()
		if err != nil || i < 0 || i > 65535 {
			return &Unknown{Text: text}
		}
		var r NumRange
		switch op {
		case "<":
			if i == 0 {
				return &Never{Why: text}
			}
			r = NumRange{0, uint32(i - 1)}
		case "<=":
			r = NumRange{0, uint32(i)}
		case ">":
			r = NumRange{uint32(i + 1), 65535}
		case ">=":
			r = NumRange{uint32(i), 65535}
		}
		return &Match{Field: f, Family: fam, Val: Value{Kind: ValNums, Nums: []NumRange{r}}}
	default:
		return &Unknown{Text: text}
	}
	if s, ok := right.(string); ok && strings.HasPrefix(s, "@") {
		set := p.lookupSet(s)
		if set == nil {
			return &Unknown{Text: text + " (set not found)"}
		}
		if !set.Supported || set.Verdicts {
			return &Unknown{Text: text + " (" + set.Why + ")"}
		}
		var val Value
		for _, el := range set.Elems {
			val = unionValue(val, el.Val)
		}
		if val.Kind == 0 {
			val.Kind = valueKindFor(f)
		}
		if val.Kind != valueKindFor(f) {
			return &Unknown{Text: text}
		}
		return &Match{Field: f, Family: fam, Negate: neg, Val: val}
	}
	val, ok := nftValue(f, right)
	if !ok {
		return &Unknown{Text: text}
	}
	return &Match{Field: f, Family: fam, Negate: neg, Val: val}
}

// tcpFlagsMatch compares the SYN's flags under mask. When the mask covers
// the ECN bits (ECE, CWR), the answer depends on whether the client asks for
// ECN; the evaluator assumes a plain SYN, as Linux and Windows send by
// default, and says so.
func tcpFlagsMatch(mask, val uint32, neg bool, text string) Expr {
	if mask&0xc0 != 0 {
		return &Assume{Result: (0x02&mask == val) != neg, Why: "the client's SYN does not ask for ECN (" + text + ")"}
	}
	return &Match{Field: FieldTCPFlags, Negate: neg, Mask: mask, Val: Value{Kind: ValNums, Nums: []NumRange{{val, val}}}}
}

func asObj(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}
