package logs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

func journalFixture(t *testing.T, name string) *Facts {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseJournalJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("%s: no entries", name)
	}
	return &Facts{Source: SourceJournal, Entries: entries}
}

// The journal fixtures were recorded in the lab's Debian 12 container,
// each after provoking the failure for real (host/service's
// TestCaptureFixtures). They accumulate: journal-conflict.json also holds
// the earlier configuration and host key failures, and the newest failure
// must win.
func TestFailureReasonFromJournal(t *testing.T) {
	for _, tc := range []struct {
		file, reason string
		kind         Kind
		lines        []string // messages that must be among Lines
	}{
		{"journal-failed-config.json", "/etc/ssh/sshd_config: line 123: Bad configuration option: Bogus", KindConfigError,
			[]string{"/etc/ssh/sshd_config: terminating, 1 bad configuration options"}},
		{"journal-failed-hostkeys.json", "sshd: no hostkeys available -- exiting.", KindNoHostKeys, nil},
		{"journal-conflict.json", "error: Bind to port 22 on 0.0.0.0 failed: Address already in use.", KindBindFailed,
			[]string{"error: Bind to port 22 on :: failed: Address already in use.", "fatal: Cannot bind any address."}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := journalFixture(t, tc.file)
			fl := f.FailureReason("ssh.service", "sshd.service")
			if fl == nil {
				t.Fatal("no failure found")
			}
			if fl.Reason.Message != tc.reason || fl.Reason.Event.Kind != tc.kind {
				t.Errorf("reason %q (%s), want %q (%s)", fl.Reason.Message, fl.Reason.Event.Kind, tc.reason, tc.kind)
			}
			var msgs []string
			for _, e := range fl.Lines {
				msgs = append(msgs, e.Message)
			}
			for _, want := range tc.lines {
				if !strings.Contains(strings.Join(msgs, "\n"), want) {
					t.Errorf("lines %q lack %q", msgs, want)
				}
			}
			if fl.Unit != "ssh.service" || fl.Reason.Time.IsZero() {
				t.Errorf("unit %q time %v", fl.Unit, fl.Reason.Time)
			}
		})
	}
}

func TestFailureReasonAfterRecovery(t *testing.T) {
	// ssh.service failed several times, then started (on IPv6 only, with
	// a bind failure for IPv4): it is not failed now.
	f := journalFixture(t, "journal-conflict-partial.json")
	if fl := f.FailureReason("ssh.service"); fl != nil {
		t.Errorf("a running unit has a failure: %+v", fl.Reason)
	}
	binds := f.Of(time.Time{}, KindBindFailed)
	if len(binds) == 0 {
		t.Fatal("no bind failure")
	}
	last := binds[len(binds)-1].Event
	if last.LocalAddr != "0.0.0.0" || last.LocalPort != 22 || last.Detail != "Address already in use" {
		t.Errorf("bind failure %+v", last)
	}
}

func TestJournalEvents(t *testing.T) {
	f := journalFixture(t, "journal-events.json")
	drops := f.Of(time.Time{}, KindMaxStartups)
	var drop *Event
	for _, e := range drops {
		if e.Event.Count > 0 && e.Event.Addr != "" {
			drop = &e.Event
		}
	}
	if drop == nil || drop.LocalPort != 22 || !strings.Contains(drop.Detail, "MaxStartups") {
		t.Errorf("MaxStartups drops: %+v", drops)
	}
	na := f.Of(time.Time{}, KindNotAllowed)
	if len(na) != 1 || na[0].Event.User != "root" || na[0].Event.Detail != "listed in DenyUsers" {
		t.Errorf("not allowed: %+v", na)
	}
	bm := f.Of(time.Time{}, KindBadModes)
	if len(bm) != 1 || bm[0].Event.Path != "/root/.ssh" {
		t.Errorf("bad modes: %+v", bm)
	}
	// Time filtering: nothing is newer than the last entry.
	lastT := f.Entries[len(f.Entries)-1].Time
	if got := f.Of(lastT.Add(time.Second), KindMaxStartups, KindNotAllowed, KindBadModes); len(got) != 0 {
		t.Errorf("entries after the last one: %v", got)
	}
}

func TestParseSyslogFiles(t *testing.T) {
	data, _ := os.ReadFile("testdata/auth.log")
	// The file was last written on New Year's Day 2027.
	ref := time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC)
	entries := ParseSyslog(data, ref)
	if len(entries) != 10 { // the CRON line is not sshd's
		t.Fatalf("%d entries: %v", len(entries), entries)
	}
	if y := entries[0].Time.Year(); y != 2026 {
		t.Errorf("a December line of a file written in January is from %d", y)
	}
	if y := entries[1].Time.Year(); y != 2027 {
		t.Errorf("a January line is from %d", y)
	}
	f := &Facts{Entries: entries}
	if fl := f.FailureReason("ssh.service"); fl == nil || fl.Reason.Event.Kind != KindUnitExit {
		t.Errorf("failure from auth.log: %+v", fl)
	}
	kinds := map[Kind]int{}
	for _, e := range entries {
		kinds[e.Event.Kind]++
	}
	want := map[Kind]int{KindListening: 1, KindInvalidUser: 1, KindMaxStartups: 3, KindNotAllowed: 2, KindBadModes: 1, KindUnitExit: 1, KindUnitFailed: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %q entries, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}

	data, _ = os.ReadFile("testdata/secure")
	entries = ParseSyslog(data, time.Time{})
	f = &Facts{Entries: entries}
	fl := f.FailureReason("sshd.service")
	if fl == nil || fl.Reason.Message != "error: Bind to port 2222 on 0.0.0.0 failed: Permission denied." || fl.Reason.Event.Detail != "Permission denied" {
		t.Errorf("failure from secure: %+v", fl)
	}
	if p := f.Of(time.Time{}, KindPenalty); len(p) != 1 || p[0].Ident != "sshd-session" || p[0].Event.Addr != "203.0.113.9" {
		t.Errorf("penalty: %+v", p)
	}
}

func TestParseMessage(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Event
	}{
		{"drop connection #3 from [10.0.0.1]:5555 on [10.0.0.2]:22 past MaxStartups",
			Event{Kind: KindMaxStartups, Addr: "10.0.0.1", Port: 5555, LocalAddr: "10.0.0.2", LocalPort: 22, Detail: "past MaxStartups", Count: 3}},
		{"drop connection #0 from [2001:db8::1]:5555 on [2001:db8::2]:22 past Maxstartups",
			Event{Kind: KindMaxStartups, Addr: "2001:db8::1", Port: 5555, LocalAddr: "2001:db8::2", LocalPort: 22, Detail: "past Maxstartups"}},
		{"drop connection #1 from [10.0.0.1]:5555 on [10.0.0.2]:22 penalty: exceeded LoginGraceTime",
			Event{Kind: KindPenalty, Addr: "10.0.0.1", Port: 5555, LocalAddr: "10.0.0.2", LocalPort: 22, Detail: "penalty: exceeded LoginGraceTime", Count: 1}},
		{"error: in MaxStartups throttling for 00:10:00, 120 connections dropped",
			Event{Kind: KindMaxStartups, Detail: "in MaxStartups throttling for 00:10:00, 120 connections dropped", Count: 120}},
		{"User bob not allowed because account is locked", Event{Kind: KindNotAllowed, User: "bob", Detail: "account is locked"}},
		{"User bob not allowed because shell /bin/nosuch does not exist", Event{Kind: KindNotAllowed, User: "bob", Detail: "shell /bin/nosuch does not exist"}},
		{"User bob from 10.0.0.1 not allowed because none of user's groups are listed in AllowGroups",
			Event{Kind: KindNotAllowed, User: "bob", Addr: "10.0.0.1", Detail: "none of user's groups are listed in AllowGroups"}},
		{"Invalid user  from 10.0.0.1 port 22", Event{Kind: KindInvalidUser, User: "", Addr: "10.0.0.1", Port: 22}},
		{"Authentication refused: bad ownership or modes for file /home/x/.ssh/authorized_keys",
			Event{Kind: KindBadModes, Path: "/home/x/.ssh/authorized_keys", Detail: "bad ownership or modes"}},
		{"Authentication refused: /home/x/.ssh/authorized_keys is not a regular file", Event{Kind: KindBadModes, Detail: "/home/x/.ssh/authorized_keys is not a regular file"}},
		{"/etc/ssh/sshd_config line 12: Bad configuration option: Foo",
			Event{Kind: KindConfigError, Path: "/etc/ssh/sshd_config", Line: 12, Detail: "Bad configuration option: Foo"}},
		{"/etc/ssh/sshd_config.d/50-x.conf: line 3: keyword Port extra arguments at end of line",
			Event{Kind: KindConfigError, Path: "/etc/ssh/sshd_config.d/50-x.conf", Line: 3, Detail: "keyword Port extra arguments at end of line"}},
		{"Missing privilege separation directory: /run/sshd", Event{Kind: KindPrivsep, Path: "/run/sshd", Detail: "Missing privilege separation directory: /run/sshd"}},
		{"fatal: /run/sshd must be owned by root and not group or world-writable.", Event{Kind: KindPrivsep, Path: "/run/sshd", Detail: "/run/sshd must be owned by root and not group or world-writable."}},
		{"fatal: ssh_packet_something: bad", Event{Kind: KindFatal, Detail: "ssh_packet_something: bad"}},
		{"Server listening on :: port 2222.", Event{Kind: KindListening, LocalAddr: "::", LocalPort: 2222}},
		{"ssh.service: Start request repeated too quickly.", Event{Kind: KindStartLimit, Path: "ssh.service", Detail: "ssh.service: Start request repeated too quickly."}},
		{"Accepted publickey for root from 10.0.0.1 port 5555 ssh2: ED25519 SHA256:x", Event{}},
	} {
		if got := ParseMessage(tc.msg); got != tc.want {
			t.Errorf("ParseMessage(%q)\n got %+v\nwant %+v", tc.msg, got, tc.want)
		}
	}
}

var knownKinds = map[Kind]bool{KindOther: true, KindMaxStartups: true, KindPenalty: true, KindBadModes: true, KindNotAllowed: true,
	KindInvalidUser: true, KindBindFailed: true, KindCannotBind: true, KindConfigError: true, KindNoHostKeys: true, KindPrivsep: true,
	KindFatal: true, KindListening: true, KindUnitStart: true, KindUnitStarted: true, KindUnitExit: true, KindUnitFailed: true, KindStartLimit: true}

func FuzzParseLogLine(f *testing.F) {
	for _, name := range []string{"testdata/auth.log", "testdata/secure"} {
		data, _ := os.ReadFile(name)
		for _, l := range strings.Split(string(data), "\n") {
			f.Add(l)
		}
	}
	f.Add("Jan  1 00:00:05 h sshd[1]: drop connection #1 from []:1 on []:2 past MaxStartups")
	f.Fuzz(func(t *testing.T, line string) {
		e, ok := ParseSyslogLine(line, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		ev := ParseMessage(line)
		if !knownKinds[ev.Kind] {
			t.Fatalf("unknown kind %q", ev.Kind)
		}
		if ev.Port < 0 || ev.LocalPort < 0 || ev.Line < 0 || ev.Count < 0 {
			t.Fatalf("negative number in %+v", ev)
		}
		if !ok {
			return
		}
		if !strings.HasSuffix(strings.TrimRight(line, "\r\n"), e.Message) {
			t.Fatalf("message %q is not the end of the line %q", e.Message, line)
		}
		if e.Event != ParseMessage(e.Message) {
			t.Fatalf("entry event differs from ParseMessage")
		}
	})
}

func FuzzParseJournalJSON(f *testing.F) {
	f.Add([]byte(`{"MESSAGE":"fatal: Cannot bind any address.","SYSLOG_IDENTIFIER":"sshd","__REALTIME_TIMESTAMP":"1795496951439838","_PID":"94"}`))
	f.Add([]byte(`{"MESSAGE":[104,105,255],"UNIT":"ssh.service"}` + "\n" + `{"MESSAGE":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseJournalJSON(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !knownKinds[e.Event.Kind] {
				t.Fatalf("unknown kind %q", e.Event.Kind)
			}
		}
		fl := (&Facts{Entries: entries}).FailureReason("ssh.service")
		if fl != nil && fl.Unit != "ssh.service" {
			t.Fatalf("failure of %q for ssh.service", fl.Unit)
		}
	})
}

func TestParseJournalBinaryMessage(t *testing.T) {
	entries, err := ParseJournalJSON([]byte(`{"MESSAGE":[66,105,110,100,255],"SYSLOG_IDENTIFIER":"sshd"}`))
	if err != nil || len(entries) != 1 || entries[0].Message != "Bind\uFFFD" {
		t.Errorf("entries %+v, %v", entries, err)
	}
	if _, err := ParseJournalJSON([]byte("not json\n")); err == nil {
		t.Error("garbage accepted")
	}
}

// fakeRunner answers one command.
type fakeRunner struct {
	prefix string
	out    []byte
	err    error
	calls  int
}

func (r *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	r.calls++
	if !strings.HasPrefix(strings.Join(append([]string{name}, args...), " "), r.prefix) {
		return nil, errors.New("unexpected command " + name)
	}
	return r.out, r.err
}

func TestGatherSources(t *testing.T) {
	data, _ := os.ReadFile("testdata/journal-events.json")
	now := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	r := &fakeRunner{prefix: "journalctl -o json --no-pager -n 2000 ", out: data}
	f := Gather(context.Background(), host.System{Root: t.TempDir(), Live: true, Run: r, Now: func() time.Time { return now }}, Options{})
	if f.Source != SourceJournal || len(f.Entries) == 0 || r.calls != 1 || !f.Read.Equal(now) {
		t.Errorf("journal: source %q, %d entries, %d calls, read %v, notes %v", f.Source, len(f.Entries), r.calls, f.Read, f.Notes)
	}

	// No journalctl: the syslog file.
	root := t.TempDir()
	authlog, _ := os.ReadFile("testdata/auth.log")
	if err := os.MkdirAll(filepath.Join(root, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/log/auth.log"), authlog, 0o644); err != nil {
		t.Fatal(err)
	}
	r = &fakeRunner{err: host.ErrNotFound}
	f = Gather(context.Background(), host.System{Root: root, Live: true, Run: r}, Options{MaxEntries: 4})
	if f.Source != SourceAuthLog || len(f.Entries) != 4 || !f.Truncated || len(f.Notes) != 0 {
		t.Errorf("auth.log: source %q, %d entries, truncated %v, notes %v", f.Source, len(f.Entries), f.Truncated, f.Notes)
	}

	// Offline, nothing at all: said plainly.
	f = Gather(context.Background(), host.Offline(t.TempDir()), Options{})
	if f.Source != SourceNone || len(f.Notes) == 0 {
		t.Errorf("empty tree: %+v", f)
	}
}
