// Package probe gathers network facts about an SSH destination, one layer per
// file: DNS, TCP, banner, key exchange, host key and authentication. Probes
// never judge: they record what happened, with the evidence, and the check
// package decides what it means.
package probe

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// TCPOutcome classifies how a TCP connect ended.
type TCPOutcome string

// The outcomes of a TCP connect.
const (
	// TCPOpen: the three-way handshake completed.
	TCPOpen TCPOutcome = "open"
	// TCPReset: the SYN was answered with a RST (ECONNREFUSED, no ICMP).
	TCPReset TCPOutcome = "reset"
	// TCPICMP: an ICMP destination-unreachable aborted the connect; see
	// TCPAttempt.ICMP for who sent it (it may be this machine itself).
	TCPICMP TCPOutcome = "icmp"
	// TCPTimeout: nothing answered before the deadline.
	TCPTimeout TCPOutcome = "timeout"
	// TCPLocal: the connect failed on this machine with no ICMP error
	// queued: no route (ENETUNREACH/EHOSTUNREACH) or its own firewall
	// (EPERM).
	TCPLocal TCPOutcome = "local"
	// TCPError: anything else; Errno says what.
	TCPError TCPOutcome = "error"
)

// ICMPError is an ICMP error read from the socket's error queue.
type ICMPError struct {
	// Offender is the address that sent the ICMP error (a firewall, a router,
	// or this machine itself for ARP/ND failures).
	Offender netip.Addr
	// Type and Code are the ICMP (or ICMPv6) type and code.
	Type, Code uint8
	// V6 is true for ICMPv6.
	V6 bool
	// Local is true when the kernel of this machine generated the error
	// (origin SO_EE_ORIGIN_LOCAL, or the offender is one of our addresses).
	Local bool
}

// TCPAttempt is the fact of one connect to one address.
type TCPAttempt struct {
	// Addr is the address and port connected to.
	Addr netip.AddrPort
	// Source is the local address used; invalid when the connect failed
	// before one was chosen.
	Source netip.Addr
	// Outcome classifies the result.
	Outcome TCPOutcome
	// Errno is the symbolic errno of a failed connect ("ECONNREFUSED");
	// empty on success or timeout.
	Errno string
	// Message is what ssh prints for this failure ("Connection refused").
	Message string
	// ICMP is the ICMP error behind the failure; nil means none was queued.
	ICMP *ICMPError
	// DestLocal is true when Addr is an address of this machine, so an ICMP
	// error from it is this machine's own firewall rejecting.
	DestLocal bool
	// Elapsed is how long the connect took.
	Elapsed time.Duration
}

// Dialer connects with the ICMP error queue enabled, so that a RST, an ICMP
// reject and a silent drop can be told apart without privileges.
type Dialer struct {
	// Timeout bounds each connect; zero means 5s.
	Timeout time.Duration
}

// Connect connects to addr. On success the returned net.Conn is open and the
// caller owns it; on failure it is nil and the attempt says why.
func (d Dialer) Connect(ctx context.Context, addr netip.AddrPort) (net.Conn, TCPAttempt) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	conn, a := connect(ctx, addr)
	a.Addr = addr
	a.DestLocal = isLocalAddr(addr.Addr().Unmap())
	a.Elapsed = time.Since(start)
	return conn, a
}

// IsLocalAddr reports whether a is an address of this machine.
func IsLocalAddr(a netip.Addr) bool { return isLocalAddr(a) }

// isLocalAddr reports whether a is an address of this machine.
func isLocalAddr(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr().Unmap() == a {
			return true
		}
	}
	return false
}
