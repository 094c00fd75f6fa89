// Package service gathers how sshd is installed and run on the inspected
// system, for `sshdoctor server`: the sshd binary and its version, the
// service manager, the state of the sshd service and socket units (both
// the Debian names ssh.service/ssh.socket and the Red Hat and Arch names
// sshd.service/sshd.socket), the init script without systemd, and the sshd
// processes. It only gathers facts; check.SSHDService judges them.
//
// On a live systemd system one `systemctl show` call reads every property
// of the four units. It is used rather than go-systemd's D-Bus API because
// it needs no system bus (minimal containers and this project's own test
// machine have none; systemctl talks to PID 1 over its private socket),
// because it runs through host.System's Runner (so the same code inspects a
// container through nsenter, or replays recorded output in tests), and
// because it costs one process for all units. Offline (--root) the unit
// files, drop-ins and enablement links are read instead, and the running
// state is reported as unknown, never guessed.
//
// The unit's logs (why a failed unit failed) come from host/logs, which
// reads the journal once for every sshd unit.
package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/sshdoctor/sshdoctor/host"
)

// Manager is the service manager that starts sshd.
type Manager string

// The managers Gather recognises.
const (
	ManagerUnknown  Manager = ""         // none recognised: only the process table is known
	ManagerSystemd  Manager = "systemd"  // systemd units
	ManagerOpenRC   Manager = "openrc"   // /etc/init.d/sshd with runlevels (Alpine, Gentoo)
	ManagerSysvinit Manager = "sysvinit" // /etc/init.d/ssh and /etc/rcN.d links, run with `service`
)

// Facts is what Gather learns about how sshd is installed and run.
type Facts struct {
	// Live is true when the running system was inspected; false for an
	// offline tree, where nothing about running processes is known.
	Live bool
	// Root is the directory of the tree inspected, for fix commands that
	// must name it ("systemctl --root=DIR enable ..."); "/" or empty for
	// the running system.
	Root string
	// Manager is the service manager found; ManagerUnknown means none.
	Manager Manager
	// OS is the distribution from /etc/os-release; zero when unknown.
	OS OSRelease
	// Binary is the sshd binary; Binary.Path is empty when none was found.
	Binary Binary
	// Service is the sshd service unit (ssh.service or sshd.service); nil
	// when the system does not use systemd or has neither unit.
	Service *Unit
	// Socket is the sshd socket unit (ssh.socket or sshd.socket); nil when
	// there is none.
	Socket *Unit
	// Init is the init script of OpenRC or sysvinit; nil with systemd or
	// when there is none.
	Init *InitScript
	// Processes are the running sshd daemons of the inspected system's
	// network namespace (not per-connection children, not containers'),
	// sorted by PID; empty offline or when none runs (ProcessesRead tells
	// which).
	Processes []Process
	// ProcessesRead is true when the process table was read, so an empty
	// Processes means no sshd daemon runs.
	ProcessesRead bool
	// NotToBeRun is true when /etc/ssh/sshd_not_to_be_run exists: Debian's
	// units and init script then never start sshd.
	NotToBeRun bool
	// Notes say plainly what could not be known and why; empty when
	// everything was read.
	Notes []string
}

// Unit is a systemd unit as systemctl shows it (live) or as its files
// define it (offline, where ActiveState and the other runtime fields are
// empty).
type Unit struct {
	// Asked is the name Gather asked for ("sshd.service"); Name is the
	// unit's own name, which differs when Asked is an alias.
	Asked, Name string
	// Names are all the unit's names (aliases included); empty when only
	// Name is known.
	Names []string
	// LoadState is "loaded", "not-found", "masked" or "error"; "" when
	// not known.
	LoadState string
	// LoadError is systemd's message when the unit could not be loaded;
	// empty otherwise.
	LoadError string
	// ActiveState is "active", "inactive", "failed", "activating",
	// "deactivating" or "reloading"; "" when not known (offline).
	ActiveState string
	// SubState details ActiveState ("running", "dead", "auto-restart",
	// "listening"); "" when not known.
	SubState string
	// Result is the outcome of the last run ("success", "exit-code",
	// "start-limit-hit", ...); "" when not known.
	Result string
	// UnitFileState is "enabled", "disabled", "static", "masked",
	// "alias" or "indirect"; "" when not known.
	UnitFileState string
	// Preset is the distribution's default enablement; "" when not known.
	Preset string
	// FragmentPath is the unit file; empty when the unit does not exist.
	FragmentPath string
	// DropInPaths are the drop-in files applied, in order; empty for none.
	DropInPaths []string
	// GeneratedBy is the drop-in a generator wrote at boot (Ubuntu's
	// sshd-socket-generator writes ssh.socket's ListenStream from
	// sshd_config); empty when no generator touched the unit.
	GeneratedBy string
	// MainPID is the service's main process; 0 when none runs or unknown.
	MainPID int
	// ExecMainCode and ExecMainStatus are how the main process last
	// ended (code 1 exited with status, 2 killed by signal, ...); 0 when
	// not known.
	ExecMainCode, ExecMainStatus int
	// Restarts counts automatic restarts since the unit was last started by
	// hand (systemd's NRestarts): above 0 while "activating", the unit is
	// in a crash loop. 0 when not known.
	Restarts int
	// StateChange is when ActiveState last changed, as systemctl prints
	// it; empty when not known.
	StateChange string
	// Listen are a socket unit's listening addresses; empty for services.
	Listen []Listen
	// Accept is true for a socket unit that starts one service instance
	// per connection (sshd -i); false otherwise.
	Accept bool
	// BindIPv6Only is a socket unit's setting ("default", "both",
	// "ipv6-only"); empty when not set or not a socket.
	BindIPv6Only string
	// TriggeredBy and Triggers name the socket/service pairing; empty
	// when none.
	TriggeredBy, Triggers []string
}

// Listen is one listening address of a socket unit.
type Listen struct {
	// Raw is the address as systemd shows it or the unit file writes it.
	Raw string
	// Kind is the socket type ("Stream" for ListenStream).
	Kind string
	// Addr is the IP address; [::] for a bare port, which systemd binds
	// on every IPv6 and (unless BindIPv6Only=ipv6-only) IPv4 address.
	// Invalid for non-IP sockets.
	Addr netip.Addr
	// Port is the TCP port; 0 for non-IP sockets.
	Port int
}

// Exists reports whether the unit is known to systemd at all (loaded or
// masked).
func (u *Unit) Exists() bool {
	return u != nil && (u.LoadState == "loaded" || u.LoadState == "masked")
}

// Masked reports whether the unit is masked (linked to /dev/null), so it
// cannot be started at all.
func (u *Unit) Masked() bool {
	return u != nil && (u.LoadState == "masked" || u.UnitFileState == "masked")
}

// Enabled reports whether the unit starts at boot: enabled, or enabled
// through another unit (indirect, alias), or static (pulled in by others).
func (u *Unit) Enabled() bool {
	if u == nil {
		return false
	}
	switch u.UnitFileState {
	case "enabled", "enabled-runtime", "alias", "indirect", "static", "generated":
		return true
	}
	return false
}

// Ports returns the TCP ports of a socket unit, without duplicates.
func (u *Unit) Ports() []int {
	var out []int
	if u == nil {
		return nil
	}
	for _, l := range u.Listen {
		if l.Port != 0 && !containsInt(out, l.Port) {
			out = append(out, l.Port)
		}
	}
	return out
}

// UnitName returns the name to give systemctl for the sshd service: the
// unit found, else the distribution's usual name.
func (f *Facts) UnitName() string {
	switch {
	case f.Service.Exists():
		return f.Service.Name
	case f.OS.Is("debian") || f.OS.Is("ubuntu"):
		return "ssh.service"
	case f.OS.ID != "":
		return "sshd.service"
	}
	return "ssh.service"
}

// Gather inspects the sshd installation and service. It never fails: what
// could not be read is in Notes.
func Gather(ctx context.Context, sys host.System) Facts {
	f := Facts{Live: sys.Live, Root: sys.Root}
	var binNotes, mgrNotes []string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.Binary, binNotes = findBinary(sys)
	}()
	go func() {
		defer wg.Done()
		mgrNotes = gatherManager(ctx, sys, &f)
	}()
	if sys.Live {
		procs, other, err := sshdProcesses(sys)
		if err != nil {
			f.Notes = append(f.Notes, "the process table could not be read: "+err.Error())
		} else {
			f.Processes, f.ProcessesRead = procs, true
		}
		if other > 0 {
			f.Notes = append(f.Notes, fmt.Sprintf("%d sshd daemons of other network namespaces (containers) were left out", other))
		}
	}
	f.OS = readOSRelease(sys)
	if _, err := sys.Lstat("/etc/ssh/sshd_not_to_be_run"); err == nil {
		f.NotToBeRun = true
	}
	wg.Wait()
	f.Notes = append(append(f.Notes, binNotes...), mgrNotes...)
	if !sys.Live {
		f.Notes = append(f.Notes, "offline tree: whether sshd is running, and why it last stopped, can only be known on the running system")
	}
	return f
}

// gatherManager finds the service manager and reads the sshd service's
// state from it.
func gatherManager(ctx context.Context, sys host.System, f *Facts) []string {
	var notes []string
	if sys.Live && isDir(sys, "/run/systemd/system") {
		// sd_booted(): systemd is PID 1.
		f.Manager = ManagerSystemd
		err := showUnits(ctx, sys, f)
		if err == nil {
			return nil
		}
		notes = append(notes, "systemctl show failed, so the units' state is not known; read their files instead: "+err.Error())
		loadUnitsOffline(sys, f)
		return notes
	}
	if !sys.Live && hasSystemdUnits(sys) {
		f.Manager = ManagerSystemd
		loadUnitsOffline(sys, f)
		return nil
	}
	if sys.Live && hasSystemdUnits(sys) && !isDir(sys, "/run/systemd/system") {
		notes = append(notes, "systemd unit files for sshd exist, but systemd is not running as PID 1 here")
	}
	if init := findInitScript(sys); init != nil {
		f.Init = init
		f.Manager = init.Manager
		if sys.Live {
			notes = append(notes, initStatus(ctx, sys, init)...)
		}
		return notes
	}
	notes = append(notes, "no service manager that starts sshd was found (no systemd unit, OpenRC or sysvinit script): only the process table tells whether sshd runs")
	return notes
}

// showUnits runs the single `systemctl show` for the four unit names and
// picks the service and socket units from the answer.
func showUnits(ctx context.Context, sys host.System, f *Facts) error {
	args := append([]string{"show", "--no-pager"}, unitNames...)
	args = append(args, "-p", joinComma(showProperties))
	out, err := sys.Command(ctx, "systemctl", args...)
	if err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("systemctl show: %s", firstLine(ee.Stderr))
		}
		return err
	}
	blocks, err := ParseSystemctlShow(out)
	if err != nil {
		return err
	}
	if len(blocks) != len(unitNames) {
		return fmt.Errorf("service: systemctl show printed %d units, want %d", len(blocks), len(unitNames))
	}
	units := make([]Unit, len(blocks))
	for i, b := range blocks {
		units[i] = unitFromProperties(unitNames[i], b)
	}
	f.Service = pickUnit(units[0], units[1])
	f.Socket = pickUnit(units[2], units[3])
	return nil
}

// pickUnit chooses between the Debian and the Red Hat name of a unit: the
// one that exists, preferring a loaded unit over a masked one. An alias
// that fails to load next to a masked unit (systemd reports the alias
// sshd.service of a masked ssh.service as "error") is ignored.
func pickUnit(debian, redhat Unit) *Unit {
	rank := func(u Unit) int {
		switch u.LoadState {
		case "loaded":
			return 3
		case "masked":
			return 2
		case "error":
			return 1
		}
		return 0
	}
	best := debian
	if rank(redhat) > rank(debian) {
		best = redhat
	}
	if rank(best) == 0 {
		return nil
	}
	return &best
}

func loadUnitsOffline(sys host.System, f *Facts) {
	var units [4]Unit
	for i, n := range unitNames {
		units[i], _ = loadUnitOffline(sys, n)
	}
	f.Service = pickUnit(units[0], units[1])
	f.Socket = pickUnit(units[2], units[3])
	if f.Socket != nil && f.Socket.GeneratedBy == "" {
		for _, g := range generatorPaths {
			if _, err := sys.Lstat(g); err == nil {
				f.Socket.GeneratedBy = g
				break
			}
		}
	}
}

func hasSystemdUnits(sys host.System) bool {
	for _, dir := range unitDirs {
		for _, n := range unitNames {
			if _, err := sys.Lstat(dir + "/" + n); err == nil {
				return true
			}
		}
	}
	return false
}

func isDir(sys host.System, p string) bool {
	fi, err := sys.Lstat(p)
	return err == nil && fi.IsDir()
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
