package tcpwrappers

import (
	"net/netip"
	"strings"
	"testing"
)

// Every case marked "measured" was checked against Debian 12's sshd
// (OpenSSH 9.2, libwrap0 7.6.q-32) in a network namespace before it was
// written down here; TestLiveTCPWrappers repeats the main ones.
func TestEvaluate(t *testing.T) {
	const c1, c5 = "10.77.3.1", "10.77.3.5"
	long := "ftpd: " + strings.Repeat("9", 2041) + "\n"
	fits := "ftpd: " + strings.Repeat("9", 2040) + "\n"
	tests := []struct {
		name        string
		allow, deny string // "" with a nil file: see noAllow
		noAllow     bool
		query       Query
		want        Access
		wantLine    int // line of By; 0 when By must be nil
		wantFile    string
		wantPattern string
	}{
		{name: "measured: address in hosts.deny", deny: "sshd: 10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile, wantPattern: c1},
		{name: "measured: other address passes", deny: "sshd: 10.77.3.1\n", query: q(c5), want: Granted},
		{name: "no files at all", noAllow: true, query: q(c1), want: Granted},
		{name: "measured: hosts.allow wins over hosts.deny", allow: "sshd: 10.77.3.5\n", deny: "sshd: ALL\n", query: q(c5), want: Granted, wantLine: 1, wantFile: AllowFile},
		{name: "measured: ALL in hosts.deny", allow: "sshd: 10.77.3.5\n", deny: "sshd: ALL\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile, wantPattern: "ALL"},
		{name: "measured: no newline at the end refuses everyone", deny: "sshd: 10.77.3.1", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: no newline after earlier rules", deny: "sshd: 10.77.3.1\n\n# c\nsshd: 10.77.3.5x", query: q(c5), want: Refused, wantLine: 4, wantFile: DenyFile},
		{name: "measured: earlier rule still decides before the broken line", deny: "sshd: 10.77.3.1\n\n# c\nsshd: 10.77.3.5x", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: no newline in hosts.allow grants nobody", allow: "sshd: 10.77.3.1", deny: "sshd: ALL\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: too long line refuses everyone", deny: long, query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: 2046 bytes still fit", deny: fits, query: q(c1), want: Granted},
		{name: "measured: a long line in hosts.allow hides the lines after it", allow: "sshd: 10.77.3.5\n" + long + "sshd: 10.77.3.1\n", deny: "sshd: ALL\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: rules before a long hosts.allow line still grant", allow: "sshd: 10.77.3.5\n" + long + "sshd: 10.77.3.1\n", deny: "sshd: ALL\n", query: q(c5), want: Granted, wantLine: 1, wantFile: AllowFile},
		{name: "measured: '#' after the colon is a word, not a comment", deny: "sshd: # 10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantPattern: c1, wantFile: DenyFile},
		{name: "measured: an indented '#' is not a comment", deny: "  # sshd: 10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "a '#' in column one is a comment", deny: "# sshd: 10.77.3.1\n", query: q(c1), want: Granted},
		{name: "measured: port number as daemon", deny: "22: 10.77.3.1\n", query: Query{Client: mustAddr(c1), Port: 22}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: another port number", deny: "2222: 10.77.3.1\n", query: Query{Client: mustAddr(c1), Port: 22}, want: Granted},
		{name: "port unknown makes a number uncertain", deny: "22: 10.77.3.1\n", query: q(c1), want: Uncertain},
		{name: "measured: host bits set never match", deny: "ALL: 10.77.3.1/24\n", query: q(c1), want: Granted},
		{name: "measured: net/bits", deny: "ALL: 10.77.3.0/24\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: net/mask", deny: "ALL: 10.77.3.0/255.255.255.0\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "bad mask never matches", deny: "sshd: 10.77.3.0/33\n", query: q(c1), want: Granted},
		{name: "measured: prefix", deny: "sshd: 10.77.3.\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "prefix is by whole fields", deny: "sshd: 10.77.\n", query: q("10.7.1.1"), want: Granted},
		{name: "measured: star wildcard", deny: "sshd: 10.77.3.*\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: question mark wildcard", deny: "sshd: 10.77.3.?\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "question mark is one character", deny: "sshd: 10.77.3.?\n", query: q("10.77.3.15"), want: Granted},
		{name: "measured: EXCEPT and upper case daemon", deny: "SSHD: ALL EXCEPT 10.77.3.5\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: EXCEPT excludes", deny: "SSHD: ALL EXCEPT 10.77.3.5\n", query: q(c5), want: Granted},
		{name: "measured: daemon EXCEPT", deny: "ALL EXCEPT sshd: ALL\n", query: q(c1), want: Granted},
		{name: "measured: nested EXCEPT", deny: "sshd: ALL EXCEPT 10.77.3.0/24 EXCEPT 10.77.3.5\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: nested EXCEPT, excluded", deny: "sshd: ALL EXCEPT 10.77.3.0/24 EXCEPT 10.77.3.5\n", query: q(c1), want: Granted},
		{name: "measured: X EXCEPT X", deny: "sshd: 10.77.3.1 EXCEPT 10.77.3.1\n", query: q(c1), want: Granted},
		{name: "measured: option deny in hosts.allow", allow: "sshd: 10.77.3.1 : deny\n", query: q(c1), want: Refused, wantLine: 1, wantFile: AllowFile},
		{name: "measured: option DENY is case-insensitive", deny: "sshd: 10.77.3.1 : DENY\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: option allow in hosts.deny", deny: "sshd: ALL: allow\n", query: q(c1), want: Granted, wantLine: 1, wantFile: DenyFile},
		{name: "measured: allow not last is an error that refuses", deny: "sshd: 10.77.3.1 : allow : deny\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: bad option refuses, even in hosts.allow", allow: "sshd: 10.77.3.1 : badoption\n", query: q(c1), want: Refused, wantLine: 1, wantFile: AllowFile},
		{name: "measured: spawn keeps the file's verdict", deny: "sshd: 10.77.3.1 : spawn /bin/true\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "spawn in hosts.allow grants", allow: "sshd: 10.77.3.1 : spawn /bin/true\n", deny: "ALL: ALL\n", query: q(c1), want: Granted, wantLine: 1, wantFile: AllowFile},
		{name: "measured: twist replaces sshd", allow: "sshd: 10.77.3.1 : twist /bin/echo hi\n", query: q(c1), want: Refused, wantLine: 1, wantFile: AllowFile},
		{name: "empty option field is no option", allow: "sshd: 10.77.3.1 :\n", deny: "ALL: ALL\n", query: q(c1), want: Granted, wantLine: 1, wantFile: AllowFile},
		{name: "blank option field is a missing name", allow: "sshd: 10.77.3.1 : \n", query: q(c1), want: Refused, wantLine: 1, wantFile: AllowFile},
		{name: "measured: continuation joins lines", deny: "sshd: 10.77.3.1, \\\n  10.77.3.5\n", query: q(c5), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: continuation without separator glues words", deny: "sshd: 10.77.3.5\\\n10.77.3.1\n", query: q(c5), want: Granted},
		{name: "measured: CRLF line", deny: "sshd: 10.77.3.1\r\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: no blanks", deny: "sshd:10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: commas", deny: "sshd,ftpd:10.77.3.9,10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "measured: missing colon skips the line", deny: "sshd 10.77.3.1\n", query: q(c1), want: Granted},
		{name: "measured: daemon@server", deny: "sshd@10.77.3.2: 10.77.3.1\n", query: Query{Client: mustAddr(c1), Server: mustAddr("10.77.3.2")}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "daemon@server, other server address", deny: "sshd@10.77.3.2: 10.77.3.1\n", query: Query{Client: mustAddr(c1), Server: mustAddr("10.77.3.3")}, want: Granted},
		{name: "daemon@server, server unknown", deny: "sshd@10.77.3.2: 10.77.3.1\n", query: q(c1), want: Uncertain},
		{name: "measured: ALL@address", deny: "sshd: ALL@10.77.3.1\n", query: q(c1), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "user@host needs ident", deny: "sshd: root@10.77.3.1\n", query: q(c1), want: Uncertain},
		{name: "other daemon", deny: "vsftpd: ALL\n", query: q(c1), want: Granted},
		{name: "measured: UNKNOWN without a name", deny: "sshd: UNKNOWN\n", query: q(c1), want: Uncertain},
		{name: "measured: UNKNOWN when the lookup fails", deny: "sshd: UNKNOWN\n", query: Query{Client: mustAddr(c1), ClientName: "unknown"}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "UNKNOWN with a known name", deny: "sshd: UNKNOWN\n", query: Query{Client: mustAddr(c1), ClientName: "pc1.example.org"}, want: Granted},
		{name: "measured: LOCAL when the lookup fails", deny: "sshd: LOCAL\n", query: Query{Client: mustAddr(c1), ClientName: "unknown"}, want: Granted},
		{name: "measured: KNOWN when the lookup fails", deny: "sshd: KNOWN\n", query: Query{Client: mustAddr(c1), ClientName: "unknown"}, want: Granted},
		{name: "measured: PARANOID when the lookup fails", deny: "sshd: PARANOID\n", query: Query{Client: mustAddr(c1), ClientName: "unknown"}, want: Granted},
		{name: "domain needs a name", deny: "sshd: .example.org\n", query: q(c1), want: Uncertain},
		{name: "domain with a name", deny: "sshd: .example.org\n", query: Query{Client: mustAddr(c1), ClientName: "pc1.EXAMPLE.org"}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "LOCAL with a dotless name", deny: "sshd: LOCAL\n", query: Query{Client: mustAddr(c1), ClientName: "pc1"}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "netgroup is uncertain", deny: "sshd: @admins\n", query: q(c1), want: Uncertain},
		{name: "uncertain allow before a certain deny", allow: "sshd: .example.org\n", deny: "sshd: ALL\n", query: q(c1), want: Uncertain, wantLine: 1, wantFile: DenyFile},
		{name: "uncertain deny before a certain deny is certain", deny: "sshd: .example.org\nsshd: ALL\n", query: q(c1), want: Refused, wantLine: 2, wantFile: DenyFile},
		{name: "IPv6 bracket", deny: "sshd: [fd00:5d::1]\n", query: q("fd00:5d::1"), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "IPv6 prefix", deny: "sshd: [fd00:5d::]/64\n", query: q("fd00:5d::9"), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "IPv6 prefix, outside", deny: "sshd: [fd00:5d::]/64\n", query: q("fd00:5e::9"), want: Granted},
		{name: "IPv6 pattern never matches IPv4", deny: "sshd: [fd00:5d::]/64\n", query: q(c1), want: Granted},
		{name: "IPv4-mapped client", deny: "sshd: 10.77.3.1\n", query: q("::ffff:10.77.3.1"), want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "any client: ALL is certain", deny: "ALL: ALL\n", query: Query{}, want: Refused, wantLine: 1, wantFile: DenyFile},
		{name: "any client: an address is uncertain", deny: "sshd: 10.77.3.1\n", query: Query{}, want: Uncertain},
		{name: "any client: a domain cannot match an address", deny: "sshd: .example.org\n", query: Query{ClientName: "x.example.com"}, want: Granted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var allow *File
			if !tt.noAllow {
				allow = Parse(AllowFile, []byte(tt.allow))
			}
			deny := Parse(DenyFile, []byte(tt.deny))
			d := Evaluate(allow, deny, nil, tt.query)
			if d.Access != tt.want {
				t.Fatalf("access = %s, want %s (%s)", d.Access, tt.want, d)
			}
			switch {
			case tt.wantLine == 0 && d.By != nil && tt.want != Uncertain:
				t.Errorf("decided by %s %q, want no rule", d.By.Where(), d.By.Text)
			case tt.wantLine != 0 && d.By == nil:
				t.Errorf("decided by no rule, want %s:%d", tt.wantFile, tt.wantLine)
			case tt.wantLine != 0 && (d.By.Line != tt.wantLine || d.By.File != tt.wantFile):
				t.Errorf("decided by %s, want %s:%d", d.By.Where(), tt.wantFile, tt.wantLine)
			}
			if tt.wantPattern != "" && (d.By == nil || d.By.Pattern != tt.wantPattern) {
				t.Errorf("pattern = %+v, want %q", d.By, tt.wantPattern)
			}
			if d.Access == Uncertain && len(d.Maybe) == 0 {
				t.Errorf("uncertain without any rule that may match: %s", d)
			}
		})
	}
}

func TestEvaluateSaysWhatIsMissing(t *testing.T) {
	deny := Parse(DenyFile, []byte("sshd: .example.org @admins\n"))
	d := Evaluate(nil, deny, nil, q("10.1.1.1"))
	if d.Access != Uncertain || len(d.Maybe) != 1 {
		t.Fatalf("got %s, want one uncertain rule", d)
	}
	m := d.Maybe[0]
	if m.Where() != "/etc/hosts.deny:1" {
		t.Errorf("where = %s", m.Where())
	}
	want := []string{needName, needNIS}
	if strings.Join(m.Needs, "|") != strings.Join(want, "|") {
		t.Errorf("needs = %q, want %q", m.Needs, want)
	}
}

func TestPatternFiles(t *testing.T) {
	deny := Parse(DenyFile, []byte("sshd: /etc/blocked\nsshd: /etc/unreadable\n"))
	files := map[string][]string{"/etc/blocked": {"10.9.0.0/16", "192.0.2.7"}}
	if d := Evaluate(nil, deny, files, q("192.0.2.7")); d.Access != Refused || d.By.Line != 1 || d.By.Pattern != "/etc/blocked" {
		t.Errorf("listed address: %s", d)
	}
	d := Evaluate(nil, deny, files, q("192.0.2.8"))
	if d.Access != Uncertain || len(d.Maybe) != 1 || d.Maybe[0].Line != 2 {
		t.Errorf("unlisted address with an unreadable file after: %s", d)
	}
	files["/etc/unreadable"] = []string{}
	if d := Evaluate(nil, deny, files, q("192.0.2.8")); d.Access != Granted {
		t.Errorf("missing file: %s", d)
	}
}

func TestParseRecordsProblems(t *testing.T) {
	f := Parse(DenyFile, []byte("# comment\n\nsshd 10.0.0.1\nsshd: a, \\\n b : spawn x\nALL: ALL"))
	if len(f.Skipped) != 1 || f.Skipped[0].Line != 3 {
		t.Errorf("skipped = %+v, want line 3", f.Skipped)
	}
	if len(f.Rules) != 1 {
		t.Fatalf("rules = %+v", f.Rules)
	}
	r := f.Rules[0]
	if r.Line != 4 || r.EndLine != 5 || strings.Join(r.Clients, "|") != "a|b" || !r.HasOptions || r.Options != " spawn x" {
		t.Errorf("rule = %+v", r)
	}
	if f.Broken == nil || f.Broken.Line != 6 || !strings.Contains(f.Broken.Why, "newline") {
		t.Errorf("broken = %+v, want line 6 without newline", f.Broken)
	}
}

func TestHostBitsSet(t *testing.T) {
	for w, want := range map[string]bool{
		"10.0.0.1/24": true, "10.0.0.0/24": false, "10.0.0.1/255.255.255.0": true,
		"10.0.0.0/255.255.0.0": false, "[fd00::1]/64": false, "host": false,
	} {
		if got := HostBitsSet(w); got != want {
			t.Errorf("HostBitsSet(%q) = %v, want %v", w, got, want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		in      string
		names   string
		bad     bool
		lastVal string
	}{
		{in: "spawn /bin/echo %a\\: hi : allow", names: "spawn|allow", lastVal: ""},
		{in: "severity = auth.info : deny", names: "severity|deny"},
		{in: "twist /bin/echo no", names: "twist", lastVal: "/bin/echo no"},
		{in: "umask 099", bad: true},
		{in: "allow now", bad: true},
		{in: "deny : spawn x", bad: true},
		{in: "keepalive", names: "keepalive"},
		{in: "nice", names: "nice"},
		{in: "user", bad: true},
	}
	for _, tt := range tests {
		opts, bad := ParseOptions(tt.in)
		if (bad != "") != tt.bad {
			t.Errorf("ParseOptions(%q): bad = %q, want bad %v", tt.in, bad, tt.bad)
			continue
		}
		if tt.bad {
			continue
		}
		var names []string
		for _, o := range opts {
			names = append(names, o.Name)
		}
		if strings.Join(names, "|") != tt.names {
			t.Errorf("ParseOptions(%q) = %+v, want names %s", tt.in, opts, tt.names)
		}
		if tt.lastVal != "" && opts[len(opts)-1].Value != tt.lastVal {
			t.Errorf("ParseOptions(%q): last value %q, want %q", tt.in, opts[len(opts)-1].Value, tt.lastVal)
		}
	}
	if opts, _ := ParseOptions("spawn /bin/echo a\\:b"); len(opts) != 1 || opts[0].Value != "/bin/echo a:b" {
		t.Errorf("escaped colon: %+v", opts)
	}
}

func q(a string) Query { return Query{Client: mustAddr(a)} }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
