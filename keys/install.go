package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/report"
)

// InstallOptions describe `keys install`.
type InstallOptions struct {
	// Connect says where to log in and how.
	Connect ConnectOptions
	// Key is the key to install.
	Key *PublicKey
	// AuthorizedKeysFiles are the server's AuthorizedKeysFile patterns, in
	// sshd's syntax (%h, %u, %U, %%, ~, relative to the home directory).
	// The key is looked for in all of them and installed in the first.
	// Empty means sshd's default, DefaultAuthorizedKeysFiles.
	AuthorizedKeysFiles []string
}

// Install does what ssh-copy-id does: it logs in with whatever works,
// appends the key to authorized_keys unless the server already has it
// (with the modes StrictModes wants), and then proves it with a new login
// that uses that key alone.
func Install(ctx context.Context, o InstallOptions) *Result {
	r := newResult("install", o.Connect.Target)
	r.Key = o.Key.info()
	rec := &recorder{r: r}
	rec.begin()
	rec.ok("destination", o.Connect.Target.String())
	c, err := connect(ctx, o.Connect, rec)
	if err != nil {
		return rec.fail(err, "connect")
	}
	defer c.Close()
	if err := installStep(ctx, c, o.Key, o.AuthorizedKeysFiles, rec); err != nil {
		return rec.fail(err, "install")
	}
	how, err := verify(ctx, c, o.Key, o.Connect.Prompt, r)
	if err != nil {
		return rec.fail(verifyError(r.AuthorizedKeys, o.Connect.Target, o.Key, err), "verify")
	}
	r.Verified = how
	if how == "query" {
		rec.warn("verify", "the server accepts the key (no private key at hand to log in with)")
	} else {
		rec.ok("verify", "a new login with this key alone ran 'true'")
	}
	r.OK = true
	return r
}

func newResult(action string, t *dest.Resolved) *Result {
	r := &Result{Action: action, Steps: []report.Step{}, Findings: []check.Finding{}}
	if t != nil {
		r.Target = &report.Target{Input: t.Input, Host: t.HostName, Port: t.Port, User: t.User, Addresses: []string{}}
	}
	return r
}

func (k *PublicKey) info() *KeyInfo {
	ki := keyInfo(k.Key, k.Comment, "file")
	ki.File, ki.PublicFile, ki.Encrypted = k.PrivateFile, k.PubFile, k.Encrypted
	switch {
	case k.Signer != nil:
		ki.Source = "generated"
	case k.PubFile == "" && k.PrivateFile == "":
		ki.Source = "string"
	}
	return ki
}

// connect logs in and records the connect, hostkey and auth steps.
func connect(ctx context.Context, o ConnectOptions, rec *recorder) (*Conn, error) {
	c, err := Connect(ctx, o)
	if err != nil {
		var ke *Error
		if errors.As(err, &ke) {
			// The steps before the failing one passed.
			switch ke.Step {
			case "hostkey":
				rec.ok("connect", "")
			case "auth":
				rec.ok("connect", "")
				rec.ok("hostkey", "")
			}
		}
		return nil, err
	}
	r := rec.r
	r.Target.Addresses = append(r.Target.Addresses, c.Addr.Addr().String())
	r.Notes = append(r.Notes, c.Notes...)
	rec.ok("connect", c.Addr.String()+", "+report.Escape(c.ServerVersion))
	hk := c.HostKey.Type() + " " + ssh.FingerprintSHA256(c.HostKey)
	rec.ok("hostkey", hk+" ("+c.HostKeyFrom+")")
	r.Login = &LoginInfo{Method: c.Method, HostKey: hk, HostKeyFrom: c.HostKeyFrom}
	detail := c.Method
	if c.Key != nil {
		src := "file"
		if c.Key.InAgent {
			src = "agent"
		}
		ki := keyInfo(c.Key.Key, c.Key.Comment, src)
		ki.File = c.Key.Path
		if c.Key.PubFrom != "" && c.Key.PubFrom != "agent" && c.Key.PubFrom != c.Key.Path {
			ki.PublicFile = c.Key.PubFrom
		}
		r.Login.Key = ki
		detail = fmt.Sprintf("publickey %s %s (%s)", ki.Type, ki.Fingerprint, keySource(ki))
	}
	rec.ok("auth", detail)
	return c, nil
}

func keySource(ki *KeyInfo) string {
	switch {
	case ki.Source == "agent" && ki.File != "":
		return "agent, " + ki.File
	case ki.File != "":
		return ki.File
	}
	return ki.Source
}

// authorizedKeysPaths asks the server who the login is and expands the
// AuthorizedKeysFile patterns for it.
func authorizedKeysPaths(ctx context.Context, c *Conn, patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		patterns = DefaultAuthorizedKeysFiles
	}
	acct, err := c.Account(ctx)
	if err != nil {
		return nil, remoteFailure("install", "asking the server for the home directory", err)
	}
	var paths []string
	for _, p := range patterns {
		x, err := ExpandAuthorizedKeysFile(p, acct)
		if err != nil {
			return nil, &Error{Step: "install", Reason: ReasonRemote, Message: err.Error(), Hint: "write --authorized-keys-file as sshd's AuthorizedKeysFile"}
		}
		paths = append(paths, x)
	}
	return paths, nil
}

// installStep appends the key to the first authorized_keys file unless one
// of them already authorizes it.
func installStep(ctx context.Context, c *Conn, key *PublicKey, patterns []string, rec *recorder) error {
	r := rec.r
	paths, err := authorizedKeysPaths(ctx, c, patterns)
	if err != nil {
		return err
	}
	for i, p := range paths {
		data, ok, err := c.ReadFile(ctx, p)
		if err != nil {
			if i == 0 {
				return remoteFailure("install", "reading "+p, err)
			}
			r.Notes = append(r.Notes, fmt.Sprintf("could not read %s on the server: %v", p, err))
			continue
		}
		if !ok {
			continue
		}
		if found := FindKey(data, key.Key); len(found) > 0 {
			r.AuthorizedKeys, r.AlreadyInstalled = p, true
			detail := fmt.Sprintf("already in %s line %d; nothing written", p, found[0].Line)
			if len(found[0].Options) > 0 {
				detail += " (options " + report.Escape(strings.Join(found[0].Options, ",")) + ")"
			}
			rec.ok("install", detail)
			return nil
		}
	}
	if err := c.AppendLine(ctx, paths[0], key.Line()); err != nil {
		return remoteFailure("install", "adding the key to "+paths[0], err)
	}
	r.AuthorizedKeys = paths[0]
	rec.ok("install", "added to "+paths[0])
	return nil
}

func remoteFailure(step, doing string, err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	return &Error{Step: step, Reason: ReasonRemote, Message: fmt.Sprintf("%s: %v", doing, err),
		Hint: "the commands run under sh on the server; check the account has a POSIX shell and no forced command"}
}

// verify proves the installed key: a real login with it alone when its
// private half is at hand (in memory, in the agent, or a file, asking for
// its passphrase at the terminal), else the server's answer to a query
// for it, which needs no signature.
func verify(ctx context.Context, c *Conn, key *PublicKey, prompt Prompter, r *Result) (string, error) {
	signer := key.Signer
	if signer == nil {
		signer = agentSigners(c.agent)[key.Fingerprint()]
	}
	if signer == nil && key.PrivateFile != "" && (!key.Encrypted || prompt != nil) {
		s, err := loadPrivateKey(key.PrivateFile, key.Key, prompt, nil)
		if err != nil {
			r.Notes = append(r.Notes, "the key's private half could not be used to log in ("+err.Error()+"); the server was asked about the key instead")
		}
		signer = s
	}
	if signer == nil {
		ok, err := c.Accepts(ctx, key.Key)
		switch {
		case err != nil:
			return "", err
		case !ok:
			return "", errors.New("the server refuses the key")
		}
		return "query", nil
	}
	if err := c.LoginWith(ctx, signer); err != nil {
		return "", err
	}
	return "login", nil
}

func verifyError(file string, t *dest.Resolved, key *PublicKey, err error) *Error {
	return &Error{Step: "verify", Reason: ReasonVerify,
		Message: fmt.Sprintf("the server does not let %s in with the key in %s: %s", t.User, file, report.Escape(err.Error())),
		Hint: fmt.Sprintf("sshd may read another AuthorizedKeysFile ('sshd -T | grep -i authorizedkeysfile' on the server tells; give it with --authorized-keys-file) or refuse the key; 'sshdoctor server --user %s --key \"%s\"' on the server says why",
			t.User, key.Line())}
}
