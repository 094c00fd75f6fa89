package service

import (
	"context"
	"errors"
	"os"
	"path"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// InitScript is sshd's init script under OpenRC or sysvinit.
type InitScript struct {
	// Manager is ManagerOpenRC or ManagerSysvinit.
	Manager Manager
	// Name is the service name ("ssh" on Debian, "sshd" elsewhere).
	Name string
	// Path is the script, /etc/init.d/NAME.
	Path string
	// Runlevels are where it starts at boot: OpenRC runlevel names
	// ("default") or sysvinit runlevel digits ("2", "3"); empty means it
	// does not start at boot.
	Runlevels []string
	// Status is "started" or "stopped" (or OpenRC's "crashed") from the
	// manager's status command; empty when not known (offline, or the
	// command failed).
	Status string
	// StatusOutput is what the status command printed, for evidence;
	// empty when it was not run.
	StatusOutput string
}

// findInitScript looks for an OpenRC or sysvinit script of sshd.
func findInitScript(sys host.System) *InitScript {
	openrc := false
	for _, p := range []string{"/sbin/openrc", "/sbin/openrc-run", "/usr/sbin/openrc", "/run/openrc"} {
		if _, err := sys.Lstat(p); err == nil {
			openrc = true
			break
		}
	}
	for _, name := range []string{"ssh", "sshd"} {
		p := "/etc/init.d/" + name
		if _, err := sys.Lstat(p); err != nil {
			continue
		}
		s := &InitScript{Name: name, Path: p, Manager: ManagerSysvinit}
		if openrc {
			s.Manager = ManagerOpenRC
			s.Runlevels = openrcRunlevels(sys, name)
		} else {
			s.Runlevels = sysvRunlevels(sys, name)
		}
		return s
	}
	return nil
}

// openrcRunlevels lists the runlevels whose directory links the service
// (/etc/runlevels/default/sshd).
func openrcRunlevels(sys host.System, name string) []string {
	var out []string
	levels, _ := os.ReadDir(sys.Path("/etc/runlevels"))
	for _, l := range levels {
		if _, err := sys.Lstat(path.Join("/etc/runlevels", l.Name(), name)); err == nil {
			out = append(out, l.Name())
		}
	}
	return out
}

// sysvRunlevels lists the runlevels 1-5 with a start link S??NAME in
// /etc/rcN.d.
func sysvRunlevels(sys host.System, name string) []string {
	var out []string
	for _, lvl := range []string{"1", "2", "3", "4", "5"} {
		entries, _ := os.ReadDir(sys.Path("/etc/rc" + lvl + ".d"))
		for _, e := range entries {
			n := e.Name()
			if len(n) > 3 && n[0] == 'S' && n[3:] == name {
				out = append(out, lvl)
				break
			}
		}
	}
	return out
}

// initStatus asks the manager whether the service runs: `rc-service NAME
// status` under OpenRC, `service NAME status` under sysvinit. Both follow
// the LSB exit codes: 0 running, 3 stopped.
func initStatus(ctx context.Context, sys host.System, s *InitScript) []string {
	var out []byte
	var err error
	if s.Manager == ManagerOpenRC {
		out, err = sys.Command(ctx, "rc-service", s.Name, "status")
	} else {
		out, err = sys.Command(ctx, "service", s.Name, "status")
	}
	s.StatusOutput = strings.TrimSpace(string(out))
	var ee *host.ExitError
	switch {
	case err == nil:
		s.Status = "started"
		if strings.Contains(s.StatusOutput, "crashed") {
			s.Status = "crashed"
		}
		return nil
	case errors.As(err, &ee):
		if s.StatusOutput == "" {
			s.StatusOutput = strings.TrimSpace(ee.Stderr)
		}
		switch {
		case strings.Contains(s.StatusOutput, "crashed"):
			s.Status = "crashed"
		case ee.Code == 3 || strings.Contains(s.StatusOutput, "stopped") || strings.Contains(s.StatusOutput, "not running"):
			s.Status = "stopped"
		default:
			return []string{"the init script's status is unclear: " + firstLine(s.StatusOutput)}
		}
		return nil
	}
	return []string{"the init script's status could not be asked: " + err.Error()}
}
