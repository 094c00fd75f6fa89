//go:build linux

package sockets

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockDiagListeners dumps the listening TCP sockets of this process's
// network namespace with NETLINK_SOCK_DIAG: one request per address family,
// no /proc parsing, and the IPV6_V6ONLY flag that /proc does not show.
func sockDiagListeners() ([]Listener, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sockets: sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sockets: sock_diag bind: %w", err)
	}
	var out []Listener
	buf := make([]byte, 64<<10)
	for i, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		if err := unix.Sendto(fd, diagRequest(family, uint32(i+1)), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, fmt.Errorf("sockets: sock_diag request: %w", err)
		}
		for done := false; !done; {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return nil, fmt.Errorf("sockets: sock_diag receive: %w", err)
			}
			var socks []diagSocket
			socks, done, err = parseDiagMessages(buf[:n])
			if err != nil {
				return nil, fmt.Errorf("sockets: %w", err)
			}
			for _, s := range socks {
				if s.state != tcpListen {
					continue
				}
				l := Listener{Addr: s.local.Addr(), Port: int(s.local.Port()), Inode: uint64(s.inode), UID: int(s.uid)}
				if l.Addr.Is6() {
					l.V6Only = s.v6only
				}
				out = append(out, l)
			}
		}
	}
	return out, nil
}
