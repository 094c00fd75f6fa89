package cli

import (
	"errors"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/report"
)

// diagFlags are the flags every diagnosing command understands (CONTRACT.md).
type diagFlags struct {
	json       bool
	port       portFlag
	user       string
	identities stringList
	knownHosts stringList
	sshConfig  string
	timeout    durationFlag
	ports      portList
	// Set by check only.
	extra  []string
	v4, v6 bool
}

// checkOptions validates the diagnosing flags and turns them into the
// options of a client diagnosis.
func checkOptions(e *env, destination string, df diagFlags) (diag.CheckOptions, error) {
	for _, f := range df.knownHosts {
		if _, err := os.Stat(f); err != nil {
			return diag.CheckOptions{}, usagef("give an existing known_hosts file", "cannot read --known-hosts %s: %v", f, errors.Unwrap(err))
		}
	}
	for _, f := range df.identities {
		if _, err := os.Stat(f); err != nil {
			if _, err2 := os.Stat(f + ".pub"); err2 != nil {
				return diag.CheckOptions{}, usagef("give an existing private key (or its .pub)", "cannot read identity file %s", f)
			}
		}
	}
	o := diag.CheckOptions{
		Input: destination,
		Dest: dest.Options{
			ConfigFile: df.sshConfig, Port: int(df.port), User: df.user,
			Identities: df.identities, Extra: df.extra, Env: e.getenv,
		},
		Timeout: time.Duration(df.timeout),
		Ports:   df.ports,
		Env:     e.getenv,
	}
	if df.knownHosts != nil {
		o.KnownHosts = df.knownHosts
	}
	if df.v4 {
		o.Dest.Family = 4
	} else if df.v6 {
		o.Dest.Family = 6
	}
	return o, nil
}

func (d *diagFlags) register(fs *flagSet) {
	fs.BoolVar(&d.json, "json", false, "print one JSON report (schema sshdoctor/v1) and nothing else on stdout")
	fs.Var(&d.port, "p", "port to connect to, as in ssh")
	fs.Var(&d.port, "port", "port to connect to, as in ssh")
	fs.StringVar(&d.user, "l", "", "user to log in as, as in ssh")
	fs.StringVar(&d.user, "user", "", "user to log in as, as in ssh")
	fs.Var(&d.identities, "i", "identity file to test (repeatable), as in ssh")
	fs.Var(&d.knownHosts, "known-hosts", "known_hosts file to compare the host key with (repeatable)")
	fs.StringVar(&d.sshConfig, "F", "", "ssh client config file to resolve DESTINATION with; 'none' for none")
	fs.StringVar(&d.sshConfig, "ssh-config", "", "ssh client config file to resolve DESTINATION with; 'none' for none")
	fs.Var(&d.timeout, "timeout", "per-step network timeout (default 5s, or ConnectTimeout)")
	fs.Var(&d.ports, "ports", "extra ports to look for SSH on when the port fails (comma-separated)")
}

func runCheck(e *env, args []string) error {
	fs := newFlagSet("check", "sshdoctor check [flags] DESTINATION")
	var df diagFlags
	df.register(fs)
	var opts stringList
	fs.Var(&opts, "o", "ssh option for resolving DESTINATION, as in ssh (repeatable)")
	v4 := fs.Bool("4", false, "IPv4 only, as in ssh")
	v6 := fs.Bool("6", false, "IPv6 only, as in ssh")
	login := fs.Bool("login", false, "log in for real with the accepted key and run 'true' (the only time sshdoctor signs)")
	noServer := fs.Bool("no-server", false, "when DESTINATION is this machine, do not inspect its sshd as well")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usagef("for example: sshdoctor check user@host", "check needs a DESTINATION")
	case 1:
	default:
		return usagef("give exactly one DESTINATION; use 'sshdoctor scan' for several", "unexpected argument %q", pos[1])
	}
	if *v4 && *v6 {
		return usagef("give -4 or -6, not both", "-4 and -6 exclude each other")
	}
	df.extra, df.v4, df.v6 = opts, *v4, *v6
	o, err := checkOptions(e, pos[0], df)
	if err != nil {
		return err
	}
	o.Login = *login
	o.NoServer = *noServer
	r, _, err := diag.Check(e.ctx, o)
	if err != nil {
		var de *dest.Error
		if errors.As(err, &de) {
			return &UsageError{Msg: de.Error(), Hint: de.Hint}
		}
		return err
	}
	return e.render(r, df.json)
}

// render prints a report as JSON or text and returns its exit status.
func (e *env) render(r *report.Report, asJSON bool) error {
	var err error
	if asJSON {
		err = report.WriteJSON(e.stdout, r)
	} else {
		err = report.WriteText(e.stdout, r, report.TextOptions{Color: e.color()})
	}
	if err != nil {
		return err
	}
	return exitError(r.ExitCode())
}

// color reports whether stdout is a terminal and NO_COLOR is unset.
func (e *env) color() bool {
	if e.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := e.stdout.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}
