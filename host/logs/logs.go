// Package logs reads sshd's recent log messages on the inspected system,
// for `sshdoctor server`: from the journal (journalctl -o json) or from
// /var/log/auth.log or /var/log/secure, always bounded to the last
// MaxEntries messages. Each message is classified (ParseMessage) so that
// checks can quote it as evidence: MaxStartups and penalty drops, bad
// ownership or modes of authorized_keys paths, users not allowed by
// configuration, bind failures, configuration errors, and why the service
// last failed. It only gathers facts.
package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// Source names where the messages were read.
type Source string

// The sources Gather reads, in the order it tries them.
const (
	SourceNone    Source = ""
	SourceJournal Source = "journal"
	SourceAuthLog Source = "/var/log/auth.log" // Debian, Ubuntu with rsyslog
	SourceSecure  Source = "/var/log/secure"   // Red Hat family with rsyslog
)

// DefaultMaxEntries bounds how many messages Gather reads: enough to cover
// the last start attempts of a failed unit and a burst of MaxStartups
// drops, small enough to read in milliseconds.
const DefaultMaxEntries = 2000

// maxFileTail bounds how much of the end of a syslog file is read.
const maxFileTail = 1 << 20

// Facts is what Gather learns from the logs.
type Facts struct {
	// Source is where the messages come from; SourceNone means no log
	// was read (Notes say why) and Entries must not be read as "nothing
	// happened".
	Source Source
	// Read is when the logs were read, on the inspected system's clock;
	// checks measure "recent" from it.
	Read time.Time
	// Entries are sshd's messages and systemd's messages about the sshd
	// units, oldest first; at most the last MaxEntries.
	Entries []Entry
	// Truncated is true when older messages were left unread.
	Truncated bool
	// Notes say plainly what could not be read; empty when all went well.
	Notes []string
}

// Entry is one log message.
type Entry struct {
	// Time is when it was logged; zero when unknown.
	Time time.Time
	// Unit is the systemd unit the message comes from or is about
	// ("ssh.service"); empty when unknown (syslog files).
	Unit string
	// Ident is the program ("sshd", "sshd-session", "systemd").
	Ident string
	// PID is the logging process; 0 when unknown.
	PID int
	// Message is the text as logged, for quoting.
	Message string
	// Event is what the message says, parsed.
	Event Event
}

// String formats the entry as a syslog line, for evidence.
func (e Entry) String() string {
	var b strings.Builder
	if !e.Time.IsZero() {
		b.WriteString(e.Time.Format("2006-01-02 15:04:05 "))
	}
	b.WriteString(e.Ident)
	if e.PID > 0 {
		fmt.Fprintf(&b, "[%d]", e.PID)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Options bounds what Gather reads.
type Options struct {
	// MaxEntries is how many of the most recent messages to read; 0 means
	// DefaultMaxEntries.
	MaxEntries int
}

// sshdIdents are the program names sshd logs under: sshd, and since
// OpenSSH 9.8 sshd-session (and 10.0 sshd-auth) for the per-connection
// processes.
var sshdIdents = []string{"sshd", "sshd-session", "sshd-auth"}

// journalUnits are the units whose messages Gather reads besides sshd's
// own: systemd logs why a unit failed under UNIT=.
var journalUnits = []string{"ssh.service", "sshd.service", "ssh.socket", "sshd.socket"}

// Gather reads sshd's recent messages. It never fails: what could not be
// read is in Notes.
func Gather(ctx context.Context, sys host.System, o Options) Facts {
	max := o.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	f := Facts{Read: sys.Clock()}
	if sys.Live {
		entries, err := readJournal(ctx, sys, max)
		switch {
		case err == nil && len(entries) > 0:
			f.Source, f.Entries = SourceJournal, entries
			f.Truncated = len(entries) >= max
			return f
		case err != nil && !errors.Is(err, host.ErrNotFound):
			f.Notes = append(f.Notes, "the journal could not be read: "+err.Error())
		}
	} else if _, err := sys.Lstat("/var/log/journal"); err == nil {
		f.Notes = append(f.Notes, fmt.Sprintf("offline tree: its journal is not read; read it with 'journalctl -D %s -u ssh -u sshd'", sys.Path("/var/log/journal")))
	}
	for _, src := range []Source{SourceAuthLog, SourceSecure} {
		entries, truncated, err := readSyslogFile(sys, string(src), max)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				f.Notes = append(f.Notes, fmt.Sprintf("%s could not be read: %v", src, err))
			}
			continue
		}
		f.Source, f.Entries, f.Truncated = src, entries, truncated
		return f
	}
	if f.Source == SourceNone {
		f.Notes = append(f.Notes, "no sshd log was found (journal, /var/log/auth.log, /var/log/secure): why sshd failed or dropped connections is not known")
	}
	return f
}

// readJournal runs one journalctl for the last max messages of sshd and of
// systemd about the sshd units. Matches on different fields joined by "+"
// are alternatives, so one process covers them all.
func readJournal(ctx context.Context, sys host.System, max int) ([]Entry, error) {
	args := []string{"-o", "json", "--no-pager", "-n", fmt.Sprint(max),
		"--output-fields=MESSAGE,_SYSTEMD_UNIT,UNIT,SYSLOG_IDENTIFIER,_PID,_COMM"}
	var matches []string
	for _, u := range journalUnits {
		matches = append(matches, "_SYSTEMD_UNIT="+u, "UNIT="+u)
	}
	for _, id := range sshdIdents {
		matches = append(matches, "SYSLOG_IDENTIFIER="+id)
	}
	for i, m := range matches {
		if i > 0 {
			args = append(args, "+")
		}
		args = append(args, m)
	}
	out, err := sys.Command(ctx, "journalctl", args...)
	if err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("journalctl: %s", strings.TrimSpace(ee.Stderr))
		}
		return nil, err
	}
	return ParseJournalJSON(out)
}

// readSyslogFile reads the end of a syslog file and keeps sshd's lines.
// Traditional syslog lines carry no year: it is taken from the file's
// modification time.
func readSyslogFile(sys host.System, name string, max int) ([]Entry, bool, error) {
	fh, err := os.Open(sys.Path(name))
	if err != nil {
		return nil, false, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, false, err
	}
	truncated := false
	if fi.Size() > maxFileTail {
		if _, err := fh.Seek(fi.Size()-maxFileTail, io.SeekStart); err != nil {
			return nil, false, err
		}
		truncated = true
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, false, err
	}
	if truncated {
		// Drop the partial first line.
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	entries := ParseSyslog(data, fi.ModTime())
	if len(entries) > max {
		entries = entries[len(entries)-max:]
		truncated = true
	}
	return entries, truncated, nil
}
