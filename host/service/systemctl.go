package service

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// showProperties are the properties Gather asks `systemctl show` for, for
// the service and socket units alike (a property a unit type lacks is
// simply not printed for it).
var showProperties = []string{
	"Id", "Names", "LoadState", "LoadError", "ActiveState", "SubState", "Result",
	"UnitFileState", "UnitFilePreset", "FragmentPath", "DropInPaths",
	"MainPID", "ExecMainCode", "ExecMainStatus", "StateChangeTimestamp", "NRestarts",
	"Listen", "Accept", "BindIPv6Only", "TriggeredBy", "Triggers",
}

// unitNames are the units Gather asks about, in this order: Debian and
// Ubuntu name the service ssh.service (with the alias sshd.service), Red
// Hat, Fedora, Arch and SUSE name it sshd.service.
var unitNames = []string{"ssh.service", "sshd.service", "ssh.socket", "sshd.socket"}

// Properties is one unit's block of `systemctl show` output, in order. A
// key may repeat (Listen, once per socket).
type Properties []Property

// Property is one KEY=VALUE line.
type Property struct{ Key, Value string }

// Get returns the last value of key, or "".
func (p Properties) Get(key string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].Key == key {
			return p[i].Value
		}
	}
	return ""
}

// All returns every value of key, in order.
func (p Properties) All(key string) []string {
	var out []string
	for _, kv := range p {
		if kv.Key == key {
			out = append(out, kv.Value)
		}
	}
	return out
}

// ParseSystemctlShow splits the output of `systemctl show UNIT... -p ...`
// into one block per unit, in the order the units were named. systemctl
// separates units with an empty line.
func ParseSystemctlShow(data []byte) ([]Properties, error) {
	var out []Properties
	var cur Properties
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return out, fmt.Errorf("service: systemctl show: line %d is not KEY=VALUE: %q", n, clip(line))
		}
		cur = append(cur, Property{k, v})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("service: systemctl show: %w", err)
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out, nil
}

// unitFromProperties turns one `systemctl show` block into a Unit.
func unitFromProperties(asked string, p Properties) Unit {
	u := Unit{
		Asked:         asked,
		Name:          p.Get("Id"),
		Names:         strings.Fields(p.Get("Names")),
		LoadState:     p.Get("LoadState"),
		LoadError:     p.Get("LoadError"),
		ActiveState:   p.Get("ActiveState"),
		SubState:      p.Get("SubState"),
		Result:        p.Get("Result"),
		UnitFileState: p.Get("UnitFileState"),
		Preset:        p.Get("UnitFilePreset"),
		FragmentPath:  p.Get("FragmentPath"),
		DropInPaths:   strings.Fields(p.Get("DropInPaths")),
		StateChange:   p.Get("StateChangeTimestamp"),
		BindIPv6Only:  p.Get("BindIPv6Only"),
		TriggeredBy:   strings.Fields(p.Get("TriggeredBy")),
		Triggers:      strings.Fields(p.Get("Triggers")),
		Accept:        p.Get("Accept") == "yes",
	}
	if u.Name == "" {
		u.Name = asked
	}
	u.MainPID, _ = strconv.Atoi(p.Get("MainPID"))
	u.ExecMainCode, _ = strconv.Atoi(p.Get("ExecMainCode"))
	u.ExecMainStatus, _ = strconv.Atoi(p.Get("ExecMainStatus"))
	u.Restarts, _ = strconv.Atoi(p.Get("NRestarts"))
	for _, l := range p.All("Listen") {
		u.Listen = append(u.Listen, ParseListen(l))
	}
	for _, d := range u.DropInPaths {
		if strings.HasPrefix(d, "/run/systemd/generator") {
			u.GeneratedBy = d
		}
	}
	return u
}

// ParseListen parses one socket address, either as `systemctl show -p
// Listen` prints it ("[::]:22 (Stream)", "0.0.0.0:2222 (Stream)") or as a
// ListenStream= value in a unit file ("22", "192.0.2.1:22", "[::1]:22").
// A bare port means every address, IPv6 and (unless BindIPv6Only=ipv6-only)
// IPv4; non-IP sockets (paths, vsock) keep Port 0.
func ParseListen(s string) Listen {
	l := Listen{Raw: s, Kind: "Stream"}
	if i := strings.LastIndex(s, " ("); i >= 0 && strings.HasSuffix(s, ")") {
		l.Kind = s[i+2 : len(s)-1]
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if p, err := strconv.Atoi(s); err == nil && p > 0 && p < 65536 {
		l.Addr, l.Port = netip.IPv6Unspecified(), p
		return l
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		l.Addr, l.Port = ap.Addr(), int(ap.Port())
		return l
	}
	// systemd also accepts "ADDR%IFACE:PORT" and "[ADDR]:PORT" with a
	// scope; keep what is recognisable.
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if p, err := strconv.Atoi(s[i+1:]); err == nil && p > 0 && p < 65536 {
			host := strings.Trim(s[:i], "[]")
			host, _, _ = strings.Cut(host, "%")
			if a, err := netip.ParseAddr(host); err == nil {
				l.Addr, l.Port = a, p
			}
		}
	}
	return l
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
