package fix

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// accounts

// accTool is the argv of an account tool, with -R ROOT for an offline tree
// (shadow-utils then chroot into it and edit its files).
func accTool(sc *ServerContext, name string, args ...string) []string {
	argv := []string{name}
	if sc.Root != "/" {
		argv = append(argv, "-R", sc.Root)
	}
	return append(argv, args...)
}

// accShell joins commands into one sh -c step, for a change whose exact
// undo needs two tools.
func accShell(cmds ...[]string) []string {
	q := make([]string, len(cmds))
	for i, c := range cmds {
		q[i] = commandLine(c)
	}
	return []string{"sh", "-c", strings.Join(q, " && ")}
}

func accToolsPresent(names ...string) bool {
	for _, n := range names {
		if _, err := accLookPath(n); err != nil {
			return false
		}
	}
	return true
}

// planUnlock removes the lock from the password: usermod -U (the old
// password works again, undo usermod -L), or, when nothing is behind the
// lock, "*" (keys work, no password can), undone by putting the lock back
// with the same date of last change.
func planUnlock(sc *ServerContext, f check.Finding) Planned {
	a := sc.Facts.Account
	if a == nil || a.Entry == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	hash, src := a.Hash()
	if !accounts.LockedForSSHD(hash) {
		return Planned{}
	}
	u := a.User
	rest := strings.TrimLeft(hash, "!")
	bangs := len(hash) - len(rest)
	st := Step{Finding: f.Code, Kind: KindExec, Phase: PhaseFiles}
	if len(rest) >= 13 {
		if bangs > 1 {
			return Planned{Manual: []Step{{Finding: f.Code, Kind: KindManual, Summary: fmt.Sprintf("%s's password is locked %d times over (%s)", u, bangs, src),
				Command: []string{strings.Repeat(commandLine(accTool(sc, "usermod", "-U", u))+"; ", bangs-1) + commandLine(accTool(sc, "usermod", "-U", u))},
				Risk:    "usermod -L cannot put back more than one \"!\", so this could not be undone exactly"}}}
		}
		st.Command, st.Undo = accTool(sc, "usermod", "-U", u), accTool(sc, "usermod", "-L", u)
		st.Summary = fmt.Sprintf("unlock %s's password (%s): the password it had before the lock works again", u, src)
		st.Risk = fmt.Sprintf("only %s; whoever knows the old password can log in with it wherever passwords are accepted. Someone locked the account on purpose (usermod -L, passwd -l): make sure that is over", u)
	} else {
		st.Command, st.Undo = accTool(sc, "usermod", "-p", "*", u), accTool(sc, "usermod", "-p", hash, u)
		if a.Shadow != nil {
			// usermod -p also sets the date of last change to today;
			// keep the old one both ways.
			last := strconv.FormatInt(a.Shadow.LastChange, 10)
			st.Command = accShell(st.Command, accTool(sc, "chage", "-d", last, u))
			st.Undo = accShell(st.Undo, accTool(sc, "chage", "-d", last, u))
		}
		st.Summary = fmt.Sprintf("mark %s as having no password instead of a locked one (%s %q becomes \"*\"): keys work, passwords cannot", u, src, hash)
		st.Risk = fmt.Sprintf("only %s: every key in their authorized_keys can log in again", u)
	}
	if !accToolsPresent("usermod", "chage") {
		return shadowEdit(sc, f, u, 1, unlockedHash(hash), st.Summary, st.Risk)
	}
	return Planned{Steps: []Step{st}}
}

func unlockedHash(hash string) string {
	if rest := strings.TrimLeft(hash, "!"); len(rest) >= 13 {
		return rest
	}
	return "*"
}

// planExpired removes an account expiry (chage -E -1, undo the old date)
// or restarts the age of an expired password (chage -d today, undo the old
// date of last change).
func planExpired(sc *ServerContext, f check.Finding) Planned {
	a := sc.Facts.Account
	if a == nil || a.Entry == nil || a.Shadow == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	u, s := a.User, a.Shadow
	st := Step{Finding: f.Code, Kind: KindExec, Phase: PhaseFiles}
	var field int
	var value string
	switch {
	case f.Evidence.Get("expired_on") != nil:
		if s.Expire < 0 {
			return Planned{}
		}
		st.Command = accTool(sc, "chage", "-E", "-1", u)
		st.Undo = accTool(sc, "chage", "-E", strconv.FormatInt(s.Expire, 10), u)
		st.Summary = fmt.Sprintf("remove the expiry date of %s's account (%s)", u, accounts.DayDate(s.Expire))
		st.Risk = fmt.Sprintf("only %s; the date was set on purpose (chage -E), for example for a temporary account: make sure the account should live on", u)
		field, value = 7, ""
	case f.Evidence.Get("password_expired_on") != nil:
		today := strconv.FormatInt(a.Today, 10)
		st.Command = accTool(sc, "chage", "-d", today, u)
		st.Undo = accTool(sc, "chage", "-d", strconv.FormatInt(s.LastChange, 10), u)
		st.Summary = fmt.Sprintf("count %s's password as changed today (%s), so it is no longer expired", u, accounts.DayDate(a.Today))
		st.Risk = fmt.Sprintf("only %s; the same password stays valid for another password lifetime (chage -M): better have %s choose a new one (passwd)", u, u)
		if s.LastChange == 0 {
			st.Risk = fmt.Sprintf("only %s; an administrator forced a password change at the next login (passwd -e): this cancels it", u)
		}
		field, value = 2, today
	default:
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	if !accToolsPresent("chage") {
		return shadowEdit(sc, f, u, field, value, st.Summary, st.Risk)
	}
	return Planned{Steps: []Step{st}}
}

// planShell gives the account a login shell (usermod -s, undo the old
// one), or lists its shell in /etc/shells when only pam_shells minds.
func planShell(sc *ServerContext, f check.Finding) Planned {
	a := sc.Facts.Account
	if a == nil || a.Entry == nil {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	u, sh := a.User, a.Shell
	if sh.Exists && sh.Regular && sh.Executable && sh.Refuses == "" && sh.ShellsFile && !sh.Listed {
		return planShellsFile(sc, f, sh.Path)
	}
	shell := accPickShell(sc, sh)
	if shell == "" {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "no usable login shell was found in the system"}
	}
	st := Step{Finding: f.Code, Kind: KindExec, Phase: PhaseFiles,
		Command: accTool(sc, "usermod", "-s", shell, u),
		Summary: fmt.Sprintf("give %s the login shell %s (it was %s)", u, shell, accounts.Escape(sh.Configured, 100))}
	st.Risk = fmt.Sprintf("only %s: whoever holds %s's key or password gets a shell on this machine", u, u)
	if sh.Refuses != "" {
		st.Risk += fmt.Sprintf("; %s was set on purpose to forbid logins, often for service accounts", sh.Path)
	}
	if strings.IndexFunc(sh.Configured, func(r rune) bool { return r < ' ' || r == 0x7f || r == ':' }) < 0 {
		st.Undo = accTool(sc, "usermod", "-s", sh.Configured, u)
	} else {
		st.Risk += "; undo cannot put the old shell back: usermod refuses its control characters (they are what broke it)"
	}
	if !accToolsPresent("usermod") {
		return passwdEdit(sc, f, u, 6, shell, st.Summary, st.Risk)
	}
	return Planned{Steps: []Step{st}}
}

// accPickShell chooses the shell to set: bash if the system has it, else
// the first working shell of /etc/shells, else /bin/sh if it exists.
func accPickShell(sc *ServerContext, sh accounts.Shell) string {
	for _, want := range []string{"/bin/bash", "/usr/bin/bash"} {
		if slices.Contains(sh.Available, want) {
			return want
		}
	}
	if len(sh.Available) > 0 {
		return sh.Available[0]
	}
	if _, fi, err := accounts.StatIn(sc.Root, "/bin/sh"); err == nil && fi.Mode().IsRegular() {
		return "/bin/sh"
	}
	return ""
}

// planShellsFile appends the account's shell to /etc/shells.
func planShellsFile(sc *ServerContext, f check.Finding, shell string) Planned {
	if strings.IndexFunc(shell, func(r rune) bool { return r < ' ' }) >= 0 {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	host := sc.Conf.host(accounts.ShellsFile)
	old, err := os.ReadFile(host)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	now := append([]byte{}, old...)
	if len(now) > 0 && now[len(now)-1] != '\n' {
		now = append(now, '\n')
	}
	now = append(now, shell+"\n"...)
	return Planned{Steps: []Step{{Finding: f.Code, Kind: KindWrite, NoFollow: true, Path: host, Content: now, Diff: Diff(accounts.ShellsFile, string(old), string(now)),
		Mode: 0o644, UID: -1, GID: -1, Phase: PhaseFiles,
		Summary: fmt.Sprintf("list %s in /etc/shells", shell),
		Risk:    fmt.Sprintf("every account whose shell is %s: pam_shells and chsh accept it from now on", shell)}}}
}

// planNologinFile removes the nologin file (backed up, so undo puts it
// back with its text).
func planNologinFile(sc *ServerContext, f check.Finding) Planned {
	p, _ := f.Evidence.Get("path").(string)
	if p == "" {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	if sc.Live && (strings.HasPrefix(p, "/run/") || strings.HasPrefix(p, "/var/run/")) {
		if _, err := os.Stat("/run/systemd/shutdown/scheduled"); err == nil {
			return Planned{Skip: "a shutdown is scheduled (/run/systemd/shutdown/scheduled): " + p + " is part of it"}
		}
	}
	dir, err := accounts.RealPath(sc.Root, path.Dir(p))
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	host := sc.Conf.host(path.Join(dir, path.Base(p)))
	if fi, err := os.Lstat(host); err != nil || !fi.Mode().IsRegular() {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: p + " is not a regular file: remove it yourself if that is right"}
	}
	msg, _ := f.Evidence.Get("message").(string)
	return Planned{Steps: []Step{{Finding: f.Code, Kind: KindRemove, Path: host, Phase: PhaseFiles,
		Summary: fmt.Sprintf("remove %s (%q)", p, msg),
		Risk:    "every user but root may log in again; whoever created the file (maintenance, a shutdown) wanted them out"}}}
}

// shadowEdit and passwdEdit change one field of the user's line directly,
// for systems without the account tools: the whole file is backed up and
// replaced atomically, so undo restores it byte for byte.
func shadowEdit(sc *ServerContext, f check.Finding, user string, field int, value, summary, risk string) Planned {
	file := accounts.ShadowFile
	if sc.Facts.Account.Shadow == nil {
		file = accounts.PasswdFile
	}
	return accFieldEdit(sc, f, file, user, field, value, summary, risk)
}

func passwdEdit(sc *ServerContext, f check.Finding, user string, field int, value, summary, risk string) Planned {
	return accFieldEdit(sc, f, accounts.PasswdFile, user, field, value, summary, risk)
}

func accFieldEdit(sc *ServerContext, f check.Finding, file, user string, field int, value, summary, risk string) Planned {
	dir, err := accounts.RealPath(sc.Root, path.Dir(file))
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	host := sc.Conf.host(path.Join(dir, path.Base(file)))
	old, err := os.ReadFile(host)
	if err != nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	now, ok := setField(old, user, field, value)
	if !ok {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: fmt.Sprintf("%s has no single line for %s", file, user)}
	}
	diff := Diff(file, string(old), string(now))
	if file == accounts.ShadowFile {
		diff = "" // password hashes stay out of the plan
	}
	return Planned{Steps: []Step{{Finding: f.Code, Kind: KindWrite, NoFollow: true, Path: host, Content: now, Diff: diff, Mode: 0o640, UID: -1, GID: -1,
		Phase: PhaseFiles, Summary: summary + " (editing " + file + ": the account tools are not installed)", Risk: risk}}}
}

// setField sets the 0-based field of user's line in a passwd or shadow
// file; ok is false unless exactly one line is the user's.
func setField(data []byte, user string, field int, value string) ([]byte, bool) {
	lines := strings.SplitAfter(string(data), "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, user+":") {
			if at >= 0 {
				return nil, false
			}
			at = i
		}
	}
	if at < 0 {
		return nil, false
	}
	l := lines[at]
	nl := ""
	if strings.HasSuffix(l, "\n") {
		l, nl = strings.TrimSuffix(l, "\n"), "\n"
	}
	fs := strings.Split(l, ":")
	if field >= len(fs) {
		return nil, false
	}
	fs[field] = value
	lines[at] = strings.Join(fs, ":") + nl
	return []byte(strings.Join(lines, "")), true
}
