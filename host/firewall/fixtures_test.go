package firewall

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

// fixtureRunner answers the gathering commands with the outputs that
// testdata/gen-fixtures.sh saved for one ruleset (NAME.nft.json,
// NAME.iptables-nft.save...). A tool whose output was empty answers with
// nothing, as the real one does.
func fixtureRunner(t testing.TB, name string) FixtureRunner {
	t.Helper()
	files := map[string]string{
		"nft -j list ruleset":   ".nft.json",
		"iptables-nft-save":     ".iptables-nft.save",
		"ip6tables-nft-save":    ".ip6tables-nft.save",
		"iptables-legacy-save":  ".iptables-legacy.save",
		"ip6tables-legacy-save": ".ip6tables-legacy.save",
		"ipset save":            ".ipset.save",
		"ufw status verbose":    ".ufw-status.txt",
		// Captured from a real firewalld by TestFirewalldLab.
		"firewall-cmd --get-default-zone":       ".firewalld-default-zone.txt",
		"firewall-cmd --get-active-zones":       ".firewalld-active-zones.txt",
		"firewall-cmd --zone=public --list-all": ".firewalld-public.txt",
	}
	r := FixtureRunner{}
	found := false
	for cmd, suffix := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name+suffix))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		found = found || err == nil
		r[cmd] = FixtureOutput{Stdout: string(data)}
		// The kernel lists the legacy tables it holds; Gather reads legacy
		// rules only when there are some.
		if err == nil && strings.HasSuffix(cmd, "-legacy-save") {
			names := "/proc/net/ip_tables_names"
			if strings.HasPrefix(cmd, "ip6") {
				names = "/proc/net/ip6_tables_names"
			}
			r["cat "+names] = FixtureOutput{Stdout: "filter\n"}
		}
	}
	if !found {
		t.Fatalf("no fixture named %s in testdata", name)
	}
	if r["firewall-cmd --get-default-zone"].Stdout != "" {
		r["firewall-cmd --state"] = FixtureOutput{Stdout: "running\n"}
	} else {
		for k := range r {
			if strings.HasPrefix(k, "firewall-cmd") {
				delete(r, k) // not installed
			}
		}
	}
	return r
}

// gatherFixture reads a fixture the way sshdoctor reads a live system.
func gatherFixture(t testing.TB, name string) *Facts {
	t.Helper()
	f := gatherLive(context.Background(), fixtureRunner(t, name))
	if bad := f.Unreadable(); len(bad) > 0 {
		t.Fatalf("fixture %s: %+v", name, bad)
	}
	return f
}

// decisionFor returns the overall decision for src (which must be set in p).
func decisionFor(t testing.TB, rss []*Ruleset, p Packet) (Decision, *Evaluation) {
	t.Helper()
	ev := Evaluate(rss, p)
	for _, d := range ev.Overall {
		if d.Sources.Contains(p.Src) {
			return d, ev
		}
	}
	t.Fatalf("no overall decision for %s:\n%s", p.Src, ev)
	return Decision{}, nil
}

// chainDecision returns chain i's decision for src.
func chainDecision(t testing.TB, ev *Evaluation, i int, src netip.Addr) Decision {
	t.Helper()
	for _, d := range ev.Chains[i].Decisions {
		if d.Sources.Contains(src) {
			return d
		}
	}
	t.Fatalf("chain %d has no decision for %s:\n%s", i, src, ev)
	return Decision{}
}

func ap(s string) netip.Addr { return netip.MustParseAddr(s) }

// live is a live host.System whose commands r answers.
func live(r host.Runner) host.System { return host.System{Root: "/", Live: true, Run: r} }
