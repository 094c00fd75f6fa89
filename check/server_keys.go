package check

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
)

// keyFindings judges authorized_keys; usable reports whether some key can
// log in at all (a usable entry of an accepted type, or a command).
func keyFindings(f *ServerAccessFacts, x fixer) (out []Finding, usable bool) {
	k, a, acc := f.Keys, f.Account, f.Access
	if k == nil || !acc.PubkeyAuthentication {
		return nil, false
	}
	cfg := k.Config
	var paths []string
	var entries []authkeys.Entry
	anyFile := false
	seen := map[string]bool{}
	for i := range k.Files {
		file := &k.Files[i]
		if file.Path != "" {
			paths = append(paths, file.Path)
		}
		anyFile = anyFile || (file.Exists && file.Regular)
		if k.Usable(file) {
			entries = append(entries, file.Entries...)
		}
		for _, p := range file.Problems {
			if seen[p.Path] || (!p.Unreachable && !cfg.StrictModes) {
				continue
			}
			seen[p.Path] = true
			out = append(out, permissionFinding(k, file, p, x))
		}
	}
	accepted := entries
	if cfg.AcceptedAlgorithms != nil {
		accepted = nil
		for _, e := range entries {
			if len(authkeys.AcceptedAlgorithms(e.Key.Type(), cfg.AcceptedAlgorithms)) > 0 {
				accepted = append(accepted, e)
			}
		}
	}
	usable = len(accepted) > 0 || cfg.UsesCommand()

	var matches []authkeys.Match
	var matched, present bool // the key is accepted; the key is listed at all
	if f.Key != nil {
		matches = k.Find(f.Key.Key, f.Client)
		present = len(matches) > 0
		for _, m := range matches {
			matched = matched || m.Refused == ""
		}
	}

	// Invalid lines: an error when they may hide the key that is wanted.
	for _, file := range k.Files {
		for _, inv := range file.Invalid {
			fd := New("authkeys.invalid-entry",
				fmt.Sprintf("sshd skips line %d of %s: %s.", inv.Line, file.Path, inv.Reason),
				E("file", file.Path), E("line", inv.Line), E("location", fmt.Sprintf("%s:%d", file.Path, inv.Line)),
				E("reason", inv.Reason), E("text", inv.Text)).
				WithFix("Comment the line out (then put the key back on one line, as its .pub file has it).",
					fmt.Sprintf(`sed -i '%ds/^/# sshdoctor: invalid: /' %s`, inv.Line, shellQuote(x.path(file.Path))))
			if (f.Key != nil && !present) || (f.Key == nil && !usable) {
				fd = fd.WithSeverity(SeverityError)
			}
			out = append(out, fd)
		}
	}

	missing := !anyFile && !cfg.UsesCommand()
	if missing {
		out = append(out, missingKeys(f, paths, x))
	} else if anyFile && len(entries) == 0 && !cfg.UsesCommand() && !hasProblems(out) {
		out = append(out, New("authkeys.missing",
			fmt.Sprintf("The authorized_keys files of %s hold no usable key.", a.User),
			E("user", a.User), E("files", nonNil(paths)), E("authorized_keys_file", cfg.Source("AuthorizedKeysFile"))).
			WithFix("Add the user's public key.", installKey(f, x)...))
	}

	if f.Key != nil {
		if !missing {
			// With no file at all, authkeys.missing already says it and
			// its fix installs the key.
			out = append(out, keyAbsent(f, matches, matched, paths, x)...)
		}
		out = append(out, algorithmFindings(f, []string{f.Key.Type}, true)...)
		if a.Entry.UID == 0 && acc.RootLogin().ForcedCommandsOnly && matched && !slices.ContainsFunc(matches, func(m authkeys.Match) bool {
			return m.Refused == "" && m.Entry.Options.HasCommand
		}) {
			rp := acc.RootLogin()
			out = append(out, New("access.denied-by-config",
				fmt.Sprintf("PermitRootLogin forced-commands-only (%s): root may only use keys with a command= option, and this key has none.", rp.Source),
				E("user", a.User), E("directive", "PermitRootLogin"), E("value", rp.Value), E("source", rp.Source)).
				WithFix("Add command=\"...\" to the key's line, or change PermitRootLogin.", setDirective(x, rp.Source, "PermitRootLogin prohibit-password")...))
		}
	} else if rp := acc.RootLogin(); a.Entry.UID == 0 && rp.ForcedCommandsOnly && len(accepted) > 0 &&
		!slices.ContainsFunc(accepted, func(e authkeys.Entry) bool { return e.Options.HasCommand }) {
		out = append(out, New("access.denied-by-config",
			fmt.Sprintf("PermitRootLogin forced-commands-only (%s): root may only use keys with a command= option, and none of root's keys has one.", rp.Source),
			E("user", a.User), E("directive", "PermitRootLogin"), E("value", rp.Value), E("source", rp.Source)).
			WithFix("Add command=\"...\" to the key meant for this, or change PermitRootLogin.", setDirective(x, rp.Source, "PermitRootLogin prohibit-password")...))
	} else if len(entries) > 0 && len(accepted) == 0 && cfg.AcceptedAlgorithms != nil {
		var types []string
		for _, e := range entries {
			if !slices.Contains(types, e.Key.Type()) {
				types = append(types, e.Key.Type())
			}
		}
		out = append(out, algorithmFindings(f, types, false)...)
	}
	return out, usable
}

func hasProblems(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Code == "authkeys.permissions" })
}

func permissionFinding(k *authkeys.Facts, file *authkeys.File, p authkeys.Problem, x fixer) Finding {
	kind := "file"
	if p.Dir {
		kind = "directory"
	}
	ev := []KV{E("path", p.Path), E("kind", kind), E("owner", p.Owner), E("group", p.Group),
		E("mode", fmt.Sprintf("%04o", p.Mode)), E("want_owner", p.WantOwner), E("want_mode", fmt.Sprintf("%04o", p.WantMode)),
		E("problem", strings.Join(p.Reasons, "; ")), E("authorized_keys", file.Path),
		E("strict_modes", yesNo(k.Config.StrictModes)), E("strict_modes_source", k.Config.Source("StrictModes"))}
	if p.First {
		what := "directory"
		if !p.Dir {
			what = "file"
		}
		ev = append(ev, E("sshd_log", fmt.Sprintf("Authentication refused: bad ownership or modes for %s %s", what, p.Path)))
	}
	var cmds []string
	if p.OwnerChanged() {
		cmds = append(cmds, "chown "+x.owner(p.WantUID)+" "+shellQuote(x.path(p.Path)))
	}
	if p.ModeChanged() {
		cmds = append(cmds, fmt.Sprintf("chmod %04o %s", p.WantMode, shellQuote(x.path(p.Path))))
	}
	d := fmt.Sprintf("sshd ignores %s because %s %s is %s.", file.Path, kind, p.Path, strings.Join(p.Reasons, " and "))
	fd := New("authkeys.permissions", d, ev...).WithFix("Fix exactly this owner and mode.", cmds...)
	if !file.Exists {
		fd.Detail = fmt.Sprintf("%s does not exist yet, and once created sshd would ignore it: %s %s is %s.", file.Path, kind, p.Path, strings.Join(p.Reasons, " and "))
		fd = fd.WithSeverity(SeverityWarning)
	}
	return fd
}

func missingKeys(f *ServerAccessFacts, paths []string, x fixer) Finding {
	k, a := f.Keys, f.Account
	ev := []KV{E("user", a.User), E("files", nonNil(paths)), E("authorized_keys_file", k.Config.Source("AuthorizedKeysFile")), E("home", k.Home)}
	var errs []string
	missingDir := ""
	for _, file := range k.Files {
		if file.Err != "" {
			errs = append(errs, file.Err)
		}
		if missingDir == "" {
			missingDir = file.MissingDir
		}
	}
	if missingDir != "" {
		ev = append(ev, E("missing_dir", missingDir))
	}
	if len(errs) > 0 {
		ev = append(ev, E("errors", errs))
	}
	d := fmt.Sprintf("%s has no authorized_keys file (%s), so no key can log in.", a.User, strings.Join(paths, ", "))
	if len(paths) == 0 {
		d = fmt.Sprintf("AuthorizedKeysFile names no file for %s (%s) and there is no AuthorizedKeysCommand, so no key can log in.", a.User, k.Config.Source("AuthorizedKeysFile"))
	}
	return New("authkeys.missing", d, ev...).WithFix("Create the file, owned by the user, and put the public key in it (or run ssh-copy-id from the client).", installKey(f, x)...)
}

// installKey returns the commands that create the user's first
// authorized_keys file (and its directory) and, with --key, add the key
// without duplicating it.
func installKey(f *ServerAccessFacts, x fixer) []string {
	k, a := f.Keys, f.Account
	var file *authkeys.File
	for i := range k.Files {
		if k.Files[i].Path != "" && (file == nil || k.Files[i].Exists) {
			file = &k.Files[i]
		}
	}
	if file == nil {
		return nil
	}
	var cmds []string
	if !file.Exists {
		if file.MissingDir != "" {
			for _, d := range dirsBetween(file.MissingDir, path.Dir(file.Path)) {
				cmds = append(cmds, fmt.Sprintf("install -d -m 700 -o %s -g %s %s", x.owner(a.Entry.UID), x.group(a.Entry.GID), shellQuote(x.path(d))))
			}
		}
		cmds = append(cmds, fmt.Sprintf("install -m 600 -o %s -g %s /dev/null %s", x.owner(a.Entry.UID), x.group(a.Entry.GID), shellQuote(x.path(file.Path))))
	}
	if f.Key != nil {
		line, p := shellQuote(f.Key.Line()), shellQuote(x.path(file.Path))
		if file.Exists {
			// A last line without its newline would swallow the key.
			cmds = append(cmds, fmt.Sprintf("tail -c1 %s | read -r _ || echo >> %s", p, p))
		}
		cmds = append(cmds, fmt.Sprintf("grep -qxF %s %s || echo %s >> %s", line, p, line, p))
	}
	return cmds
}

// dirsBetween lists from first down to last (first is an ancestor of last,
// or equal to it).
func dirsBetween(first, last string) []string {
	var out []string
	for d := last; ; d = path.Dir(d) {
		out = append(out, d)
		if d == first || d == "/" || d == "." {
			break
		}
	}
	slices.Reverse(out)
	return out
}

func keyAbsent(f *ServerAccessFacts, matches []authkeys.Match, matched bool, paths []string, x fixer) []Finding {
	k, a, key := f.Keys, f.Account, f.Key
	ev := []KV{E("user", a.User), E("fingerprint", key.Fingerprint), E("key_type", key.Type), E("files", nonNil(paths))}
	if key.Comment != "" {
		ev = append(ev, E("comment", key.Comment))
	}
	if matched {
		var needs []string
		for _, m := range matches {
			if m.NeedsClient {
				needs = append(needs, fmt.Sprintf("%s:%d from=%q", m.File, m.Line, m.Entry.Options.From))
			}
		}
		if len(needs) == len(matches) {
			return []Finding{New("authkeys.key-absent",
				fmt.Sprintf("The key is authorized for %s only from some addresses (%s); give --from to check the client's.", a.User, strings.Join(needs, ", ")),
				append(ev, E("restricted_at", needs))...).WithSeverity(SeverityWarning).
				WithFix("Evaluate for the client's address.", "sshdoctor server --user "+a.User+" --from ADDRESS --key KEY.pub")}
		}
		return nil
	}
	if len(matches) > 0 {
		var where, why []string
		for _, m := range matches {
			where = append(where, fmt.Sprintf("%s:%d", m.File, m.Line))
			why = append(why, m.Refused)
		}
		return []Finding{New("authkeys.key-absent",
			fmt.Sprintf("The key is listed for %s at %s, but sshd refuses it there: %s.", a.User, where[0], why[0]),
			append(ev, E("found_at", where), E("refused_because", why))...).
			WithFix(fmt.Sprintf("Change the options of %s (from=, expiry-time=, principals=), or add the key without them.", where[0]))}
	}
	if k.Config.UsesCommand() {
		return []Finding{New("authkeys.key-absent",
			fmt.Sprintf("The key is in none of %s's authorized_keys files; the AuthorizedKeysCommand may still supply it, which cannot be checked here.", a.User),
			append(ev, E("authorized_keys_command", k.Config.Command), E("command_user", k.Config.CommandUser), E("command_source", k.Config.Source("AuthorizedKeysCommand")))...).
			WithSeverity(SeverityWarning).
			WithFix("Run the command as sshd would and look for the key.", fmt.Sprintf("sudo -u %s %s | ssh-keygen -lf -", orNobody(k.Config.CommandUser), k.Config.Command))}
	}
	return []Finding{New("authkeys.key-absent",
		fmt.Sprintf("The key %s is not in %s's authorized_keys.", key.Fingerprint, a.User), ev...).
		WithFix("Add the key for this user (ssh-copy-id from the client does the same).", installKey(f, x)...)}
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

func algorithmFindings(f *ServerAccessFacts, types []string, given bool) []Finding {
	cfg := f.Keys.Config
	if cfg.AcceptedAlgorithms == nil {
		return nil
	}
	for _, t := range types {
		if len(authkeys.AcceptedAlgorithms(t, cfg.AcceptedAlgorithms)) > 0 {
			return nil
		}
	}
	var algs []string
	for _, t := range types {
		algs = append(algs, authkeys.SignatureAlgorithms(t)...)
	}
	src := cfg.Source("PubkeyAcceptedAlgorithms")
	d := fmt.Sprintf("sshd accepts no signature algorithm for a %s key (PubkeyAcceptedAlgorithms, %s), so it refuses this key.", strings.Join(types, ", "), src)
	if !given {
		d = fmt.Sprintf("Every key of %s is of a type PubkeyAcceptedAlgorithms refuses (%s, %s).", f.Account.User, strings.Join(types, ", "), src)
	}
	fd := New("authkeys.algorithm-refused", d,
		E("key_type", strings.Join(types, ",")), E("algorithms", algs), E("accepted", cfg.AcceptedAlgorithms), E("source", src)).
		WithFix("Best: create an Ed25519 key and install it. Or accept the algorithm in sshd_config.",
			"ssh-keygen -t ed25519   # on the client",
			fmt.Sprintf("sed -i '1i PubkeyAcceptedAlgorithms +%s' %s", algs[len(algs)-1], shellQuote(fixer{acct: f.Account}.path("/etc/ssh/sshd_config"))))
	if w := weakAlgorithm(algs[len(algs)-1]); w != "" {
		fd = fd.WithWarning(w)
	}
	return []Finding{fd}
}

func weakAlgorithm(alg string) string {
	switch {
	case strings.HasPrefix(alg, "ssh-dss"):
		return "DSA keys are 1024-bit and deprecated; OpenSSH 9.8 removed them. Replace the key."
	case strings.HasPrefix(alg, "ssh-rsa"):
		return "ssh-rsa signatures use SHA-1, which is broken for collisions; prefer upgrading the client."
	}
	return ""
}

func passwordFinding(f *ServerAccessFacts, x fixer, keysUsable bool) []Finding {
	a, acc := f.Account, f.Access
	var reasons []string
	var cmds []string
	var summary string
	methods := acc.PasswordMethods()
	if len(methods) == 0 {
		r := fmt.Sprintf("PasswordAuthentication no (%s)", acc.Source("PasswordAuthentication"))
		if acc.KbdInteractiveAuthentication && !acc.UsePAM {
			r += "; keyboard-interactive asks for no password without PAM"
		} else if !acc.KbdInteractiveAuthentication {
			r += fmt.Sprintf(" and KbdInteractiveAuthentication no (%s)", acc.Source("KbdInteractiveAuthentication"))
		}
		reasons = append(reasons, r)
		summary = "Allow passwords for this user only, in a Match block at the end of sshd_config."
		cmds = append([]string{fmt.Sprintf(`printf '\nMatch User %s\n    PasswordAuthentication yes\n' >> %s`, a.User, shellQuote(x.path("/etc/ssh/sshd_config")))}, x.reload()...)
	}
	if a.Entry.UID == 0 {
		if rp := acc.RootLogin(); rp.Value != "yes" && rp.Value != "no" {
			reasons = append(reasons, fmt.Sprintf("PermitRootLogin %s (%s) refuses passwords for root", rp.Value, rp.Source))
			if summary == "" {
				summary, cmds = "Allow root passwords (not recommended).", setDirective(x, rp.Source, "PermitRootLogin yes")
			}
		}
	}
	hash, src := a.Hash()
	if !accounts.LockedForSSHD(hash) && !accounts.PasswordUsable(hash) && !(hash == "" && acc.PermitEmptyPasswords) && a.ShadowErr == "" {
		what := "no password is set (" + strconv.Quote(hash) + ")"
		if hash == "" {
			what = "the password is empty and PermitEmptyPasswords is no"
		}
		reasons = append(reasons, fmt.Sprintf("%s at %s", what, src))
		if summary == "" {
			summary, cmds = "Set a password.", []string{x.tool("passwd", a.User)}
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	ev := []KV{E("user", a.User), E("reasons", reasons), E("password_authentication", acc.PasswordAuthentication),
		E("kbd_interactive_authentication", acc.KbdInteractiveAuthentication), E("use_pam", acc.UsePAM),
		E("pubkey_authentication", acc.PubkeyAuthentication)}
	d := fmt.Sprintf("%s cannot log in with a password: %s.", a.User, strings.Join(reasons, "; "))
	fd := New("auth.password-disabled", d, ev...)
	switch {
	case f.NeedPassword || !acc.PubkeyAuthentication:
		if !acc.PubkeyAuthentication {
			fd.Detail += fmt.Sprintf(" PubkeyAuthentication is off too (%s): no method is left.", acc.Source("PubkeyAuthentication"))
		}
		fd = fd.WithFix(summary, cmds...).WithWarning("Passwords can be guessed; keys are the better way in.")
	case !keysUsable:
		fd.Detail += " No key can log in either (see the authkeys findings)."
		fd = fd.WithSeverity(SeverityWarning).WithFix(summary, cmds...).WithWarning("Passwords can be guessed; installing a key is the better fix.")
	default:
		fd.Detail += " Keys can log in, so this is only information."
		fd = fd.WithSeverity(SeverityInfo)
	}
	return []Finding{fd}
}
