package firewall

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The property: for random rulesets loaded into a real kernel, the
// evaluator's verdict for a SYN equals what a real SYN from a client
// namespace gets. The rulesets are read back the way sshdoctor reads a
// live system (GatherLive in the server namespace), so parsing and the
// nft/iptables de-duplication are under test too.
//
// SSHDOCTOR_FW_SEED=N replays a run; SSHDOCTOR_FW_CASES=N sets the number
// of rulesets (default 300, 60 with -short); SSHDOCTOR_FW_CASE=N runs only
// case N of the seed's run.

var labPorts = []uint16{22, 2222, 8022} // listened on; port 9 is not

type propCase struct {
	idx    int
	kind   string
	nft    string
	ipt    []iptCase
	legacy bool
}

func (c *propCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %d (%s):\n", c.idx, c.kind)
	if c.nft != "" {
		fmt.Fprintf(&b, "--- nft -f:\n%s", c.nft)
	}
	for _, ic := range c.ipt {
		tool := "iptables"
		if ic.fam == 6 {
			tool = "ip6tables"
		}
		if c.legacy {
			tool += "-legacy-restore"
		} else {
			tool += "-nft-restore"
		}
		if ic.sets != "" {
			fmt.Fprintf(&b, "--- ipset restore:\n%s", ic.sets)
		}
		fmt.Fprintf(&b, "--- %s:\n%s", tool, ic.rules)
	}
	return b.String()
}

func genCase(seed int64, idx int) *propCase {
	r := rand.New(rand.NewSource(seed + int64(idx)))
	c := &propCase{idx: idx}
	switch k := r.Intn(10); {
	case k < 4:
		c.kind = "nft"
		c.nft = genNFT(r)
	case k < 6:
		c.kind = "iptables-nft"
		c.ipt = append(c.ipt, genIPT(r, 4))
		if r.Intn(2) == 0 {
			c.ipt = append(c.ipt, genIPT(r, 6))
		}
	case k < 8:
		c.kind = "iptables-legacy"
		c.legacy = true
		c.ipt = append(c.ipt, genIPT(r, 4))
		if r.Intn(2) == 0 {
			c.ipt = append(c.ipt, genIPT(r, 6))
		}
	default:
		c.kind = "nft+iptables"
		c.nft = genNFT(r)
		c.ipt = append(c.ipt, genIPT(r, 4+2*r.Intn(2)))
		c.legacy = r.Intn(3) == 0
	}
	return c
}

const emptyLegacy = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
`

// load puts the case's rules into the server namespace, after clearing
// what the previous case left.
func (c *propCase) load(p *labPair, legacyDirty *bool) error {
	if out, err := nsRun(p.srv, "", "nft", "flush", "ruleset"); err != nil {
		return fmt.Errorf("nft flush ruleset: %v: %s", err, out)
	}
	if *legacyDirty {
		for _, tool := range []string{"iptables-legacy-restore", "ip6tables-legacy-restore"} {
			if out, err := nsRun(p.srv, emptyLegacy, tool); err != nil {
				return fmt.Errorf("%s: %v: %s", tool, err, out)
			}
		}
		*legacyDirty = false
	}
	if out, err := nsRun(p.srv, "", "ipset", "destroy"); err != nil {
		return fmt.Errorf("ipset destroy: %v: %s", err, out)
	}
	if c.nft != "" {
		if out, err := nsRun(p.srv, c.nft, "nft", "-f", "-"); err != nil {
			return fmt.Errorf("nft -f: %v: %s", err, out)
		}
	}
	for _, ic := range c.ipt {
		if ic.sets != "" {
			if out, err := nsRun(p.srv, ic.sets, "ipset", "-exist", "restore"); err != nil {
				return fmt.Errorf("ipset restore: %v: %s", err, out)
			}
		}
		tool := "iptables"
		if ic.fam == 6 {
			tool = "ip6tables"
		}
		if c.legacy {
			tool += "-legacy-restore"
			*legacyDirty = true
		} else {
			tool += "-nft-restore"
		}
		if out, err := nsRun(p.srv, ic.rules, tool); err != nil {
			return fmt.Errorf("%s: %v: %s", tool, err, out)
		}
	}
	return nil
}

type propProbe struct {
	fam       int
	link      labLink
	src, dst  netip.Addr
	port      uint16
	listening bool
}

func pickProbes(r *rand.Rand, n int) []propProbe {
	var out []propProbe
	for i := 0; i < n; i++ {
		l := labLinks[r.Intn(len(labLinks))]
		pr := propProbe{fam: 4, link: l}
		if r.Intn(5) < 2 {
			pr.fam = 6
			pr.src, pr.dst = l.cli6[r.Intn(len(l.cli6))], l.srv6
		} else {
			pr.src, pr.dst = l.cli4[r.Intn(len(l.cli4))], l.srv4
		}
		ports := append(append([]uint16{}, labPorts...), 9)
		pr.port = ports[r.Intn(len(ports))]
		pr.listening = pr.port != 9
		out = append(out, pr)
	}
	return out
}

// expect says what the client should see for decision d.
func expect(d Decision, pr propProbe) string {
	switch d.Verdict {
	case VerdictAccept:
		if pr.listening {
			return "accept"
		}
		return "reset" // the closed port answers
	case VerdictDrop:
		return "drop"
	}
	if d.RejectWith == "tcp reset" {
		return "reset"
	}
	typ, code, _ := d.ClientSees(pr.fam)
	if pr.fam == 6 {
		return fmt.Sprintf("icmp6:%d/%d", typ, code)
	}
	return fmt.Sprintf("icmp:%d/%d", typ, code)
}

type propStats struct {
	mu                               sync.Mutex
	cases, loadFail, probes, unknown int
	fixed                            int
	failures                         int
	loadErrs                         []string
}

func TestEvaluatorMatchesKernel(t *testing.T) {
	requireLab(t, "nft", "ipset", "iptables-nft-restore", "ip6tables-nft-restore",
		"iptables-legacy-restore", "ip6tables-legacy-restore", "iptables-nft-save", "iptables-legacy-save")
	seed := time.Now().UnixNano()
	if s := os.Getenv("SSHDOCTOR_FW_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SSHDOCTOR_FW_SEED: %v", err)
		}
		seed = v
	}
	n := 300
	if testing.Short() {
		n = 60
	}
	if s := os.Getenv("SSHDOCTOR_FW_CASES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SSHDOCTOR_FW_CASES: %v", err)
		}
		n = v
	}
	t.Logf("seed %d, %d cases (replay with SSHDOCTOR_FW_SEED=%d)", seed, n, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with SSHDOCTOR_FW_SEED=%d SSHDOCTOR_FW_CASES=%d", seed, n)
		}
	})

	const workers = 4
	jobs := make(chan int)
	st := &propStats{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		p := newLabPair(t)
		listen(t, p.srv, labPorts...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirty := false
			for idx := range jobs {
				runPropCase(t, p, &dirty, genCase(seed, idx), seed, st)
			}
		}()
	}
	first := 0
	if s := os.Getenv("SSHDOCTOR_FW_CASE"); s != "" {
		// Replay one case of the run.
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SSHDOCTOR_FW_CASE: %v", err)
		}
		first, n = v, v+1
	}
	for i := first; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	t.Logf("%d rulesets (%d did not load), %d probes compared with the kernel, %d uncertain; %d blocked connections let through by applying Report.Allow",
		st.cases, st.loadFail, st.probes, st.unknown, st.fixed)
	for _, e := range st.loadErrs {
		t.Logf("load error: %s", e)
	}
	if st.loadFail*10 > st.cases {
		t.Errorf("%d of %d generated rulesets did not load: the generator is broken", st.loadFail, st.cases)
	}
	if total := st.probes + st.unknown; st.unknown*20 > total {
		t.Errorf("%d of %d probes were uncertain: the evaluator gives up too often on supported features", st.unknown, total)
	}
}

type propResult struct {
	pr  propProbe
	ev  *Evaluation
	d   Decision
	exp string
	got string
	err error
}

func (r propResult) outcome() probeOutcome { return probeOutcome{r.pr, r.d, r.ev} }

func runPropCase(t *testing.T, p *labPair, dirty *bool, c *propCase, seed int64, st *propStats) {
	if err := c.load(p, dirty); err != nil {
		st.mu.Lock()
		st.cases++
		st.loadFail++
		if len(st.loadErrs) < 5 {
			st.loadErrs = append(st.loadErrs, fmt.Sprintf("%v\n%s", err, c))
		}
		st.mu.Unlock()
		return
	}
	ctx := context.Background()
	facts := gatherLive(ctx, newNSRunner(p.srv, "ufw", "firewall-cmd"))
	if bad := facts.Unreadable(); len(bad) > 0 {
		t.Errorf("seed %d %s: could not read back: %+v", seed, c, bad)
		return
	}
	r := rand.New(rand.NewSource(seed ^ int64(c.idx)<<20))
	probes := pickProbes(r, 8)
	results := make([]propResult, len(probes))
	var wg sync.WaitGroup
	for i, pr := range probes {
		ev := Evaluate(facts.Rulesets, Packet{Family: pr.fam, Src: pr.src, Dst: pr.dst, DPort: pr.port, Iif: pr.link.srvIf})
		res := propResult{pr: pr, ev: ev}
		for _, d := range ev.Overall {
			if d.Sources.Contains(pr.src) {
				res.d = d
			}
		}
		results[i] = res
		if res.d.Verdict == VerdictUncertain || res.d.Verdict == "" {
			continue
		}
		results[i].exp = expect(res.d, pr)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res := &results[i]
			res.got, res.err = probe(p.cli, res.pr.src, res.pr.dst, res.pr.port, 250*time.Millisecond)
			if res.err == nil && res.got == "drop" && res.exp != "drop" {
				// A busy machine may answer late: ask again, patiently.
				res.got, res.err = probe(p.cli, res.pr.src, res.pr.dst, res.pr.port, 1500*time.Millisecond)
			}
		}(i)
	}
	wg.Wait()

	fixed := verifyAllow(t, p, c, seed, facts, results2probes(results))

	st.mu.Lock()
	defer st.mu.Unlock()
	st.cases++
	st.fixed += fixed
	for _, res := range results {
		if res.exp == "" {
			st.unknown++
			continue
		}
		st.probes++
		if res.err != nil {
			t.Errorf("seed %d case %d: probe %s -> %s:%d (expecting %s): %v\n%s\n%s", seed, c.idx, res.pr.src, res.pr.dst, res.pr.port,
				res.exp, res.err, c, res.ev)
			continue
		}
		if res.got != res.exp {
			st.failures++
			if st.failures <= 5 {
				t.Errorf("seed %d: the kernel says %s, the evaluator %s (%s)\nprobe: %s -> %s port %d on %s\n%s\nevaluation:\n%s",
					seed, res.got, res.exp, res.d, res.pr.src, res.pr.dst, res.pr.port, res.pr.link.srvIf, c, res.ev)
			} else if st.failures == 6 {
				t.Errorf("more mismatches not shown")
			}
		}
	}
}

type probeOutcome struct {
	pr propProbe
	d  Decision
	ev *Evaluation
}

func results2probes[T interface{ outcome() probeOutcome }](rs []T) []probeOutcome {
	out := make([]probeOutcome, len(rs))
	for i, r := range rs {
		out[i] = r.outcome()
	}
	return out
}

// verifyAllow applies, for the first blocked probe, the accept rules
// Report.Allow gives for every chain that blocks it (never the Persist
// commands, which write files), then checks that the kernel and the
// evaluator both let it through. It returns 1 when it did so.
func verifyAllow(t *testing.T, p *labPair, c *propCase, seed int64, facts *Facts, outs []probeOutcome) int {
	for _, o := range outs {
		if !o.d.Blocks() {
			continue
		}
		rep := &Report{Facts: facts, Evaluations: []*Evaluation{o.ev}}
		var applied []string
		for _, res := range o.ev.Chains {
			for _, d := range res.Decisions {
				if !d.Sources.Contains(o.pr.src) || d.Verdict == VerdictAccept {
					continue
				}
				if d.Verdict == VerdictUncertain {
					return 0
				}
				for _, cmd := range rep.Allow(o.ev, res, d).Commands {
					f := strings.Fields(cmd)
					if out, err := nsRun(p.srv, "", f[0], f[1:]...); err != nil {
						t.Errorf("seed %d %s: fix %q: %v: %s", seed, c, cmd, err, out)
						return 0
					}
					applied = append(applied, cmd)
				}
			}
		}
		want := "accept"
		if !o.pr.listening {
			want = "reset"
		}
		got, err := probe(p.cli, o.pr.src, o.pr.dst, o.pr.port, 1500*time.Millisecond)
		after := gatherLive(context.Background(), newNSRunner(p.srv, "ufw", "firewall-cmd"))
		ev := Evaluate(after.Rulesets, o.ev.Packet)
		if err != nil || got != want || len(ev.Overall) != 1 || ev.Overall[0].Verdict != VerdictAccept {
			t.Errorf("seed %d: after the fix %q the kernel says %s (%v), the evaluator:\n%s\nbefore:\n%s\n%s",
				seed, applied, got, err, ev, o.ev, c)
			return 0
		}
		return 1
	}
	return 0
}
