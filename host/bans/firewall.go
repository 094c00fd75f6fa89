package bans

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// Tools, as Object.Tool and ManagedRule.Tool name them.
const (
	ToolFail2ban = "fail2ban"
	ToolSSHGuard = "sshguard"
)

// Backends and kinds of Object.
const (
	BackendNFT       = "nftables"
	BackendIPTables  = "iptables"
	BackendIP6Tables = "ip6tables"
	BackendIPSet     = "ipset"

	KindChain = "chain"
	KindSet   = "set"
)

// Firewall is what the live firewall holds of fail2ban and sshguard.
type Firewall struct {
	// Objects are the chains, nft sets and ipsets the tools made, in the
	// order they were listed.
	Objects []*Object
	// Read lists the commands that answered ("iptables -w -S"); Errors
	// those that failed, with why. A backend that is not installed is in
	// neither.
	Read, Errors []string
}

// Object is a chain, nft set or ipset made by fail2ban or sshguard.
type Object struct {
	// Tool is ToolFail2ban or ToolSSHGuard; Jail the fail2ban jail it
	// belongs to, empty for sshguard (and for fail2ban's shared nft chain).
	Tool, Jail string
	// Backend is BackendNFT, BackendIPTables, BackendIP6Tables or
	// BackendIPSet; Kind is KindChain or KindSet.
	Backend, Kind string
	// Table is the nft table ("inet f2b-table") or iptables table
	// ("filter"); empty for an ipset.
	Table string
	Name  string
	// Hooked is true when packets reach the object: a rule of another
	// chain jumps to the chain or uses the set, or (nft) the chain is a
	// base chain. False means it exists but blocks nothing.
	Hooked bool
	// HookedBy are the rules that make it reach packets, as listed.
	HookedBy []string
	// Entries are the addresses it blocks.
	Entries []Entry
}

// ID names the object for a person: "iptables chain f2b-sshd", "nft set
// inet f2b-table addr-set-sshd", "ipset f2b-sshd".
func (o *Object) ID() string {
	switch {
	case o.Backend == BackendIPSet:
		return "ipset " + o.Name
	case o.Backend == BackendNFT:
		return "nft " + o.Kind + " " + o.Table + " " + o.Name
	}
	return o.Backend + " " + o.Kind + " " + o.Name
}

// Entry is one blocked address, network or range of an Object.
type Entry struct {
	// Value is the entry as listed ("192.0.2.7/32", "10.0.0.0/8",
	// "10.0.0.1-10.0.0.9").
	Value string
	// Lo and Hi bound the addresses it covers (equal for one address).
	Lo, Hi netip.Addr
	// Rule is the iptables rule ("-A f2b-sshd -s 192.0.2.7/32 -j REJECT
	// --reject-with icmp-port-unreachable") for a chain entry; empty for a
	// set element.
	Rule string
	// Verdict is what a match does ("REJECT --reject-with
	// icmp-port-unreachable", "DROP"); empty for set elements.
	Verdict string
}

// Contains reports whether the entry covers a.
func (e Entry) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return e.Lo.IsValid() && a.BitLen() == e.Lo.BitLen() && e.Lo.Compare(a) <= 0 && a.Compare(e.Hi) <= 0
}

// ManagedRule is a firewall rule that host/firewall attributes to fail2ban
// or sshguard and that matches the client address: what the firewall
// evaluation found (firewall.Report.Bans: Tool, Jail and Backend as they
// are; Family, Table, Chain, Handle and Rule from Ban.Rule). The check
// package takes these as an optional input, so that a ban rule is reported
// as ban.active even where this package's own reading of the firewall is
// narrower.
type ManagedRule struct {
	// Tool is ToolFail2ban or ToolSSHGuard; Jail the fail2ban jail, empty
	// when not known.
	Tool, Jail string
	// Backend is "nftables", "iptables" or "ip6tables".
	Backend string
	// Family and Table name the table ("inet", "f2b-table"; for iptables
	// Family is "ip" or "ip6" and Table "filter").
	Family, Table string
	// Chain and Handle locate the rule (Handle is 0 for iptables).
	Chain  string
	Handle int
	// Rule is the rule as the admin writes it: nft syntax, or iptables-save
	// syntax ("-A f2b-sshd -s 192.0.2.7/32 -j REJECT ...").
	Rule string
	// Verdict is the rule's verdict ("reject with icmp port-unreachable").
	Verdict string
	// Set and Element are the named set (or ipset) and its element that
	// hold the client address, when the rule matches through a set.
	Set, Element string
}

// FirewallEvidence is what host/firewall says about the ban tools' rules
// for the client address.
type FirewallEvidence struct {
	// Known is true when the firewall was read: then an empty Rules means
	// no ban rule matches the client.
	Known bool
	// Rules are the ban tools' rules that match the client.
	Rules []ManagedRule
}

// gatherFirewall lists the tools' objects with the firewall's own programs.
func gatherFirewall(ctx context.Context, sys host.System) *Firewall {
	fw := &Firewall{}
	run := func(name string, args ...string) ([]byte, bool) {
		cmd := strings.Join(append([]string{name}, args...), " ")
		out, err := sys.Command(ctx, name, args...)
		if err != nil {
			if !errors.Is(err, host.ErrNotFound) {
				fw.Errors = append(fw.Errors, fmt.Sprintf("%s: %v", cmd, err))
			}
			return nil, false
		}
		fw.Read = append(fw.Read, cmd)
		return out, true
	}
	ipsets := map[string]*Object{}
	if out, ok := run("ipset", "save"); ok {
		for _, o := range ParseIPSetSave(out) {
			ipsets[o.Name] = o
		}
	}
	for _, t := range []struct{ cmd, backend string }{{"iptables", BackendIPTables}, {"ip6tables", BackendIP6Tables}} {
		if out, ok := run(t.cmd, "-w", "-S"); ok {
			fw.Objects = append(fw.Objects, ParseIPTablesS(out, t.backend, ipsets)...)
		}
	}
	names := make([]string, 0, len(ipsets))
	for n := range ipsets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fw.Objects = append(fw.Objects, ipsets[n])
	}
	for _, t := range [][2]string{{"inet", "f2b-table"}, {"ip", "sshguard"}, {"ip6", "sshguard"}} {
		out, err := sys.Command(ctx, "nft", "-j", "list", "table", t[0], t[1])
		cmd := "nft -j list table " + t[0] + " " + t[1]
		var ee *host.ExitError
		switch {
		case err == nil:
			fw.Read = append(fw.Read, cmd)
			objs, perr := ParseNFTJSON(out)
			if perr != nil {
				fw.Errors = append(fw.Errors, fmt.Sprintf("%s: %v", cmd, perr))
			}
			fw.Objects = append(fw.Objects, objs...)
		case errors.As(err, &ee) && strings.Contains(ee.Stderr, "No such file or directory"):
			// The table does not exist: nothing of this tool there.
			fw.Read = append(fw.Read, cmd)
		case errors.Is(err, host.ErrNotFound):
		default:
			fw.Errors = append(fw.Errors, fmt.Sprintf("%s: %v", cmd, err))
		}
	}
	if len(fw.Read) == 0 {
		return nil
	}
	return fw
}

// chainTool names the tool that owns an iptables chain, and its jail.
func chainTool(name string) (tool, jail string, ok bool) {
	switch {
	case strings.HasPrefix(name, "f2b-") && len(name) > 4:
		return ToolFail2ban, name[4:], true
	case name == "sshguard":
		return ToolSSHGuard, "", true
	}
	return "", "", false
}

// setTool names the tool that owns an ipset or nft set (table is the nft
// table, empty for an ipset), and its jail.
func setTool(table, name string) (tool, jail string, ok bool) {
	switch {
	case table == "f2b-table" && strings.HasPrefix(name, "addr-set-"):
		return ToolFail2ban, strings.TrimPrefix(name, "addr-set-"), true
	case table == "f2b-table" && strings.HasPrefix(name, "addr6-set-"):
		return ToolFail2ban, strings.TrimPrefix(name, "addr6-set-"), true
	case table == "" && strings.HasPrefix(name, "f2b-") && len(name) > 4:
		// iptables-ipset-proto6 names the IPv6 set f2b-<jail>6; the
		// jail is matched with and without that 6 (see Object.ForJail).
		return ToolFail2ban, name[4:], true
	case table == "" && (name == "sshguard4" || name == "sshguard6"):
		return ToolSSHGuard, "", true
	case table == "sshguard" && name == "attackers":
		return ToolSSHGuard, "", true
	}
	return "", "", false
}

// ForJail reports whether the object holds fail2ban bans of jail (name is
// the action's name parameter, the jail name unless overridden).
func (o *Object) ForJail(name string) bool {
	if o.Tool != ToolFail2ban {
		return false
	}
	return o.Jail == name || (o.Backend == BackendIPSet && o.Jail == name+"6")
}

type iptRule struct {
	src     string
	negSrc  bool
	target  string
	verdict string // target and its options
	sets    []string
}
