//go:build linux

package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// connect does a non-blocking connect on a socket it owns, with IP_RECVERR
// (IPV6_RECVERR) set first, so that after a failure the ICMP error that
// aborted the connect can still be read from the error queue. Go's
// net.Dialer closes the socket on failure, which loses that evidence.
func connect(ctx context.Context, addr netip.AddrPort) (net.Conn, TCPAttempt) {
	var a TCPAttempt
	ip := addr.Addr().Unmap()
	v6 := ip.Is6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, failed(a, err)
	}
	keep := false
	defer func() {
		if !keep {
			unix.Close(fd)
		}
	}()
	if v6 {
		err = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
	} else {
		err = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1)
	}
	if err != nil {
		return nil, failed(a, err)
	}
	var sa unix.Sockaddr
	if v6 {
		s := &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				s.ZoneId = uint32(ifi.Index)
			}
		}
		sa = s
	} else {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}
	}

	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		// Failed at once: no route, or our own firewall.
		a = classify(fd, a, err)
		return nil, a
	}
	if err == nil {
		err = unix.Errno(0)
	} else {
		err = waitConnected(ctx, fd)
	}
	a.Source = localAddr(fd)
	switch {
	case err == unix.Errno(0):
		f := os.NewFile(uintptr(fd), "tcp")
		c, ferr := net.FileConn(f) // dups the descriptor
		f.Close()
		keep = true // f.Close closed fd
		if ferr != nil {
			return nil, failed(a, ferr)
		}
		a.Outcome = TCPOpen
		return c, a
	case errors.Is(err, context.DeadlineExceeded):
		a.Outcome = TCPTimeout
		a.Message = "Connection timed out"
		// An ICMP error may still have arrived as a soft error.
		if icmp := readErrQueue(fd, a.Source); icmp != nil {
			a.ICMP = icmp
			a.Outcome = TCPICMP
		}
		return nil, a
	case errors.Is(err, context.Canceled):
		return nil, failed(a, err)
	default:
		return nil, classify(fd, a, err)
	}
}

// waitConnected polls until the connect finished or ctx ends, and returns
// the socket's pending error (Errno(0) when connected).
func waitConnected(ctx context.Context, fd int) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := 50 * time.Millisecond
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < wait {
				wait = max(left, time.Millisecond)
			}
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int(wait/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n > 0 && pfd[0].Revents != 0 {
			soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err != nil {
				return err
			}
			return unix.Errno(soerr)
		}
	}
}

func classify(fd int, a TCPAttempt, err error) TCPAttempt {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return failed(a, err)
	}
	a.Errno = unix.ErrnoName(errno)
	a.Message = sshMessage(errno)
	if !a.Source.IsValid() {
		a.Source = localAddr(fd)
	}
	a.ICMP = readErrQueue(fd, a.Source)
	switch {
	case a.ICMP != nil:
		a.Outcome = TCPICMP
	case errno == unix.ECONNREFUSED:
		a.Outcome = TCPReset
	case errno == unix.ENETUNREACH || errno == unix.EHOSTUNREACH || errno == unix.EPERM ||
		errno == unix.EACCES || errno == unix.EADDRNOTAVAIL || errno == unix.ENONET:
		a.Outcome = TCPLocal
	case errno == unix.ETIMEDOUT:
		a.Outcome = TCPTimeout
	default:
		a.Outcome = TCPError
	}
	return a
}

func failed(a TCPAttempt, err error) TCPAttempt {
	a.Outcome = TCPError
	var errno unix.Errno
	if errors.As(err, &errno) {
		a.Errno = unix.ErrnoName(errno)
		a.Message = sshMessage(errno)
	} else {
		a.Message = err.Error()
	}
	return a
}

// sshMessage is strerror(errno), as ssh prints it.
func sshMessage(e unix.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

func localAddr(fd int) netip.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.Addr{}
	}
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		a := netip.AddrFrom4(s.Addr)
		if a.IsUnspecified() {
			return netip.Addr{}
		}
		return a
	case *unix.SockaddrInet6:
		a := netip.AddrFrom16(s.Addr)
		if a.IsUnspecified() {
			return netip.Addr{}
		}
		return a
	}
	return netip.Addr{}
}

// sock_extended_err origins and size (linux/errqueue.h).
const (
	sizeofSockExtendedErr = 16

	eeOriginLocal = 1
	eeOriginICMP  = 2
	eeOriginICMP6 = 3
)

// readErrQueue reads the first queued extended error, if any.
func readErrQueue(fd int, self netip.Addr) *ICMPError {
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	for range 4 {
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err != nil {
			return nil
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil
		}
		for _, m := range msgs {
			if !((m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR) ||
				(m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR)) {
				continue
			}
			if e := parseExtendedErr(m.Data, self); e != nil {
				return e
			}
		}
	}
	return nil
}

// parseExtendedErr decodes a struct sock_extended_err followed by the
// offender's sockaddr (SO_EE_OFFENDER).
func parseExtendedErr(b []byte, self netip.Addr) *ICMPError {
	if len(b) < sizeofSockExtendedErr {
		return nil
	}
	origin, typ, code := b[4], b[5], b[6]
	e := &ICMPError{Type: typ, Code: code}
	switch origin {
	case eeOriginICMP:
	case eeOriginICMP6:
		e.V6 = true
	case eeOriginLocal:
		e.Local = true
	default:
		return nil
	}
	off := b[sizeofSockExtendedErr:]
	if len(off) >= 2 {
		switch binary.NativeEndian.Uint16(off) {
		case unix.AF_INET:
			if len(off) >= 8 {
				e.Offender = netip.AddrFrom4([4]byte(off[4:8]))
			}
		case unix.AF_INET6:
			if len(off) >= 24 {
				e.Offender = netip.AddrFrom16([16]byte(off[8:24])).Unmap()
			}
		}
	}
	if e.Offender.IsValid() && (e.Offender == self || isLocalAddr(e.Offender)) {
		e.Local = true
	}
	return e
}
