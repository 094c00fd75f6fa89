package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// RotateOptions describe `keys rotate`.
type RotateOptions struct {
	// Connect says where to log in and how; the key that logs in is the
	// old key, the one the rotation retires.
	Connect ConnectOptions
	// New describes the new key.
	New NewOptions
	// Path is where the new private key goes; empty means
	// ~/.ssh/id_TYPE_HOST_DATE (with a number added if that exists).
	Path string
	// Home is the local home directory.
	Home string
	// ConfigFile is the ssh client configuration to point at the new key;
	// "none" leaves every configuration alone; empty means ~/.ssh/config.
	ConfigFile string
	// AuthorizedKeysFiles are as in InstallOptions; the old key is removed
	// from all of them.
	AuthorizedKeysFiles []string
	// Now gives the date in the default file name; nil means time.Now.
	Now func() time.Time
}

// Rotate replaces the key that logs in to a server: 1. it makes a new key,
// 2. installs it, 3. proves a login with it alone, 4. only then removes the
// old key's lines from authorized_keys (every other byte kept), 5. points
// the Host's IdentityFile at the new key, and finally asks the server
// whether it still accepts the old key, which it must not. Any failure
// before step 4 leaves the old key working.
func Rotate(ctx context.Context, o RotateOptions) *Result {
	t := o.Connect.Target
	r := newResult("rotate", t)
	rec := &recorder{r: r}
	rec.begin()
	rec.ok("destination", t.String())
	c, err := connect(ctx, o.Connect, rec)
	if err != nil {
		return rec.fail(err, "connect")
	}
	defer c.Close()

	if c.Method != "publickey" || c.Key == nil {
		return rec.fail(&Error{Step: "auth", Reason: ReasonNoOldKey,
			Message: fmt.Sprintf("the login used %s, not a key, so there is no old key to replace; nothing was changed", c.Method),
			Hint:    "add a key with 'sshdoctor keys install " + t.Input + "', or name the key to rotate with -i"}, "auth")
	}
	old := *c.Key
	if _, cert := old.Key.(*ssh.Certificate); cert {
		return rec.fail(&Error{Step: "auth", Reason: ReasonNoOldKey,
			Message: "the login used a certificate, which the server trusts through its CA, not authorized_keys; nothing was changed",
			Hint:    "let the certificate expire or revoke it at the CA (RevokedKeys); rotate a plain key with -i"}, "auth")
	}
	r.OldKey = r.Login.Key

	// 1. A new key, written next to the others before anything changes on
	// the server, so that a failure later never leaves a key only in memory.
	pair, err := Generate(o.New)
	if err != nil {
		return rec.fail(&Error{Step: "generate", Reason: ReasonLocal, Message: plain(err)}, "generate")
	}
	path := o.Path
	if path == "" {
		path = defaultRotatePath(o.Home, pair.Public, t.Alias, o.Now)
	}
	if err := pair.WriteFiles(path); err != nil {
		hint := ""
		var ee *ExistsError
		if errors.As(err, &ee) {
			hint = "choose another --file"
		}
		return rec.fail(&Error{Step: "generate", Reason: ReasonLocal, Message: plain(err), Hint: hint}, "generate")
	}
	nk := &PublicKey{Key: pair.Public, Comment: pair.Comment, PubFile: path + ".pub", PrivateFile: path, Signer: pair.Signer, Encrypted: pair.Encrypted}
	r.Key = nk.info()
	rec.ok("generate", fmt.Sprintf("%s %s in %s", pair.Public.Type(), nk.Fingerprint(), path))

	// 2. Install it.
	if err := installStep(ctx, c, nk, o.AuthorizedKeysFiles, rec); err != nil {
		r.Notes = append(r.Notes, "the old key still works; the new key is in "+path)
		return rec.fail(err, "install")
	}

	// 3. Prove it with a login that uses the new key alone.
	if err := c.LoginWith(ctx, pair.Signer); err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("the old key was left in place and still works; the new key (%s) is in %s on the server but was not accepted", path, r.AuthorizedKeys))
		return rec.fail(verifyError(r.AuthorizedKeys, t, nk, err), "verify")
	}
	r.Verified = "login"
	rec.ok("verify", "a new login with the new key alone ran 'true'")

	// 4. Only now remove the old key.
	paths, err := authorizedKeysPaths(ctx, c, o.AuthorizedKeysFiles)
	if err != nil {
		return rec.fail(err, "remove-old")
	}
	for _, p := range paths {
		data, ok, err := c.ReadFile(ctx, p)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("could not read %s on the server: %v", p, err))
			continue
		}
		if !ok {
			continue
		}
		kept, removed := RemoveKey(data, old.Key)
		if len(removed) == 0 {
			continue
		}
		if err := c.ReplaceFile(ctx, p, data, kept); err != nil {
			r.Notes = append(r.Notes, "the new key works; log in with it and remove the old key's line by hand")
			return rec.fail(remoteFailure("remove-old", "removing the old key from "+p, err), "remove-old")
		}
		for _, l := range removed {
			r.Removed = append(r.Removed, RemovedLine{File: p, Line: l.Line, Options: l.Options})
			if HasOption(l.Options, "cert-authority") {
				r.Notes = append(r.Notes, fmt.Sprintf("%s line %d trusted the old key as a certificate authority; that trust is gone too", p, l.Line))
			}
		}
	}
	if len(r.Removed) == 0 {
		rec.warn("remove-old", "no authorized_keys line held the old key ("+strings.Join(paths, ", ")+")")
	} else {
		rec.ok("remove-old", fmt.Sprintf("removed %d line(s) holding %s", len(r.Removed), old.Fingerprint))
	}

	// 5. Point the client configuration at the new key.
	if o.ConfigFile != "none" {
		cfg := o.ConfigFile
		if cfg == "" {
			cfg = filepath.Join(o.Home, ".ssh", "config")
		}
		ch, err := SetIdentityFile(cfg, t.Alias, path, old.Path, o.Home)
		switch {
		case err != nil:
			r.Notes = append(r.Notes, fmt.Sprintf("add 'IdentityFile %s' to 'Host %s' in your ssh configuration: %v", path, t.Alias, err))
			rec.warn("config", err.Error())
		case ch.Manual != "":
			r.Config = ch
			r.Notes = append(r.Notes, ch.Manual)
			rec.warn("config", ch.Manual)
		default:
			r.Config = ch
			rec.ok("config", fmt.Sprintf("IdentityFile %s for Host %s in %s", ch.IdentityFile, t.Alias, cfg))
		}
	}

	// The proof: the server refuses the old key now.
	still, err := c.Accepts(ctx, old.Key)
	switch {
	case err != nil:
		r.Notes = append(r.Notes, "could not ask the server about the old key afterwards: "+err.Error())
		rec.warn("old-key", "not checked")
	case still:
		return rec.fail(&Error{Step: "old-key", Reason: ReasonOldKeyAccepted,
			Message: fmt.Sprintf("the server still accepts the old key %s after its lines were removed", old.Fingerprint),
			Hint:    "sshd finds it elsewhere: another AuthorizedKeysFile (give them all with --authorized-keys-file), an AuthorizedKeysCommand, or a certificate; 'sshdoctor server --user " + t.User + " --key \"" + AuthorizedLine(old.Key, "") + "\"' on the server says where"}, "old-key")
	default:
		r.OldKeyRefused = true
		rec.ok("old-key", "the server now refuses "+old.Fingerprint)
	}

	if old.Path != "" {
		r.Notes = append(r.Notes, fmt.Sprintf("the old private key is still in %s: it no longer opens %s, but other servers may accept it; delete it (rm %s %s.pub) once none does", old.Path, t.Alias, old.Path, old.Path))
	}
	if old.InAgent {
		r.Notes = append(r.Notes, "the old key is still loaded in ssh-agent (ssh-add -d "+old.Path+" removes it)")
	}
	if pair.Encrypted {
		r.Notes = append(r.Notes, "load the new key into your agent once: ssh-add "+path)
	}
	r.OK = true
	return r
}

// defaultRotatePath is ~/.ssh/id_TYPE_HOST_YYYYMMDD, numbered if taken.
func defaultRotatePath(home string, k ssh.PublicKey, alias string, now func() time.Time) string {
	if now == nil {
		now = time.Now
	}
	base := filepath.Join(home, ".ssh", fmt.Sprintf("id_%s_%s_%s", shortType(k), safeName(alias), now().Format("20060102")))
	p := base
	for i := 2; exists(p) || exists(p+".pub"); i++ {
		p = fmt.Sprintf("%s_%d", base, i)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
