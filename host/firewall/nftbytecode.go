package firewall

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// nft 1.0.6 lists "meta nfproto ipv4 reject with tcp reset" (and, in a
// netdev table, "meta protocol ip6 ... reject with tcp reset") without the
// family check: its dependency removal takes the check for one the reject
// implies. The kernel keeps it, so an IPv6 SYN is not reset. `nft
// --debug=netlink list ruleset` prints each rule's bytecode, where the
// check shows; hiddenFamilies reads it back for the rules concerned.

// needsBytecode reports whether rs has a rule whose listing may hide a
// family check: a reset in an inet, netdev or bridge table with no match
// of a family of its own.
func needsBytecode(rs *Ruleset) bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if resetWithoutFamily(t, r) {
					return true
				}
			}
		}
	}
	return false
}

func resetWithoutFamily(t *Table, r *Rule) bool {
	switch t.Family {
	case "inet", "netdev", "bridge":
	default:
		return false
	}
	reset := false
	for _, x := range r.Exprs {
		switch x := x.(type) {
		case *Match:
			if x.Family != 0 || x.Field == FieldNFProto {
				return false
			}
		case *Stmt:
			if x.Verdict != nil && x.Verdict.Kind == VerdictReject && x.Verdict.RejectWith == "tcp reset" {
				reset = true
			}
		}
	}
	return reset
}

var bytecodeHeader = regexp.MustCompile(`^(\S+) (\S+) (\S+) (\d+)( \d+)?$`)

// parseNFTBytecode reads `nft --debug=netlink list ruleset` and returns, by
// "family table chain handle", the family (4 or 6) a rule checks with
// "meta nfproto" or "meta protocol" compared for equality.
func parseNFTBytecode(out []byte) map[string]int {
	fams := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	key := ""
	loaded := map[string]string{} // register -> what was loaded into it
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := bytecodeHeader.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "[") {
			key = m[1] + " " + m[2] + " " + m[3] + " " + m[4]
			loaded = map[string]string{}
			continue
		}
		if key == "" || !strings.HasPrefix(line, "[") {
			if line == "" {
				key = ""
			}
			continue
		}
		f := strings.Fields(strings.Trim(line, "[] "))
		switch {
		case len(f) >= 5 && f[0] == "meta" && f[1] == "load" && f[3] == "=>":
			loaded[f[len(f)-1]] = f[2]
		case len(f) == 5 && f[0] == "cmp" && f[1] == "eq" && f[2] == "reg":
			switch loaded[f[3]] + " " + f[4] {
			case "nfproto 0x00000002", "protocol 0x00000008":
				fams[key] = 4
			case "nfproto 0x0000000a", "protocol 0x0000dd86":
				fams[key] = 6
			}
		case len(f) >= 4 && f[len(f)-3] == "=>" && f[len(f)-2] == "reg":
			// Any other load overwrites the register.
			delete(loaded, f[len(f)-1])
		}
	}
	return fams
}

// applyHiddenFamilies gives the rules whose listing hid a family check that
// check back, from parsed bytecode. With fams nil (the bytecode could not
// be read) they get an assumption instead: no hidden check.
func applyHiddenFamilies(rs *Ruleset, fams map[string]int) {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if !resetWithoutFamily(t, r) {
					continue
				}
				if fams == nil {
					r.Exprs = append([]Expr{&Assume{Result: true,
						Why: "nft's listing would hide a family check before \"reject with tcp reset\"; none is assumed"}}, r.Exprs...)
					continue
				}
				fam, ok := fams[fmt.Sprintf("%s %s %s %d", t.Family, t.Name, c.Name, r.Handle)]
				if !ok {
					continue
				}
				nf := uint32(2)
				if fam == 6 {
					nf = 10
				}
				r.Exprs = append([]Expr{&Match{Field: FieldNFProto, Val: Value{Kind: ValNums, Nums: []NumRange{{nf, nf}}}}}, r.Exprs...)
			}
		}
	}
}
