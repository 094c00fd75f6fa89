package sshdconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// sshd reads its configuration twice (servconf.c, "The strategy for the
// Match blocks"):
//
//  1. At startup, with no connection: global lines apply, Match blocks are
//     only checked for syntax (except "Match All", which is active), and
//     every error is reported.
//  2. For each connection: global lines are skipped, Match blocks whose
//     criteria hold apply into a fresh set of options, and every option so
//     set then replaces the startup value.
//
// The walker replays both passes over the parsed files, including sshd's
// handling of Include inside and outside Match blocks.

// Include flags of parse_server_config_depth.
const (
	flagNeverMatch = 1 << iota // Match lines never activate (file included from an inactive block)
	flagMatchOnly              // pass 2 before the first Match line: includes may still match
)

// maxVisits bounds the lines one pass may visit. A configuration whose
// includes fan out (each file including the next twice, sixteen deep)
// otherwise makes sshd and us read millions of lines.
const maxVisits = 1 << 20

// storage says how sshd stores repeated values of an option.
type storage int

const (
	storeFirst  storage = iota // the first value wins
	storeAppend                // every line adds values
	storeLast                  // the last value wins
	storeNone                  // nothing kept (deprecated, ignored)
)

func storageOf(k kind) storage {
	switch k {
	case kPort, kListenAddress, kHostKey, kHostCert, kUserPatterns, kGroupPatterns, kAcceptEnv, kSubsystem:
		return storeAppend
	case kMaxStartups, kPerSourceMaxStartups, kPerSourceNetBlockSize, kIPQoS, kOctalMask, kFingerprintHash:
		// These assign without testing whether a value is already set.
		return storeLast
	case kDeprecated, kUnsupported, kIgnore, kMatch, kInclude:
		return storeNone
	}
	// Including the keywords whose first line's arguments all count and
	// later lines none (AuthorizedKeysFile, SetEnv, LogVerbose...).
	return storeFirst
}

// options maps an option's canonical name to the directives that set it, in
// order (one for first- or last-wins options).
type options map[string][]*Directive

func (o options) store(d *Directive) {
	switch storageOf(d.kw.kind) {
	case storeFirst:
		if len(o[d.kw.option]) == 0 {
			o[d.kw.option] = []*Directive{d}
		}
	case storeAppend:
		o[d.kw.option] = append(o[d.kw.option], d)
	case storeLast:
		o[d.kw.option] = []*Directive{d}
	}
}

type walker struct {
	c      *Config
	pass1  bool
	conn   *Conn // pass 2 only
	opts   options
	visits int
	// stack holds the files being walked, to stop include loops without
	// walking them sixteen times over.
	stack map[*file]bool
	// subsystems holds the Subsystem names defined so far (pass 1).
	subsystems map[string]bool
	// stopped is set once sshd would have exited: later problems are not
	// Reported.
	stopped bool
	// aborted stops the walk for good (budget exhausted).
	aborted bool
	seen    map[string]bool
}

// check runs pass 1 over the parsed files: it fills Directives and
// Problems, and keeps the startup options for Effective.
func (c *Config) check() {
	w := &walker{c: c, pass1: true, opts: options{}, stack: map[*file]bool{},
		subsystems: map[string]bool{}, seen: map[string]bool{}}
	active := true
	w.walkFile(c.main, 0, &active, 0, nil, nil)
	c.startup = w.opts
	c.checkWhole()
}

// walkMatch runs pass 2 for a connection and returns the options its Match
// blocks set.
func (c *Config) walkMatch(conn *Conn) options {
	w := &walker{c: c, conn: conn, opts: options{}, stack: map[*file]bool{}}
	active := false
	w.walkFile(c.main, flagMatchOnly, &active, 0, nil, nil)
	return w.opts
}

// problem records a problem of pass 1, once per file, line and message.
func (w *walker) problem(lp *lineProblem, fileName string, l *line) {
	if !w.pass1 {
		return
	}
	p := Problem{File: fileName, Reason: lp.reason, Suggestion: lp.suggestion, Hint: lp.hint,
		Warning: lp.warning, Fatal: lp.fatal}
	if l != nil {
		p.Line, p.Keyword, p.Text = l.num, l.keyword, l.text
	}
	p.Message = lp.message(fileName, p.Line)
	key := fmt.Sprintf("%s\x00%d\x00%s", p.File, p.Line, p.Message)
	if !w.seen[key] {
		w.seen[key] = true
		p.Reported = !w.stopped
		w.c.Problems = append(w.c.Problems, p)
	}
	if lp.fatal {
		w.stopped = true
	}
}

// walkFile walks one file. inherited is the Match block the file was
// included from (nil at global level); from is the Include line, for
// locating read errors.
func (w *walker) walkFile(f *file, flags int, active *bool, depth int, inherited *MatchBlock, from *includeSite) {
	if f.err != nil {
		w.readError(f, from)
		return
	}
	if w.pass1 {
		w.c.noteFile(f.path)
	}
	w.stack[f] = true
	defer delete(w.stack, f)
	bad := 0
	cur := inherited
	for _, l := range f.lines {
		if w.aborted {
			return
		}
		w.visits++
		if w.visits > maxVisits {
			w.aborted = true
			w.problem(&lineProblem{reason: "the configuration is too large to evaluate: its Include lines fan out to over a million lines", fatal: true}, f.path, l)
			return
		}
		d := &Directive{Keyword: l.keyword, Written: l.keyword, Args: l.args, Text: l.text,
			File: f.path, Line: l.num, Match: cur, RawArgs: l.rest, kw: l.kw}
		if l.kw != nil {
			d.Keyword, d.Option, d.Known = l.kw.name, l.kw.option, true
		}
		if l.match != nil {
			d.Match = l.match
		}
		if w.pass1 {
			w.c.Directives = append(w.c.Directives, *d)
		}
		if l.pre != nil {
			w.problem(l.pre, f.path, l)
			bad++
			continue
		}
		if l.unknown != nil {
			lp := *l.unknown
			if !*active && !l.quotesBad {
				// An unknown keyword has no Match flag, so in an
				// inactive block sshd also dies with "Directive ... is
				// not allowed within a Match block".
				lp.fatal = true
			}
			w.problem(&lp, f.path, l)
			bad++
			continue
		}
		if !*active && !l.kw.match {
			if w.pass1 {
				w.problem(&lineProblem{reason: fmt.Sprintf("Directive '%s' is not allowed within a Match block", l.keyword), fatal: true}, f.path, l)
			}
			continue
		}
		switch l.kw.kind {
		case kInclude:
			if l.value != nil {
				w.problem(l.value, f.path, l)
				if !l.value.fatal {
					bad++
				}
				continue
			}
			w.include(f, l, flags, active, depth, cur)
		case kMatch:
			blk := l.match
			if l.matchErr != nil {
				w.problem(l.matchErr, f.path, l)
				*active = false
			} else if flags&flagNeverMatch != 0 {
				*active = false
			} else {
				*active = blk.matches(w.conn)
			}
			flags &^= flagMatchOnly
			cur = blk
		default:
			if l.value != nil {
				w.problem(l.value, f.path, l)
				if !l.value.fatal && !l.value.warning {
					bad++
				}
				continue
			}
			if !*active {
				continue
			}
			if l.kw.kind == kSubsystem && w.pass1 {
				if w.subsystems[l.args[0]] {
					w.problem(&lineProblem{reason: fmt.Sprintf("Subsystem '%s' already defined.", l.args[0]), fatal: true}, f.path, l)
					continue
				}
				w.subsystems[l.args[0]] = true
			}
			w.opts.store(d)
		}
	}
	if bad > 0 && w.pass1 {
		// sshd: "FILE: terminating, N bad configuration options".
		w.stopped = true
	}
}

// includeSite is where a file was included from.
type includeSite struct {
	file string
	line *line
}

func (w *walker) include(f *file, l *line, flags int, active *bool, depth int, cur *MatchBlock) {
	oactive := *active
	childFlags := flagNeverMatch
	switch {
	case flags&flagMatchOnly != 0:
		childFlags = flagMatchOnly
	case oactive:
		childFlags = 0
	}
	for _, ref := range l.includes {
		if ref.err != nil {
			w.problem(&lineProblem{reason: fmt.Sprintf("include %q glob failed", ref.pattern), fatal: true}, f.path, l)
			continue
		}
		for _, child := range ref.files {
			if depth+1 > maxIncludeDepth || w.stack[child] {
				// sshd recurses until the depth limit and then exits; a
				// loop always gets there, so stop at once.
				w.problem(&lineProblem{reason: "Too many recursive configuration includes", style: stylePlain, fatal: true,
					hint: fmt.Sprintf("%s includes %s, which leads back to it or nests deeper than %d levels", f.path, child.path, maxIncludeDepth)}, f.path, l)
				continue
			}
			w.walkFile(child, childFlags, active, depth+1, cur, &includeSite{file: f.path, line: l})
			*active = oactive
			if w.aborted {
				return
			}
		}
	}
}

func (w *walker) readError(f *file, from *includeSite) {
	reason := f.err.Error()
	var errno syscall.Errno
	switch {
	case errors.As(f.err, &errno):
		// As perror(3) prints it: "No such file or directory".
		reason = errno.Error()
		reason = strings.ToUpper(reason[:1]) + reason[1:]
	case isNotExist(f.err):
		reason = "No such file or directory"
	case errors.Is(f.err, errNUL):
		reason = "the file contains a NUL byte, which sshd cannot read (sshbuf_dup_string failed)"
	case errors.Is(f.err, errTooLarge):
		reason = "the file is too large to be a configuration file"
	case errors.Is(f.err, errTooMany):
		reason = fmt.Sprintf("more than %d files are included; not reading further", maxFiles)
	}
	lp := &lineProblem{reason: f.path + ": " + reason, style: stylePlain, fatal: true}
	if from != nil {
		lp.hint = fmt.Sprintf("included from %s line %d", from.file, from.line.num)
		w.problem(lp, f.path, nil)
		return
	}
	w.problem(lp, f.path, nil)
}

// noteFile records the files read, in first-read order.
func (c *Config) noteFile(name string) {
	for _, f := range c.Files {
		if f == name {
			return
		}
	}
	c.Files = append(c.Files, name)
}

// checkWhole adds the checks sshd makes on the startup configuration as a
// whole, after filling in defaults: each is fatal.
func (c *Config) checkWhole() {
	stopped := false
	for _, p := range c.Problems {
		if !p.Warning {
			stopped = true
		}
	}
	s := c.Startup()
	// process_queued_listen_addrs: each ListenAddress goes through
	// getaddrinfo with the AddressFamily as hint, and a literal address of
	// the other family is fatal. Host names are not resolved here.
	fam := s.AddressFamily()
	for _, la := range s.ListenAddresses() {
		a, err := netip.ParseAddr(la.Host)
		if err != nil || fam == "any" || (fam == "inet") == a.Is4() {
			continue
		}
		d := la.Source
		reason := fmt.Sprintf("bad addr or host: %s (Address family for hostname not supported)", la.Host)
		c.Problems = append(c.Problems, Problem{File: d.File, Line: d.Line, Keyword: d.Written, Text: d.Text,
			Message: reason, Reason: reason, Fatal: true, Reported: !stopped,
			Hint: fmt.Sprintf("AddressFamily %s rules out %s", fam, la.Host)})
		stopped = true
	}
	for _, pair := range [][2]string{
		{"AuthorizedKeysCommand", "AuthorizedKeysCommandUser"},
		{"AuthorizedPrincipalsCommand", "AuthorizedPrincipalsCommandUser"},
	} {
		d := s.Source(pair[0])
		if d == nil || s.Source(pair[1]) != nil || strings.EqualFold(strings.TrimSpace(d.RawArgs), "none") {
			continue
		}
		reason := fmt.Sprintf("%s set without %s", pair[0], pair[1])
		c.Problems = append(c.Problems, Problem{File: d.File, Line: d.Line, Keyword: d.Written, Text: d.Text,
			Message: reason, Reason: reason, Fatal: true, Reported: !stopped,
			Hint: fmt.Sprintf("add \"%s nobody\" (or another unprivileged user that may run the command)", pair[1])})
		stopped = true
	}
}
