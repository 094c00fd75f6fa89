package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// journalRecord is the part of a journalctl -o json record Gather uses.
// journald writes MESSAGE as a string, or as an array of bytes when it is
// not valid UTF-8.
type journalRecord struct {
	Message  json.RawMessage `json:"MESSAGE"`
	Realtime string          `json:"__REALTIME_TIMESTAMP"`
	Unit     string          `json:"UNIT"`
	SysUnit  string          `json:"_SYSTEMD_UNIT"`
	Ident    string          `json:"SYSLOG_IDENTIFIER"`
	Comm     string          `json:"_COMM"`
	PID      string          `json:"_PID"`
}

// ParseJournalJSON parses journalctl -o json output (one JSON object per
// line) into entries, keeping sshd's messages and systemd's messages about
// a unit. Lines that are not JSON objects are an error; records without a
// message are skipped.
func ParseJournalJSON(data []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r journalRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("logs: journal line %d: %w", n, err)
		}
		msg, ok := journalMessage(r.Message)
		if !ok {
			continue
		}
		e := Entry{Ident: r.Ident, Message: msg}
		if e.Ident == "" {
			e.Ident = r.Comm
		}
		e.PID, _ = strconv.Atoi(r.PID)
		if us, err := strconv.ParseInt(r.Realtime, 10, 64); err == nil {
			e.Time = time.UnixMicro(us)
		}
		// systemd's messages about a unit carry it in UNIT; a service's
		// own output in _SYSTEMD_UNIT.
		e.Unit = r.Unit
		if e.Unit == "" {
			e.Unit = r.SysUnit
		}
		e.Event = ParseMessage(msg)
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("logs: journal: %w", err)
	}
	return out, nil
}

func journalMessage(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var b []byte
	var ints []int
	if err := json.Unmarshal(raw, &ints); err != nil {
		return "", false
	}
	for _, i := range ints {
		b = append(b, byte(i))
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), true
}

// isSSHDIdent reports whether a program name is one of sshd's.
func isSSHDIdent(ident string) bool { return slices.Contains(sshdIdents, ident) }
