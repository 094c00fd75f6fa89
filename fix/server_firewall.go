package fix

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/firewall"
)

// Repairs of the firewall, and of SELinux's port labels: what stands
// between a client and sshd's port.
//
// firewall.blocks adds one accept rule in every chain that stops SSH,
// through the tool that owns that chain, and only there:
//
//   - nftables: "nft insert rule ... position HANDLE" just before the rule
//     that stops the connection (or "nft add rule" where the packet fell to
//     the policy). Undo restores a snapshot of that one table ("nft list
//     table" fed back after "flush table"), never the whole ruleset:
//     reloading `nft list ruleset` turns iptables-nft's tables (ufw,
//     fail2ban, docker) into native rules iptables-nft can no longer read,
//     and would drop the bans fail2ban made meanwhile in its own table.
//   - iptables and ip6tables (nf_tables or legacy, as the rules were read):
//     "-I CHAIN N" before the rule, or "-A"; the table is saved into the
//     journal (iptables-save) and the undo deletes exactly the rule added.
//   - ufw: "ufw allow" ("ufw insert 1 allow" before the admin's own deny),
//     undone with "ufw delete allow"; ufw saves its rules itself.
//   - firewalld: --add-service/--add-port (a rich rule with --from), at run
//     time and in the permanent configuration, each undone exactly.
//
// With --from the rule accepts only that client. Every runtime change is
// guarded. Persistence is each backend's own: nftables and iptables rules
// are written into the file their service loads at boot (nftables.conf,
// rules.v4/rules.v6), as one more line in the same chain at the same place
// (when that chain in the file holds the same rules as the running one),
// and only after the edited file was loaded by the real nft (or parsed)
// and evaluated to let the connection in; the file is never rewritten
// wholesale from the running rules, which would save rules other programs
// add at run time. Where no file is loaded at boot the plan says plainly
// that the change does not persist, and shows the command that would.
//
// Offline (--root), the same edit goes into the saved rules of the tree:
// nftables.conf, rules.v4/v6, ufw's user.rules and firewalld's zone files.
//
// firewall.uncertain is never acted on: a rule sshdoctor does not
// understand is shown for a person. sshd.selinux-port labels the port with
// semanage (live only: it has no offline mode).

func init() {
	RegisterServer("firewall.blocks", false, planFirewallBlocks)
	RegisterServer("firewall.uncertain", false, planFirewallUncertain)
	RegisterServer("sshd.selinux-port", false, planSELinuxPort)
}

// fwBlock is one chain that stops an SSH connection: the connection
// followed, the chain's result, and the decision that stops it.
type fwBlock struct {
	ev  *firewall.Evaluation
	res *firewall.ChainResult
	d   firewall.Decision
}

// fwBlocksOf returns the blocks check.Firewall reports as firewall.blocks:
// drops and rejects no ban tool owns, except where, without --from, the
// chain also accepts some sources (that is firewall.source-restricted).
func fwBlocksOf(rep *firewall.Report) []fwBlock {
	var out []fwBlock
	for _, ev := range rep.Evaluations {
		for _, res := range ev.Chains {
			accepts := false
			var bs []firewall.Decision
			for _, d := range res.Decisions {
				switch {
				case d.Verdict == firewall.VerdictAccept:
					accepts = true
				case d.Blocks() && d.Managed == nil:
					bs = append(bs, d)
				}
			}
			if len(bs) == 0 || (!ev.Packet.Src.IsValid() && accepts) {
				continue
			}
			for _, d := range bs {
				out = append(out, fwBlock{ev: ev, res: res, d: d})
			}
		}
	}
	return out
}

// fwPlace is where the accept rule goes: before the deciding rule, or,
// when the policy decided, where the packet left the rules (before nil:
// the chain's end).
func fwPlace(d firewall.Decision) (c *firewall.Chain, before *firewall.Rule) {
	if d.Rule != nil {
		return d.Rule.Chain, d.Rule
	}
	if d.Exit != nil {
		return d.Exit.Chain, d.Exit.Before
	}
	return d.Chain, nil
}

// firstOf reports whether f is the first error finding with f's code:
// planners that plan every finding of a code at once answer it alone.
func firstOf(sc *ServerContext, f check.Finding) bool {
	for _, x := range sc.Findings {
		if x.Code != f.Code || x.Severity == check.SeverityInfo {
			continue
		}
		return x.Detail == f.Detail && fmt.Sprint(x.Evidence) == fmt.Sprint(f.Evidence)
	}
	return true
}

// fwGroup is one accept rule to add: every block stopped at the same place
// of the same chain, with the ports they need.
type fwGroup struct {
	backend string // the evaluation's backend: nftables, iptables, ip6tables, ufw, firewalld
	chain   *firewall.Chain
	before  *firewall.Rule // nil: the chain's end
	src     netip.Addr     // the client (--from); invalid means any
	family  int            // 4 or 6: the family of the packets (0 when both)
	ports   []uint16
	blocks  []fwBlock
}

func (g *fwGroup) key() string {
	switch g.backend {
	case firewall.BackendUFW:
		// One ufw command per port and client, wherever ufw stops it:
		// "ufw allow N/tcp" covers both families at once.
		return g.backend + "|" + g.src.String()
	case firewall.BackendFirewalld:
		// One rule per zone (its chain), port and client.
		return g.backend + "|" + g.chain.Table.ID() + "|" + g.chain.Name + "|" + g.src.String()
	}
	k := g.backend + "|" + g.chain.Table.ID() + "|" + g.chain.Name + "|" + g.src.String()
	if rs := g.chain.Table.Ruleset; rs != nil {
		k += "|" + rs.Source
	}
	if g.before != nil {
		k += "|" + strconv.Itoa(g.before.Position)
	}
	return k
}

// fwGroups gathers the blocks into accept rules.
func fwGroups(blocks []fwBlock) []*fwGroup {
	var out []*fwGroup
	idx := map[string]*fwGroup{}
	for _, b := range blocks {
		c, before := fwPlace(b.d)
		g := &fwGroup{backend: b.res.Backend, chain: c, before: before, src: b.ev.Packet.Src, family: b.ev.Packet.Family}
		if x, ok := idx[g.key()]; ok {
			g = x
		} else {
			idx[g.key()] = g
			out = append(out, g)
		}
		if !slices.Contains(g.ports, b.ev.Packet.DPort) {
			g.ports = append(g.ports, b.ev.Packet.DPort)
			slices.Sort(g.ports)
		}
		if g.family != b.ev.Packet.Family {
			g.family = 0
		}
		g.blocks = append(g.blocks, b)
	}
	return out
}

// planFirewallBlocks plans every firewall.blocks finding at once, at the
// first of them: one accept rule per place that stops SSH, the live change
// and, where the backend has one, the file it is loaded from at boot.
func planFirewallBlocks(sc *ServerContext, f check.Finding) Planned {
	rep := sc.Facts.Firewall
	if rep == nil || rep.Facts == nil {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "the firewall was not read"}
	}
	if !firstOf(sc, f) {
		return Planned{}
	}
	groups := fwGroups(fwBlocksOf(rep))
	if len(groups) == 0 {
		return Planned{Manual: []Step{manualFrom(f)}, Skip: "the evaluation behind the finding is not available"}
	}
	fp := &fwPlanner{sc: sc, rep: rep, files: map[string]*fwFile{}}
	// Later places first: an iptables rule inserted by position moves the
	// rules after it, not those before.
	sort.SliceStable(groups, func(i, j int) bool { return fwPos(groups[i]) > fwPos(groups[j]) })
	for _, g := range groups {
		if rep.Facts.Persisted {
			fp.offline(g)
		} else {
			fp.live(g)
		}
	}
	fp.finishFiles()
	return fp.out
}

func fwPos(g *fwGroup) int {
	if g.before == nil {
		return 1 << 30
	}
	return g.before.Position
}

// fwPlanner accumulates the steps of the firewall repairs.
type fwPlanner struct {
	sc    *ServerContext
	rep   *firewall.Report
	out   Planned
	seen  map[string]bool
	files map[string]*fwFile
	order []string
	// keptBy maps a runtime step (its index) to the boot file planned to
	// keep it, so that its Persist can say whether that edit is done.
	keptBy    map[int]*fwFile
	lastFile  *fwFile
	lastGroup *fwGroup
}

// persisted notes that step i's change is also planned into the file the
// group's last fileInsert chose.
func (fp *fwPlanner) persisted(i int, g *fwGroup) {
	if i < 0 || fp.lastFile == nil || fp.lastGroup != g {
		return
	}
	if fp.keptBy == nil {
		fp.keptBy = map[int]*fwFile{}
	}
	fp.keptBy[i] = fp.lastFile
}

// add appends a step unless the same one is planned already; it returns
// the step's index in the plan, or -1.
func (fp *fwPlanner) add(st Step) int {
	if fp.seen == nil {
		fp.seen = map[string]bool{}
	}
	k := string(st.Kind) + "|" + strings.Join(st.Command, "\x00") + "|" + st.Path
	if fp.seen[k] {
		return -1
	}
	fp.seen[k] = true
	st.Finding = "firewall.blocks"
	st.Phase = PhaseRuntime
	fp.out.Steps = append(fp.out.Steps, st)
	return len(fp.out.Steps) - 1
}

func (fp *fwPlanner) manual(summary, risk string, cmds ...string) {
	st := Step{Finding: "firewall.blocks", Kind: KindManual, Summary: summary, Risk: risk}
	if len(cmds) > 0 {
		st.Command = []string{strings.Join(cmds, " && ")}
	}
	for _, m := range fp.out.Manual {
		if m.Summary == st.Summary {
			return
		}
	}
	fp.out.Manual = append(fp.out.Manual, st)
}

// verifyPorts are the ports a guarded firewall change is verified on:
// every SSH port, so that one change cannot hide another's damage.
func (fp *fwPlanner) verifyPorts() []int { return slices.Clone(fp.sc.Facts.Ports) }

func (g *fwGroup) risk() string {
	if g.src.IsValid() {
		return ""
	}
	return fmt.Sprintf("opens port %s to every address, not only to your client; give --from ADDRESS to open it to one client only", joinPorts(g.ports))
}

func (g *fwGroup) where() string {
	if g.before != nil {
		return fmt.Sprintf("before %q", g.before.Text)
	}
	return "at the end of the chain"
}

func (g *fwGroup) whom() string {
	if g.src.IsValid() {
		return "from " + g.src.String()
	}
	return "from anywhere"
}

func joinPorts(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// nftMatch is the rule's match in nft syntax.
func (g *fwGroup) nftMatch() string {
	m := "tcp dport " + strconv.Itoa(int(g.ports[0]))
	if len(g.ports) > 1 {
		m = "tcp dport { " + strings.ReplaceAll(joinPorts(g.ports), ",", ", ") + " }"
	}
	if !g.src.IsValid() {
		return m
	}
	ip := "ip"
	if !g.src.Unmap().Is4() {
		ip = "ip6"
	}
	return ip + " saddr " + g.src.Unmap().String() + " " + m
}

// iptArgs is the rule's match in iptables syntax, the way iptables-save
// writes it (so that a later save writes the same line).
func (g *fwGroup) iptArgs() []string {
	var a []string
	if g.src.IsValid() {
		s := g.src.Unmap()
		a = append(a, "-s", netip.PrefixFrom(s, s.BitLen()).String())
	}
	if len(g.ports) == 1 {
		return append(a, "-p", "tcp", "-m", "tcp", "--dport", strconv.Itoa(int(g.ports[0])))
	}
	return append(a, "-p", "tcp", "-m", "multiport", "--dports", joinPorts(g.ports))
}

var nftIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)

// live plans the change of the running firewall for one group.
func (fp *fwPlanner) live(g *fwGroup) {
	switch g.backend {
	case firewall.BackendUFW:
		fp.ufwLive(g)
		return
	case firewall.BackendFirewalld:
		fp.firewalldLive(g)
		return
	}
	t := g.chain.Table
	if t.Ruleset == nil {
		fp.manual("accept SSH in chain "+g.chain.Name, "the chain's backend is not known")
		return
	}
	if t.Ruleset.Backend == firewall.BackendNFT {
		fp.nftLive(g)
		return
	}
	fp.iptLive(g)
}

func (fp *fwPlanner) nftLive(g *fwGroup) {
	t := g.chain.Table
	if !nftIdent.MatchString(t.Name) || !nftIdent.MatchString(g.chain.Name) || (g.before != nil && g.before.Handle == 0) {
		fp.manual(fmt.Sprintf("accept SSH in nftables chain %s of table %s", g.chain.Name, t.ID()),
			"the table or chain name needs quoting, or the rule has no handle: sshdoctor does not guess",
			fmt.Sprintf("nft -a list chain %s %s", t.ID(), g.chain.Name))
		return
	}
	cmd := []string{"nft", "add", "rule", t.Family, t.Name, g.chain.Name}
	if g.before != nil {
		cmd = []string{"nft", "insert", "rule", t.Family, t.Name, g.chain.Name, "position", strconv.Itoa(g.before.Handle)}
	}
	cmd = append(cmd, strings.Fields(g.nftMatch())...)
	cmd = append(cmd, "accept")
	st := Step{Kind: KindExec, Command: cmd, Guarded: true, VerifyPorts: fp.verifyPorts(),
		Snapshot: []string{"nft", "list", "table", t.Family, t.Name},
		Restore:  []string{"nft", "-f", "-"}, RestorePrefix: "flush table " + t.Family + " " + t.Name + "\n",
		Summary: fmt.Sprintf("accept SSH (port %s) %s in nftables chain %s of table %s, %s", joinPorts(g.ports), g.whom(), g.chain.Name, t.ID(), g.where()),
		Risk:    g.risk()}
	st.Persist = fp.persistNFT(g)
	fp.persisted(fp.add(st), g)
}

// iptTools names the commands of the iptables variant the rules were read
// with: iptables-nft, iptables-legacy, or plain iptables, and its save.
func iptTools(rs *firewall.Ruleset) (tool, save string) {
	base := rs.Backend // iptables or ip6tables
	src := rs.Source
	switch {
	case strings.HasPrefix(src, base+"-legacy"):
		base += "-legacy"
	case strings.HasPrefix(src, base+"-nft"):
		base += "-nft"
	}
	return base, base + "-save"
}

func (fp *fwPlanner) iptLive(g *fwGroup) {
	t := g.chain.Table
	tool, save := iptTools(t.Ruleset)
	cmd := []string{tool, "-w", "-t", t.Name}
	if g.before != nil {
		cmd = append(cmd, "-I", g.chain.Name, strconv.Itoa(g.before.Position))
	} else {
		cmd = append(cmd, "-A", g.chain.Name)
	}
	cmd = append(append(cmd, g.iptArgs()...), "-j", "ACCEPT")
	// The table's rules go into the journal, but the undo deletes just the
	// rule added: the first rule with its exact matches, which is it (an
	// equal rule before it would have let the connection in). Restoring
	// the saved table instead would also undo what others (fail2ban)
	// changed meanwhile, and with iptables-nft it creates the empty
	// built-in chains the kernel did not have.
	del := append(append([]string{tool, "-w", "-t", t.Name, "-D", g.chain.Name}, g.iptArgs()...), "-j", "ACCEPT")
	st := Step{Kind: KindExec, Command: cmd, Guarded: true, VerifyPorts: fp.verifyPorts(),
		Snapshot: []string{save, "-c", "-t", t.Name},
		Restore:  del,
		Summary:  fmt.Sprintf("accept SSH (port %s) %s in %s chain %s (table %s), %s", joinPorts(g.ports), g.whom(), t.Ruleset.Backend, g.chain.Name, t.Name, g.where()),
		Risk:     g.risk()}
	st.Persist = fp.persistIPT(g)
	fp.persisted(fp.add(st), g)
}

// ufwSpec is the rule in ufw's command syntax, after "allow".
func (g *fwGroup) ufwSpecs() [][]string {
	var out [][]string
	for _, p := range g.ports {
		if g.src.IsValid() {
			out = append(out, []string{"from", g.src.Unmap().String(), "to", "any", "port", strconv.Itoa(int(p)), "proto", "tcp"})
		} else {
			out = append(out, []string{strconv.Itoa(int(p)) + "/tcp"})
		}
	}
	return out
}

// ufwStatusLine is how `ufw status` shows the rule for port p, fields
// joined by one space as host/firewall keeps them.
func (g *fwGroup) ufwStatusLine(p uint16, v6 bool) string {
	from := "Anywhere"
	if g.src.IsValid() {
		from = g.src.Unmap().String()
	}
	to := strconv.Itoa(int(p)) + "/tcp"
	if v6 && !g.src.IsValid() {
		to += " (v6)"
		from += " (v6)"
	}
	return to + " ALLOW IN " + from
}

func (fp *fwPlanner) ufwLive(g *fwGroup) {
	top := false
	if g.before != nil {
		name := g.before.Chain.Name
		switch {
		case strings.HasSuffix(name, "-user-input"):
			// The admin's own deny: ufw matches its rules first to last.
			top = true
		case strings.Contains(name, "-before-"):
			fp.manual(fmt.Sprintf("ufw's %s stops SSH with %q: edit /etc/ufw/before.rules (before6.rules for IPv6), then run ufw reload", name, g.before.Text),
				"rules in before.rules run before every ufw allow rule; sshdoctor does not edit them", "ufw reload")
			return
		}
	}
	var rules []string
	if u := fp.rep.Facts.UFW; u != nil {
		rules = u.Rules
	}
	for i, spec := range g.ufwSpecs() {
		p := g.ports[i]
		if slices.Contains(rules, g.ufwStatusLine(p, false)) || (g.family == 6 && slices.Contains(rules, g.ufwStatusLine(p, true))) {
			fp.manual(fmt.Sprintf("ufw already has \"allow %s\", yet SSH is stopped %s: an earlier rule wins; see ufw status numbered", strings.Join(spec, " "), g.where()),
				"adding the same rule again changes nothing, and undoing it would delete the admin's own rule", "ufw status numbered")
			continue
		}
		cmd := append([]string{"ufw", "allow"}, spec...)
		summary := fmt.Sprintf("allow SSH (port %d) %s in ufw", p, g.whom())
		if top {
			cmd = append([]string{"ufw", "insert", "1", "allow"}, spec...)
			summary += ", before the rule that denies it"
		}
		fp.add(Step{Kind: KindExec, Command: cmd, Undo: append([]string{"ufw", "delete", "allow"}, spec...),
			Guarded: true, VerifyPorts: fp.verifyPorts(), Summary: summary, Risk: g.risk(),
			Persist: "ufw saves its rules itself (/etc/ufw/user.rules, user6.rules)"})
	}
}

// firewalldWhat returns the firewall-cmd option that adds the rule, the one
// that removes it, the one that asks for it, and whether the zone already
// has it at run time.
func (g *fwGroup) firewalldWhat(p uint16, z *firewall.FirewalldZone) (add, remove, query string, has bool) {
	if g.src.IsValid() {
		fam := "ipv4"
		if !g.src.Unmap().Is4() {
			fam = "ipv6"
		}
		rule := fmt.Sprintf(`rule family="%s" source address="%s" port port="%d" protocol="tcp" accept`, fam, g.src.Unmap(), p)
		return "--add-rich-rule=" + rule, "--remove-rich-rule=" + rule, "--query-rich-rule=" + rule, z != nil && slices.Contains(z.RichRules, rule)
	}
	if p == 22 {
		return "--add-service=ssh", "--remove-service=ssh", "--query-service=ssh", z != nil && slices.Contains(z.Services, "ssh")
	}
	port := fmt.Sprintf("%d/tcp", p)
	return "--add-port=" + port, "--remove-port=" + port, "--query-port=" + port, z != nil && slices.Contains(z.Ports, port)
}

func (fp *fwPlanner) firewalldLive(g *fwGroup) {
	fw := fp.rep.Facts.Firewalld
	var p0 firewall.Packet
	if len(g.blocks) > 0 {
		p0 = g.blocks[0].ev.Packet
	}
	z := fw.ZoneFor(p0.Src, p0.Iif)
	if z == nil {
		fp.manual("allow SSH in firewalld's zone for this connection", "sshdoctor could not tell which zone the connection falls in",
			"firewall-cmd --get-active-zones")
		return
	}
	zone := "--zone=" + z.Name
	for _, p := range g.ports {
		add, remove, query, has := g.firewalldWhat(p, z)
		if has {
			fp.manual(fmt.Sprintf("firewalld's zone %s already has %s, yet SSH is stopped: another rule wins", z.Name, strings.TrimPrefix(add, "--add-")),
				"adding it again changes nothing", "firewall-cmd "+zone+" --list-all")
			continue
		}
		fp.add(Step{Kind: KindExec, Command: []string{"firewall-cmd", zone, add}, Undo: []string{"firewall-cmd", zone, remove},
			Guarded: true, VerifyPorts: fp.verifyPorts(), Risk: g.risk(),
			Summary: fmt.Sprintf("allow SSH (port %d) %s in firewalld's zone %s, now", p, g.whom(), z.Name),
			Persist: "the next step adds it to the permanent configuration"})
		// The permanent configuration may hold the rule already (someone
		// removed it at run time only): the snapshot remembers, so that
		// the undo removes only what this step added.
		fp.add(Step{Kind: KindExec, Command: []string{"firewall-cmd", "--permanent", zone, add},
			Snapshot: []string{"sh", "-c", `firewall-cmd --permanent "$1" "$2" || true`, "sh", zone, query},
			Restore:  []string{"sh", "-c", `read -r was; [ "$was" = yes ] || exec firewall-cmd --permanent "$1" "$2"`, "sh", zone, remove},
			Summary:  fmt.Sprintf("allow SSH (port %d) %s in firewalld's permanent configuration of zone %s", p, g.whom(), z.Name),
			Persist:  "firewalld's permanent configuration (/etc/firewalld/zones/" + z.Name + ".xml), loaded at boot and at reload"})
	}
}

// planFirewallUncertain shows what sshdoctor could not decide: it never
// changes a rule whose effect it does not understand.
func planFirewallUncertain(sc *ServerContext, f check.Finding) Planned {
	m := manualFrom(f)
	m.Risk = "sshdoctor cannot tell whether this stops SSH, so it changes nothing there"
	return Planned{Manual: []Step{m}}
}

// planSELinuxPort labels sshd's port ssh_port_t with semanage (-a, or -m
// when another type claims that exact port); undo puts the old label back
// (or deletes the local one). sshd is restarted afterwards when it runs, so
// that it binds the port.
func planSELinuxPort(sc *ServerContext, f check.Finding) Planned {
	port := evInt(f.Evidence.Get("port"))
	if port <= 0 || port > 65535 {
		return Planned{Manual: []Step{manualFrom(f)}}
	}
	n := strconv.Itoa(port)
	op, undo := "-a", []string{"semanage", "port", "-d", "-p", "tcp", n}
	if l, ok := sc.Facts.SELinux.Label("tcp", port); ok && l.Low == l.High && l.Type != "ssh_port_t" {
		op = "-m"
		if l.Local {
			undo = []string{"semanage", "port", "-m", "-t", l.Type, "-p", "tcp", n}
		}
	}
	cmd := []string{"semanage", "port", op, "-t", "ssh_port_t", "-p", "tcp", n}
	if !sc.Live {
		return Planned{Manual: []Step{{Finding: f.Code, Kind: KindManual, Command: []string{commandLine(cmd)},
			Summary: fmt.Sprintf("label tcp port %d ssh_port_t once the machine runs", port),
			Risk:    "semanage changes the policy store of the running system; it has no offline mode"}}}
	}
	if _, err := os.Stat(filepath.Join(sc.Root, "usr/sbin/semanage")); err != nil {
		return Planned{Manual: []Step{{Finding: f.Code, Kind: KindManual, Command: []string{commandLine(cmd)},
			Summary: fmt.Sprintf("install semanage (policycoreutils-python-utils), then label tcp port %d ssh_port_t", port),
			Risk:    "semanage is not installed"}}}
	}
	if sshdRunning(sc) {
		sc.ConfigChanged = true // restart sshd so that it binds the port
	}
	return Planned{Steps: []Step{{Finding: f.Code, Kind: KindExec, Phase: PhaseRuntime, Command: cmd, Undo: undo,
		Summary: fmt.Sprintf("label tcp port %d ssh_port_t, so that SELinux lets sshd bind it", port),
		Persist: "the SELinux policy store keeps local port labels across reboots"}}}
}

// An nft script, read just enough to find where a chain's rules are
// written: statements (separated by newlines and semicolons, continued
// with a backslash), comments, strings, and the blocks of tables and
// chains; other braces (sets, maps, anonymous sets) are skipped whole.
