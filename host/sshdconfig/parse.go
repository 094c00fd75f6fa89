package sshdconfig

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"
)

// DefaultFile is where sshd reads its configuration unless told otherwise.
const DefaultFile = "/etc/ssh/sshd_config"

// sshDir is SSHDIR of Debian's and Red Hat's builds: relative Include paths
// resolve against it, whatever directory the including file is in.
const sshDir = "/etc/ssh"

// maxIncludeDepth is SERVCONF_MAX_DEPTH: sshd gives up on deeper nesting,
// which is also how it stops a file that includes itself.
const maxIncludeDepth = 16

// maxFiles bounds how many distinct files one configuration may pull in, so
// that a glob such as "Include /*" cannot make the inspection read a disk.
const maxFiles = 512

// Options says which configuration to read and how.
type Options struct {
	// FS reads the files. Nil means the live system (RootFS{Dir: "/"}).
	FS FS
	// File is the main configuration file as sshd sees it (inside the
	// tree). Empty means /etc/ssh/sshd_config.
	File string
	// Version is the sshd release to judge the configuration for. The
	// zero Version means OpenSSH 9.2; keywords of later releases are then
	// "Bad configuration option", as they are for that sshd.
	Version Version
}

// Config is a parsed sshd configuration: every directive of every file, in
// the order sshd reads them, and every problem sshd would complain about.
type Config struct {
	// File is the main configuration file.
	File string
	// Version is the sshd release the configuration was judged for.
	Version Version
	// Files lists every file read, in the order sshd first reads them.
	Files []string
	// Directives holds every directive in sshd's reading order, Include
	// expanded in place. A file included twice appears twice. Match and
	// Include lines are directives too.
	Directives []Directive
	// Problems holds every error and warning, in reading order. sshd stops
	// at the first fatal one; Problem.Reported says which ones `sshd -t`
	// would print.
	Problems []Problem

	fsys FS
	main *file
	// startup holds the options of pass 1 (see walk.go).
	startup options
	// passwd maps user names to home directories, read on first use.
	passwd map[string]string

	files map[string]*file
	globs map[string]globResult
}

// Directive is one configuration line as sshd reads it.
type Directive struct {
	// Keyword is the keyword in its canonical spelling ("PermitRootLogin"
	// for "permitrootlogin"); for an unknown keyword, as written.
	Keyword string
	// Written is the keyword exactly as written.
	Written string
	// Option is the canonical name of the option the keyword sets; it
	// differs from Keyword for aliases (ChallengeResponseAuthentication sets
	// KbdInteractiveAuthentication). Empty for an unknown keyword.
	Option string
	// Args are the arguments after sshd's quoting rules; nil when none.
	Args []string
	// RawArgs is the text after the keyword as written (quotes, comment
	// and all); ForceCommand and AuthorizedKeysCommand take it whole.
	RawArgs string
	// Text is the line as written, without surrounding blanks.
	Text string
	// File and Line locate the directive; Line counts from 1.
	File string
	Line int
	// Match is the Match block the directive is in, nil at global level.
	// For a file included from inside a Match block, it is that block.
	Match *MatchBlock
	// Known is false for a keyword sshd does not know.
	Known bool

	kw *keyword
}

// Location returns "file:line".
func (d *Directive) Location() string { return fmt.Sprintf("%s:%d", d.File, d.Line) }

// MatchBlock is a Match line and the criteria it holds.
type MatchBlock struct {
	// File and Line locate the Match line.
	File string
	Line int
	// Text is the line as written.
	Text string
	// All is true for "Match All".
	All bool
	// Criteria are the criteria, all of which must hold (AND). Empty for
	// Match All or for a line that does not parse.
	Criteria []Criterion
}

// Criterion is one criterion of a Match line, such as "User alice,bob".
type Criterion struct {
	// Attr is the criterion in canonical spelling: User, Group, Host,
	// Address, LocalAddress, LocalPort or RDomain.
	Attr string
	// Patterns is the pattern list as written ("10.0.0.0/8,!10.1.2.3").
	Patterns string
}

// Problem is something sshd complains about in the configuration.
type Problem struct {
	// File and Line locate the problem; Line is 0 for a problem of a whole
	// file or of the configuration as a whole.
	File string
	Line int
	// Keyword is the keyword of the line, as written; empty when none.
	Keyword string
	// Text is the offending line as written; empty when none.
	Text string
	// Message is what sshd prints for it, with sshd's location prefix.
	Message string
	// Reason is the message without the location.
	Reason string
	// Suggestion is the keyword that was probably meant, for an unknown
	// keyword that is a typo of a known one. Empty when none is close.
	Suggestion string
	// Hint explains what sshd does not say (the keyword exists, but only
	// in a later release). Empty when there is nothing to add.
	Hint string
	// Warning is true for what sshd logs and then ignores (a deprecated or
	// unsupported keyword); false means sshd refuses the configuration.
	Warning bool
	// Fatal is true when sshd stops reading at this problem.
	Fatal bool
	// Reported is true when `sshd -t` prints this problem: sshd stops at
	// the first fatal problem, or at the end of the first file holding an
	// error, so it never mentions the ones after.
	Reported bool
}

// Location returns "file:line", or the file alone when Line is 0.
func (p Problem) Location() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Errors returns the problems that make sshd refuse the configuration.
func (c *Config) Errors() []Problem {
	var out []Problem
	for _, p := range c.Problems {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Valid reports whether sshd would accept the configuration.
func (c *Config) Valid() bool { return len(c.Errors()) == 0 }

// file is one parsed file; its lines are parsed once, and the walks that
// follow interpret them in context (global, inside a Match block).
type file struct {
	path  string
	lines []*line
	// err is set when the file could not be read (the walk reports it).
	err error
}

// line is one non-blank, non-comment line of a file.
type line struct {
	num     int
	text    string
	keyword string // as written
	kw      *keyword
	rest    string
	args    []string
	// pre is a problem that makes sshd skip the line before it looks at
	// where the line is: no argument, or unbalanced quotes.
	pre *lineProblem
	// unknown is the "Bad configuration option" of an unknown keyword.
	unknown *lineProblem
	// quotesBad is true when the arguments of an unknown keyword do not
	// split either; sshd then gives up on the line before its Match check.
	quotesBad bool
	// value is the problem with the arguments of a known keyword.
	value *lineProblem
	// match is the parsed Match line; nil for other keywords.
	match *MatchBlock
	// matchErr is the sshd error of a Match line that does not parse.
	matchErr *lineProblem
	// includes are the files an Include line names, in glob order, one
	// entry per pattern.
	includes []includeRef
}

type includeRef struct {
	pattern string
	files   []*file
	err     error // glob failure
}

type globResult struct {
	names []string
	err   error
}

// messageStyle is how sshd puts the location in front of a message; it
// varies by message, and tools that grep sshd's output depend on it.
type messageStyle int

const (
	styleLine   messageStyle = iota // "FILE line N: msg"
	styleColon                      // "FILE: line N: msg" (Bad configuration option)
	stylePlain                      // msg (carries its own location)
	styleAtLine                     // "msg at line N" (Match address errors)
)

type lineProblem struct {
	reason     string
	style      messageStyle
	fatal      bool
	warning    bool
	suggestion string
	hint       string
}

func (lp *lineProblem) message(file string, num int) string {
	switch lp.style {
	case styleColon:
		return fmt.Sprintf("%s: line %d: %s", file, num, lp.reason)
	case stylePlain:
		return lp.reason
	case styleAtLine:
		return fmt.Sprintf("%s at line %d", lp.reason, num)
	}
	return fmt.Sprintf("%s line %d: %s", file, num, lp.reason)
}

// Load reads the configuration the way sshd does at startup and returns it
// with every problem found. The error is for failures of the inspection
// itself (a file this process may not read); a missing or broken
// configuration is a Problem, since sshd would fail on it too.
func Load(opts Options) (*Config, error) {
	fsys := opts.FS
	if fsys == nil {
		fsys = RootFS{}
	}
	name := opts.File
	if name == "" {
		name = DefaultFile
	}
	c := &Config{
		File:    name,
		Version: opts.Version.orDefault(),
		fsys:    fsys,
		files:   map[string]*file{},
		globs:   map[string]globResult{},
	}
	c.main = c.load(name)
	if c.main.err != nil && !readFailureIsServers(c.main.err) {
		return nil, fmt.Errorf("sshdconfig: read %s: %w", name, c.main.err)
	}
	for _, f := range c.files {
		if f.err != nil && !readFailureIsServers(f.err) {
			return nil, fmt.Errorf("sshdconfig: read %s: %w", f.path, f.err)
		}
	}
	c.check()
	return c, nil
}

// Parse parses one configuration held in memory, named name. Include lines
// find no files. It serves tests and tools that have the text only.
func Parse(name string, data []byte) *Config {
	c, err := Load(Options{FS: MapFS{name: string(data)}, File: name})
	if err != nil {
		// MapFS fails only with "not exist", which Load turns into a
		// Problem; anything else is a bug.
		panic(err)
	}
	return c
}

// readFailureIsServers tells apart a file sshd would fail on just the same
// (missing, a dangling link, not a directory) from one this process cannot
// read (permissions when not root), which says nothing about the server.
func readFailureIsServers(err error) bool {
	return isNotExist(err) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		errors.Is(err, errTooLarge) || errors.Is(err, errNUL)
}

var (
	errTooLarge = errors.New("too large for a configuration file")
	errNUL      = errors.New("contains a NUL byte")
	errTooMany  = errors.New("too many files included")
)

// load reads and parses a file once; later includes of the same file share
// the result, as sshd's include cache does.
func (c *Config) load(name string) *file {
	if f, ok := c.files[name]; ok {
		return f
	}
	f := &file{path: name}
	c.files[name] = f
	if len(c.files) > maxFiles {
		f.err = errTooMany
		return f
	}
	data, err := c.fsys.ReadFile(name)
	switch {
	case err != nil:
		f.err = err
		return f
	case len(data) > maxFileSize:
		f.err = errTooLarge
		return f
	case bytes.IndexByte(data, 0) >= 0:
		// sshd keeps the file in a C string; an embedded NUL makes
		// sshbuf_dup_string fail and sshd exit.
		f.err = errNUL
		return f
	}
	for i, raw := range strings.Split(string(data), "\n") {
		if l := c.parseLine(name, i+1, raw); l != nil {
			f.lines = append(f.lines, l)
		}
	}
	return f
}

// parseLine parses one line; nil for blank lines and comments.
func (c *Config) parseLine(name string, num int, raw string) *line {
	text := cleanLine(raw)
	word, rest, hasArgs, ok := splitKeyword(text)
	if !ok {
		return nil
	}
	l := &line{num: num, text: strings.TrimSpace(text), keyword: word, rest: rest}
	l.kw = lookupKeyword(word, c.Version)
	if !hasArgs {
		l.pre = &lineProblem{reason: fmt.Sprintf("no argument after keyword %q", word)}
		return l
	}
	args, argsOK := splitArgs(rest)
	if l.kw == nil {
		lp := &lineProblem{reason: "Bad configuration option: " + word, style: styleColon}
		if k := newerKeyword(word, c.Version); k != nil {
			lp.hint = fmt.Sprintf("%s is a keyword of OpenSSH %s and later; this sshd is %s", k.name, k.since, c.Version)
		} else {
			lp.suggestion = Suggest(word, c.Version)
		}
		l.unknown = lp
		l.quotesBad = !argsOK
		l.args = args
		return l
	}
	if !argsOK {
		l.pre = &lineProblem{reason: "invalid quotes"}
		return l
	}
	l.args = args
	switch l.kw.kind {
	case kMatch:
		l.match, l.matchErr = parseMatch(rest)
		if l.match != nil {
			l.match.File, l.match.Line, l.match.Text = name, num, l.text
		}
	case kInclude:
		l.value = validate(l.kw, word, args, rest)
		if l.value == nil {
			for _, a := range args {
				l.includes = append(l.includes, c.resolveInclude(a))
			}
		}
	default:
		l.value = validate(l.kw, word, args, rest)
	}
	return l
}

// resolveInclude expands one Include argument: relative paths are relative
// to /etc/ssh (not to the including file), and the glob's matches are read
// in sorted order.
func (c *Config) resolveInclude(arg string) includeRef {
	pattern := arg
	if !strings.HasPrefix(arg, "/") && !strings.HasPrefix(arg, "~") {
		pattern = sshDir + "/" + arg
	}
	ref := includeRef{pattern: pattern}
	if !strings.HasPrefix(pattern, "/") {
		// glob(3) without GLOB_TILDE takes "~/x" literally, relative to
		// sshd's working directory ("/" for the daemon); nothing matches
		// in practice, and sshd says nothing about it.
		return ref
	}
	g, ok := c.globs[pattern]
	if !ok {
		names, err := c.fsys.Glob(pattern)
		g = globResult{names: names, err: err}
		c.globs[pattern] = g
	}
	if g.err != nil {
		ref.err = g.err
		return ref
	}
	for _, n := range g.names {
		ref.files = append(ref.files, c.load(path.Clean(n)))
	}
	return ref
}

// DropIns returns the directory of drop-in files the main configuration
// includes at global level (an Include with a wildcard before any Match
// line, as Debian's and Red Hat's "Include /etc/ssh/sshd_config.d/*.conf"),
// with the Include's line. ok is false when there is none: a setting then
// belongs in the main file, above its first Match line (FirstMatchLine).
//
// Since the first value wins, a drop-in only decides an option when it
// sorts before every other file setting it and the Include comes before
// the main file's own line: see Effective.Source for who decides now.
func (c *Config) DropIns() (dir string, line int, ok bool) {
	if c.main == nil {
		return "", 0, false
	}
	for _, l := range c.main.lines {
		if l.kw == nil {
			continue
		}
		switch l.kw.kind {
		case kMatch:
			return "", 0, false
		case kInclude:
			for _, ref := range l.includes {
				if hasMeta(path.Base(ref.pattern)) {
					return path.Dir(ref.pattern), l.num, true
				}
			}
		}
	}
	return "", 0, false
}

// FirstMatchLine returns the line of the main file's first Match block, 0
// when it has none.
func (c *Config) FirstMatchLine() int {
	if c.main == nil {
		return 0
	}
	for _, l := range c.main.lines {
		if l.kw != nil && l.kw.kind == kMatch {
			return l.num
		}
	}
	return 0
}
