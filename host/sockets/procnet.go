package sockets

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// TCPState is a TCP state as the kernel numbers it in /proc/net/tcp.
type TCPState uint8

// The states Gather cares about (see include/net/tcp_states.h).
const (
	StateEstablished TCPState = 0x01
	StateListen      TCPState = 0x0A
)

// ProcNetSocket is one line of /proc/net/tcp or /proc/net/tcp6.
type ProcNetSocket struct {
	Local, Remote netip.AddrPort
	State         TCPState
	// UID is the socket's owner.
	UID int
	// Inode identifies the socket in /proc/PID/fd ("socket:[INODE]"); 0
	// for sockets no process holds any more (TIME_WAIT).
	Inode uint64
}

// ParseProcNetTCP parses the text of /proc/net/tcp or /proc/net/tcp6 (the
// address width tells which). Addresses are printed by the kernel as 32-bit
// words in the machine's byte order, so the file is only meaningful on the
// machine (or an identical one) that wrote it.
func ParseProcNetTCP(data []byte) ([]ProcNetSocket, error) {
	var out []ProcNetSocket
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if n == 1 && f[0] == "sl" {
			continue // header
		}
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			return out, fmt.Errorf("line %d: not a socket line: %q", n, clip(line))
		}
		var s ProcNetSocket
		var err error
		if s.Local, err = parseHexAddrPort(f[1]); err != nil {
			return out, fmt.Errorf("line %d: local address: %w", n, err)
		}
		if s.Remote, err = parseHexAddrPort(f[2]); err != nil {
			return out, fmt.Errorf("line %d: remote address: %w", n, err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return out, fmt.Errorf("line %d: state %q: %w", n, f[3], err)
		}
		s.State = TCPState(st)
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return out, fmt.Errorf("line %d: uid %q: %w", n, f[7], err)
		}
		s.UID = int(uid)
		if s.Inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
			return out, fmt.Errorf("line %d: inode %q: %w", n, f[9], err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}

// parseHexAddrPort parses "0100007F:0016" (IPv4) or 32 hex digits and a
// port (IPv6). Each 32-bit word of the address is in host byte order; the
// port is big-endian hex.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%q is not ADDR:PORT", clip(s))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", p, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q is not 8 or 32 hex digits", clip(a))
	}
	var b [16]byte
	for i := 0; i < len(raw); i += 4 {
		// The kernel prints each word with %08X of its in-memory value.
		word := binary.BigEndian.Uint32(raw[i:])
		binary.NativeEndian.PutUint32(b[i:], word)
	}
	var addr netip.Addr
	if len(raw) == 4 {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		addr = netip.AddrFrom16(b)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
