package sockets

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// listening returns "ADDR:PORT" of the LISTEN sockets of a fixture.
func listening(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	socks, err := ParseProcNetTCP(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []string
	for _, s := range socks {
		if s.State == StateListen {
			out = append(out, s.Local.String())
		}
	}
	return out
}

func TestParseProcNetTCPFixtures(t *testing.T) {
	if !littleEndian() {
		t.Skip("the fixtures were recorded on a little-endian machine")
	}
	// Recorded in the lab's Debian 12 container (see host/service's
	// TestCaptureFixtures); the .ss files next to them show what ss said
	// at the same moment.
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"debian12-healthy.tcp", []string{"0.0.0.0:22"}},
		{"debian12-healthy.tcp6", []string{"[::]:22"}},
		{"debian12-loopback.tcp", []string{"127.0.0.1:22"}},
		{"debian12-loopback.tcp6", nil},
		{"debian12-conflict-partial.tcp", []string{"0.0.0.0:22"}},
		{"debian12-conflict-partial.tcp6", []string{"[::]:22"}},
		{"debian12-conflict.tcp", nil},
		{"debian12-socket.tcp6", []string{"[::]:22"}},
		{"host-mixed.tcp", []string{"0.0.0.0:2024"}},
	} {
		if got := listening(t, tc.file); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: listening %v, want %v", tc.file, got, tc.want)
		}
	}
}

func TestParseProcNetTCPAddresses(t *testing.T) {
	if !littleEndian() {
		t.Skip("the addresses below are written as a little-endian kernel prints them")
	}
	in := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:08AE 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 1002 1 0000000000000000 100 0 0 10 0
   2: 000000FD000000000000000002000000:0016 000000FD000000000000000001000000:C350 01 00000000:00000000 02:000A7F3A 00000000     0        0 1003 4 0000000000000000 20 4 29 10 -1
`
	socks, err := ParseProcNetTCP([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ProcNetSocket{
		{Local: netip.MustParseAddrPort("[::1]:22"), Remote: netip.MustParseAddrPort("[::]:0"), State: StateListen, Inode: 1001},
		{Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:2222"), Remote: netip.MustParseAddrPort("[::]:0"), State: StateListen, UID: 105, Inode: 1002},
		{Local: netip.MustParseAddrPort("[fd00::2]:22"), Remote: netip.MustParseAddrPort("[fd00::1]:50000"), State: StateEstablished, Inode: 1003},
	}
	if !reflect.DeepEqual(socks, want) {
		t.Errorf("got\n%v\nwant\n%v", socks, want)
	}
}

func TestParseProcNetTCPErrors(t *testing.T) {
	for _, in := range []string{
		"   0: 0100007F:0016 00000000:0000 0A",                                                    // too few fields
		"   0: 0100007G:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",     // bad hex
		"   0: 0100007F:16 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",       // short port
		"   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 root 0 1 1",  // uid
		"   0: 0100007F00:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",   // 5-byte address
		"   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 inode 1", // inode
		"garbage",
	} {
		if _, err := ParseProcNetTCP([]byte(in)); err == nil {
			t.Errorf("ParseProcNetTCP(%q) accepted it", in)
		}
	}
}

// formatProcNet writes sockets back in /proc/net/tcp's layout, for the
// round-trip property of the fuzz target.
func formatProcNet(socks []ProcNetSocket) string {
	var b strings.Builder
	b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	hexAddr := func(ap netip.AddrPort) string {
		raw := ap.Addr().AsSlice()
		var h strings.Builder
		for i := 0; i < len(raw); i += 4 {
			fmt.Fprintf(&h, "%08X", binary.NativeEndian.Uint32(raw[i:]))
		}
		return fmt.Sprintf("%s:%04X", h.String(), ap.Port())
	}
	for i, s := range socks {
		fmt.Fprintf(&b, "%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 100 0 0 10 0\n",
			i, hexAddr(s.Local), hexAddr(s.Remote), uint8(s.State), s.UID, s.Inode)
	}
	return b.String()
}

func FuzzParseProcNetTCP(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.tcp*")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := ParseProcNetTCP(data)
		if err != nil {
			return
		}
		// What parses must survive being written back and parsed again.
		again, err := ParseProcNetTCP([]byte(formatProcNet(socks)))
		if err != nil {
			t.Fatalf("re-parsing %v: %v", socks, err)
		}
		if len(socks) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(socks, again) {
			t.Fatalf("round trip changed the sockets:\n%v\n%v", socks, again)
		}
	})
}
