package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/keys"
	"github.com/sshdoctor/sshdoctor/report"
)

// keysReport is the JSON document of the keys commands: the contract's
// schema and command, then what the action did.
type keysReport struct {
	Schema  string `json:"schema"`
	Command string `json:"command"`
	*keys.Result
}

const keysUsage = `Usage:
  sshdoctor keys new [--type ed25519|ecdsa|rsa] [--file PATH] [--comment C] [--passphrase] [--host ALIAS]
  sshdoctor keys install DEST [--key PUB]
  sshdoctor keys rotate DEST

  new      write an OpenSSH key pair (ed25519 unless --type), private 0600, public 0644;
           --host adds it as that Host's IdentityFile
  install  add a public key to DEST's authorized_keys, as ssh-copy-id does, logging in
           with what already works (agent, keys, or a password typed at the terminal),
           then prove it with a new login that uses the key alone
  rotate   make a new key, install it, prove a login with it, only then remove the key
           that logged in from authorized_keys, and point IdentityFile at the new key

Run 'sshdoctor keys COMMAND --help' for the flags.
`

func runKeys(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("run 'sshdoctor keys --help'", "keys needs a command: new, install or rotate")
	}
	switch args[0] {
	case "-h", "--help", "help":
		io.WriteString(e.stdout, keysUsage)
		return nil
	case "new":
		return runKeysNew(e, args[1:])
	case "install":
		return runKeysRemote(e, "install", args[1:])
	case "rotate":
		return runKeysRemote(e, "rotate", args[1:])
	}
	return usagef("run 'sshdoctor keys --help'", "unknown keys command %q (want new, install or rotate)", args[0])
}

// keyGenFlags describe a key to make (keys new, keys rotate).
type keyGenFlags struct {
	typ        string
	bits       int
	file       string
	comment    string
	passphrase bool
}

func (k *keyGenFlags) register(fs *flagSet) {
	fs.StringVar(&k.typ, "type", "", "key type: ed25519 (default), ecdsa or rsa")
	fs.StringVar(&k.typ, "t", "", "key type: ed25519 (default), ecdsa or rsa")
	fs.IntVar(&k.bits, "bits", 0, "key size: RSA 2048-16384 (default 3072), ECDSA 256, 384 or 521")
	fs.IntVar(&k.bits, "b", 0, "key size: RSA 2048-16384 (default 3072), ECDSA 256, 384 or 521")
	fs.StringVar(&k.file, "file", "", "private key file to write (its public key goes to FILE.pub)")
	fs.StringVar(&k.file, "f", "", "private key file to write (its public key goes to FILE.pub)")
	fs.StringVar(&k.comment, "comment", "", "key comment (default user@host)")
	fs.StringVar(&k.comment, "C", "", "key comment (default user@host)")
	fs.BoolVar(&k.passphrase, "passphrase", false, "protect the private key with a passphrase typed at the terminal")
}

// options validates the flags and asks for the passphrase at the terminal.
func (k *keyGenFlags) options(tty keys.Prompter) (keys.NewOptions, error) {
	typ, err := keys.NormalizeType(k.typ)
	if err != nil {
		return keys.NewOptions{}, usagef("give --type ed25519, ecdsa or rsa", "unknown key type %q", k.typ)
	}
	comment := k.comment
	if comment == "" {
		comment = defaultComment()
	}
	if err := keys.ValidComment(comment); err != nil {
		return keys.NewOptions{}, usagef("give a comment on one line", "%s", strings.TrimPrefix(err.Error(), "keys: "))
	}
	o := keys.NewOptions{Type: typ, Bits: k.bits, Comment: comment}
	if k.passphrase {
		if tty == nil {
			return o, usagef("run it from a terminal, or drop --passphrase", "--passphrase needs a terminal to type the passphrase at")
		}
		p1, err := tty.Secret("Enter passphrase: ")
		if err != nil {
			return o, err
		}
		p2, err := tty.Secret("Enter same passphrase again: ")
		if err != nil {
			return o, err
		}
		same := bytes.Equal(p1, p2)
		clear(p2)
		switch {
		case !same:
			clear(p1)
			return o, usagef("run it again and type the same passphrase twice", "the passphrases do not match")
		case len(p1) == 0:
			return o, usagef("drop --passphrase for a key without one", "the passphrase is empty")
		}
		o.Passphrase = p1
	}
	return o, nil
}

// defaultComment is ssh-keygen's: user@host.
func defaultComment() string {
	name := "user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// openTTY returns the terminal prompter, or nil when there is none.
func openTTY() (*keys.TTY, keys.Prompter) {
	t, err := keys.OpenTTY()
	if err != nil {
		return nil, nil
	}
	return t, t
}

func runKeysNew(e *env, args []string) error {
	fs := newFlagSet("keys new", "sshdoctor keys new [--type ed25519|ecdsa|rsa] [--bits N] [--file PATH] [--comment C] [--passphrase] [--host ALIAS [-F FILE]] [--json]")
	var kf keyGenFlags
	kf.register(fs)
	host := fs.String("host", "", "add IdentityFile for the new key to this Host of the ssh client configuration")
	var cfg string
	fs.StringVar(&cfg, "F", "", "ssh client configuration to edit with --host (default ~/.ssh/config)")
	fs.StringVar(&cfg, "ssh-config", "", "ssh client configuration to edit with --host (default ~/.ssh/config)")
	asJSON := fs.Bool("json", false, "print one JSON document (schema sshdoctor/v1) and nothing else on stdout")
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys new takes flags only; give the file with --file", "unexpected argument %q", pos[0])
	}
	if cfg == "none" && *host != "" {
		return usagef("drop --host, or give a configuration file with -F", "--host needs a configuration file to edit, and -F is none")
	}
	if *host != "" && strings.ContainsAny(*host, " \t\"") {
		return usagef("give one Host alias", "--host %q holds white space or quotes", *host)
	}
	closer, tty := openTTY()
	if closer != nil {
		defer closer.Close()
	}
	o, err := kf.options(tty)
	if err != nil {
		return err
	}
	defer clear(o.Passphrase)
	r := keys.Create(keys.CreateOptions{New: o, Path: kf.file, Home: homeOf(e), Host: *host, ConfigFile: cfg})
	return e.renderKeys(r, *asJSON)
}

func runKeysRemote(e *env, action string, args []string) error {
	synopsis := "sshdoctor keys install [flags] DEST [--key PUB]"
	if action == "rotate" {
		synopsis = "sshdoctor keys rotate [flags] DEST [--type T] [--file PATH] [--comment C] [--passphrase]"
	}
	fs := newFlagSet("keys "+action, synopsis)
	var df diagFlags
	fs.BoolVar(&df.json, "json", false, "print one JSON document (schema sshdoctor/v1) and nothing else on stdout")
	fs.Var(&df.port, "p", "port to connect to, as in ssh")
	fs.Var(&df.port, "port", "port to connect to, as in ssh")
	fs.StringVar(&df.user, "l", "", "user to log in as, as in ssh")
	fs.StringVar(&df.user, "user", "", "user to log in as, as in ssh")
	iHelp := "identity file to log in with (repeatable), as in ssh"
	if action == "rotate" {
		iHelp = "the key to rotate: log in with this identity file only (repeatable)"
	}
	fs.Var(&df.identities, "i", iHelp)
	fs.Var(&df.knownHosts, "known-hosts", "known_hosts file to check the host key with (repeatable); an accepted new key is added to the first")
	fs.StringVar(&df.sshConfig, "F", "", "ssh client config file to resolve DEST with; 'none' for none")
	fs.StringVar(&df.sshConfig, "ssh-config", "", "ssh client config file to resolve DEST with; 'none' for none")
	fs.Var(&df.timeout, "timeout", "per-step network timeout (default 5s, or ConnectTimeout)")
	var opts stringList
	fs.Var(&opts, "o", "ssh option for resolving DEST, as in ssh (repeatable)")
	v4 := fs.Bool("4", false, "IPv4 only, as in ssh")
	v6 := fs.Bool("6", false, "IPv6 only, as in ssh")
	akf := fs.String("authorized-keys-file", "", "the server's AuthorizedKeysFile, in sshd's syntax (default .ssh/authorized_keys .ssh/authorized_keys2)")
	var keySpec string
	var kf keyGenFlags
	if action == "install" {
		fs.StringVar(&keySpec, "key", "", "public key to install: a .pub file, a private key file, or the key line itself (default: the newest ~/.ssh/id*.pub)")
	} else {
		kf.register(fs)
	}
	pos, err := fs.parse(args, e.stdout)
	if err == errHelp {
		return nil
	} else if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usagef("for example: sshdoctor keys "+action+" user@host", "keys %s needs a DEST", action)
	case 1:
	default:
		return usagef("give exactly one DEST", "unexpected argument %q", pos[1])
	}
	if *v4 && *v6 {
		return usagef("give -4 or -6, not both", "-4 and -6 exclude each other")
	}
	for _, f := range df.identities {
		if _, err := os.Stat(f); err != nil {
			if _, err2 := os.Stat(f + ".pub"); err2 != nil {
				return usagef("give an existing private key (or its .pub)", "cannot read identity file %s", f)
			}
		}
	}
	home := homeOf(e)
	var pub *keys.PublicKey
	if action == "install" {
		if keySpec == "" {
			if keySpec, err = keys.DefaultPublicKey(home); err != nil {
				return usagef("make one with 'sshdoctor keys new', or give --key", "%s", strings.TrimPrefix(err.Error(), "keys: "))
			}
		}
		if pub, err = keys.LoadPublicKey(keySpec); err != nil {
			return usagef("give --key a .pub file, a private key file or a public key line", "%s", strings.TrimPrefix(err.Error(), "keys: "))
		}
	}
	d, err := dest.Parse(pos[0])
	if err != nil {
		var de *dest.Error
		if errors.As(err, &de) {
			return &UsageError{Msg: de.Error(), Hint: de.Hint}
		}
		return err
	}
	dopts := dest.Options{ConfigFile: df.sshConfig, Port: int(df.port), User: df.user, Identities: df.identities, Extra: opts, Env: e.getenv, Home: home}
	if *v4 {
		dopts.Family = 4
	} else if *v6 {
		dopts.Family = 6
	}
	t, err := dest.Resolve(e.ctx, d, dopts)
	if err != nil {
		var de *dest.Error
		if errors.As(err, &de) {
			return &UsageError{Msg: de.Error(), Hint: de.Hint}
		}
		return err
	}
	var akFiles []string
	if *akf != "" {
		akFiles = strings.Fields(*akf)
	}
	closer, tty := openTTY()
	if closer != nil {
		defer closer.Close()
	}
	agentSock := t.IdentityAgent
	switch agentSock {
	case "":
		agentSock = e.getenv("SSH_AUTH_SOCK")
	case "none":
		agentSock = ""
	}
	co := keys.ConnectOptions{Target: t, KnownHosts: df.knownHosts, Timeout: time.Duration(df.timeout), AgentSocket: agentSock, Prompt: tty}
	var r *keys.Result
	if action == "install" {
		r = keys.Install(e.ctx, keys.InstallOptions{Connect: co, Key: pub, AuthorizedKeysFiles: akFiles})
	} else {
		newOpts, err := kf.options(tty)
		if err != nil {
			return err
		}
		defer clear(newOpts.Passphrase)
		co.OnlyIdentities = df.identities
		cfg := df.sshConfig
		r = keys.Rotate(e.ctx, keys.RotateOptions{Connect: co, New: newOpts, Path: kf.file, Home: home, ConfigFile: cfg, AuthorizedKeysFiles: akFiles})
	}
	if err := e.ctx.Err(); err != nil {
		return err
	}
	return e.renderKeys(r, df.json)
}

// renderKeys prints a keys result and returns its exit status: 0 when the
// action was done, 1 when it was not (the output says why).
func (e *env) renderKeys(r *keys.Result, asJSON bool) error {
	var err error
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(keysReport{Schema: report.Schema, Command: "keys", Result: r})
	} else {
		_, err = io.WriteString(e.stdout, keysText(r, e.color()))
	}
	if err != nil {
		return err
	}
	if !r.OK {
		return exitError(report.ExitFailed)
	}
	return nil
}

// keysText renders a keys result for people: one sentence, the steps, then
// the findings and notes. Everything is escaped: server versions, messages
// and paths may hold anything.
func keysText(r *keys.Result, color bool) string {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	var b strings.Builder
	if r.OK {
		fmt.Fprintf(&b, "%s %s\n", paint("32", "✓"), paint("1", report.Escape(keysHeadline(r))))
	} else {
		fmt.Fprintf(&b, "%s %s\n", paint("31", "✗"), paint("1", report.Escape("keys "+r.Action+" failed: "+r.Error.Message)))
		if r.Error.Hint != "" {
			fmt.Fprintf(&b, "  %s %s\n", paint("32", "hint:"), report.Escape(r.Error.Hint))
		}
	}
	if len(r.Steps) > 0 {
		b.WriteString("\n")
		width := 0
		for _, s := range r.Steps {
			width = max(width, len(s.Name))
		}
		for _, s := range r.Steps {
			mark := paint("32", "✓")
			switch s.Status {
			case report.StepFail:
				mark = paint("31", "✗")
			case report.StepWarn:
				mark = paint("33", "!")
			}
			fmt.Fprintf(&b, "%s\n", strings.TrimRight(fmt.Sprintf("  %s %-*s  %s", mark, width, s.Name, report.Escape(s.Detail)), " "))
		}
	}
	for _, f := range r.Findings {
		sev := map[check.Severity]string{check.SeverityError: "31", check.SeverityWarning: "33"}[f.Severity]
		if sev == "" {
			sev = "2"
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n  %s\n", paint(sev, string(f.Severity)), paint("1", f.Code), report.Escape(f.Title), report.Escape(f.Detail))
		if f.Fix != nil {
			fmt.Fprintf(&b, "  %s %s\n", paint("32", "fix:"), report.Escape(f.Fix.Summary))
			for _, c := range f.Fix.Commands {
				fmt.Fprintf(&b, "    %s\n", report.Escape(c))
			}
			if f.Fix.Warning != "" {
				fmt.Fprintf(&b, "  %s %s\n", paint("33", "warning:"), report.Escape(f.Fix.Warning))
			}
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  - %s\n", report.Escape(n))
		}
	}
	return b.String()
}

func keysHeadline(r *keys.Result) string {
	k := r.Key
	who := ""
	if r.Target != nil {
		who = r.Target.User + "@" + r.Target.Host
		if r.Target.Port != 22 {
			who += fmt.Sprintf(" port %d", r.Target.Port)
		}
	}
	switch r.Action {
	case "new":
		s := fmt.Sprintf("Made the %s key %s: %s (private, 0600) and %s (public, 0644)", k.Type, k.Fingerprint, k.File, k.PublicFile)
		if k.Encrypted {
			s += ", protected by a passphrase"
		}
		return s + "."
	case "install":
		proof := "a login with it alone works"
		if r.Verified == "query" {
			proof = "the server accepts it (not proven with a login: its private key was not at hand)"
		}
		if r.AlreadyInstalled {
			return fmt.Sprintf("%s was already authorized for %s (%s); nothing was written, and %s.", k.Fingerprint, who, r.AuthorizedKeys, proof)
		}
		return fmt.Sprintf("Installed %s %s for %s in %s; %s.", k.Type, k.Fingerprint, who, r.AuthorizedKeys, proof)
	case "rotate":
		old := ""
		if r.OldKey != nil {
			old = r.OldKey.Fingerprint
		}
		if !r.OldKeyRefused {
			return fmt.Sprintf("Rotated the key for %s: the new key %s (%s) logs in and the old key %s was removed (whether the server still accepts it could not be checked).", who, k.Fingerprint, k.File, old)
		}
		return fmt.Sprintf("Rotated the key for %s: the new key %s (%s) logs in, and the server refuses the old key %s.", who, k.Fingerprint, k.File, old)
	}
	return "Done."
}
