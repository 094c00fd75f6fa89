package dest

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// NotesKey is the Config key under which Evaluate returns the caveats of
// its evaluation (a Match exec it did not run, a canonicalization that needs
// DNS, an -i file that does not exist). ssh -G never prints such a key.
const NotesKey = "#notes"

// Limits that keep the evaluation bounded on hostile input. The depth is
// OpenSSH's own READCONF_MAX_DEPTH; the others are sshdoctor's, far above
// any real configuration, and exist because Include globs can fan out.
const (
	maxIncludeDepth = 16
	maxConfigFiles  = 512
	maxConfigBytes  = 4 << 20
	maxIdentities   = 100 // SSH_MAX_IDENTITY_FILES
	maxHostsFiles   = 32  // SSH_MAX_HOSTS_FILES
)

// Evaluate computes the effective client configuration for host the way
// `ssh -G` of OpenSSH 9.2 does, without running ssh, for machines where ssh
// is not installed. It reads -F (o.ConfigFile) or ~/.ssh/config and
// /etc/ssh/ssh_config, applies -p, -l, -i, -o and -4/-6 as ssh does, and
// returns the keys sshdoctor uses, formatted as ssh -G prints them. Caveats
// are under NotesKey.
func Evaluate(host string, o Options) (Config, error) {
	return (&Evaluator{}).Evaluate(host, o)
}

// Evaluator evaluates ssh client configuration. The zero value reads the
// live system; tests point Root at a fixture tree.
type Evaluator struct {
	// Root is the directory every file is read under, as if it were "/"
	// (config files, Includes, -i files). Empty means the real root.
	Root string
	// LocalUser is the local account name (%u, Match localuser, the default
	// User); empty means the current user.
	LocalUser string
	// LocalHost is this machine's host name (%l, %L, %C); empty means
	// os.Hostname.
	LocalHost string
}

// Evaluate is the package-level Evaluate with e's file root and identity.
func (e *Evaluator) Evaluate(host string, o Options) (Config, error) {
	if host == "" {
		return nil, errors.New("dest: ssh config: no host given")
	}
	ev := newEval(e, host, o)
	if err := ev.run(); err != nil {
		return nil, err
	}
	return ev.config()
}

// Option state, following readconf.c: every value is "unset" until the
// first source that sets it, and later sources do not change it.
type setStr struct {
	v   string
	set bool
}

func (s *setStr) first(v string) {
	if !s.set {
		s.v, s.set = v, true
	}
}

type idFile struct {
	path string
	// class is OpenSSH's userprovided value: 0 system config or default,
	// 1 -i, 2 user config, -F or -o. Duplicates are dropped within a class.
	class int
}

type sshOptions struct {
	port                        int // -1 unset
	user, hostname              setStr
	identities                  []idFile
	identitiesOnly, batchMode   int // -1 unset, else 0/1
	passwordAuth, kbdAuth       int
	pubkeyAuth, strictHostKey   setStr // printed form
	addressFamily               setStr
	connectTimeout              int // -1 unset
	identityAgent, proxyCommand setStr
	jumpSet                     bool
	jumpHost, jumpUser          string
	jumpPort                    int
	jumpExtra                   string
	ciphers, macs, kex          setStr
	hostKeyAlgs, pubkeyAlgs     setStr
	userKnownHosts, globalKnown []string
	hostKeyAlias, preferredAuth setStr
	ignoreUnknown               setStr
	canonicalize                int // -1 unset, 0 no, 1 yes, 2 always
	canonMaxDots, canonFallback int
	canonDomains                []string
	permittedCNAMEs             bool // CanonicalizePermittedCNAMEs set to anything but none
	permittedCNAMEsSet          bool
}

// Flags of a configuration source, as readconf.h's SSHCONF_*.
const (
	confCheckPerm = 1 << iota
	confUser
	confFinal
	confNeverMatch
)

type eval struct {
	e        *Evaluator
	o        Options
	env      func(string) (string, bool)
	home     string
	lUser    string
	lHost    string
	uid      int
	hostArg  string // as typed: Host patterns, %n, Match originalhost
	host     string // matched by Host; the final host name in the final pass
	opt      sshOptions
	notes    []string
	files    int
	wantPass bool
	services map[string]int
}

func newEval(e *Evaluator, host string, o Options) *eval {
	ev := &eval{e: e, hostArg: host, host: host, uid: os.Getuid()}
	if o.Env != nil {
		// An Env function cannot tell unset from empty; ssh treats an
		// empty ${VAR} as set, but that is rare enough not to matter.
		ev.env = func(k string) (string, bool) { v := o.Env(k); return v, v != "" }
	} else {
		ev.env = os.LookupEnv
		o.Env = os.Getenv
	}
	ev.o = o
	ev.home = o.Home
	if ev.home == "" {
		ev.home = homeDir(o.Env)
	}
	ev.lUser = e.LocalUser
	if ev.lUser == "" {
		ev.lUser = localUser(o.Env)
	}
	ev.lHost = e.LocalHost
	if ev.lHost == "" {
		ev.lHost, _ = os.Hostname()
	}
	ev.opt = sshOptions{port: -1, identitiesOnly: -1, batchMode: -1, passwordAuth: -1,
		kbdAuth: -1, connectTimeout: -1, canonicalize: -1, canonMaxDots: -1, canonFallback: -1}
	return ev
}

func (ev *eval) note(format string, args ...any) {
	ev.notes = append(ev.notes, fmt.Sprintf(format, args...))
}

// run follows ssh.c main: command-line options, the configuration files,
// the host name, then a final pass when Match final or canonicalization
// asks for one.
func (ev *eval) run() error {
	o := ev.o
	if o.Port != 0 {
		if o.Port < 1 || o.Port > 65535 {
			return fmt.Errorf("dest: ssh config: bad port %d", o.Port)
		}
		ev.opt.port = o.Port
	}
	if o.User != "" {
		ev.opt.user.first(o.User)
	}
	for _, f := range o.Identities {
		p, err := ev.tilde(f)
		if err != nil {
			return err
		}
		if _, err := os.Stat(ev.path(p)); err != nil {
			ev.note("identity file %s is not accessible, so ssh ignores -i %s", p, f)
			continue
		}
		if err := ev.addIdentity(p, 1); err != nil {
			return err
		}
	}
	for _, x := range o.Extra {
		active := true
		if err := ev.line(x, "command-line", 0, &active, confUser, 0, true); err != nil {
			return err
		}
	}
	switch o.Family {
	case 4:
		ev.opt.addressFamily = setStr{"inet", true}
	case 6:
		ev.opt.addressFamily = setStr{"inet6", true}
	}

	if err := ev.readFiles(false); err != nil {
		return err
	}
	if ev.opt.hostname.set {
		h, err := percentExpand(ev.opt.hostname.v, map[byte]string{'h': ev.host}, nil)
		if err != nil {
			return fmt.Errorf("dest: ssh config: HostName %q: %w", ev.opt.hostname.v, err)
		}
		ev.host = h
		ev.opt.hostname.v = h
	}
	wasAddr := ev.isAddr(ev.host)
	if !wasAddr {
		ev.host = asciiLower(ev.host)
	}
	resolved := false
	if ev.opt.canonicalize > 0 || wasAddr {
		resolved = ev.canonicalize()
	}
	if !resolved && ev.opt.permittedCNAMEs && (ev.direct() || ev.opt.canonicalize == 2) {
		ev.note("CanonicalizePermittedCNAMEs makes ssh look %q up in the DNS, which sshdoctor's parser does not do; the name was kept as it is", ev.host)
	}
	if ev.opt.canonicalize > 0 {
		ev.wantPass = true
	}
	if ev.wantPass {
		ev.opt.hostname = setStr{ev.host, true}
		if err := ev.readFiles(true); err != nil {
			return err
		}
	}
	return nil
}

func (ev *eval) readFiles(final bool) error {
	flags := 0
	if final {
		flags = confFinal
	}
	cf := ev.o.ConfigFile
	if cf != "" {
		if eqFold(cf, "none") {
			return nil
		}
		active := true
		ok, err := ev.file(cf, confUser|flags, &active, 0)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("dest: ssh config: cannot open %s", cf)
		}
		return nil
	}
	active := true
	user := strings.TrimSuffix(ev.home, "/") + "/.ssh/config"
	if _, err := ev.file(user, confCheckPerm|confUser|flags, &active, 0); err != nil {
		return err
	}
	active = true
	_, err := ev.file("/etc/ssh/ssh_config", flags, &active, 0)
	return err
}

func (ev *eval) path(p string) string {
	if ev.e.Root == "" {
		return p
	}
	return filepath.Join(ev.e.Root, p)
}

// file reads one configuration file. It reports false when the file cannot
// be opened, as read_config_file does.
func (ev *eval) file(name string, flags int, active *bool, depth int) (bool, error) {
	if depth > maxIncludeDepth {
		return false, fmt.Errorf("dest: ssh config: %s: too many recursive configuration includes", name)
	}
	ev.files++
	if ev.files > maxConfigFiles {
		return false, fmt.Errorf("dest: ssh config: more than %d configuration files read (Include loop?)", maxConfigFiles)
	}
	f, err := os.Open(ev.path(name))
	if err != nil {
		return false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("dest: ssh config: %s: %w", name, err)
	}
	if flags&confCheckPerm != 0 && badPerms(fi) {
		return false, fmt.Errorf("dest: ssh config: bad owner or permissions on %s", name)
	}
	if fi.IsDir() {
		// fopen succeeds on a directory and the first read fails: ssh
		// reads nothing from it and carries on.
		return true, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return false, fmt.Errorf("dest: ssh config: %s: %w", name, err)
	}
	if len(b) > maxConfigBytes {
		return false, fmt.Errorf("dest: ssh config: %s is larger than %d bytes", name, maxConfigBytes)
	}
	data := string(b)
	var bad error
	for i, ln := range strings.SplitAfter(data, "\n") {
		if ln == "" {
			continue
		}
		// C string functions stop at the first NUL byte.
		if j := strings.IndexByte(ln, 0); j >= 0 {
			ln = ln[:j]
		}
		if err := ev.line(ln, name, i+1, active, flags, depth, false); err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return false, err
			}
			if bad == nil {
				bad = err
			}
		}
	}
	if bad != nil {
		return false, bad
	}
	return true, nil
}

// fatalError stops reading at once, where ssh calls fatal() rather than
// counting a bad line.
type fatalError struct{ err error }

func (f *fatalError) Error() string { return f.err.Error() }
func (f *fatalError) Unwrap() error { return f.err }

func badPerms(fi fs.FileInfo) bool {
	if fi.Mode().Perm()&0o022 != 0 {
		return true
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid != 0 && int(st.Uid) != os.Getuid()
	}
	return false
}

type kwKind int

const (
	kwOther kwKind = iota // known to ssh, not used by sshdoctor: accepted as is
	kwHost
	kwMatch
	kwInclude
	kwPort
	kwUser
	kwHostName
	kwIdentityFile
	kwIdentitiesOnly
	kwBatchMode
	kwPasswordAuth
	kwKbdAuth
	kwPubkeyAuth
	kwStrictHostKey
	kwAddressFamily
	kwConnectTimeout
	kwIdentityAgent
	kwProxyCommand
	kwProxyJump
	kwCiphers
	kwMACs
	kwKex
	kwHostKeyAlgs
	kwPubkeyAlgs
	kwUserKnownHosts
	kwGlobalKnownHosts
	kwHostKeyAlias
	kwPreferredAuth
	kwIgnoreUnknown
	kwCanonicalize
	kwCanonMaxDots
	kwCanonFallback
	kwCanonDomains
	kwCanonCNAMEs
)

// keywords are the ssh_config keywords OpenSSH 9.2 (Debian build, with
// GSSAPI) accepts; anything else is a bad option unless IgnoreUnknown
// covers it.
var keywords = func() map[string]kwKind {
	m := map[string]kwKind{
		"host": kwHost, "match": kwMatch, "include": kwInclude, "port": kwPort,
		"user": kwUser, "hostname": kwHostName,
		"identityfile": kwIdentityFile, "identityfile2": kwIdentityFile,
		"identitiesonly": kwIdentitiesOnly, "batchmode": kwBatchMode,
		"passwordauthentication":       kwPasswordAuth,
		"kbdinteractiveauthentication": kwKbdAuth, "challengeresponseauthentication": kwKbdAuth,
		"skeyauthentication": kwKbdAuth, "tisauthentication": kwKbdAuth,
		"pubkeyauthentication": kwPubkeyAuth, "dsaauthentication": kwPubkeyAuth,
		"stricthostkeychecking": kwStrictHostKey, "addressfamily": kwAddressFamily,
		"connecttimeout": kwConnectTimeout, "identityagent": kwIdentityAgent,
		"proxycommand": kwProxyCommand, "proxyjump": kwProxyJump,
		"ciphers": kwCiphers, "macs": kwMACs, "kexalgorithms": kwKex,
		"hostkeyalgorithms":        kwHostKeyAlgs,
		"pubkeyacceptedalgorithms": kwPubkeyAlgs, "pubkeyacceptedkeytypes": kwPubkeyAlgs,
		"userknownhostsfile": kwUserKnownHosts, "globalknownhostsfile": kwGlobalKnownHosts,
		"hostkeyalias": kwHostKeyAlias, "preferredauthentications": kwPreferredAuth,
		"ignoreunknown": kwIgnoreUnknown, "canonicalizehostname": kwCanonicalize,
		"canonicalizemaxdots": kwCanonMaxDots, "canonicalizefallbacklocal": kwCanonFallback,
		"canonicaldomains": kwCanonDomains, "canonicalizepermittedcnames": kwCanonCNAMEs,
	}
	for _, k := range strings.Fields(`protocol cipher fallbacktorsh globalknownhostsfile2
		rhostsauthentication userknownhostsfile2 useroaming usersh useprivilegedport
		useblacklistedkeys afstokenpassing kerberosauthentication kerberostgtpassing
		rsaauthentication rhostsrsaauthentication compressionlevel gssapiauthentication
		gssapidelegatecredentials gssapikeyexchange gssapiclientidentity gssapiserveridentity
		gssapirenewalforcesrekey gssapitrustdns gssapikexalgorithms pkcs11provider
		smartcarddevice forwardagent forwardx11 forwardx11trusted forwardx11timeout
		exitonforwardfailure xauthlocation gatewayports kbdinteractivedevices
		hostbasedauthentication certificatefile addkeystoagent remoteforward localforward
		permitremoteopen escapechar connectionattempts checkhostip compression tcpkeepalive
		keepalive numberofpasswordprompts syslogfacility loglevel logverbose dynamicforward
		casignaturealgorithms bindaddress bindinterface clearallforwardings enablesshkeysign
		verifyhostkeydns nohostauthenticationforlocalhost rekeylimit serveraliveinterval
		serveralivecountmax sendenv setenv controlpath controlmaster controlpersist
		hashknownhosts tunnel tunneldevice localcommand permitlocalcommand remotecommand
		visualhostkey ipqos requesttty sessiontype stdinnull forkafterauthentication
		proxyusefdpass streamlocalbindmask streamlocalbindunlink revokedhostkeys
		fingerprinthash updatehostkeys hostbasedacceptedalgorithms hostbasedkeytypes
		securitykeyprovider knownhostscommand requiredrsasize enableescapecommandline
		protocolkeepalives setuptimeout`) {
		m[k] = kwOther
	}
	return m
}()

var (
	flagValues   = map[string]int{"true": 1, "false": 0, "yes": 1, "no": 0}
	pubkeyValues = map[string]string{"true": "true", "yes": "true", "false": "false", "no": "false", "unbound": "unbound", "host-bound": "host-bound"}
	strictValues = map[string]string{"true": "true", "yes": "true", "false": "false", "no": "false", "off": "false", "ask": "ask", "accept-new": "accept-new"}
	familyValues = map[string]string{"inet": "inet", "inet6": "inet6", "any": "any"}
	canonValues  = map[string]int{"true": 1, "yes": 1, "false": 0, "no": 0, "always": 2}
)

func lookupFold[V any](m map[string]V, k string) (V, bool) {
	v, ok := m[asciiLower(k)]
	return v, ok
}

// line processes one configuration line, as process_config_line_depth:
// it splits off the keyword, checks it, and applies the arguments.
func (ev *eval) line(raw, file string, num int, active *bool, flags, depth int, cmdline bool) error {
	l := &lineCtx{ev: ev, file: file, num: num, active: active, flags: flags, depth: depth}
	// Strip trailing white space; a form feed is allowed only there.
	s := raw
	for len(s) > 1 && strings.IndexByte(" \t\r\n\f", s[len(s)-1]) >= 0 {
		s = s[:len(s)-1]
	}
	cur := cursor{s: s}
	kw, ok := strdelim(&cur)
	if ok && kw == "" {
		kw, ok = strdelim(&cur)
	}
	if !ok || kw == "" || kw[0] == '\n' || kw[0] == '#' {
		return nil
	}
	l.kw = asciiLower(kw)
	if !cur.null {
		l.rest = strings.TrimLeft(cur.s, " \t\r\n")
	}
	if l.rest == "" {
		return l.bad("no argument after keyword %q", l.kw)
	}
	kind, known := keywords[l.kw]
	ignored := !known && ev.opt.ignoreUnknown.set && matchPatternList(l.kw, ev.opt.ignoreUnknown.v, true) == 1
	args, err := argvSplit(l.rest)
	if err != nil {
		return l.bad("invalid quotes")
	}
	l.args = args
	switch {
	case ignored:
		return nil
	case !known:
		return l.bad("Bad configuration option: %s", l.kw)
	case cmdline && (kind == kwHost || kind == kwMatch || kind == kwInclude):
		return l.bad("%s directive not supported as a command-line option", l.kw)
	}
	if err := l.apply(kind); err != nil {
		return err
	}
	if len(l.args) > 0 {
		return l.bad("keyword %s extra arguments at end of line", l.kw)
	}
	return nil
}

// lineCtx is one configuration line being applied.
type lineCtx struct {
	ev       *eval
	file     string
	num      int
	active   *bool
	flags    int
	depth    int
	kw, rest string   // keyword (lower case) and the raw text after it
	args     []string // arguments not consumed yet
}

func (l *lineCtx) bad(format string, args ...any) error {
	return fmt.Errorf("dest: ssh config: %s line %d: %s", l.file, l.num, fmt.Sprintf(format, args...))
}

func (l *lineCtx) next() (string, bool) {
	if len(l.args) == 0 {
		return "", false
	}
	a := l.args[0]
	l.args = l.args[1:]
	return a, true
}

// arg returns the next argument, which must not be empty.
func (l *lineCtx) arg() (string, error) {
	a, _ := l.next()
	if a == "" {
		return "", l.bad("missing argument")
	}
	return a, nil
}

func (l *lineCtx) setFlag(dst *int) error {
	a, _ := l.next()
	v, ok := lookupFold(flagValues, a)
	if !ok {
		return l.bad("unsupported option %q", a)
	}
	if *l.active && *dst == -1 {
		*dst = v
	}
	return nil
}

func (l *lineCtx) setChoice(dst *setStr, values map[string]string) error {
	a, _ := l.next()
	v, ok := lookupFold(values, a)
	if !ok {
		return l.bad("unsupported option %q", a)
	}
	if *l.active {
		dst.first(v)
	}
	return nil
}

func (l *lineCtx) setString(dst *setStr) error {
	a, err := l.arg()
	if err == nil && *l.active {
		dst.first(a)
	}
	return err
}

// setAlgos checks an algorithm list as readconf.c does: names after an
// optional + or ^ must be supported; a - list is not checked.
func (l *lineCtx) setAlgos(dst *setStr, valid func(string) bool, what string) error {
	a, err := l.arg()
	if err != nil {
		return err
	}
	if a[0] != '-' {
		b := strings.TrimLeft(a[:1], "+^") + a[1:]
		if !valid(b) {
			return l.bad("Bad %s '%s'", what, a)
		}
	}
	if *l.active {
		dst.first(a)
	}
	return nil
}

// setList fills a list option (UserKnownHostsFile, CanonicalDomains...)
// from the first line that sets it; "none" must stand alone.
func (l *lineCtx) setList(dst *[]string, max int) error {
	empty := len(*dst) == 0
	for i := 0; ; i++ {
		a, ok := l.next()
		if !ok {
			return nil
		}
		if a == "" {
			return l.bad("keyword %s empty argument", l.kw)
		}
		if eqFold(a, "none") && (i > 0 || len(l.args) > 0) {
			return l.bad("keyword %s \"none\" argument must appear alone", l.kw)
		}
		if *l.active && empty {
			if len(*dst) >= max {
				return l.bad("too many %s entries", l.kw)
			}
			*dst = append(*dst, a)
		}
	}
}

// apply applies the arguments of a known keyword. Values are checked even
// in inactive blocks, as ssh does, and set only in active ones.
func (l *lineCtx) apply(kind kwKind) error {
	ev, op := l.ev, &l.ev.opt
	switch kind {
	case kwOther:
		l.args = nil
	case kwHost:
		return l.host()
	case kwMatch:
		mcur := cursor{s: l.rest}
		v, err := ev.matchLine(&mcur, l.flags, l.file, l.num)
		if err != nil {
			return l.bad("Bad Match condition: %v", err)
		}
		*l.active = v && l.flags&confNeverMatch == 0
		if mcur.null || mcur.s == "" {
			l.args = nil
		}
	case kwInclude:
		for {
			a, ok := l.next()
			if !ok {
				return nil
			}
			if err := l.include(a); err != nil {
				return err
			}
		}
	case kwPort:
		a, err := l.arg()
		if err != nil {
			return err
		}
		p := ev.a2port(a)
		if p <= 0 {
			return l.bad("Bad port '%s'", a)
		}
		if *l.active && op.port == -1 {
			op.port = p
		}
	case kwUser:
		return l.setString(&op.user)
	case kwHostName:
		return l.setString(&op.hostname)
	case kwHostKeyAlias:
		return l.setString(&op.hostKeyAlias)
	case kwPreferredAuth:
		return l.setString(&op.preferredAuth)
	case kwIgnoreUnknown:
		return l.setString(&op.ignoreUnknown)
	case kwIdentitiesOnly:
		return l.setFlag(&op.identitiesOnly)
	case kwBatchMode:
		return l.setFlag(&op.batchMode)
	case kwPasswordAuth:
		return l.setFlag(&op.passwordAuth)
	case kwKbdAuth:
		return l.setFlag(&op.kbdAuth)
	case kwCanonFallback:
		return l.setFlag(&op.canonFallback)
	case kwPubkeyAuth:
		return l.setChoice(&op.pubkeyAuth, pubkeyValues)
	case kwStrictHostKey:
		return l.setChoice(&op.strictHostKey, strictValues)
	case kwAddressFamily:
		return l.setChoice(&op.addressFamily, familyValues)
	case kwCiphers:
		return l.setAlgos(&op.ciphers, namesValid(cipherAll), "SSH2 cipher spec")
	case kwMACs:
		return l.setAlgos(&op.macs, namesValid(macAll), "SSH2 MAC spec")
	case kwKex:
		return l.setAlgos(&op.kex, namesValid(kexAll), "SSH2 KexAlgorithms")
	case kwHostKeyAlgs:
		return l.setAlgos(&op.hostKeyAlgs, keyNamesValid, "key types")
	case kwPubkeyAlgs:
		return l.setAlgos(&op.pubkeyAlgs, keyNamesValid, "key types")
	case kwUserKnownHosts:
		return l.setList(&op.userKnownHosts, maxHostsFiles)
	case kwGlobalKnownHosts:
		return l.setList(&op.globalKnown, maxHostsFiles)
	case kwCanonDomains:
		return l.setList(&op.canonDomains, 32)
	case kwIdentityFile:
		a, err := l.arg()
		if err != nil || !*l.active {
			return err
		}
		if len(op.identities) >= maxIdentities {
			return l.bad("Too many identity files specified (max %d)", maxIdentities)
		}
		class := 0
		if l.flags&confUser != 0 {
			class = 2
		}
		return ev.addIdentity(a, class)
	case kwCanonicalize:
		a, _ := l.next()
		v, ok := lookupFold(canonValues, a)
		if !ok {
			return l.bad("unsupported option %q", a)
		}
		if *l.active && op.canonicalize == -1 {
			op.canonicalize = v
		}
	case kwCanonMaxDots:
		a, _ := l.next()
		n, err := strconv.ParseInt(a, 10, 32)
		if err != nil || n < 0 {
			return l.bad("integer value %q invalid", a)
		}
		if *l.active && op.canonMaxDots == -1 {
			op.canonMaxDots = int(n)
		}
	case kwCanonCNAMEs:
		return l.cnames()
	case kwConnectTimeout:
		a, _ := l.next()
		if a == "" {
			return l.bad("missing time value")
		}
		v := -1 // "none" leaves the option unset
		if a != "none" {
			if v = convtime(a); v < 0 {
				return l.bad("invalid time value")
			}
		}
		if *l.active && op.connectTimeout == -1 {
			op.connectTimeout = v
		}
	case kwIdentityAgent:
		a, err := l.arg()
		if err != nil {
			return err
		}
		if _, err := percentExpand(a, nil, ev.env); err != nil {
			return l.bad("Invalid environment expansion %s: %v", a, err)
		}
		if a[0] == '$' && (len(a) == 1 || a[1] != '{' && !validEnvName(a[1:])) {
			return l.bad("Invalid environment name %s", a)
		}
		if *l.active {
			op.identityAgent.first(a)
		}
	case kwProxyCommand:
		// The command is the raw rest of the line, quotes and comments
		// included; it is ignored once a jump host is set.
		if *l.active && !(op.jumpSet && op.jumpHost != "none") {
			op.proxyCommand.first(strings.TrimLeft(l.rest, " \t\r\n="))
		}
		l.args = nil
	case kwProxyJump:
		v := strings.TrimLeft(l.rest, " \t\r\n=")
		if err := ev.parseJump(v, *l.active); err != nil {
			return l.bad("Invalid ProxyJump %q", v)
		}
		l.args = nil
	}
	return nil
}

// host applies a Host line: the block is active when a pattern matches the
// host and no negated pattern does.
func (l *lineCtx) host() error {
	*l.active = false
	for {
		a, ok := l.next()
		if !ok {
			return nil
		}
		if a == "" {
			return l.bad("keyword %s empty argument", l.kw)
		}
		if l.flags&confNeverMatch != 0 {
			l.args = nil
			return nil
		}
		neg := a[0] == '!'
		if neg {
			a = a[1:]
		}
		if matchPattern(l.ev.host, a) {
			if neg {
				*l.active = false
				l.args = nil
				return nil
			}
			*l.active = true
		}
	}
}

// cnames records whether CanonicalizePermittedCNAMEs is set, which makes
// ssh resolve the name.
func (l *lineCtx) cnames() error {
	op := &l.ev.opt
	was := op.permittedCNAMEsSet
	for i := 0; ; i++ {
		a, ok := l.next()
		if !ok {
			return nil
		}
		none := eqFold(a, "none")
		if none && (i > 0 || len(l.args) > 0) {
			return l.bad("keyword %s \"none\" argument must appear alone", l.kw)
		}
		if !none && a != "*" {
			if j := strings.IndexByte(a, ':'); j < 0 || j == len(a)-1 {
				return l.bad("Invalid permitted CNAME %q", a)
			}
		}
		if *l.active && !was {
			op.permittedCNAMEsSet = true
			op.permittedCNAMEs = !none
		}
	}
}

func (ev *eval) addIdentity(p string, class int) error {
	for _, f := range ev.opt.identities {
		if f.class == class && f.path == p {
			return nil
		}
	}
	if len(ev.opt.identities) >= maxIdentities {
		return fmt.Errorf("dest: ssh config: too many identity files specified (max %d)", maxIdentities)
	}
	ev.opt.identities = append(ev.opt.identities, idFile{p, class})
	return nil
}

// include reads the files an Include argument names. Relative paths live
// in ~/.ssh for user configuration and /etc/ssh for the system file.
func (l *lineCtx) include(arg string) error {
	ev := l.ev
	if arg == "" {
		return l.bad("keyword include empty argument")
	}
	if arg[0] == '~' && l.flags&confUser == 0 {
		return l.bad("bad include path %s", arg)
	}
	pat := arg
	if !strings.HasPrefix(arg, "/") && arg[0] != '~' {
		if l.flags&confUser != 0 {
			pat = "~/.ssh/" + arg
		} else {
			pat = "/etc/ssh/" + arg
		}
	}
	pat, err := ev.globTilde(pat)
	if err != nil {
		return l.bad("glob failed for %s", arg)
	}
	was := *l.active
	fl := l.flags | confCheckPerm
	if !was {
		fl |= confNeverMatch
	}
	for _, m := range ev.glob(pat) {
		// A file that vanished or cannot be opened is skipped, as ssh
		// skips one that does not exist.
		if _, err := ev.file(m, fl, l.active, l.depth+1); err != nil {
			return &fatalError{err}
		}
		// Match blocks in an included file do not change the including
		// file's state.
		*l.active = was
	}
	return nil
}

// globTilde expands a leading ~ as glob(3)'s GLOB_TILDE does. (ssh takes
// it from $HOME here and from the password database elsewhere; Evaluate
// uses Options.Home for both.)
func (ev *eval) globTilde(p string) (string, error) {
	if p == "" || p[0] != '~' {
		return p, nil
	}
	rest := p[1:]
	name, tail, _ := strings.Cut(rest, "/")
	dir := ev.home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return p, nil // glob leaves an unknown ~user as it is
		}
		dir = u.HomeDir
	}
	if strings.Contains(rest, "/") {
		return strings.TrimSuffix(dir, "/") + "/" + tail, nil
	}
	return dir, nil
}

// glob expands pat against the file tree under Root with OpenBSD glob(3)
// rules: wildcards do not match a leading dot unless the pattern has one,
// a pattern matching nothing yields nothing, and results sort by strcmp.
func (ev *eval) glob(pat string) []string {
	comps := strings.Split(pat, "/")
	cur := []string{""}
	if !strings.HasPrefix(pat, "/") {
		cur = []string{"."}
	}
	for i, c := range comps {
		if c == "" {
			continue
		}
		last := i == len(comps)-1
		var nxt []string
		if !strings.ContainsAny(c, "*?[") {
			for _, d := range cur {
				nxt = append(nxt, joinPath(d, c))
			}
		} else {
			for _, d := range cur {
				dir := d
				if dir == "" {
					dir = "/"
				}
				ents, err := os.ReadDir(ev.path(dir))
				if err != nil {
					continue
				}
				for _, en := range ents {
					n := en.Name()
					if n[0] == '.' && c[0] != '.' {
						continue
					}
					if globMatch(c, n) {
						nxt = append(nxt, joinPath(d, n))
					}
				}
			}
		}
		if !last && len(nxt) > maxConfigFiles {
			nxt = nxt[:maxConfigFiles]
		}
		cur = nxt
	}
	var out []string
	for _, p := range cur {
		if p == "" {
			p = "/"
		}
		if _, err := os.Lstat(ev.path(p)); err == nil {
			out = append(out, strings.TrimPrefix(p, "./"))
		}
	}
	sort.Strings(out)
	return out
}

func joinPath(d, n string) string {
	if d == "" {
		return "/" + n
	}
	return d + "/" + n
}

func globMatch(pattern, name string) bool {
	p := strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := filepath.Match(p, name)
	if err != nil {
		return pattern == name
	}
	return ok
}

// matchLine evaluates the criteria of a Match line, as match_cfg_line.
func (ev *eval) matchLine(cur *cursor, flags int, file string, num int) (bool, error) {
	final := flags&confFinal != 0
	ruser := ev.lUser
	if ev.opt.user.set {
		ruser = ev.opt.user.v
	}
	host := ev.host
	if final {
		host = ev.opt.hostname.v
	} else if ev.opt.hostname.set {
		h, err := percentExpand(ev.opt.hostname.v, map[byte]string{'h': ev.host}, nil)
		if err != nil {
			return false, &fatalError{fmt.Errorf("HostName %q: %w", ev.opt.hostname.v, err)}
		}
		host = h
	}
	result, attrs := true, 0
	for {
		attr, ok := strdelim(cur)
		if !ok || attr == "" {
			break
		}
		if attr[0] == '#' {
			cur.null = true
			break
		}
		oattr := attr
		neg := attr[0] == '!'
		if neg {
			attr = attr[1:]
		}
		if eqFold(attr, "all") {
			arg, ok := strdelim(cur)
			if attrs > 1 || (ok && arg != "" && arg[0] != '#') {
				return false, fmt.Errorf("'%s' cannot be combined with other Match attributes", oattr)
			}
			if ok && arg != "" {
				cur.null = true // the rest is a comment
			}
			if result {
				result = !neg
			}
			return result, nil
		}
		attrs++
		if eqFold(attr, "canonical") || eqFold(attr, "final") {
			if eqFold(attr, "final") && !final {
				ev.wantPass = true
			}
			if final == neg {
				result = false
			}
			continue
		}
		arg, ok := strdelim(cur)
		if !ok || arg == "" || arg[0] == '#' {
			return false, fmt.Errorf("missing Match criteria for %s", attr)
		}
		var r bool
		switch {
		case eqFold(attr, "host"):
			r = matchPatternList(asciiLower(host), arg, true) == 1
		case eqFold(attr, "originalhost"):
			r = matchPatternList(asciiLower(ev.hostArg), arg, true) == 1
		case eqFold(attr, "user"):
			r = matchPatternList(ruser, arg, false) == 1
		case eqFold(attr, "localuser"):
			r = matchPatternList(ev.lUser, arg, false) == 1
		case eqFold(attr, "exec"):
			if !result {
				continue // ssh skips the command once a criterion failed
			}
			if flags&confNeverMatch == 0 {
				ev.note("%s line %d: Match exec %q was not run; sshdoctor treats the block as not matching, ssh would run the command", file, num, arg)
			}
			result = false
			continue
		default:
			return false, fmt.Errorf("unsupported Match attribute %s", attr)
		}
		if r == neg {
			result = false
		}
	}
	if attrs == 0 {
		return false, errors.New("one or more attributes required for Match")
	}
	return result, nil
}

// parseJump applies a ProxyJump value, as readconf.c's parse_jump.
func (ev *eval) parseJump(s string, active bool) error {
	active = active && !ev.opt.proxyCommand.set && !ev.opt.jumpSet
	orig := s
	if i := strings.IndexByte(orig, '#'); i >= 0 {
		orig = orig[:i]
	}
	orig = strings.TrimRight(orig, " \t\r\n")
	var user, host string
	port := -1
	if !eqFold(s, "none") {
		rest := orig
		first := true
		for {
			hop := rest
			i := strings.LastIndexByte(rest, ',')
			if i >= 0 {
				hop, rest = rest[i+1:], rest[:i]
			}
			u, h, p, err := ev.parseHop(hop)
			if err != nil {
				return err
			}
			if first {
				user, host, port = u, h, p
				first = false
			}
			if i < 0 {
				break
			}
		}
	}
	if !active {
		return nil
	}
	ev.opt.jumpSet = true
	if eqFold(s, "none") {
		ev.opt.jumpHost, ev.opt.jumpPort = "none", 0
		return nil
	}
	ev.opt.jumpUser, ev.opt.jumpHost, ev.opt.jumpPort = user, host, port
	ev.opt.proxyCommand = setStr{"none", true}
	if i := strings.LastIndexByte(s, ','); i > 0 {
		ev.opt.jumpExtra = s[:i]
	}
	return nil
}

func (ev *eval) parseHop(s string) (user, host string, port int, err error) {
	port = -1
	fail := errors.New("bad jump host")
	if len(s) >= 6 && s[:6] == "ssh://" {
		s = s[6:]
		if i := strings.IndexByte(s, '@'); i >= 0 {
			user, s = s[:i], s[i+1:]
			if j := strings.IndexByte(user, ';'); j >= 0 {
				user = user[:j]
			}
			if user == "" {
				return "", "", 0, fail
			}
		}
		if i := strings.IndexByte(s, '/'); i >= 0 {
			if s[i+1:] != "" {
				return "", "", 0, fail // a path is not allowed
			}
			s = s[:i]
		}
	} else if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, s = s[:i], s[i+1:]
		if user == "" {
			return "", "", 0, fail
		}
	}
	h, rest, ok := hpdelim(s)
	if !ok || h == "" {
		return "", "", 0, fail
	}
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if rest != "" {
		if port = ev.a2port(rest); port <= 0 {
			return "", "", 0, fail
		}
	}
	return user, h, port, nil
}

// hpdelim splits host from port at the first ':' or '/', honouring
// [brackets] around an IPv6 address.
func hpdelim(s string) (host, rest string, ok bool) {
	i := 0
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", false
		}
		i = j + 1
	} else if j := strings.IndexAny(s, ":/"); j >= 0 {
		i = j
	} else {
		i = len(s)
	}
	if i == len(s) {
		return s, "", true
	}
	if s[i] != ':' && s[i] != '/' {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// canonicalize applies resolve_canonicalize without DNS: a numeric
// address is rewritten in canonical form (reported true); a name that ssh
// would look up with CanonicalDomains is noted and kept.
func (ev *eval) canonicalize() bool {
	if a, ok := ev.parseAddr(ev.host); ok {
		if s := a.String(); !eqFold(s, ev.host) {
			ev.host = s
		}
		return true
	}
	if isAddrFast(ev.host) || ev.opt.canonicalize <= 0 {
		return false
	}
	if !ev.direct() && ev.opt.canonicalize != 2 {
		return false
	}
	maxDots := ev.opt.canonMaxDots
	if maxDots < 0 {
		maxDots = 1
	}
	domains := len(ev.opt.canonDomains) > 0 && !eqFold(ev.opt.canonDomains[0], "none")
	if strings.HasSuffix(ev.host, ".") || (domains && strings.Count(ev.host, ".") <= maxDots) {
		ev.note("CanonicalizeHostname makes ssh look %q up in the DNS, which sshdoctor's parser does not do; the name was kept as it is", ev.host)
	}
	return false
}

// direct reports whether ssh connects without a proxy or jump host.
func (ev *eval) direct() bool {
	return clearOrNone(ev.opt.proxyCommand) && (!ev.opt.jumpSet || ev.opt.jumpHost == "none")
}

func clearOrNone(s setStr) bool { return !s.set || eqFold(s.v, "none") }

func isAddrFast(name string) bool {
	return strings.ContainsAny(name, "%:") || strings.Trim(name, "0123456789.") == ""
}

func (ev *eval) isAddr(name string) bool {
	if isAddrFast(name) {
		return true
	}
	_, ok := ev.parseAddr(name)
	return ok
}

// parseAddr parses a numeric address as getaddrinfo(AI_NUMERICHOST) does
// on glibc (inet_aton forms for IPv4), limited by AddressFamily.
func (ev *eval) parseAddr(s string) (netip.Addr, bool) {
	fam := ev.opt.addressFamily.v
	if !strings.Contains(s, ":") {
		a, ok := inetAton(s)
		if !ok || fam == "inet6" {
			return netip.Addr{}, false
		}
		return a, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || fam == "inet" {
		return netip.Addr{}, false
	}
	return a, true
}

// inetAton parses an IPv4 address in any form inet_aton(3) accepts:
// 1 to 4 parts, each decimal, octal (leading 0) or hex (0x).
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		base := 10
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	n := len(vals)
	for _, v := range vals[:n-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[n-1] > uint64(1)<<(8*(5-n))-1 {
		return netip.Addr{}, false
	}
	var u uint32
	for i, v := range vals[:n-1] {
		u |= uint32(v) << (24 - 8*i)
	}
	u |= uint32(vals[n-1])
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}), true
}

// a2port parses a port number or a service name.
func (ev *eval) a2port(s string) int {
	// strtonum(3): optional leading space and sign, then decimal digits.
	if n, err := strconv.ParseInt(strings.TrimLeft(s, " \t\n\v\f\r"), 10, 64); err == nil {
		if n < 0 || n > 65535 {
			return -1
		}
		return int(n)
	}
	if ev.services == nil {
		ev.services = map[string]int{"ssh": 22}
		if data, err := os.ReadFile(ev.path("/etc/services")); err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				if i := strings.IndexByte(l, '#'); i >= 0 {
					l = l[:i]
				}
				f := strings.Fields(l)
				if len(f) < 2 {
					continue
				}
				num, proto, ok := strings.Cut(f[1], "/")
				p, err := strconv.Atoi(num)
				if !ok || proto != "tcp" || err != nil {
					continue
				}
				for _, name := range append([]string{f[0]}, f[2:]...) {
					if _, dup := ev.services[name]; !dup {
						ev.services[name] = p
					}
				}
			}
		}
	}
	if p, ok := ev.services[s]; ok {
		return p
	}
	return -1
}

// convtime parses a time interval such as 90, 1m30s or 2h, in seconds.
func convtime(s string) int {
	const intMax = 1<<31 - 1
	if s == "" {
		return -1
	}
	total := 0
	for s != "" {
		t := strings.TrimLeft(s, " \t\n\v\f\r")
		neg := false
		if t != "" && (t[0] == '+' || t[0] == '-') {
			neg = t[0] == '-'
			t = t[1:]
		}
		i := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == 0 {
			return -1
		}
		secs, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil || (neg && secs != 0) {
			return -1
		}
		t = t[i:]
		mult := int64(1)
		if t != "" {
			switch t[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 604800
			default:
				return -1
			}
			t = t[1:]
		}
		if secs > intMax/mult {
			return -1
		}
		secs *= mult
		if int64(total) > intMax-secs {
			return -1
		}
		total += int(secs)
		s = t
	}
	return total
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// tilde expands a leading ~ or ~user from the password database, as ssh's
// tilde_expand_filename: "~" becomes the home directory with a slash.
func (ev *eval) tilde(p string) (string, error) {
	if p == "" || p[0] != '~' {
		return p, nil
	}
	rest := p[1:]
	var name, path string
	if rest != "" && rest[0] != '/' {
		name, path, _ = strings.Cut(rest, "/")
	} else {
		path = rest
	}
	path = strings.TrimLeft(path, "/")
	dir := ev.home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return "", fmt.Errorf("dest: ssh config: no such user %s (in %s)", name, p)
		}
		dir = u.HomeDir
	}
	if dir == "" || dir[len(dir)-1] != '/' {
		dir += "/"
	}
	return dir + path, nil
}

// percentExpand expands %-tokens from keys and, when env is not nil,
// ${VAR} from the environment, failing where OpenSSH fails.
func percentExpand(s string, keys map[byte]string, env func(string) (string, bool)) (string, error) {
	var b strings.Builder
	var missing error
	for i := 0; i < len(s); i++ {
		c := s[i]
		if env != nil && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("environment variable %q missing closing '}'", s[i+2:])
			}
			if end == 0 {
				return "", errors.New("zero-length environment variable")
			}
			name := s[i+2 : i+2+end]
			if v, ok := env(name); ok {
				b.WriteString(v)
			} else if missing == nil {
				missing = fmt.Errorf("env var ${%s} has no value", name)
			}
			i += 2 + end
			continue
		}
		if c != '%' || keys == nil {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("invalid format")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := keys[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown key %%%c", s[i])
		}
		b.WriteString(v)
		// A bound that no real value nears, so that a pathological
		// configuration cannot make the expansion eat memory.
		if b.Len() > maxConfigBytes {
			return "", errors.New("expansion too long")
		}
	}
	if missing != nil {
		return "", missing
	}
	return b.String(), nil
}

// config fills the defaults and renders what ssh -G would print.
func (ev *eval) config() (Config, error) {
	op := &ev.opt
	c := Config{}
	put := func(k string, v ...string) { c[k] = v }
	yesno := func(v int, def string) string {
		switch v {
		case 0:
			return "no"
		case 1:
			return "yes"
		}
		return def
	}
	orDefault := func(s setStr, def string) string {
		if s.set {
			return s.v
		}
		return def
	}

	// Algorithm lists, in fill_default_options' order: a failure leaves
	// that list unprinted and skips the rest of the defaults, as ssh does.
	failed := false
	assemble := func(key string, s setStr, def string, all []string) {
		if failed {
			if s.set {
				put(key, s.v)
			}
			return
		}
		v, err := assembleNames(s, def, all)
		if err != nil {
			failed = true
			ev.note("%s %q is invalid (%v): ssh prints an error and leaves it unset", key, s.v, err)
			return
		}
		put(key, v)
	}
	assemble("ciphers", op.ciphers, openSSHDefaults["ciphers"], cipherAll)
	assemble("macs", op.macs, openSSHDefaults["macs"], macAll)
	assemble("kexalgorithms", op.kex, openSSHDefaults["kexalgorithms"], kexAll)
	assemble("pubkeyacceptedalgorithms", op.pubkeyAlgs, openSSHDefaults["pubkeyacceptedalgorithms"], keyAll)
	hk, err := assembleNames(op.hostKeyAlgs, openSSHDefaults["hostkeyalgorithms"], keyAll)
	if err != nil {
		return nil, fmt.Errorf("dest: ssh config: HostKeyAlgorithms %q: %w", op.hostKeyAlgs.v, err)
	}
	put("hostkeyalgorithms", hk)

	proxyCommand := op.proxyCommand
	jump := op.jumpSet
	if !failed {
		if clearOrNone(proxyCommand) {
			proxyCommand = setStr{}
		}
		if jump && op.jumpHost == "none" && op.jumpPort == 0 && op.jumpUser == "" {
			jump = false
		}
	}
	user := orDefault(op.user, ev.lUser)
	port := op.port
	if port <= 0 {
		port = 22
	}
	alias := op.hostKeyAlias
	if alias.set {
		alias.v = asciiLower(alias.v)
	}

	put("host", ev.hostArg)
	put("hostname", ev.host)
	put("user", user)
	put("port", strconv.Itoa(port))
	if len(op.identities) == 0 {
		put("identityfile", defaultIdentities...)
	} else {
		var ids []string
		for _, f := range op.identities {
			ids = append(ids, f.path)
		}
		put("identityfile", ids...)
	}
	put("identitiesonly", yesno(op.identitiesOnly, "no"))
	put("batchmode", yesno(op.batchMode, "no"))
	put("passwordauthentication", yesno(op.passwordAuth, "yes"))
	put("kbdinteractiveauthentication", yesno(op.kbdAuth, "yes"))
	put("pubkeyauthentication", orDefault(op.pubkeyAuth, "true"))
	put("stricthostkeychecking", orDefault(op.strictHostKey, "ask"))
	put("addressfamily", orDefault(op.addressFamily, "any"))
	if op.connectTimeout < 0 {
		put("connecttimeout", "none")
	} else {
		put("connecttimeout", strconv.Itoa(op.connectTimeout))
	}
	if len(op.globalKnown) == 0 {
		put("globalknownhostsfile", openSSHDefaults["globalknownhostsfile"])
	} else {
		put("globalknownhostsfile", strings.Join(op.globalKnown, " "))
	}
	if alias.set {
		put("hostkeyalias", alias.v)
	}
	if op.preferredAuth.set {
		put("preferredauthentications", op.preferredAuth.v)
	}

	// Token expansion, as ssh.c does before dumping the configuration.
	short, _, _ := strings.Cut(ev.lHost, ".")
	keyAlias := ev.hostArg
	if alias.set {
		keyAlias = alias.v
	}
	sum := sha1.Sum([]byte(ev.lHost + ev.host + strconv.Itoa(port) + user))
	tokens := map[byte]string{
		'C': hex.EncodeToString(sum[:]), 'L': short, 'i': strconv.Itoa(ev.uid),
		'k': keyAlias, 'l': ev.lHost, 'n': ev.hostArg, 'p': strconv.Itoa(port),
		'd': ev.home, 'h': ev.host, 'r': user, 'u': ev.lUser,
	}
	expand := func(what, s string) (string, error) {
		t, err := ev.tilde(s)
		if err != nil {
			return "", err
		}
		v, err := percentExpand(t, tokens, ev.env)
		if err != nil {
			return "", fmt.Errorf("dest: ssh config: %s %q: %w", what, s, err)
		}
		return v, nil
	}
	if op.identityAgent.set {
		v, err := expand("IdentityAgent", op.identityAgent.v)
		if err != nil {
			return nil, err
		}
		put("identityagent", v)
	}
	known := op.userKnownHosts
	if len(known) == 0 {
		known = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	var kh []string
	for _, f := range known {
		v, err := expand("UserKnownHostsFile", f)
		if err != nil {
			return nil, err
		}
		kh = append(kh, v)
	}
	put("userknownhostsfile", strings.Join(kh, " "))

	if jump {
		numeric := strings.Contains(op.jumpHost, ":") || strings.Trim(op.jumpHost, "1234567890.") == ""
		var b strings.Builder
		if op.jumpExtra != "" {
			b.WriteString(op.jumpExtra + ",")
		}
		if op.jumpUser != "" {
			b.WriteString(op.jumpUser + "@")
		}
		if numeric {
			b.WriteString("[" + op.jumpHost + "]")
		} else {
			b.WriteString(op.jumpHost)
		}
		if op.jumpPort > 0 {
			b.WriteString(":" + strconv.Itoa(op.jumpPort))
		}
		put("proxyjump", b.String())
	} else if proxyCommand.set {
		put("proxycommand", proxyCommand.v)
	}
	if len(ev.notes) > 0 {
		c[NotesKey] = ev.notes
	}
	return c, nil
}

// assembleNames applies a configured algorithm list to the defaults, as
// OpenSSH's kex_assemble_names: "+" appends, "-" removes, "^" puts first,
// a plain list replaces; patterns expand against every supported name.
func assembleNames(s setStr, def string, all []string) (string, error) {
	if !s.set || s.v == "" {
		return def, nil
	}
	list := s.v
	switch list[0] {
	case '+':
		list = namesCat(def, list[1:])
	case '-':
		var keep []string
		for _, n := range strings.Split(def, ",") {
			if matchPatternList(n, list[1:], false) != 1 {
				keep = append(keep, n)
			}
		}
		return strings.Join(keep, ","), nil
	case '^':
		list = namesCat(list[1:], def)
	}
	ret := ""
	for _, p := range strings.Split(list, ",") {
		if strings.HasPrefix(p, "!") {
			return "", errors.New("negated names are not allowed here")
		}
		var m []string
		for _, a := range all {
			if matchPatternList(a, p, false) == 1 {
				m = append(m, a)
			}
		}
		ret = namesCat(ret, strings.Join(m, ","))
	}
	if ret == "" {
		return "", errors.New("no supported algorithm left")
	}
	return ret, nil
}

// namesCat appends the names of b that a lacks, as kex_names_cat.
func namesCat(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	have := map[string]bool{}
	for _, n := range strings.Split(a, ",") {
		have[n] = true
	}
	out := a
	for _, n := range strings.Split(b, ",") {
		if n == "" {
			break
		}
		if !have[n] {
			have[n] = true
			out += "," + n
		}
	}
	return out
}

// namesValid reports whether every name of a list (up to an empty element)
// is a supported algorithm, as ciphers_valid, mac_valid, kex_names_valid.
func namesValid(all []string) func(string) bool {
	return func(list string) bool {
		if list == "" {
			return false
		}
		for _, n := range strings.Split(list, ",") {
			if n == "" {
				break
			}
			if !contains(all, n) {
				return false
			}
		}
		return true
	}
}

// keyNamesValid is sshkey_names_valid2 with wildcards allowed: a pattern
// is valid when it matches (or excludes) some key type.
func keyNamesValid(list string) bool {
	if list == "" {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		if n == "" {
			break
		}
		if contains(keyAll, n) {
			continue
		}
		ok := false
		for _, k := range keyAll {
			if matchPatternList(k, n, false) != 0 {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every algorithm OpenSSH 9.2 (Debian, OpenSSL) supports, in `ssh -Q`
// order: wildcards expand in this order.
var (
	cipherAll = strings.Split("3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com", ",")
	macAll    = strings.Split("hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com", ",")
	kexAll    = strings.Split("diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com", ",")
	keyAll    = strings.Split("ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com", ",")
)

// openSSHDefaults are the values `ssh -G -F none` prints on OpenSSH 9.2 for
// the options sshdoctor reads.
var openSSHDefaults = map[string]string{
	"port":                         "22",
	"addressfamily":                "any",
	"batchmode":                    "no",
	"connecttimeout":               "none",
	"identitiesonly":               "no",
	"pubkeyauthentication":         "true",
	"passwordauthentication":       "yes",
	"kbdinteractiveauthentication": "yes",
	"stricthostkeychecking":        "ask",
	"userknownhostsfile":           "~/.ssh/known_hosts ~/.ssh/known_hosts2",
	"globalknownhostsfile":         "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
	"kexalgorithms":                "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
	"hostkeyalgorithms":            "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
	"ciphers":                      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	"macs":                         "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	"pubkeyacceptedalgorithms":     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
}

// cursor is a position in a line for strdelim; null is C's NULL pointer,
// which is not the same as an empty remainder.
type cursor struct {
	s    string
	null bool
}

// strdelim returns the next token of a configuration line the way
// OpenSSH's strdelim does: split at white space or one '=', with "double
// quotes" grouping. It reports false for an unterminated quote or when the
// line is used up.
func strdelim(c *cursor) (string, bool) {
	if c.null {
		return "", false
	}
	const ws = " \t\r\n"
	i := strings.IndexAny(c.s, ws+"\"=")
	if i < 0 {
		old := c.s
		c.null, c.s = true, ""
		return old, true
	}
	if c.s[i] == '"' {
		head := c.s[:i]
		rest := c.s[i+1:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			c.null, c.s = true, ""
			return "", false
		}
		tok := head + rest[:j]
		c.s = strings.TrimLeft(rest[j+1:], ws)
		return tok, true
	}
	eq := c.s[i] == '='
	tok := c.s[:i]
	rest := strings.TrimLeft(c.s[i+1:], ws)
	if !eq && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], ws)
	}
	c.s = rest
	return tok, true
}

// argvSplit splits the arguments of a configuration line as OpenSSH's
// argv_split: white space separates, quotes group, backslash escapes
// quotes, backslash and space, and '#' at the start of a word ends the line.
func argvSplit(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			continue
		}
		if s[i] == '#' {
			break
		}
		var arg []byte
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')) {
					i++
					arg = append(arg, s[i])
				} else {
					arg = append(arg, c)
				}
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				arg = append(arg, c)
				continue
			}
			break
		}
		out = append(out, string(arg))
		if i >= len(s) {
			if quote != 0 {
				return nil, errors.New("unterminated quote")
			}
			break
		}
	}
	return out, nil
}

// matchPattern matches s against a pattern with '*' and '?', byte by byte
// and case-sensitively, as OpenSSH's match_pattern. It runs in O(len(s) *
// len(p)) whatever the pattern.
func matchPattern(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchPatternList matches s against a comma-separated pattern list, as
// OpenSSH's match_pattern_list: 1 for a match, -1 when a negated pattern
// matches, 0 otherwise. With lower, patterns are lower-cased first.
func matchPatternList(s, list string, lower bool) int {
	got := 0
	for list != "" {
		neg := list[0] == '!'
		if neg {
			list = list[1:]
		}
		sub := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			sub, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		if len(sub) >= 1023 {
			return 0
		}
		if lower {
			sub = asciiLower(sub)
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func eqFold(a, b string) bool { return len(a) == len(b) && asciiLower(a) == asciiLower(b) }
