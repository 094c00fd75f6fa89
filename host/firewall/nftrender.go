package firewall

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// renderNFTRule writes a rule's JSON expressions back in the syntax an admin
// types after `nft add rule FAMILY TABLE CHAIN`, the way `nft list ruleset`
// shows it, less counters' values.
func renderNFTRule(exprs []any, comment string) string {
	var parts []string
	for _, e := range exprs {
		o, ok := e.(map[string]any)
		if !ok {
			parts = append(parts, compactJSON(e))
			continue
		}
		if s := renderNFTStmt(o); s != "" {
			parts = append(parts, s)
		}
	}
	if comment != "" {
		parts = append(parts, "comment "+strconv.Quote(comment))
	}
	return strings.Join(parts, " ")
}

// renderNFTStmt renders one statement object ({"match": ...}, {"accept": null}...).
func renderNFTStmt(o map[string]any) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, renderStmt(k, o[k]))
	}
	return strings.Join(parts, " ")
}

func renderStmt(k string, v any) string {
	o := asObj(v)
	switch k {
	case "match":
		left := o["left"]
		q := quoteFor(left)
		op := str(o["op"])
		l := renderExpr(left, false)
		r := renderExpr(o["right"], q)
		if f, ok := asObj(left)["fib"]; ok && str(asObj(f)["result"]) != "type" {
			if b, ok := o["right"].(bool); ok {
				r = "missing"
				if b {
					r = "exists"
				}
			}
		}
		switch op {
		case "==", "in", "":
			if _, isAnd := asObj(left)["&"]; isAnd && op == "==" {
				return l + " == " + r
			}
			return l + " " + r
		}
		return l + " " + op + " " + r
	case "accept", "drop", "return", "continue", "notrack":
		return k
	case "jump", "goto":
		return k + " " + str(o["target"])
	case "counter":
		return "counter"
	case "log":
		s := "log"
		if p, ok := o["prefix"]; ok {
			s += " prefix " + strconv.Quote(str(p))
		}
		if l, ok := o["level"]; ok {
			s += " level " + str(l)
		}
		if g, ok := o["group"]; ok {
			s += " group " + str(g)
		}
		return s
	case "limit":
		s := "limit rate "
		if o["inv"] == true {
			s += "over "
		}
		s += str(o["rate"])
		if u := str(o["rate_unit"]); u != "" && u != "packets" {
			s += " " + u
		}
		s += "/" + str(o["per"])
		if b := str(o["burst"]); b != "" && b != "0" && b != "5" {
			s += " burst " + b
			if u := str(o["burst_unit"]); u != "" {
				s += " " + u
			} else {
				s += " packets"
			}
		}
		return s
	case "ct count":
		s := "ct count "
		if o["inv"] == true {
			s += "over "
		}
		return s + str(o["val"])
	case "quota":
		s := "quota "
		if o["inv"] == true {
			s += "over "
		}
		return s + str(o["val"]) + " " + str(o["val_unit"])
	case "reject":
		if o == nil {
			return "reject"
		}
		ty := str(o["type"])
		if ty == "tcp reset" {
			return "reject with tcp reset"
		}
		if ty == "" {
			return "reject"
		}
		code := str(o["expr"])
		if code == "" {
			code = "port-unreachable"
		}
		return "reject with " + ty + " type " + code
	case "vmap":
		data := o["data"]
		return renderExpr(o["key"], quoteFor(o["key"])) + " vmap " + renderMapData(data, quoteFor(o["key"]))
	case "mangle":
		return renderExpr(o["key"], false) + " set " + renderExpr(o["value"], false)
	case "set":
		return str(o["op"]) + " " + str(o["set"]) + " { " + renderExpr(o["elem"], false) + " }"
	case "xt":
		return "xt " + str(o["type"]) + " " + str(o["name"])
	case "dnat", "snat":
		s := k
		if a, ok := o["addr"]; ok {
			s += " to " + renderExpr(a, false)
			if p, ok := o["port"]; ok {
				s += ":" + renderExpr(p, false)
			}
		} else if p, ok := o["port"]; ok {
			s += " to :" + renderExpr(p, false)
		}
		return s
	case "redirect", "masquerade":
		if p, ok := o["port"]; ok {
			return k + " to :" + renderExpr(p, false)
		}
		return k
	case "queue":
		return "queue"
	}
	if v == nil {
		return k
	}
	return k + " " + compactJSON(v)
}

// quoteFor says whether string values compared with the expression are
// names to quote (interface names).
func quoteFor(left any) bool {
	m := asObj(asObj(left)["meta"])
	switch str(m["key"]) {
	case "iifname", "oifname", "iif", "oif", "ibrname", "obrname":
		return true
	}
	return false
}

var bareMeta = map[string]bool{"iif": true, "iifname": true, "oif": true, "oifname": true,
	"iiftype": true, "oiftype": true, "skuid": true, "skgid": true, "iifgroup": true, "oifgroup": true}

// renderExpr renders an expression or value.
func renderExpr(v any, quote bool) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if quote && !strings.HasPrefix(x, "@") {
			return strconv.Quote(x)
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderExpr(e, quote)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		if len(x) != 1 {
			return compactJSON(x)
		}
		for k, val := range x {
			o := asObj(val)
			switch k {
			case "payload":
				if p := str(o["protocol"]); p != "" {
					return p + " " + str(o["field"])
				}
				return "@" + str(o["base"]) + "," + str(o["offset"]) + "," + str(o["len"])
			case "meta":
				key := str(o["key"])
				if bareMeta[key] {
					return key
				}
				return "meta " + key
			case "ct":
				s := "ct "
				if d := str(o["dir"]); d != "" {
					s += d + " "
				}
				if f := str(o["family"]); f != "" {
					s += f + " "
				}
				return s + str(o["key"])
			case "fib":
				var fl []string
				for _, f := range asSlice(o["flags"]) {
					fl = append(fl, str(f))
				}
				return "fib " + strings.Join(fl, " . ") + " " + str(o["result"])
			case "prefix":
				return str(o["addr"]) + "/" + str(o["len"])
			case "range":
				r := asSlice(val)
				if len(r) == 2 {
					return renderExpr(r[0], quote) + "-" + renderExpr(r[1], quote)
				}
			case "set":
				items := asSlice(val)
				if items == nil {
					return "{ " + renderExpr(val, quote) + " }"
				}
				parts := make([]string, len(items))
				for i, e := range items {
					parts[i] = renderExpr(e, quote)
				}
				return "{ " + strings.Join(parts, ", ") + " }"
			case "elem":
				return renderExpr(o["val"], quote)
			case "concat":
				items := asSlice(val)
				parts := make([]string, len(items))
				for i, e := range items {
					parts[i] = renderExpr(e, quote)
				}
				return strings.Join(parts, " . ")
			case "&", "|", "^", "<<", ">>":
				items := asSlice(val)
				if len(items) == 2 {
					return renderExpr(items[0], quote) + " " + k + " " + renderMaskOperand(items[1])
				}
			case "accept", "drop", "return", "continue":
				return k
			case "jump", "goto":
				return k + " " + str(o["target"])
			}
			return k + " " + compactJSON(val)
		}
	}
	return compactJSON(v)
}

func renderMaskOperand(v any) string {
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = renderExpr(e, false)
		}
		return "(" + strings.Join(parts, " | ") + ")"
	}
	return renderExpr(v, false)
}

func renderMapData(v any, quote bool) string {
	if s, ok := v.(string); ok {
		return s
	}
	items := asSlice(asObj(v)["set"])
	parts := make([]string, 0, len(items))
	for _, it := range items {
		pair := asSlice(it)
		if len(pair) != 2 {
			parts = append(parts, compactJSON(it))
			continue
		}
		parts = append(parts, renderExpr(pair[0], quote)+" : "+renderExpr(pair[1], false))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
