package firewall

import (
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// The parts of firewalld's zone and service files that decide about a new
// TCP connection.
type fwdZoneXML struct {
	Target     string `xml:"target,attr"`
	Interfaces []struct {
		Name string `xml:"name,attr"`
	} `xml:"interface"`
	Sources []struct {
		Address string `xml:"address,attr"`
	} `xml:"source"`
	Services []struct {
		Name string `xml:"name,attr"`
	} `xml:"service"`
	Ports []fwdPortXML  `xml:"port"`
	Rules []fwdRichRule `xml:"rule"`
}

// fwdRichRule is a rich rule. The parts it models are named; any other
// element ends up in Other, and makes the rule not understood.
type fwdRichRule struct {
	Inner  string `xml:",innerxml"`
	Family string `xml:"family,attr"`
	Source *struct {
		Address string `xml:"address,attr"`
		IPSet   string `xml:"ipset,attr"`
		Invert  string `xml:"invert,attr"`
	} `xml:"source"`
	Service *struct {
		Name string `xml:"name,attr"`
	} `xml:"service"`
	Port   *fwdPortXML `xml:"port"`
	Accept *struct{}   `xml:"accept"`
	Reject *struct {
		Type string `xml:"type,attr"`
	} `xml:"reject"`
	Drop  *struct{} `xml:"drop"`
	Log   *struct{} `xml:"log"`
	Audit *struct{} `xml:"audit"`
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// fwdPortXML is a port element of a zone, service or rich rule.
type fwdPortXML struct {
	Protocol string `xml:"protocol,attr"`
	Port     string `xml:"port,attr"`
}

// gatherFirewalldOffline reads firewalld's configuration in an offline
// tree (/etc/firewalld over the defaults in /usr/lib/firewalld) and, when
// firewalld is enabled, models the input path it builds from the zones:
// established and loopback traffic first, then the zone of the source
// address or interface (else the default zone), its services and ports,
// and its target for the rest. Rich rules are shown but not followed, so a
// connection they could decide is uncertain. Forward ports, masquerading
// and direct rules are not modelled.
func gatherFirewalldOffline(sys host.System, f *Facts) *Firewalld {
	conf, confErr := sys.ReadFile("/etc/firewalld/firewalld.conf")
	libZones, _ := filepath.Glob(sys.Path("/usr/lib/firewalld/zones/*.xml"))
	if confErr != nil && len(libZones) == 0 {
		return nil
	}
	src := Source{What: "/etc/firewalld", Backend: BackendFirewalld}
	if on, known := unitEnabled(sys, "firewalld.service"); known && !on {
		src.Note = "firewalld.service is not enabled: firewalld does not start at boot"
		f.Sources = append(f.Sources, src)
		return nil
	}
	fw := &Firewalld{Running: true, DefaultZone: readKV(conf)["DefaultZone"]}
	if fw.DefaultZone == "" {
		fw.DefaultZone = "public"
	}
	zones := map[string]fwdZoneXML{}
	for _, dir := range []string{"/usr/lib/firewalld/zones", "/etc/firewalld/zones"} {
		files, _ := filepath.Glob(sys.Path(dir + "/*.xml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			var z fwdZoneXML
			if err := xml.Unmarshal(data, &z); err != nil {
				f.Sources = append(f.Sources, Source{What: dir + "/" + filepath.Base(file), Backend: BackendFirewalld, Err: err.Error()})
				continue
			}
			zones[strings.TrimSuffix(filepath.Base(file), ".xml")] = z
		}
	}
	names := make([]string, 0, len(zones))
	for n := range zones {
		names = append(names, n)
	}
	sort.Strings(names)

	rs := &Ruleset{Backend: BackendNFT, Source: "/etc/firewalld"}
	t := &Table{Ruleset: rs, Family: "inet", Name: "firewalld", Sets: map[string]*Set{}}
	rs.Tables = []*Table{t}
	in := &Chain{Name: "filter_INPUT", Type: "filter", Hook: "input", Priority: 10, Policy: VerdictAccept}
	t.addChain(in)
	addRule := func(c *Chain, text string, exprs ...Expr) {
		c.Rules = append(c.Rules, &Rule{Chain: c, Position: len(c.Rules) + 1, Text: text, Exprs: exprs})
	}
	verdict := func(k VerdictKind, target string) Expr { return &Stmt{Verdict: &Verdict{Kind: k, Target: target}} }
	names4 := func(ns ...string) Value { return Value{Kind: ValNames, Names: ns} }
	addRule(in, "ct state established,related accept",
		&Match{Field: FieldCtState, Val: names4("established", "related")}, verdict(VerdictAccept, ""))
	addRule(in, `iifname "lo" accept`, &Match{Field: FieldIifname, Val: names4("lo")}, verdict(VerdictAccept, ""))
	addRule(in, "ct state invalid drop", &Match{Field: FieldCtState, Val: names4("invalid")}, verdict(VerdictDrop, ""))
	for _, n := range names {
		z := zones[n]
		var addrs AddrSet
		var texts []string
		for _, s := range z.Sources {
			p, err := netip.ParsePrefix(s.Address)
			if err != nil {
				a, aerr := netip.ParseAddr(s.Address)
				if aerr != nil {
					continue // ipset: or MAC sources are not modelled
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			addrs = addrs.Union(PrefixSet(p))
			texts = append(texts, s.Address)
		}
		if !addrs.IsEmpty() {
			addRule(in, fmt.Sprintf("saddr { %s } goto filter_IN_%s", strings.Join(texts, ", "), n),
				&Match{Field: FieldSaddr, Val: Value{Kind: ValAddrs, Addrs: addrs}}, verdict(VerdictGoto, "filter_IN_"+n))
		}
	}
	for _, n := range names {
		var ifs []string
		for _, i := range zones[n].Interfaces {
			ifs = append(ifs, i.Name)
		}
		if len(ifs) > 0 {
			addRule(in, fmt.Sprintf(`iifname { "%s" } goto filter_IN_%s`, strings.Join(ifs, `", "`), n),
				&Match{Field: FieldIifname, Val: names4(ifs...)}, verdict(VerdictGoto, "filter_IN_"+n))
		}
	}
	addRule(in, "goto filter_IN_"+fw.DefaultZone, verdict(VerdictGoto, "filter_IN_"+fw.DefaultZone))

	services := map[string][]fwdPortXML{}
	for _, n := range names {
		z := zones[n]
		zc := &Chain{Name: "filter_IN_" + n}
		t.addChain(zc)
		fz := FirewalldZone{Name: n, Target: z.Target}
		if fz.Target == "" {
			fz.Target = "default"
		}
		for _, i := range z.Interfaces {
			fz.Interfaces = append(fz.Interfaces, i.Name)
		}
		for _, s := range z.Sources {
			fz.Sources = append(fz.Sources, s.Address)
		}
		// Rich rules that deny run before the zone's services, as firewalld's
		// _deny chain comes before _allow.
		for pass := 0; pass < 2; pass++ {
			for _, r := range z.Rules {
				text := richRuleText(r)
				if pass == 0 {
					fz.RichRules = append(fz.RichRules, text)
				}
				exprs, v, managed := richRuleExprs(sys, r, text, services)
				if v == "" || (v == VerdictAccept) != (pass == 1) {
					continue
				}
				addRule(zc, text, exprs...)
				zc.Rules[len(zc.Rules)-1].Managed = managed
			}
			if pass == 1 {
				break
			}
			for _, s := range z.Services {
				fz.Services = append(fz.Services, s.Name)
				ports, ok := services[s.Name]
				if !ok {
					ports = firewalldService(sys, s.Name)
					services[s.Name] = ports
				}
				for _, p := range ports {
					addPortRule(zc, p, "service "+s.Name, addRule)
				}
			}
			for _, p := range z.Ports {
				fz.Ports = append(fz.Ports, p.Port+"/"+p.Protocol)
				addPortRule(zc, p, "port "+p.Port+"/"+p.Protocol, addRule)
			}
		}
		switch strings.ToUpper(fz.Target) {
		case "ACCEPT":
			addRule(zc, "accept comment \"target of zone "+n+"\"", verdict(VerdictAccept, ""))
		case "DROP":
			addRule(zc, "drop comment \"target of zone "+n+"\"", verdict(VerdictDrop, ""))
		default:
			addRule(zc, "reject with icmpx type admin-prohibited comment \"target of zone "+n+"\"",
				&Stmt{Verdict: &Verdict{Kind: VerdictReject, RejectWith: "icmpx admin-prohibited"}})
		}
		fw.Zones = append(fw.Zones, fz)
	}
	if t.chain("filter_IN_"+fw.DefaultZone) == nil {
		src.Err = "the default zone " + fw.DefaultZone + " has no zone file"
		f.Sources = append(f.Sources, src)
		return fw
	}
	src.Note = "firewalld's input path modelled from its zone files (rich rules shown, not followed)"
	f.Sources = append(f.Sources, src)
	f.Rulesets = append(f.Rulesets, rs)
	return fw
}

// addPortRule adds "tcp dport N accept" for a TCP port or range of a
// service or zone; other protocols never match an SSH connection.
func addPortRule(c *Chain, p fwdPortXML, what string, add func(*Chain, string, ...Expr)) {
	if p.Protocol != "tcp" {
		return
	}
	nums, ok := parsePorts(p.Port, "-")
	if !ok {
		return
	}
	add(c, fmt.Sprintf("tcp dport %s accept comment %s", p.Port, strconv.Quote(what)),
		&Match{Field: FieldDport, Val: Value{Kind: ValNums, Nums: nums}}, &Stmt{Verdict: &Verdict{Kind: VerdictAccept}})
}

// firewalldService returns a service's ports, from /etc/firewalld/services
// over /usr/lib/firewalld/services.
func firewalldService(sys host.System, name string) []fwdPortXML {
	for _, dir := range []string{"/etc/firewalld/services", "/usr/lib/firewalld/services"} {
		data, err := sys.ReadFile(dir + "/" + name + ".xml")
		if err != nil {
			continue
		}
		var s struct {
			Ports []fwdPortXML `xml:"port"`
		}
		if xml.Unmarshal(data, &s) == nil {
			return s.Ports
		}
	}
	if name == "ssh" {
		return []fwdPortXML{{Protocol: "tcp", Port: "22"}}
	}
	return nil
}

// richRuleExprs turns a rich rule into matches and a verdict. Rules with a
// part it does not model (a destination, a limit, an ICMP type, forward
// ports...) get an Unknown match. v is empty for a rule that only logs.
func richRuleExprs(sys host.System, r fwdRichRule, text string, services map[string][]fwdPortXML) (exprs []Expr, v VerdictKind, managed *Manager) {
	var rejectWith string
	switch {
	case r.Accept != nil:
		v = VerdictAccept
	case r.Drop != nil:
		v = VerdictDrop
	case r.Reject != nil:
		v, rejectWith = VerdictReject, "icmpx port-unreachable"
		if t := r.Reject.Type; t != "" {
			rejectWith = iptReject[t]
			if rejectWith == "" {
				rejectWith = "icmpx port-unreachable"
				exprs = append(exprs, &Unknown{Text: "reject type " + t})
			}
		}
	default:
		return nil, "", nil
	}
	for _, o := range r.Other {
		exprs = append(exprs, &Unknown{Text: "a rich rule's " + o.XMLName.Local + " (" + text + ")"})
	}
	switch r.Family {
	case "ipv4":
		exprs = append(exprs, &Match{Field: FieldNFProto, Val: Value{Kind: ValNums, Nums: []NumRange{{2, 2}}}})
	case "ipv6":
		exprs = append(exprs, &Match{Field: FieldNFProto, Val: Value{Kind: ValNums, Nums: []NumRange{{10, 10}}}})
	}
	if s := r.Source; s != nil {
		neg := strings.EqualFold(s.Invert, "true") || s.Invert == "yes"
		switch {
		case s.Address != "":
			set, ok := parseFirewalldAddr(s.Address)
			if !ok {
				exprs = append(exprs, &Unknown{Text: "source " + s.Address})
				break
			}
			exprs = append(exprs, &Match{Field: FieldSaddr, Negate: neg, Val: Value{Kind: ValAddrs, Addrs: set}})
		case s.IPSet != "":
			managed = setManager("", s.IPSet)
			set, ok := firewalldIPSet(sys, s.IPSet)
			if !ok {
				exprs = append(exprs, &Unknown{Text: "ipset " + s.IPSet + " (its entries are not in the tree)"})
				break
			}
			exprs = append(exprs, &Match{Field: FieldSaddr, Negate: neg, Val: Value{Kind: ValAddrs, Addrs: set}})
		}
	}
	var ports []fwdPortXML
	if r.Service != nil {
		ps, ok := services[r.Service.Name]
		if !ok {
			ps = firewalldService(sys, r.Service.Name)
			services[r.Service.Name] = ps
		}
		ports = ps
		if ports == nil {
			ports = []fwdPortXML{{}} // a service without TCP ports: never SSH
		}
	}
	if r.Port != nil {
		ports = append(ports, *r.Port)
	}
	if ports != nil {
		var nums []NumRange
		for _, p := range ports {
			if p.Protocol != "tcp" {
				continue
			}
			if n, ok := parsePorts(p.Port, "-"); ok {
				nums = append(nums, n...)
			}
		}
		if len(nums) == 0 {
			exprs = append(exprs, &Never{Why: "not a TCP port"})
		} else {
			exprs = append(exprs, &Match{Field: FieldDport, Val: Value{Kind: ValNums, Nums: nums}})
		}
	}
	exprs = append(exprs, &Stmt{Verdict: &Verdict{Kind: v, RejectWith: rejectWith}})
	return exprs, v, managed
}

func parseFirewalldAddr(s string) (AddrSet, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return PrefixSet(p), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return SingleAddr(a), true
	}
	return AddrSet{}, false
}

// firewalldIPSet reads a permanent ipset's entries (/etc/firewalld/ipsets
// over /usr/lib/firewalld/ipsets). Entries added at run time (bans) are
// not in the tree.
func firewalldIPSet(sys host.System, name string) (AddrSet, bool) {
	for _, dir := range []string{"/etc/firewalld/ipsets", "/usr/lib/firewalld/ipsets"} {
		data, err := sys.ReadFile(dir + "/" + name + ".xml")
		if err != nil {
			continue
		}
		var x struct {
			Entries []string `xml:"entry"`
		}
		if xml.Unmarshal(data, &x) != nil {
			return AddrSet{}, false
		}
		var out AddrSet
		for _, e := range x.Entries {
			set, ok := parseFirewalldAddr(strings.TrimSpace(e))
			if !ok {
				return AddrSet{}, false
			}
			out = out.Union(set)
		}
		return out, true
	}
	return AddrSet{}, false
}

// richRuleText writes a rich rule the way firewall-cmd --list-all shows it:
// rule family="ipv4" source address="192.0.2.66" reject.
func richRuleText(r fwdRichRule) string {
	if len(r.Other) > 0 {
		return "rule " + strings.Join(strings.Fields(r.Inner), " ")
	}
	parts := []string{"rule"}
	if r.Family != "" {
		parts = append(parts, fmt.Sprintf("family=%q", r.Family))
	}
	if s := r.Source; s != nil {
		p := "source"
		if strings.EqualFold(s.Invert, "true") || s.Invert == "yes" {
			p += " NOT"
		}
		if s.Address != "" {
			p += fmt.Sprintf(" address=%q", s.Address)
		}
		if s.IPSet != "" {
			p += fmt.Sprintf(" ipset=%q", s.IPSet)
		}
		parts = append(parts, p)
	}
	if r.Service != nil {
		parts = append(parts, fmt.Sprintf("service name=%q", r.Service.Name))
	}
	if r.Port != nil {
		parts = append(parts, fmt.Sprintf("port port=%q protocol=%q", r.Port.Port, r.Port.Protocol))
	}
	if r.Log != nil {
		parts = append(parts, "log")
	}
	switch {
	case r.Accept != nil:
		parts = append(parts, "accept")
	case r.Drop != nil:
		parts = append(parts, "drop")
	case r.Reject != nil:
		if r.Reject.Type != "" {
			parts = append(parts, fmt.Sprintf("reject type=%q", r.Reject.Type))
		} else {
			parts = append(parts, "reject")
		}
	}
	return strings.Join(parts, " ")
}
