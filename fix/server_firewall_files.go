package fix

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/firewall"
)

// unitEnabled reports whether a systemd unit is enabled in the inspected
// system (a link in some *.wants directory of /etc/systemd/system).
func (fp *fwPlanner) unitEnabled(unit string) bool {
	links, _ := filepath.Glob(filepath.Join(fp.sc.Root, "etc/systemd/system/*.wants", unit))
	return len(links) > 0
}

func (fp *fwPlanner) exists(p string) bool {
	_, err := os.Stat(fp.sc.Conf.host(p))
	return err == nil
}

// persistNFT plans the same rule in the nftables configuration loaded at
// boot, and says how (or that nothing) keeps the change.
func (fp *fwPlanner) persistNFT(g *fwGroup) string {
	for _, c := range []struct{ file, unit string }{{"/etc/nftables.conf", "nftables.service"}, {"/etc/sysconfig/nftables.conf", "nftables.service"}} {
		if !fp.exists(c.file) {
			continue
		}
		if !fp.unitEnabled(c.unit) {
			fp.manual("keep the new nftables rule after a reboot",
				fmt.Sprintf("%s is not enabled, so nothing loads %s at boot; saving the running ruleset there saves every rule other programs add at run time too, so check the file before enabling it", c.unit, c.file),
				"nft list ruleset > "+c.file, "systemctl enable "+c.unit)
			return fmt.Sprintf("nothing: %s is not enabled, so %s is not loaded at boot and the rule is lost at reboot", c.unit, c.file)
		}
		fp.fileInsert(c.file, "nft", g)
		return fmt.Sprintf("a step below adds the same rule to %s, which %s loads at boot", c.file, c.unit)
	}
	fp.manual("keep the new nftables rule after a reboot",
		"no nftables configuration is loaded at boot on this machine; saving the running ruleset saves every rule other programs add at run time too",
		"nft list ruleset > /etc/nftables.conf", "systemctl enable nftables.service")
	return "nothing: no nftables configuration is loaded at boot, so the rule is lost at reboot"
}

// persistIPT plans the same rule in the saved rules loaded at boot.
func (fp *fwPlanner) persistIPT(g *fwGroup) string {
	rs := g.chain.Table.Ruleset
	confs := []struct{ file, unit string }{{"/etc/iptables/rules.v4", "netfilter-persistent.service"}, {"/etc/sysconfig/iptables", "iptables.service"}}
	if rs.Backend == firewall.BackendIP6Tables {
		confs = []struct{ file, unit string }{{"/etc/iptables/rules.v6", "netfilter-persistent.service"}, {"/etc/sysconfig/ip6tables", "ip6tables.service"}}
	}
	for _, c := range confs {
		if !fp.exists(c.file) {
			continue
		}
		if !fp.unitEnabled(c.unit) {
			return fmt.Sprintf("nothing: %s is not enabled, so %s is not loaded at boot and the rule is lost at reboot", c.unit, c.file)
		}
		fp.fileInsert(c.file, "ipt", g)
		return fmt.Sprintf("a step below adds the same rule to %s, which %s loads at boot", c.file, c.unit)
	}
	_, save := iptTools(rs)
	if fp.exists("/usr/sbin/netfilter-persistent") {
		fp.manual("keep the new "+rs.Backend+" rule after a reboot",
			"netfilter-persistent save writes every running rule to the boot files, those fail2ban, ufw or docker add at run time too; check the result",
			"netfilter-persistent save")
		return "nothing yet: no saved " + rs.Backend + " rules are loaded at boot; 'netfilter-persistent save' would save them"
	}
	return fmt.Sprintf("nothing: %s rules live in the kernel only and this one is lost at reboot (iptables-persistent keeps rules: %s > /etc/iptables/rules.v4)", rs.Backend, save)
}

// offline plans an edit of the tree's saved rules for one group.
func (fp *fwPlanner) offline(g *fwGroup) {
	rs := g.chain.Table.Ruleset
	if rs == nil {
		fp.manual("accept SSH in chain "+g.chain.Name, "the chain's rules file is not known")
		return
	}
	switch {
	case g.backend == firewall.BackendUFW:
		fp.ufwOffline(g)
	case g.backend == firewall.BackendFirewalld:
		fp.firewalldOffline(g)
	case rs.Backend == firewall.BackendNFT:
		fp.fileInsert(rs.Source, "nft", g)
	default:
		fp.fileInsert(rs.Source, "ipt", g)
	}
}

// fwFile is a saved-rules file and the edits planned for it.
type fwFile struct {
	path   string // as the inspected system sees it
	kind   string // nft, ipt, ufw, firewalld
	source string // the Ruleset.Source host/firewall gives its rules
	// inserts are the rules to add (nft and ipt files).
	inserts []fwInsert
	// text is the new content, for ufw and firewalld files (edited as
	// they come).
	text   []byte
	orig   []byte
	blocks []fwBlock
	// base is where a new file's content comes from (a firewalld zone of
	// /usr/lib copied into /etc); empty when the file exists.
	base string
	// failed says why the file could not be read, editErr why it could
	// not be edited; empty when it could.
	failed, editErr string
}

// fwInsert is one rule to add to a chain of a file.
type fwInsert struct {
	g     *fwGroup
	text  string
	index int // 0-based index of the rule to insert before; -1 for the end
}

func (fp *fwPlanner) file(p, kind, source string) *fwFile {
	if f, ok := fp.files[p]; ok {
		return f
	}
	f := &fwFile{path: p, kind: kind, source: source}
	data, err := os.ReadFile(fp.sc.Conf.host(p))
	if err != nil && !os.IsNotExist(err) {
		f.failed = err.Error()
	}
	f.orig, f.text = data, data
	fp.files[p] = f
	fp.order = append(fp.order, p)
	return f
}

// fileInsert plans the group's rule in an nft or iptables rules file.
func (fp *fwPlanner) fileInsert(p, kind string, g *fwGroup) {
	f := fp.file(p, kind, p)
	in := fwInsert{g: g, index: -1}
	if g.before != nil {
		in.index = g.before.Position - 1
	}
	if kind == "nft" {
		in.text = g.nftMatch() + " accept"
	} else {
		in.text = strings.Join(append(append([]string{"-A", g.chain.Name}, g.iptArgs()...), "-j", "ACCEPT"), " ")
	}
	f.inserts = append(f.inserts, in)
	f.blocks = append(f.blocks, g.blocks...)
	fp.lastFile, fp.lastGroup = f, g
}

// finishFiles turns the planned file edits into validated writes.
func (fp *fwPlanner) finishFiles() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, p := range fp.order {
		f := fp.files[p]
		content, err := fp.edit(ctx, f)
		if err == nil {
			err = fwValidate(ctx, fp.sc.Root, f, content)
		}
		if err != nil {
			f.editErr = err.Error()
			fp.manual(fmt.Sprintf("add the accept rule to %s by hand", p),
				"sshdoctor did not change the file: "+err.Error(), fwFileHint(f)...)
			continue
		}
		st := Step{Kind: KindWrite, Path: fp.sc.Conf.host(p), Content: content, Mode: 0o644, UID: -1, GID: -1,
			Summary: fmt.Sprintf("add the accept rule to %s", p)}
		if f.orig != nil {
			st.Diff = Diff(p, string(f.orig), string(content))
		} else {
			st.UID, st.GID = 0, 0
			st.Summary = fmt.Sprintf("create %s from %s with the accept rule", p, f.base)
			fp.mkdirs(path.Dir(p))
		}
		if fp.rep.Facts.Persisted {
			st.Persist = "these are the rules the machine loads at boot"
			if f.kind == "ufw" || f.kind == "firewalld" {
				st.Persist = "the " + f.kind + " configuration the machine loads at boot"
			}
		} else {
			st.Persist = "the file the machine loads at boot; the running rules change in the step above"
		}
		fp.add(st)
	}
	for i, f := range fp.keptBy {
		if f.editErr != "" {
			fp.out.Steps[i].Persist = fmt.Sprintf("not yet: %s could not be edited (%s); add the rule there by hand, as shown below", f.path, f.editErr)
		}
	}
}

// mkdirs plans the directories of dir that do not exist yet, parents
// first (the undo removes them again).
func (fp *fwPlanner) mkdirs(dir string) {
	var missing []string
	for d := dir; d != "/" && d != "."; d = path.Dir(d) {
		if fp.exists(d) {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		fp.add(Step{Kind: KindMkdir, Path: fp.sc.Conf.host(missing[i]), Mode: 0o755, UID: 0, GID: 0,
			Summary: "create " + missing[i]})
	}
}

func fwFileHint(f *fwFile) []string {
	var out []string
	for _, in := range f.inserts {
		out = append(out, fmt.Sprintf("# in %s, chain %s: add %q %s", f.path, in.g.chain.Name, in.text, in.g.where()))
	}
	return out
}

// edit returns the file's new content.
func (fp *fwPlanner) edit(ctx context.Context, f *fwFile) ([]byte, error) {
	if f.failed != "" {
		return nil, fmt.Errorf("reading it: %s", f.failed)
	}
	if f.editErr != "" {
		return nil, fmt.Errorf("%s", f.editErr)
	}
	switch f.kind {
	case "ufw", "firewalld":
		if string(f.text) == string(f.orig) {
			return nil, fmt.Errorf("no change could be made")
		}
		return f.text, nil
	}
	if f.orig == nil {
		return nil, fmt.Errorf("it does not exist")
	}
	// Where each chain's rules are in the file, checked against the rules
	// the firewall evaluated: only then does "before rule N" mean the
	// same place in the file.
	var want *firewall.Ruleset
	if fp.rep.Facts.Persisted {
		for _, rs := range fp.rep.Facts.Rulesets {
			if rs.Source == f.source {
				want = rs
			}
		}
	}
	if want == nil {
		loaded, err := fwLoad(ctx, fp.sc.Root, f.path, f.orig, f.source)
		if err != nil {
			return nil, err
		}
		want = loaded
	}
	for _, in := range f.inserts {
		fc := fwChain(want, in.g.chain)
		if fc == nil {
			return nil, fmt.Errorf("it has no chain %s in table %s", in.g.chain.Name, in.g.chain.Table.ID())
		}
		if !fp.rep.Facts.Persisted && !sameRules(fc, in.g.chain) {
			return nil, fmt.Errorf("its chain %s differs from the running one, so the place of the rule there is not known", in.g.chain.Name)
		}
	}
	if f.kind == "nft" {
		return nftInsertRules(f.orig, f.inserts, want)
	}
	return iptInsertRules(f.orig, f.inserts, want)
}

// fwChain finds the chain of rs with the same table and name as c.
func fwChain(rs *firewall.Ruleset, c *firewall.Chain) *firewall.Chain {
	for _, t := range rs.Tables {
		if t.ID() == c.Table.ID() {
			if x := t.Chain(c.Name); x != nil {
				return x
			}
		}
	}
	return nil
}

func sameRules(a, b *firewall.Chain) bool {
	if len(a.Rules) != len(b.Rules) {
		return false
	}
	for i := range a.Rules {
		if a.Rules[i].Text != b.Rules[i].Text {
			return false
		}
	}
	return true
}

// fwLoad reads the rules a file would give, with content in its place,
// the way host/firewall reads an offline tree (the real nft loads an nft
// file in a throwaway network namespace). The tree is root, seen through
// a mirror of symlinks so that includes and enabled units resolve as
// there.
var fwLoad = func(ctx context.Context, root, file string, content []byte, source string) (*firewall.Ruleset, error) {
	facts, err := fwGatherWith(ctx, root, file, content)
	if err != nil {
		return nil, err
	}
	for _, s := range facts.Sources {
		if s.What == source && s.Err != "" {
			return nil, fmt.Errorf("reading it: %s", s.Err)
		}
	}
	for _, rs := range facts.Rulesets {
		if rs.Source == source {
			return rs, nil
		}
	}
	return nil, fmt.Errorf("its rules could not be read (is the service that loads it enabled?)")
}

// fwGatherWith gathers the firewall of the tree at root as it would be
// with file replaced by content.
func fwGatherWith(ctx context.Context, root, file string, content []byte) (*firewall.Facts, error) {
	tmp, err := os.MkdirTemp("", "sshdoctor-fw-")
	if err != nil {
		return nil, fmt.Errorf("fix: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := mirrorWith(root, tmp, file, content); err != nil {
		return nil, fmt.Errorf("fix: %w", err)
	}
	return firewall.Gather(ctx, host.Offline(tmp)), nil
}

// mirrorWith fills dir with symlinks to the entries of root, except along
// the path of file, whose directories are real and whose place holds
// content.
func mirrorWith(root, dir, file string, content []byte) error {
	parts := strings.Split(strings.Trim(path.Clean(file), "/"), "/")
	src, dst := root, dir
	for i, name := range parts {
		ents, err := os.ReadDir(src)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range ents {
			if e.Name() == name {
				continue
			}
			if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		if i == len(parts)-1 {
			return os.WriteFile(filepath.Join(dst, name), content, 0o600)
		}
		src, dst = filepath.Join(src, name), filepath.Join(dst, name)
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// fwValidate reads the rules the edited file gives and evaluates every
// connection the edit is for: the chain that stopped it must let it pass,
// and the chain's other rules must be those of before, in order.
func fwValidate(ctx context.Context, root string, f *fwFile, content []byte) error {
	facts, err := fwGatherWith(ctx, root, f.path, content)
	if err != nil {
		return err
	}
	for _, s := range facts.Sources {
		if s.Err != "" && (s.What == f.source || strings.HasPrefix(f.path, s.What)) {
			return fmt.Errorf("the edited file does not load: %s", s.Err)
		}
	}
	var rss []*firewall.Ruleset
	for _, rs := range facts.Rulesets {
		if rs.Source == f.source {
			rss = append(rss, rs)
		}
	}
	if len(rss) == 0 {
		return fmt.Errorf("the edited file gives no rules")
	}
	for _, b := range f.blocks {
		ev := firewall.Evaluate(rss, b.ev.Packet)
		found := false
		for _, res := range ev.Chains {
			if res.Chain.Name != b.res.Chain.Name || res.Chain.Table.ID() != b.res.Chain.Table.ID() {
				continue
			}
			found = true
			for _, d := range res.Decisions {
				if (d.Blocks() || d.Verdict == firewall.VerdictUncertain) && !d.Sources.Intersect(b.d.Sources).IsEmpty() {
					return fmt.Errorf("with the edit, %s still stops %s (%s)", b.res.Chain.Name, b.ev.Packet, d.Verdict)
				}
			}
		}
		if !found {
			return fmt.Errorf("the edited file has no chain %s", b.res.Chain.Name)
		}
	}
	return nil
}

// nftInsertRules adds the inserts to the chains of an nft script, as new
// lines just before the rule they go before (or before the chain's closing
// brace), with the indentation of their neighbours. Each chain must be
// written in one block of the file, with exactly the rules want shows.
func nftInsertRules(script []byte, ins []fwInsert, want *firewall.Ruleset) ([]byte, error) {
	top, err := parseNFT(script)
	if err != nil {
		return nil, err
	}
	type edit struct {
		at   int
		text string
	}
	var edits []edit
	for _, in := range ins {
		c := in.g.chain
		blk, err := top.chainBlock(c.Table.Family, c.Table.Name, c.Name)
		if err != nil {
			return nil, err
		}
		rules := blk.rules()
		if wc := fwChain(want, c); wc == nil || len(wc.Rules) != len(rules) {
			return nil, fmt.Errorf("chain %s is not written in one block of the file (rules come from elsewhere too)", c.Name)
		}
		var at int
		var indent string
		switch {
		case in.index >= 0 && in.index < len(rules):
			at, indent = lineStartOf(script, rules[in.index].start)
		case len(rules) > 0:
			_, indent = lineStartOf(script, rules[len(rules)-1].start)
			at, _ = lineStartOf(script, blk.close)
		default:
			var ci string
			at, ci = lineStartOf(script, blk.close)
			indent = ci + "\t"
		}
		text := indent + in.text + "\n"
		if at < 0 {
			// The place shares its line with what comes before it: start
			// a new line there.
			at = -at
			text = "\n" + text
		}
		edits = append(edits, edit{at, text})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	out := append([]byte(nil), script...)
	for _, e := range edits {
		out = append(out[:e.at], append([]byte(e.text), out[e.at:]...)...)
	}
	return out, nil
}

// lineStartOf returns the start of the line holding offset i and its
// indentation; when something other than blanks precedes i on its line,
// it returns -i.
func lineStartOf(b []byte, i int) (int, string) {
	s := i
	for s > 0 && b[s-1] != '\n' {
		s--
	}
	lead := string(b[s:i])
	if strings.Trim(lead, " \t") != "" {
		return -i, ""
	}
	return s, lead
}

// iptInsertRules adds the inserts to an iptables-save file, before the
// N-th rule of the chain in its table's section or after the chain's last.
func iptInsertRules(data []byte, ins []fwInsert, want *firewall.Ruleset) ([]byte, error) {
	lines := strings.SplitAfter(string(data), "\n")
	type edit struct {
		at   int // line index to insert before
		text string
	}
	var edits []edit
	for _, in := range ins {
		table, chain := in.g.chain.Table.Name, in.g.chain.Name
		var rules []int
		inTable, seenTable, tableEnd := false, false, -1
		for i, l := range lines {
			t := strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(t, "*"):
				inTable = t == "*"+table
				seenTable = seenTable || inTable
			case t == "COMMIT" && inTable:
				inTable = false
				tableEnd = i
			case inTable && (strings.HasPrefix(t, "-I "+chain+" ") || strings.HasPrefix(t, "-R "+chain+" ") || strings.HasPrefix(t, "-D "+chain+" ")):
				return nil, fmt.Errorf("chain %s is changed with -I, -R or -D in the file: the order of its rules is not plain", chain)
			case inTable && strings.HasPrefix(iptStripCounters(t), "-A "+chain+" "):
				rules = append(rules, i)
			}
		}
		if !seenTable || tableEnd < 0 {
			return nil, fmt.Errorf("it has no *%s section ending with COMMIT", table)
		}
		if wc := fwChain(want, in.g.chain); wc == nil || len(wc.Rules) != len(rules) {
			return nil, fmt.Errorf("chain %s of table %s is written in more than one section", chain, table)
		}
		at := tableEnd
		switch {
		case in.index >= 0 && in.index < len(rules):
			at = rules[in.index]
		case len(rules) > 0:
			at = rules[len(rules)-1] + 1
		}
		edits = append(edits, edit{at, in.text + "\n"})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	for _, e := range edits {
		if e.at > 0 && !strings.HasSuffix(lines[e.at-1], "\n") {
			lines[e.at-1] += "\n"
		}
		lines = slices.Insert(lines, e.at, e.text)
	}
	return []byte(strings.Join(lines, "")), nil
}

// iptStripCounters drops the "[packets:bytes] " an iptables-save -c line
// starts with.
func iptStripCounters(l string) string {
	if strings.HasPrefix(l, "[") {
		if i := strings.Index(l, "] "); i > 0 {
			return l[i+2:]
		}
	}
	return l
}

// ufwOffline adds the rule to ufw's user rules in the tree, the way
// `ufw allow` writes them: a "### tuple ###" line that ufw reads back and
// the iptables line ufw-init loads at boot.
func (fp *fwPlanner) ufwOffline(g *fwGroup) {
	if g.before != nil && strings.Contains(g.before.Chain.Name, "-before-") {
		fp.manual(fmt.Sprintf("ufw's %s stops SSH with %q: edit /etc/ufw/before.rules", g.before.Chain.Name, g.before.Text),
			"rules in before.rules run before every ufw allow rule; sshdoctor does not edit them")
		return
	}
	top := g.before != nil && strings.HasSuffix(g.before.Chain.Name, "-user-input")
	// One file per family: user.rules for IPv4, user6.rules for IPv6.
	var fams []int
	for _, b := range g.blocks {
		if !slices.Contains(fams, b.ev.Packet.Family) {
			fams = append(fams, b.ev.Packet.Family)
		}
	}
	slices.Sort(fams)
	for _, fam := range fams {
		file, chain, anyAddr := "/etc/ufw/user.rules", "ufw-user-input", "0.0.0.0/0"
		if fam == 6 {
			file, chain, anyAddr = "/etc/ufw/user6.rules", "ufw6-user-input", "::/0"
		}
		f := fp.file(file, "ufw", "/etc/ufw")
		for _, p := range g.ports {
			src, s := anyAddr, ""
			if g.src.IsValid() {
				src, s = g.src.Unmap().String(), " -s "+g.src.Unmap().String()
			}
			block := fmt.Sprintf("### tuple ### allow tcp %d %s any %s in\n-A %s -p tcp --dport %d%s -j ACCEPT\n\n", p, anyAddr, src, chain, p, s)
			text, err := ufwInsert(f.text, block, top)
			if err != nil {
				f.editErr = err.Error()
				break
			}
			f.text = text
		}
		for _, b := range g.blocks {
			if b.ev.Packet.Family == fam {
				f.blocks = append(f.blocks, b)
			}
		}
	}
}

// ufwInsert puts a rule block at the top of the RULES section of a ufw
// user rules file, or at its end. The file the package installs, before
// ufw ever wrote it, has no END RULES line and no rule of the user: the
// block then goes just after "### RULES ###" (ufw rewrites the file in its
// own layout, tuples included, the next time it changes a rule).
func ufwInsert(data []byte, block string, top bool) ([]byte, error) {
	s := string(data)
	if strings.Contains(s, block) {
		return data, nil
	}
	const begin, end = "### RULES ###\n", "### END RULES ###"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i < 0:
		return nil, fmt.Errorf("it has no ### RULES ### line")
	case j < 0 && strings.Contains(s, "### tuple ###"):
		return nil, fmt.Errorf("it has rules but no ### END RULES ### line")
	case j < 0:
		top = true
	case j < i:
		return nil, fmt.Errorf("its ### END RULES ### comes before ### RULES ###")
	}
	at := j
	if top {
		at = i + len(begin)
		if strings.HasPrefix(s[at:], "\n") {
			at++
		}
	}
	return []byte(s[:at] + block + s[at:]), nil
}

// firewalldOffline adds the rule to the zone's file in the tree, copying
// the zone from /usr/lib/firewalld when /etc has none.
func (fp *fwPlanner) firewalldOffline(g *fwGroup) {
	zone := strings.TrimPrefix(g.chain.Name, "filter_IN_")
	if zone == g.chain.Name || !nftIdent.MatchString(zone) {
		fp.manual("allow SSH in firewalld's zone for this connection", "sshdoctor could not tell which zone stops it")
		return
	}
	file := "/etc/firewalld/zones/" + zone + ".xml"
	f := fp.file(file, "firewalld", "/etc/firewalld")
	if f.orig == nil && f.failed == "" && f.base == "" {
		base := "/usr/lib/firewalld/zones/" + zone + ".xml"
		data, err := os.ReadFile(fp.sc.Conf.host(base))
		if err != nil {
			f.editErr = fmt.Sprintf("zone %s has no file in /etc/firewalld/zones or /usr/lib/firewalld/zones", zone)
			return
		}
		f.text, f.base = data, base
	}
	for _, p := range g.ports {
		var el string
		switch {
		case g.src.IsValid():
			fam := "ipv4"
			if !g.src.Unmap().Is4() {
				fam = "ipv6"
			}
			el = fmt.Sprintf("  <rule family=\"%s\">\n    <source address=\"%s\"/>\n    <port protocol=\"tcp\" port=\"%d\"/>\n    <accept/>\n  </rule>\n", fam, g.src.Unmap(), p)
		case p == 22:
			el = "  <service name=\"ssh\"/>\n"
		default:
			el = fmt.Sprintf("  <port protocol=\"tcp\" port=\"%d\"/>\n", p)
		}
		s := string(f.text)
		if strings.Contains(s, el) {
			continue
		}
		i := strings.LastIndex(s, "</zone>")
		if i < 0 {
			f.editErr = "it has no </zone>"
			return
		}
		at, _ := lineStartOf(f.text, i)
		if at < 0 {
			at = -at
			el = "\n" + el
		}
		f.text = []byte(s[:at] + el + s[at:])
	}
	f.blocks = append(f.blocks, g.blocks...)
}
