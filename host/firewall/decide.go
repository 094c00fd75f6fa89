package firewall

import (
	"fmt"
	"sort"
)

// overall adds to ev.Overall what the chains of one group (same hook, same
// priority) do to the addresses still alive, and returns those that get
// through. The kernel runs chains of equal priority in the reverse order
// of their registration, which no listing shows: where two of them would
// stop the packet in different ways, which one acts first is uncertain.
func overall(ev *Evaluation, group []*ChainResult, alive AddrSet) AddrSet {
	class := func(d Decision) string { return string(d.Verdict) + "|" + d.RejectWith }
	var conflict AddrSet
	for i, a := range group {
		for _, b := range group[i+1:] {
			for _, da := range a.Decisions {
				for _, db := range b.Decisions {
					if da.Verdict == VerdictAccept || db.Verdict == VerdictAccept || class(da) == class(db) {
						continue
					}
					conflict = conflict.Union(da.Sources.Intersect(db.Sources))
				}
			}
		}
	}
	if part := conflict.Intersect(alive); !part.IsEmpty() {
		d := Decision{Sources: part, Verdict: VerdictUncertain}
		seen := map[string]bool{}
		for _, r := range group {
			for _, x := range r.Decisions {
				if x.Verdict == VerdictAccept || x.Sources.Intersect(part).IsEmpty() {
					continue
				}
				if !seen[class(x)] {
					seen[class(x)] = true
					d.Possible = append(d.Possible, x.Verdict)
				}
				if d.Rule == nil {
					d.Rule, d.Chain = x.Rule, x.Chain
				}
				d.Unknown = append(d.Unknown, UnknownRule{Rule: x.Rule, What: fmt.Sprintf(
					"chain %s of table %s runs at the same priority (%d) as another chain that stops the packet differently; the kernel's order between them is not shown by any listing",
					r.Chain.Name, r.Chain.Table.ID(), r.Chain.Priority)})
			}
		}
		ev.Overall = append(ev.Overall, d)
		alive = alive.Minus(part)
	}
	for _, r := range group {
		for _, d := range r.Decisions {
			if d.Verdict == VerdictAccept {
				continue
			}
			part := d.Sources.Intersect(alive)
			if part.IsEmpty() {
				continue
			}
			dd := d
			dd.Sources = part
			ev.Overall = append(ev.Overall, dd)
			alive = alive.Minus(part)
		}
	}
	return alive
}

// decide turns the outcomes of a base chain into a partition of the source
// addresses. Where forks on not-understood matches lead to different
// verdicts for the same addresses, the decision there is uncertain.
func decide(outs []outcome) []Decision {
	class := func(o outcome) string {
		if o.verdict.Kind == VerdictReject {
			return "reject|" + o.verdict.RejectWith
		}
		return string(o.verdict.Kind)
	}
	regions := map[string]AddrSet{}
	var classes []string
	for _, o := range outs {
		c := class(o)
		if _, ok := regions[c]; !ok {
			classes = append(classes, c)
		}
		regions[c] = regions[c].Union(o.st.src)
	}
	// conflict: addresses that more than one verdict claims.
	var conflict AddrSet
	for i := range classes {
		for j := i + 1; j < len(classes); j++ {
			conflict = conflict.Union(regions[classes[i]].Intersect(regions[classes[j]]))
		}
	}
	conflict = conflict.Union(regions[string(VerdictUncertain)])

	// Where forks on not-understood matches reach the same verdict by
	// different rules, name the rule of the most ordinary path: the one
	// that assumed the fewest of those matches true.
	ordered := append([]outcome(nil), outs...)
	sort.SliceStable(ordered, func(i, j int) bool { return matchedForks(ordered[i]) < matchedForks(ordered[j]) })
	var ds []Decision
	done := AddrSet{}
	for _, o := range ordered {
		if o.verdict.Kind == VerdictUncertain {
			continue
		}
		part := o.st.src.Minus(conflict).Minus(done)
		if part.IsEmpty() {
			continue
		}
		done = done.Union(part)
		d := Decision{Sources: part, Verdict: o.verdict.Kind, RejectWith: o.verdict.RejectWith,
			Rule: o.rule, Chain: o.chain, Path: o.path, Assumed: o.st.assumed, Exit: o.exit}
		if o.rule != nil {
			d.Managed = o.rule.Managed
		}
		ds = appendDecision(ds, d)
	}
	if !conflict.IsEmpty() {
		// One uncertain decision per group of addresses with the same set of
		// possible outcomes, naming the rules not understood.
		for _, o := range outs {
			part := o.st.src.Intersect(conflict).Minus(done)
			if part.IsEmpty() {
				continue
			}
			d := Decision{Sources: part, Verdict: VerdictUncertain, Chain: o.chain, Path: o.path}
			seen := map[string]bool{}
			unk := map[*Rule]bool{}
			for _, p := range outs {
				if p.st.src.Intersect(part).IsEmpty() {
					continue
				}
				if p.verdict.Kind == VerdictUncertain {
					if !unk[p.rule] {
						unk[p.rule] = true
						d.Unknown = append(d.Unknown, UnknownRule{Rule: p.rule, What: p.why})
					}
					if d.Rule == nil {
						d.Rule = p.rule
					}
					continue
				}
				if !seen[class(p)] {
					seen[class(p)] = true
					d.Possible = append(d.Possible, p.verdict.Kind)
				}
				for _, f := range p.st.forks {
					if !unk[f.rule] {
						unk[f.rule] = true
						d.Unknown = append(d.Unknown, UnknownRule{Rule: f.rule, What: f.what})
					}
				}
			}
			if d.Rule == nil && len(d.Unknown) > 0 {
				d.Rule = d.Unknown[0].Rule
			}
			if d.Rule != nil {
				d.Chain = d.Rule.Chain
			}
			done = done.Union(part)
			ds = append(ds, d)
		}
	}
	return ds
}

func matchedForks(o outcome) int {
	n := 0
	for _, f := range o.st.forks {
		if f.matched {
			n++
		}
	}
	return n
}

// appendDecision merges d into an earlier decision with the same verdict
// and rule, so that one rule that splits the addresses twice reads as one.
func appendDecision(ds []Decision, d Decision) []Decision {
	for i := range ds {
		if ds[i].Verdict == d.Verdict && ds[i].Rule == d.Rule && ds[i].Chain == d.Chain && ds[i].RejectWith == d.RejectWith {
			ds[i].Sources = ds[i].Sources.Union(d.Sources)
			return ds
		}
	}
	return append(ds, d)
}
