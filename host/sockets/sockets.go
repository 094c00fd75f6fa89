// Package sockets gathers the listening TCP sockets of the inspected system
// and the processes that hold them, for `sshdoctor server`: which program
// listens on the SSH port, on which addresses, and with which source
// address this machine answers a given client. It only gathers facts; the
// check package compares them with sshd's configuration.
//
// Sockets are read with sock_diag netlink when the inspected system is the
// one this process runs in (it also tells whether an IPv6 socket accepts
// IPv4), else from /proc/net/tcp and /proc/net/tcp6 under the system's
// root. Owners come from the socket:[inode] links in /proc/PID/fd. An
// offline tree has no sockets: Facts then says so.
package sockets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"

	"github.com/sshdoctor/sshdoctor/host"
)

// Source names where the listening sockets were read from.
type Source string

// The sources Gather uses.
const (
	SourceNone     Source = ""              // not read (offline tree, or both ways failed)
	SourceSockDiag Source = "sock_diag"     // NETLINK_SOCK_DIAG in this process's network namespace
	SourceProcNet  Source = "/proc/net/tcp" // /proc/net/tcp and tcp6 under the system's root
)

// Facts is what Gather learns about listening sockets.
type Facts struct {
	// Source says where the sockets were read; SourceNone means they are
	// not known (Notes or Err say why) and Listeners must not be read as
	// "nothing listens".
	Source Source
	// Listeners are the TCP sockets in LISTEN state, sorted by port, then
	// address; empty with a Source means nothing listens.
	Listeners []Listener
	// OwnersComplete is true when every process's file descriptors could
	// be read, so a listener without Procs really has no process (a socket
	// systemd or the kernel holds for itself is still owned by PID 1).
	// False when some /proc/PID/fd was unreadable (not running as root).
	OwnersComplete bool
	// Route is the route back to Options.From; nil when From was not
	// given or the system is offline.
	Route *Route
	// Notes say plainly what could not be known and why; empty when
	// everything was read.
	Notes []string
	// Err is the failure that left Source empty on a live system; nil
	// otherwise. Notes carry its text (errors do not survive JSON).
	Err error `json:"-"`
}

// Listener is one listening TCP socket.
type Listener struct {
	// Addr is the local address; the unspecified address (0.0.0.0 or ::)
	// means every address of its family.
	Addr netip.Addr
	// Port is the local TCP port.
	Port int
	// V6Only tells for an IPv6 socket whether it refuses IPv4 clients;
	// nil when not known (from /proc, which does not say, or for IPv4).
	V6Only *bool
	// Inode identifies the socket in /proc/PID/fd links; 0 when unknown.
	Inode uint64
	// UID is the socket's owner; -1 when unknown.
	UID int
	// Procs are the processes holding the socket, sorted by PID; empty
	// when none was found (see Facts.OwnersComplete).
	Procs []Process
}

// Process is a process holding a socket.
type Process struct {
	PID int
	// Comm is the program's short name from /proc/PID/comm ("sshd",
	// "systemd", "python3"); empty when unreadable.
	Comm string
	// Cmdline is the command line with arguments joined by spaces; empty
	// when unreadable (kernel threads, or the process exited).
	Cmdline string
}

// String is address:port as ss prints it ("0.0.0.0:22", "[::]:22").
func (l Listener) String() string {
	return netip.AddrPortFrom(l.Addr, uint16(l.Port)).String()
}

// Wildcard reports whether the socket listens on every address of its
// family.
func (l Listener) Wildcard() bool { return l.Addr.IsUnspecified() }

// Loopback reports whether only this machine can reach the socket.
func (l Listener) Loopback() bool { return l.Addr.Unmap().IsLoopback() }

// AcceptsIPv4 reports whether an IPv6 socket also accepts IPv4 clients
// (a dual-stack [::] socket); unknown V6Only counts as no, which is what
// sshd does (it always sets IPV6_V6ONLY).
func (l Listener) AcceptsIPv4() bool {
	return l.Addr.Is6() && l.Wildcard() && l.V6Only != nil && !*l.V6Only
}

// Covers reports whether a client reaching this machine at local address a
// would be accepted by the socket's address (ports aside).
func (l Listener) Covers(a netip.Addr) bool {
	a = a.Unmap()
	la := l.Addr.Unmap()
	switch {
	case la == a:
		return true
	case l.Wildcard() && l.Addr.Is4():
		return a.Is4()
	case l.Wildcard() && l.Addr.Is6():
		return a.Is6() || (a.Is4() && l.AcceptsIPv4())
	}
	return false
}

// Overlaps reports whether l and o would compete for the same address and
// port: binding one makes binding the other fail with "Address already in
// use".
func (l Listener) Overlaps(addr netip.Addr, port int) bool {
	if l.Port != port {
		return false
	}
	o := Listener{Addr: addr, Port: port}
	return l.Covers(addr) || (o.Wildcard() && o.Covers(l.Addr))
}

// HasComm reports whether one of the processes holding the socket is
// called comm.
func (l Listener) HasComm(comm string) bool {
	return slices.ContainsFunc(l.Procs, func(p Process) bool { return p.Comm == comm })
}

// OnPort returns the listeners on port.
func (f *Facts) OnPort(port int) []Listener {
	var out []Listener
	for _, l := range f.Listeners {
		if l.Port == port {
			out = append(out, l)
		}
	}
	return out
}

// Options says what Gather looks at besides the listening sockets.
type Options struct {
	// From is the client address of `sshdoctor server --from`; the zero
	// Addr skips the route lookup.
	From netip.Addr
}

// Gather reads the listening TCP sockets, their owners and the route back
// to Options.From. It never fails: what could not be read is in Notes and
// Err.
func Gather(ctx context.Context, sys host.System, o Options) Facts {
	var f Facts
	if !sys.Live {
		f.Notes = append(f.Notes, "offline tree: which programs listen on which ports is only known on the running system")
		return f
	}
	inProcess := sys.Root == "" || sys.Root == "/"
	var diagErr error
	if inProcess {
		f.Listeners, diagErr = sockDiagListeners()
		if diagErr == nil {
			f.Source = SourceSockDiag
		}
	}
	if f.Source == SourceNone {
		ls, err := readProcNet(sys)
		if err != nil {
			f.Err = errors.Join(diagErr, err)
			f.Notes = append(f.Notes, "the listening sockets could not be read: "+f.Err.Error())
		} else {
			f.Listeners, f.Source = ls, SourceProcNet
			f.Notes = append(f.Notes, "read from /proc/net/tcp{,6}, which does not tell whether an IPv6 socket also accepts IPv4")
		}
	}
	if f.Source != SourceNone {
		var unreadable int
		f.Listeners, unreadable = attachOwners(sys, f.Listeners)
		f.OwnersComplete = unreadable == 0
		if unreadable > 0 {
			f.Notes = append(f.Notes, fmt.Sprintf("the open files of %d processes could not be read (run as root to see every socket's program)", unreadable))
		}
		sortListeners(f.Listeners)
	}
	if o.From.IsValid() {
		r := routeTo(ctx, sys, o.From)
		f.Route = &r
	}
	return f
}

func sortListeners(ls []Listener) {
	slices.SortStableFunc(ls, func(a, b Listener) int {
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return a.Addr.Compare(b.Addr)
	})
}

// readProcNet reads /proc/net/tcp and tcp6 of the inspected system. A
// missing tcp6 (IPv6 disabled) is not an error.
func readProcNet(sys host.System) ([]Listener, error) {
	var out []Listener
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := sys.ReadFile(name)
		if err != nil {
			if name == "/proc/net/tcp6" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("sockets: %w", err)
		}
		socks, err := ParseProcNetTCP(data)
		if err != nil {
			return nil, fmt.Errorf("sockets: %s: %w", name, err)
		}
		for _, s := range socks {
			if s.State == StateListen {
				out = append(out, Listener{Addr: s.Local.Addr(), Port: int(s.Local.Port()), Inode: s.Inode, UID: s.UID})
			}
		}
	}
	return out, nil
}

func boolPtr(b bool) *bool { return &b }
