//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CommandTimeout bounds Host.Run, Host.RunTool, SSHD.Login and the lab's own
// setup commands, so that a hung command fails its test with its output
// instead of hanging the test binary until go test's global timeout.
var CommandTimeout = 2 * time.Minute

// Host is one network namespace made by the lab: a machine with its own
// interfaces, routes, firewall and processes. Everything done through a Host
// happens inside its namespace, never in the test machine's own.
type Host struct {
	Name  string     // network namespace name (in /run/netns), e.g. "sdl-1234-3-srv"
	Addr4 netip.Addr // IPv4 address on the wire to the other hosts
	Addr6 netip.Addr // IPv6 ULA address on the wire, added with nodad so it is usable at once
	Link  string     // name of the wire's interface inside the namespace

	// client is the host that SSHD.Login connects from by default: the
	// client of the topology this host belongs to.
	client *Host
}

// Pair is two hosts joined by one wire (a veth pair) on a /24 and a /64.
type Pair struct {
	Client, Server *Host
}

// Iface is one interface of a host that has several.
type Iface struct {
	Link  string     // interface name inside the host's namespace
	Addr4 netip.Addr // its IPv4 address
	Addr6 netip.Addr // its IPv6 address (nodad)
}

// Routed is three hosts in a line: Client and Server sit on two different
// subnets and reach each other only through Router, which forwards. Router's
// own Addr4/Addr6/Link are on the client's subnet; Upstream is its side of
// the server's subnet. Because ICMP errors for forwarded traffic come from
// Router, tests get an offender that is not the server.
type Routed struct {
	Client, Router, Server *Host
	Upstream               Iface // Router's interface on the server's subnet
}

// NewPair makes two fresh namespaces, Client and Server, joined by a veth
// pair with loopback up, IPv4 .1 (client) and .2 (server) on a /24 and IPv6
// ::1 and ::2 on a /64. Both are deleted when the test ends, after every
// process still inside them is killed.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Require(t)
	n := nextSeq()
	net4, net6 := subnet(n)
	c := newHost(t, nsName(n, "cli"))
	s := newHost(t, nsName(n, "srv"))
	wire(t, c, "veth0", s, "veth0")
	c.setAddrs(t, "veth0", hostAddr(net4, 1), hostAddr(net6, 1))
	s.setAddrs(t, "veth0", hostAddr(net4, 2), hostAddr(net6, 2))
	s.client = c
	return &Pair{Client: c, Server: s}
}

// NewRouted makes the three-host topology described at Routed, with
// forwarding on in Router and default routes in Client and Server pointing
// at it.
func NewRouted(t testing.TB) *Routed {
	t.Helper()
	Require(t)
	n := nextSeq()
	cnet4, cnet6 := subnet(n)
	snet4, snet6 := subnet(nextSeq())
	c := newHost(t, nsName(n, "cli"))
	r := newHost(t, nsName(n, "rtr"))
	s := newHost(t, nsName(n, "srv"))
	wire(t, c, "veth0", r, "veth0")
	wire(t, r, "veth1", s, "veth0")
	c.setAddrs(t, "veth0", hostAddr(cnet4, 2), hostAddr(cnet6, 2))
	r.setAddrs(t, "veth0", hostAddr(cnet4, 1), hostAddr(cnet6, 1))
	up := Iface{Link: "veth1", Addr4: hostAddr(snet4, 1), Addr6: hostAddr(snet6, 1)}
	r.addAddrs(t, up.Link, up.Addr4, snet4.Bits(), up.Addr6, snet6.Bits())
	s.setAddrs(t, "veth0", hostAddr(snet4, 2), hostAddr(snet6, 2))
	r.Run(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	ipCmd(t, "-n", c.Name, "route", "add", "default", "via", r.Addr4.String())
	ipCmd(t, "-n", c.Name, "-6", "route", "add", "default", "via", r.Addr6.String())
	ipCmd(t, "-n", s.Name, "route", "add", "default", "via", up.Addr4.String())
	ipCmd(t, "-n", s.Name, "-6", "route", "add", "default", "via", up.Addr6.String())
	r.client = c
	s.client = c
	return &Routed{Client: c, Router: r, Server: s, Upstream: up}
}

// MTUBlackHole turns Router into a path-MTU black hole for traffic towards
// Client: the client's link gets this MTU, Router drops the ICMP "fragmentation
// needed" / "packet too big" errors it would send back, and Client keeps
// advertising a full-size MSS (as a client behind such a hop does), so large
// segments from Server vanish silently while small ones pass. Below 1280,
// the IPv6 minimum, the kernel turns IPv6 off on that link, so the black
// hole is IPv4 only.
func (r *Routed) MTUBlackHole(t testing.TB, mtu int) {
	t.Helper()
	m := strconv.Itoa(mtu)
	ipCmd(t, "-n", r.Client.Name, "link", "set", r.Client.Link, "mtu", m)
	ipCmd(t, "-n", r.Router.Name, "link", "set", r.Router.Link, "mtu", m)
	// The MSS a host advertises follows its route's MTU; advmss keeps it
	// at what a 1500-byte path would give, which is what makes the hole.
	ipCmd(t, "-n", r.Client.Name, "route", "replace", "default", "via", r.Router.Addr4.String(),
		"dev", r.Client.Link, "advmss", "1460")
	r.Router.IPTables(t, "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
	if mtu < 1280 {
		return
	}
	ipCmd(t, "-n", r.Client.Name, "-6", "route", "replace", "default", "via", r.Router.Addr6.String(),
		"dev", r.Client.Link, "advmss", "1440")
	r.Router.IP6Tables(t, "-A", "OUTPUT", "-p", "ipv6-icmp", "--icmpv6-type", "packet-too-big", "-j", "DROP")
}

// AddAddr adds an address in CIDR form (e.g. "10.9.9.9/32" or
// "fd00:5d::9/128") to the host's wire interface. IPv6 addresses are added
// with nodad so they work at once.
func (h *Host) AddAddr(t testing.TB, prefix string) {
	t.Helper()
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		t.Fatalf("lab: AddAddr %q: %v", prefix, err)
	}
	args := []string{"-n", h.Name, "addr", "add", p.String(), "dev", h.Link}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	ipCmd(t, args...)
}

// Command returns a command that runs name inside the host's namespace (with
// ip netns exec, which execs in place, so the process's PID is the command's
// own). It is killed if the test binary dies.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Children such as sshd's per-connection processes may keep the output
	// pipe open after the command exits; do not wait on them forever.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command inside the host and returns its combined output. It
// fails the test if the command fails or outlives CommandTimeout.
func (h *Host) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lab: %s in %s: %v\n%s", strings.Join(append([]string{name}, args...), " "), h.Name, err, out)
	}
	return string(out)
}

// Start starts a command inside the host in the background. The test's
// cleanup stops it (SIGTERM, then SIGKILL) and waits for it.
func (h *Host) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	return startProc(t, h.Command(context.Background(), name, args...))
}

// newHost makes a namespace with loopback up and registers its deletion.
func newHost(t testing.TB, name string) *Host {
	t.Helper()
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() {
		if err := deleteNetns(name); err != nil {
			t.Errorf("lab: %v", err)
		}
	})
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	return &Host{Name: name}
}

// wire joins two hosts with a veth pair created directly inside their
// namespaces, so no end ever appears in the test machine's own namespace
// (where names could clash) and both vanish with the namespaces.
func wire(t testing.TB, a *Host, aLink string, b *Host, bLink string) {
	t.Helper()
	ipCmd(t, "link", "add", aLink, "netns", a.Name, "type", "veth", "peer", "name", bLink, "netns", b.Name)
}

// setAddrs makes link the host's wire and gives it addresses on a /24 and a
// /64.
func (h *Host) setAddrs(t testing.TB, link string, a4, a6 netip.Addr) {
	t.Helper()
	h.Link, h.Addr4, h.Addr6 = link, a4, a6
	h.addAddrs(t, link, a4, 24, a6, 64)
}

func (h *Host) addAddrs(t testing.TB, link string, a4 netip.Addr, bits4 int, a6 netip.Addr, bits6 int) {
	t.Helper()
	// Link up first: with the IPv6 address added while the link was down,
	// the first IPv6 connection in the second after setup lost its SYN and
	// took a full retransmission timeout (1s, measured here); in this order
	// it takes under a millisecond.
	ipCmd(t, "-n", h.Name, "link", "set", link, "up")
	ipCmd(t, "-n", h.Name, "addr", "add", netip.PrefixFrom(a4, bits4).String(), "dev", link)
	ipCmd(t, "-n", h.Name, "addr", "add", netip.PrefixFrom(a6, bits6).String(), "dev", link, "nodad")
}

// subnet gives topology n of this test binary its own 10.X.Y.0/24 and
// fd00:5d:X:Y::/64, X from the PID and Y from n. The namespaces are isolated
// from each other, so a clash would not break anything; distinct subnets
// just keep logs of parallel runs readable.
func subnet(n uint32) (netip.Prefix, netip.Prefix) {
	x := byte(1 + os.Getpid()%250)
	y := byte(n)
	v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, x, y, 0}), 24)
	v6 := netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0x00, 0x00, 0x5d, 0, x, 0, y}), 64)
	return v4, v6
}

// hostAddr returns the address with host part i in prefix p.
func hostAddr(p netip.Prefix, i byte) netip.Addr {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		a[3] = i
		return netip.AddrFrom4(a)
	}
	a := p.Addr().As16()
	a[15] = i
	return netip.AddrFrom16(a)
}

// ipCmd runs ip(8) in the test machine's namespace. Every call names a lab
// namespace (netns add, -n NAME, or link add ... netns NAME): the lab never
// changes the machine's own network.
func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("lab: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// deleteNetns kills every process left inside a namespace and deletes it.
func deleteNetns(name string) error {
	if err := killNetns(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("deleting namespace %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// killNetns SIGKILLs every process whose network namespace is the named one
// and waits until they are gone, so that nothing a test started (sshd's
// session children, a container's services) outlives it.
func killNetns(name string) error {
	for range 50 {
		pids, err := netnsPIDs(name)
		if err != nil || len(pids) == 0 {
			return err
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pids, err := netnsPIDs(name)
	if err == nil && len(pids) > 0 {
		err = fmt.Errorf("processes %v in namespace %s survive SIGKILL", pids, name)
	}
	return err
}

// netnsPIDs lists the live processes in the named namespace, as
// `ip netns pids` does: by comparing namespace inodes.
func netnsPIDs(name string) ([]int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &want); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) != nil {
			continue // exited meanwhile, or a kernel thread
		}
		if st.Dev == want.Dev && st.Ino == want.Ino && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// isZombie reports whether a process has exited and only waits to be
// reaped; killing it again achieves nothing.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain ") ".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
