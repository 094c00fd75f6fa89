package check

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
)

var (
	_ = Register(Doc{
		Code: "account.missing", Severity: SeverityError, Layer: LayerAccount,
		Title: "The user does not exist",
		Meaning: `sshd knows no account by this name, so every login fails the same way a wrong
password does ("Permission denied"); the server logs "Invalid user NAME". Often a typo, the
wrong case, an account that lives in LDAP/SSSD on another machine, or a damaged line in
/etc/passwd that the system skips.`,
		Detection: `The passwd database of the inspected system (/etc/passwd, under --root the tree's);
on a live system also NSS through getent. Lines of /etc/passwd that the C library cannot parse
are reported, since the account they were meant to define does not exist.`,
		Fix: `Log in with the right name, create the account (useradd -m), or repair its line in
/etc/passwd.`,
	})
	_ = Register(Doc{
		Code: "account.locked", Severity: SeverityError, Layer: LayerAccount,
		Title: "The account is locked",
		Meaning: `The password field starts with "!" (usermod -L, passwd -l, or useradd without a
password). With UsePAM no, sshd itself treats such an account as locked and refuses every
login, keys included ("User NAME not allowed because account is locked"). With UsePAM yes only
password logins fail; key logins still work. On Linux "*" is not a lock for sshd: it only means
no password can match.`,
		Detection: `The hash field of /etc/shadow (or /etc/passwd without shadow), tested as OpenSSH's
platform_locked_account() does on Linux: a "!" prefix. UsePAM comes from the sshd
configuration.`,
		Fix: `usermod -U NAME restores the old password. For a key-only account with no password
ever set, usermod -p '*' NAME unlocks key logins and keeps password logins impossible.`,
	})
	_ = Register(Doc{
		Code: "account.expired", Severity: SeverityError, Layer: LayerAccount,
		Title: "The account or its password has expired",
		Meaning: `An expired account (chage -E) refuses every login, keys included. An expired
password depends on PAM: with UsePAM yes, pam_unix makes even key logins change it first
(commands without a terminal fail), and once the inactivity period (chage -I) has passed too, it
refuses every login; with UsePAM no, only password logins are affected.`,
		Detection: `The expire, lastchg, max and inact fields of /etc/shadow against the inspected
system's date. Account expiry follows the code in charge: sshd (UsePAM no) expires the day after
the date, pam_unix (UsePAM yes) on the date itself.`,
		Fix: `chage -E -1 NAME removes the account expiry; chage -d TODAY NAME (or setting a new
password) restarts the password's age; chage -M -1 NAME stops password aging.`,
	})
	_ = Register(Doc{
		Code: "account.nologin-shell", Severity: SeverityError, Layer: LayerAccount,
		Title: "The login shell refuses logins",
		Meaning: `The account's shell is nologin or false, so authentication succeeds and the
session ends at once ("This account is currently not available."), commands and scp included; or
the shell does not exist or is not executable, and then sshd refuses the user outright ("User
NAME not allowed because shell ... does not exist"). A stray carriage return at the end of the
line in /etc/passwd makes the shell not exist.`,
		Detection: `The shell field of the passwd record, stat'ed inside the inspected system (empty
means /bin/sh). /etc/shells is reported too: sshd does not read it, but pam_shells and chsh do.`,
		Fix: `chsh -s /bin/bash NAME (or usermod -s). For an sftp-only account, keep nologin and use
ForceCommand internal-sftp.`,
	})
	_ = Register(Doc{
		Code: "account.nologin-file", Severity: SeverityError, Layer: LayerAccount,
		Title: "/etc/nologin exists, so only root may log in",
		Meaning: `While a nologin file exists, every user but root is refused, after authenticating,
with the file's text as the message. shutdown creates it (in /run) in the minutes before a
reboot; administrators create it for maintenance and forget it.`,
		Detection: `With UsePAM no, sshd checks /etc/nologin itself; with UsePAM yes, pam_nologin
(when sshd's PAM stack uses it) checks /var/run/nologin and /etc/nologin. /run is not checked
in an offline tree: it is empty at boot.`,
		Fix: `Remove the file once the maintenance is over: rm /etc/nologin.`,
	})
	_ = Register(Doc{
		Code: "access.denied-by-config", Severity: SeverityError, Layer: LayerAccess,
		Title: "The sshd configuration does not let this user in",
		Meaning: `DenyUsers, AllowUsers, DenyGroups or AllowGroups (applied in that order; any Allow
list that exists must match) or PermitRootLogin refuse the user. The client only sees
"Permission denied"; the server logs e.g. "User NAME from ADDR not allowed because not listed in
AllowUsers".`,
		Detection: `sshd's own rules, reimplemented: USER and USER@HOST patterns with * and ?, the
HOST part as address lists with CIDR and ! negation, group names from the user's primary and
supplementary groups, PermitRootLogin for uid 0 per method. Match blocks are applied for the
user and the --from address first.`,
		Fix: `Edit the directive at the file and line given (add the user, remove the pattern), then
check and reload: sshd -t && systemctl reload ssh.`,
	})
	_ = Register(Doc{
		Code: "auth.password-disabled", Severity: SeverityError, Layer: LayerAccess,
		Title: "This user cannot log in with a password",
		Meaning: `No password login can succeed for the user: PasswordAuthentication is off (and
keyboard-interactive does not ask for one), PermitRootLogin refuses passwords for root, or the
account has no usable password. That is a sound setup when the user logs in with keys, and then
this is only information; it is an error when keys cannot work either.`,
		Detection: `PasswordAuthentication, KbdInteractiveAuthentication with UsePAM,
PermitRootLogin and PermitEmptyPasswords from the configuration for this user, and the shadow
hash.`,
		Fix: `Prefer a key (see authkeys.*). To allow passwords for this user only: a "Match User
NAME" block with "PasswordAuthentication yes"; for a missing password: passwd NAME.`,
	})
	_ = Register(Doc{
		Code: "authkeys.missing", Severity: SeverityError, Layer: LayerKeys,
		Title: "The user has no authorized_keys file",
		Meaning: `None of the files AuthorizedKeysFile names for this user exists (or holds a key),
and no AuthorizedKeysCommand supplies keys, so no key can log in.`,
		Detection: `AuthorizedKeysFile expanded for the user (%h, %u, %U; relative to the home
directory), each file looked up inside the inspected system.`,
		Fix: `Create ~/.ssh (mode 700) and ~/.ssh/authorized_keys (mode 600), owned by the user, and
put the public key in it (ssh-copy-id from the client does all of this).`,
	})
	_ = Register(Doc{
		Code: "authkeys.permissions", Severity: SeverityError, Layer: LayerKeys,
		Title: "StrictModes makes sshd ignore authorized_keys: bad owner or mode",
		Meaning: `With StrictModes yes (the default), sshd ignores authorized_keys when the file, or
a directory from it up to the home directory, is not owned by root or the user, or is writable by
group or others ("Authentication refused: bad ownership or modes for directory ..."). Debian's
sshd accepts group write when the group is the user's private group. sshd also reads the file as
the user, who must be able to reach it.`,
		Detection: `Each component of the file's real path is stat'ed inside the inspected system and
judged as OpenSSH's safe_path() does, with Debian's secure_permissions() on Debian systems; every
bad component is reported, with the owner and mode it should have.`,
		Fix: `chown and chmod exactly the components named; typically chmod go-w ~ and chmod 700
~/.ssh and chmod 600 ~/.ssh/authorized_keys, owned by the user.`,
	})
	_ = Register(Doc{
		Code: "authkeys.invalid-entry", Severity: SeverityWarning, Layer: LayerKeys,
		Title: "A line of authorized_keys cannot be used",
		Meaning: `sshd silently skips a line it cannot parse: a key wrapped over several lines or cut
short, an unknown key type, a typo in the options, an RSA key under 1024 bits, principals=
without cert-authority. If that line held the key you use, the key is refused.`,
		Detection: `Every line is parsed as sshd's auth_check_authkeys_file() does: options (quotes,
escapes, each option and its value checked), key type, base64 blob.`,
		Fix: `Replace the line with the key as ssh-keygen or the .pub file gives it, on one line; or
comment it out.`,
	})
	_ = Register(Doc{
		Code: "authkeys.key-absent", Severity: SeverityError, Layer: LayerKeys,
		Title: "The key is not authorized for this user",
		Meaning: `The key given with --key is in none of the user's authorized_keys files, or it is
there with options that refuse this client (from=, expiry-time=, certificate principals). The
key may have been installed for another user, or in a file sshd does not read.`,
		Detection: `The key's blob (SHA256 fingerprint) is compared with every entry of every file
AuthorizedKeysFile names for the user; certificates are matched against cert-authority entries.
Keys that an AuthorizedKeysCommand returns cannot be seen offline.`,
		Fix: `Append the public key to the user's authorized_keys (ssh-copy-id does it), or fix the
options of its line.`,
	})
	_ = Register(Doc{
		Code: "authkeys.algorithm-refused", Severity: SeverityError, Layer: LayerKeys,
		Title: "PubkeyAcceptedAlgorithms does not accept the key's type",
		Meaning: `sshd only accepts public-key signatures whose algorithm is in
PubkeyAcceptedAlgorithms. A DSA key (ssh-dss) or an RSA key whose client can only sign with
ssh-rsa (SHA-1) is refused by OpenSSH's defaults, and a custom list may leave out more.`,
		Detection: `The signature algorithms a client can use for the key's type (rsa-sha2-512,
rsa-sha2-256, ssh-rsa for RSA) matched against the effective list, as sshd's
match_pattern_list() does.`,
		Fix: `Best: use an Ed25519 key. Or add the algorithm to PubkeyAcceptedAlgorithms with a "+"
(for example +ssh-rsa), knowing what that weakens.`,
	})
)

// ServerAccessFacts is what the account, access and authorized_keys
// checks of `sshdoctor server --user` read.
type ServerAccessFacts struct {
	// Account is the account's facts; nil means --user was not given.
	Account *accounts.Facts
	// Access is sshd's configuration for this user and client.
	Access accounts.Access
	// Client is the --from address; its zero value means unknown.
	Client accounts.Client
	// Keys are the authorized_keys facts; nil when not inspected (no
	// account).
	Keys *authkeys.Facts
	// Key is the --key; nil when not given.
	Key *authkeys.Key
	// NeedPassword is true when the user means to log in with a password,
	// which makes auth.password-disabled an error.
	NeedPassword bool
}

// ServerAccess judges whether the account can log in, in sshd's order:
// the Allow/Deny rules and PermitRootLogin, then the account (locked,
// expired, shell, nologin), then authorized_keys and the password method.
func ServerAccess(f *ServerAccessFacts) []Finding {
	a := f.Account
	if a == nil {
		return nil
	}
	x := fixer{acct: a}
	if a.Entry == nil {
		return []Finding{missingAccount(a, x)}
	}
	var out []Finding
	out = append(out, accessRules(f, x)...)
	out = append(out, accountState(f, x)...)
	keys, usable := keyFindings(f, x)
	out = append(out, keys...)
	out = append(out, passwordFinding(f, x, usable)...)
	return out
}

func missingAccount(a *accounts.Facts, x fixer) Finding {
	ev := []KV{E("user", a.User), E("file", x.path(accounts.PasswdFile)), E("searched", searched(a))}
	if len(a.NearMisses) > 0 {
		ev = append(ev, E("similar_users", a.NearMisses))
	}
	for _, le := range a.Invalid {
		if le.File == accounts.PasswdFile && strings.HasPrefix(le.Text, a.User+":") {
			ev = append(ev, E("damaged_line", fmt.Sprintf("%s:%d", le.File, le.Line)), E("damage", le.Reason))
			return New("account.missing",
				fmt.Sprintf("%s:%d would define %s, but the system cannot parse it (%s), so the account does not exist.", le.File, le.Line, a.User, le.Reason), ev...).
				WithFix("Repair that line of /etc/passwd (vipw checks it).", "vipw"+x.rootFlag("-R"))
		}
	}
	d := fmt.Sprintf("There is no account named %s.", a.User)
	if len(a.NearMisses) > 0 {
		d += fmt.Sprintf(" Did you mean %s?", strings.Join(a.NearMisses, " or "))
	}
	return New("account.missing", d, ev...).
		WithFix("Log in as an existing user, or create the account.", x.tool("useradd", "-m", "-s", "/bin/bash", a.User))
}

func searched(a *accounts.Facts) []string {
	if a.Live {
		return []string{"files", "getent"}
	}
	return []string{"files"}
}

func accessRules(f *ServerAccessFacts, x fixer) []Finding {
	a, acc := f.Account, f.Access
	var out []Finding
	res := acc.Allowed(a.User, a.Groups, f.Client)
	ev := []KV{E("user", a.User), E("directive", res.Directive), E("pattern", res.Pattern), E("source", res.Source)}
	if strings.HasSuffix(res.Directive, "Groups") {
		ev = append(ev, E("groups", nonNil(a.Groups)))
	}
	if f.Client.Known() {
		ev = append(ev, E("from", f.Client.Addr.String()))
	}
	switch res.Outcome {
	case accounts.Denied:
		d := fmt.Sprintf("sshd refuses %s: %s (%s at %s).", a.User, res.Reason, res.Directive, res.Source)
		if res.Pattern != "" {
			d = fmt.Sprintf("sshd refuses %s: %s (pattern %q at %s).", a.User, res.Reason, res.Pattern, res.Source)
		}
		summary, cmds := ruleFix(acc, res, a, x)
		out = append(out, New("access.denied-by-config", d, ev...).WithFix(summary, cmds...))
	case accounts.Depends:
		var pats []string
		for _, p := range res.Conditional {
			pats = append(pats, p.Value+" ("+p.Source+")")
		}
		ev = append(ev, E("patterns", pats))
		verb := "may be refused"
		if res.Directive == "AllowUsers" {
			verb = "is allowed only"
		}
		out = append(out, New("access.denied-by-config",
			fmt.Sprintf("%s %s depending on the client address (%s USER@HOST patterns); give --from to know.", a.User, verb, res.Directive), ev...).
			WithSeverity(SeverityWarning).WithFix("Evaluate for the client's address.", "sshdoctor server --user "+a.User+" --from ADDRESS"))
	}
	if a.Entry.UID == 0 {
		rp := acc.RootLogin()
		if rp.Value == "no" {
			out = append(out, New("access.denied-by-config",
				fmt.Sprintf("PermitRootLogin no (%s): sshd refuses %s (uid 0) whatever the method.", rp.Source, a.User),
				E("user", a.User), E("directive", "PermitRootLogin"), E("value", rp.Value), E("source", rp.Source)).
				WithFix("Log in as another user and use sudo; or allow root with keys only.", setDirective(x, rp.Source, "PermitRootLogin prohibit-password")...).
				WithWarning("Root logins over SSH are a target for guessing; keys only (prohibit-password) is the safe middle."))
		}
	}
	if !acc.PubkeyAuthentication && f.Key != nil {
		src := acc.Source("PubkeyAuthentication")
		out = append(out, New("access.denied-by-config",
			fmt.Sprintf("PubkeyAuthentication no (%s): sshd accepts no key for %s, this one included.", src, a.User),
			E("user", a.User), E("directive", "PubkeyAuthentication"), E("value", "no"), E("source", src)).
			WithFix("Turn public-key authentication on.", setDirective(x, src, "PubkeyAuthentication yes")...))
	}
	return out
}

// ruleFix says how to change the Allow/Deny directive that refused the
// user, as a sed command on the exact line.
func ruleFix(acc accounts.Access, res accounts.AccessResult, a *accounts.Facts, x fixer) (string, []string) {
	file, line, ok := splitSource(res.Source)
	if !ok {
		return "Change " + res.Directive + " in the sshd configuration.", nil
	}
	target := x.path(file)
	var cmd, summary string
	switch {
	case res.Reason == "not in any group" || (res.Directive == "AllowGroups" && a.PrimaryGroup == ""):
		// The primary gid has no group record and no group lists the user.
		return fmt.Sprintf("%s belongs to no group that sshd can name (gid %d has no entry in /etc/group): add the group, or add the user to an allowed one.", a.User, a.Entry.GID), nil
	}
	switch res.Directive {
	case "AllowUsers":
		summary = fmt.Sprintf("Add %s to AllowUsers (%s line %d).", a.User, file, line)
		cmd = fmt.Sprintf(`sed -i '%ds/^\([[:space:]]*AllowUsers\)/\1 %s/I' %s`, line, a.User, shellQuote(target))
	case "AllowGroups":
		summary = fmt.Sprintf("Add %s's group %s to AllowGroups (%s line %d), or add the user to an allowed group.", a.User, a.PrimaryGroup, file, line)
		cmd = fmt.Sprintf(`sed -i '%ds/^\([[:space:]]*AllowGroups\)/\1 %s/I' %s`, line, a.PrimaryGroup, shellQuote(target))
	default: // DenyUsers, DenyGroups: take the pattern out
		list := acc.DenyUsers
		if res.Directive == "DenyGroups" {
			list = acc.DenyGroups
		}
		n := 0
		for _, p := range list {
			if p.Source == res.Source {
				n++
			}
		}
		summary = fmt.Sprintf("Remove %q from %s (%s line %d).", res.Pattern, res.Directive, file, line)
		if n <= 1 {
			// The only pattern on its line: without it the line would be
			// "DenyUsers" alone, which sshd rejects. Comment it out.
			cmd = fmt.Sprintf(`sed -i '%ds/^/# /' %s`, line, shellQuote(target))
		} else {
			cmd = fmt.Sprintf(`sed -i '%ds/[[:space:]]%s\([[:space:]]\|$\)/\1/' %s`, line, sedQuote(res.Pattern), shellQuote(target))
		}
	}
	return summary, append([]string{cmd}, x.reload()...)
}

// setDirective replaces the line at source with text, or appends text to
// sshd_config when the setting is a default.
func setDirective(x fixer, source, text string) []string {
	file, line, ok := splitSource(source)
	var cmd string
	if ok {
		cmd = fmt.Sprintf("sed -i '%ds/.*/%s/' %s", line, text, shellQuote(x.path(file)))
	} else {
		// At the top, never at the end: a line after a Match block would
		// apply only inside it.
		cmd = fmt.Sprintf("sed -i '1i %s' %s", text, shellQuote(x.path("/etc/ssh/sshd_config")))
	}
	return append([]string{cmd}, x.reload()...)
}

func splitSource(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	return s[:i], n, err == nil && n > 0
}

var sedSpecial = regexp.MustCompile(`[][\\/.*^$]`)

func sedQuote(s string) string { return sedSpecial.ReplaceAllString(s, `\$0`) }

func accountState(f *ServerAccessFacts, x fixer) []Finding {
	a, acc := f.Account, f.Access
	u := a.User
	pam := E("use_pam", acc.UsePAM)
	pamSrc := E("use_pam_source", acc.Source("UsePAM"))
	var out []Finding

	if hash, src := a.Hash(); accounts.LockedForSSHD(hash) {
		ev := []KV{E("user", u), E("password_field", lockMarker(hash)), E("source", src), pam, pamSrc}
		cmd, summary := x.tool("usermod", "-U", u), "Unlock the password (it comes back as it was)."
		if len(strings.TrimLeft(hash, "!")) < 13 {
			// Nothing behind the "!": usermod -U would refuse to make a
			// passwordless account. "*" unlocks keys and keeps passwords out.
			cmd, summary = x.tool("usermod", "-p", "'*'", u), "Mark the account as having no password instead of a locked one: keys work, passwords cannot."
		}
		fd := New("account.locked", fmt.Sprintf("The password of %s is locked (%s), and with UsePAM no sshd refuses every login to a locked account, keys included.", u, lockMarker(hash)), ev...).
			WithFix(summary, cmd)
		if acc.UsePAM {
			fd.Detail = fmt.Sprintf("The password of %s is locked (%s): password logins fail. Key logins still work, because with UsePAM yes sshd leaves the lock to PAM, which checks it only for passwords.", u, lockMarker(hash))
			if !f.NeedPassword {
				fd = fd.WithSeverity(SeverityInfo)
				fd.Fix = nil
			}
		}
		out = append(out, fd)
	}

	if s := a.Shadow; s != nil {
		ev := []KV{E("user", u), E("source", fmt.Sprintf("%s:%d", accounts.ShadowFile, s.Line)), E("today", accounts.DayDate(a.Today)), pam}
		if s.AccountExpired(a.Today, acc.UsePAM) {
			out = append(out, New("account.expired",
				fmt.Sprintf("The account %s expired on %s: every login is refused, keys included.", u, accounts.DayDate(s.Expire)),
				append(ev, E("expired_on", accounts.DayDate(s.Expire)))...).
				WithFix("Remove the account's expiry date.", x.tool("chage", "-E", "-1", u)))
		}
		today := accounts.DayDate(a.Today)
		restart := x.tool("chage", "-d", today, u)
		switch s.PasswordState(a.Today, acc.UsePAM) {
		case accounts.PasswordInactive:
			out = append(out, New("account.expired",
				fmt.Sprintf("The password of %s expired on %s and its %d-day grace period is over: PAM refuses every login, keys included.", u, accounts.DayDate(s.LastChange+s.Max), s.Inactive),
				append(ev, E("password_expired_on", accounts.DayDate(s.LastChange+s.Max)), E("inactive_days", s.Inactive))...).
				WithFix("Restart the password's age (or set a new password with passwd).", restart))
		case accounts.PasswordMustChange:
			d := fmt.Sprintf("The password of %s has expired: password logins must change it first; key logins are not affected (UsePAM no).", u)
			if acc.UsePAM {
				d = fmt.Sprintf("The password of %s has expired: with UsePAM yes every login, keys included, must change it first; an interactive session asks for it, a command without a terminal fails.", u)
			}
			when := "forced (last change 0)"
			if s.LastChange != 0 {
				when = accounts.DayDate(s.LastChange + s.Max)
			}
			fd := New("account.expired", d, append(ev, E("password_expired_on", when))...).
				WithSeverity(SeverityWarning).
				WithFix("Restart the password's age, or let the user change it at the next login.", restart)
			if !acc.UsePAM && len(acc.PasswordMethods()) == 0 {
				// Only password logins would notice, and there are none.
				fd = fd.WithSeverity(SeverityInfo)
			}
			out = append(out, fd)
		}
	}

	sh := a.Shell
	shellEv := []KV{E("user", u), E("shell", accounts.Escape(sh.Path, 100)), E("source", fmt.Sprintf("%s:%d", accounts.PasswdFile, a.Entry.Line))}
	chsh := x.tool("chsh", "-s", pickShell(sh), u)
	switch {
	case !acc.Chrooted() && (!sh.Exists || !sh.Regular || !sh.Executable):
		why := "does not exist"
		switch {
		case strings.ContainsAny(sh.Path, "\r"):
			why = "does not exist: the line ends with a carriage return (edited on Windows?)"
		case sh.Err != "":
			why = "cannot be examined: " + sh.Err
		case sh.Exists && !sh.Regular:
			why = "is not a regular file"
		case sh.Exists:
			why = "is not executable"
		}
		out = append(out, New("account.nologin-shell",
			fmt.Sprintf("The shell of %s, %s, %s, so sshd refuses the user before any authentication.", u, accounts.Escape(sh.Path, 100), why), shellEv...).
			WithFix("Give the account a working shell.", chsh))
	case sh.Refuses != "" && acc.ForceCommand == "internal-sftp":
		out = append(out, New("account.nologin-shell",
			fmt.Sprintf("The shell of %s is %s, but ForceCommand internal-sftp runs without it: SFTP works, shell logins do not.", u, sh.Path), shellEv...).
			WithSeverity(SeverityInfo))
	case sh.Refuses != "":
		out = append(out, New("account.nologin-shell",
			fmt.Sprintf("The shell of %s is %s: logins authenticate and close at once (\"This account is currently not available.\"), commands and scp included.", u, sh.Path), shellEv...).
			WithFix("Give the account a login shell.", chsh))
	case sh.ShellsFile && !sh.Listed:
		mods := a.PAM.Has("pam_shells.so", "")
		d := fmt.Sprintf("The shell of %s, %s, is not in /etc/shells. sshd does not care, but chsh, FTP servers and pam_shells do.", u, sh.Path)
		sev := SeverityWarning
		if acc.UsePAM && len(mods) > 0 {
			shellEv = append(shellEv, E("pam_shells", mods[0].Source))
			d = fmt.Sprintf("The shell of %s, %s, is not in /etc/shells, and sshd's PAM stack uses pam_shells (%s), which refuses such accounts", u, sh.Path, mods[0].Source)
			if mods[0].Type == "auth" {
				d += " for password logins (key logins skip the auth stack)."
			} else {
				sev = SeverityError
				d += "."
			}
		}
		out = append(out, New("account.nologin-shell", d, shellEv...).WithSeverity(sev).
			WithFix("List the shell in /etc/shells.", fmt.Sprintf("echo %s >> %s", shellQuote(sh.Path), shellQuote(x.path(accounts.ShellsFile)))))
	}

	if a.Entry.UID != 0 {
		out = append(out, nologinFindings(f, x)...)
	}
	return out
}

func lockMarker(hash string) string {
	if len(strings.TrimLeft(hash, "!")) >= 13 {
		return `"!" in front of the hash`
	}
	return strconv.Quote(hash)
}

// pickShell chooses the shell a fix sets: bash if the system has it.
func pickShell(sh accounts.Shell) string {
	for _, want := range []string{"/bin/bash", "/usr/bin/bash"} {
		if slices.Contains(sh.Available, want) {
			return want
		}
	}
	if len(sh.Available) > 0 {
		return sh.Available[0]
	}
	return "/bin/sh"
}

func nologinFindings(f *ServerAccessFacts, x fixer) []Finding {
	a, acc := f.Account, f.Access
	var out []Finding
	for _, n := range a.Nologin {
		nl := a.PAM.NologinFor(n.Path)
		ev := []KV{E("path", n.Path), E("message", n.Message), E("user", a.User)}
		var d string
		sev := SeverityError
		switch {
		case !acc.UsePAM && n.Path == "/etc/nologin":
			d = fmt.Sprintf("%s exists: sshd (UsePAM no) refuses every user but root after authentication, showing its text.", n.Path)
			ev = append(ev, E("checked_by", "sshd"))
		case acc.UsePAM && len(nl) > 0:
			d = fmt.Sprintf("%s exists: pam_nologin (%s) refuses every user but root, showing its text.", n.Path, nl[0].Source)
			ev = append(ev, E("checked_by", "pam_nologin"), E("pam_source", nl[0].Source))
			if nl[0].Type == "auth" {
				d += " It sits in the auth stack, so only password logins are affected."
				sev = SeverityWarning
			}
		default:
			d = fmt.Sprintf("%s exists, but nothing in sshd's setup checks it here (UsePAM %s, no pam_nologin for this path).", n.Path, yesNo(acc.UsePAM))
			sev = SeverityInfo
		}
		fd := New("account.nologin-file", d, ev...).WithSeverity(sev)
		if sev != SeverityInfo {
			fd = fd.WithFix("Remove the file once the maintenance it announces is over.", "rm "+shellQuote(x.path(n.Path))).
				WithWarning("shutdown creates /run/nologin shortly before a reboot; if one is scheduled, let it be.")
		}
		out = append(out, fd)
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
