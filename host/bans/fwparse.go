package bans

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// ParseIPSetSave reads `ipset save` and keeps the sets of the ban tools.
func ParseIPSetSave(out []byte) []*Object {
	var objs []*Object
	byName := map[string]*Object{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		tool, jail, ok := setTool("", f[1])
		if !ok {
			continue
		}
		switch f[0] {
		case "create":
			o := &Object{Tool: tool, Jail: jail, Backend: BackendIPSet, Kind: KindSet, Name: f[1]}
			byName[f[1]] = o
			objs = append(objs, o)
		case "add":
			o := byName[f[1]]
			if o == nil || len(f) < 3 {
				continue
			}
			if len(f) > 3 && f[3] == "nomatch" {
				continue // an exception carved out of a network
			}
			if e, ok := entryOf(f[2]); ok {
				o.Entries = append(o.Entries, e)
			}
		}
	}
	return objs
}

// entryOf parses an address, a CIDR network or a range "a-b".
func entryOf(v string) (Entry, bool) {
	if lo, hi, ok := strings.Cut(v, "-"); ok {
		l, err1 := netip.ParseAddr(lo)
		h, err2 := netip.ParseAddr(hi)
		if err1 != nil || err2 != nil || l.BitLen() != h.BitLen() {
			return Entry{}, false
		}
		return Entry{Value: v, Lo: l.Unmap(), Hi: h.Unmap()}, true
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		p = p.Masked()
		return Entry{Value: v, Lo: p.Addr(), Hi: lastAddr(p)}, true
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return Entry{Value: v, Lo: a.Unmap(), Hi: a.Unmap()}, true
	}
	return Entry{}, false
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ParseIPTablesS reads `iptables -S` (one table, filter by default) and
// returns the ban tools' chains with their entries, marking those that a
// rule jumps to. Rules elsewhere that use one of ipsets mark that ipset
// hooked.
func ParseIPTablesS(out []byte, backend string, ipsets map[string]*Object) []*Object {
	var objs []*Object
	chains := map[string]*Object{}
	type jump struct{ target, rule string }
	var jumps []jump
	for _, line := range strings.Split(string(out), "\n") {
		args := shellFields(line)
		if len(args) < 2 {
			continue
		}
		switch args[0] {
		case "-N":
			if tool, jail, ok := chainTool(args[1]); ok {
				o := &Object{Tool: tool, Jail: jail, Backend: backend, Kind: KindChain, Table: "filter", Name: args[1]}
				chains[args[1]] = o
				objs = append(objs, o)
			}
		case "-A":
			r := parseIPTRule(args)
			if o := chains[args[1]]; o != nil {
				if r.src != "" && !r.negSrc && r.target != "" && r.target != "RETURN" {
					if e, ok := entryOf(r.src); ok {
						e.Rule, e.Verdict = line, r.verdict
						o.Entries = append(o.Entries, e)
					}
				}
				continue
			}
			if r.target != "" {
				jumps = append(jumps, jump{r.target, line})
			}
			for _, s := range r.sets {
				if o := ipsets[s]; o != nil {
					o.Hooked = true
					o.HookedBy = append(o.HookedBy, line)
				}
			}
		}
	}
	for _, j := range jumps {
		if o := chains[j.target]; o != nil {
			o.Hooked = true
			o.HookedBy = append(o.HookedBy, j.rule)
		}
	}
	return objs
}

func parseIPTRule(args []string) iptRule {
	var r iptRule
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "!":
			if i+1 < len(args) && (args[i+1] == "-s" || args[i+1] == "--source") {
				r.negSrc = true
			}
		case "-s", "--source":
			if i+1 < len(args) {
				r.src = args[i+1]
				i++
			}
		case "--match-set":
			if i+1 < len(args) {
				r.sets = append(r.sets, args[i+1])
				i++
			}
		case "-j", "--jump", "-g", "--goto":
			if i+1 < len(args) {
				r.target = args[i+1]
				r.verdict = strings.Join(args[i+1:], " ")
				return r
			}
		}
	}
	return r
}

// shellFields splits an iptables -S line into arguments; iptables quotes
// arguments with blanks in double quotes and escapes quotes with \.
func shellFields(line string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && quoted && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			in = true
		case (c == ' ' || c == '\t') && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// ParseNFTJSON reads `nft -j list table ...` and returns the ban tools' sets
// with their elements. A set counts as hooked when a rule of a base chain in
// its table refers to it.
func ParseNFTJSON(out []byte) ([]*Object, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("bans: nft json: %w", err)
	}
	type chainKey struct{ family, table, name string }
	base := map[chainKey]bool{}
	var objs []*Object
	sets := map[chainKey]*Object{}
	type ruleRef struct {
		key  chainKey
		raw  json.RawMessage
		text string
	}
	var rules []ruleRef
	for _, item := range doc.Nftables {
		switch {
		case item["chain"] != nil:
			var c struct {
				Family, Table, Name, Hook string
			}
			if json.Unmarshal(item["chain"], &c) == nil && c.Hook != "" {
				base[chainKey{c.Family, c.Table, c.Name}] = true
			}
		case item["set"] != nil:
			var s struct {
				Family, Table, Name string
				Elem                []json.RawMessage `json:"elem"`
			}
			if err := json.Unmarshal(item["set"], &s); err != nil {
				continue
			}
			tool, jail, ok := setTool(s.Table, s.Name)
			if !ok {
				continue
			}
			o := &Object{Tool: tool, Jail: jail, Backend: BackendNFT, Kind: KindSet,
				Table: s.Family + " " + s.Table, Name: s.Name}
			for _, raw := range s.Elem {
				if e, ok := nftElem(raw); ok {
					o.Entries = append(o.Entries, e)
				}
			}
			sets[chainKey{s.Family, s.Table, s.Name}] = o
			objs = append(objs, o)
		case item["rule"] != nil:
			var r struct {
				Family, Table, Chain string
			}
			if json.Unmarshal(item["rule"], &r) == nil {
				rules = append(rules, ruleRef{chainKey{r.Family, r.Table, r.Chain}, item["rule"],
					fmt.Sprintf("table %s %s chain %s", r.Family, r.Table, r.Chain)})
			}
		}
	}
	for _, r := range rules {
		if !base[r.key] {
			continue
		}
		for k, o := range sets {
			if k.family != r.key.family || k.table != r.key.table {
				continue
			}
			if bytes.Contains(r.raw, []byte(`"@`+k.name+`"`)) {
				o.Hooked = true
				o.HookedBy = append(o.HookedBy, r.text)
			}
		}
	}
	return objs, nil
}

// nftElem reads one set element: "1.2.3.4", {"prefix": {...}}, {"range":
// [a, b]}, or any of those wrapped in {"elem": {"val": ...}} (elements
// with a timeout).
func nftElem(raw json.RawMessage) (Entry, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return entryOf(s)
	}
	var obj struct {
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
		Range []string `json:"range"`
		Elem  *struct {
			Val json.RawMessage `json:"val"`
		} `json:"elem"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return Entry{}, false
	}
	switch {
	case obj.Prefix != nil:
		return entryOf(fmt.Sprintf("%s/%d", obj.Prefix.Addr, obj.Prefix.Len))
	case len(obj.Range) == 2:
		return entryOf(obj.Range[0] + "-" + obj.Range[1])
	case obj.Elem != nil:
		return nftElem(obj.Elem.Val)
	}
	return Entry{}, false
}
