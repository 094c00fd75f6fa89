package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// Netlink constants of sock_diag (linux/inet_diag.h, linux/netlink.h). They
// are spelled out here because golang.org/x/sys has no inet_diag types, and
// the parser below is plain byte handling that builds and is fuzzed on any
// platform.
const (
	nlmsgHdrLen      = 16
	nlmsgError       = 2
	nlmsgDone        = 3
	sockDiagByFamily = 20
	inetDiagMsgLen   = 72
	inetDiagSkV6Only = 11
	tcpListen        = 10
)

// diagSocket is one inet_diag_msg of a dump.
type diagSocket struct {
	local  netip.AddrPort
	state  uint8
	uid    uint32
	inode  uint32
	v6only *bool
}

// parseDiagMessages parses one buffer of netlink messages answering a
// SOCK_DIAG_BY_FAMILY dump. done is true once NLMSG_DONE is seen.
func parseDiagMessages(b []byte) (socks []diagSocket, done bool, err error) {
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if l < nlmsgHdrLen || l > len(b) {
			return socks, false, fmt.Errorf("netlink message length %d out of range (%d bytes left)", l, len(b))
		}
		body := b[nlmsgHdrLen:l]
		switch typ {
		case nlmsgDone:
			return socks, true, nil
		case nlmsgError:
			if len(body) < 4 {
				return socks, false, errors.New("short netlink error message")
			}
			errno := -int32(binary.NativeEndian.Uint32(body[0:4]))
			if errno == 0 {
				break // an acknowledgement
			}
			return socks, false, fmt.Errorf("sock_diag: %w", syscall.Errno(errno))
		case sockDiagByFamily:
			s, err := parseInetDiagMsg(body)
			if err != nil {
				return socks, false, err
			}
			socks = append(socks, s)
		}
		// Messages are aligned to 4 bytes.
		next := (l + 3) &^ 3
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
	}
	return socks, false, nil
}

func parseInetDiagMsg(b []byte) (diagSocket, error) {
	var s diagSocket
	if len(b) < inetDiagMsgLen {
		return s, fmt.Errorf("inet_diag_msg of %d bytes, want %d", len(b), inetDiagMsgLen)
	}
	family := b[0]
	s.state = b[1]
	port := binary.BigEndian.Uint16(b[4:6])
	var addr netip.Addr
	switch family {
	case syscall.AF_INET:
		addr = netip.AddrFrom4([4]byte(b[8:12]))
	case syscall.AF_INET6:
		addr = netip.AddrFrom16([16]byte(b[8:24]))
	default:
		return s, fmt.Errorf("inet_diag_msg of address family %d", family)
	}
	s.local = netip.AddrPortFrom(addr, port)
	s.uid = binary.NativeEndian.Uint32(b[64:68])
	s.inode = binary.NativeEndian.Uint32(b[68:72])
	attrs := b[inetDiagMsgLen:]
	for len(attrs) >= 4 {
		al := int(binary.NativeEndian.Uint16(attrs[0:2]))
		at := binary.NativeEndian.Uint16(attrs[2:4])
		if al < 4 || al > len(attrs) {
			return s, fmt.Errorf("netlink attribute length %d out of range", al)
		}
		if at == inetDiagSkV6Only && al >= 5 {
			s.v6only = boolPtr(attrs[4] != 0)
		}
		next := (al + 3) &^ 3
		if next > len(attrs) {
			break
		}
		attrs = attrs[next:]
	}
	return s, nil
}

// diagRequest builds the dump request for the listening TCP sockets of one
// address family.
func diagRequest(family uint8, seq uint32) []byte {
	b := make([]byte, nlmsgHdrLen+56)
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:6], sockDiagByFamily)
	binary.NativeEndian.PutUint16(b[6:8], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(b[8:12], seq)
	r := b[nlmsgHdrLen:]
	r[0] = family
	r[1] = syscall.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:8], 1<<tcpListen)
	return b
}
