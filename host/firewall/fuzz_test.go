package firewall

import (
	"os"
	"path/filepath"
	"testing"
)

// checkPartition asserts the evaluator's central invariant: the overall
// decisions, and each chain's, cover every source address exactly once.
func checkPartition(t *testing.T, rss []*Ruleset, fam int) {
	t.Helper()
	ev := Evaluate(rss, Packet{Family: fam, DPort: 22})
	check := func(what string, ds []Decision) {
		var all AddrSet
		for _, d := range ds {
			if !all.Intersect(d.Sources).IsEmpty() {
				t.Fatalf("%s: decisions overlap:\n%s", what, ev)
			}
			all = all.Union(d.Sources)
			if d.Rule == nil && d.Chain == nil && d.Verdict != VerdictAccept && d.Verdict != VerdictUncertain {
				t.Fatalf("%s: %s has neither rule nor chain", what, d)
			}
		}
		if !all.Equal(AllAddrs(fam)) {
			t.Fatalf("%s: decisions cover %s, not every address:\n%s", what, all, ev)
		}
	}
	check("overall", ev.Overall)
	for _, c := range ev.Chains {
		check("chain "+c.Chain.Name, c.Decisions)
	}
}

func addSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("testdata", p))
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func FuzzParseNFTJSON(f *testing.F) {
	addSeeds(f, "*.nft.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseNFTJSON(data)
		if err != nil {
			return
		}
		checkPartition(t, []*Ruleset{rs}, 4)
		checkPartition(t, []*Ruleset{rs}, 6)
	})
}

func FuzzParseIPTablesSave(f *testing.F) {
	addSeeds(f, "*.save", "*.rules")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fam := range []int{4, 6} {
			rs, err := ParseIPTablesSave(data, fam, nil)
			if err != nil {
				continue
			}
			checkPartition(t, []*Ruleset{rs}, fam)
		}
	})
}

func FuzzParseIPSetSave(f *testing.F) {
	addSeeds(f, "*.ipset.save")
	f.Fuzz(func(t *testing.T, data []byte) {
		sets, err := ParseIPSetSave(data)
		if err != nil {
			return
		}
		for _, s := range sets {
			for _, e := range s.Elems {
				_ = e.Val.Addrs.Prefixes()
			}
		}
	})
}
