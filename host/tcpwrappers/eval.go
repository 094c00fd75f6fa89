package tcpwrappers

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Query is the connection to evaluate.
type Query struct {
	// Client is the client's address. The zero Addr means any client:
	// address patterns are then uncertain and only the answer that holds
	// for every address is certain.
	Client netip.Addr
	// ClientName is the host name libwrap would find for Client (reverse
	// lookup confirmed by a forward one). Empty means unknown: patterns that
	// need a name (.domain, LOCAL, KNOWN, UNKNOWN, PARANOID, host names)
	// are then uncertain.
	ClientName string
	// Daemon is the process name daemon lists are matched against. Empty
	// means "sshd".
	Daemon string
	// Port is the server port the client connects to, which Debian's
	// libwrap also matches daemon lists against. 0 means unknown: daemon
	// words that are numbers are then uncertain.
	Port int
	// Server is the server address the client connects to, for
	// daemon@host patterns. The zero Addr means unknown.
	Server netip.Addr
}

// Access is the answer for a connection.
type Access string

// The answers.
const (
	Granted   Access = "granted"
	Refused   Access = "refused" // refused, or handed to another program (twist)
	Uncertain Access = "uncertain"
)

// Decision is the evaluation of both files for one query.
type Decision struct {
	// Access is Granted or Refused when the answer is certain; Uncertain
	// when a rule in Maybe could change it.
	Access Access
	// By is the first rule that certainly matches; nil when none does
	// (libwrap then grants).
	By *Match
	// Maybe are the rules before By that may match, in order, each with
	// what would be needed to tell. Empty when every rule was decided.
	Maybe []Match
}

// Match is a rule that matches (or may match) the query.
type Match struct {
	// File and Line say where the rule is (its first physical line).
	File string
	Line int
	// Text is the rule as written (continuations joined).
	Text string
	// Effect is what the rule does when it matches.
	Effect Effect
	// Pattern is the client-list word that matched ("10.0.0.0/8", "ALL");
	// empty for a broken line.
	Pattern string
	// Why explains an effect that is not the file's default (options, a
	// broken line); empty otherwise.
	Why string
	// Needs says what sshdoctor does not know and libwrap would ("the
	// client's host name (reverse DNS)"); empty for a certain match.
	Needs []string
}

// Where returns "file:line".
func (m Match) Where() string { return m.File + ":" + strconv.Itoa(m.Line) }

// Evaluate runs libwrap's hosts_access for q over allow and deny (nil means
// the file does not exist, which libwrap treats as empty). patternFiles
// holds the words of the files that "/path" patterns name: a present key
// with no words is an empty or missing file; an absent key, a file that
// could not be read (its patterns are then uncertain).
func Evaluate(allow, deny *File, patternFiles map[string][]string, q Query) *Decision {
	if q.Daemon == "" {
		q.Daemon = "sshd"
	}
	e := &evaluator{q: q, files: patternFiles}
	d := &Decision{}
	for _, t := range []struct {
		f     *File
		allow bool
	}{{allow, true}, {deny, false}} {
		if t.f == nil {
			continue
		}
		for _, r := range t.f.Rules {
			dm := e.list(r.Daemons, e.daemon)
			if dm.t == no {
				continue
			}
			cm := e.list(r.Clients, e.client)
			m := and(dm.t, cm.t)
			if m == no {
				continue
			}
			eff, why := effectOf(r, t.allow)
			match := Match{File: t.f.Path, Line: r.Line, Text: r.Text, Effect: eff,
				Pattern: cm.hit, Why: why, Needs: uniq(append(dm.needs, cm.needs...))}
			if m == yes {
				match.Needs = nil
				d.By = &match
				return d.finish()
			}
			d.Maybe = append(d.Maybe, match)
		}
		if b := t.f.Broken; b != nil {
			if t.allow {
				// libwrap stops reading hosts.allow here without a
				// match and goes on with hosts.deny.
				continue
			}
			d.By = &Match{File: t.f.Path, Line: b.Line, Text: b.Text, Effect: EffectRefuse,
				Why: b.Why + ": libwrap stops reading " + path.Base(t.f.Path) + " there and refuses every client"}
			return d.finish()
		}
	}
	return d.finish()
}

// finish sets Access from By and Maybe: certain when every rule that may
// match would have the same outcome as the one that decides.
func (d *Decision) finish() *Decision {
	final := EffectGrant
	if d.By != nil {
		final = d.By.Effect
	}
	d.Access = accessOf(final)
	for _, m := range d.Maybe {
		if accessOf(m.Effect) != d.Access {
			d.Access = Uncertain
			break
		}
	}
	return d
}

func accessOf(e Effect) Access {
	if e == EffectGrant {
		return Granted
	}
	return Refused
}

// tri is a three-valued truth: no, maybe, yes (Kleene logic).
type tri int8

const (
	no tri = iota
	maybe
	yes
)

func and(a, b tri) tri { return min(a, b) }
func or(a, b tri) tri  { return max(a, b) }
func not(a tri) tri    { return yes - a }

// result is a match with the word that matched and what is missing to be
// sure.
type result struct {
	t     tri
	hit   string
	needs []string
}

func certain(b bool) result {
	if b {
		return result{t: yes}
	}
	return result{t: no}
}

func unknown(need string) result { return result{t: maybe, needs: []string{need}} }

// What sshdoctor may not know, as Match.Needs says it.
const (
	needName     = "the client's host name (reverse DNS)"
	needAddr     = "the client's address (--from)"
	needPort     = "the server port the client connects to"
	needServer   = "the server address the client connects to"
	needServName = "the server's host name"
	needNIS      = "NIS netgroup membership"
	needIdent    = "the client's user name from its ident (RFC 931) server"
)

type evaluator struct {
	q     Query
	files map[string][]string
	depth int // nesting of /file patterns
}

// list matches a list with EXCEPT as libwrap's list_match does: any word
// before the first EXCEPT matches, and the rest (itself a list) does not.
func (e *evaluator) list(words []string, match func(string) result) result {
	head, tail, hasExcept := words, []string(nil), false
	for i, w := range words {
		if strings.EqualFold(w, "EXCEPT") {
			head, tail, hasExcept = words[:i], words[i+1:], true
			break
		}
	}
	var r result
	for _, w := range head {
		m := match(w)
		switch {
		case m.t == yes:
			r = result{t: yes, hit: w}
		case m.t == maybe:
			if r.t == no {
				r.hit = w
			}
			r.t = or(r.t, maybe)
			r.needs = append(r.needs, m.needs...)
		}
		if r.t == yes {
			r.needs = nil
			break
		}
	}
	if r.t == no || !hasExcept {
		return r
	}
	ex := e.list(tail, match)
	r.t = and(r.t, not(ex.t))
	if ex.t == maybe {
		r.needs = append(r.needs, ex.needs...)
	}
	return r
}

// daemon matches a daemon-list word: the process name, the server port, or
// daemon@host.
func (e *evaluator) daemon(w string) result {
	if len(w) > 1 {
		if d, h, ok := splitAt(w[1:], '@'); ok {
			dm := e.daemon(w[:1] + d)
			hm := e.host(h, e.q.Server, "", needServer, needServName)
			return result{t: and(dm.t, hm.t), needs: append(dm.needs, hm.needs...)}
		}
	}
	if stringMatch(w, e.q.Daemon) {
		return result{t: yes}
	}
	if isDigits(w) {
		if e.q.Port == 0 {
			return unknown(needPort)
		}
		return certain(w == strconv.Itoa(e.q.Port))
	}
	return result{t: no}
}

// client matches a client-list word: a host pattern, or user@host.
func (e *evaluator) client(w string) result {
	if len(w) > 1 {
		if u, h, ok := splitAt(w[1:], '@'); ok {
			hm := e.host(h, e.q.Client, e.q.ClientName, needAddr, needName)
			um := e.user(w[:1] + u)
			return result{t: and(hm.t, um.t), needs: append(hm.needs, um.needs...)}
		}
	}
	return e.host(w, e.q.Client, e.q.ClientName, needAddr, needName)
}

// user matches the user part of user@host. libwrap asks the client's ident
// server, which sshdoctor does not: only ALL is certain.
func (e *evaluator) user(w string) result {
	if strings.EqualFold(w, "ALL") {
		return result{t: yes}
	}
	return unknown(needIdent)
}

// host matches a host pattern against an endpoint's address and name, as
// libwrap's host_match does. needA and needN say what is missing when the
// address or the name is unknown.
func (e *evaluator) host(w string, addr netip.Addr, name, needA, needN string) result {
	addr = addr.Unmap()
	switch {
	case w == "":
		return result{t: no}
	case w[0] == '@':
		return unknown(needNIS)
	case w[0] == '/':
		return e.file(w, addr, name, needA, needN)
	case strings.EqualFold(w, "KNOWN"):
		if !addr.IsValid() {
			return unknown(needA)
		}
		if name == "" {
			return unknown(needN)
		}
		return certain(nameKnown(name))
	case strings.EqualFold(w, "LOCAL"):
		if name == "" {
			return unknown(needN)
		}
		return certain(!strings.Contains(name, ".") && nameKnown(name))
	}
	if net, mask, ok := splitAt(w, '/'); ok {
		if !addr.IsValid() {
			return unknown(needA)
		}
		return certain(maskedMatch(net, mask, addr))
	}
	var r result
	if strings.EqualFold(w, "ALL") {
		return result{t: yes}
	}
	switch {
	case addr.IsValid():
		r = certain(stringMatch(w, addr.String()))
	case strings.Trim(w, "0123456789abcdefABCDEF.:[]*?") == "":
		// Only a word that could be (part of) an address depends on
		// the address; ".example.org" never matches one.
		r = unknown(needA)
	}
	if r.t == yes || !notInAddr(w) || strings.Trim(w, "0123456789./*?:[]") == "" {
		// libwrap compares such words with the name too, but no host
		// name is made of digits, dots and wildcards only.
		return r
	}
	// A word with letters is matched against the host name too.
	if name == "" {
		return result{t: or(r.t, maybe), needs: append(r.needs, needN)}
	}
	return result{t: or(r.t, certainT(stringMatch(w, name))), needs: r.needs}
}

func certainT(b bool) tri {
	if b {
		return yes
	}
	return no
}

// file matches the patterns listed in a file named by a "/path" word.
func (e *evaluator) file(w string, addr netip.Addr, name, needA, needN string) result {
	words, ok := e.files[w]
	if !ok || e.depth >= 4 {
		return unknown("the patterns in " + w)
	}
	e.depth++
	defer func() { e.depth-- }()
	var r result
	for _, p := range words {
		m := e.host(p, addr, name, needA, needN)
		if m.t == yes {
			return result{t: yes}
		}
		if m.t == maybe {
			r.t = maybe
			r.needs = append(r.needs, m.needs...)
		}
	}
	return r
}

// nameKnown reports whether libwrap found a usable name: it uses "unknown"
// when the lookup fails and "paranoid" when the name does not map back to
// the address.
func nameKnown(name string) bool {
	return !strings.EqualFold(name, "unknown") && !strings.EqualFold(name, "paranoid")
}

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// String describes a decision in one line, for logs and test failures.
func (d *Decision) String() string {
	s := string(d.Access)
	if d.By != nil {
		s += fmt.Sprintf(" by %s %q (%s)", d.By.Where(), d.By.Text, d.By.Effect)
	}
	for _, m := range d.Maybe {
		s += fmt.Sprintf("; maybe %s %q needs %s", m.Where(), m.Text, strings.Join(m.Needs, ", "))
	}
	return s
}
