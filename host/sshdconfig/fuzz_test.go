package sshdconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser as the main configuration,
// with drop-ins that include it back (a loop) and a Match block around it,
// then evaluates it for a connection. It must not panic, every problem must
// have a location and a message, and the work must stay bounded (the test
// would time out otherwise).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*/etc/ssh/sshd_config*")
	more, _ := filepath.Glob("testdata/*/*/etc/ssh/sshd_config.d/*")
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	for _, s := range []string{
		"Port 22\n", "Match User *,!root Address 10.0.0.0/8\n\tPasswordAuthentication yes\n",
		"Include /etc/ssh/sshd_config\n", "Include sshd_config.d/*.conf\nMatch all\nInclude loop.conf\n",
		"\"PermitRootLogin\"=\"no\" # x\n", "AllowUsers a@10.0.0.1/8 'b c'\n", "Match\n", "Match all user x\n",
		"PubkeyAcceptedAlgorithms ^ssh-*,!x\n", "ListenAddress [::1]:22 rdomain x\n", "MaxStartups 1:2:3:4\n",
		"HostKey ~/k\nAuthorizedKeysFile ~root/%u\n", "\x00", "Port\r\n\f", "a=b=c=\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 1<<16 {
			return
		}
		fsys := MapFS{
			"/etc/ssh/sshd_config":             data,
			"/etc/ssh/sshd_config.d/10-a.conf": "PasswordAuthentication no\nInclude /etc/ssh/sshd_config\n",
			"/etc/ssh/loop.conf":               "Match User x\nInclude loop.conf\n" + data,
		}
		c, err := Load(Options{FS: fsys})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		for _, p := range c.Problems {
			if p.File == "" || p.Message == "" || p.Reason == "" {
				t.Fatalf("problem without location or message: %+v", p)
			}
		}
		for _, conn := range []Conn{{}, {User: "root", Groups: []string{"root"}, Host: "h", Addr: "10.1.2.3", LocalAddr: "::1", LocalPort: 22}} {
			e := c.Effective(conn)
			e.Ports()
			e.Endpoints()
			e.HostKeys()
			e.PubkeyAcceptedAlgorithms()
			e.MaxStartups()
			e.AllowUsers()
			e.AuthorizedKeysPaths(Account{Name: "u", UID: 1, Home: "/home/u"})
			e.Dump()
		}
	})
}

// FuzzSSHDOutput feeds arbitrary text to the parsers of sshd's own output
// (`sshd -T`, `sshd -t`, `sshd -V`) and to the pattern matchers: they must
// not panic, and a dump must keep every non-blank line.
func FuzzSSHDOutput(f *testing.F) {
	f.Add("port 22\nlistenaddress [::]:22\npermitrootlogin without-password\n", "alice", "a*,!root")
	f.Add("/etc/ssh/sshd_config: line 3: Bad configuration option: X\nInvalid Match address argument 'x' at line 4\n", "10.1.2.3", "10.0.0.0/8,!10.1.0.0/16")
	f.Add("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", "x", "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?b")
	f.Fuzz(func(t *testing.T, out, s, patterns string) {
		d := ParseDump([]byte(out))
		n := 0
		for _, v := range d {
			n += len(v)
		}
		lines := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if n > lines {
			t.Fatalf("dump has %d values for %d lines", n, lines)
		}
		for _, m := range parseMessages(out) {
			if m.Line < 0 || !strings.Contains(out, m.Text) {
				t.Fatalf("bad message %+v", m)
			}
		}
		ParseVersion([]byte(out))
		MatchPatternList(s, patterns, true)
		AddrMatchList(s, patterns)
		MatchUser(s, s, s, patterns)
		AssembleAlgorithms(patterns, DefaultKeyAlgorithms, allKeyAlgorithms)
	})
}
