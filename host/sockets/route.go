package sockets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/sshdoctor/sshdoctor/host"
)

// Route is how this machine answers a client: the source address and
// interface the kernel picks for packets to it. A server socket bound to
// another address of the machine may still accept the client (Linux
// accepts on any local address by default), but a socket bound only to
// loopback or to an address of another interface is a strong hint that the
// client is not served; the check judges.
type Route struct {
	// From is the client address asked about.
	From netip.Addr
	// Src is the local source address toward From; invalid when not
	// known (Err says why).
	Src netip.Addr
	// Dev is the outgoing interface; empty when not known.
	Dev string
	// Via is the gateway; invalid for a directly connected client.
	Via netip.Addr
	// Local is true when From is an address of this machine itself.
	Local bool
	// Err is why the route is not known; empty when it is.
	Err string
}

// routeTo asks `ip -j route get FROM` on the inspected system; without ip
// (and only when this process runs in the system's own network namespace)
// it connects a UDP socket, which makes the kernel choose the source
// address without sending anything.
func routeTo(ctx context.Context, sys host.System, from netip.Addr) Route {
	out, err := sys.Command(ctx, "ip", "-j", "route", "get", from.String())
	if err == nil {
		r, perr := ParseRouteGet(out)
		if perr != nil {
			return Route{From: from, Err: perr.Error()}
		}
		r.From = from
		return r
	}
	if errors.Is(err, host.ErrNotFound) && (sys.Root == "" || sys.Root == "/") {
		return udpRoute(from)
	}
	var ee *host.ExitError
	if errors.As(err, &ee) {
		return Route{From: from, Err: fmt.Sprintf("ip route get %s: %s", from, trimMsg(ee.Stderr))}
	}
	return Route{From: from, Err: err.Error()}
}

func udpRoute(from netip.Addr) Route {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 9)))
	if err != nil {
		return Route{From: from, Err: fmt.Sprintf("no route to %s: %v", from, err)}
	}
	defer c.Close()
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return Route{From: from, Src: src}
}

// ParseRouteGet parses the JSON of `ip -j route get ADDR`:
//
//	[{"type":"local","dst":"10.0.0.2","dev":"lo","prefsrc":"10.0.0.2",...}]
//	[{"dst":"10.0.0.1","gateway":"10.0.0.254","dev":"eth0","prefsrc":"10.0.0.2",...}]
func ParseRouteGet(data []byte) (Route, error) {
	var rs []struct {
		Type    string `json:"type"`
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		PrefSrc string `json:"prefsrc"`
	}
	if err := json.Unmarshal(data, &rs); err != nil {
		return Route{}, fmt.Errorf("sockets: ip route get: %w", err)
	}
	if len(rs) == 0 {
		return Route{}, errors.New("sockets: ip route get: no route")
	}
	r := rs[0]
	out := Route{Dev: r.Dev, Local: r.Type == "local"}
	if r.PrefSrc != "" {
		a, err := netip.ParseAddr(r.PrefSrc)
		if err != nil {
			return Route{}, fmt.Errorf("sockets: ip route get: prefsrc: %w", err)
		}
		out.Src = a
	}
	if r.Gateway != "" {
		if a, err := netip.ParseAddr(r.Gateway); err == nil {
			out.Via = a
		}
	}
	if !out.Src.IsValid() {
		out.Err = "the route has no source address"
	}
	return out, nil
}

func trimMsg(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
