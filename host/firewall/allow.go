package firewall

import (
	"fmt"
	"strings"
)

// Allow says how to let a connection through where a decision stopped it:
// an accept rule in the same backend, placed where it takes effect.
type Allow struct {
	// Backend is where the rule goes (nftables, iptables, ip6tables, ufw,
	// firewalld).
	Backend string
	// Commands are to be run as root, in order: they let the connection in
	// now. Empty for an offline tree, where Summary says what to change in
	// which file.
	Commands []string
	// Persist are the commands that make the change survive a reboot, to
	// run after Commands; empty when the backend keeps it by itself (ufw,
	// firewalld's --permanent is in Commands) or no command can (nftables:
	// Summary says what to add to which file).
	Persist []string
	// Summary says what the commands do, and how to keep the change.
	Summary string
}

// Allow returns the accept rule for decision d of chain result res in
// evaluation ev: for nftables "nft insert rule ... position HANDLE" before
// the blocking rule (or "nft add rule" where the packet left the rules when
// a policy decided); for iptables "iptables -I CHAIN N" likewise, then
// iptables-save into Debian's saved rules; "ufw allow" (or "ufw insert 1
// allow" before the admin's own deny); and firewalld's runtime and
// permanent configuration. The rule is limited to the client's address
// when the evaluation has one.
func (r *Report) Allow(ev *Evaluation, res *ChainResult, d Decision) Allow {
	p := ev.Packet
	a := Allow{Backend: res.Backend}
	if r.Facts != nil && r.Facts.Persisted {
		switch res.Backend {
		case BackendUFW:
			a.Summary = fmt.Sprintf("Once the machine runs, allow SSH with 'ufw allow %d/tcp' (ufw saves it). On the disk, the same rule goes in /etc/ufw/user.rules (user6.rules for IPv6), in the ufw-user-input section: \"-A ufw-user-input %s -j ACCEPT\".",
				p.DPort, allowMatchIPT(p))
		case BackendFirewalld:
			zone := "public"
			if z := r.Facts.Firewalld.ZoneFor(p.Src, p.Iif); z != nil {
				zone = z.Name
			}
			a.Summary = fmt.Sprintf("Add <port protocol=\"tcp\" port=\"%d\"/> (or <service name=\"ssh\"/> for port 22) to /etc/firewalld/zones/%s.xml; copy the file from /usr/lib/firewalld/zones first if it is not there.",
				p.DPort, zone)
		default:
			a.Summary = persistedAllow(p, d)
		}
		return a
	}
	switch res.Backend {
	case BackendUFW:
		cmd := fmt.Sprintf("ufw allow %d/tcp", p.DPort)
		if p.Src.IsValid() {
			cmd = fmt.Sprintf("ufw allow from %s to any port %d proto tcp", p.Src, p.DPort)
		}
		if c, _ := allowPlace(d); strings.HasSuffix(c.Name, "-user-input") {
			// The admin's own deny: ufw rules match first to last, so the
			// allow must come before it.
			cmd = strings.Replace(cmd, "ufw allow", "ufw insert 1 allow", 1)
		}
		a.Commands = []string{cmd}
		a.Summary = "Allow SSH in ufw; ufw keeps its rules across reboots by itself."
		return a
	case BackendFirewalld:
		zone := ""
		var fw *Firewalld
		if r.Facts != nil {
			fw = r.Facts.Firewalld
		}
		if z := fw.ZoneFor(p.Src, p.Iif); z != nil {
			zone = "--zone=" + z.Name + " "
		}
		what := "--add-service=ssh"
		if p.DPort != 22 {
			what = fmt.Sprintf("--add-port=%d/tcp", p.DPort)
		}
		if p.Src.IsValid() {
			fam := "ipv4"
			if p.Family == 6 {
				fam = "ipv6"
			}
			what = fmt.Sprintf(`--add-rich-rule='rule family="%s" source address="%s" port port="%d" protocol="tcp" accept'`,
				fam, p.Src, p.DPort)
		}
		a.Commands = []string{"firewall-cmd " + zone + what}
		a.Persist = []string{"firewall-cmd --permanent " + zone + what}
		a.Summary = "Allow SSH in firewalld, for now and, with --permanent, after a reload or reboot."
		return a
	}
	c, before := allowPlace(d)
	if c.Table.backendBase() == BackendNFT {
		match := allowMatchNFT(p)
		var where string
		if before != nil {
			a.Commands = []string{fmt.Sprintf("nft insert rule %s %s position %d %s accept", c.Table.ID(), c.Name, before.Handle, match)}
			where = fmt.Sprintf("before %q", before.Text)
		} else {
			a.Commands = []string{fmt.Sprintf("nft add rule %s %s %s accept", c.Table.ID(), c.Name, match)}
			where = "at its end"
		}
		a.Summary = fmt.Sprintf("Accept SSH in chain %s of table %s, %s. To keep it after a reboot, add \"%s accept\" at the same place in /etc/nftables.conf (or the file the ruleset is loaded from).",
			c.Name, c.Table.ID(), where, match)
		return a
	}
	rs := c.Table.Ruleset
	tool := rs.Backend // iptables or ip6tables
	if strings.Contains(rs.Source, "legacy") {
		tool += "-legacy"
	}
	table := ""
	if c.Table.Name != "filter" {
		table = " -t " + c.Table.Name
	}
	match := allowMatchIPT(p)
	if before != nil {
		a.Commands = []string{fmt.Sprintf("%s%s -I %s %d %s -j ACCEPT", tool, table, c.Name, before.Position, match)}
	} else {
		a.Commands = []string{fmt.Sprintf("%s%s -A %s %s -j ACCEPT", tool, table, c.Name, match)}
	}
	file := "/etc/iptables/rules.v4"
	if rs.Backend == BackendIP6Tables {
		file = "/etc/iptables/rules.v6"
	}
	a.Persist = []string{tool + "-save > " + file}
	a.Summary = fmt.Sprintf("Accept SSH in %s chain %s (table %s) before the rule that stops it, then save the rules where Debian's netfilter-persistent loads them at boot (%s).",
		rs.Backend, c.Name, c.Table.Name, file)
	return a
}

// allowPlace is where the accept rule goes: before the deciding rule, or,
// when the policy decided, where the packet left the rules.
func allowPlace(d Decision) (c *Chain, before *Rule) {
	if d.Rule != nil {
		return d.Rule.Chain, d.Rule
	}
	if d.Exit != nil {
		return d.Exit.Chain, d.Exit.Before
	}
	return d.Chain, nil
}

func allowMatchNFT(p Packet) string {
	m := fmt.Sprintf("tcp dport %d", p.DPort)
	if !p.Src.IsValid() {
		return m
	}
	ip := "ip"
	if p.Family == 6 {
		ip = "ip6"
	}
	return fmt.Sprintf("%s saddr %s %s", ip, p.Src, m)
}

func allowMatchIPT(p Packet) string {
	m := fmt.Sprintf("-p tcp --dport %d", p.DPort)
	if p.Src.IsValid() {
		m = fmt.Sprintf("-s %s %s", p.Src, m)
	}
	return m
}

// persistedAllow says what to change in the saved rules of an offline tree.
func persistedAllow(p Packet, d Decision) string {
	c, before := allowPlace(d)
	src := "the saved rules"
	if c.Table.Ruleset != nil && c.Table.Ruleset.Source != "" {
		src = c.Table.Ruleset.Source
	}
	var rule string
	if c.Table.backendBase() == BackendNFT {
		rule = allowMatchNFT(p) + " accept"
	} else {
		rule = fmt.Sprintf("-A %s %s -j ACCEPT", c.Name, allowMatchIPT(p))
	}
	if before != nil {
		return fmt.Sprintf("In %s, add %q to chain %s of table %s, just before %q.", src, rule, c.Name, c.Table.Name, before.Text)
	}
	return fmt.Sprintf("In %s, add %q at the end of chain %s of table %s.", src, rule, c.Name, c.Table.Name)
}
