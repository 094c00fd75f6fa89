package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sshdoctor/sshdoctor/probe"
	"golang.org/x/crypto/ssh"
)

var (
	_ = Register(Doc{
		Code: "auth.key-not-accepted", Severity: SeverityError, Layer: LayerAuth,
		Title: "The server accepts none of the keys this client would offer",
		Meaning: `The server offers public-key authentication, but refuses every key ssh would try
for this user. ssh prints "Permission denied (publickey)" (or falls back to a password
prompt). Usual causes: the key was never installed for this user, it was installed for another
user (root vs ubuntu), authorized_keys or its directories have modes StrictModes refuses, or
AllowUsers/DenyUsers/Match rules exclude the user.`,
		Detection: `For each key ssh would offer, in ssh's order, sshdoctor sends a public-key query
without a signature; the server answers SSH_MSG_USERAUTH_PK_OK only for a key it would accept.
No signature is made and no private key is read.`,
		Fix: `Install the public key for this user (ssh-copy-id, or append it to
~USER/.ssh/authorized_keys with modes 700/600), or connect as the user that has it. On the
server, 'sshdoctor server --user USER --key KEY.pub' says why the key is refused.`,
	})
	_ = Register(Doc{
		Code: "auth.no-keys", Severity: SeverityError, Layer: LayerAuth,
		Title: "This client has no key to offer",
		Meaning: `The server wants a public key, but ssh has none for this destination: no agent
keys, and none of the identity files exist.`,
		Detection: `sshdoctor lists the agent's keys and the identity files from the ssh
configuration (ssh -G), as ssh would.`,
		Fix: `Create a key ('ssh-keygen -t ed25519' or 'sshdoctor keys new') and install it on the
server ('ssh-copy-id' or 'sshdoctor keys install DEST').`,
	})
	_ = Register(Doc{
		Code: "auth.method-unavailable", Severity: SeverityError, Layer: LayerAuth,
		Title: "The server offers no authentication method this client will use",
		Meaning: `The methods the server allows for this user and those the client is willing to try
do not meet: for example the server allows only publickey and the client has
PubkeyAuthentication off, or the client needs a password and the server disabled
PasswordAuthentication. ssh prints "Permission denied (publickey)" or "No more authentication
methods to try".`,
		Detection: `The server's answer to the "none" request lists the methods it allows; the
client's switches come from ssh -G.`,
		Fix: `Use a method the server offers (usually a key), or change the server's configuration
(PasswordAuthentication, KbdInteractiveAuthentication) for this user.`,
	})
	_ = Register(Doc{
		Code: "auth.too-many-keys", Severity: SeverityError, Layer: LayerAuth,
		Title: "The right key comes too late: too many keys are offered first",
		Meaning: `ssh offers its keys one by one, and sshd disconnects after MaxAuthTries failures
(default 6): "Received disconnect: Too many authentication failures". The key the server
accepts is further down the list than that, so ssh never gets to it.`,
		Detection: `sshdoctor queries the keys in ssh's order; when the server disconnects, it
reconnects and queries the rest. The accepted key's position and the number of refusals before
the disconnect give the server's limit.`,
		Fix: `Tell ssh which key to use for this host: 'IdentitiesOnly yes' and 'IdentityFile
PATH' in its Host block (or -o IdentitiesOnly=yes -i PATH).`,
	})
	_ = Register(Doc{
		Code: "auth.signature-algorithm", Severity: SeverityError, Layer: LayerAuth,
		Title: "No signature algorithm in common for the key",
		Meaning: `The key is of a type both sides know, but they share no signature algorithm for it.
Typically an RSA key against an old server that only knows ssh-rsa (SHA-1), which OpenSSH 8.8+
clients refuse by default; ssh logs "send_pubkey_test: no mutual signature algorithm" and
skips the key.`,
		Detection: `The client's PubkeyAcceptedAlgorithms for the key type and the server's
server-sig-algs have nothing in common, so no query could even be sent for the key.`,
		Fix: `Best: use an Ed25519 key. Or enable ssh-rsa for this host only
('PubkeyAcceptedAlgorithms +ssh-rsa' in its Host block), knowing SHA-1 is weak.`,
	})
	_ = Register(Doc{
		Code: "client.key-permissions", Severity: SeverityError, Layer: LayerClient,
		Title: "A private key file is readable by others, so ssh will not use it",
		Meaning: `ssh refuses a private key file that group or others can access: "WARNING:
UNPROTECTED PRIVATE KEY FILE! ... This private key will be ignored." The key may be the very
one the server accepts.`,
		Detection: `sshdoctor stats each identity file: owned by you and with any group/other
permission bit set is what ssh refuses. The server's answer to the key's public half tells
whether it matters.`,
		Fix: `chmod 600 the private key file (and keep ~/.ssh at 700).`,
	})
	_ = Register(Doc{
		Code: "auth.login-failed", Severity: SeverityError, Layer: LayerAuth,
		Title: "A real login failed",
		Meaning: `With --login, sshdoctor logged in for real with the key the server accepts and ran
'true'; that failed. The server accepted the key's public half but the login itself did not
complete: a forced command, a restricted shell, an account problem seen only at login (PAM,
expiry), or the private key could not be used (passphrase without an agent).`,
		Detection: `A signed public-key login with the accepted key, then a session running 'true'.`,
		Fix: `Read the error; on the server, 'sshdoctor server --user USER' checks the account and
'journalctl -u ssh' shows sshd's side.`,
	})
)

// Auth judges authentication: which key the server would accept and whether
// ssh would get to it and be able to use it.
func Auth(f *probe.Facts) []Finding {
	if f.SSH == nil || !f.SSH.Auth.Reached || f.Target == nil {
		return nil
	}
	a := f.SSH.Auth
	t := f.Target
	if a.NoneAccepted {
		return nil
	}
	dest := destOf(f)
	var out []Finding
	// Keys ssh would ignore for their file mode.
	acc := a.Accepted()
	for _, r := range a.Keys {
		if !r.Key.BadPerms || r.Key.InAgent {
			continue
		}
		ev := []KV{E("file", r.Key.Path), E("mode", fmt.Sprintf("%04o", r.Key.Mode)), E("key", r.Key.String())}
		fd := New("client.key-permissions",
			fmt.Sprintf("ssh ignores %s because its mode is %04o (readable by others).", r.Key.Path, r.Key.Mode), ev...).
			WithFix("Make the private key private.", "chmod 600 "+shellQuote(r.Key.Path))
		if acc != nil && acc.Key.Fingerprint == r.Key.Fingerprint {
			fd.Detail = fmt.Sprintf("The server accepts the key %s, but ssh will refuse to use %s because its mode is %04o: \"UNPROTECTED PRIVATE KEY FILE\".", r.Key.Fingerprint, r.Key.Path, r.Key.Mode)
		} else {
			fd = fd.WithSeverity(SeverityWarning)
		}
		out = append(out, fd)
	}

	canPassword := !t.BatchMode && ((t.PasswordAuthentication && slices.Contains(a.Methods, "password")) ||
		(t.KbdInteractiveAuthentication && slices.Contains(a.Methods, "keyboard-interactive")))
	methodsEv := E("server_methods", nonNil(a.Methods))

	switch {
	case acc != nil && acc.Conn > 1:
		tried := 0
		for _, r := range a.Keys {
			if r.Result == "refused" && r.Conn == 1 {
				tried++
			}
		}
		pos := slices.IndexFunc(a.Keys, func(r probe.KeyResult) bool { return r.Key.Fingerprint == acc.Key.Fingerprint }) + 1
		maxTries := a.RefusedBeforeDisconnect
		ev := []KV{E("accepted_key", acc.Key.String()), E("position", pos), E("keys_offered", len(a.Keys)),
			E("refused_before_disconnect", a.RefusedBeforeDisconnect), E("max_auth_tries_inferred", maxTries)}
		if len(a.Disconnects) > 0 {
			ev = append(ev, E("disconnect", a.Disconnects[0]))
		}
		path := acc.Key.Path
		cmds := []string{}
		if path == "" {
			path = "~/.ssh/" + safeName(t.Alias) + "_agent_key.pub"
			cmds = append(cmds, fmt.Sprintf("ssh-add -L | grep -F '%s' > %s", authorizedBlob(acc.Key), path))
		}
		cmds = append(cmds,
			fmt.Sprintf("ssh -o IdentitiesOnly=yes -i %s %s", path, dest),
			fmt.Sprintf("printf 'Host %s\\n    IdentitiesOnly yes\\n    IdentityFile %s\\n\\n' | cat - ~/.ssh/config > ~/.ssh/config.new && mv ~/.ssh/config.new ~/.ssh/config", t.Alias, path))
		out = append(out, New("auth.too-many-keys",
			fmt.Sprintf("The server accepts %s, but ssh offers it as key %d of %d, and the server disconnects at the %s key it refuses (MaxAuthTries %d): \"Too many authentication failures\".", acc.Key.String(), pos, len(a.Keys), ordinal(maxTries), maxTries), ev...).
			WithFix("Offer only the right key to this host.", cmds...))
	case acc != nil:
		// Accepted: nothing to report beyond key permissions.
	case len(a.SHA1Only) > 0:
		k := a.SHA1Only[0]
		ev := []KV{E("key", k.String()), E("server_accepts", "ssh-rsa"), E("client_algorithms", nonNil(t.PubkeyAcceptedAlgorithms))}
		if f.Banner != nil {
			ev = append(ev, E("server_version", f.Banner.Ident))
		}
		out = append(out, New("auth.signature-algorithm",
			fmt.Sprintf("The server accepts %s, but only with ssh-rsa (SHA-1) signatures, and this client allows only %s for RSA keys. ssh offers the key and is refused.", k.String(), strings.Join(sigAlgosFor(t.PubkeyAcceptedAlgorithms), ", ")), ev...).
			WithFix("Best: use an Ed25519 key, or add rsa-sha2-512,rsa-sha2-256 to the server's PubkeyAcceptedAlgorithms. Meanwhile put ssh-rsa first for this host only ('^' prepends: with '+' ssh would still pick rsa-sha2-512 and be refused).",
				"ssh -o PubkeyAcceptedAlgorithms=^ssh-rsa "+dest,
				fmt.Sprintf("printf 'Host %s\\n    PubkeyAcceptedAlgorithms ^ssh-rsa\\n\\n' | cat - ~/.ssh/config > ~/.ssh/config.new && mv ~/.ssh/config.new ~/.ssh/config", t.Alias)).
			WithWarning("ssh-rsa signatures use SHA-1, which is broken for collisions; enable them for this host only."))
	case !slices.Contains(a.Methods, "publickey"):
		if canPassword {
			return out
		}
		var client []string
		if t.PubkeyAuthentication {
			client = append(client, "publickey")
		}
		if t.PasswordAuthentication && !t.BatchMode {
			client = append(client, "password")
		}
		if t.KbdInteractiveAuthentication && !t.BatchMode {
			client = append(client, "keyboard-interactive")
		}
		out = append(out, New("auth.method-unavailable",
			fmt.Sprintf("The server allows only %s for %s, and this client will not use any of them.", orNone(a.Methods), t.User),
			methodsEv, E("client_methods", nonNil(client)), E("batch_mode", t.BatchMode)).
			WithFix("Use a method the server offers, or change the server's configuration for this user.",
				"sshdoctor server --user "+t.User+"   # on the server"))
	case !t.PubkeyAuthentication:
		if !canPassword {
			out = append(out, New("auth.method-unavailable",
				"The server wants a public key, but PubkeyAuthentication is off in this client's configuration.", methodsEv).
				WithFix("Turn public-key authentication back on for this host.", "ssh -o PubkeyAuthentication=yes "+dest))
		}
	case f.Keys == nil || len(f.Keys.Keys) == 0:
		ev := []KV{methodsEv, E("identity_files", nonNil(t.IdentityFiles))}
		if f.Keys != nil && f.Keys.AgentErr != "" {
			ev = append(ev, E("agent", f.Keys.AgentErr))
		}
		fd := New("auth.no-keys",
			"The server wants a public key, but this client has none to offer: no agent keys and none of the identity files exist.", ev...).
			WithFix("Create a key and install it on the server.",
				"ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519", "ssh-copy-id -i ~/.ssh/id_ed25519.pub "+dest)
		if canPassword {
			fd = fd.WithSeverity(SeverityWarning)
			fd.Detail += " ssh will ask for a password instead."
		}
		out = append(out, fd)
	default:
		var refused, noSig, skipped, untried []string
		for _, r := range a.Keys {
			switch r.Result {
			case "refused":
				refused = append(refused, r.Key.String())
			case "no-signature-algorithm":
				noSig = append(noSig, r.Key.String())
			case "skipped":
				skipped = append(skipped, r.Key.String())
			case "untried":
				untried = append(untried, r.Key.String())
			}
		}
		if len(noSig) > 0 {
			ev := []KV{E("keys", noSig), E("client_algorithms", nonNil(t.PubkeyAcceptedAlgorithms))}
			if f.Banner != nil {
				ev = append(ev, E("server_version", f.Banner.Ident))
			}
			out = append(out, New("auth.signature-algorithm",
				fmt.Sprintf("ssh cannot even offer %s: the server accepts no signature algorithm this client allows for it (an old server that only knows ssh-rsa, SHA-1).", noSig[0]), ev...).
				WithFix("Use an Ed25519 key for this server, or allow ssh-rsa for this host only.",
					"ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519",
					"ssh -o PubkeyAcceptedAlgorithms=^ssh-rsa "+dest).
				WithWarning("ssh-rsa signatures use SHA-1; enable them for this host only and upgrade the server."))
			if len(refused) == 0 {
				break
			}
		}
		if len(refused) == 0 && len(untried) == 0 && len(skipped) > 0 {
			out = append(out, New("auth.no-keys",
				"Every key this client has is of a type its own PubkeyAcceptedAlgorithms excludes, so ssh offers none.",
				E("skipped", skipped), E("client_algorithms", nonNil(t.PubkeyAcceptedAlgorithms))).
				WithFix("Create an Ed25519 key and install it.", "ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519", "ssh-copy-id -i ~/.ssh/id_ed25519.pub "+dest))
			break
		}
		if len(refused) == 0 && len(noSig) > 0 {
			break
		}
		ev := []KV{E("user", t.User), E("keys_refused", refused), methodsEv}
		if len(untried) > 0 {
			ev = append(ev, E("keys_not_reached", untried))
		}
		if len(a.Disconnects) > 0 {
			ev = append(ev, E("disconnect", a.Disconnects[0]))
		}
		if a.Banner != "" {
			ev = append(ev, E("server_banner", a.Banner))
		}
		pub := "~/.ssh/id_ed25519.pub"
		for _, r := range a.Keys {
			if r.Key.PubFrom != "" && r.Key.PubFrom != "agent" && strings.HasSuffix(r.Key.PubFrom, ".pub") {
				pub = r.Key.PubFrom
				break
			}
		}
		which := fmt.Sprintf("all %d keys", len(refused))
		if len(refused) == 1 {
			which = "the only key"
		}
		detail := fmt.Sprintf("The server refuses %s ssh would offer for user %s: none is in that user's authorized_keys (or the server ignores the file).", which, t.User)
		if len(refused) == 0 {
			detail = fmt.Sprintf("The server cut the connection before it answered for any of the %d keys ssh would offer for user %s.", len(untried), t.User)
		}
		fd := New("auth.key-not-accepted", detail, ev...).
			WithFix("Install your public key for this user, or connect as the user that has it; on the server, sshdoctor names the reason.",
				"ssh-copy-id -i "+pub+" "+dest,
				fmt.Sprintf("sshdoctor server --user %s --key %s   # on the server, with your public key", t.User, "KEY.pub"))
		if canPassword {
			// Still an error: this client has keys, so it means to use them;
			// the password prompt is only a fallback.
			fd.Detail += " ssh will fall back to asking for a password."
		}
		out = append(out, fd)
	}
	return out
}

// Login judges the result of --login.
func Login(f *probe.Facts) []Finding {
	if f.Login == nil || f.Login.OK {
		return nil
	}
	ev := []KV{E("error", f.Login.Err)}
	if f.Login.Key != "" {
		ev = append(ev, E("key", f.Login.Key))
	}
	return []Finding{New("auth.login-failed", "The real login failed: "+f.Login.Err+".", ev...).
		WithFix("Compare with ssh's own account.", "ssh -v "+destOf(f)+" true")}
}

// authorizedBlob is the base64 key blob, as it appears in `ssh-add -L`.
func authorizedBlob(k probe.ClientKey) string {
	if k.Key == nil {
		return k.Fingerprint
	}
	f := strings.Fields(string(ssh.MarshalAuthorizedKey(k.Key)))
	return f[len(f)-1]
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-~+:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

func sigAlgosFor(accepted []string) []string {
	var out []string
	for _, a := range accepted {
		if a == "rsa-sha2-512" || a == "rsa-sha2-256" || a == "ssh-rsa" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
