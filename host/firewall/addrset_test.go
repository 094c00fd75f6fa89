package firewall

import (
	"net/netip"
	"strings"
	"testing"
)

func set(ss ...string) AddrSet {
	var out AddrSet
	for _, s := range ss {
		if lo, hi, ok := strings.Cut(s, "-"); ok {
			out = out.Union(RangeSet(ap(lo), ap(hi)))
		} else if strings.Contains(s, "/") {
			out = out.Union(PrefixSet(netip.MustParsePrefix(s)))
		} else {
			out = out.Union(SingleAddr(ap(s)))
		}
	}
	return out
}

func TestAddrSetOps(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  AddrSet
		want string
	}{
		{"union merges adjacent", set("10.0.0.0/25", "10.0.0.128/25"), "10.0.0.0/24"},
		{"range to prefixes", set("192.0.2.10-192.0.2.20"), "192.0.2.10/31, 192.0.2.12/30, 192.0.2.16/30, 192.0.2.20/32"},
		{"minus punches a hole", set("10.0.0.0/24").Minus(set("10.0.0.128/26")), "10.0.0.0/25, 10.0.0.192/26"},
		{"minus everything", set("10.0.0.0/24").Minus(set("0.0.0.0/0")), ""},
		{"intersect", set("10.0.0.0/8").Intersect(set("10.1.0.0/16", "192.0.2.0/24")), "10.1.0.0/16"},
		{"families stay apart", set("0.0.0.0/0").Intersect(set("::/0")), ""},
		{"all v4 minus one", AllAddrs(4).Minus(set("255.255.255.255")).Minus(set("0.0.0.0")).Intersect(set("255.255.255.0/24")), "255.255.255.0/25, 255.255.255.128/26, 255.255.255.192/27, 255.255.255.224/28, 255.255.255.240/29, 255.255.255.248/30, 255.255.255.252/31, 255.255.255.254/32"},
		{"v6", set("fd00::/8").Minus(set("fd00:1::/64")).Intersect(set("fd00:1::/63")), "fd00:1:0:1::/64"},
		{"mapped stays IPv6", set("::ffff:127.0.0.0/104").Intersect(AllAddrs(4)), ""},
		{"mapped prefix", set("::ffff:127.0.0.0/104"), "::ffff:127.0.0.0/104"},
		{"invalid prefix", PrefixSet(netip.PrefixFrom(ap("10.0.0.0"), 104)), ""},
		{"ends of the space", set("::/0").Minus(set("::")).Minus(set("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).Intersect(set("::/127")), "::1/128"},
	} {
		if got := tc.got.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	s := set("10.0.0.0/8", "192.0.2.7")
	for a, want := range map[string]bool{"10.255.255.255": true, "11.0.0.0": false, "192.0.2.7": true, "192.0.2.8": false, "::ffff:10.0.0.1": false} {
		if s.Contains(ap(a)) != want {
			t.Errorf("Contains(%s) = %v, want %v", a, !want, want)
		}
	}
}
