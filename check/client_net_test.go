package check_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/probe"
)

func TestDNS(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::10")
	tests := []struct {
		name string
		dns  *probe.DNSFacts
		code string
		ev   map[string]string
		fix  string
		says string // in the detail
	}{
		{name: "not looked up", dns: nil},
		{name: "resolved", dns: &probe.DNSFacts{Name: "web1", Addrs: []netip.Addr{target4}}},
		{name: "no such host", code: "dns.unresolved",
			dns:  &probe.DNSFacts{Name: "web1", Family: "any", NotFound: true, Err: "lookup web1: no such host"},
			ev:   map[string]string{"name": "web1", "error": "lookup web1: no such host"},
			fix:  "getent ahosts web1",
			says: "does not exist"},
		{name: "resolver timeout", code: "dns.failed",
			dns:  &probe.DNSFacts{Name: "web1", Family: "any", Timeout: true, Err: "i/o timeout", Server: "10.0.0.53:53"},
			ev:   map[string]string{"name": "web1", "dns_server": "10.0.0.53:53"},
			fix:  "/etc/resolv.conf",
			says: "did not answer in time"},
		{name: "resolver failure", code: "dns.failed",
			dns:  &probe.DNSFacts{Name: "web1", Family: "any", Err: "server misbehaving"},
			ev:   map[string]string{"error": "server misbehaving"},
			says: "resolver failed"},
		{name: "only IPv6 but inet", code: "dns.unresolved",
			dns:  &probe.DNSFacts{Name: "web1", Family: "inet", Excluded: []netip.Addr{v6}},
			ev:   map[string]string{"addresses": "2001:db8::10", "address_family": "inet"},
			fix:  "ssh -6 web1",
			says: "rules out"},
		{name: "only IPv4 but inet6", code: "dns.unresolved",
			dns: &probe.DNSFacts{Name: "web1", Family: "inet6", Excluded: []netip.Addr{target4}},
			fix: "ssh -4 web1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFacts()
			f.DNS = tt.dns
			fs := check.DNS(f)
			if tt.code == "" {
				if len(fs) != 0 {
					t.Fatalf("findings [%s], want none", codes(fs))
				}
				return
			}
			fd := only(t, fs, tt.code, check.SeverityError)
			wantEvidence(t, fd, tt.ev)
			if tt.fix != "" && !fixHas(fd, tt.fix) {
				t.Errorf("fix %+v lacks %q", fd.Fix, tt.fix)
			}
			if !strings.Contains(fd.Detail, tt.says) {
				t.Errorf("detail %q does not say %q", fd.Detail, tt.says)
			}
		})
	}
}

func refused() probe.TCPAttempt {
	return probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPReset,
		Errno: "ECONNREFUSED", Message: "Connection refused"}
}

func TestTCP(t *testing.T) {
	tests := []struct {
		name      string
		attempt   probe.TCPAttempt
		neighbour string
		code      string
		ev        map[string]string
		fix       string
	}{
		{name: "reset", attempt: refused(), code: "tcp.refused",
			ev:  map[string]string{"address": "192.0.2.10", "port": "22", "source": "203.0.113.5", "ssh_says": "Connection refused", "errno": "ECONNREFUSED"},
			fix: "sshdoctor server --from 203.0.113.5"},
		{name: "ICMP port unreachable from the target",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPICMP, Errno: "ECONNREFUSED", Message: "Connection refused",
				ICMP: &probe.ICMPError{Offender: target4, Type: 3, Code: 3}},
			code: "tcp.rejected",
			ev:   map[string]string{"offender": "192.0.2.10", "icmp_type": "3", "icmp_code": "3", "ssh_says": "Connection refused", "offender_is_target": "true", "icmp": "port unreachable"},
			fix:  "sshdoctor server --from 203.0.113.5"},
		{name: "ICMP admin prohibited from a router",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPICMP, Errno: "EHOSTUNREACH", Message: "No route to host",
				ICMP: &probe.ICMPError{Offender: router4, Type: 3, Code: 13}},
			code: "tcp.rejected",
			ev:   map[string]string{"offender": "198.51.100.1", "icmp_type": "3", "icmp_code": "13", "ssh_says": "No route to host", "offender_is_target": "false", "icmp": "administratively prohibited"}},
		{name: "ICMPv6 admin prohibited",
			attempt: probe.TCPAttempt{Addr: netip.MustParseAddrPort("[2001:db8::10]:22"), Outcome: probe.TCPICMP, Errno: "EACCES", Message: "Permission denied",
				ICMP: &probe.ICMPError{Offender: netip.MustParseAddr("2001:db8::10"), Type: 1, Code: 1, V6: true}},
			code: "tcp.rejected",
			ev:   map[string]string{"icmp_type": "1", "icmp_code": "1", "icmp": "administratively prohibited"}},
		{name: "local ARP failure",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPICMP, Errno: "EHOSTUNREACH", Message: "No route to host",
				ICMP: &probe.ICMPError{Offender: self4, Type: 3, Code: 1, Local: true}},
			code: "net.unreachable",
			ev:   map[string]string{"offender": "203.0.113.5"},
			fix:  "ip neigh show 192.0.2.10"},
		{name: "local ND failure",
			attempt: probe.TCPAttempt{Addr: netip.MustParseAddrPort("[2001:db8::10]:22"), Outcome: probe.TCPICMP, Errno: "EHOSTUNREACH", Message: "No route to host",
				ICMP: &probe.ICMPError{Offender: netip.MustParseAddr("2001:db8::5"), Type: 1, Code: 3, V6: true, Local: true}},
			code: "net.unreachable"},
		{name: "own output firewall rejects",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPICMP, Errno: "ECONNREFUSED", Message: "Connection refused",
				ICMP: &probe.ICMPError{Offender: self4, Type: 3, Code: 3, Local: true}},
			code: "net.blocked-locally",
			fix:  "iptables -S OUTPUT"},
		{name: "own input firewall rejects a connection to ourselves",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(self4, 22), Source: self4, Outcome: probe.TCPICMP, Errno: "ECONNREFUSED", Message: "Connection refused", DestLocal: true,
				ICMP: &probe.ICMPError{Offender: self4, Type: 3, Code: 3, Local: true}},
			code: "tcp.rejected",
			ev:   map[string]string{"offender_is_target": "true"}},
		{name: "timeout",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Outcome: probe.TCPTimeout, Message: "Connection timed out", Elapsed: 5 * time.Second},
			code:    "tcp.filtered",
			ev:      map[string]string{"waited_ms": "5000", "address": "192.0.2.10"},
			fix:     "sshdoctor server --from YOUR_ADDRESS"},
		{name: "timeout with an incomplete neighbour entry",
			attempt:   probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Outcome: probe.TCPTimeout, Message: "Connection timed out", Elapsed: 5 * time.Second},
			neighbour: "INCOMPLETE",
			code:      "net.unreachable",
			ev:        map[string]string{"neighbour": "INCOMPLETE"}},
		{name: "EPERM from our own firewall",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Outcome: probe.TCPLocal, Errno: "EPERM", Message: "Operation not permitted"},
			code:    "net.blocked-locally",
			ev:      map[string]string{"errno": "EPERM", "ssh_says": "Operation not permitted"}},
		{name: "no route",
			attempt: probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Outcome: probe.TCPLocal, Errno: "ENETUNREACH", Message: "Network is unreachable"},
			code:    "net.unreachable",
			ev:      map[string]string{"errno": "ENETUNREACH"},
			fix:     "ip route get 192.0.2.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFacts()
			f.TCP = []probe.TCPAttempt{tt.attempt}
			f.Neighbour = tt.neighbour
			fd := only(t, check.TCP(f), tt.code, check.SeverityError)
			wantEvidence(t, fd, tt.ev)
			if tt.fix != "" && !fixHas(fd, tt.fix) {
				t.Errorf("fix %+v lacks %q", fd.Fix, tt.fix)
			}
			if check.LayerOf(fd.Code) > check.LayerOf("tcp.filtered") {
				t.Errorf("%s is after the TCP layer", fd.Code)
			}
		})
	}
}

func TestTCPRejectedSaysWhatSSHPrints(t *testing.T) {
	f := newFacts()
	a := refused()
	a.Outcome, a.Errno, a.Message = probe.TCPICMP, "EHOSTUNREACH", "No route to host"
	a.ICMP = &probe.ICMPError{Offender: target4, Type: 3, Code: 10}
	f.TCP = []probe.TCPAttempt{a}
	fd := only(t, check.TCP(f), "tcp.rejected", check.SeverityError)
	if !strings.Contains(fd.Detail, `"No route to host"`) || !strings.Contains(fd.Detail, "192.0.2.10") {
		t.Errorf("detail %q does not name the offender and what ssh prints", fd.Detail)
	}
}

func TestTCPOpen(t *testing.T) {
	f := newFacts()
	f.TCP = []probe.TCPAttempt{openAttempt()}
	if fs := check.TCP(f); len(fs) != 0 {
		t.Errorf("findings [%s] for an open port", codes(fs))
	}
}

// When one address fails and the next works, ssh gets through: the failure
// is a warning, not the verdict.
func TestTCPFallbackAddressIsWarning(t *testing.T) {
	f := newFacts()
	v6 := probe.TCPAttempt{Addr: netip.MustParseAddrPort("[2001:db8::10]:22"), Outcome: probe.TCPTimeout, Message: "Connection timed out", Elapsed: 5 * time.Second}
	f.TCP = []probe.TCPAttempt{v6, openAttempt()}
	fd := only(t, check.TCP(f), "tcp.filtered", check.SeverityWarning)
	if !strings.Contains(fd.Detail, "192.0.2.10:22") {
		t.Errorf("detail %q does not name the address that works", fd.Detail)
	}
	if v := check.Verdict(check.TCP(f)); v != nil {
		t.Errorf("verdict %s although ssh connects", v.Code)
	}
}

func TestOtherPort(t *testing.T) {
	f := newFacts()
	f.TCP = []probe.TCPAttempt{refused()}
	f.AltPorts = []probe.AltPort{
		{Port: 22, Outcome: probe.TCPOpen, Banner: "SSH-2.0-ignored-same-port"},
		{Port: 222, Outcome: probe.TCPReset},
		{Port: 2222, Outcome: probe.TCPOpen, Banner: "SSH-2.0-OpenSSH_9.2\x1b[2J"},
		{Port: 8022, Outcome: probe.TCPOpen},
	}
	fs := check.TCP(f)
	if got := codes(fs); got != "ssh.other-port/error tcp.refused/error" {
		t.Fatalf("findings [%s], want the other port and the refusal", got)
	}
	fd := fs[0]
	assertWellFormed(t, fd)
	wantEvidence(t, fd, map[string]string{"ports": "[2222]", "configured_port": "22", "banners": `2222: SSH-2.0-OpenSSH_9.2\e[2J`})
	if !fixHas(fd, "ssh -p 2222 bob@web1") {
		t.Errorf("fix %+v lacks the ssh command", fd.Fix)
	}
	if v := check.Verdict(fs); v == nil || v.Code != "ssh.other-port" {
		t.Errorf("verdict = %v, want ssh.other-port", v)
	}
}

func TestOtherPortNothingFound(t *testing.T) {
	f := newFacts()
	f.TCP = []probe.TCPAttempt{refused()}
	f.AltPorts = []probe.AltPort{{Port: 2222, Outcome: probe.TCPReset}, {Port: 8080, Outcome: probe.TCPOpen}}
	only(t, check.TCP(f), "tcp.refused", check.SeverityError)
	f.Target = nil
	if fs := check.OtherPort(f); len(fs) != 0 {
		t.Errorf("OtherPort without a target: [%s]", codes(fs))
	}
}
