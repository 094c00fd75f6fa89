package sockets

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
)

// encodeDiag builds the netlink answer the kernel sends for sockets, for
// the parser's tests.
func encodeDiag(socks []diagSocket, done bool) []byte {
	var out []byte
	for _, s := range socks {
		attr := []byte{}
		if s.v6only != nil {
			attr = make([]byte, 8)
			binary.NativeEndian.PutUint16(attr[0:2], 5)
			binary.NativeEndian.PutUint16(attr[2:4], inetDiagSkV6Only)
			if *s.v6only {
				attr[4] = 1
			}
		}
		msg := make([]byte, nlmsgHdrLen+inetDiagMsgLen, nlmsgHdrLen+inetDiagMsgLen+len(attr))
		msg = append(msg, attr...)
		binary.NativeEndian.PutUint32(msg[0:4], uint32(len(msg)))
		binary.NativeEndian.PutUint16(msg[4:6], sockDiagByFamily)
		b := msg[nlmsgHdrLen:]
		if s.local.Addr().Is4() {
			b[0] = syscall.AF_INET
			a := s.local.Addr().As4()
			copy(b[8:12], a[:])
		} else {
			b[0] = syscall.AF_INET6
			a := s.local.Addr().As16()
			copy(b[8:24], a[:])
		}
		b[1] = s.state
		binary.BigEndian.PutUint16(b[4:6], s.local.Port())
		binary.NativeEndian.PutUint32(b[64:68], s.uid)
		binary.NativeEndian.PutUint32(b[68:72], s.inode)
		out = append(out, msg...)
	}
	if done {
		d := make([]byte, nlmsgHdrLen+4)
		binary.NativeEndian.PutUint32(d[0:4], uint32(len(d)))
		binary.NativeEndian.PutUint16(d[4:6], nlmsgDone)
		out = append(out, d...)
	}
	return out
}

func TestParseDiagMessages(t *testing.T) {
	in := []diagSocket{
		{local: netip.MustParseAddrPort("0.0.0.0:22"), state: tcpListen, inode: 11},
		{local: netip.MustParseAddrPort("[::]:22"), state: tcpListen, inode: 12, v6only: boolPtr(true)},
		{local: netip.MustParseAddrPort("[::]:2222"), state: tcpListen, inode: 13, uid: 1000, v6only: boolPtr(false)},
	}
	got, done, err := parseDiagMessages(encodeDiag(in, true))
	if err != nil || !done {
		t.Fatalf("done=%v err=%v", done, err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d sockets", len(got))
	}
	for i := range in {
		g, w := got[i], in[i]
		if g.local != w.local || g.inode != w.inode || g.uid != w.uid || (g.v6only == nil) != (w.v6only == nil) || (g.v6only != nil && *g.v6only != *w.v6only) {
			t.Errorf("socket %d: got %+v, want %+v", i, g, w)
		}
	}

	// An error answer carries a negative errno.
	e := make([]byte, nlmsgHdrLen+20)
	binary.NativeEndian.PutUint32(e[0:4], uint32(len(e)))
	binary.NativeEndian.PutUint16(e[4:6], nlmsgError)
	binary.NativeEndian.PutUint32(e[nlmsgHdrLen:], uint32(0xffffffff-uint32(syscall.EPERM)+1))
	if _, _, err := parseDiagMessages(e); err == nil {
		t.Error("an NLMSG_ERROR answer was not an error")
	}
	// A length that runs past the buffer is refused, not read.
	bad := encodeDiag(in[:1], false)
	binary.NativeEndian.PutUint32(bad[0:4], 4096)
	if _, _, err := parseDiagMessages(bad); err == nil {
		t.Error("a truncated message was accepted")
	}
}

func FuzzParseDiagMessages(f *testing.F) {
	f.Add(encodeDiag([]diagSocket{{local: netip.MustParseAddrPort("[::]:22"), state: tcpListen, inode: 1, v6only: boolPtr(true)}}, true))
	f.Add(encodeDiag([]diagSocket{{local: netip.MustParseAddrPort("127.0.0.1:22"), state: tcpListen}}, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, _, err := parseDiagMessages(b)
		if err != nil {
			return
		}
		// Whatever parses is re-encoded to the same sockets.
		again, _, err := parseDiagMessages(encodeDiag(socks, true))
		if err != nil || len(again) != len(socks) {
			t.Fatalf("re-encoding %d sockets: %d, %v", len(socks), len(again), err)
		}
		for i := range socks {
			if again[i].local != socks[i].local || again[i].inode != socks[i].inode {
				t.Fatalf("socket %d changed: %+v vs %+v", i, socks[i], again[i])
			}
		}
	})
}
