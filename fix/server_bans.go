package fix

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/host/firewall"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
)

// Repairs of what refuses one client: fail2ban's and sshguard's bans, and
// TCP wrappers.
//
// ban.active lifts the ban of the --from address, through the tool when it
// runs (fail2ban-client set JAIL unbanip ADDR, undone with banip), in
// fail2ban's database when its server is stopped (or the tree is offline:
// the ban would come back at start), and in the firewall for what the tool
// no longer knows (leftover entries of its chains, sets and ipsets, and
// sshguard's). Every firewall object changed is listed into the journal
// first; the undo puts back exactly the entry removed (nft add element,
// ipset add, iptables -I at its place), so that bans the tools add
// meanwhile are kept.
//
// Trusting the address for good (fail2ban's ignoreip, sshguard's whitelist)
// is only offered, as a manual step: that is a standing decision about who
// may fail logins unpunished, not a repair, and the address that got
// banned is exactly the one such a decision should not be made about
// without a person.
//
// tcpwrappers.denied puts "sshd: ADDR" at the top of /etc/hosts.allow,
// which libwrap reads first and where the first match wins; the rest of
// the file is kept byte for byte.

func init() {
	RegisterServer("ban.active", false, planBan)
	RegisterServer("tcpwrappers.denied", false, planTCPWrappers)
}

// planBan lifts the bans of the --from address that f reports.
func planBan(sc *ServerContext, f check.Finding) Planned {
	from := sc.Facts.From
	bf := sc.Facts.Bans
	if !from.IsValid() || bf == nil {
		return Planned{Skip: "sshdoctor lifts the ban of one client: give --from ADDRESS"}
	}
	tool, _ := f.Evidence.Get("tool").(string)
	jail, _ := f.Evidence.Get("jail").(string)
	var out Planned
	switch tool {
	case bans.ToolFail2ban:
		out = planFail2ban(sc, f, jail)
	case bans.ToolSSHGuard:
		out = planSSHGuard(sc, f)
	default:
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	for i := range out.Steps {
		out.Steps[i].Finding = f.Code
	}
	for i := range out.Manual {
		out.Manual[i].Finding = f.Code
	}
	if len(out.Steps) == 0 && len(out.Manual) == 0 {
		out.Manual = []Step{manualFrom(f)}
	}
	return out
}

func planFail2ban(sc *ServerContext, f check.Finding, jail string) Planned {
	from := sc.Facts.From
	bf := sc.Facts.Bans
	f2b := bf.Fail2ban
	var j *bans.Jail
	var ban *bans.Ban
	if f2b != nil {
		for _, x := range f2b.Jails {
			if x.Name == jail {
				j = x
			}
		}
	}
	if j != nil {
		for i := range j.Bans {
			if j.Bans[i].Contains(from) {
				ban = &j.Bans[i]
				break
			}
		}
	}
	var out Planned
	switch {
	case ban != nil && f2b.Running && sc.Live:
		// The server lifts its ban and its firewall entries itself. The
		// jail's status goes into the journal as the record of the bans.
		out.Steps = append(out.Steps, Step{Kind: KindExec, Phase: PhaseRuntime,
			Command:  []string{"fail2ban-client", "set", jail, "unbanip", ban.Addr},
			Snapshot: []string{"fail2ban-client", "status", jail},
			Restore:  []string{"fail2ban-client", "set", jail, "banip", ban.Addr},
			Summary:  fmt.Sprintf("lift fail2ban's ban of %s in jail %s", ban.Addr, jail),
			Persist:  "fail2ban removes it from its database too, so it does not come back at restart",
			Risk:     "undoing bans the address again, for a whole new bantime"})
	case ban != nil && f2b.BanSource == bans.SourceDatabase && f2b.DBFile != "":
		st, m := f2bDatabaseStep(sc, jail, ban.Addr, f2b.DBFile)
		out.Steps = append(out.Steps, st...)
		out.Manual = append(out.Manual, m...)
		out.Steps = append(out.Steps, banFirewallSteps(sc, bans.ToolFail2ban, jail)...)
	default:
		// A leftover: the firewall still holds what fail2ban forgot.
		out.Steps = append(out.Steps, banFirewallSteps(sc, bans.ToolFail2ban, jail)...)
	}
	if line, _ := f.Evidence.Get("ignoreip_line").(string); line != "" {
		file, _ := f.Evidence.Get("ignoreip_file").(string)
		section, _ := f.Evidence.Get("ignoreip_section").(string)
		m := Step{Kind: KindManual,
			Summary: fmt.Sprintf("if %s is trusted, keep fail2ban from banning it again: in %s, section [%s], set %q, then run fail2ban-client reload", from, file, section, line),
			Risk:    "ignoreip trusts the address for good (its failed logins are never punished): a decision for a person, not a repair"}
		if sc.Live {
			// Until fail2ban restarts; the file keeps it for good.
			m.Command = []string{fmt.Sprintf("fail2ban-client set %s addignoreip %s", shellQuote(jail), from)}
		}
		out.Manual = append(out.Manual, m)
	}
	return out
}

// f2bDatabaseStep deletes a ban from fail2ban's database with sqlite3 (of
// this machine: offline, it edits the tree's file). The database file is
// copied into the journal first, and put back whole by the undo.
func f2bDatabaseStep(sc *ServerContext, jail, addr, dbFile string) ([]Step, []Step) {
	db := sc.Conf.host(dbFile)
	where := fmt.Sprintf("jail = %s AND ip = %s", sqlString(jail), sqlString(addr))
	sql := "DELETE FROM bips WHERE " + where + "; DELETE FROM bans WHERE " + where + ";"
	if _, err := exec.LookPath("sqlite3"); err != nil {
		return nil, []Step{{Kind: KindManual, Command: []string{commandLine([]string{"sqlite3", db, sql})},
			Summary: fmt.Sprintf("delete the ban of %s from fail2ban's database while fail2ban is stopped", addr),
			Risk:    "sqlite3 is not installed on this machine"}}
	}
	return []Step{{Kind: KindExec, Phase: PhaseFiles,
		Command:  []string{"sqlite3", db, sql},
		Snapshot: []string{"cat", db},
		Restore: []string{"sh", "-c", `f=$1; t="$f.sshdoctor-restore"; cat > "$t" && chmod --reference="$f" "$t" && chown --reference="$f" "$t" && mv -f "$t" "$f"`,
			"sh", db},
		Summary: fmt.Sprintf("delete the ban of %s in jail %s from fail2ban's database %s", addr, jail, dbFile),
		Persist: "fail2ban restores bans from this database when it starts: this one no longer comes back"}}, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// banFirewallSteps deletes the --from address from the firewall objects of
// a tool (and jail): entries of its chains, sets and ipsets, or, where
// host/bans found none, the rules host/firewall attributes to it.
func banFirewallSteps(sc *ServerContext, tool, jail string) []Step {
	bf := sc.Facts.Bans
	from := sc.Facts.From
	if !sc.Live || bf.Firewall == nil {
		return nil
	}
	var out []Step
	for _, o := range bf.Firewall.Objects {
		if o.Tool != tool || (tool == bans.ToolFail2ban && o.Jail != jail && !o.ForJail(jail)) {
			continue
		}
		for _, e := range o.Entries {
			if !e.Contains(from) {
				continue
			}
			if st, ok := banEntryStep(o, e); ok {
				out = append(out, st)
			}
		}
	}
	if len(out) > 0 || sc.Facts.Firewall == nil {
		return out
	}
	for _, b := range sc.Facts.Firewall.Bans() {
		if b.Tool != tool || b.Rule == nil || (tool == bans.ToolFail2ban && b.Jail != jail && b.Jail != "") {
			continue
		}
		if st, ok := banRuleStep(b); ok {
			out = append(out, st)
		}
	}
	return out
}

// banEntryStep removes one entry from a tool's object.
func banEntryStep(o *bans.Object, e bans.Entry) (Step, bool) {
	switch {
	case o.Backend == bans.BackendNFT && o.Kind == bans.KindSet:
		fam, table, ok := strings.Cut(o.Table, " ")
		if !ok || !nftIdent.MatchString(table) || !nftIdent.MatchString(o.Name) {
			return Step{}, false
		}
		return Step{Kind: KindExec, Phase: PhaseRuntime,
			Command:  []string{"nft", "delete", "element", fam, table, o.Name, "{", e.Value, "}"},
			Snapshot: []string{"nft", "list", "set", fam, table, o.Name},
			Restore:  []string{"nft", "add", "element", fam, table, o.Name, "{", e.Value, "}"},
			Summary:  fmt.Sprintf("delete %s from %s", e.Value, o.ID())}, true
	case o.Backend == bans.BackendIPSet:
		return Step{Kind: KindExec, Phase: PhaseRuntime,
			Command:  []string{"ipset", "del", o.Name, e.Value},
			Snapshot: []string{"ipset", "save", o.Name},
			Restore:  []string{"ipset", "add", "-exist", o.Name, e.Value},
			Summary:  fmt.Sprintf("delete %s from %s", e.Value, o.ID())}, true
	case (o.Backend == bans.BackendIPTables || o.Backend == bans.BackendIP6Tables) && strings.HasPrefix(e.Rule, "-A "):
		if strings.ContainsAny(e.Rule, `"'\`) {
			return Step{}, false
		}
		table := o.Table
		if table == "" {
			table = "filter"
		}
		args := strings.Fields(strings.TrimPrefix(e.Rule, "-A "))
		// The tools' chains hold their entries, then at most a RETURN: the
		// entry's place is its index among them, where the undo puts it.
		pos := slices.IndexFunc(o.Entries, func(x bans.Entry) bool { return x.Rule == e.Rule }) + 1
		restore := append([]string{o.Backend, "-w", "-t", table, "-I", args[0], strconv.Itoa(pos)}, args[1:]...)
		return Step{Kind: KindExec, Phase: PhaseRuntime,
			Command:  append([]string{o.Backend, "-w", "-t", table, "-D"}, args...),
			Snapshot: []string{o.Backend + "-save", "-c", "-t", table},
			Restore:  restore,
			Summary:  fmt.Sprintf("delete the rule %q from %s", e.Rule, o.ID())}, true
	}
	return Step{}, false
}

// banRuleStep removes the client from a ban rule host/firewall found: the
// element of the set it matches through, or the rule itself when it
// matches the address directly.
func banRuleStep(b firewall.Ban) (Step, bool) {
	r := b.Rule
	t := r.Chain.Table
	if t.Ruleset == nil || t.Ruleset.Backend != firewall.BackendNFT {
		return Step{}, false // iptables rules of the tools are host/bans' objects
	}
	if strings.Contains(r.Text, "@") || r.Handle == 0 || !nftIdent.MatchString(t.Name) || !nftIdent.MatchString(r.Chain.Name) {
		return Step{}, false // a set's element is an object host/bans lists
	}
	return Step{Kind: KindExec, Phase: PhaseRuntime,
		Command:  []string{"nft", "delete", "rule", t.Family, t.Name, r.Chain.Name, "handle", fmt.Sprint(r.Handle)},
		Snapshot: []string{"nft", "list", "table", t.Family, t.Name},
		Restore:  []string{"nft", "-f", "-"}, RestorePrefix: "flush table " + t.Family + " " + t.Name + "\n",
		Summary: fmt.Sprintf("delete %s's rule %q from chain %s of table %s", b.Tool, r.Text, r.Chain.Name, t.ID())}, true
}

// planSSHGuard deletes the client from sshguard's firewall objects and
// from its permanent blacklist.
func planSSHGuard(sc *ServerContext, f check.Finding) Planned {
	from := sc.Facts.From
	var out Planned
	out.Steps = append(out.Steps, banFirewallSteps(sc, bans.ToolSSHGuard, "")...)
	sg := sc.Facts.Bans.SSHGuard
	if sg == nil {
		return out
	}
	for _, e := range sg.Blacklist {
		if e.Addr != from.Unmap() || sg.BlacklistFile == "" {
			continue
		}
		p := sc.Conf.host(sg.BlacklistFile)
		data, err := os.ReadFile(p)
		if err != nil {
			out.Manual = append(out.Manual, Step{Kind: KindManual, Summary: fmt.Sprintf("delete line %d (%s) from %s", e.Line, from, sg.BlacklistFile),
				Risk: "the blacklist could not be read: " + err.Error()})
			continue
		}
		lines := strings.SplitAfter(string(data), "\n")
		if e.Line < 1 || e.Line > len(lines) || !strings.HasSuffix(strings.TrimRight(lines[e.Line-1], "\r\n"), "|"+from.Unmap().String()) {
			out.Manual = append(out.Manual, Step{Kind: KindManual, Summary: fmt.Sprintf("delete %s from %s", from, sg.BlacklistFile),
				Risk: "the blacklist changed since it was read"})
			continue
		}
		content := strings.Join(append(lines[:e.Line-1:e.Line-1], lines[e.Line:]...), "")
		out.Steps = append(out.Steps, Step{Kind: KindWrite, Path: p, Content: []byte(content), Mode: 0o600, UID: -1, GID: -1, Phase: PhaseFiles,
			Diff:    Diff(sg.BlacklistFile, string(data), content),
			Summary: fmt.Sprintf("delete %s from sshguard's blacklist %s", from, sg.BlacklistFile),
			Persist: "sshguard reads the blacklist when it starts: the address is not blocked again"})
	}
	if wl, _ := f.Evidence.Get("whitelist_file").(string); wl != "" {
		out.Manual = append(out.Manual, Step{Kind: KindManual,
			Summary: fmt.Sprintf("if %s is trusted, whitelist it so that sshguard never blocks it again", from),
			Command: []string{fmt.Sprintf("echo %s >> %s && systemctl restart sshguard", from, shellQuote(wl))},
			Risk:    "a whitelist trusts the address for good: a decision for a person, not a repair"})
	}
	return out
}

// planTCPWrappers lets the --from client in at the top of hosts.allow, or
// ends hosts.deny with the newline whose absence makes libwrap refuse
// everyone.
func planTCPWrappers(sc *ServerContext, f check.Finding) Planned {
	if f.Fix != nil && len(f.Fix.Commands) == 1 && strings.HasPrefix(f.Fix.Commands[0], "echo >> ") {
		file, _ := f.Evidence.Get("file").(string)
		if file == "" {
			return Planned{Manual: []Step{manualFrom(f)}}
		}
		p := sc.Conf.host(file)
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 || data[len(data)-1] == '\n' {
			return Planned{Manual: []Step{manualFrom(f)}}
		}
		content := append(append([]byte(nil), data...), '\n')
		return Planned{Steps: []Step{{Finding: f.Code, Kind: KindWrite, Path: p, Content: content, Mode: 0o644, UID: -1, GID: -1, Phase: PhaseFiles,
			Diff:    Diff(file, string(data), string(content)),
			Summary: fmt.Sprintf("end %s with a newline (libwrap refuses every client at an unterminated last line)", file)}}}
	}
	line, _ := f.Evidence.Get("allow_line").(string)
	if line == "" || !sc.Facts.From.IsValid() {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "sshdoctor lets one client in: give --from ADDRESS"}
	}
	p := sc.Conf.host(tcpwrappers.AllowFile)
	data, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: err.Error()}
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			// Already there, yet refused: something else decides.
			return Planned{Manual: []Step{manualFrom(f)}, Skip: fmt.Sprintf("%s already has %q", tcpwrappers.AllowFile, line)}
		}
	}
	add := "# Added by sshdoctor: let " + sc.Facts.From.String() + " reach sshd (the first matching line wins).\n" + line + "\n"
	st := Step{Finding: f.Code, Kind: KindWrite, Path: p, Content: []byte(add + string(data)), Mode: 0o644, UID: 0, GID: 0, Phase: PhaseFiles,
		Summary: fmt.Sprintf("let %s reach sshd at the top of %s, where libwrap looks first", sc.Facts.From, tcpwrappers.AllowFile),
		Persist: "libwrap reads the file at every connection: nothing needs restarting"}
	if data != nil {
		st.UID, st.GID = -1, -1
		st.Diff = Diff(tcpwrappers.AllowFile, string(data), add+string(data))
	}
	return Planned{Steps: []Step{st}}
}
