package firewall

import (
	"fmt"
	"strings"
)

// fork records a not-understood match a state assumed matched or not.
type fork struct {
	rule    *Rule
	matched bool
	what    string
}

// state is the packet as it goes through the chains: the source addresses
// still following this path, and what was assumed on the way.
type state struct {
	src       AddrSet
	untracked bool
	forks     []fork
	assumed   []Assumption
}

func (s state) with(src AddrSet) state { s.src = src; return s }

func (s state) key() string {
	var b strings.Builder
	if s.untracked {
		b.WriteString("u")
	}
	for _, f := range s.forks {
		fmt.Fprintf(&b, "|%p%v", f.rule, f.matched)
	}
	for _, a := range s.assumed {
		fmt.Fprintf(&b, "/%p", a.Rule)
	}
	return b.String()
}

// outcome is where one state ended in a chain.
type outcome struct {
	st      state
	verdict Verdict // accept, drop, reject, return, uncertain
	rule    *Rule   // deciding rule; nil at the end of a chain
	chain   *Chain
	path    []string
	why     string    // uncertain: what was not understood
	exit    *Position // set when the base chain's policy decided
}

// evaluator follows the packet through one base chain and what it jumps to.
type evaluator struct {
	pkt     Packet
	ct      ctState
	steps   int
	srcDeps map[*Rule]bool
	srcList []*Rule
}

func mergeStates(in []state) []state {
	idx := map[string]int{}
	var out []state
	for _, s := range in {
		if s.src.IsEmpty() {
			continue
		}
		k := s.key()
		if i, ok := idx[k]; ok {
			out[i].src = out[i].src.Union(s.src)
			continue
		}
		idx[k] = len(out)
		out = append(out, s)
	}
	return out
}

// runChain runs states through chain c. Outcomes with VerdictReturn are the
// states that fell off the end or met a return.
func (e *evaluator) runChain(c *Chain, in []state, path []string, depth int) []outcome {
	var outs []outcome
	giveUp := func(why string) []outcome {
		for _, s := range in {
			outs = append(outs, outcome{st: s, verdict: Verdict{Kind: VerdictUncertain}, chain: c, path: path, why: why})
		}
		return outs
	}
	if containsName(path, c.Name) {
		// The kernel refuses loops; only a saved file can have one.
		return giveUp("chain " + c.Name + " jumps back into itself")
	}
	path = append(path[:len(path):len(path)], c.Name)
	if depth > maxDepth {
		return giveUp("jumps nest deeper than " + fmt.Sprint(maxDepth))
	}
	cur := mergeStates(in)
	for _, r := range c.Rules {
		if len(cur) == 0 {
			break
		}
		var next []state
		for _, s := range cur {
			e.steps++
			if e.steps > maxSteps {
				outs = append(outs, outcome{st: s, verdict: Verdict{Kind: VerdictUncertain}, rule: r, chain: c, path: path,
					why: "the ruleset is too large to follow"})
				continue
			}
			pass, o := e.runRule(r, s, path, depth)
			next = append(next, pass...)
			outs = append(outs, o...)
		}
		cur = mergeStates(next)
	}
	for _, s := range cur {
		outs = append(outs, outcome{st: s, verdict: Verdict{Kind: VerdictReturn}, chain: c, path: path})
	}
	return outs
}

// item is a state at an expression of the rule being run.
type item struct {
	st  state
	idx int
}

// runRule runs one state through rule r. It returns the states that go on
// to the next rule and the outcomes that end here (verdicts and returns).
func (e *evaluator) runRule(r *Rule, s state, path []string, depth int) (pass []state, outs []outcome) {
	if !hasEffect(r) {
		return []state{s}, nil
	}
	work := []item{{s, 0}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		st := it.st
		if st.src.IsEmpty() {
			continue
		}
		if it.idx == len(r.Exprs) {
			pass = append(pass, st)
			continue
		}
		end := func(v Verdict, why string) {
			outs = append(outs, outcome{st: st, verdict: v, rule: r, chain: r.Chain, path: path, why: why})
		}
		switch x := r.Exprs[it.idx].(type) {
		case *Never:
			pass = append(pass, st)
		case *portsEither:
			if numsContain(x.nums, uint32(e.pkt.DPort)) {
				work = append(work, item{st, it.idx + 1})
				continue
			}
			yes, no, ok := e.fork(st, r, x.text+" (the client's source port is not known)")
			if !ok {
				end(Verdict{Kind: VerdictUncertain}, x.text)
				continue
			}
			pass = append(pass, no)
			work = append(work, item{yes, it.idx + 1})
		case *Assume:
			st.assumed = append(st.assumed[:len(st.assumed):len(st.assumed)], Assumption{Rule: r, Why: x.Why})
			if x.Result {
				work = append(work, item{st, it.idx + 1})
			} else {
				pass = append(pass, st)
			}
		case *Unknown:
			yes, no, ok := e.fork(st, r, x.Text)
			if !ok {
				end(Verdict{Kind: VerdictUncertain}, x.Text)
				continue
			}
			pass = append(pass, no)
			work = append(work, item{yes, it.idx + 1})
		case *Match:
			yes, no, unknown, why := e.match(x, st.src, st.untracked)
			if unknown {
				y, n, ok := e.fork(st, r, why)
				if !ok {
					end(Verdict{Kind: VerdictUncertain}, why)
					continue
				}
				pass = append(pass, n)
				work = append(work, item{y, it.idx + 1})
				continue
			}
			if !yes.IsEmpty() && !no.IsEmpty() && x.Field == FieldSaddr {
				e.noteSource(r)
			}
			if !no.IsEmpty() {
				pass = append(pass, st.with(no))
			}
			if !yes.IsEmpty() {
				work = append(work, item{st.with(yes), it.idx + 1})
			}
		case *Stmt:
			switch {
			case x.Uncertain != "":
				end(Verdict{Kind: VerdictUncertain}, x.Uncertain)
			case x.NoTrack:
				if e.ct == ctNone {
					st.untracked = true
				}
				work = append(work, item{st, it.idx + 1})
			case x.Verdict != nil:
				p, o := e.verdict(r, *x.Verdict, st, path, depth)
				pass = append(pass, p...)
				outs = append(outs, o...)
			case x.Map != nil:
				p, o := e.vmap(r, x.Map, st, path, depth)
				pass = append(pass, p...)
				outs = append(outs, o...)
			default:
				work = append(work, item{st, it.idx + 1})
			}
		}
	}
	return pass, outs
}

// vmap looks the packet up in a verdict map. Sets never hold overlapping
// elements, so at most one element applies to each source address.
func (e *evaluator) vmap(r *Rule, vm *VMap, st state, path []string, depth int) (pass []state, outs []outcome) {
	rest := st
	for _, el := range vm.Elems {
		if rest.src.IsEmpty() {
			break
		}
		m := Match{Field: vm.Key.Field, Family: vm.Key.Family, Val: el.Val}
		yes, no, unknown, why := e.match(&m, rest.src, rest.untracked)
		if unknown {
			y, n, ok := e.fork(rest, r, why)
			if !ok {
				outs = append(outs, outcome{st: rest, verdict: Verdict{Kind: VerdictUncertain},
					rule: r, chain: r.Chain, path: path, why: why})
				return pass, outs
			}
			p, o := e.verdict(r, *el.Verdict, y, path, depth)
			pass = append(pass, p...)
			outs = append(outs, o...)
			rest = n
			continue
		}
		if !yes.IsEmpty() && !no.IsEmpty() && m.Field == FieldSaddr {
			e.noteSource(r)
		}
		if !yes.IsEmpty() {
			p, o := e.verdict(r, *el.Verdict, rest.with(yes), path, depth)
			pass = append(pass, p...)
			outs = append(outs, o...)
		}
		rest = rest.with(no)
	}
	if !rest.src.IsEmpty() {
		pass = append(pass, rest)
	}
	return pass, outs
}

// hasEffect reports whether a rule can change anything: rules with only
// counters and logs are skipped without looking at their matches.
func hasEffect(r *Rule) bool {
	for _, x := range r.Exprs {
		if st, ok := x.(*Stmt); ok && (st.Verdict != nil || st.Map != nil || st.NoTrack || st.Uncertain != "") {
			return true
		}
	}
	return false
}

func (e *evaluator) noteSource(r *Rule) {
	if e.srcDeps[r] || r.Managed != nil {
		return
	}
	e.srcDeps[r] = true
	if len(e.srcList) < 32 {
		e.srcList = append(e.srcList, r)
	}
}

// fork splits a state on a match the evaluator cannot decide: one copy
// assumes it matched, the other that it did not. ok is false when the
// state has forked too often already.
func (e *evaluator) fork(s state, r *Rule, what string) (yes, no state, ok bool) {
	if len(s.forks) >= maxForks {
		return s, s, false
	}
	fs := s.forks[:len(s.forks):len(s.forks)]
	yes, no = s, s
	yes.forks = append(fs, fork{r, true, what})
	no.forks = append(fs, fork{r, false, what})
	return yes, no, true
}

// verdict applies a verdict statement of rule r to s.
func (e *evaluator) verdict(r *Rule, v Verdict, s state, path []string, depth int) (pass []state, outs []outcome) {
	switch v.Kind {
	case VerdictContinue:
		return []state{s}, nil
	case VerdictJump, VerdictGoto:
		target := r.Chain.Table.chain(v.Target)
		if target == nil {
			return nil, []outcome{{st: s, verdict: Verdict{Kind: VerdictUncertain}, rule: r, chain: r.Chain, path: path,
				why: "jump to a chain that does not exist: " + v.Target}}
		}
		for _, o := range e.runChain(target, []state{s}, path, depth+1) {
			if o.verdict.Kind == VerdictReturn {
				if v.Kind == VerdictJump {
					pass = append(pass, o.st)
				} else {
					// A goto does not come back: the chain that did it
					// returns too. The outcome keeps where the packet left.
					outs = append(outs, o)
				}
				continue
			}
			outs = append(outs, o)
		}
		return pass, outs
	}
	return nil, []outcome{{st: s, verdict: v, rule: r, chain: r.Chain, path: path}}
}
