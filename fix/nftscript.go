package fix

import (
	"fmt"
	"slices"
	"strings"
)

// nftStmt is one statement: its words outside braces, and for a table or
// chain header the block it opens.
type nftStmt struct {
	start int
	words []string
	block *nftBlock
}

// nftBlock is the body of a table or chain (or the whole script).
type nftBlock struct {
	stmts []nftStmt
	close int // offset of the closing brace; the script's length at the top
}

type nftParser struct {
	s []byte
	i int
}

func parseNFT(s []byte) (*nftBlock, error) {
	p := &nftParser{s: s}
	return p.block(true)
}

func (p *nftParser) block(top bool) (*nftBlock, error) {
	b := &nftBlock{}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			if !top {
				return nil, fmt.Errorf("the nft script has an unclosed brace")
			}
			b.close = len(p.s)
			return b, nil
		}
		if p.s[p.i] == '}' {
			if top {
				return nil, fmt.Errorf("the nft script has an unexpected } at byte %d", p.i)
			}
			b.close = p.i
			p.i++
			return b, nil
		}
		st, err := p.stmt()
		if err != nil {
			return nil, err
		}
		if len(st.words) > 0 || st.block != nil {
			b.stmts = append(b.stmts, st)
		}
	}
}

// skipSpace skips blanks, statement separators, comments and line
// continuations.
func (p *nftParser) skipSpace() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';':
			p.i++
		case c == '#':
			p.skipComment()
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
		default:
			return
		}
	}
}

func (p *nftParser) skipComment() {
	for p.i < len(p.s) && p.s[p.i] != '\n' {
		p.i++
	}
}

func (p *nftParser) str() string {
	start := p.i + 1
	p.i++
	for p.i < len(p.s) && p.s[p.i] != '"' && p.s[p.i] != '\n' {
		p.i++
	}
	w := string(p.s[start:p.i])
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
	}
	return w
}

func (p *nftParser) stmt() (nftStmt, error) {
	st := nftStmt{start: p.i}
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n' || c == ';' || c == '}':
			return st, nil
		case c == '#':
			p.skipComment()
		case c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n':
			p.i += 2
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '{':
			if st.block == nil && len(st.words) > 0 && (st.words[0] == "table" || st.words[0] == "chain") {
				p.i++
				blk, err := p.block(false)
				if err != nil {
					return st, err
				}
				st.block = blk
				continue
			}
			if err := p.skipBraces(); err != nil {
				return st, err
			}
		case c == '"':
			st.words = append(st.words, p.str())
		default:
			start := p.i
			for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n;{}#\"", rune(p.s[p.i])) &&
				!(p.s[p.i] == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] == '\n') {
				p.i++
			}
			st.words = append(st.words, string(p.s[start:p.i]))
		}
	}
	return st, nil
}

func (p *nftParser) skipBraces() error {
	depth := 0
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '{':
			depth++
			p.i++
		case '}':
			depth--
			p.i++
			if depth == 0 {
				return nil
			}
		case '"':
			p.str()
		case '#':
			p.skipComment()
		default:
			p.i++
		}
	}
	return fmt.Errorf("the nft script has an unclosed brace")
}

var nftFamilies = []string{"ip", "ip6", "inet", "arp", "bridge", "netdev"}

// nftTableName reads "[family] name" (the family is ip when left out).
func nftTableName(w []string) (family, name string) {
	if len(w) >= 2 && slices.Contains(nftFamilies, w[0]) {
		return w[0], w[1]
	}
	if len(w) >= 1 {
		return "ip", w[0]
	}
	return "", ""
}

// chainBlock returns the one block of the script that holds the chain's
// rules; an error when there is none, several, or when commands elsewhere
// in the script add rules to it.
func (b *nftBlock) chainBlock(family, table, chain string) (*nftBlock, error) {
	var found []*nftBlock
	for _, st := range b.stmts {
		w := st.words
		if len(w) >= 4 && w[1] == "rule" && slices.Contains([]string{"add", "insert", "replace", "create", "delete", "destroy"}, w[0]) {
			fam, name := nftTableName(w[2:])
			rest := w[3:]
			if slices.Contains(nftFamilies, w[2]) {
				rest = w[4:]
			}
			if fam == family && name == table && len(rest) > 0 && rest[0] == chain {
				return nil, fmt.Errorf("the script changes chain %s with %q too", chain, strings.Join(w[:2], " "))
			}
		}
		if st.block == nil || len(w) < 2 || w[0] != "table" {
			continue
		}
		if fam, name := nftTableName(w[1:]); fam != family || name != table {
			continue
		}
		for _, cs := range st.block.stmts {
			if len(cs.words) > 0 && cs.words[0] == "include" {
				return nil, fmt.Errorf("table %s %s includes another file", family, table)
			}
			if cs.block != nil && len(cs.words) == 2 && cs.words[0] == "chain" && cs.words[1] == chain {
				found = append(found, cs.block)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("it has no chain %s in table %s %s", chain, family, table)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("chain %s of table %s %s is written in %d blocks", chain, family, table, len(found))
}

// rules returns the chain's rule statements, in order (not its type,
// hook, priority, policy, devices or comment).
func (b *nftBlock) rules() []nftStmt {
	var out []nftStmt
	for _, st := range b.stmts {
		if len(st.words) == 0 || slices.Contains([]string{"type", "policy", "comment", "devices", "device", "priority"}, st.words[0]) {
			continue
		}
		out = append(out, st)
	}
	return out
}
