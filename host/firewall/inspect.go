package firewall

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"

	"github.com/sshdoctor/sshdoctor/host"
)

// Query says which connections to evaluate.
type Query struct {
	// Ports are the ports sshd listens on. Empty means 22.
	Ports []uint16
	// From is the client address (--from). The zero Addr means from
	// anywhere: every source address is followed at once.
	From netip.Addr
	// Listen are the local addresses sshd listens on; empty, or an
	// unspecified address (0.0.0.0, ::), means all of them.
	Listen []netip.Addr
}

// Report is the firewall's answer for every connection the query asks about.
type Report struct {
	// Facts are the rules read.
	Facts *Facts
	// Query is what was asked.
	Query Query
	// Evaluations holds one evaluation per packet: per port, and per
	// local address and interface when they are known. Empty when no
	// ruleset could be read.
	Evaluations []*Evaluation
	// Notes say how the packets were chosen ("10.0.0.9 is reached through
	// eth0 (ip route get)"); for a person reading the evidence.
	Notes []string
}

// Inspect evaluates every SSH port of q against facts. For a live system
// it asks sys for the interfaces and addresses (`ip -j addr show`) and,
// with --from, for the interface that faces the client
// (`ip -j route get FROM`: the reply route, the same as the way in unless
// routing is asymmetric). For an offline tree the local address and the
// interface are left unknown, and rules that depend on them make the
// answer uncertain.
func Inspect(ctx context.Context, sys host.System, facts *Facts, q Query) *Report {
	rep := &Report{Facts: facts, Query: q}
	if len(facts.Rulesets) == 0 {
		return rep
	}
	ports := q.Ports
	if len(ports) == 0 {
		ports = []uint16{22}
	}
	var pkts []Packet
	if !facts.Persisted && sys.Live && sys.Run != nil {
		pkts = rep.livePackets(ctx, sys.Run, q)
	}
	if len(pkts) == 0 {
		fams := []int{4, 6}
		if q.From.IsValid() {
			fams = []int{familyOf(q.From)}
		}
		for _, fam := range fams {
			pkts = append(pkts, Packet{Family: fam, Src: q.From})
		}
	}
	for _, p := range pkts {
		for _, port := range ports {
			p.DPort = port
			rep.Evaluations = append(rep.Evaluations, Evaluate(facts.Rulesets, p))
		}
	}
	return rep
}

func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}

// ipAddrJSON is the part of `ip -j addr show` that matters here.
type ipAddrJSON struct {
	Ifname   string   `json:"ifname"`
	Flags    []string `json:"flags"`
	AddrInfo []struct {
		Family string `json:"family"`
		Local  string `json:"local"`
		Scope  string `json:"scope"`
	} `json:"addr_info"`
}

// livePackets picks the packets to evaluate on a live system.
func (rep *Report) livePackets(ctx context.Context, r host.Runner, q Query) []Packet {
	listens := func(a netip.Addr) bool {
		if len(q.Listen) == 0 {
			return true
		}
		for _, l := range q.Listen {
			if l.IsUnspecified() && l.Is4() == a.Is4() || l.Unmap() == a {
				return true
			}
			// An IPv6 wildcard socket takes IPv4 too unless it is v6only;
			// the listen facts list both when that matters.
			if l.IsUnspecified() && l.Is6() && a.Is4() {
				return true
			}
		}
		return false
	}
	if q.From.IsValid() {
		out, err := r.Run(ctx, "ip", "-j", "route", "get", q.From.String())
		if err != nil {
			rep.Notes = append(rep.Notes, "could not find the interface facing "+q.From.String()+": "+err.Error())
			return nil
		}
		var routes []struct {
			Type    string `json:"type"`
			Dev     string `json:"dev"`
			Prefsrc string `json:"prefsrc"`
		}
		if err := json.Unmarshal(out, &routes); err != nil || len(routes) == 0 {
			rep.Notes = append(rep.Notes, "could not read the route to "+q.From.String())
			return nil
		}
		rt := routes[0]
		p := Packet{Family: familyOf(q.From), Src: q.From, Iif: rt.Dev}
		if rt.Type == "local" {
			p.Iif = "lo"
		}
		if a, err := netip.ParseAddr(rt.Prefsrc); err == nil && listens(a) {
			p.Dst = a
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s is reached through %s (ip route get)", q.From, p.Iif))
		return []Packet{p}
	}
	out, err := r.Run(ctx, "ip", "-j", "addr", "show")
	if err != nil {
		rep.Notes = append(rep.Notes, "could not list the interfaces: "+err.Error())
		return nil
	}
	var links []ipAddrJSON
	if err := json.Unmarshal(out, &links); err != nil {
		rep.Notes = append(rep.Notes, "could not read the interfaces: "+err.Error())
		return nil
	}
	var pkts []Packet
	for _, l := range links {
		if containsName(l.Flags, "LOOPBACK") || !containsName(l.Flags, "UP") {
			continue
		}
		for _, ai := range l.AddrInfo {
			a, err := netip.ParseAddr(ai.Local)
			if err != nil || ai.Scope == "link" || ai.Scope == "host" || !listens(a) {
				continue
			}
			pkts = append(pkts, Packet{Family: familyOf(a), Dst: a, Iif: l.Ifname})
		}
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].Family < pkts[j].Family })
	return pkts
}
