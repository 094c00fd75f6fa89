package firewall

// Small network-namespace helpers for this package's kernel tests, until
// they move to internal/lab. Everything happens in namespaces the test
// creates; the host's own firewall, routes and addresses are never touched.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/sshdoctor/sshdoctor/host"
	"golang.org/x/sys/unix"
)

// requireLab skips unless the test runs as root with the tools (names on
// PATH, or absolute paths of files); with CI=true a missing requirement
// fails the test instead.
func requireLab(t testing.TB, tools ...string) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("lab test: needs root to create network namespaces")
		return
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if strings.HasPrefix(tool, "/") {
			if _, err := os.Stat(tool); err != nil {
				fail("lab test: %s is missing", tool)
				return
			}
			continue
		}
		if _, err := exec.LookPath(tool); err != nil {
			fail("lab test: %s is not installed (apt-get install iproute2 nftables iptables ipset)", tool)
			return
		}
	}
}

var labSeq atomic.Int64

// labPair is a client and a server namespace joined by two veth links, so
// that rules can tell interfaces apart:
//
//	link A: client "ca" 10.1.0.{10,20,130,200} fd00:1::{10,20,8000:0:0:1} — server "sa" 10.1.0.1 fd00:1::1
//	link B: client "cb" 10.2.0.{10,77}         fd00:2::{10,77}             — server "sb" 10.2.0.1 fd00:2::1
//
// Neighbour entries are static on both sides: rules that drop ICMPv6 would
// otherwise break neighbour discovery and every IPv6 probe with it.
type labPair struct {
	cli, srv string
}

type labLink struct {
	cliIf, srvIf   string
	srv4, srv6     netip.Addr
	cli4, cli6     []netip.Addr
	cliMAC, srvMAC string
}

var labLinks = []labLink{
	{"ca", "sa", netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("fd00:1::1"),
		addrs("10.1.0.10", "10.1.0.20", "10.1.0.130", "10.1.0.200"), addrs("fd00:1::10", "fd00:1::20", "fd00:1::8000:0:0:1"),
		"02:fa:00:00:01:01", "02:fa:00:00:01:02"},
	{"cb", "sb", netip.MustParseAddr("10.2.0.1"), netip.MustParseAddr("fd00:2::1"),
		addrs("10.2.0.10", "10.2.0.77"), addrs("fd00:2::10", "fd00:2::77"),
		"02:fa:00:00:02:01", "02:fa:00:00:02:02"},
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

var sweepOnce sync.Once

// sweepStale deletes namespaces this package's tests left behind when a run
// was killed before its cleanup: sdfw-PID-... whose PID is gone.
func sweepStale(t testing.TB) {
	sweepOnce.Do(func() {
		entries, _ := os.ReadDir("/run/netns")
		for _, e := range entries {
			var pid, n int
			var side string
			if c, _ := fmt.Sscanf(e.Name(), "sdfw-%d-%d-%s", &pid, &n, &side); c != 3 || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				continue // another run, still going
			}
			if err := exec.Command("ip", "netns", "del", e.Name()).Run(); err != nil {
				t.Logf("could not delete the stale namespace %s: %v", e.Name(), err)
			}
		}
	})
}

func newLabPair(t testing.TB) *labPair {
	t.Helper()
	sweepStale(t)
	n := labSeq.Add(1)
	p := &labPair{
		cli: fmt.Sprintf("sdfw-%d-%d-c", os.Getpid(), n),
		srv: fmt.Sprintf("sdfw-%d-%d-s", os.Getpid(), n),
	}
	for _, ns := range []string{p.cli, p.srv} {
		runCmd(t, "ip", "netns", "add", ns)
		ns := ns
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("cleanup: ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	for _, l := range labLinks {
		runCmd(t, "ip", "-n", p.cli, "link", "add", l.cliIf, "address", l.cliMAC, "type", "veth",
			"peer", "name", l.srvIf, "netns", p.srv, "address", l.srvMAC)
		pfx4, pfx6 := "/24", "/64"
		runCmd(t, "ip", "-n", p.srv, "addr", "add", l.srv4.String()+pfx4, "dev", l.srvIf)
		runCmd(t, "ip", "-n", p.srv, "addr", "add", l.srv6.String()+pfx6, "dev", l.srvIf, "nodad")
		for _, a := range l.cli4 {
			runCmd(t, "ip", "-n", p.cli, "addr", "add", a.String()+pfx4, "dev", l.cliIf)
			runCmd(t, "ip", "-n", p.srv, "neigh", "replace", a.String(), "lladdr", l.cliMAC, "dev", l.srvIf, "nud", "permanent")
		}
		for _, a := range l.cli6 {
			runCmd(t, "ip", "-n", p.cli, "addr", "add", a.String()+pfx6, "dev", l.cliIf, "nodad")
			runCmd(t, "ip", "-n", p.srv, "neigh", "replace", a.String(), "lladdr", l.cliMAC, "dev", l.srvIf, "nud", "permanent")
		}
		for _, a := range []netip.Addr{l.srv4, l.srv6} {
			runCmd(t, "ip", "-n", p.cli, "neigh", "replace", a.String(), "lladdr", l.srvMAC, "dev", l.cliIf, "nud", "permanent")
		}
		runCmd(t, "ip", "-n", p.cli, "link", "set", l.cliIf, "up")
		runCmd(t, "ip", "-n", p.srv, "link", "set", l.srvIf, "up")
	}
	for _, ns := range []string{p.cli, p.srv} {
		runCmd(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	// Rejects answer every probe: no ICMP rate limit in the server.
	runCmd(t, "ip", "netns", "exec", p.srv, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
	return p
}

func runCmd(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nsRun runs a command in namespace ns with stdin, returning combined
// output. The command is started from a thread switched into ns, so it
// inherits the namespace: much faster than "ip netns exec", which also
// sets up a mount namespace.
func nsRun(ns, stdin string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := inNetns(ns, cmd.Run)
	return out.String(), err
}

// inNetns runs fn on a thread switched into namespace ns. Sockets created
// there stay in ns after the thread switches back.
func inNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it dies with this goroutine rather than
		// run other code in the wrong namespace.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// listen opens dual-stack listeners on ports in namespace ns; connections
// are accepted and closed at once. They close at cleanup.
func listen(t testing.TB, ns string, ports ...uint16) {
	t.Helper()
	for _, port := range ports {
		var ln net.Listener
		err := inNetns(ns, func() error {
			var err error
			ln, err = net.Listen("tcp", fmt.Sprintf("[::]:%d", port))
			return err
		})
		if err != nil {
			t.Fatalf("listen on %d in %s: %v", port, ns, err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
}

// probe sends one TCP SYN from src (in namespace ns) to dst:port and says
// what came back: "accept" (a SYN-ACK), "reset" (a TCP RST), "icmp:T/C" or
// "icmp6:T/C" (an ICMP error, type and code), or "drop" (nothing within
// timeout).
func probe(ns string, src, dst netip.Addr, port uint16, timeout time.Duration) (string, error) {
	af := unix.AF_INET
	if dst.Is6() {
		af = unix.AF_INET6
	}
	var fd int
	err := inNetns(ns, func() error {
		var err error
		fd, err = unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var sa, da unix.Sockaddr
	if af == unix.AF_INET {
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1); err != nil {
			return "", err
		}
		sa = &unix.SockaddrInet4{Addr: src.As4()}
		da = &unix.SockaddrInet4{Addr: dst.As4(), Port: int(port)}
	} else {
		if err := unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVERR, 1); err != nil {
			return "", err
		}
		sa = &unix.SockaddrInet6{Addr: src.As16()}
		da = &unix.SockaddrInet6{Addr: dst.As16(), Port: int(port)}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return "", fmt.Errorf("bind %s: %w", src, err)
	}
	if err := unix.Connect(fd, da); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		return "", fmt.Errorf("connect: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return "drop", nil
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "drop", nil
		}
		break
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return "", err
	}
	if soerr == 0 {
		return "accept", nil
	}
	if ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil && ti.State == unix.BPF_TCP_ESTABLISHED {
		// Connected, then an error answered the client's ACK (a firewall
		// that rejects what conntrack calls established, or new after a
		// notrack): with IP_RECVERR it lands on the socket. The SYN got
		// through.
		return "accept", nil
	}
	if origin, typ, code, ok := readErrQueue(fd); ok {
		switch origin {
		case unix.SO_EE_ORIGIN_ICMP:
			return fmt.Sprintf("icmp:%d/%d", typ, code), nil
		case unix.SO_EE_ORIGIN_ICMP6:
			return fmt.Sprintf("icmp6:%d/%d", typ, code), nil
		}
	}
	switch unix.Errno(soerr) {
	case unix.ECONNREFUSED:
		return "reset", nil
	case unix.ECONNRESET:
		// A reset after the SYN-ACK (a firewall that rejected the ACK):
		// the SYN itself got through.
		return "accept", nil
	}

	return "", fmt.Errorf("connect: %w", unix.Errno(soerr))
}

// readErrQueue reads the ICMP error the kernel queued for the socket.
func readErrQueue(fd int) (origin, typ, code uint8, ok bool) {
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil {
		return 0, 0, 0, false
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return 0, 0, 0, false
	}
	for _, m := range msgs {
		if (m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR) {
			if len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
				continue
			}
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
			return ee.Origin, ee.Type, ee.Code, true
		}
	}
	return 0, 0, 0, false
}

// nsRunner runs commands in a namespace for GatherLive (see nsRun), and
// hides the frontends whose tools would talk to the host: firewall-cmd
// asks the host's firewalld over D-Bus, which no network namespace
// separates.
type nsRunner struct {
	ns   string
	hide map[string]bool
}

func newNSRunner(ns string, hide ...string) nsRunner {
	r := nsRunner{ns: ns, hide: map[string]bool{}}
	for _, h := range hide {
		r.hide[h] = true
	}
	return r
}

func (r nsRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil || r.hide[name] {
		return nil, fmt.Errorf("%s: %w", name, host.ErrNotFound)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := inNetns(r.ns, cmd.Run); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}
