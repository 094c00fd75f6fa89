package firewall

import "strings"

// Ban tools whose rules are reported as bans (ban.active), not as the
// admin's firewall policy.
const (
	ToolFail2ban = "fail2ban"
	ToolSSHGuard = "sshguard"
)

// Names fail2ban and sshguard give what they create (from their action
// files in /etc/fail2ban/action.d and /usr/libexec/sshguard):
//
//	fail2ban iptables*:   chain f2b-<jail>, ipset f2b-<jail> / f2b-<jail>6
//	fail2ban nftables*:   table inet f2b-table, chain f2b-chain,
//	                      sets addr-set-<jail> / addr6-set-<jail>
//	sshguard iptables:    chain sshguard (the admin jumps to it)
//	sshguard ipset:       ipsets sshguard4 / sshguard6
//	sshguard nft-sets:    tables ip/ip6 sshguard, chain blacklist, set attackers

// tableManager returns the ban tool that owns a whole nft table.
func tableManager(name string) *Manager {
	switch name {
	case "f2b-table":
		return &Manager{Tool: ToolFail2ban}
	case "sshguard":
		return &Manager{Tool: ToolSSHGuard}
	}
	return nil
}

// chainManager returns the ban tool that owns a chain (or its table).
func chainManager(c *Chain) *Manager {
	if m := tableManager(c.Table.Name); m != nil {
		return m
	}
	return chainNameManager(c.Name)
}

func chainNameManager(name string) *Manager {
	switch {
	case strings.HasPrefix(name, "f2b-") && name != "f2b-chain":
		return &Manager{Tool: ToolFail2ban, Jail: strings.TrimPrefix(name, "f2b-")}
	case name == "f2b-chain":
		return &Manager{Tool: ToolFail2ban}
	case name == "sshguard":
		return &Manager{Tool: ToolSSHGuard}
	}
	return nil
}

// setManager returns the ban tool that owns a named set or ipset; table is
// the nft table holding it ("" for ipsets).
func setManager(table, name string) *Manager {
	switch {
	case strings.HasPrefix(name, "addr-set-") && table == "f2b-table":
		return &Manager{Tool: ToolFail2ban, Jail: strings.TrimPrefix(name, "addr-set-")}
	case strings.HasPrefix(name, "addr6-set-") && table == "f2b-table":
		return &Manager{Tool: ToolFail2ban, Jail: strings.TrimPrefix(name, "addr6-set-")}
	case strings.HasPrefix(name, "f2b-"):
		jail := strings.TrimPrefix(name, "f2b-")
		// iptables-ipset-proto6 names the IPv6 set f2b-<jail>6. The 6 is
		// kept: a jail's own name may end in 6 as well.
		return &Manager{Tool: ToolFail2ban, Jail: jail}
	case name == "sshguard4" || name == "sshguard6" || (name == "attackers" && table == "sshguard"):
		return &Manager{Tool: ToolSSHGuard}
	}
	return nil
}

// markManaged sets Rule.Managed on every rule that a ban tool owns: rules in
// its tables or chains, rules that use its sets, and the rules that jump to
// its chains. The most specific owner wins: one that names the jail (the
// set addr-set-sshd) over one that does not (the table f2b-table).
func markManaged(rs *Ruleset, setRefs map[*Rule][]string) {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			cm := chainManager(c)
			for _, r := range c.Rules {
				var cands []*Manager
				for _, name := range setRefs[r] {
					if s := t.Sets[name]; s != nil && s.Managed != nil {
						cands = append(cands, s.Managed)
					} else if m := setManager(t.Name, name); m != nil {
						cands = append(cands, m)
					}
				}
				for _, x := range r.Exprs {
					if st, ok := x.(*Stmt); ok && st.Verdict != nil && st.Verdict.Target != "" {
						if m := chainNameManager(st.Verdict.Target); m != nil {
							cands = append(cands, m)
						}
					}
				}
				if cm != nil {
					cands = append(cands, cm)
				}
				for _, m := range cands {
					if r.Managed == nil || (r.Managed.Jail == "" && m.Jail != "") {
						r.Managed = m
					}
				}
			}
		}
	}
}
