package sshdconfig

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Effective is the configuration sshd applies to one connection: the
// startup values, replaced by whatever the Match blocks that apply to the
// connection set. Accessors return sshd's defaults for unset options.
type Effective struct {
	// Conn is the connection the configuration was evaluated for.
	Conn Conn
	cfg  *Config
	opts options
}

// copiedOptions are the options a Match block can set: sshd copies exactly
// these from the per-connection pass (copy_set_server_options), and they are
// exactly the options of keywords allowed in Match.
var copiedOptions = func() map[string]bool {
	m := map[string]bool{}
	// keywordIndex fills in the option names; naming it here makes Go
	// initialize it first.
	_ = keywordIndex
	for _, k := range keywordTable {
		if k.match && storageOf(k.kind) != storeNone && k.kind != kAnyArgs {
			m[k.option] = true
		}
	}
	return m
}()

// Effective evaluates the configuration for a connection, as
// `sshd -T -C user=...,addr=...` does. A criterion on a field left empty in
// conn does not match.
func (c *Config) Effective(conn Conn) *Effective {
	merged := options{}
	for k, v := range c.startup {
		merged[k] = v
	}
	for k, v := range c.walkMatch(&conn) {
		if copiedOptions[k] && len(v) > 0 {
			merged[k] = v
		}
	}
	return &Effective{Conn: conn, cfg: c, opts: merged}
}

// Startup is the configuration before any Match block applies: what sshd
// uses for Port, ListenAddress, HostKey and the other global options.
func (c *Config) Startup() *Effective {
	return &Effective{cfg: c, opts: c.startup}
}

// ConnFor builds the Conn of a real connection from addr for user: unlike
// `sshd -T`, a real sshd matches Host against the client's address unless
// UseDNS is yes, in which case the reverse-resolved name is used (which this
// package cannot know; Host stays empty then).
func (c *Config) ConnFor(user string, groups []string, addr, laddr string, lport int) Conn {
	conn := Conn{User: user, Groups: groups, Addr: addr, LocalAddr: laddr, LocalPort: lport}
	if !c.Startup().UseDNS() {
		conn.Host = addr
	}
	return conn
}

// Sources returns the directives that decided an option (canonical name,
// such as "AllowUsers"), in order; nil when sshd uses its default.
func (e *Effective) Sources(option string) []*Directive { return e.opts[option] }

// Source returns the directive that decided a single-valued option, or nil
// for the default.
func (e *Effective) Source(option string) *Directive {
	if ds := e.opts[option]; len(ds) > 0 {
		return ds[0]
	}
	return nil
}

// Args returns the arguments of the directive that decided a single-valued
// option, or nil for the default.
func (e *Effective) Args(option string) []string {
	if d := e.Source(option); d != nil {
		return d.Args
	}
	return nil
}

func (e *Effective) first(option, def string) string {
	if a := e.Args(option); len(a) > 0 {
		return a[0]
	}
	return def
}

func (e *Effective) flag(option string, def bool) bool {
	a := e.Args(option)
	if len(a) == 0 {
		return def
	}
	return strings.EqualFold(a[0], "yes")
}

func (e *Effective) int(option string, def int) int {
	if n, err := strconv.Atoi(strings.TrimPrefix(e.first(option, ""), "+")); err == nil {
		return n
	}
	return def
}

// Ports returns the Port values, 22 when none is set.
func (e *Effective) Ports() []int {
	var out []int
	for _, d := range e.opts["Port"] {
		out = append(out, a2port(d.Args[0]))
	}
	if len(out) == 0 {
		out = []int{22}
	}
	return out
}

// ListenAddress is one ListenAddress directive.
type ListenAddress struct {
	// Host is the address or host name, without brackets.
	Host string
	// Port is the port given with the address; 0 means every Port.
	Port int
	// RDomain is the routing domain; empty means the default.
	RDomain string
	// Source is the directive.
	Source *Directive
}

// ListenAddresses returns the ListenAddress directives; nil means none is
// set and sshd listens on every address of AddressFamily.
func (e *Effective) ListenAddresses() []ListenAddress {
	var out []ListenAddress
	for _, d := range e.opts["ListenAddress"] {
		h, p, _ := splitListen(d.Args[0])
		la := ListenAddress{Host: h, Port: p, Source: d}
		if len(d.Args) >= 3 {
			la.RDomain = d.Args[2]
		}
		out = append(out, la)
	}
	return out
}

// Endpoint is an address and port sshd binds.
type Endpoint struct {
	// Host is an address or a host name that sshd resolves when it starts.
	Host string
	Port int
}

// Endpoints expands ListenAddress and Port into what sshd binds: each
// address with its own port or else every Port; with no ListenAddress, the
// wildcard addresses of AddressFamily ("0.0.0.0" and "::").
func (e *Effective) Endpoints() []Endpoint {
	var out []Endpoint
	las := e.ListenAddresses()
	if len(las) == 0 {
		fam := e.AddressFamily()
		for _, p := range e.Ports() {
			if fam != "inet" {
				out = append(out, Endpoint{"::", p})
			}
			if fam != "inet6" {
				out = append(out, Endpoint{"0.0.0.0", p})
			}
		}
		return out
	}
	for _, la := range las {
		if la.Port != 0 {
			out = append(out, Endpoint{la.Host, la.Port})
			continue
		}
		for _, p := range e.Ports() {
			out = append(out, Endpoint{la.Host, p})
		}
	}
	return out
}

// AddressFamily returns "any", "inet" or "inet6".
func (e *Effective) AddressFamily() string { return strings.ToLower(e.first("AddressFamily", "any")) }

// HostKeys returns the host key files as sshd resolves them: "~" is root's
// home, relative paths are relative to "/" (sshd's working directory as a
// daemon), "none" entries are dropped. With none set, the defaults.
func (e *Effective) HostKeys() []string {
	ds := e.opts["HostKey"]
	if len(ds) == 0 {
		return []string{"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"}
	}
	var out []string
	for _, d := range ds {
		if p := e.cfg.derelativise(d.Args[0]); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// HostKeysConfigured reports whether HostKey is set (false: the defaults,
// which sshd tries quietly; a missing default key is not an error).
func (e *Effective) HostKeysConfigured() bool { return len(e.opts["HostKey"]) > 0 }

// PermitRootLogin returns "prohibit-password" (also for its old name
// without-password, and the default), "forced-commands-only", "yes" or
// "no".
func (e *Effective) PermitRootLogin() string {
	v := strings.ToLower(e.first("PermitRootLogin", "prohibit-password"))
	if v == "without-password" {
		return "prohibit-password"
	}
	return v
}

// PasswordAuthentication is the PasswordAuthentication flag (default yes).
func (e *Effective) PasswordAuthentication() bool { return e.flag("PasswordAuthentication", true) }

// KbdInteractiveAuthentication is the KbdInteractiveAuthentication flag,
// also set by its old name ChallengeResponseAuthentication (default yes).
func (e *Effective) KbdInteractiveAuthentication() bool {
	return e.flag("KbdInteractiveAuthentication", true)
}

// PubkeyAuthentication is the PubkeyAuthentication flag (default yes).
func (e *Effective) PubkeyAuthentication() bool { return e.flag("PubkeyAuthentication", true) }

// UsePAM is the UsePAM flag. sshd's default is no; Debian's and Red Hat's
// shipped configurations set yes.
func (e *Effective) UsePAM() bool { return e.flag("UsePAM", false) }

// StrictModes is the StrictModes flag (default yes).
func (e *Effective) StrictModes() bool { return e.flag("StrictModes", true) }

// UseDNS is the UseDNS flag (default no).
func (e *Effective) UseDNS() bool { return e.flag("UseDNS", false) }

// MaxAuthTries returns MaxAuthTries (default 6).
func (e *Effective) MaxAuthTries() int { return e.int("MaxAuthTries", 6) }

// MaxStartups returns MaxStartups (default 10:30:100).
func (e *Effective) MaxStartups() MaxStartups {
	if a := e.Args("MaxStartups"); len(a) > 0 {
		if m, ok := parseMaxStartups(a[0]); ok {
			return m
		}
	}
	return MaxStartups{10, 30, 100}
}

// String formats m as sshd does ("10:30:100").
func (m MaxStartups) String() string { return fmt.Sprintf("%d:%d:%d", m.Start, m.Rate, m.Full) }

// PerSourcePenalties returns the PerSourcePenalties arguments and true when
// the sshd release has the feature (9.8 and later; its default is on, shown
// as "yes"), or false for older releases such as 9.2, which have no
// penalties at all.
func (e *Effective) PerSourcePenalties() ([]string, bool) {
	if e.cfg.Version.Less(Version{9, 8}) {
		return nil, false
	}
	if a := e.Args("PerSourcePenalties"); len(a) > 0 {
		return a, true
	}
	return []string{"yes"}, true
}

// PidFile returns the PID file; "" when PidFile is none.
func (e *Effective) PidFile() string {
	v := e.first("PidFile", "/run/sshd.pid")
	if strings.EqualFold(v, "none") {
		return ""
	}
	return e.cfg.derelativise(v)
}

// AuthorizedKeysFiles returns the AuthorizedKeysFile patterns as
// configured, tokens unexpanded ("%h/.ssh/authorized_keys"); "~" is already
// expanded, as sshd does when it reads the file. "none" entries are kept:
// sshd skips them.
func (e *Effective) AuthorizedKeysFiles() []string {
	d := e.Source("AuthorizedKeysFile")
	if d == nil {
		return []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	}
	var out []string
	for _, a := range d.Args {
		out = append(out, e.cfg.tildeExpand(a))
	}
	return out
}

// Account is what token expansion needs to know about a user.
type Account struct {
	Name string
	UID  int
	Home string
}

// AuthorizedKeysPaths expands AuthorizedKeysFile for a user: %h is the home
// directory, %u the name, %U the numeric uid, %% a percent sign; a relative
// result is relative to the home directory. "none" entries are skipped. An
// unknown token is an error, as it is for sshd, which then refuses the login.
func (e *Effective) AuthorizedKeysPaths(a Account) ([]string, error) {
	var out []string
	for _, pat := range e.AuthorizedKeysFiles() {
		if strings.EqualFold(pat, "none") {
			continue
		}
		p, err := ExpandTokens(pat, map[byte]string{'h': a.Home, 'u': a.Name, 'U': strconv.Itoa(a.UID)})
		if err != nil {
			return nil, fmt.Errorf("sshdconfig: AuthorizedKeysFile %q: %w", pat, err)
		}
		if !strings.HasPrefix(p, "/") {
			p = strings.TrimSuffix(a.Home, "/") + "/" + p
		}
		out = append(out, p)
	}
	return out, nil
}

// ExpandTokens replaces %x tokens like misc.c's percent_expand: "%%" is a
// percent sign, and a token not in vars, or a trailing "%", is an error.
func ExpandTokens(s string, vars map[byte]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("invalid format: %% at the end")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := vars[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown key %%%c", s[i])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// AuthorizedKeysCommand returns the command line, "" when none.
func (e *Effective) AuthorizedKeysCommand() string {
	d := e.Source("AuthorizedKeysCommand")
	if d == nil {
		return ""
	}
	v := strings.TrimLeft(d.RawArgs, whitespace)
	if strings.EqualFold(v, "none") {
		return ""
	}
	return v
}

// AuthorizedKeysCommandUser returns the user the command runs as, "" when
// unset.
func (e *Effective) AuthorizedKeysCommandUser() string {
	v := e.first("AuthorizedKeysCommandUser", "")
	if strings.EqualFold(v, "none") {
		return ""
	}
	return v
}

// Rule is one pattern of AllowUsers, DenyUsers, AllowGroups or DenyGroups,
// with where it is written.
type Rule struct {
	// Directive is the keyword: "AllowUsers", "DenyUsers", ...
	Directive string
	// Pattern is the pattern ("alice", "bob@10.0.0.0/8", "adm*").
	Pattern string
	// File and Line locate it.
	File string
	Line int
}

func (e *Effective) rules(option string) []Rule {
	var out []Rule
	for _, d := range e.opts[option] {
		for _, a := range d.Args {
			out = append(out, Rule{Directive: option, Pattern: a, File: d.File, Line: d.Line})
		}
	}
	return out
}

// AllowUsers returns the AllowUsers patterns; nil means everyone.
func (e *Effective) AllowUsers() []Rule { return e.rules("AllowUsers") }

// DenyUsers returns the DenyUsers patterns.
func (e *Effective) DenyUsers() []Rule { return e.rules("DenyUsers") }

// AllowGroups returns the AllowGroups patterns; nil means every group.
func (e *Effective) AllowGroups() []Rule { return e.rules("AllowGroups") }

// DenyGroups returns the DenyGroups patterns.
func (e *Effective) DenyGroups() []Rule { return e.rules("DenyGroups") }

// PubkeyAcceptedAlgorithms returns the assembled list of accepted public key
// signature algorithms (modifiers +, -, ^ and patterns applied against
// OpenSSH 9.2's default). Pass it to AlgorithmAccepted.
func (e *Effective) PubkeyAcceptedAlgorithms() []string {
	return AssembleAlgorithms(e.first("PubkeyAcceptedAlgorithms", ""), DefaultKeyAlgorithms, allKeyAlgorithms)
}

// HostKeyAlgorithms returns the assembled HostKeyAlgorithms list.
func (e *Effective) HostKeyAlgorithms() []string {
	return AssembleAlgorithms(e.first("HostKeyAlgorithms", ""), DefaultKeyAlgorithms, allKeyAlgorithms)
}

// derelativise resolves a path like sshd's derelativise_path, with "/" as
// the working directory; "" for none. sshd joins the two with a slash
// whatever the working directory, so "etc/x" becomes "//etc/x": the same
// file, and the string `sshd -T` prints.
func (c *Config) derelativise(p string) string {
	if strings.EqualFold(p, "none") {
		return ""
	}
	p = c.tildeExpand(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + "/" + p
	}
	return p
}

// tildeExpand expands "~" and "~user" with the home directories of the
// inspected system (sshd runs as root, so "~" is root's home).
func (c *Config) tildeExpand(p string) string {
	if !strings.HasPrefix(p, "~") {
		return p
	}
	user, rest, _ := strings.Cut(p[1:], "/")
	if user == "" {
		user = "root"
	}
	home, ok := c.home(user)
	if !ok {
		return p
	}
	rest = strings.TrimLeft(rest, "/")
	return strings.TrimSuffix(home, "/") + "/" + rest
}

// home looks a user's home directory up in the inspected system's
// /etc/passwd.
func (c *Config) home(user string) (string, bool) {
	if c.passwd == nil {
		c.passwd = map[string]string{}
		if data, err := c.fsys.ReadFile("/etc/passwd"); err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				f := strings.Split(l, ":")
				if len(f) >= 6 {
					c.passwd[f[0]] = f[5]
				}
			}
		}
	}
	h, ok := c.passwd[user]
	if !ok && user == "root" {
		return "/root", true
	}
	return path.Clean(h), ok
}
