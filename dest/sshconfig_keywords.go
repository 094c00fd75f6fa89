package dest

import (
	"fmt"
	"strconv"
	"strings"
)

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
