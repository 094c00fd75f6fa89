package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/logs"
	"github.com/sshdoctor/sshdoctor/host/selinux"
	"github.com/sshdoctor/sshdoctor/host/service"
	"github.com/sshdoctor/sshdoctor/host/sockets"
)

var (
	_ = Register(Doc{
		Code: "sshd.not-installed", Severity: SeverityError, Layer: LayerInstall,
		Title: "sshd is not installed",
		Meaning: `There is no sshd program on this machine, so nothing can accept SSH connections.
Minimal images and containers often ship only the client (openssh-client), and removing
openssh-server keeps its configuration but deletes the program.`,
		Detection: `sshdoctor looks for sshd where distributions and source builds install it
(/usr/sbin/sshd, /usr/local/sbin/sshd, /sbin/sshd, /usr/bin/sshd) and reads the package database
(dpkg) for openssh-server's state.`,
		Fix: `Install the OpenSSH server package with the distribution's package manager
(openssh-server on Debian, Ubuntu, Red Hat, Fedora, SUSE and Alpine; openssh on Arch), then start
and enable its service.`,
	})
	_ = Register(Doc{
		Code: "sshd.not-running", Severity: SeverityError, Layer: LayerService,
		Title: "sshd is not running",
		Meaning: `sshd is installed but its service is stopped, so connections are refused
("Connection refused"). A stopped service may also be masked (linked to /dev/null, so it cannot be
started at all), or held back by Debian's /etc/ssh/sshd_not_to_be_run.`,
		Detection: `On systemd, one 'systemctl show' of ssh.service, sshd.service, ssh.socket and
sshd.socket gives their state: the service is inactive and no socket unit listens in its place.
Without systemd, the OpenRC or sysvinit status command, or else the process table, shows no sshd
daemon. On an offline disk whether sshd runs is not known, and this is not reported.`,
		Fix: `Start the service and enable it at boot ('systemctl enable --now ssh' on Debian and
Ubuntu, 'sshd' elsewhere); unmask it first if it is masked.`,
	})
	_ = Register(Doc{
		Code: "sshd.failed", Severity: SeverityError, Layer: LayerService,
		Title: "sshd's service failed",
		Meaning: `The service tried to start sshd and sshd exited with an error, so nothing accepts
connections. The reason is in sshd's own last words in the log: a configuration line it refuses,
missing host keys, an address it cannot bind. systemd gives up after a few quick retries ("Start
request repeated too quickly"), so fixing the cause is not enough: the unit must be started again.`,
		Detection: `The unit is "failed" (or restarting after failures) in systemctl, and sshdoctor
reads the journal (or /var/log/auth.log, /var/log/secure) for the unit's last start attempt: the
messages between systemd's "Starting" and its verdict, including those sshd logged as it died, and
quotes the one that explains the failure best.`,
		Fix: `Correct what the quoted message names (check the configuration with 'sshd -t'), then
clear the failure and start the unit: 'systemctl reset-failed ssh; systemctl start ssh'.`,
	})
	_ = Register(Doc{
		Code: "sshd.not-enabled", Severity: SeverityWarning, Layer: LayerService,
		Title: "sshd will not start at boot",
		Meaning: `Neither sshd's service nor its socket unit is enabled, so after the next reboot
nothing will accept SSH connections, even if sshd runs now. On a remote machine that means losing
access.`,
		Detection: `systemctl's UnitFileState of the service and socket units (offline: the .wants/
links in /etc/systemd/system), the OpenRC runlevels, or the sysvinit /etc/rcN.d start links.`,
		Fix: `Enable the service: 'systemctl enable ssh' (or 'sshd'), 'rc-update add sshd default' on
OpenRC, 'update-rc.d ssh enable' on Debian without systemd.`,
	})
	_ = Register(Doc{
		Code: "sshd.port-conflict", Severity: SeverityError, Layer: LayerService,
		Title: "another program holds the SSH port",
		Meaning: `Another program listens on the port and address sshd wants, so sshd cannot bind it
("Bind to port 22 on 0.0.0.0 failed: Address already in use"): sshd then fails, or runs on the other
addresses only, and clients reach the other program instead (often seen as
"ssh_exchange_identification" or a banner that is not SSH's).`,
		Detection: `sshdoctor lists the listening TCP sockets (sock_diag netlink, or /proc/net/tcp)
with the processes that hold them (/proc/PID/fd), and compares them with the addresses sshd should
listen on: sshd_config's Port and ListenAddress, or the socket unit's ListenStream under socket
activation. sshd's bind failures in the log are quoted as well.`,
		Fix: `Stop or reconfigure the other program (its name and PID are given), or move sshd to a
free port, then restart sshd.`,
	})
	_ = Register(Doc{
		Code: "sshd.selinux-port", Severity: SeverityError, Layer: LayerConfig,
		Title: "SELinux does not let sshd use its port",
		Meaning: `SELinux is enforcing and sshd is configured for a port that is not labelled
ssh_port_t, so the kernel refuses the bind ("Bind to port 2222 on 0.0.0.0 failed: Permission
denied") and sshd does not listen there, even though sshd_config and the firewall are right.`,
		Detection: `The SELinux mode from /sys/fs/selinux/enforce (offline: /etc/selinux/config), and
the port labels from 'semanage port -l' (or 'seinfo --portcon'; without either, the policy default
of tcp 22 plus the local customizations in ports.local).`,
		Fix: `Label the port: 'semanage port -a -t ssh_port_t -p tcp PORT' ('-m' instead of '-a' when
another type already claims the port), then restart sshd.`,
	})
	_ = Register(Doc{
		Code: "sshd.socket-activation", Severity: SeverityInfo, Layer: LayerListen,
		Title: "a systemd socket unit decides sshd's ports",
		Meaning: `ssh.socket (or sshd.socket) listens in sshd's place and starts sshd when a
connection arrives. Its ListenStream lines decide the ports and addresses: Port and ListenAddress in
sshd_config are not used. When they disagree, editing sshd_config does not move the port, which is
reported as an error. On Ubuntu 22.10 and later a generator writes ListenStream from sshd_config,
but only at boot and at 'systemctl daemon-reload'.`,
		Detection: `The socket unit is active (offline: enabled), and its listening addresses
(systemctl's Listen property, or the unit file and its drop-ins, including /run/systemd/generator)
are compared with sshd_config's Port values.`,
		Fix: `To move the port: on Ubuntu run 'systemctl daemon-reload; systemctl restart ssh.socket'
after editing sshd_config; elsewhere override ListenStream in a drop-in ('systemctl edit
ssh.socket'), or turn socket activation off ('systemctl disable --now ssh.socket; systemctl enable
--now ssh.service').`,
	})
	_ = Register(Doc{
		Code: "sshd.not-listening", Severity: SeverityError, Layer: LayerListen,
		Title: "sshd runs but does not listen where its configuration says",
		Meaning: `sshd is running, yet nothing of its own listens on one or more of the addresses and
ports its configuration names. Usually sshd_config was changed after sshd started (a new Port takes
effect only at restart), or a ListenAddress is not an address of this machine.`,
		Detection: `The listening sockets held by sshd (or by systemd for the socket unit) are
compared with the endpoints sshd_config's Port and ListenAddress expand to; bind failures from the
log are quoted.`,
		Fix: `Check the configuration ('sshd -t') and restart sshd; make every ListenAddress an
address this machine has ('ip -brief address').`,
	})
	_ = Register(Doc{
		Code: "sshd.listen-restricted", Severity: SeverityError, Layer: LayerListen,
		Title: "sshd listens only where the client cannot reach it",
		Meaning: `sshd listens only on loopback (127.0.0.1, ::1), so only this machine can connect,
or (with --from) on none of the addresses this machine answers that client from, so the client's
connection is refused.`,
		Detection: `sshd's listening sockets are compared with loopback and, with --from, with the
source address of the route back to the client ('ip route get FROM').`,
		Fix: `Remove the restricting ListenAddress lines or add one for the address clients use, then
restart sshd.`,
	})
	_ = Register(Doc{
		Code: "sshd.max-startups", Severity: SeverityWarning, Layer: LayerLogs,
		Title: "sshd drops connections (MaxStartups or penalties)",
		Meaning: `sshd refused new connections before they could authenticate: either too many
unauthenticated connections were open at once (MaxStartups, default 10:30:100, usually because of
password-guessing bots or a burst of automation), or, since OpenSSH 9.8, the client's address was
penalised (PerSourcePenalties) for failed logins or crashes. Clients see the connection closed
before the banner ("kex_exchange_identification: Connection closed by remote host").`,
		Detection: `sshd's messages in the last hour of the journal or syslog: "drop connection #N
from [ADDR]:PORT on [ADDR]:PORT past MaxStartups", "beginning MaxStartups throttling", and "...
penalty: REASON". Drops in the last ten minutes make it an error.`,
		Fix: `Find who opens the connections (the top sources are listed); block abusers with the
firewall or fail2ban, raise MaxStartups for legitimate bursts, multiplex automation over one
connection (ControlMaster), and exempt trusted sources from penalties (PerSourcePenaltyExemptList).`,
	})
)

// ServiceInput is what SSHDService judges. A nil member was not gathered,
// and the checks that need it are skipped.
type ServiceInput struct {
	Service *service.Facts
	Sockets *sockets.Facts
	Logs    *logs.Facts
	SELinux *selinux.Facts
	// Listen is where sshd_config asks sshd to listen; the zero value
	// means the configuration was not read (Port 22 on every address is
	// then assumed, and said).
	Listen SSHDListen
}

// SSHDListen is the listening part of sshd's configuration, as plain
// values (from host/sshdconfig's Effective.Ports and Endpoints).
type SSHDListen struct {
	// Ports are the Port values; empty when the configuration was not read.
	Ports []int
	// Endpoints are the addresses and ports sshd binds; Host is an IP
	// literal or a host name ("0.0.0.0", "::", "192.0.2.7"). Empty when
	// the configuration was not read.
	Endpoints []SSHDEndpoint
	// Where says where Port is set, for evidence ("/etc/ssh/sshd_config
	// line 14"); empty for the default.
	Where string
}

// SSHDEndpoint is one address and port sshd binds.
type SSHDEndpoint struct {
	Host string
	Port int
}

// recentLogs is how far back log messages count as current.
const recentLogs = time.Hour

// ongoingDrops is how recent the last drop must be for max-startups to be
// an error: the problem is happening now.
const ongoingDrops = 10 * time.Minute

// SSHDService judges how sshd is installed, run and listening, and what
// its logs say about dropped connections. Findings come in causal order,
// and a port conflict comes before the failure it causes so that it is the
// verdict.
func SSHDService(in ServiceInput) []Finding {
	if s := in.Service; s != nil && s.Binary.Path == "" {
		return []Finding{svcNotInstalled(s)}
	}
	v := newSvcView(in)
	var out []Finding
	out = append(out, svcSELinux(in, v)...)
	out = append(out, svcConflicts(in, v)...)
	out = append(out, svcState(in, v)...)
	out = append(out, svcSocketActivation(in, v)...)
	out = append(out, svcListening(in, v)...)
	out = append(out, svcMaxStartups(in)...)
	return out
}

// svcView is what several checks derive from the facts.
type svcView struct {
	unit     string             // the unit to name in commands ("ssh.service")
	restart  string             // the command that restarts sshd here
	bySocket bool               // a socket unit listens in sshd's place (live: active)
	running  bool               // sshd (or its socket) is known to run
	expected []svcEndpoint      // where sshd should listen
	assumed  bool               // expected is Port 22's default, the configuration being unknown
	own      []sockets.Listener // listening sockets of sshd or of its socket unit
}

type svcEndpoint struct {
	addr netip.Addr // invalid for a host name: only the port is compared
	port int
	text string
}

func newSvcView(in ServiceInput) svcView {
	v := svcView{unit: "ssh.service", restart: "systemctl restart ssh.service"}
	s := in.Service
	if s != nil {
		v.unit = s.UnitName()
		v.restart = svcRestart(s)
		if k := s.Socket; k != nil && len(k.Ports()) > 0 {
			v.bySocket = (s.Live && k.ActiveState == "active") || (!s.Live && k.Enabled())
		}
		switch {
		case !s.Live:
		case s.Service != nil && (s.Service.ActiveState == "active" || s.Service.ActiveState == "reloading"):
			v.running = true
		case s.Init != nil && s.Init.Status == "started":
			v.running = true
		case len(s.Processes) > 0 || v.bySocket:
			v.running = true
		}
	}
	if v.bySocket {
		for _, l := range s.Socket.Listen {
			if l.Port > 0 {
				v.expected = append(v.expected, svcEndpoint{l.Addr, l.Port, strings.TrimSuffix(l.Raw, " (Stream)")})
			}
		}
	} else {
		for _, e := range in.Listen.Endpoints {
			a, _ := netip.ParseAddr(e.Host)
			v.expected = append(v.expected, svcEndpoint{a, e.Port, netip.AddrPortFrom(a, uint16(e.Port)).String()})
			if !a.IsValid() {
				v.expected[len(v.expected)-1].text = e.Host + ":" + strconv.Itoa(e.Port)
			}
		}
		if len(v.expected) == 0 {
			v.assumed = true
			for _, a := range []string{"0.0.0.0", "::"} {
				ap := netip.AddrPortFrom(netip.MustParseAddr(a), 22)
				v.expected = append(v.expected, svcEndpoint{ap.Addr(), 22, ap.String()})
			}
		}
	}
	if in.Sockets != nil {
		for _, l := range in.Sockets.Listeners {
			if v.ownedBySSHD(l) && slices.ContainsFunc(v.expected, func(e svcEndpoint) bool { return e.port == l.Port }) {
				v.own = append(v.own, l)
			}
		}
	}
	return v
}

// svcRestart is the command that restarts sshd under the system's
// manager; without one, SIGHUP makes sshd re-execute itself and read its
// configuration again.
func svcRestart(s *service.Facts) string {
	switch {
	case s.Manager == service.ManagerSystemd || (s.Init == nil && len(s.Processes) == 0):
		return "systemctl restart " + s.UnitName()
	case s.Init != nil && s.Init.Manager == service.ManagerOpenRC:
		return "rc-service " + s.Init.Name + " restart"
	case s.Init != nil:
		return "service " + s.Init.Name + " restart"
	}
	return "kill -HUP " + strconv.Itoa(s.Processes[0].PID)
}

// ownedBySSHD reports whether sshd (or, under socket activation, systemd
// for it) holds the socket.
func (v svcView) ownedBySSHD(l sockets.Listener) bool {
	return l.HasComm("sshd") || (v.bySocket && l.HasComm("systemd"))
}

func (e svcEndpoint) servedBy(l sockets.Listener) bool {
	return l.Port == e.port && (!e.addr.IsValid() || l.Addr == e.addr || (l.Wildcard() && l.Covers(e.addr)))
}

// svcSystemctl returns a systemctl command line, with --root for an offline
// tree (only enable, disable, mask and unmask work that way).
func svcSystemctl(s *service.Facts, args ...string) string {
	if s != nil && !s.Live && s.Root != "" && s.Root != "/" {
		args = append([]string{"--root=" + shellQuote(s.Root)}, args...)
	}
	return "systemctl " + strings.Join(args, " ")
}

func svcNotInstalled(s *service.Facts) Finding {
	ev := []KV{E("searched", s.Binary.Searched)}
	detail := "No sshd program was found, so nothing can accept SSH connections."
	if s.Binary.PackageState != "" {
		ev = append(ev, E("package", s.Binary.Package), E("package_state", s.Binary.PackageState))
		if strings.HasPrefix(s.Binary.PackageState, "deinstall") {
			detail = "openssh-server was removed (its configuration files remain), so there is no sshd program."
		}
	}
	if s.Service.Exists() {
		ev = append(ev, E("unit", s.Service.Name), E("unit_file", s.Service.FragmentPath))
	}
	var install string
	switch o := s.OS; {
	case o.Is("rhel") || o.Is("fedora") || o.Is("centos"):
		install = "dnf install -y openssh-server"
	case o.Is("suse") || o.Is("opensuse"):
		install = "zypper install -y openssh-server"
	case o.Is("arch"):
		install = "pacman -S --noconfirm openssh"
	case o.Is("alpine"):
		install = "apk add openssh-server"
	default:
		install = "apt-get install -y openssh-server"
	}
	if !s.Live && s.Root != "" && s.Root != "/" {
		return New("sshd.not-installed", detail, ev...).
			WithFix("Install the OpenSSH server into the tree, then enable it.", "chroot "+shellQuote(s.Root)+" "+install)
	}
	unit := s.UnitName()
	return New("sshd.not-installed", detail, ev...).
		WithFix("Install the OpenSSH server, then start and enable it.", install, "systemctl enable --now "+unit)
}

// svcState reports failed, stopped and not-enabled services.
func svcState(in ServiceInput, v svcView) []Finding {
	s := in.Service
	if s == nil {
		return nil
	}
	var out []Finding
	if s.Live {
		switch {
		case s.Manager == service.ManagerSystemd && (s.Service.Exists() || s.Socket.Exists()):
			out = append(out, svcSystemdState(in, v)...)
		case s.Init != nil && s.Init.Status != "":
			out = append(out, svcInitState(in)...)
		case s.ProcessesRead && len(s.Processes) == 0:
			out = append(out, New("sshd.not-running", "No sshd daemon runs, and no service manager sshdoctor knows starts one.",
				E("processes", "no sshd process"), E("manager", "none found")).
				WithFix("Start sshd; it puts itself in the background.", s.Binary.Path))
		}
	}
	covered := len(out) > 0 && s.Service.Masked()
	if !covered {
		out = append(out, svcEnablement(s)...)
	}
	return out
}

func svcSystemdState(in ServiceInput, v svcView) []Finding {
	s := in.Service
	svc, sock := s.Service, s.Socket
	switch {
	case svc != nil && (svc.ActiveState == "failed" || svc.SubState == "auto-restart"),
		// Starting again after automatic restarts: a crash loop caught
		// between two attempts.
		svc != nil && svc.ActiveState == "activating" && svc.Restarts > 0:
		return []Finding{svcFailed(in, svc)}
	case svc != nil && slices.Contains([]string{"active", "reloading", "activating"}, svc.ActiveState):
		return nil
	case sock != nil && sock.ActiveState == "failed":
		return []Finding{svcFailed(in, sock)}
	case v.bySocket:
		return nil
	}
	u := svc
	if !u.Exists() {
		u = sock
	}
	ev := []KV{E("unit", u.Name), E("active_state", u.ActiveState), E("sub_state", u.SubState)}
	if u.StateChange != "" {
		ev = append(ev, E("since", u.StateChange))
	}
	ev = append(ev, E("unit_file_state", u.UnitFileState))
	switch {
	case u.Masked():
		return []Finding{New("sshd.not-running", fmt.Sprintf("%s is masked (linked to /dev/null): it cannot be started, by hand or at boot, so nothing accepts SSH connections.", u.Name), ev...).
			WithFix("Unmask the service, then start and enable it.", "systemctl unmask "+u.Name, "systemctl enable --now "+u.Name)}
	case s.NotToBeRun:
		ev = append(ev, E("file", "/etc/ssh/sshd_not_to_be_run"))
		return []Finding{New("sshd.not-running", fmt.Sprintf("%s is not running: /etc/ssh/sshd_not_to_be_run exists, and Debian's units refuse to start sshd while it does.", u.Name), ev...).
			WithFix("Remove the file, then start the service.", "rm /etc/ssh/sshd_not_to_be_run", "systemctl enable --now "+u.Name)}
	}
	if len(s.Processes) > 0 {
		// Started by hand or by something else: connections work, but
		// systemd will neither restart it nor start it at boot.
		p := s.Processes[0]
		ev = append(ev, E("sshd_pid", p.PID), E("sshd_command", p.Cmdline))
		return []Finding{New("sshd.not-running", fmt.Sprintf("%s is %s, but sshd runs outside it (PID %d): nothing restarts it if it dies.", u.Name, u.ActiveState, p.PID), ev...).
			WithSeverity(SeverityWarning).
			WithFix("Stop the stray sshd and let the service run it.", fmt.Sprintf("kill %d", p.PID), "systemctl enable --now "+u.Name)}
	}
	return []Finding{New("sshd.not-running", fmt.Sprintf("%s is %s (%s): nothing accepts SSH connections.", u.Name, u.ActiveState, u.SubState), ev...).
		WithFix("Start the service and enable it at boot.", "systemctl enable --now "+u.Name)}
}

// svcFailed builds sshd.failed for a unit, with the reason from its log.
func svcFailed(in ServiceInput, u *service.Unit) Finding {
	ev := []KV{E("unit", u.Name), E("active_state", u.ActiveState), E("sub_state", u.SubState), E("result", u.Result)}
	if u.ExecMainStatus != 0 {
		ev = append(ev, E("exit_status", u.ExecMainStatus))
	}
	if u.StateChange != "" {
		ev = append(ev, E("since", u.StateChange))
	}
	var fl *logs.Failure
	if in.Logs != nil {
		fl = in.Logs.FailureReason(append([]string{u.Name}, u.Names...)...)
	}
	restart := []string{"systemctl reset-failed " + u.Name, "systemctl restart " + u.Name}
	if fl == nil {
		detail := fmt.Sprintf("%s failed (result %s), and its log does not say why.", u.Name, u.Result)
		if in.Logs == nil || in.Logs.Source == logs.SourceNone {
			detail = fmt.Sprintf("%s failed (result %s); its log could not be read.", u.Name, u.Result)
		}
		return New("sshd.failed", detail, ev...).
			WithFix("Read the unit's log and check the configuration, then start it again.",
				append([]string{"journalctl -u " + u.Name + " -n 50 --no-pager", "sshd -t"}, restart...)...)
	}
	var lines []string
	for _, e := range fl.Lines {
		lines = append(lines, e.String())
	}
	ev = append(ev, E("reason", fl.Reason.Message), E("log", lines), E("log_source", string(in.Logs.Source)))
	detail := fmt.Sprintf("%s failed: %s", u.Name, strings.TrimSpace(fl.Reason.Message))
	r := fl.Reason.Event
	switch r.Kind {
	case logs.KindConfigError:
		what := r.Path
		if r.Line > 0 {
			what = fmt.Sprintf("line %d of %s", r.Line, r.Path)
		}
		return New("sshd.failed", detail, ev...).WithFix("Correct "+what+"; 'sshd -t' must print nothing. Then start the service again.", append([]string{"sshd -t"}, restart...)...)
	case logs.KindNoHostKeys:
		return New("sshd.failed", detail, ev...).WithFix("Create the missing host keys, then start the service again.", append([]string{"ssh-keygen -A"}, restart...)...)
	case logs.KindPrivsep:
		return New("sshd.failed", detail, ev...).WithFix("Create the privilege separation directory, then start the service again.", append([]string{"mkdir -p -m 0755 /run/sshd"}, restart...)...)
	case logs.KindBindFailed, logs.KindCannotBind:
		return New("sshd.failed", detail, ev...).WithFix("Free the address sshd binds (or change its Port/ListenAddress), then start the service again.",
			append([]string{"ss -ltnp"}, restart...)...)
	}
	return New("sshd.failed", detail, ev...).WithFix("Correct what the log names, then start the service again.", append([]string{"sshd -t"}, restart...)...)
}

func svcInitState(in ServiceInput) []Finding {
	s := in.Service
	init := s.Init
	start := "service " + init.Name + " start"
	if init.Manager == service.ManagerOpenRC {
		start = "rc-service " + init.Name + " start"
	}
	ev := []KV{E("manager", string(init.Manager)), E("script", init.Path), E("status", init.Status), E("status_output", init.StatusOutput)}
	switch init.Status {
	case "crashed":
		if in.Logs != nil {
			if es := in.Logs.Of(time.Time{}, logs.KindConfigError, logs.KindNoHostKeys, logs.KindPrivsep, logs.KindBindFailed, logs.KindCannotBind, logs.KindFatal); len(es) > 0 {
				ev = append(ev, E("reason", es[len(es)-1].Message))
			}
		}
		return []Finding{New("sshd.failed", fmt.Sprintf("%s's init script says sshd crashed.", init.Name), ev...).WithFix("Check the configuration, then start sshd again.", "sshd -t", start)}
	case "stopped":
		if len(s.Processes) > 0 {
			return nil // started another way; it runs
		}
		return []Finding{New("sshd.not-running", fmt.Sprintf("The %s init script says sshd is stopped: nothing accepts SSH connections.", init.Name), ev...).WithFix("Start sshd.", start)}
	}
	return nil
}

// svcEnablement reports a service that will not start at boot.
func svcEnablement(s *service.Facts) []Finding {
	switch {
	case s.Manager == service.ManagerSystemd && (s.Service.Exists() || s.Socket.Exists()):
		if s.Service.Enabled() || s.Socket.Enabled() {
			return nil
		}
		ev := []KV{}
		u := s.Service
		if !u.Exists() {
			u = s.Socket
		}
		if s.Service.Exists() {
			ev = append(ev, E("service", s.Service.Name), E("service_file_state", s.Service.UnitFileState))
		}
		if s.Socket.Exists() {
			ev = append(ev, E("socket", s.Socket.Name), E("socket_file_state", s.Socket.UnitFileState))
		}
		cmds := []string{svcSystemctl(s, "enable", u.Name)}
		if u.Masked() {
			cmds = []string{svcSystemctl(s, "unmask", u.Name), svcSystemctl(s, "enable", u.Name)}
		}
		return []Finding{New("sshd.not-enabled", fmt.Sprintf("%s is %s: after the next reboot nothing will accept SSH connections.", u.Name, u.UnitFileState), ev...).
			WithFix("Enable the service at boot.", cmds...)}
	case s.Init != nil && len(s.Init.Runlevels) == 0:
		cmd := "update-rc.d " + s.Init.Name + " enable"
		if s.Init.Manager == service.ManagerOpenRC {
			cmd = "rc-update add " + s.Init.Name + " default"
		} else if !s.OS.Is("debian") && !s.OS.Is("ubuntu") && s.OS.ID != "" {
			cmd = "chkconfig " + s.Init.Name + " on"
		}
		return []Finding{New("sshd.not-enabled", fmt.Sprintf("No runlevel starts %s at boot.", s.Init.Path),
			E("manager", string(s.Init.Manager)), E("script", s.Init.Path)).WithFix("Enable the service at boot.", cmd)}
	}
	return nil
}
