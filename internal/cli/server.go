package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sshdoctor/sshdoctor/fix"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/report"
)

// serverFlags are the flags of `server` (and of `fix` without DEST).
type serverFlags struct {
	root       string
	sshdConfig string
	user       string
	from       string
	key        string
	password   bool
	debug      bool
}

func (s *serverFlags) register(fs *flagSet) {
	fs.StringVar(&s.root, "root", "", "inspect a filesystem tree offline (a broken machine's disk mounted at DIR)")
	fs.StringVar(&s.sshdConfig, "sshd-config", "", "the sshd configuration to inspect (default /etc/ssh/sshd_config, under --root if given)")
	if fs.Lookup("user") == nil { // fix shares -l/--user with the client flags
		fs.StringVar(&s.user, "user", "", "evaluate whether this account can log in")
	}
	fs.StringVar(&s.from, "from", "", "evaluate for a client at this address (firewall, bans, Match blocks)")
	fs.StringVar(&s.key, "key", "", "check that this public key (a file or the key text) is authorized for --user")
	fs.BoolVar(&s.password, "password", false, "the user logs in with a password (password settings then matter)")
	fs.BoolVar(&s.debug, "debug", false, "print on stderr where sshdoctor's reading of sshd_config differs from sshd -T")
}

// options validates the flags.
func (s serverFlags) options() (diag.ServerOptions, error) {
	o := diag.ServerOptions{Root: s.root, SSHDConfig: s.sshdConfig, User: s.user, Key: s.key, NeedPassword: s.password}
	if s.from != "" {
		a, err := netip.ParseAddr(strings.Trim(s.from, "[]"))
		if err != nil {
			return o, usagef("give an IP address such as 203.0.113.7 or 2001:db8::7", "--from %q is not an IP address", s.from)
		}
		o.From = a.Unmap()
	}
	if s.key != "" && s.user == "" {
		return o, usagef("add --user NAME", "--key needs the account to look in")
	}
	return o, nil
}

func runServer(e *env, args []string) error {
	fs := newFlagSet("server", "sshdoctor server [--root DIR] [--sshd-config FILE] [--user NAME] [--from ADDR] [--key PUB] [--json]")
	var sf serverFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON report (schema sshdoctor/v1) and nothing else on stdout")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("server inspects this machine (or --root DIR); use 'check DEST' for another host", "unexpected argument %q", pos[0])
	}
	o, err := sf.options()
	if err != nil {
		return err
	}
	r, f, err := diag.Server(e.ctx, o)
	if err != nil {
		var ke *diag.KeyError
		if errors.As(err, &ke) {
			return usagef("give an existing directory, or a public key file or key text", "%v", ke)
		}
		return err
	}
	if sf.debug {
		for _, d := range f.Config.Disagreements {
			fmt.Fprintf(e.stderr, "sshdoctor: debug: sshd -T says %s = %q, sshdoctor read %q (a bug of ours: please report it)\n", d.Key, d.SSHD, d.Ours)
		}
		if b, err := json.MarshalIndent(f.Service, "", "  "); err == nil {
			fmt.Fprintf(e.stderr, "sshdoctor: debug: service facts: %s\n", b)
		}
		if f.Config.CrossCheckErr != nil {
			fmt.Fprintf(e.stderr, "sshdoctor: debug: the sshd -T cross-check did not run: %v\n", f.Config.CrossCheckErr)
		}
	}
	return e.render(r, *asJSON)
}

func runFixServer(e *env, sf serverFlags, only []string, apply, yes, asJSON bool, opts fix.Options) error {
	o, err := sf.options()
	if err != nil {
		return err
	}
	r, f, err := diag.Server(e.ctx, o)
	if err != nil {
		var ke *diag.KeyError
		if errors.As(err, &ke) {
			return usagef("give an existing directory, or a public key file or key text", "%v", ke)
		}
		return err
	}
	plan := fix.PlanServer(r.Findings, f, only)
	root := f.Sys.Root
	if root == "" {
		root = "/"
	}
	v := fix.SSHDValidator{Root: root, Config: f.Config.File}
	opts.Validate = v.Validate
	if f.Sys.Live {
		opts.Verify = fix.HandshakeVerifier{Addrs: fix.VerifyAddrs(e.getenv("SSH_CONNECTION"))}.Verify
	} else {
		opts.ConfirmTimeout = 0 // nothing runs offline: nothing can cut a connection
	}
	again := func() (*report.Report, error) {
		r2, _, err := diag.Server(e.ctx, o)
		return r2, err
	}
	return e.runPlan(r, plan, apply, yes, asJSON, opts, again)
}
