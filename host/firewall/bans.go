package firewall

// Ban is a block that fail2ban or sshguard put in the firewall, as the
// evaluation found it on the way of an SSH connection. The firewall check
// leaves these out; the bans check reports them as ban.active.
type Ban struct {
	// Tool is ToolFail2ban or ToolSSHGuard.
	Tool string
	// Jail is the fail2ban jail; empty for sshguard or when not known.
	Jail string
	// Sources are the banned client addresses the rule stops (with --from,
	// at most that address).
	Sources AddrSet
	// Port is the SSH port the connection was evaluated for.
	Port uint16
	// Verdict is VerdictDrop or VerdictReject, with RejectWith for a reject.
	Verdict    VerdictKind
	RejectWith string
	// Rule is the rule that stops them.
	Rule *Rule
	// Backend names the backend that holds the rule (nftables, iptables...).
	Backend string
}

// Bans returns the blocks that ban tools own, merged by tool, jail, rule
// and port.
func (r *Report) Bans() []Ban {
	var out []Ban
	for _, ev := range r.Evaluations {
		for _, c := range ev.Chains {
			for _, d := range c.Decisions {
				if d.Managed == nil || !d.Blocks() || d.Rule == nil {
					continue
				}
				merged := false
				for i := range out {
					b := &out[i]
					if b.Tool == d.Managed.Tool && b.Jail == d.Managed.Jail && b.Rule == d.Rule && b.Port == ev.Packet.DPort {
						b.Sources = b.Sources.Union(d.Sources)
						merged = true
						break
					}
				}
				if !merged {
					out = append(out, Ban{Tool: d.Managed.Tool, Jail: d.Managed.Jail, Sources: d.Sources,
						Port: ev.Packet.DPort, Verdict: d.Verdict, RejectWith: d.RejectWith, Rule: d.Rule,
						Backend: c.Chain.Table.backendBase()})
				}
			}
		}
	}
	return out
}
