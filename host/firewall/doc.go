// Package firewall reads the firewall of the inspected machine and works
// out what it does with a new SSH connection: it follows the first packet
// of a TCP connection (a SYN) to each SSH port through every rule on its
// way in, and says, per chain and overall, whether it is accepted, dropped
// or rejected, by which rule, and how to let it in. It gathers facts and
// evaluates them; check.Firewall judges.
//
// # Sources, and which one is authoritative
//
// Gather reads, on a live system, `nft -j list ruleset`, iptables-nft-save
// and iptables-legacy-save (and the ip6tables twins; plain iptables-save
// where the variant tools are missing), `ipset save`, `ufw status verbose`
// when ufw's chains are loaded, and firewalld's zones through firewall-cmd
// when firewalld's rules are loaded (firewall-cmd is slow to start). Missing tools are skipped; failing ones (not root) are
// listed in Facts.Sources and reported as firewall.uncertain, never
// ignored.
//
// iptables-nft keeps its rules in nf_tables tables (ip filter, ip6 raw...)
// that nft lists too, but only as "xt" stubs without their options. So for
// every table iptables-nft-save prints, the iptables view is authoritative
// and the table is removed from the nft view: each rule is evaluated once,
// with its full options, and shown in the syntax its admin used. A native
// nft table with an iptables name that iptables-nft cannot show ("contains
// incompatible base-chains") stays with nft, and the empty placeholder
// iptables-nft-save prints for it is dropped. Legacy iptables lives outside
// nf_tables and never shows in nft. ufw and firewalld are frontends: the
// rules they write are evaluated as the iptables or nft rules they are;
// their views only name the backend (ufw-* chains, the firewalld table)
// and shape the fix ("ufw allow", "firewall-cmd --add-service=ssh").
//
// # How a SYN is followed
//
// Evaluate takes the base chains of the hooks on the way in (ingress,
// prerouting, input) of every family that sees the packet (ip or ip6, inet,
// netdev), iptables' built-in chains at their kernel priorities (raw -300,
// mangle -150, nat -100, filter 0, security 50, nat 100), and runs them in
// hook and priority order. A drop or reject in any of them ends the packet;
// an accept only ends that chain. Each chain is also judged on its own, as
// if the others had accepted: every chain that blocks needs its own fix.
// Within a chain: policies, jump, goto (a chain reached by goto returns to
// its caller's caller), return, continue, named and anonymous sets,
// verdict maps, addresses with prefixes and ranges, ports with ranges and
// sets, l4 protocol and family, iif/iifname with wildcards (nft "*",
// iptables "+"), conntrack state, TCP flags, address type, packet type,
// reject with its type, multiport, iprange, addrtype, ipsets (hash:ip,
// hash:net with nomatch), CT --notrack. Details the kernel adds that
// listings hide are modelled: "ip saddr" in an inet table, or "reject with
// icmp type", implies the IPv4 family, even when negated; before conntrack
// (ingress, prerouting below priority -200) a packet's ct state is
// "invalid", after a notrack "untracked", otherwise "new". nft 1.0.6 lists
// "meta nfproto ipv4 reject with tcp reset" without its family check
// (the kernel keeps it); for such rules the check is read back from
// `nft --debug=netlink list ruleset` (see nftbytecode.go). Two chains at
// the same hook and priority run in the reverse order of their
// registration, which no listing shows: where they would stop the packet
// differently, the overall verdict is uncertain (each still blocks).
//
// The source address is followed symbolically: without --from, every
// source at once, as sets of address ranges that each rule splits, so the
// answer is a partition ("accepted from 10.0.0.0/8, dropped by the policy
// from everywhere else") and SourceRules names the rules that depend on the
// source. An unknown local address or interface is taken as "not loopback"
// and nothing more.
//
// Never guess silently. A match the evaluator does not understand (marks,
// source ports, modules it does not know, concatenated sets) is tried both
// ways, up to six per path; when the outcomes agree it does not matter,
// when they differ the verdict is VerdictUncertain and names the rule. A
// statement that changes the packet's fate in a way it does not follow
// (dnat, redirect, queue, tproxy) is uncertain outright. A few matches
// depend on state no listing shows but have an obvious answer for one new
// connection from a well-behaved client: rate limits, connection limits,
// quotas and "recent --hitcount" are not exceeded, the reverse path is
// valid (fib ... oif missing, rpfilter), the SYN does not ask for ECN.
// Those are assumed and every assumption is recorded in the Decision.
//
// The evaluator is proven against the kernel: the property test loads
// hundreds of random nft and iptables (nf_tables and legacy) rulesets into
// a test namespace, reads them back through Gather, and checks that every
// certain verdict equals what a real SYN from a client namespace gets
// (accept, RST, ICMP type and code, or silence), then applies Report.Allow
// to a blocked connection and checks that it gets through.
//
// # Offline trees
//
// For --root, Gather reads the rules the tree loads at boot:
// /etc/nftables.conf with its includes (read by the real nft, loaded into a
// throwaway network namespace, so the whole nft language is understood;
// needs root), /etc/iptables/rules.v4 and rules.v6 with
// /etc/iptables/ipsets, /etc/sysconfig/iptables, ufw's rules rebuilt from
// /etc/ufw as ufw-init builds them, and firewalld's zone files (services,
// ports, sources, interfaces, targets and simple rich rules). A file whose
// service is not enabled is listed but not evaluated. These are the
// persisted rules (Facts.Persisted), not necessarily the ones that ran.
//
// # Bans
//
// Rules, chains, tables and sets that fail2ban or sshguard create (chains
// f2b-<jail>, table f2b-table with sets addr-set-<jail>, ipsets
// f2b-<jail>, chain sshguard, tables sshguard with set attackers, ipsets
// sshguard4/6) are marked with their Manager. Blocks they decide are bans,
// reported by the bans check (Report.Bans), not as firewall.blocks.
package firewall
