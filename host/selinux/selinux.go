// Package selinux gathers what SELinux says about sshd's ports, for
// `sshdoctor server`: whether SELinux is enforcing, and the type each TCP
// port is labelled with. sshd may only bind ports labelled ssh_port_t; on
// an enforcing system a Port 2222 without that label makes sshd fail with
// "Bind to port 2222 on 0.0.0.0 failed: Permission denied". It only gathers
// facts; the check package judges.
package selinux

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// Facts is what Gather learns about SELinux.
type Facts struct {
	// Mode is "enforcing", "permissive" or "disabled"; empty when SELinux
	// is not there at all (no selinuxfs, no /etc/selinux/config), which is
	// the case on Debian and Ubuntu unless installed.
	Mode string
	// ModeSource is where Mode was read: /sys/fs/selinux/enforce (the
	// running kernel) or /etc/selinux/config (what the next boot uses).
	// Empty with Mode.
	ModeSource string
	// Policy is the policy name (SELINUXTYPE, "targeted"); empty when not
	// known.
	Policy string
	// Ports are the TCP and UDP port labels; nil when they were not read
	// (SELinux not enforcing, or no tool to read them: PortsSource then
	// says what was assumed).
	Ports []PortLabel
	// PortsSource says where Ports come from: "semanage port -l", "seinfo
	// --portcon", or "policy default" (ssh_port_t is tcp 22 in every
	// reference policy) plus local customizations read from ports.local.
	// Empty when Ports were not read.
	PortsSource string
	// Notes say what could not be known; empty when all was read.
	Notes []string
}

// PortLabel is one port or port range with its SELinux type.
type PortLabel struct {
	Type  string // "ssh_port_t"
	Proto string // "tcp" or "udp"
	// Low and High bound the range; equal for a single port.
	Low, High int
	// Local is true for a local customization (semanage port -a); false
	// for the policy's own labels or when not known.
	Local bool
}

// Label returns the type of a TCP or UDP port, as SELinux resolves it: an
// exact port before the narrowest range. ok is false when no label covers
// it (the policy's default, port_t, then applies) or Ports were not read.
func (f *Facts) Label(proto string, port int) (PortLabel, bool) {
	var best PortLabel
	found := false
	for _, l := range f.Ports {
		if l.Proto != proto || port < l.Low || port > l.High {
			continue
		}
		if !found || l.High-l.Low < best.High-best.Low || (l.High-l.Low == best.High-best.Low && l.Local && !best.Local) {
			best, found = l, true
		}
	}
	return best, found
}

// Enforcing reports whether SELinux is enforcing.
func (f *Facts) Enforcing() bool { return f.Mode == "enforcing" }

// Gather reads SELinux's mode and, when it is enforcing, the port labels.
func Gather(ctx context.Context, sys host.System) Facts {
	var f Facts
	cfgMode, policy := readConfig(sys)
	f.Policy = policy
	if sys.Live {
		if b, err := sys.ReadFile("/sys/fs/selinux/enforce"); err == nil {
			f.ModeSource = "/sys/fs/selinux/enforce"
			if strings.TrimSpace(string(b)) == "1" {
				f.Mode = "enforcing"
			} else {
				f.Mode = "permissive"
			}
		} else if cfgMode != "" {
			// Configured but not active in this kernel (selinux=0, or a
			// container without selinuxfs).
			f.Mode, f.ModeSource = "disabled", "/sys/fs/selinux/enforce"
		}
	} else if cfgMode != "" {
		f.Mode, f.ModeSource = cfgMode, "/etc/selinux/config"
		f.Notes = append(f.Notes, "offline tree: the SELinux mode is the one /etc/selinux/config sets for the next boot")
	}
	if !f.Enforcing() {
		return f
	}
	f.Ports, f.PortsSource, f.Notes = readPorts(ctx, sys, policy, f.Notes)
	return f
}

// readConfig reads SELINUX= and SELINUXTYPE= from /etc/selinux/config.
func readConfig(sys host.System) (mode, policy string) {
	data, err := sys.ReadFile("/etc/selinux/config")
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "SELINUX":
			mode = strings.ToLower(v)
		case "SELINUXTYPE":
			policy = v
		}
	}
	return mode, policy
}

// readPorts reads the port labels: with semanage (the full list, local
// changes included), else seinfo, else the policy default for ssh_port_t
// plus the local customizations file.
func readPorts(ctx context.Context, sys host.System, policy string, notes []string) ([]PortLabel, string, []string) {
	if sys.Live {
		out, err := sys.Command(ctx, "semanage", "port", "-l")
		if err == nil {
			if ports, perr := ParseSemanagePorts(out); perr == nil && len(ports) > 0 {
				return ports, "semanage port -l", notes
			}
		} else if !errors.Is(err, host.ErrNotFound) {
			notes = append(notes, "semanage port -l failed: "+err.Error())
		}
		out, err = sys.Command(ctx, "seinfo", "--portcon")
		if err == nil {
			if ports := ParsePortcon(out); len(ports) > 0 {
				return ports, "seinfo --portcon", notes
			}
		}
	}
	if policy == "" {
		policy = "targeted"
	}
	ports := []PortLabel{{Type: "ssh_port_t", Proto: "tcp", Low: 22, High: 22}}
	src := "policy default (ssh_port_t is tcp 22)"
	for _, p := range []string{"/var/lib/selinux/" + policy + "/active/ports.local", "/etc/selinux/" + policy + "/active/ports.local"} {
		data, err := sys.ReadFile(p)
		if err != nil {
			continue
		}
		local := ParsePortcon(data)
		for i := range local {
			local[i].Local = true
		}
		ports = append(ports, local...)
		src += " and " + p
		break
	}
	notes = append(notes, fmt.Sprintf("the port labels of the full policy could not be read (install policycoreutils-python-utils for semanage); assumed %s", src))
	return ports, src, notes
}
