// Package bans gathers what fail2ban and sshguard say about banned
// addresses on the inspected system: fail2ban's jails, their configuration
// and bans (from its server, or from its database when the server does not
// answer), sshguard's configuration and permanent blacklist, and the
// chains, sets and ipsets both tools keep in the live firewall.
//
// It stands on the tools' own views and reads the few firewall objects they
// create itself; the check package may also be given the firewall rules
// that host/firewall attributes to them (see ManagedRule). Nothing here
// judges: check.ServerBans does.
package bans

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// Facts is what the ban tools say on the inspected system.
type Facts struct {
	// Root is the inspected system's root directory: "/" for the live
	// system, the tree's directory offline. Fix commands name files under
	// it offline.
	Root string
	// Live is true when the facts come from the running system, whose
	// servers and firewall were asked; false for an offline tree, where
	// only files count (and bans in them come back at boot).
	Live bool
	// Fail2ban is nil when fail2ban is not installed.
	Fail2ban *Fail2ban
	// SSHGuard is nil when sshguard is not installed.
	SSHGuard *SSHGuard
	// Firewall holds the objects the two tools keep in the live firewall;
	// nil when the firewall was not read (offline tree, or neither nft nor
	// iptables could be run).
	Firewall *Firewall
}

// Fail2ban is fail2ban's configuration and state.
type Fail2ban struct {
	// ConfigDir is the configuration directory, /etc/fail2ban.
	ConfigDir string
	// Jails are the jails of the configuration (enabled or not) and those
	// the server runs, by name.
	Jails []*Jail
	// Running is true when fail2ban-client got an answer from the server.
	Running bool
	// ServerErr says why the server was not asked or did not answer
	// ("offline tree", "Failed to access socket path ... Is fail2ban
	// running?"); empty when Running.
	ServerErr string
	// BanSource says where Jail.Bans come from: SourceServer or
	// SourceDatabase. Empty when the bans are unknown; BansUnknown says why.
	BanSource string
	// BansUnknown says why the bans are unknown ("sqlite3 is not
	// installed, so fail2ban's database cannot be read"); empty when known.
	BansUnknown string
	// DBFile is the database file (dbfile in fail2ban.conf); empty when
	// fail2ban keeps no database (":memory:" or "None").
	DBFile string
	// Version is what fail2ban-client -V printed ("1.0.2"); empty when
	// not asked (offline, or the server did not answer).
	Version string
	// Problems are configuration lines sshdoctor could not read, and
	// commands that failed, as "file:line: what"; empty when none.
	Problems []string
}

// Where bans come from.
const (
	SourceServer   = "fail2ban-client"
	SourceDatabase = "database"
)

// Jail is one fail2ban jail.
type Jail struct {
	Name string
	// Enabled is true when the configuration enables the jail (or the
	// server runs it).
	Enabled bool
	// Running is true when the server runs the jail.
	Running bool
	// File and Line say where the jail's section starts in the last file
	// that defines it; empty for a jail only the server knows.
	File string
	Line int
	// Port is the jail's port setting, interpolated ("ssh", "0:65535");
	// Ports is it resolved through the system's /etc/services. Ports is
	// empty when the setting could not be resolved.
	Port  string
	Ports []PortRange
	// AllPorts is true when a ban blocks every port: an *-allports action,
	// or a port range that covers them all.
	AllPorts bool
	// Actions are the jail's actions as the configuration names them.
	Actions []Action
	// BanTime is how long a ban lasts; Permanent when bantime is negative.
	// BanTime is 0 when unknown.
	BanTime   time.Duration
	Permanent bool
	// IgnoreIP are the entries of ignoreip as written (addresses, CIDR
	// networks, host names); from the server when it runs.
	IgnoreIP []string
	// IgnoreIPFile and IgnoreIPSection say where the ignoreip in effect
	// is set ("/etc/fail2ban/jail.local", "DEFAULT"); empty when only the
	// built-in default (none) applies.
	IgnoreIPFile, IgnoreIPSection string
	// IgnoreSelf is true when the jail never bans this machine's own
	// addresses (ignoreself, true by default).
	IgnoreSelf bool
	// Bans are the addresses the jail bans now (see Fail2ban.BanSource).
	Bans []Ban
	// CurrentlyBanned and TotalBanned are the counters of `fail2ban-client
	// status JAIL`; -1 when unknown.
	CurrentlyBanned, TotalBanned int
}

// Action is one entry of a jail's action setting, e.g.
// iptables-multiport[port="ssh", protocol="tcp"].
type Action struct {
	// Name is the action file's name ("iptables-multiport").
	Name string
	// Params are the bracketed parameters, keys in lower case.
	Params map[string]string
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// Covers reports whether a jail's bans block port.
func (j *Jail) Covers(port uint16) (covered, known bool) {
	if j.AllPorts {
		return true, true
	}
	if len(j.Ports) == 0 {
		return false, false
	}
	for _, r := range j.Ports {
		if r.Lo <= port && port <= r.Hi {
			return true, true
		}
	}
	return false, true
}

// Ban is one banned address or network.
type Ban struct {
	// Addr is the entry as fail2ban lists it ("192.0.2.7", "2001:db8::/64").
	Addr string
	// Prefix is Addr parsed (a single address is a /32 or /128); invalid
	// when Addr is not an address (fail2ban can ban host names with
	// banip).
	Prefix netip.Prefix
	// At is when the ban started and Until when it ends; zero when
	// unknown. Until is zero for a permanent ban.
	At, Until time.Time
	// Permanent is true for a ban without end.
	Permanent bool
	// Count is how many times the address was banned (bantime.increment);
	// 0 when unknown.
	Count int
}

// Contains reports whether the ban covers a.
func (b Ban) Contains(a netip.Addr) bool {
	return b.Prefix.IsValid() && b.Prefix.Contains(a.Unmap())
}

// SSHGuard is sshguard's configuration and blacklist.
type SSHGuard struct {
	// ConfigFile is the configuration read (/etc/sshguard/sshguard.conf);
	// empty when there is none.
	ConfigFile string
	// Backend is the firewall backend program (BACKEND), e.g.
	// /usr/libexec/sshguard/sshg-fw-nft-sets.
	Backend string
	// BlockTime is the first block's length (BLOCK_TIME, default 120 s).
	BlockTime time.Duration
	// BlacklistFile is the permanent blacklist (BLACKLIST_FILE, after the
	// optional "threshold:"); empty when blacklisting is off.
	BlacklistFile string
	// Blacklist are its entries; sshguard blocks them at every start.
	Blacklist []BlacklistEntry
	// WhitelistFile is the whitelist file (WHITELIST_FILE); empty when
	// none is configured.
	WhitelistFile string
	// Whitelist are the entries of the whitelist file (addresses, CIDR
	// networks, host names), as written.
	Whitelist []string
	// Problems are lines that could not be read, as "file:line: what".
	Problems []string
}

// BlacklistEntry is one line of sshguard's blacklist file
// ("time|service|4|address").
type BlacklistEntry struct {
	Addr netip.Addr
	// At is when the address was blacklisted.
	At time.Time
	// Line is the line number in the file.
	Line int
}

// Options tunes Gather.
type Options struct {
	// From is the client address asked about (--from). With it, Gather
	// also asks the fail2ban server for the ban times and the ignoreip of
	// the jails that ban it. The zero Addr asks nothing more.
	From netip.Addr
	// Quick skips fail2ban-client (a slow-starting Python program) when the
	// fail2ban server's socket is not there, so nothing could answer.
	Quick bool
	// SQLite runs the sqlite3 program of this machine to read fail2ban's
	// database (offline trees included: it reads a file, it runs nothing
	// of the inspected system). nil means host.ExecRunner{}.
	SQLite host.Runner
}

// Gather reads the ban tools' facts from sys.
func Gather(ctx context.Context, sys host.System, o Options) *Facts {
	if o.SQLite == nil {
		o.SQLite = host.ExecRunner{}
	}
	f := &Facts{Root: sys.Root, Live: sys.Live}
	if sys.Live {
		f.Firewall = gatherFirewall(ctx, sys)
	}
	f.Fail2ban = gatherFail2ban(ctx, sys, o)
	f.SSHGuard = gatherSSHGuard(sys)
	return f
}

// FirewallObjects returns the objects of fw that hold the jail's bans, and
// whether sshdoctor knows where all of them must be: true when every action
// of the jail is an iptables, ipset or nftables action (whose chain, ipset
// or nft set it reads) and the listing of that backend worked. Only then
// does a ban missing from the objects mean the firewall does not enforce
// it.
func (j *Jail) FirewallObjects(fw *Firewall) ([]*Object, bool) {
	if fw == nil {
		return nil, false
	}
	var out []*Object
	if len(j.Actions) == 0 {
		// A jail only the server knows: its objects by its name, without
		// knowing which must exist.
		for _, o := range fw.Objects {
			if o.ForJail(j.Name) {
				out = append(out, o)
			}
		}
		return out, false
	}
	checkable := true
	for _, a := range j.Actions {
		name := a.Params["name"]
		if name == "" {
			name = j.Name
		}
		var match func(o *Object) bool
		var listing string
		switch {
		case strings.HasPrefix(a.Name, "iptables-xt_recent"):
			checkable = false
			continue
		case strings.HasPrefix(a.Name, "iptables-ipset"):
			listing = "ipset save"
			match = func(o *Object) bool { return o.Backend == BackendIPSet && o.ForJail(name) }
		case strings.HasPrefix(a.Name, "iptables"):
			listing = "iptables -w -S"
			match = func(o *Object) bool {
				return (o.Backend == BackendIPTables || o.Backend == BackendIP6Tables) && o.Kind == KindChain && o.ForJail(name)
			}
		case strings.HasPrefix(a.Name, "nftables"):
			listing = "nft -j list table inet f2b-table"
			match = func(o *Object) bool { return o.Backend == BackendNFT && o.ForJail(name) }
		default:
			checkable = false
			continue
		}
		if !slices.Contains(fw.Read, listing) {
			checkable = false
		}
		for _, o := range fw.Objects {
			if match(o) && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out, checkable
}

// MatchList returns the first entry of an ignoreip or whitelist list
// (addresses, CIDR networks, host names) that covers a; host names never
// match, since resolving them is not sshdoctor's business here.
func MatchList(entries []string, a netip.Addr) (string, bool) {
	a = a.Unmap()
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			if p.Masked().Contains(a) {
				return e, true
			}
			continue
		}
		if x, err := netip.ParseAddr(e); err == nil && x.Unmap() == a {
			return e, true
		}
	}
	return "", false
}

// JailName returns the fail2ban jail a managed rule belongs to: Jail, or
// the jail its chain or set is named after.
func (r ManagedRule) JailName() string {
	if r.Jail != "" || r.Tool != ToolFail2ban {
		return r.Jail
	}
	if r.Set != "" {
		table := ""
		if r.Backend == BackendNFT {
			table = r.Table
		}
		if _, jail, ok := setTool(table, r.Set); ok {
			return jail
		}
	}
	if _, jail, ok := chainTool(r.Chain); ok {
		return jail
	}
	return ""
}
