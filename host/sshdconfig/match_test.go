package sshdconfig

import "testing"

func TestMatchPatternList(t *testing.T) {
	tests := []struct {
		s, patterns string
		want        int
	}{
		{"alice", "alice", 1},
		{"alice", "al*", 1},
		{"alice", "al?ce", 1},
		{"alice", "bob,alice", 1},
		{"root", "!root", -1},
		// The classic: a negation alone matches nobody else either.
		{"alice", "!root", 0},
		{"alice", "*,!root", 1},
		{"root", "*,!root", -1},
		{"abc", "a*b*c", 1},
		{"ab", "a*b*c", 0},
		{"", "*", 1},
		{"x", "", 0},
	}
	for _, tt := range tests {
		if got := MatchPatternList(tt.s, tt.patterns, false); got != tt.want {
			t.Errorf("MatchPatternList(%q, %q) = %d, want %d", tt.s, tt.patterns, got, tt.want)
		}
	}
}

func TestAddrMatchList(t *testing.T) {
	tests := []struct {
		addr, list string
		want       int
	}{
		{"10.1.2.3", "10.0.0.0/8", 1},
		{"10.1.2.3", "10.0.0.0/8,!10.1.0.0/16", -1},
		{"10.2.2.3", "10.0.0.0/8,!10.1.0.0/16", 1},
		{"192.168.1.7", "192.168.1.*", 1},
		{"192.168.2.7", "192.168.1.*", 0},
		{"2001:db8::5", "2001:db8::/32", 1},
		{"10.1.2.3", "2001:db8::/32", 0},
		{"10.1.2.3", "10.1.2.3", 1},
		{"not-an-ip", "*", 0},
		{"10.1.2.3", "10.1.2.3/8", -2}, // host bits set
		{"10.1.2.3", "10.0.0.0/33", -2},
		{"10.1.2.3", "a,,b", -2},
		{"", "10.0.0.0/8", 0},
		{"", "10.0.0.1/8", -2},
	}
	for _, tt := range tests {
		if got := AddrMatchList(tt.addr, tt.list); got != tt.want {
			t.Errorf("AddrMatchList(%q, %q) = %d, want %d", tt.addr, tt.list, got, tt.want)
		}
	}
}

func TestMatchUser(t *testing.T) {
	tests := []struct {
		user, host, addr, pattern string
		want                      int
	}{
		{"alice", "10.0.0.5", "10.0.0.5", "alice", 1},
		{"alice", "10.0.0.5", "10.0.0.5", "alice@10.0.0.0/24", 1},
		{"alice", "10.0.1.5", "10.0.1.5", "alice@10.0.0.0/24", 0},
		{"alice", "gw.example.org", "10.0.1.5", "alice@*.example.org", 1},
		{"bob", "10.0.0.5", "10.0.0.5", "alice@10.0.0.0/24", 0},
		{"", "", "", "alice@10.0.0.1/24", -1},
	}
	for _, tt := range tests {
		if got := MatchUser(tt.user, tt.host, tt.addr, tt.pattern); got != tt.want {
			t.Errorf("MatchUser(%q, %q, %q, %q) = %d, want %d", tt.user, tt.host, tt.addr, tt.pattern, got, tt.want)
		}
	}
}

// TestMatchEvaluation checks which values a connection gets, through the
// whole pipeline: parse, both passes, override.
func TestMatchEvaluation(t *testing.T) {
	conf := `
PasswordAuthentication no
PermitRootLogin no
AllowUsers alice bob deploy
X11Forwarding no

Match User *,!root Address 10.0.0.0/8
	PasswordAuthentication yes

Match Group wheel
	PermitRootLogin prohibit-password
	AllowUsers root

Match Host *.corp.example LocalPort 2222
	X11Forwarding yes

Match LocalAddress 192.0.2.1
	MaxAuthTries 2
	PasswordAuthentication no
`
	c := Parse("/etc/ssh/sshd_config", []byte(conf))
	if len(c.Problems) != 0 {
		t.Fatalf("problems: %+v", c.Problems)
	}
	tests := []struct {
		name  string
		conn  Conn
		check func(e *Effective) bool
	}{
		{"global for root", Conn{User: "root", Addr: "10.1.1.1"}, func(e *Effective) bool { return !e.PasswordAuthentication() }},
		{"negated user", Conn{User: "alice", Addr: "10.1.1.1"}, func(e *Effective) bool { return e.PasswordAuthentication() }},
		{"address outside", Conn{User: "alice", Addr: "203.0.113.9"}, func(e *Effective) bool { return !e.PasswordAuthentication() }},
		{"group", Conn{User: "carol", Groups: []string{"users", "wheel"}}, func(e *Effective) bool {
			return e.PermitRootLogin() == "prohibit-password" && len(e.AllowUsers()) == 1 && e.AllowUsers()[0].Pattern == "root"
		}},
		{"no group", Conn{User: "carol", Groups: []string{"users"}}, func(e *Effective) bool {
			return e.PermitRootLogin() == "no" && len(e.AllowUsers()) == 3
		}},
		{"host and port", Conn{User: "x", Host: "ws1.corp.example", LocalPort: 2222}, func(e *Effective) bool { return e.flag("X11Forwarding", false) }},
		{"host only", Conn{User: "x", Host: "ws1.corp.example", LocalPort: 22}, func(e *Effective) bool { return !e.flag("X11Forwarding", false) }},
		{"host case", Conn{User: "x", Host: "WS1.Corp.Example", LocalPort: 2222}, func(e *Effective) bool { return e.flag("X11Forwarding", false) }},
		// First matching block wins: the Address block set yes before the
		// LocalAddress block could set no.
		{"first match wins", Conn{User: "alice", Addr: "10.1.1.1", LocalAddr: "192.0.2.1"}, func(e *Effective) bool {
			return e.PasswordAuthentication() && e.MaxAuthTries() == 2
		}},
		{"unknown fields", Conn{}, func(e *Effective) bool { return !e.PasswordAuthentication() && e.MaxAuthTries() == 6 }},
	}
	for _, tt := range tests {
		if !tt.check(c.Effective(tt.conn)) {
			t.Errorf("%s: unexpected effective configuration for %+v", tt.name, tt.conn)
		}
	}
}

// TestMatchAllReturnsToGlobal checks the "Match All" idiom: in sshd, values
// after it override the global ones for every connection, and global-only
// keywords become legal again.
func TestMatchAllReturnsToGlobal(t *testing.T) {
	c := Parse("/c", []byte("PasswordAuthentication yes\nMatch User bob\n\tPubkeyAuthentication no\nMatch All\nPasswordAuthentication no\nPort 2222\n"))
	if len(c.Problems) != 0 {
		t.Fatalf("problems: %+v", c.Problems)
	}
	e := c.Effective(Conn{User: "alice"})
	if e.PasswordAuthentication() || !e.PubkeyAuthentication() {
		t.Errorf("alice: password %v pubkey %v, want false true", e.PasswordAuthentication(), e.PubkeyAuthentication())
	}
	if got := c.Startup().Ports(); len(got) != 1 || got[0] != 2222 {
		t.Errorf("ports %v, want [2222]", got)
	}
	if c.Effective(Conn{User: "bob"}).PubkeyAuthentication() {
		t.Error("bob: PubkeyAuthentication stays yes")
	}
}

func TestIncludeInsideMatch(t *testing.T) {
	fsys := MapFS{
		"/etc/ssh/sshd_config":          "Match User admin\n\tInclude admin.conf\nPasswordAuthentication yes\n",
		"/etc/ssh/admin.conf":           "PasswordAuthentication no\nMaxAuthTries 2\n",
		"/etc/ssh/sshd_config.d/x.conf": "",
	}
	c, err := Load(Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) != 0 {
		t.Fatalf("problems: %+v", c.Problems)
	}
	if e := c.Effective(Conn{User: "admin"}); e.PasswordAuthentication() || e.MaxAuthTries() != 2 {
		t.Errorf("admin: password %v tries %d", e.PasswordAuthentication(), e.MaxAuthTries())
	}
	// The line after the Include is still inside the Match block.
	if e := c.Effective(Conn{User: "bob"}); !e.PasswordAuthentication() || e.MaxAuthTries() != 6 {
		t.Errorf("bob: password %v tries %d", e.PasswordAuthentication(), e.MaxAuthTries())
	}
	var inc *Directive
	for i := range c.Directives {
		if c.Directives[i].Keyword == "MaxAuthTries" {
			inc = &c.Directives[i]
		}
	}
	if inc == nil || inc.Match == nil || inc.Match.Line != 1 || inc.File != "/etc/ssh/admin.conf" {
		t.Errorf("included directive: %+v", inc)
	}
}

func TestAllowUsersInMatchReplaces(t *testing.T) {
	c := Parse("/c", []byte("AllowUsers alice\nAllowUsers bob\nMatch Address 10.0.0.0/8\n\tAllowUsers carol\nMatch Address 10.1.0.0/16\n\tAllowUsers dave\n"))
	var got []string
	for _, r := range c.Effective(Conn{User: "x", Addr: "10.1.2.3"}).AllowUsers() {
		got = append(got, r.Pattern)
	}
	// Matching blocks accumulate among themselves and replace the global
	// list: alice and bob may not log in from 10.1.2.3.
	if len(got) != 2 || got[0] != "carol" || got[1] != "dave" {
		t.Errorf("AllowUsers %v, want [carol dave]", got)
	}
	rules := c.Startup().AllowUsers()
	if len(rules) != 2 || rules[1].Line != 2 || rules[1].File != "/c" {
		t.Errorf("startup rules %+v", rules)
	}
}
