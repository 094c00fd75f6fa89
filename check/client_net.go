package check

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/escape"
	"github.com/sshdoctor/sshdoctor/probe"
)

var (
	_ = Register(Doc{
		Code: "dns.unresolved", Severity: SeverityError, Layer: LayerDNS,
		Title: "The host name does not resolve",
		Meaning: `The name ssh would connect to has no address: the resolver answered that no such
host exists, or it exists only in an address family that AddressFamily (or -4/-6) rules out.
ssh prints "Could not resolve hostname NAME: Name or service not known".`,
		Detection: `sshdoctor resolves the HostName (after the ssh client configuration) for A and AAAA
records through the system resolver, /etc/hosts included, and reads the resolver's "not found" answer.`,
		Fix: `Check the spelling and the HostName line for this Host in ~/.ssh/config; compare with
'getent ahosts NAME'. Add the name to DNS or /etc/hosts, or connect by address.`,
	})
	_ = Register(Doc{
		Code: "dns.failed", Severity: SeverityError, Layer: LayerDNS,
		Title: "The name lookup failed",
		Meaning: `The resolver did not give an answer: it timed out, was unreachable, or returned a
server failure. The name may well exist; this machine just could not ask.`,
		Detection: `The system resolver returned an error other than "no such host" (a timeout or
SERVFAIL) for the HostName.`,
		Fix: `Check /etc/resolv.conf (or 'resolvectl status'), that the DNS server answers
('getent hosts NAME'), and the network path to it. Connecting by address works around it.`,
	})
	_ = Register(Doc{
		Code: "net.unreachable", Severity: SeverityError, Layer: LayerNet,
		Title: "This machine cannot reach the address",
		Meaning: `The connection never left this machine, or died on the local link: there is no
route to the address, or the address does not answer ARP/neighbour discovery on its link (the
host is down, or the address is wrong). ssh prints "Network is unreachable" or "No route to host".`,
		Detection: `connect() failed at once with ENETUNREACH/EHOSTUNREACH and no ICMP error from
elsewhere, or the ICMP host-unreachable came from this machine itself (an ARP failure), or the
connect timed out while the neighbour entry of the address stayed incomplete.`,
		Fix: `Check 'ip route get ADDRESS' and the address itself; for an address on the local link,
check the host is up ('ip neigh show ADDRESS' stays INCOMPLETE/FAILED when nothing answers).`,
	})
	_ = Register(Doc{
		Code: "net.blocked-locally", Severity: SeverityError, Layer: LayerNet,
		Title: "This machine's own firewall blocks the connection",
		Meaning: `The outgoing SYN was refused by this machine itself: a rule in its OUTPUT path
rejects or drops it (connect() fails with "Operation not permitted", or the ICMP error comes from
one of this machine's own addresses).`,
		Detection: `connect() failed with EPERM/EACCES, or the ICMP reject in the socket's error queue
names one of this machine's addresses as its sender while the target is elsewhere.`,
		Fix: `Look at the local output rules: 'sudo nft list ruleset' or 'sudo iptables -S OUTPUT'
and allow TCP to the SSH port of the target.`,
	})
	_ = Register(Doc{
		Code: "tcp.refused", Severity: SeverityError, Layer: LayerTCP,
		Title: "Nothing accepts connections on the port",
		Meaning: `The host answered the SYN with a TCP reset: it is up and reachable, but no program
listens on that port (sshd is stopped, crashed, listens elsewhere, or a firewall answers with
tcp-reset). ssh prints "Connection refused".`,
		Detection: `connect() failed with ECONNREFUSED and the socket's error queue (IP_RECVERR) held
no ICMP error: the refusal was a TCP RST, not an ICMP reject.`,
		Fix: `On the server: 'systemctl status ssh' (or sshd), 'sudo ss -ltnp' to see what listens,
and start sshd once its configuration passes 'sudo sshd -t'. 'sshdoctor server' there says which.`,
	})
	_ = Register(Doc{
		Code: "tcp.rejected", Severity: SeverityError, Layer: LayerTCP,
		Title: "A firewall rejects the connection",
		Meaning: `An ICMP destination-unreachable answered the SYN: a firewall REJECT rule on the
host or on a router in between. ssh prints "Connection refused" (port unreachable) or "No route
to host" (host/admin prohibited), which hides the firewall; the ICMP sender names the culprit.`,
		Detection: `With IP_RECVERR set before connect(), the ICMP error that aborted the connect stays
in the socket's error queue; sshdoctor reads its type, code and sender (the offender) without
privileges.`,
		Fix: `On the offender, find the REJECT rule ('sudo nft list ruleset', 'sudo iptables -S')
and allow TCP to the SSH port from your address; 'sshdoctor server --from YOUR_ADDRESS' on that
host names the rule.`,
	})
	_ = Register(Doc{
		Code: "tcp.filtered", Severity: SeverityError, Layer: LayerTCP,
		Title: "Nothing answers: the connection is silently dropped",
		Meaning: `The SYN got no answer at all before the timeout: a firewall DROPs it (on the host, a
router, or a cloud security group), or the host is down behind a router. ssh waits and prints
"Connection timed out".`,
		Detection: `connect() neither completed nor failed before the timeout, and no ICMP error
arrived.`,
		Fix: `Check the firewall and security groups between here and the host for a DROP on the SSH
port; 'sshdoctor server --from YOUR_ADDRESS' on the host checks its own rules.`,
	})
	_ = Register(Doc{
		Code: "ssh.other-port", Severity: SeverityError, Layer: LayerTCP,
		Title: "The SSH server answers on another port",
		Meaning: `The port ssh uses fails, but an SSH server answers on another port of the same
host: sshd was moved (Port in sshd_config, or a socket unit) and this client was never told.`,
		Detection: `When the port fails, sshdoctor connects to the usual alternative ports (22, 2222,
22222, 2022, 8022, 222, 2200, 10022 and --ports) in parallel and reads their identification.`,
		Fix: `Connect with 'ssh -p PORT', or add a Port line for this Host in ~/.ssh/config (above
any 'Host *' block, since the first value wins); 'sshdoctor fix DEST' writes it.`,
	})
)

// DNS judges the name lookup.
func DNS(f *probe.Facts) []Finding {
	d := f.DNS
	if d == nil || len(d.Addrs) > 0 {
		return nil
	}
	ev := []KV{E("name", d.Name)}
	if d.Err != "" {
		ev = append(ev, E("error", d.Err))
	}
	if d.Server != "" {
		ev = append(ev, E("dns_server", d.Server))
	}
	switch {
	case len(d.Excluded) > 0:
		ev = append(ev, E("addresses", addrStrings(d.Excluded)), E("address_family", d.Family))
		other := "-4"
		if d.Family == "inet" {
			other = "-6"
		}
		return []Finding{New("dns.unresolved",
			fmt.Sprintf("%s has only addresses that AddressFamily %s rules out (%s).", d.Name, d.Family, strings.Join(addrStrings(d.Excluded), ", ")), ev...).
			WithFix("Drop the AddressFamily setting for this host, or use the other family.",
				fmt.Sprintf("ssh %s %s", other, d.Name))}
	case d.NotFound:
		return []Finding{New("dns.unresolved",
			fmt.Sprintf("The name %s does not exist: the resolver answered \"no such host\".", d.Name), ev...).
			WithFix("Check the spelling and the HostName in your ssh config; compare with what the system resolves.",
				"getent ahosts "+d.Name, "ssh -G "+d.Name+" | grep -i '^hostname'")}
	default:
		why := "the resolver failed"
		if d.Timeout {
			why = "the resolver did not answer in time"
		}
		return []Finding{New("dns.failed",
			fmt.Sprintf("The name %s could not be looked up: %s.", d.Name, why), ev...).
			WithFix("Check the resolver configuration and that the DNS server answers.",
				"cat /etc/resolv.conf", "getent hosts "+d.Name)}
	}
}

// TCP judges the connects, and the search for SSH on other ports.
func TCP(f *probe.Facts) []Finding {
	var out []Finding
	open := f.Open()
	if open == nil {
		out = append(out, OtherPort(f)...)
	}
	for _, a := range f.TCP {
		if a.Outcome == probe.TCPOpen {
			continue
		}
		fd := tcpFinding(f, a)
		if open != nil {
			fd = fd.WithSeverity(SeverityWarning)
			fd.Detail += fmt.Sprintf(" ssh moves on to %s, which works, so this only costs time.", open.Addr)
		}
		out = append(out, fd)
	}
	return out
}

func tcpFinding(f *probe.Facts, a probe.TCPAttempt) Finding {
	host, port := a.Addr.Addr().String(), int(a.Addr.Port())
	ev := []KV{E("address", host), E("port", port)}
	if a.Source.IsValid() {
		ev = append(ev, E("source", a.Source.String()))
	}
	if a.Message != "" {
		ev = append(ev, E("ssh_says", a.Message))
	}
	if a.Errno != "" {
		ev = append(ev, E("errno", a.Errno))
	}
	src := "YOUR_ADDRESS"
	if a.Source.IsValid() {
		src = a.Source.String()
	}
	serverCmd := "sshdoctor server --from " + src
	switch a.Outcome {
	case probe.TCPReset:
		return New("tcp.refused",
			fmt.Sprintf("%s answered the connection to port %d with a TCP reset: nothing listens there (sshd is stopped or on another port), or a firewall resets it. ssh prints \"Connection refused\".", host, port), ev...).
			WithFix("On the server, see whether sshd runs and on which port, then start it once its configuration is valid.",
				"sudo systemctl status ssh sshd", fmt.Sprintf("sudo ss -ltnp 'sport = :%d'", port), "sudo sshd -t && sudo systemctl start ssh", serverCmd)
	case probe.TCPICMP:
		ic := a.ICMP
		ev = append(ev, E("offender", ic.Offender.String()), E("icmp_type", int(ic.Type)), E("icmp_code", int(ic.Code)), E("icmp", icmpName(ic)))
		if ic.Local && !a.DestLocal {
			if isHostUnreach(ic) {
				return New("net.unreachable",
					fmt.Sprintf("%s does not answer on its link: this machine got no ARP/neighbour reply for it, so the host is down or the address is wrong. ssh prints %q.", host, a.Message), ev...).
					WithFix("Check that the host is up and the address is right.", "ip neigh show "+host, "ip route get "+host)
			}
			return New("net.blocked-locally",
				fmt.Sprintf("This machine's own firewall rejects the connection to %s port %d (ICMP %s from %s, one of our own addresses).", host, port, icmpName(ic), ic.Offender), ev...).
				WithFix("Allow TCP to the SSH port in this machine's output rules.", "sudo nft list ruleset", "sudo iptables -S OUTPUT")
		}
		where := "the server itself"
		if ic.Offender != a.Addr.Addr() {
			where = "a router or firewall on the path, not the server"
		}
		ev = append(ev, E("offender_is_target", ic.Offender == a.Addr.Addr()))
		return New("tcp.rejected",
			fmt.Sprintf("A firewall at %s (%s) rejects TCP port %d with ICMP %s (type %d code %d); ssh prints %q, which hides the firewall.", ic.Offender, where, port, icmpName(ic), ic.Type, ic.Code, a.Message), ev...).
			WithFix(fmt.Sprintf("On %s, find the REJECT rule and allow TCP port %d from %s.", ic.Offender, port, src),
				"sudo nft list ruleset | grep -n reject", "sudo iptables -S | grep -i reject", serverCmd)
	case probe.TCPTimeout:
		if f.Neighbour == "INCOMPLETE" || f.Neighbour == "FAILED" {
			ev = append(ev, E("neighbour", f.Neighbour))
			return New("net.unreachable",
				fmt.Sprintf("%s does not answer ARP on the local link (neighbour entry %s): the host is down or the address is wrong.", host, f.Neighbour), ev...).
				WithFix("Check that the host is up and the address is right.", "ip neigh show "+host)
		}
		ev = append(ev, E("waited_ms", a.Elapsed.Milliseconds()))
		return New("tcp.filtered",
			fmt.Sprintf("Nothing answered the connection to %s port %d within %s: a firewall drops it silently, or the host is down behind a router. ssh waits and prints \"Connection timed out\".", host, port, a.Elapsed.Round(1e7)), ev...).
			WithFix(fmt.Sprintf("Look for a DROP of TCP port %d on the host, the routers and any cloud security group between here and there.", port),
				serverCmd, fmt.Sprintf("sudo iptables -S | grep -iE 'drop|dport %d'", port), "sudo nft list ruleset | grep -n drop")
	case probe.TCPLocal:
		if a.Errno == "EPERM" || a.Errno == "EACCES" {
			return New("net.blocked-locally",
				fmt.Sprintf("This machine refused to send the connection to %s port %d (%s): its own firewall blocks it.", host, port, a.Message), ev...).
				WithFix("Allow TCP to the SSH port in this machine's output rules.", "sudo nft list ruleset", "sudo iptables -S OUTPUT")
		}
		return New("net.unreachable",
			fmt.Sprintf("This machine has no way to reach %s: %s.", host, strings.ToLower(a.Message)), ev...).
			WithFix("Check the routing table and the interface towards that network.", "ip route get "+host, "ip -br addr")
	default:
		return New("net.unreachable",
			fmt.Sprintf("The connection to %s port %d failed: %s.", host, port, a.Message), ev...).
			WithFix("Check the route and the address.", "ip route get "+host)
	}
}

// OtherPort reports SSH servers found on other ports while the main one fails.
func OtherPort(f *probe.Facts) []Finding {
	if f.Target == nil {
		return nil
	}
	var ports []int
	var banners []string
	for _, p := range f.AltPorts {
		if p.Banner != "" && p.Port != f.Target.Port {
			ports = append(ports, p.Port)
			banners = append(banners, strconv.Itoa(p.Port)+": "+escape.String(p.Banner))
		}
	}
	if len(ports) == 0 {
		return nil
	}
	t := f.Target
	p := ports[0]
	alias := t.Alias
	return []Finding{New("ssh.other-port",
		fmt.Sprintf("Port %d fails, but an SSH server answers on port %d of %s: sshd was moved and this client was never told.", t.Port, p, t.HostName),
		E("ports", ports), E("banners", banners), E("configured_port", t.Port)).
		WithFix(fmt.Sprintf("Connect with -p %d, or record the port for Host %s at the top of ~/.ssh/config (the first value wins).", p, alias),
			fmt.Sprintf("ssh -p %d %s@%s", p, t.User, alias),
			fmt.Sprintf("sshdoctor fix %s --apply", alias),
			fmt.Sprintf("printf 'Host %s\\n    Port %d\\n\\n' | cat - ~/.ssh/config > ~/.ssh/config.new && mv ~/.ssh/config.new ~/.ssh/config", alias, p))}
}

func isHostUnreach(ic *probe.ICMPError) bool {
	if ic.V6 {
		return ic.Type == 1 && ic.Code == 3
	}
	return ic.Type == 3 && ic.Code == 1
}

func icmpName(ic *probe.ICMPError) string {
	if ic.V6 {
		if ic.Type == 1 {
			names := map[uint8]string{0: "no route", 1: "administratively prohibited", 2: "beyond scope", 3: "address unreachable", 4: "port unreachable", 5: "source address failed policy", 6: "reject route"}
			if n, ok := names[ic.Code]; ok {
				return n
			}
		}
		return fmt.Sprintf("type %d code %d", ic.Type, ic.Code)
	}
	if ic.Type == 3 {
		names := map[uint8]string{0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
			4: "fragmentation needed", 6: "net unknown", 7: "host unknown", 9: "net prohibited", 10: "host prohibited",
			11: "net unreachable for TOS", 12: "host unreachable for TOS", 13: "administratively prohibited"}
		if n, ok := names[ic.Code]; ok {
			return n
		}
	}
	return fmt.Sprintf("type %d code %d", ic.Type, ic.Code)
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
