package check

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

var (
	_ = Register(Doc{
		Code: "sshd.config-invalid", Severity: SeverityError, Layer: LayerConfig,
		Title: "sshd refuses its configuration",
		Meaning: `A line of sshd_config (or of a file it includes) is one sshd does not accept: an
unknown or misspelt keyword, a bad value, a keyword that is not allowed inside a Match block, an
Include that cannot be read. sshd checks its whole configuration when it starts and refuses to
start on the first such line. A running sshd keeps the configuration it started with, so the
mistake often lies dormant until the next restart, package upgrade or reboot, and then SSH is
down ("Connection refused") with the reason only in the journal. Lines sshd merely warns about
(deprecated keywords it ignores) are reported as warnings.`,
		Detection: `sshdoctor parses the configuration the way OpenSSH 9.2 does (keywords, quoting, Include
globs relative to /etc/ssh, Match blocks, value checks), and lists every bad line with its file,
line and sshd's own message, not only the first one: 'sshd -t' stops at the first fatal error,
so fixing lines one 'sshd -t' at a time can take several rounds. On the live system it also runs
the real 'sshd -t', which has the last word: when sshd accepts what we flagged, our finding is
dropped, and when sshd refuses what we did not flag, its message is reported as is.`,
		Fix: `Correct or remove each line named (for a misspelt keyword the corrected spelling is
given), then run 'sudo sshd -t': it must print nothing. Only then restart or reload sshd
('sudo systemctl reload ssh'), so that a mistake never takes the running server down.`,
	})
	_ = Register(Doc{
		Code: "sshd.hostkeys-missing", Severity: SeverityError, Layer: LayerConfig,
		Title: "sshd has no usable host key",
		Meaning: `sshd proves its identity with host keys (/etc/ssh/ssh_host_*_key, or the HostKey
lines). With none it can load, it refuses to start ("sshd: no hostkeys available -- exiting.").
This happens on images built without keys, after someone deleted them to "regenerate" keys, or
when a key file is readable by others: sshd then ignores it as an unprotected private key. A
HostKey line naming a missing or broken file, while other keys work, does not stop sshd but is
reported as a warning: clients that know the server by that key type lose it.`,
		Detection: `sshdoctor takes the HostKey list of the effective configuration (or the three default
files when there is none), and loads each key as sshd would: it must exist, be a private key
without passphrase, not be group- or world-readable when root owns it, and an RSA key must have
at least RequiredRSASize bits.`,
		Fix: `Create the missing default keys with 'sudo ssh-keygen -A' (for an offline disk mounted
at DIR: 'ssh-keygen -A -f DIR'), or generate the file a HostKey line names; make key files
'chmod 600' and owned by root. Clients will see a new host key and must update known_hosts.`,
	})
	_ = Register(Doc{
		Code: "sshd.privsep-dir-missing", Severity: SeverityError, Layer: LayerConfig,
		Title: "sshd's privilege separation directory is missing",
		Meaning: `sshd runs the pre-authentication part of every connection in an empty directory it
chroots into (/run/sshd on Debian and Ubuntu). When the directory is missing, not owned by root,
or writable by others, sshd refuses to start, and a running sshd drops every new connection
right after accepting it: clients see "Connection closed" before the banner. /run is a tmpfs
emptied at every boot, so something must recreate the directory: on Debian ssh.service does it
(RuntimeDirectory=sshd), which is why it goes missing when sshd is started another way (by
ssh.socket, by hand, from a container entrypoint).`,
		Detection: `sshdoctor reads the directory name compiled into the sshd binary and checks that it
exists, is a directory owned by root and not writable by group or others. On an offline disk
/run is normally empty, so its absence is no problem there; sshdoctor then only checks that
something in the tree (a systemd unit's RuntimeDirectory, a tmpfiles.d line, an init script)
creates it at boot, and says so as information when nothing does.`,
		Fix: `Create it: 'sudo mkdir -p /run/sshd && sudo chmod 0755 /run/sshd'. To have it at every
boot whatever starts sshd, add a tmpfiles.d entry:
'echo "d /run/sshd 0755 root root -" | sudo tee /etc/tmpfiles.d/sshd.conf'.`,
	})
)

// SSHDConfig judges the sshd configuration facts: the configuration's bad
// lines, the host keys and the privilege separation directory.
func SSHDConfig(f *sshdconfig.Facts) []Finding {
	var out []Finding
	out = append(out, configFindings(f)...)
	out = append(out, hostKeyFindings(f)...)
	out = append(out, privsepFindings(f)...)
	return out
}

// sshdcfgPath turns a path as sshd sees it into the path to type on this
// machine: inside the tree for an offline inspection.
func sshdcfgPath(f *sshdconfig.Facts, p string) string {
	if f.Root != "" && f.Root != "/" {
		return filepath.Join(f.Root, p)
	}
	return p
}

// sshdcfgVerify is the command that checks the configuration again.
func sshdcfgVerify(f *sshdconfig.Facts) string {
	switch {
	case f.Offline():
		return "sshdoctor server --root " + shellQuote(f.Root)
	case f.File == sshdconfig.DefaultFile:
		return "sshd -t"
	}
	return "sshd -t -f " + shellQuote(f.File)
}

func configFindings(f *sshdconfig.Facts) []Finding {
	if f.Config == nil {
		return nil
	}
	var out []Finding
	// The real sshd is the authority: when it accepts the configuration,
	// errors of ours are our bugs (shown as disagreements in debug output),
	// not the user's problem.
	sshdAccepts := f.SSHDTest != nil && f.SSHDTest.OK
	for _, p := range f.Config.Problems {
		if !p.Warning && sshdAccepts {
			continue
		}
		out = append(out, problemFinding(f, p))
	}
	if t := f.SSHDTest; t != nil && !t.OK && len(f.Config.Errors()) == 0 && !sshdcfgExplained(f, t.Output) {
		msg := sshdcfgLastLine(t.Output)
		ev := []KV{E("file", f.File), E("message", msg), E("sshd_output", strings.TrimSpace(t.Output))}
		if len(t.Messages) > 0 {
			ev = append(ev, E("line", t.Messages[len(t.Messages)-1].Line))
		}
		out = append(out, New("sshd.config-invalid",
			fmt.Sprintf("'sshd -t' refuses the configuration: %s", msg), ev...).
			WithFix("Correct what sshd names, then check again.", sshdcfgVerify(f)))
	}
	return out
}

// sshdcfgExplained reports whether sshd -t failed for a reason another
// finding of this file already covers (host keys, privilege separation).
func sshdcfgExplained(f *sshdconfig.Facts, output string) bool {
	switch {
	case strings.Contains(output, "no hostkeys available"):
		return true
	case strings.Contains(output, "privilege separation directory"), strings.Contains(output, "must be owned by root and not group or world-writable"):
		return f.Privsep.Problem() != ""
	}
	return false
}

func sshdcfgLastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func problemFinding(f *sshdconfig.Facts, p sshdconfig.Problem) Finding {
	where := p.File
	if p.Line > 0 {
		where = fmt.Sprintf("line %d of %s", p.Line, p.File)
	}
	ev := []KV{E("file", p.File)}
	if p.Line > 0 {
		ev = append(ev, E("line", p.Line))
	}
	if p.Keyword != "" {
		ev = append(ev, E("keyword", p.Keyword))
	}
	if p.Text != "" {
		ev = append(ev, E("text", p.Text))
	}
	ev = append(ev, E("message", p.Message))
	if p.Hint != "" {
		ev = append(ev, E("hint", p.Hint))
	}
	var detail string
	switch {
	case p.Warning:
		detail = fmt.Sprintf("sshd ignores %s: %s.", where, strings.TrimSuffix(p.Reason, "."))
	case p.Suggestion != "":
		detail = fmt.Sprintf("sshd does not know the keyword %q on %s (did you mean %s?), so it refuses to start.", p.Keyword, where, p.Suggestion)
	case p.Hint != "" && strings.HasPrefix(p.Reason, "Bad configuration option"):
		detail = fmt.Sprintf("sshd does not know the keyword %q on %s, so it refuses to start: %s.", p.Keyword, where, p.Hint)
	default:
		detail = fmt.Sprintf("sshd refuses %s: %s", where, p.Reason)
	}
	if !p.Warning {
		ev = append(ev, E("reported_by_sshd", p.Reported))
		if !p.Reported {
			detail += " 'sshd -t' stops at an earlier error and does not show this one yet."
		}
	}
	file := sshdcfgPath(f, p.File)
	verify := sshdcfgVerify(f)
	fd := New("sshd.config-invalid", detail, ev...)
	if p.Warning {
		fd = fd.WithSeverity(SeverityWarning)
	}
	switch {
	case p.Suggestion != "" && p.Line > 0 && sshdcfgPlainWord(p.Keyword):
		corrected := sshdcfgReplaceKeyword(p.Text, p.Keyword, p.Suggestion)
		fd.Evidence = append(fd.Evidence, E("suggestion", p.Suggestion), E("corrected", corrected))
		fd = fd.WithFix(fmt.Sprintf("Correct the keyword: %q becomes %q.", p.Text, corrected),
			fmt.Sprintf("sed -i '%ds/^\\([[:space:]]*\\)%s/\\1%s/' %s", p.Line, p.Keyword, p.Suggestion, shellQuote(file)),
			verify)
	case p.Line > 0 && (p.Keyword != "" || p.Text != ""):
		summary := fmt.Sprintf("Comment the line out (it reads %q), or correct its value, then check again.", p.Text)
		if p.Warning {
			summary = fmt.Sprintf("Remove the line (%q): sshd ignores it anyway.", p.Text)
		} else if strings.Contains(p.Reason, "not allowed within a Match block") {
			summary = fmt.Sprintf("Move %q above the first Match line: Match blocks take only per-connection keywords.", p.Text)
		}
		fd = fd.WithFix(summary, fmt.Sprintf("sed -i '%ds/^/#/' %s", p.Line, shellQuote(file)), verify)
	default:
		fd = fd.WithFix(fmt.Sprintf("Restore or correct %s (sshd says: %s), then check again.", file, p.Message),
			"ls -l "+shellQuote(file), verify)
	}
	return fd
}

// sshdcfgPlainWord reports whether a keyword can go into a sed expression
// unquoted: sshd keywords are letters and digits only.
func sshdcfgPlainWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func sshdcfgReplaceKeyword(text, written, canonical string) string {
	i := strings.Index(text, written)
	if i < 0 {
		return text
	}
	return text[:i] + canonical + text[i+len(written):]
}

func hostKeyFindings(f *sshdconfig.Facts) []Finding {
	if f.Config == nil {
		return nil
	}
	usable := 0
	var broken []sshdconfig.HostKey
	for _, k := range f.HostKeys {
		if k.Usable() {
			usable++
		} else if k.Configured || k.Exists {
			// A missing default key is normal (sshd tries all three
			// quietly); anything else that does not load is worth saying.
			broken = append(broken, k)
		}
	}
	var lines []string
	for _, k := range f.HostKeys {
		if !k.Usable() {
			lines = append(lines, k.Path+": "+k.Problem)
		}
	}
	var cmds []string
	needKeygenA := false
	for _, k := range f.HostKeys {
		if k.Usable() {
			continue
		}
		path := shellQuote(sshdcfgPath(f, k.Path))
		switch {
		case k.Permissions:
			cmds = append(cmds, "chown root:root "+path+" && chmod 600 "+path)
		case !k.Exists && sshdcfgDefaultKey(k.Path):
			needKeygenA = true
		case !k.Exists:
			cmds = append(cmds, fmt.Sprintf("ssh-keygen -q -N '' -t %s -f %s", sshdcfgKeyType(k.Path), path))
		}
	}
	if needKeygenA {
		keygen := "ssh-keygen -A"
		if f.Offline() {
			keygen = "ssh-keygen -A -f " + shellQuote(f.Root)
		}
		cmds = append([]string{keygen}, cmds...)
	}
	cmds = append(cmds, sshdcfgVerify(f))
	gssKex := strings.EqualFold(sshdcfgFirst(f.Config.Startup().Args("GSSAPIKeyExchange")), "yes")
	switch {
	case usable == 0:
		fd := New("sshd.hostkeys-missing",
			"sshd cannot load any host key, so it refuses to start (\"sshd: no hostkeys available -- exiting.\").",
			E("host_keys", sshdcfgNonNil(lines)), E("configured", f.Config.Startup().HostKeysConfigured())).
			WithFix("Create or repair the host keys, then check the configuration.", cmds...).
			WithWarning("New host keys change the server's identity: clients will warn about a changed host key until known_hosts is updated.")
		if gssKex {
			// GSSAPI key exchange works without host keys, so sshd starts.
			fd = fd.WithSeverity(SeverityWarning)
		}
		return []Finding{fd}
	case len(broken) > 0:
		var names []string
		for _, k := range broken {
			names = append(names, k.Path+": "+k.Problem)
		}
		return []Finding{New("sshd.hostkeys-missing",
			fmt.Sprintf("sshd starts with %d usable host key(s) but cannot load %d of the ones configured; clients that know this server by those key types will see it change.", usable, len(broken)),
			E("host_keys", names)).
			WithSeverity(SeverityWarning).
			WithFix("Repair or regenerate the keys sshd cannot load, or remove their HostKey lines.", cmds...)}
	}
	return nil
}

func sshdcfgFirst(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

func sshdcfgNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sshdcfgDefaultKey(p string) bool {
	switch p {
	case "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key":
		return true
	}
	return false
}

// sshdcfgKeyType guesses the type of a missing key from its file name.
func sshdcfgKeyType(p string) string {
	base := strings.ToLower(filepath.Base(p))
	switch {
	case strings.Contains(base, "rsa"):
		return "rsa"
	case strings.Contains(base, "ecdsa"):
		return "ecdsa"
	}
	return "ed25519"
}

func privsepFindings(f *sshdconfig.Facts) []Finding {
	p := f.Privsep
	dir := sshdcfgPath(f, p.Path)
	tmpfiles := fmt.Sprintf("mkdir -p %s && echo 'd %s 0755 root root -' > %s", shellQuote(sshdcfgPath(f, "/etc/tmpfiles.d")),
		p.Path, shellQuote(sshdcfgPath(f, "/etc/tmpfiles.d/sshd.conf")))
	ev := []KV{E("path", p.Path)}
	if len(p.Creators) > 0 {
		ev = append(ev, E("created_by", p.Creators))
	}
	if f.Offline() {
		if p.Exists || len(p.Creators) > 0 || !strings.HasPrefix(p.Path, "/run/") {
			return nil
		}
		// /run is empty on a disk that is not booted: only a missing
		// recipe for it is worth saying, and only as information.
		return []Finding{New("sshd.privsep-dir-missing",
			fmt.Sprintf("Nothing in this tree creates %s at boot (no RuntimeDirectory in an ssh unit, no tmpfiles.d line, no init script): unless sshd is started by a service that makes it, sshd will refuse to start.", p.Path), ev...).
			WithSeverity(SeverityInfo).
			WithFix("Add a tmpfiles.d entry so that the directory exists at every boot.", tmpfiles)}
	}
	problem := p.Problem()
	if problem == "" {
		return nil
	}
	ev = append(ev, E("problem", problem))
	if p.Exists {
		ev = append(ev, E("owner_uid", p.UID), E("mode", fmt.Sprintf("%04o", uint32(p.Mode))))
	}
	var cmds []string
	var detail string
	switch problem {
	case "missing":
		detail = fmt.Sprintf("%s does not exist: sshd refuses to start (\"Missing privilege separation directory: %s\") and a running sshd drops every new connection before its banner.", p.Path, p.Path)
		if len(p.Creators) > 0 {
			detail += " It is created when ssh.service starts (" + p.Creators[0] + "), so sshd was probably started another way, such as socket activation."
		}
		cmds = append(cmds, fmt.Sprintf("mkdir -p %s && chmod 0755 %s", dir, dir))
	case "not a directory":
		detail = fmt.Sprintf("%s is not a directory, so sshd refuses to start and drops new connections.", p.Path)
		cmds = append(cmds, fmt.Sprintf("mv %s %s.bak && mkdir -m 0755 %s", dir, dir, dir))
	default:
		detail = fmt.Sprintf("%s is %s: sshd refuses to use it (\"%s must be owned by root and not group or world-writable.\").", p.Path, problem, p.Path)
		cmds = append(cmds, fmt.Sprintf("chown root:root %s && chmod 0755 %s", dir, dir))
	}
	if len(p.Creators) == 0 {
		cmds = append(cmds, tmpfiles)
	}
	cmds = append(cmds, "sshd -t")
	return []Finding{New("sshd.privsep-dir-missing", detail, ev...).
		WithFix(fmt.Sprintf("Create %s owned by root with mode 0755; a tmpfiles.d entry keeps it across reboots.", p.Path), cmds...)}
}
