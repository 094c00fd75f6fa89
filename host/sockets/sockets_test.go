package sockets

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host"
)

func TestListenerCovers(t *testing.T) {
	yes, no := boolPtr(true), boolPtr(false)
	for _, tc := range []struct {
		l    Listener
		addr string
		want bool
	}{
		{Listener{Addr: netip.MustParseAddr("0.0.0.0")}, "10.0.0.2", true},
		{Listener{Addr: netip.MustParseAddr("0.0.0.0")}, "fd00::2", false},
		{Listener{Addr: netip.MustParseAddr("127.0.0.1")}, "10.0.0.2", false},
		{Listener{Addr: netip.MustParseAddr("10.0.0.2")}, "10.0.0.2", true},
		{Listener{Addr: netip.MustParseAddr("10.0.0.2")}, "::ffff:10.0.0.2", true},
		{Listener{Addr: netip.MustParseAddr("::"), V6Only: yes}, "10.0.0.2", false},
		{Listener{Addr: netip.MustParseAddr("::"), V6Only: no}, "10.0.0.2", true},
		{Listener{Addr: netip.MustParseAddr("::")}, "10.0.0.2", false}, // unknown: as sshd sets it
		{Listener{Addr: netip.MustParseAddr("::")}, "fd00::2", true},
		{Listener{Addr: netip.MustParseAddr("::1")}, "fd00::2", false},
	} {
		if got := tc.l.Covers(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s (v6only %v) covers %s = %v, want %v", tc.l, tc.l.V6Only, tc.addr, got, tc.want)
		}
	}
}

func TestListenerOverlaps(t *testing.T) {
	py := Listener{Addr: netip.MustParseAddr("0.0.0.0"), Port: 22}
	if !py.Overlaps(netip.MustParseAddr("0.0.0.0"), 22) {
		t.Error("0.0.0.0:22 does not overlap itself")
	}
	if !py.Overlaps(netip.MustParseAddr("10.0.0.2"), 22) {
		t.Error("0.0.0.0:22 does not block a bind to 10.0.0.2:22")
	}
	if py.Overlaps(netip.MustParseAddr("0.0.0.0"), 2222) {
		t.Error("ports differ, yet overlap")
	}
	lo := Listener{Addr: netip.MustParseAddr("127.0.0.1"), Port: 22}
	if !lo.Overlaps(netip.MustParseAddr("0.0.0.0"), 22) {
		t.Error("127.0.0.1:22 does not block a bind to 0.0.0.0:22")
	}
	if py.Overlaps(netip.MustParseAddr("::"), 22) {
		t.Error("an IPv4 socket blocks [::]:22")
	}
}

// listenHere listens on addr in this process, for the live tests.
func listenHere(t *testing.T, network, addr string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s here: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func find(f Facts, ap netip.AddrPort) *Listener {
	for i, l := range f.Listeners {
		if l.Port == int(ap.Port()) && l.Addr.Unmap() == ap.Addr().Unmap() {
			return &f.Listeners[i]
		}
	}
	return nil
}

// TestGatherFindsOwnSocket listens on loopback in the test process and
// looks for that socket the way `sshdoctor server` looks for sshd's: it
// must be there with this process as its owner, by sock_diag and by /proc
// alike.
func TestGatherFindsOwnSocket(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	ap := listenHere(t, "tcp4", "127.0.0.1:0")
	f := Gather(context.Background(), host.LiveSystem(), Options{})
	if f.Source == SourceNone {
		t.Fatalf("no source: %v %v", f.Err, f.Notes)
	}
	l := find(f, ap)
	if l == nil {
		t.Fatalf("%s not among the listeners (source %s): %v", ap, f.Source, f.Listeners)
	}
	if len(l.Procs) != 1 || l.Procs[0].PID != os.Getpid() {
		t.Fatalf("%s owned by %+v, want this process (%d)", ap, l.Procs, os.Getpid())
	}
	exe := filepath.Base(os.Args[0])
	if comm := l.Procs[0].Comm; comm == "" || !strings.HasPrefix(exe, comm) {
		t.Errorf("comm %q, want a prefix of %q", comm, exe)
	}
	if !l.Loopback() {
		t.Errorf("%s is not loopback", l)
	}

	// The /proc reader sees the same socket, owner included.
	sys := host.System{Root: "/", Live: true}
	ls, err := readProcNet(sys)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ = attachOwners(sys, ls)
	var viaProc *Listener
	for i := range ls {
		if ls[i].Port == int(ap.Port()) && ls[i].Addr == ap.Addr() {
			viaProc = &ls[i]
		}
	}
	if viaProc == nil || viaProc.Inode != l.Inode || len(viaProc.Procs) != 1 {
		t.Errorf("/proc gives %+v, sock_diag %+v", viaProc, l)
	}
}

func TestGatherOffline(t *testing.T) {
	f := Gather(context.Background(), host.Offline(t.TempDir()), Options{From: netip.MustParseAddr("192.0.2.1")})
	if f.Source != SourceNone || len(f.Listeners) != 0 || f.Route != nil {
		t.Errorf("offline gather: %+v", f)
	}
	if len(f.Notes) == 0 || !strings.Contains(f.Notes[0], "offline") {
		t.Errorf("offline gather does not say why nothing is known: %v", f.Notes)
	}
}

func TestParseRouteGet(t *testing.T) {
	for _, tc := range []struct {
		file     string
		src, via string
		dev      string
		local    bool
	}{
		{"route-local.json", "127.0.0.1", "", "lo", true},
		{"route-gateway.json", "192.0.2.2", "192.0.2.1", "eth0", false},
		{"route-v6.json", "fd00::2", "", "eth0", false},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseRouteGet(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if r.Src.String() != tc.src || r.Dev != tc.dev || r.Local != tc.local || (tc.via != "" && r.Via.String() != tc.via) {
			t.Errorf("%s: %+v", tc.file, r)
		}
	}
	if _, err := ParseRouteGet([]byte("[]")); err == nil {
		t.Error("an empty answer is a route")
	}
}

// fakeRunner answers commands from a table keyed by the command line.
type fakeRunner map[string]struct {
	out string
	err error
}

func (r fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	a, ok := r[key]
	if !ok {
		return nil, errors.New("unexpected command " + key)
	}
	return []byte(a.out), a.err
}

func TestRouteToUsesIP(t *testing.T) {
	data, _ := os.ReadFile("testdata/route-gateway.json")
	sys := host.System{Root: "/", Live: true, Run: fakeRunner{
		"ip -j route get 10.1.2.3": {out: string(data)},
		"ip -j route get 10.9.9.9": {err: &host.ExitError{Cmd: "ip", Code: 2, Stderr: "RTNETLINK answers: Network is unreachable\n"}},
	}}
	r := routeTo(context.Background(), sys, netip.MustParseAddr("10.1.2.3"))
	if r.Src != netip.MustParseAddr("192.0.2.2") || r.From != netip.MustParseAddr("10.1.2.3") || r.Err != "" {
		t.Errorf("route: %+v", r)
	}
	r = routeTo(context.Background(), sys, netip.MustParseAddr("10.9.9.9"))
	if r.Src.IsValid() || !strings.Contains(r.Err, "Network is unreachable") {
		t.Errorf("unreachable route: %+v", r)
	}
}

func FuzzParseRouteGet(f *testing.F) {
	for _, n := range []string{"route-local.json", "route-gateway.json", "route-v6.json"} {
		data, _ := os.ReadFile(filepath.Join("testdata", n))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRouteGet(data)
		if err == nil && r.Src.IsValid() && r.Err != "" {
			t.Fatalf("a route with a source and an error: %+v", r)
		}
	})
}
