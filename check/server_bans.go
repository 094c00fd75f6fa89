package check

import (
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
)

var (
	_ = Register(Doc{
		Code: "ban.active", Severity: SeverityError, Layer: LayerBans,
		Title: "fail2ban or sshguard bans the client address",
		Meaning: `fail2ban (in one of its jails) or sshguard put the client's address on its block list,
after failed logins or scans from it, or by hand. The firewall then refuses every new connection
from that address while other addresses connect fine: ssh prints "Connection refused" (fail2ban
rejects) or waits until "Connection timed out" (sshguard drops). Bans end after fail2ban's
bantime or sshguard's block time, growing with repeats; permanent ones (bantime = -1, sshguard's
blacklist file) never end, and fail2ban restores its bans from its database when it starts. A
rule of these tools that matches the client is reported here, not as firewall.blocks.`,
		Detection: `With --from: the ban list of every running jail (fail2ban-client status JAIL, with
ban times from "get JAIL banip --with-time"), or, when the server does not answer or the tree is
offline, the bans fail2ban will restore from its database (bips table, read with sqlite3); the
jail configuration (jail.conf, jail.d, jail.local) for ports, actions, bantime and ignoreip;
sshguard's configuration and blacklist file; and the chains, ipsets and nft sets both tools fill
(f2b-JAIL, addr-set-JAIL in table inet f2b-table, sshguard's attackers set or chain). A ban that
fail2ban lists but the firewall does not hold is reported as not enforced; a firewall entry
fail2ban no longer lists, as a leftover. A jail whose bans only block other ports (http,https) is
reported as information. Without --from, each jail (and sshguard) that bans addresses on the SSH
port is reported as information, with the count.`,
		Fix: `Lift the ban: fail2ban-client set JAIL unbanip ADDRESS; for sshguard, delete the address
from its set or chain (nft delete element ip sshguard attackers { ADDRESS }) and from its
blacklist file. For a trusted address, add it to ignoreip in /etc/fail2ban/jail.local ([DEFAULT],
or the jail's own section where it sets ignoreip) and reload fail2ban, or to sshguard's
WHITELIST_FILE and restart sshguard, so that it is never banned again.`,
	})
	_ = Register(Doc{
		Code: "tcpwrappers.denied", Severity: SeverityError, Layer: LayerBans,
		Title: "TCP wrappers (hosts.allow, hosts.deny) refuse the client",
		Meaning: `An sshd built with libwrap (Debian's and Ubuntu's are) asks /etc/hosts.allow and then
/etc/hosts.deny about every connection before it says anything. When they refuse the client,
sshd waits about five seconds and closes the connection without a banner: ssh prints
"kex_exchange_identification: Connection closed by remote host" (or "read: Connection reset by
peer"). Firewall, fail2ban and sshd's own settings show nothing, and sshd logs only "refused
connect from ..." to syslog.`,
		Detection: `sshd's dynamic section names libwrap.so (read with debug/elf, offline trees
included). Both files are then evaluated as Debian's libwrap does: the first matching line of
hosts.allow grants, else the first of hosts.deny refuses, else access is granted; daemon lists
(sshd, ALL, the port), client lists with EXCEPT, n.n.n.n/mask and /bits (a net with host bits set
never matches), n.n.n. prefixes, [IPv6]/prefix, * and ? wildcards, /file lists and the options
allow, deny and twist. Quirks measured on Debian 12: only a '#' in the first column starts a
comment, and a last line without a newline (or longer than 2046 bytes) in hosts.deny refuses
every client. Patterns that need the client's host name (.domain, LOCAL, KNOWN, UNKNOWN, PARANOID,
names), NIS netgroups or ident make the answer uncertain, and say so.`,
		Fix: `Put "sshd: ADDRESS" (IPv6 as [ADDRESS]) at the top of /etc/hosts.allow, which is read
first and where the first match wins, or remove the line of hosts.deny that matches. libwrap reads
the files at every connection: nothing needs restarting.`,
	})
)

// ServerBansFacts is what the bans and TCP wrappers checks read.
type ServerBansFacts struct {
	// Bans are fail2ban's and sshguard's facts; nil when not gathered.
	Bans *bans.Facts
	// Wrappers are the TCP wrappers facts; nil when not gathered.
	Wrappers *tcpwrappers.Facts
	// From is the client address (--from); the zero Addr means any
	// client.
	From netip.Addr
	// FromName is the client's host name as the server resolves it, for
	// hosts.allow/deny patterns with names; empty means unknown.
	FromName string
	// Ports are the ports sshd listens on; empty means 22.
	Ports []uint16
	// Firewall is what host/firewall found about ban rules matching From;
	// nil when not given.
	Firewall *bans.FirewallEvidence
}

// ServerBans judges bans (ban.active) and TCP wrappers
// (tcpwrappers.denied). With From, findings concern that client; without,
// jails holding bans on the SSH port are reported as information, and TCP
// wrappers only when they refuse every client.
func ServerBans(f *ServerBansFacts) []Finding {
	var out []Finding
	if f.Bans != nil {
		b := banChecker{f: f, ports: f.Ports}
		if len(b.ports) == 0 {
			b.ports = []uint16{22}
		}
		if f.From.IsValid() {
			out = append(out, b.fail2banFor()...)
			out = append(out, b.sshguardFor()...)
		} else {
			out = append(out, b.summary()...)
		}
	}
	if w := f.Wrappers; w != nil {
		out = append(out, tcpwFindings(f, w)...)
	}
	return out
}

type banChecker struct {
	f     *ServerBansFacts
	ports []uint16
}

// path shows a file of the inspected system where the admin can reach it.
func (b banChecker) path(p string) string { return banRootPath(b.f.Bans.Root, b.f.Bans.Live, p) }

func banRootPath(root string, live bool, p string) string {
	if live || root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

func (b banChecker) objects() []*bans.Object {
	if b.f.Bans.Firewall == nil {
		return nil
	}
	return b.f.Bans.Firewall.Objects
}

// hits are the entries of objs that cover the client.
type banHit struct {
	o *bans.Object
	e bans.Entry
}

func (b banChecker) hits(objs []*bans.Object) []banHit {
	var out []banHit
	for _, o := range objs {
		for _, e := range o.Entries {
			if e.Contains(b.f.From) {
				out = append(out, banHit{o, e})
			}
		}
	}
	return out
}

func (b banChecker) managed(tool, jail string) []bans.ManagedRule {
	if b.f.Firewall == nil {
		return nil
	}
	var out []bans.ManagedRule
	for _, r := range b.f.Firewall.Rules {
		if r.Tool == tool && (tool != bans.ToolFail2ban || r.JailName() == jail) {
			out = append(out, r)
		}
	}
	return out
}

// coversSSH reports whether a jail's bans block one of sshd's ports; an
// unknown port setting counts as blocking.
func (b banChecker) coversSSH(j *bans.Jail) bool {
	for _, p := range b.ports {
		if c, known := j.Covers(p); c || !known {
			return true
		}
	}
	return false
}

// fail2banFor reports every jail that bans From, in its own view or in the
// firewall, and the firewall entries of jails fail2ban does not know.
func (b banChecker) fail2banFor() []Finding {
	f2b := b.f.Bans.Fail2ban
	var out []Finding
	claimed := map[*bans.Object]bool{}
	if f2b != nil {
		for _, j := range f2b.Jails {
			objs, checkable := j.FirewallObjects(b.f.Bans.Firewall)
			for _, o := range objs {
				claimed[o] = true
			}
			if fd, ok := b.jailFinding(f2b, j, objs, checkable); ok {
				out = append(out, fd)
			}
		}
	}
	// Entries in fail2ban's objects that no configured jail accounts for.
	byJail := map[string][]banHit{}
	var order []string
	for _, h := range b.hits(b.objects()) {
		if h.o.Tool != bans.ToolFail2ban || claimed[h.o] {
			continue
		}
		if _, seen := byJail[h.o.Jail]; !seen {
			order = append(order, h.o.Jail)
		}
		byJail[h.o.Jail] = append(byJail[h.o.Jail], h)
	}
	for _, jail := range order {
		hs := byJail[jail]
		d := fmt.Sprintf("The firewall still rejects %s through %s, which fail2ban made for a jail %q that its configuration no longer has: a leftover that fail2ban-client cannot lift.",
			b.f.From, hs[0].o.ID(), jail)
		ev := []KV{E("tool", bans.ToolFail2ban), E("jail", jail), E("address", hs[0].e.Value), E("client", b.f.From.String()),
			E("source", "firewall"), E("stale", true), E("firewall", banHitStrings(hs))}
		out = append(out, New("ban.active", d, ev...).
			WithFix("Delete the leftover firewall entry.", banDeleteCommands(hs, b.f.From)...))
	}
	// Rules host/firewall attributes to fail2ban, for jails fail2ban does
	// not have (and that this package's own reading did not cover).
	known := map[string]bool{}
	if f2b != nil {
		for _, j := range f2b.Jails {
			known[j.Name] = true
		}
	}
	if b.f.Firewall != nil {
		for _, r := range b.f.Firewall.Rules {
			jail := r.JailName()
			if r.Tool != bans.ToolFail2ban || known[jail] || byJail[jail] != nil {
				continue
			}
			known[jail] = true // one finding per jail
			mr := b.managed(bans.ToolFail2ban, jail)
			d := fmt.Sprintf("The firewall rejects %s through a rule of fail2ban (%s) for a jail fail2ban does not have: a leftover that fail2ban-client cannot lift.",
				b.f.From, banManagedStrings(mr)[0])
			ev := []KV{E("tool", bans.ToolFail2ban), E("jail", jail), E("address", b.f.From.String()),
				E("source", "firewall"), E("stale", true), E("firewall", banManagedStrings(mr))}
			out = append(out, New("ban.active", d, ev...).
				WithFix("Delete the leftover firewall rule.", banFirewallCommands(nil, mr, b.f.From)...))
		}
	}
	return out
}

func (b banChecker) jailFinding(f2b *bans.Fail2ban, j *bans.Jail, objs []*bans.Object, checkable bool) (Finding, bool) {
	from := b.f.From
	var ban *bans.Ban
	for i := range j.Bans {
		if j.Bans[i].Contains(from) {
			ban = &j.Bans[i]
			break
		}
	}
	hs := b.hits(objs)
	mr := b.managed(bans.ToolFail2ban, j.Name)
	if ban == nil && len(hs) == 0 && len(mr) == 0 {
		return Finding{}, false
	}
	addr := from.String()
	if ban != nil {
		addr = ban.Addr
	} else if len(hs) > 0 {
		addr = hs[0].e.Value
	}
	ev := []KV{E("tool", bans.ToolFail2ban), E("jail", j.Name), E("address", addr)}
	if addr != from.String() {
		ev = append(ev, E("client", from.String()))
	}
	fwText := append(banHitStrings(hs), banManagedStrings(mr)...)
	// An entry in a chain or set that no rule sends packets to blocks
	// nothing; rules from host/firewall matched the packet already.
	inFirewall := len(mr) > 0 || slices.ContainsFunc(hs, func(h banHit) bool { return h.o.Hooked })
	fwKnown := checkable || (b.f.Firewall != nil && b.f.Firewall.Known)

	var d string
	sev := SeverityError
	switch {
	case ban != nil:
		ev = append(ev, E("source", f2b.BanSource))
		ev = append(ev, banTimes(*ban)...)
		d = fmt.Sprintf("fail2ban's jail %s bans %s%s.", j.Name, addr, banUntil(*ban))
		switch {
		case f2b.BanSource == bans.SourceDatabase && b.f.Bans.Live && !inFirewall:
			sev = SeverityWarning
			d += fmt.Sprintf(" fail2ban is not running (%s), so nothing enforces the ban now, but its database holds it and fail2ban will restore it when it starts.", f2b.ServerErr)
		case f2b.BanSource == bans.SourceDatabase && !b.f.Bans.Live:
			d += " The ban is in fail2ban's database, which fail2ban restores at boot."
		case fwKnown && !inFirewall:
			sev = SeverityWarning
			said := banObjectsSaid(objs)
			if len(hs) > 0 {
				said = hs[0].o.ID() + " holds it, but no rule sends packets there"
			}
			d += " But the firewall does not enforce it (" + said + "): something removed fail2ban's rules."
			ev = append(ev, E("enforced", false))
		case inFirewall:
			ev = append(ev, E("enforced", true))
		}
	default:
		sev = SeverityError
		why := "its server does not list it"
		if !f2b.Running {
			why = "its server is not running (" + f2b.ServerErr + ")"
		}
		if f2b.BanSource == "" {
			why = "its own ban list is unknown (" + f2b.BansUnknown + ")"
		}
		ev = append(ev, E("source", "firewall"))
		if f2b.BanSource != "" {
			ev = append(ev, E("stale", true))
		}
		d = fmt.Sprintf("The firewall rejects %s through fail2ban's jail %s, but %s: a leftover that fail2ban-client cannot lift.", from, j.Name, why)
		if !inFirewall {
			sev = SeverityWarning
			d = fmt.Sprintf("fail2ban's %s still holds %s, but no rule sends packets there, so it blocks nothing now; %s.", hs[0].o.ID(), from, why)
		}
	}
	if len(fwText) > 0 {
		ev = append(ev, E("firewall", fwText))
	}
	if j.Port != "" {
		ev = append(ev, E("ports", j.Port))
	}
	if len(mr) == 0 && !b.coversSSH(j) {
		sev = SeverityInfo
		d += fmt.Sprintf(" The jail's bans block only port %s, not SSH's %s: this ban is not what stops SSH.", j.Port, banPorts(b.ports))
	}
	if e, ok := bans.MatchList(j.IgnoreIP, from); ok {
		ev = append(ev, E("ignoreip_entry", e))
		d += fmt.Sprintf(" Oddly, %s is in the jail's ignoreip (%s): the ban was made by hand (banip) or before that entry, or fail2ban was not reloaded since.", from, e)
	}
	fd := New("ban.active", d, ev...).WithSeverity(sev)
	return b.fail2banFix(fd, f2b, j, ban, hs, mr), true
}

// fail2banFix adds how to lift the ban, and the ignoreip line that keeps a
// trusted address from being banned again.
func (b banChecker) fail2banFix(fd Finding, f2b *bans.Fail2ban, j *bans.Jail, ban *bans.Ban, hs []banHit, mr []bans.ManagedRule) Finding {
	from := b.f.From
	var cmds []string
	var summary string
	switch {
	case ban != nil && f2b.Running:
		summary = fmt.Sprintf("Unban %s in jail %s.", ban.Addr, j.Name)
		cmds = append(cmds, "fail2ban-client set "+banShellWord(j.Name)+" unbanip "+banShellWord(ban.Addr))
	case ban != nil && f2b.BanSource == bans.SourceDatabase:
		db := b.path(f2b.DBFile)
		summary = fmt.Sprintf("Delete the ban from fail2ban's database while fail2ban is stopped, so that it is not restored%s.",
			map[bool]string{true: "", false: " at boot"}[b.f.Bans.Live])
		where := fmt.Sprintf("jail = %s AND ip = %s", banSQLString(j.Name), banSQLString(ban.Addr))
		cmds = append(cmds, "sqlite3 "+banShellWord(db)+" "+banShellWord("DELETE FROM bips WHERE "+where+"; DELETE FROM bans WHERE "+where+";"))
		if len(hs) > 0 || len(mr) > 0 {
			summary += " Its rules are still in the firewall: delete them too."
			cmds = append(cmds, banFirewallCommands(hs, mr, from)...)
		}
	default:
		summary = fmt.Sprintf("Delete the firewall entry that rejects %s; fail2ban does not know it.", from)
		cmds = append(cmds, banFirewallCommands(hs, mr, from)...)
	}
	if _, ignored := bans.MatchList(j.IgnoreIP, from); !ignored {
		file, section := j.IgnoreIPFile, j.IgnoreIPSection
		if !strings.HasSuffix(file, ".local") {
			file = path.Join(bans.Fail2banDir, "jail.local")
		}
		if section == "" {
			section = "DEFAULT"
		}
		line := "ignoreip = " + strings.Join(append(slices.Clone(j.IgnoreIP), from.String()), " ")
		fd.Evidence = append(fd.Evidence, E("ignoreip_file", b.path(file)), E("ignoreip_section", section), E("ignoreip_line", line))
		summary += fmt.Sprintf(" If %s is trusted, keep fail2ban from banning it again: in %s, section [%s], set %q and run fail2ban-client reload (fail2ban-client set %s addignoreip %s does it until the next restart).",
			from, b.path(file), section, line, j.Name, from)
	}
	if len(cmds) == 0 {
		return fd.WithFix(summary)
	}
	return fd.WithFix(summary, cmds...)
}

// sshguardFor reports sshguard's block of From: in its set or chain, or on
// its blacklist.
func (b banChecker) sshguardFor() []Finding {
	sg := b.f.Bans.SSHGuard
	from := b.f.From
	var hs []banHit
	for _, h := range b.hits(b.objects()) {
		if h.o.Tool == bans.ToolSSHGuard {
			hs = append(hs, h)
		}
	}
	mr := b.managed(bans.ToolSSHGuard, "")
	var bl *bans.BlacklistEntry
	if sg != nil {
		for i := range sg.Blacklist {
			if sg.Blacklist[i].Addr == from.Unmap() {
				bl = &sg.Blacklist[i]
			}
		}
	}
	if len(hs) == 0 && len(mr) == 0 && bl == nil {
		return nil
	}
	addr := from.String()
	if len(hs) > 0 {
		addr = hs[0].e.Value
	}
	ev := []KV{E("tool", bans.ToolSSHGuard), E("address", addr)}
	if addr != from.String() {
		ev = append(ev, E("client", from.String()))
	}
	fwText := append(banHitStrings(hs), banManagedStrings(mr)...)
	blocking := len(mr) > 0 || slices.ContainsFunc(hs, func(h banHit) bool { return h.o.Hooked })
	sev := SeverityError
	var d string
	if len(fwText) > 0 {
		ev = append(ev, E("firewall", fwText))
		d = fmt.Sprintf("sshguard blocks %s: %s drops its connections.", from, strings.Join(fwText, "; "))
		if !blocking {
			sev = SeverityWarning
			d = fmt.Sprintf("sshguard's %s holds %s, but no rule sends packets there, so it blocks nothing now.", hs[0].o.ID(), from)
		}
	} else {
		d = fmt.Sprintf("%s is on sshguard's permanent blacklist (%s:%d).", from, sg.BlacklistFile, bl.Line)
		if b.f.Bans.Live {
			sev = SeverityWarning
			d += " The firewall does not block it now (sshguard is not running?), but sshguard blocks it again as soon as it starts."
		} else {
			d += " sshguard blocks every blacklisted address when it starts, at boot."
		}
	}
	var cmds []string
	cmds = append(cmds, banFirewallCommands(hs, mr, from)...)
	summary := "Delete the address from sshguard's block list."
	if bl != nil {
		ev = append(ev, E("blacklist", fmt.Sprintf("%s:%d", sg.BlacklistFile, bl.Line)), E("blacklisted_at", bl.At.UTC().Format(time.RFC3339)))
		file := b.path(sg.BlacklistFile)
		cmds = append(cmds, "sed -i "+banShellWord(`/|`+banSedRegexp(from.Unmap().String())+`$/d`)+" "+banShellWord(file))
		summary = "Delete the address from sshguard's block list and from its blacklist file; restart sshguard afterwards (systemctl restart sshguard), since it reads the blacklist only when it starts."
		if len(fwText) > 0 {
			d += fmt.Sprintf(" It is also on the permanent blacklist (%s:%d), so it comes back whenever sshguard starts.", sg.BlacklistFile, bl.Line)
		}
	} else if sg != nil {
		d += fmt.Sprintf(" The block ends by itself after sshguard's block time (%s at first, longer for repeat offenders).", sg.BlockTime)
	}
	if sg != nil {
		if e, ok := bans.MatchList(sg.Whitelist, from); ok {
			ev = append(ev, E("whitelist_entry", e))
			d += fmt.Sprintf(" Oddly, %s is whitelisted (%s): sshguard was not restarted since.", from, e)
		} else if sg.WhitelistFile != "" {
			wl := b.path(sg.WhitelistFile)
			ev = append(ev, E("whitelist_file", wl))
			summary += fmt.Sprintf(" If %s is trusted, add it to sshguard's whitelist so that it is never blocked again: echo %s >> %s, then restart sshguard.", from, from, wl)
		}
	}
	fd := New("ban.active", d, ev...).WithSeverity(sev)
	if len(cmds) == 0 {
		return []Finding{fd.WithFix(summary)}
	}
	return []Finding{fd.WithFix(summary, cmds...)}
}

// summary reports, without --from, the jails and sshguard sets that hold
// bans on the SSH port.
func (b banChecker) summary() []Finding {
	var out []Finding
	if f2b := b.f.Bans.Fail2ban; f2b != nil {
		for _, j := range f2b.Jails {
			if len(j.Bans) == 0 || !b.coversSSH(j) {
				continue
			}
			addrs := make([]string, 0, len(j.Bans))
			for _, ban := range j.Bans {
				addrs = append(addrs, ban.Addr)
			}
			d := fmt.Sprintf("%d address%s banned in fail2ban's jail %s (%s): %s. Give --from ADDRESS to check one client.",
				len(addrs), map[bool]string{true: " is", false: "es are"}[len(addrs) == 1], j.Name, f2b.BanSource, banFirst(addrs, 10))
			out = append(out, New("ban.active", d, E("tool", bans.ToolFail2ban), E("jail", j.Name),
				E("count", len(addrs)), E("addresses", banFirstList(addrs, 50)), E("source", f2b.BanSource)).WithSeverity(SeverityInfo))
		}
	}
	var addrs []string
	for _, o := range b.objects() {
		if o.Tool != bans.ToolSSHGuard {
			continue
		}
		for _, e := range o.Entries {
			addrs = append(addrs, e.Value)
		}
	}
	if sg := b.f.Bans.SSHGuard; sg != nil {
		for _, e := range sg.Blacklist {
			if !slices.Contains(addrs, e.Addr.String()) {
				addrs = append(addrs, e.Addr.String())
			}
		}
	}
	if len(addrs) > 0 {
		d := fmt.Sprintf("sshguard blocks %d address%s: %s. Give --from ADDRESS to check one client.",
			len(addrs), map[bool]string{true: "", false: "es"}[len(addrs) == 1], banFirst(addrs, 10))
		out = append(out, New("ban.active", d, E("tool", bans.ToolSSHGuard), E("count", len(addrs)),
			E("addresses", banFirstList(addrs, 50))).WithSeverity(SeverityInfo))
	}
	return out
}
