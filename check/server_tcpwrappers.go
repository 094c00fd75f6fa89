package check

import (
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
)

// tcpwFindings evaluates hosts.allow and hosts.deny for From (or for any
// client).
func tcpwFindings(f *ServerBansFacts, w *tcpwrappers.Facts) []Finding {
	if w.SSHD == "" || (!w.Libwrap && w.LibwrapErr == "") {
		return nil // no sshd, or one that does not read the files
	}
	port := 0
	if len(f.Ports) == 1 {
		port = int(f.Ports[0])
	} else if len(f.Ports) == 0 {
		port = 22
	}
	d := w.Evaluate(tcpwrappers.Query{Client: f.From, ClientName: f.FromName, Port: port})
	if d.Access == tcpwrappers.Granted {
		return nil
	}
	rootPath := func(p string) string { return banRootPath(w.Root, w.Live, p) }
	ev := []KV{}
	if f.From.IsValid() {
		ev = append(ev, E("address", f.From.String()))
	}
	if w.Libwrap {
		ev = append(ev, E("sshd", w.SSHD+" (linked with libwrap)"))
	} else {
		ev = append(ev, E("sshd", w.SSHD+" (libwrap unknown: "+w.LibwrapErr+")"))
	}
	var detail string
	if by := d.By; by != nil {
		ev = append(ev, E("file", by.File), E("line", by.Line), E("rule", by.Text))
		if by.Pattern != "" {
			ev = append(ev, E("pattern", by.Pattern))
			if tcpwrappers.HostBitsSet(by.Pattern) {
				ev = append(ev, E("note", by.Pattern+" has host bits set and matches nothing"))
			}
		}
		ev = append(ev, E("effect", string(by.Effect)))
		who := "every client"
		if f.From.IsValid() {
			who = f.From.String()
		}
		switch {
		case by.Effect == tcpwrappers.EffectTwist:
			detail = fmt.Sprintf("%s (%q) matches %s and %s: the client never reaches sshd.", by.Where(), by.Text, who, by.Why)
		case by.Why != "" && by.Pattern == "":
			detail = fmt.Sprintf("%s: %s.", by.Where(), by.Why)
		case by.Why != "":
			detail = fmt.Sprintf("%s (%q) matches %s, and %s.", by.Where(), by.Text, who, by.Why)
		default:
			detail = fmt.Sprintf("%s (%q) refuses %s", by.Where(), by.Text, who)
			if by.File == tcpwrappers.DenyFile {
				detail += ", and no line of /etc/hosts.allow lets it in"
			}
			detail += "."
		}
		detail += " sshd closes such connections before its banner, after about five seconds."
	}
	var maybes []string
	for _, m := range d.Maybe {
		maybes = append(maybes, fmt.Sprintf("%s %q (needs %s)", m.Where(), m.Text, strings.Join(m.Needs, ", ")))
	}
	if len(maybes) > 0 {
		ev = append(ev, E("uncertain", maybes))
	}
	sev := SeverityError
	switch {
	case d.Access == tcpwrappers.Uncertain:
		sev = SeverityWarning
		who := f.From.String()
		if !f.From.IsValid() {
			// Without --from an answer that depends on the client is
			// only worth a note: most clients are let in.
			sev, who = SeverityInfo, "some clients"
		}
		detail = fmt.Sprintf("TCP wrappers may refuse %s: it depends on %s. ", who, strings.Join(maybes, "; "))
		switch {
		case d.By == nil:
			detail += "If none of these matches, no rule refuses the client."
		case d.By.Effect == tcpwrappers.EffectGrant:
			detail += fmt.Sprintf("If none of these matches, %s (%q) lets the client in.", d.By.Where(), d.By.Text)
		default:
			detail += fmt.Sprintf("If none of these matches, %s (%q) refuses the client; sshd then closes the connection before its banner.", d.By.Where(), d.By.Text)
		}
		if !f.From.IsValid() {
			detail += " Give --from ADDRESS to evaluate one client."
		}
	case !w.Libwrap:
		sev = SeverityWarning
	}
	if !w.Libwrap {
		detail += " Whether this sshd uses TCP wrappers at all is unknown: " + w.LibwrapErr + "."
	}
	if f.From.IsValid() && w.Deny != nil {
		for _, s := range w.Deny.Skipped {
			if strings.Contains(s.Text, f.From.String()) {
				ev = append(ev, E("skipped_line", fmt.Sprintf("%s:%d %q (%s)", w.Deny.Path, s.Line, s.Text, s.Why)))
			}
		}
	}
	if w.Allow != nil {
		for _, s := range w.Allow.Skipped {
			if f.From.IsValid() && strings.Contains(s.Text, f.From.String()) {
				ev = append(ev, E("skipped_line", fmt.Sprintf("%s:%d %q (%s): libwrap ignores this line", w.Allow.Path, s.Line, s.Text, s.Why)))
			}
		}
	}
	fd := New("tcpwrappers.denied", strings.TrimSpace(detail), ev...).WithSeverity(sev)
	return []Finding{tcpwFix(fd, f, w, d, rootPath)}
}

func tcpwFix(fd Finding, f *ServerBansFacts, w *tcpwrappers.Facts, d *tcpwrappers.Decision, rootPath func(string) string) Finding {
	allow := rootPath(tcpwrappers.AllowFile)
	if by := d.By; by != nil && by.Pattern == "" && strings.Contains(by.Why, "newline at the end") {
		return fd.WithFix(fmt.Sprintf("End %s with a newline: libwrap refuses every client at an unterminated last line.", by.File),
			"echo >> "+banShellWord(rootPath(by.File)))
	}
	if by := d.By; by != nil && by.Pattern == "" {
		return fd.WithFix(fmt.Sprintf("Shorten or split line %d of %s (continuation lines with a backslash add up to one line): libwrap refuses every client there.", by.Line, by.File))
	}
	if !f.From.IsValid() {
		return fd.WithFix(fmt.Sprintf("Let the clients that must reach sshd in with lines \"%s: ADDRESS\" at the top of %s, or remove the rule that refuses them.", w.Daemon, allow))
	}
	word := f.From.Unmap().String()
	if f.From.Unmap().Is6() {
		word = "[" + word + "]"
	}
	line := w.Daemon + ": " + word
	summary := fmt.Sprintf("Let %s in at the top of %s, which libwrap reads first and where the first match wins; it takes effect at the next connection.", f.From, allow)
	cmd := "echo " + banShellWord(line) + " >> " + banShellWord(allow)
	if w.Allow != nil && w.Allow.Lines > 0 {
		cmd = "sed -i " + banShellWord("1i "+line) + " " + banShellWord(allow)
	}
	fd.Evidence = append(fd.Evidence, E("allow_line", line))
	return fd.WithFix(summary, cmd)
}
