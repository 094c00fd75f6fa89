package dest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
