package accounts

import (
	"net/netip"
	"testing"
	"time"
)

func TestAccountExpiredBoundary(t *testing.T) {
	e := &ShadowEntry{Expire: 100, LastChange: -1, Max: -1, Inactive: -1}
	cases := []struct {
		today      int64
		pam, nopam bool
	}{
		{99, false, false},
		// pam_unix expires on the day itself, sshd only the day after.
		{100, true, false},
		{101, true, true},
	}
	for _, c := range cases {
		if got := e.AccountExpired(c.today, true); got != c.pam {
			t.Errorf("day %d, UsePAM yes: expired = %v, want %v", c.today, got, c.pam)
		}
		if got := e.AccountExpired(c.today, false); got != c.nopam {
			t.Errorf("day %d, UsePAM no: expired = %v, want %v", c.today, got, c.nopam)
		}
	}
	if (&ShadowEntry{Expire: -1}).AccountExpired(1e6, true) {
		t.Error("-1 must never expire")
	}
	if !(&ShadowEntry{Expire: 0}).AccountExpired(20000, false) {
		t.Error("0 is 1970-01-01: expired")
	}
}

func TestPasswordState(t *testing.T) {
	cases := []struct {
		name       string
		e          ShadowEntry
		today      int64
		pam, nopam PasswordState
	}{
		{"no aging", ShadowEntry{LastChange: 100, Max: -1, Inactive: -1}, 5000, PasswordValid, PasswordValid},
		{"forced by root", ShadowEntry{LastChange: 0, Max: -1, Inactive: -1}, 5000, PasswordMustChange, PasswordMustChange},
		{"within max", ShadowEntry{LastChange: 100, Max: 90, Inactive: -1}, 190, PasswordValid, PasswordValid},
		{"past max", ShadowEntry{LastChange: 100, Max: 90, Inactive: -1}, 191, PasswordMustChange, PasswordMustChange},
		{"inside grace", ShadowEntry{LastChange: 100, Max: 90, Inactive: 30}, 220, PasswordMustChange, PasswordMustChange},
		// Past max + inactive, PAM locks everyone out; sshd alone ignores
		// the inactivity field.
		{"grace over", ShadowEntry{LastChange: 100, Max: 90, Inactive: 30}, 221, PasswordInactive, PasswordMustChange},
		// An empty last change is day -1 for sshd: long expired.
		{"empty last change", ShadowEntry{LastChange: -1, Max: 90, Inactive: -1}, 5000, PasswordMustChange, PasswordMustChange},
		{"changed in the future", ShadowEntry{LastChange: 6000, Max: 90, Inactive: -1}, 5000, PasswordValid, PasswordValid},
	}
	for _, c := range cases {
		if got := c.e.PasswordState(c.today, true); got != c.pam {
			t.Errorf("%s, UsePAM yes: %v, want %v", c.name, got, c.pam)
		}
		if got := c.e.PasswordState(c.today, false); got != c.nopam {
			t.Errorf("%s, UsePAM no: %v, want %v", c.name, got, c.nopam)
		}
	}
}

func TestLockedForSSHD(t *testing.T) {
	for hash, want := range map[string]bool{
		"!": true, "!!": true, "!$6$abc$def": true, "!*": true,
		"*": false, "*LK*": false, "": false, "$6$abc$def": false, "x": false,
	} {
		if got := LockedForSSHD(hash); got != want {
			t.Errorf("LockedForSSHD(%q) = %v, want %v", hash, got, want)
		}
	}
	if PasswordUsable("*") || PasswordUsable("!$6$salt$0123456789abcdef") || PasswordUsable("") || !PasswordUsable("$6$salt$0123456789abcdef") {
		t.Error("PasswordUsable is wrong")
	}
}

func TestDay(t *testing.T) {
	d := Day(time.Date(2024, 3, 1, 23, 59, 0, 0, time.UTC))
	if DayDate(d) != "2024-03-01" {
		t.Errorf("Day/DayDate round trip: %d -> %s", d, DayDate(d))
	}
}

// matchPatternC is match.c's recursive match_pattern, as a reference.
func matchPatternC(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		if p[0] == '*' {
			for p != "" && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i < len(s); i++ {
				if matchPatternC(s[i:], p) {
					return true
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if p[0] != '?' && p[0] != s[0] {
			return false
		}
		s, p = s[1:], p[1:]
	}
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"alice", "alice", true}, {"alice", "al*", true}, {"alice", "*ce", true}, {"alice", "a?ice", true},
		{"alice", "Alice", false}, {"alice", "a*b", false}, {"", "*", true}, {"", "?", false},
		{"!alice", "!alice", true}, {"abcabc", "*abc", true}, {"aXbXc", "a*b*c", true},
	}
	for _, c := range cases {
		if got := MatchPattern(c.s, c.p); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.s, c.p, got, c.want)
		}
	}
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("alice", "a*e")
	f.Add("aaaaab", "*a*a*b")
	f.Fuzz(func(t *testing.T, s, p string) {
		if len(s) > 24 || len(p) > 12 {
			return // keep the exponential reference fast
		}
		if got, want := MatchPattern(s, p), matchPatternC(s, p); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, match.c says %v", s, p, got, want)
		}
	})
}

func TestAddrMatchList(t *testing.T) {
	cases := []struct {
		addr, list string
		want       int
	}{
		{"10.1.2.3", "10.0.0.0/8", 1},
		{"10.1.2.3", "192.168.0.0/16,10.1.2.3", 1},
		{"10.1.2.3", "!10.1.0.0/16,10.0.0.0/8", -1},
		{"10.1.2.3", "10.0.0.0/8,!10.1.2.3", -1},
		{"10.1.2.3", "10.1.*", 1},
		{"10.1.2.3", "192.168.*", 0},
		{"10.1.2.3", "10.1.2.0/16", -2}, // host bits set
		{"10.1.2.3", "10.0.0.0/33", -2},
		{"10.1.2.3", "a,,b", -2},
		{"10.1.2.3", "10.0.0.0/8,", -2},
		{"2001:db8::1", "2001:db8::/32", 1},
		{"2001:db8::1", "10.0.0.0/8", 0},
		{"::ffff:10.1.2.3", "10.0.0.0/8", 1},
		{"", "10.0.0.0/8", 0},
		{"", "10.0.0.1/8", -2},
		{"not-an-address", "10.0.0.0/8", 0},
	}
	for _, c := range cases {
		if got := AddrMatchList(c.addr, c.list); got != c.want {
			t.Errorf("AddrMatchList(%q, %q) = %d, want %d", c.addr, c.list, got, c.want)
		}
	}
}

func TestMatchUser(t *testing.T) {
	cases := []struct {
		user, host, ip, pattern string
		want                    int
	}{
		{"alice", "10.0.0.5", "10.0.0.5", "alice", 1},
		{"alice", "10.0.0.5", "10.0.0.5", "al*", 1},
		{"alice", "10.0.0.5", "10.0.0.5", "alice@10.0.0.0/24", 1},
		{"alice", "10.0.1.5", "10.0.1.5", "alice@10.0.0.0/24", 0},
		{"alice", "10.0.0.5", "10.0.0.5", "alice@10.0.0.0/24,!10.0.0.5", 0},
		{"alice", "web.example.com", "10.0.0.5", "alice@*.example.com", 1},
		{"alice", "WEB.example.com", "10.0.0.5", "alice@web.EXAMPLE.com", 1},
		{"alice", "web.example.com", "10.0.0.5", "alice@*.example.com,!web.*", 0},
		{"bob", "10.0.0.5", "10.0.0.5", "alice@*", 0},
		// The user part is one pattern: "!" and "," are plain characters.
		{"alice", "10.0.0.5", "10.0.0.5", "!bob", 0},
		{"alice", "10.0.0.5", "10.0.0.5", "alice@10.0.0.1/8", -1},
		{"alice", "", "", "alice@10.0.0.0/8", 0},
	}
	for _, c := range cases {
		if got := MatchUser(c.user, c.host, c.ip, c.pattern); got != c.want {
			t.Errorf("MatchUser(%q, %q, %q, %q) = %d, want %d", c.user, c.host, c.ip, c.pattern, got, c.want)
		}
	}
	if ValidUserPattern("alice@10.0.0.1/8") || !ValidUserPattern("alice@10.0.0.0/8") || !ValidUserPattern("al*") {
		t.Error("ValidUserPattern is wrong")
	}
}

func pats(src string, vs ...string) []Pattern {
	var out []Pattern
	for _, v := range vs {
		out = append(out, Pattern{Value: v, Source: src})
	}
	return out
}

func TestAllowedOrder(t *testing.T) {
	from := Client{Addr: netip.MustParseAddr("10.0.0.5")}
	cases := []struct {
		name      string
		a         Access
		groups    []string
		c         Client
		outcome   Outcome
		directive string
		pattern   string
		source    string
	}{
		{"nothing configured", Access{}, []string{"alice"}, Client{}, Allowed, "", "", ""},
		{"deny wins over allow", Access{DenyUsers: pats("c:1", "alice"), AllowUsers: pats("c:2", "alice")}, nil, from, Denied, "DenyUsers", "alice", "c:1"},
		{"not in allow", Access{AllowUsers: pats("c:3", "bob", "carol")}, nil, from, Denied, "AllowUsers", "", "c:3"},
		{"allow by pattern", Access{AllowUsers: pats("c:3", "bob", "al*")}, nil, from, Allowed, "", "", ""},
		{"allow from other net", Access{AllowUsers: pats("c:3", "alice@192.168.0.0/16")}, nil, from, Denied, "AllowUsers", "", "c:3"},
		{"allow from this net", Access{AllowUsers: pats("c:3", "alice@10.0.0.0/8")}, nil, from, Allowed, "", "", ""},
		{"allow from unknown client", Access{AllowUsers: pats("c:3", "alice@10.0.0.0/8")}, nil, Client{}, Depends, "AllowUsers", "alice@10.0.0.0/8", "c:3"},
		{"deny from unknown client", Access{DenyUsers: pats("c:4", "alice@10.0.0.0/8")}, []string{"alice"}, Client{}, Depends, "DenyUsers", "alice@10.0.0.0/8", "c:4"},
		// A rule that refuses every address beats one that depends on it.
		{"depends then denied", Access{DenyUsers: pats("c:4", "alice@10.0.0.0/8"), AllowGroups: pats("c:5", "wheel")}, []string{"alice"}, Client{}, Denied, "AllowGroups", "", "c:5"},
		{"deny group", Access{DenyGroups: pats("c:6", "adm*")}, []string{"alice", "admins"}, from, Denied, "DenyGroups", "adm*", "c:6"},
		{"allow group", Access{AllowGroups: pats("c:7", "ssh-users", "wheel")}, []string{"alice", "wheel"}, from, Allowed, "", "", ""},
		{"no allowed group", Access{AllowGroups: pats("c:7", "ssh-users")}, []string{"alice"}, from, Denied, "AllowGroups", "", "c:7"},
		{"no groups at all", Access{DenyGroups: pats("c:8", "bad")}, nil, from, Denied, "DenyGroups", "", "c:8"},
		// AllowUsers passes, then AllowGroups still applies.
		{"users then groups", Access{AllowUsers: pats("c:1", "alice"), AllowGroups: pats("c:2", "wheel")}, []string{"alice"}, from, Denied, "AllowGroups", "", "c:2"},
	}
	for _, c := range cases {
		r := c.a.Allowed("alice", c.groups, c.c)
		if r.Outcome != c.outcome || r.Directive != c.directive || r.Pattern != c.pattern || r.Source != c.source {
			t.Errorf("%s: got %+v, want outcome %v %s %q at %s", c.name, r, c.outcome, c.directive, c.pattern, c.source)
		}
	}
}

func TestRootLogin(t *testing.T) {
	for v, want := range map[string]int{"": 3, "without-password": 3, "prohibit-password": 3, "yes": 5, "no": 0, "forced-commands-only": 1} {
		p := Access{PermitRootLogin: v}.RootLogin()
		if len(p.Methods) != want {
			t.Errorf("PermitRootLogin %q: methods %v", v, p.Methods)
		}
	}
	if p := (Access{}).RootLogin(); p.Value != "prohibit-password" || p.Source != "default" {
		t.Errorf("default = %+v", p)
	}
	if m := (Access{PasswordAuthentication: false, KbdInteractiveAuthentication: true}).PasswordMethods(); len(m) != 0 {
		t.Errorf("keyboard-interactive without PAM asks no password, got %v", m)
	}
	if m := (Access{KbdInteractiveAuthentication: true, UsePAM: true}).PasswordMethods(); len(m) != 1 {
		t.Errorf("keyboard-interactive with PAM asks a password, got %v", m)
	}
}

func TestPrivateGroup(t *testing.T) {
	pw, _ := ParsePasswd([]byte("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:100::/home/bob:/bin/sh\ncarol:x:1002:100::/home/carol:/bin/sh\n"))
	gr, _ := ParseGroup([]byte("alice:x:1000:\nusers:x:100:\nsolo:x:3000:alice\nshared:x:3001:alice,bob\nempty:x:3002:\nrootg:x:3003:root\n"))
	db := &DB{Passwd: pw, Group: gr}
	cases := []struct {
		name          string
		gid, owner, u int64
		want          bool
	}{
		{"private group", 1000, 1000, 1000, true},
		{"root-owned dir, user's private group", 1000, 0, 1000, true},
		{"primary group of others", 100, 1001, 1001, false},
		{"supplementary group of the owner alone", 3000, 1000, 1000, true},
		{"supplementary group with two members", 3001, 1000, 1000, false},
		{"no member at all", 3002, 1000, 1000, false},
		{"member is not the owner", 3003, 1000, 1000, false},
		{"unknown group", 4242, 1000, 1000, false},
	}
	for _, c := range cases {
		if got, why := db.PrivateGroup(c.gid, c.owner, c.u); got != c.want {
			t.Errorf("%s: %v (%s), want %v", c.name, got, why, c.want)
		}
	}
}
