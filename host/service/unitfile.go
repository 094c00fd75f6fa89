package service

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/sshdoctor/sshdoctor/host"
)

// unitDirs are the directories systemd loads system units from, highest
// priority first. /run/systemd/generator holds what generators wrote at
// boot; on an offline disk /run is normally empty.
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/run/systemd/generator",
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
}

// generatorPaths are where Ubuntu (22.10 and later) installs the generator
// that writes ssh.socket's ListenStream from sshd_config at every boot and
// daemon-reload.
var generatorPaths = []string{
	"/usr/lib/systemd/system-generators/sshd-socket-generator",
	"/lib/systemd/system-generators/sshd-socket-generator",
}

// UnitFile is a systemd unit file with its drop-ins, parsed.
type UnitFile struct {
	// Sections maps a section name ("Socket") to its settings in file
	// order, drop-ins applied after the main file.
	Sections map[string][]Property
}

// Values returns the values of key in section as systemd resolves a list
// setting: an empty assignment ("ListenStream=") clears what came before.
func (u *UnitFile) Values(section, key string) []string {
	var out []string
	for _, p := range u.Sections[section] {
		if p.Key != key {
			continue
		}
		if p.Value == "" {
			out = nil
			continue
		}
		out = append(out, p.Value)
	}
	return out
}

// Last returns the last value of a single-valued setting, or "".
func (u *UnitFile) Last(section, key string) string {
	v := u.Values(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// ParseUnitFile parses unit file text into u, adding to what is there (for
// drop-ins): [Section] headers, KEY=VALUE lines, '#' and ';' comments, and
// backslash line continuations.
func ParseUnitFile(u *UnitFile, data []byte) {
	if u.Sections == nil {
		u.Sections = map[string][]Property{}
	}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var cont strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont.Len() > 0 {
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
				continue // comments inside a continuation are skipped
			}
			line = cont.String() + " " + line
			cont.Reset()
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = line[1 : len(line)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || section == "" || k == "" {
			continue
		}
		u.Sections[section] = append(u.Sections[section], Property{k, strings.TrimSpace(v)})
	}
}

// loadUnitOffline reads a unit the way systemd would at boot: the first
// fragment along unitDirs (a link to /dev/null masks it), then its drop-ins
// (NAME.d/*.conf in every directory, a file name in a higher directory
// hiding the same name below), and its enablement from the .wants/ and
// .requires/ links in /etc/systemd/system.
func loadUnitOffline(sys host.System, name string) (Unit, *UnitFile) {
	u := Unit{Asked: name, Name: name, LoadState: "not-found"}
	var uf UnitFile
	for _, dir := range unitDirs {
		p := path.Join(dir, name)
		fi, err := sys.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(sys.Path(p))
			if target == "/dev/null" {
				u.LoadState, u.UnitFileState, u.FragmentPath = "masked", "masked", p
				return u, nil
			}
			if !path.IsAbs(target) {
				target = path.Join(dir, target)
			}
			// An alias (sshd.service -> ssh.service): the unit is the
			// target's, under its own name.
			if base := path.Base(target); base != name {
				u.Name = base
				u.Names = []string{base, name}
			}
			p = target
		}
		data, err := sys.ReadFile(p)
		if err != nil {
			continue
		}
		u.LoadState, u.FragmentPath = "loaded", p
		ParseUnitFile(&uf, data)
		break
	}
	if u.LoadState != "loaded" {
		return u, nil
	}
	u.DropInPaths = dropIns(sys, u.Name)
	for _, d := range u.DropInPaths {
		if data, err := sys.ReadFile(d); err == nil {
			ParseUnitFile(&uf, data)
		}
		if strings.HasPrefix(d, "/run/systemd/generator") {
			u.GeneratedBy = d
		}
	}
	u.Accept = parseBool(uf.Last("Socket", "Accept"))
	u.BindIPv6Only = uf.Last("Socket", "BindIPv6Only")
	for _, l := range uf.Values("Socket", "ListenStream") {
		u.Listen = append(u.Listen, ParseListen(l))
	}
	u.UnitFileState = offlineEnablement(sys, u, &uf)
	return u, &uf
}

// dropIns lists the drop-in files of a unit in the order systemd applies
// them: sorted by file name, the highest-priority directory winning.
func dropIns(sys host.System, name string) []string {
	chosen := map[string]string{}
	for i := len(unitDirs) - 1; i >= 0; i-- {
		dir := path.Join(unitDirs[i], name+".d")
		entries, err := os.ReadDir(sys.Path(dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".conf") {
				chosen[e.Name()] = path.Join(dir, e.Name())
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, chosen[n])
	}
	return out
}

// offlineEnablement works out `systemctl is-enabled` from the links in
// /etc/systemd/system: "enabled" when some target wants or requires the
// unit (under any of its names), "static" when it has no [Install]
// section, else "disabled".
func offlineEnablement(sys host.System, u Unit, uf *UnitFile) string {
	names := append([]string{u.Name}, u.Names...)
	dirs, _ := os.ReadDir(sys.Path("/etc/systemd/system"))
	for _, d := range dirs {
		if !d.IsDir() || !(strings.HasSuffix(d.Name(), ".wants") || strings.HasSuffix(d.Name(), ".requires")) {
			continue
		}
		links, _ := os.ReadDir(sys.Path(path.Join("/etc/systemd/system", d.Name())))
		for _, l := range links {
			if slices.Contains(names, l.Name()) {
				return "enabled"
			}
		}
	}
	if len(uf.Sections["Install"]) == 0 {
		return "static"
	}
	return "disabled"
}

func parseBool(s string) bool {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}
