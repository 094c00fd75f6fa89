package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/bans"
)

func banTimes(b bans.Ban) []KV {
	var ev []KV
	if !b.At.IsZero() {
		ev = append(ev, E("banned_at", b.At.UTC().Format(time.RFC3339)))
	}
	switch {
	case b.Permanent:
		ev = append(ev, E("permanent", true))
	case !b.Until.IsZero():
		ev = append(ev, E("banned_until", b.Until.UTC().Format(time.RFC3339)))
	}
	return ev
}

func banUntil(b bans.Ban) string {
	switch {
	case b.Permanent:
		return " for good (bantime -1)"
	case !b.Until.IsZero():
		return " until " + b.Until.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return ""
}

func banPorts(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

func banObjectsSaid(objs []*bans.Object) string {
	if len(objs) == 0 {
		return "none of its chains or sets exists"
	}
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID()
	}
	return strings.Join(ids, ", ") + " lack the address"
}

func banHitStrings(hs []banHit) []string {
	var out []string
	for _, h := range hs {
		s := h.o.ID() + ": " + h.e.Value
		if h.e.Rule != "" {
			s = h.o.ID() + ": " + h.e.Rule
		}
		if !h.o.Hooked {
			s += " (no rule sends packets there)"
		}
		out = append(out, s)
	}
	return out
}

func banManagedStrings(rs []bans.ManagedRule) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s table %s %s chain %s: %s", r.Backend, r.Family, r.Table, r.Chain, r.Rule)
		if r.Set != "" {
			s += fmt.Sprintf(" (set %s holds %s)", r.Set, r.Element)
		}
		out = append(out, s)
	}
	return out
}

// banFirewallCommands deletes the client's entries from the tools'
// objects; rules from host/firewall are used when this package's own
// reading found none.
func banFirewallCommands(hs []banHit, mr []bans.ManagedRule, from netip.Addr) []string {
	if len(hs) > 0 {
		return banDeleteCommands(hs, from)
	}
	var cmds []string
	for _, r := range mr {
		if r.Set == "" {
			// A rule that matches through a set holds every banned
			// address: delete the client from the set, never the rule.
			r.Set = banRuleSet(r.Rule)
		}
		if r.Set != "" && r.Element == "" {
			r.Element = from.String()
		}
		switch {
		case r.Set != "" && r.Backend == bans.BackendNFT:
			cmds = append(cmds, fmt.Sprintf("nft delete element %s %s %s { %s }", r.Family, r.Table, r.Set, r.Element))
		case r.Set != "":
			cmds = append(cmds, "ipset del "+banShellWord(r.Set)+" "+banShellWord(r.Element))
		case r.Backend == bans.BackendNFT && r.Handle != 0:
			cmds = append(cmds, fmt.Sprintf("nft delete rule %s %s %s handle %d", r.Family, r.Table, r.Chain, r.Handle))
		case strings.HasPrefix(r.Rule, "-A "):
			cmds = append(cmds, r.Backend+" -t "+r.Table+" -D "+strings.TrimPrefix(r.Rule, "-A "))
		}
	}
	return cmds
}

// banRuleSet returns the set a rule matches through: "@NAME" in nft
// syntax, "--match-set NAME" in iptables syntax; empty when none.
func banRuleSet(rule string) string {
	f := strings.Fields(rule)
	for i, w := range f {
		if strings.HasPrefix(w, "@") && len(w) > 1 {
			return strings.TrimRight(w[1:], ";,}")
		}
		if w == "--match-set" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

func banDeleteCommands(hs []banHit, from netip.Addr) []string {
	var cmds []string
	for _, h := range hs {
		var c string
		switch {
		case h.o.Backend == bans.BackendNFT:
			c = fmt.Sprintf("nft delete element %s %s { %s }", h.o.Table, h.o.Name, h.e.Value)
		case h.o.Backend == bans.BackendIPSet:
			c = "ipset del " + banShellWord(h.o.Name) + " " + banShellWord(h.e.Value)
		case strings.HasPrefix(h.e.Rule, "-A "):
			c = h.o.Backend + " -D " + strings.TrimPrefix(h.e.Rule, "-A ")
		}
		if c != "" && !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

func banFirst(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

func banFirstList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// banShellWord quotes s for a POSIX shell when it needs it.
func banShellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func banSQLString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// banSedRegexp escapes a literal for a sed basic regular expression.
func banSedRegexp(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`.[]*^$\/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
