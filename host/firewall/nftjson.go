package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseNFTJSON reads the output of `nft -j list ruleset` (JSON schema
// version 1, nftables 0.9.3 and later). Everything is kept, but only the
// parts the evaluator understands are turned into matches; the rest
// becomes Unknown, so that a rule using it is reported as not understood
// instead of being guessed at.
func ParseNFTJSON(data []byte) (*Ruleset, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc struct {
		Nftables []map[string]any `json:"nftables"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("firewall: nft json: %w", err)
	}
	if doc.Nftables == nil {
		return nil, errors.New("firewall: nft json: no \"nftables\" array")
	}
	rs := &Ruleset{Backend: BackendNFT}
	tables := map[string]*Table{}
	tableOf := func(o map[string]any) *Table {
		return tables[str(o["family"])+" "+str(o["table"])]
	}
	// Tables, sets and chains first: rules refer to them, and nothing
	// guarantees they come before the rules in the array.
	for _, item := range doc.Nftables {
		for kind, v := range item {
			o, _ := v.(map[string]any)
			if o == nil {
				continue
			}
			switch kind {
			case "table":
				t := &Table{Ruleset: rs, Family: str(o["family"]), Name: str(o["name"]), Handle: num(o["handle"]),
					Sets: map[string]*Set{}}
				if _, dup := tables[t.ID()]; !dup {
					tables[t.ID()] = t
					rs.Tables = append(rs.Tables, t)
				}
			}
		}
	}
	for _, item := range doc.Nftables {
		for kind, v := range item {
			o, _ := v.(map[string]any)
			if o == nil {
				continue
			}
			switch kind {
			case "set", "map":
				t := tableOf(o)
				if t == nil {
					continue
				}
				s := parseNFTSet(t, o, kind == "map")
				t.Sets[s.Name] = s
			case "chain":
				t := tableOf(o)
				if t == nil {
					continue
				}
				c := &Chain{Name: str(o["name"]), Handle: num(o["handle"]), Type: str(o["type"]),
					Hook: str(o["hook"]), Priority: num(o["prio"])}
				if c.Hook != "" {
					c.Policy = VerdictKind(str(o["policy"]))
					if c.Policy == "" {
						c.Policy = VerdictAccept
					}
				}
				switch d := o["dev"].(type) {
				case string:
					c.Devices = []string{d}
				case []any:
					for _, x := range d {
						c.Devices = append(c.Devices, str(x))
					}
				}
				if t.chain(c.Name) == nil {
					t.addChain(c)
				}
			}
		}
	}
	setRefs := map[*Rule][]string{}
	for _, item := range doc.Nftables {
		o, _ := item["rule"].(map[string]any)
		if o == nil {
			continue
		}
		t := tableOf(o)
		if t == nil {
			continue
		}
		c := t.chain(str(o["chain"]))
		if c == nil {
			continue
		}
		exprs, _ := o["expr"].([]any)
		p := &nftRuleParser{t: t}
		r := &Rule{Chain: c, Handle: num(o["handle"]), Position: len(c.Rules) + 1, Comment: str(o["comment"])}
		r.Exprs = p.rule(exprs)
		r.Text = renderNFTRule(exprs, r.Comment)
		r.sets = p.sets
		setRefs[r] = p.sets
		c.Rules = append(c.Rules, r)
	}
	markManaged(rs, setRefs)
	return rs, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func num(v any) int {
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		if err == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			return int(i)
		}
	}
	return 0
}

func parseNFTSet(t *Table, o map[string]any, isMap bool) *Set {
	s := &Set{Name: str(o["name"]), Supported: true}
	s.Managed = setManager(t.Name, s.Name)
	if tm := tableManager(t.Name); tm != nil && s.Managed == nil {
		s.Managed = tm
	}
	var field Field
	switch ty := o["type"].(type) {
	case string:
		s.Type = ty
		switch ty {
		case "ipv4_addr", "ipv6_addr":
			field = FieldSaddr // any address field: values are addresses
		case "inet_service":
			field = FieldDport
		case "inet_proto":
			field = FieldL4Proto
		case "ifname":
			field = FieldIifname
		default:
			s.Supported, s.Why = false, "set of type "+ty
		}
	case []any:
		var parts []string
		for _, x := range ty {
			parts = append(parts, str(x))
		}
		s.Type = strings.Join(parts, " . ")
		s.Supported, s.Why = false, "set of concatenated type "+s.Type
	default:
		s.Supported, s.Why = false, "set without a type"
	}
	if isMap {
		if str(o["map"]) == "verdict" {
			s.Verdicts = true
		} else {
			s.Supported, s.Why = false, "a data map ("+s.Type+" : "+str(o["map"])+")"
		}
	}
	if !s.Supported {
		return s
	}
	elems, _ := o["elem"].([]any)
	for _, e := range elems {
		var el SetElem
		key := e
		if s.Verdicts {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				s.Supported, s.Why = false, "a verdict map element that is not key : verdict"
				return s
			}
			key = pair[0]
			v, ok := nftVerdict(pair[1])
			if !ok {
				s.Supported, s.Why = false, "a verdict map element with an unknown verdict"
				return s
			}
			el.Verdict = &v
		}
		val, ok := nftValue(field, key)
		if !ok {
			s.Supported, s.Why = false, "an element that is not understood: "+compactJSON(key)
			return s
		}
		el.Val = val
		s.Elems = append(s.Elems, el)
	}
	return s
}

// nftVerdict reads a verdict object: {"accept": null}, {"jump": {"target": "x"}}.
func nftVerdict(v any) (Verdict, bool) {
	o, ok := v.(map[string]any)
	if !ok || len(o) != 1 {
		return Verdict{}, false
	}
	for k, x := range o {
		switch k {
		case "accept", "drop", "return", "continue":
			return Verdict{Kind: VerdictKind(k)}, true
		case "jump", "goto":
			t, _ := x.(map[string]any)
			if t == nil || str(t["target"]) == "" {
				return Verdict{}, false
			}
			return Verdict{Kind: VerdictKind(k), Target: str(t["target"])}, true
		}
	}
	return Verdict{}, false
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
