package firewall

import (
	"fmt"
	"strings"
)

// String describes the decision in one line: "drop for 0.0.0.0/0 by
// table inet filter chain input: tcp dport 22 drop".
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(string(d.Verdict))
	if d.RejectWith != "" {
		b.WriteString(" (" + d.RejectWith + ")")
	}
	if len(d.Possible) > 0 {
		ps := make([]string, len(d.Possible))
		for i, p := range d.Possible {
			ps[i] = string(p)
		}
		b.WriteString(" (" + strings.Join(ps, " or ") + ")")
	}
	fmt.Fprintf(&b, " for %s", d.Sources)
	switch {
	case d.Rule != nil:
		fmt.Fprintf(&b, " by %s: %s", d.Rule.Where(), d.Rule.Text)
	case d.Chain != nil && d.Verdict != VerdictUncertain:
		fmt.Fprintf(&b, " by the policy of %s", PolicyText(d.Chain))
	}
	if d.Managed != nil {
		fmt.Fprintf(&b, " [%s]", d.Managed)
	}
	for _, u := range d.Unknown {
		if u.Rule != nil {
			fmt.Fprintf(&b, "; not understood: %s (%s)", u.Rule.Text, u.What)
		} else {
			fmt.Fprintf(&b, "; not understood: %s", u.What)
		}
	}
	for _, a := range d.Assumed {
		fmt.Fprintf(&b, "; assumed: %s", a.Why)
	}
	return b.String()
}

// PolicyText names a base chain's policy the way its backend writes it:
// "table inet filter chain input policy drop" or "iptables -P INPUT DROP".
func PolicyText(c *Chain) string {
	if c.Table.Ruleset != nil && c.Table.Ruleset.Backend != BackendNFT {
		cmd := c.Table.Ruleset.Backend
		if c.Table.Name != "filter" {
			cmd += " -t " + c.Table.Name
		}
		return fmt.Sprintf("%s -P %s %s", cmd, c.Name, strings.ToUpper(string(c.Policy)))
	}
	return fmt.Sprintf("table %s chain %s policy %s", c.Table.ID(), c.Name, c.Policy)
}

// String lays the evaluation out for a person, one base chain per
// paragraph. Tests print it when they fail.
func (ev *Evaluation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", ev.Packet)
	for _, c := range ev.Chains {
		fmt.Fprintf(&b, "  %s %s chain %s (hook %s priority %d):\n", c.Backend, c.Chain.Table.ID(), c.Chain.Name,
			c.Chain.Hook, c.Chain.Priority)
		for _, d := range c.Decisions {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	b.WriteString("  overall:\n")
	for _, d := range ev.Overall {
		fmt.Fprintf(&b, "    %s\n", d)
	}
	return b.String()
}
