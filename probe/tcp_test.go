package probe

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// closedPort returns a loopback port that nothing listens on: one the
// kernel just handed out and that was closed again.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return ap
}

func TestConnectRefused(t *testing.T) {
	addr := closedPort(t)
	conn, a := Dialer{Timeout: 5 * time.Second}.Connect(context.Background(), addr)
	if conn != nil {
		conn.Close()
		t.Fatal("connected to a closed port")
	}
	if a.Outcome != TCPReset || a.Errno != "ECONNREFUSED" || a.Message != "Connection refused" {
		t.Errorf("attempt = %+v, want a reset with ECONNREFUSED and ssh's message", a)
	}
	if a.ICMP != nil {
		t.Errorf("ICMP = %+v for a plain RST", a.ICMP)
	}
	if a.Addr != addr || !a.DestLocal {
		t.Errorf("Addr %v DestLocal %v, want %v and true", a.Addr, a.DestLocal, addr)
	}
}

func TestConnectOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	conn, a := Dialer{}.Connect(context.Background(), addr)
	if conn == nil {
		t.Fatalf("connect failed: %+v", a)
	}
	defer conn.Close()
	if a.Outcome != TCPOpen || a.Errno != "" || !a.Source.IsLoopback() {
		t.Errorf("attempt = %+v, want open from a loopback source", a)
	}
	buf := make([]byte, 2)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(buf); err != nil || string(buf) != "hi" {
		t.Errorf("the returned connection does not work: %q, %v", buf, err)
	}
}

func TestConnectIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here:", err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	_, a := Dialer{}.Connect(context.Background(), ap)
	if a.Outcome != TCPReset {
		t.Errorf("IPv6 closed port: %+v, want reset", a)
	}
}

// extErr builds a sock_extended_err followed by the offender's sockaddr,
// as the kernel queues it.
func extErr(origin, typ, code uint8, offender netip.Addr) []byte {
	b := make([]byte, sizeofSockExtendedErr)
	binary.NativeEndian.PutUint32(b, uint32(unix.EHOSTUNREACH))
	b[4], b[5], b[6] = origin, typ, code
	if !offender.IsValid() {
		return append(b, make([]byte, 16)...) // AF_UNSPEC
	}
	if offender.Is4() {
		sa := make([]byte, 16)
		binary.NativeEndian.PutUint16(sa, unix.AF_INET)
		a := offender.As4()
		copy(sa[4:], a[:])
		return append(b, sa...)
	}
	sa := make([]byte, 28)
	binary.NativeEndian.PutUint16(sa, unix.AF_INET6)
	a := offender.As16()
	copy(sa[8:], a[:])
	return append(b, sa...)
}

func TestParseExtendedErr(t *testing.T) {
	self := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name     string
		in       []byte
		want     *ICMPError
		wantNil  bool
		selfAddr netip.Addr
	}{
		{name: "port unreachable from the target",
			in:   extErr(eeOriginICMP, 3, 3, netip.MustParseAddr("198.51.100.7")),
			want: &ICMPError{Offender: netip.MustParseAddr("198.51.100.7"), Type: 3, Code: 3}},
		{name: "host prohibited from a router",
			in:   extErr(eeOriginICMP, 3, 10, netip.MustParseAddr("203.0.113.1")),
			want: &ICMPError{Offender: netip.MustParseAddr("203.0.113.1"), Type: 3, Code: 10}},
		{name: "from our own address (ARP failure)",
			in: extErr(eeOriginICMP, 3, 1, self), selfAddr: self,
			want: &ICMPError{Offender: self, Type: 3, Code: 1, Local: true}},
		{name: "ICMPv6 admin prohibited",
			in:   extErr(eeOriginICMP6, 1, 1, netip.MustParseAddr("2001:db8::7")),
			want: &ICMPError{Offender: netip.MustParseAddr("2001:db8::7"), Type: 1, Code: 1, V6: true}},
		{name: "IPv4-mapped offender is unmapped",
			in:   extErr(eeOriginICMP6, 1, 4, netip.MustParseAddr("::ffff:198.51.100.7")),
			want: &ICMPError{Offender: netip.MustParseAddr("198.51.100.7"), Type: 1, Code: 4, V6: true}},
		{name: "local origin",
			in:   extErr(eeOriginLocal, 0, 0, netip.Addr{}),
			want: &ICMPError{Local: true}},
		{name: "loopback offender is local",
			in:   extErr(eeOriginICMP, 3, 3, netip.MustParseAddr("127.0.0.1")),
			want: &ICMPError{Offender: netip.MustParseAddr("127.0.0.1"), Type: 3, Code: 3, Local: true}},
		{name: "unknown origin", in: extErr(4, 0, 0, netip.Addr{}), wantNil: true},
		{name: "too short", in: make([]byte, 10), wantNil: true},
		{name: "offender sockaddr cut short", in: extErr(eeOriginICMP, 3, 3, netip.MustParseAddr("2001:db8::1"))[:30],
			want: &ICMPError{Type: 3, Code: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseExtendedErr(tt.in, tt.selfAddr)
			if tt.wantNil {
				if got != nil {
					t.Errorf("got %+v, want nil", got)
				}
				return
			}
			if got == nil || *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSSHMessage(t *testing.T) {
	for errno, want := range map[unix.Errno]string{
		unix.ECONNREFUSED: "Connection refused",
		unix.EHOSTUNREACH: "No route to host",
		unix.ENETUNREACH:  "Network is unreachable",
		unix.EPERM:        "Operation not permitted",
	} {
		if got := sshMessage(errno); got != want {
			t.Errorf("sshMessage(%v) = %q, want %q", errno, got, want)
		}
	}
}

func TestClassifyErrno(t *testing.T) {
	tests := []struct {
		errno unix.Errno
		want  TCPOutcome
	}{
		{unix.ECONNREFUSED, TCPReset},
		{unix.ENETUNREACH, TCPLocal},
		{unix.EHOSTUNREACH, TCPLocal},
		{unix.EPERM, TCPLocal},
		{unix.EACCES, TCPLocal},
		{unix.ETIMEDOUT, TCPTimeout},
		{unix.EMFILE, TCPError},
	}
	for _, tt := range tests {
		// fd -1 has no error queue: classification falls back on errno.
		a := classify(-1, TCPAttempt{}, tt.errno)
		if a.Outcome != tt.want || a.Errno != unix.ErrnoName(tt.errno) {
			t.Errorf("classify(%v) = %q (%s), want %q", tt.errno, a.Outcome, a.Errno, tt.want)
		}
	}
}
