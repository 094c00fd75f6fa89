package sshmatch

import "testing"

func TestPattern(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"web1", "web*", true}, {"web1", "w?b1", true}, {"web1", "*", true}, {"", "*", true},
		{"web1", "web", false}, {"*0", "*", true}, {"aaa", "a*a*a", true}, {"ab", "a*a", false},
		{"Web1", "web1", false}, // case-sensitive: lists lower-case themselves
	} {
		if got := Pattern(c.s, c.p); got != c.want {
			t.Errorf("Pattern(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

func TestPatternList(t *testing.T) {
	for _, c := range []struct {
		s, list string
		lower   bool
		want    int
	}{
		{"alice", "alice,bob", false, 1},
		{"root", "*,!root", false, -1}, // a negated match wins
		{"root", "!root", false, -1},
		{"alice", "!root", false, 0}, // negation alone matches nobody
		{"web1.example", "WEB*", true, 1},
		{"web1.example", "WEB*", false, 0},
	} {
		if got := PatternList(c.s, c.list, c.lower); got != c.want {
			t.Errorf("PatternList(%q, %q, %v) = %d, want %d", c.s, c.list, c.lower, got, c.want)
		}
	}
}

func TestAddrList(t *testing.T) {
	for _, c := range []struct {
		addr, list string
		want       int
	}{
		{"10.1.2.3", "10.0.0.0/8", 1},
		{"10.1.2.3", "10.0.0.0/8,!10.1.2.3", -1},
		{"192.0.2.1", "10.0.0.0/8", 0},
		{"10.1.2.3", "10.1.2.*", 1},         // a wildcard over the text
		{"10.1.2.3", "10.1.2.3/8", -2},      // host bits set: the list is invalid
		{"2001:db8::1", "2001:db8::/32", 1}, // IPv6
		{"::ffff:10.1.2.3", "10.0.0.0/8", 1},
		{"", "10.0.0.0/8", 0}, // no address: only validates
		{"10.1.2.3", "10.0.0.0/8,", -2},
	} {
		if got := AddrList(c.addr, c.list); got != c.want {
			t.Errorf("AddrList(%q, %q) = %d, want %d", c.addr, c.list, got, c.want)
		}
	}
}
