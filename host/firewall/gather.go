package firewall

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// Facts is what sshdoctor learned about the firewall of a machine.
type Facts struct {
	// Persisted is true when the rules were read from files of an offline
	// tree (--root): the rules the machine loads at boot, not necessarily
	// the ones running now. False for the live kernel.
	Persisted bool
	// Rulesets are the views the evaluator follows, without double
	// counting (see the package documentation): nftables, then iptables
	// and ip6tables, nf_tables variant before legacy. Empty when nothing
	// could be read.
	Rulesets []*Ruleset
	// IPSets are the ipsets by name; nil when ipset is not installed or
	// has none.
	IPSets map[string]*Set
	// UFW is nil when ufw is not installed or not in use.
	UFW *UFW
	// Firewalld is nil when firewalld is not installed or not running.
	Firewalld *Firewalld
	// Sources lists every source of rules tried, in order, with what came
	// of it.
	Sources []Source
}

// Source is one source of rules: a command or a file.
type Source struct {
	// What is the command line or the file path.
	What string
	// Backend is the backend it describes (BackendNFT...).
	Backend string
	// Err is why it could not be read; empty when it was read. A source
	// that is simply not installed is not listed.
	Err string
	// Note says something worth knowing about it ("tables filter, raw
	// are evaluated from iptables-save"). Empty when nothing.
	Note string
	// Covered is true when the source failed but another one shows the
	// same rules: iptables-nft-save fails on native nft tables it cannot
	// parse, while nft lists every nf_tables table (iptables-nft's own
	// matches only as stubs, which make the verdict uncertain where they
	// matter). Such a source is not Unreadable.
	Covered bool
}

// Unreadable returns the sources that failed, for example because
// sshdoctor does not run as root.
func (f *Facts) Unreadable() []Source {
	var out []Source
	for _, s := range f.Sources {
		if s.Err != "" && !s.Covered {
			out = append(out, s)
		}
	}
	return out
}

// Gather reads the firewall of sys: the running one through sys's
// commands when sys is live, the rules saved in the tree otherwise (see
// gatherOffline).
func Gather(ctx context.Context, sys host.System) *Facts {
	if !sys.Live || sys.Run == nil {
		return gatherOffline(ctx, sys)
	}
	return gatherLive(ctx, sys.Run)
}

// gatherLive reads the running firewall through r: `nft -j list ruleset`,
// iptables-nft-save and iptables-legacy-save (and their ip6tables twins, or
// plain iptables-save where the variant tools are missing), `ipset save`,
// `ufw status verbose` when ufw's chains are present, and firewalld's view
// when firewall-cmd says it is running. A backend that is not installed is
// skipped; one that fails is listed in Sources with its error.
func gatherLive(ctx context.Context, r host.Runner) *Facts {
	f := &Facts{}
	var nftRS *Ruleset
	if out, err := r.Run(ctx, "nft", "-j", "list", "ruleset"); err == nil {
		rs, perr := ParseNFTJSON(out)
		if perr != nil {
			f.Sources = append(f.Sources, Source{What: "nft -j list ruleset", Backend: BackendNFT, Err: perr.Error()})
		} else {
			rs.Source = "nft -j list ruleset"
			nftRS = rs
			src := Source{What: rs.Source, Backend: BackendNFT}
			if needsBytecode(rs) {
				code, err := r.Run(ctx, "nft", "--debug=netlink", "list", "ruleset")
				if err != nil {
					applyHiddenFamilies(rs, nil)
					src.Note = "its bytecode could not be read: " + err.Error()
				} else {
					applyHiddenFamilies(rs, parseNFTBytecode(code))
				}
			}
			f.Sources = append(f.Sources, src)
		}
	} else if !errors.Is(err, host.ErrNotFound) {
		f.Sources = append(f.Sources, Source{What: "nft -j list ruleset", Backend: BackendNFT, Err: err.Error()})
	}

	if out, err := r.Run(ctx, "ipset", "save"); err == nil {
		sets, perr := ParseIPSetSave(out)
		if perr != nil {
			f.Sources = append(f.Sources, Source{What: "ipset save", Err: perr.Error()})
		} else {
			f.IPSets = sets
		}
	} else if !errors.Is(err, host.ErrNotFound) {
		f.Sources = append(f.Sources, Source{What: "ipset save", Err: err.Error()})
	}

	var ipt []*Ruleset
	for _, fam := range []int{4, 6} {
		prefix := "iptables"
		if fam == 6 {
			prefix = "ip6tables"
		}
		found := false
		for _, cmd := range []string{prefix + "-nft-save", prefix + "-legacy-save"} {
			if strings.HasSuffix(cmd, "-legacy-save") && !legacyTables(ctx, r, fam) {
				continue
			}
			out, err := r.Run(ctx, cmd)
			if errors.Is(err, host.ErrNotFound) {
				continue
			}
			found = true
			if rs := f.readIPT(cmd, out, err, fam); rs != nil {
				if strings.Contains(cmd, "legacy") {
					rs.Variant = "legacy"
				} else {
					rs.Variant = "nf_tables"
				}
				ipt = append(ipt, rs)
			}
		}
		if !found {
			cmd := prefix + "-save"
			out, err := r.Run(ctx, cmd)
			if !errors.Is(err, host.ErrNotFound) {
				if rs := f.readIPT(cmd, out, err, fam); rs != nil {
					ipt = append(ipt, rs)
				}
			}
		}
	}
	if nftRS != nil {
		for i, s := range f.Sources {
			if s.Err != "" && strings.Contains(s.What, "tables-nft-save") {
				f.Sources[i].Covered = true
				f.Sources[i].Note = "its tables are evaluated from nft's view instead"
			}
		}
	}
	f.Rulesets = combine(nftRS, ipt, f)
	f.UFW = gatherUFWLive(ctx, r, f)
	f.Firewalld = gatherFirewalldLive(ctx, r, f)
	return f
}

// legacyTables reports whether the kernel holds legacy (x_tables) tables
// for the family. Reading with iptables-legacy-save would otherwise load
// the modules and create empty tables: a diagnosis must not change the
// machine, even that way. /proc/net follows the namespace the command runs
// in, so it is read through the runner.
func legacyTables(ctx context.Context, r host.Runner, fam int) bool {
	name := "/proc/net/ip_tables_names"
	if fam == 6 {
		name = "/proc/net/ip6_tables_names"
	}
	out, err := r.Run(ctx, "cat", name)
	return err == nil && strings.TrimSpace(string(out)) != ""
}

func (f *Facts) readIPT(cmd string, out []byte, err error, fam int) *Ruleset {
	backend := BackendIPTables
	if fam == 6 {
		backend = BackendIP6Tables
	}
	if err != nil {
		f.Sources = append(f.Sources, Source{What: cmd, Backend: backend, Err: err.Error()})
		return nil
	}
	rs, perr := ParseIPTablesSave(out, fam, f.IPSets)
	if perr != nil {
		f.Sources = append(f.Sources, Source{What: cmd, Backend: backend, Err: perr.Error()})
		return nil
	}
	rs.Source = cmd
	f.Sources = append(f.Sources, Source{What: cmd, Backend: backend})
	if len(rs.Tables) == 0 {
		return nil
	}
	return rs
}

// combine returns the rulesets to evaluate without counting a rule twice.
//
// iptables-nft keeps its rules in nf_tables tables (ip filter, ip6 raw...)
// that `nft -j` lists too, but only as "xt" stubs without their options,
// which the evaluator cannot follow. iptables-nft-save prints them in full.
// So the iptables view is authoritative for every table iptables-nft-save
// prints, and those tables are removed from the nft view. A table that
// iptables-nft-save calls incompatible (native nft rules in a table named
// like an iptables one) is the other way round: iptables-nft-save prints a
// placeholder for it, which is dropped, and the nft view keeps it. Legacy
// iptables lives outside nf_tables and never shows in nft.
func combine(nftRS *Ruleset, ipt []*Ruleset, f *Facts) []*Ruleset {
	var out []*Ruleset
	if nftRS != nil {
		out = append(out, nftRS)
	}
	for _, rs := range ipt {
		if len(rs.Incompatible) > 0 {
			var keep []*Table
			for _, t := range rs.Tables {
				if !containsName(rs.Incompatible, t.Name) {
					keep = append(keep, t)
				}
			}
			rs.Tables = keep
			f.note(rs.Source, fmt.Sprintf("tables %s hold native nft rules; they are evaluated from nft's view",
				strings.Join(rs.Incompatible, ", ")))
		}
		if rs.Variant == "nf_tables" && nftRS != nil {
			fam := "ip"
			if rs.Backend == BackendIP6Tables {
				fam = "ip6"
			}
			var moved []string
			for _, t := range rs.Tables {
				for i, nt := range nftRS.Tables {
					if nt.Family == fam && nt.Name == t.Name {
						nftRS.Tables = append(nftRS.Tables[:i:i], nftRS.Tables[i+1:]...)
						moved = append(moved, fam+" "+t.Name)
						break
					}
				}
			}
			if len(moved) > 0 {
				sort.Strings(moved)
				f.note("nft -j list ruleset", fmt.Sprintf("tables %s belong to iptables-nft; they are evaluated from %s",
					strings.Join(moved, ", "), rs.Source))
			}
		}
		if len(rs.Tables) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func (f *Facts) note(what, note string) {
	for i := range f.Sources {
		if f.Sources[i].What == what {
			if f.Sources[i].Note != "" {
				f.Sources[i].Note += "; "
			}
			f.Sources[i].Note += note
			return
		}
	}
}

// hasChainPrefix reports whether any ruleset has a chain whose name starts
// with one of the prefixes.
func hasChainPrefix(rss []*Ruleset, prefixes ...string) bool {
	for _, rs := range rss {
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, p := range prefixes {
					if strings.HasPrefix(c.Name, p) {
						return true
					}
				}
			}
		}
	}
	return false
}
