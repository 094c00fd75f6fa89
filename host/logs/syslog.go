package logs

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// "Nov 24 05:09:07 host sshd[48]: message" (RFC 3164, rsyslog's
	// traditional format); the day is space-padded.
	reSyslogTrad = regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$`)
	// "2026-11-24T05:09:07.123456+00:00 host sshd[48]: message" (rsyslog's
	// high-precision format, the default of newer Debian and Ubuntu).
	reSyslogISO = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$`)
)

// ParseSyslogLine parses one line of a syslog file. A traditional
// timestamp has no year: the year of ref is used, or the year before when
// that would put the line after ref (the file spans New Year). ok is false
// for lines in neither format.
func ParseSyslogLine(line string, ref time.Time) (Entry, bool) {
	line = strings.TrimRight(line, "\r\n")
	var e Entry
	if m := reSyslogISO.FindStringSubmatch(line); m != nil {
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return Entry{}, false
		}
		e = Entry{Time: t, Ident: m[3], Message: m[5]}
		e.PID, _ = strconv.Atoi(m[4])
	} else if m := reSyslogTrad.FindStringSubmatch(line); m != nil {
		loc := ref.Location()
		if loc == nil {
			loc = time.Local
		}
		t, err := time.ParseInLocation("Jan _2 15:04:05", m[1], loc)
		if err != nil {
			return Entry{}, false
		}
		year := ref.Year()
		if year <= 0 {
			year = time.Now().Year()
		}
		t = t.AddDate(year, 0, 0)
		if !ref.IsZero() && t.After(ref.Add(24*time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		e = Entry{Time: t, Ident: m[3], Message: m[5]}
		e.PID, _ = strconv.Atoi(m[4])
	} else {
		return Entry{}, false
	}
	e.Event = ParseMessage(e.Message)
	if e.Ident == "systemd" {
		// "ssh.service: Failed with result 'exit-code'." names the unit.
		if u, _, ok := strings.Cut(e.Message, ": "); ok && (strings.HasSuffix(u, ".service") || strings.HasSuffix(u, ".socket")) {
			e.Unit = u
		}
	}
	return e, true
}

// ParseSyslog parses syslog file text and keeps sshd's messages and
// systemd's messages about the sshd units. ref is the file's modification
// time, for the year of traditional timestamps.
func ParseSyslog(data []byte, ref time.Time) []Entry {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		e, ok := ParseSyslogLine(sc.Text(), ref)
		if !ok {
			continue
		}
		if isSSHDIdent(e.Ident) || (e.Ident == "systemd" && isSSHUnit(e.Unit)) {
			out = append(out, e)
		}
	}
	return out
}

func isSSHUnit(u string) bool {
	for _, n := range journalUnits {
		if u == n {
			return true
		}
	}
	return false
}
