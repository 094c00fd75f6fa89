package bans

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// Fail2banDir is fail2ban's configuration directory.
const Fail2banDir = "/etc/fail2ban"

// jails turns the configuration into jails. services maps service
// names to TCP ports (from /etc/services).
func (c *f2bConfig) jails(services map[string]uint16) []*Jail {
	var out []*Jail
	for _, name := range c.order {
		if name == "DEFAULT" || name == "INCLUDES" {
			continue
		}
		j := &Jail{Name: name, CurrentlyBanned: -1, TotalBanned: -1, IgnoreSelf: true}
		start := c.starts[name]
		j.File, j.Line = start.file, start.line
		if v, ok := c.get(name, "enabled"); ok {
			j.Enabled = parseBool(v)
		}
		j.Port, _ = c.get(name, "port")
		j.Ports, j.AllPorts = parsePorts(j.Port, services)
		if v, ok := c.get(name, "action"); ok {
			j.Actions = parseActions(v)
		}
		for _, a := range j.Actions {
			if strings.Contains(a.Name, "allports") {
				j.AllPorts = true
			}
		}
		if v, ok := c.get(name, "bantime"); ok {
			if d, ok := parseF2BTime(v); ok {
				if d < 0 {
					j.Permanent = true
				} else {
					j.BanTime = d
				}
			}
		}
		if v, sec, ok := c.raw(name, "ignoreip"); ok {
			j.IgnoreIP = strings.FieldsFunc(c.interpolate(name, v.value, 0), func(r rune) bool {
				return r == ' ' || r == ',' || r == '\n' || r == '\t'
			})
			j.IgnoreIPFile, j.IgnoreIPSection = v.file, sec
		}
		if v, ok := c.get(name, "ignoreself"); ok {
			j.IgnoreSelf = parseBool(v)
		}
		out = append(out, j)
	}
	return out
}

func parseBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "true", "on":
		return true
	}
	return false
}

// parseActions reads the action setting: one action per line, each a name
// with optional [key=value, ...] parameters.
func parseActions(v string) []Action {
	var out []Action
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a := Action{Params: map[string]string{}}
		name, params, hasParams := strings.Cut(line, "[")
		a.Name = strings.TrimSpace(name)
		if hasParams {
			params = strings.TrimSuffix(strings.TrimSpace(params), "]")
			for k, v := range splitParams(params) {
				a.Params[k] = v
			}
		}
		out = append(out, a)
	}
	return out
}

// splitParams reads key=value pairs separated by commas; values may be
// quoted with " or '.
func splitParams(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,\t")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
			q := s[0]
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				val, s = strings.TrimSpace(s), ""
			} else {
				val, s = strings.TrimSpace(s[:end]), s[end:]
			}
		}
		out[key] = val
	}
	return out
}

// parsePorts resolves a port setting ("ssh", "22,2222", "1000:2000",
// "0:65535", "http,https") to ranges. A name missing from services makes
// the whole setting unknown (nil).
func parsePorts(v string, services map[string]uint16) ([]PortRange, bool) {
	var out []PortRange
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		lo, hi, isRange := strings.Cut(p, ":")
		if !isRange {
			lo, hi, isRange = strings.Cut(p, "-")
		}
		l, ok1 := portNum(lo, services)
		h, ok2 := l, true
		if isRange {
			h, ok2 = portNum(hi, services)
		}
		if !ok1 || !ok2 || h < l {
			return nil, false
		}
		out = append(out, PortRange{l, h})
	}
	all := false
	for _, r := range out {
		if r.Lo <= 1 && r.Hi == 65535 {
			all = true
		}
	}
	return out, all
}

func portNum(s string, services map[string]uint16) (uint16, bool) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), true
	}
	p, ok := services[strings.ToLower(s)]
	return p, ok
}

// defaultServices are used when the system has no /etc/services; they are
// the names jail.conf uses for SSH.
var defaultServices = map[string]uint16{"ssh": 22}

// readServices reads the TCP names and aliases of /etc/services.
func readServices(sys host.System) map[string]uint16 {
	data, err := sys.ReadFile("/etc/services")
	if err != nil {
		return defaultServices
	}
	out := map[string]uint16{}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(f[1], "/")
		if !ok || proto != "tcp" {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			if _, dup := out[strings.ToLower(name)]; !dup {
				out[strings.ToLower(name)] = uint16(n)
			}
		}
	}
	return out
}

// f2bUnits are the time units fail2ban's str2seconds understands.
var f2bUnits = []struct {
	names []string
	d     time.Duration
}{
	{[]string{"years", "year", "yea", "ye", "y"}, 365 * 24 * time.Hour},
	{[]string{"months", "month", "mon", "mo"}, time.Duration(30.4375 * 24 * float64(time.Hour))},
	{[]string{"weeks", "week", "wee", "we", "w"}, 7 * 24 * time.Hour},
	{[]string{"days", "day", "da", "dd", "d"}, 24 * time.Hour},
	{[]string{"hours", "hour", "hou", "ho", "hh", "h"}, time.Hour},
	{[]string{"minutes", "minute", "min", "mi", "mm", "m"}, time.Minute},
	{[]string{"seconds", "second", "sec", "se", "ss", "s"}, time.Second},
}

var (
	f2bTimeRE = regexp.MustCompile(`^([+-]?[0-9]*\.?[0-9]+)\s*([a-z]*)$`)
	f2bPartRE = regexp.MustCompile(`[+-]?[0-9.]+\s*[a-z]*`)
)

// parseF2BTime reads a fail2ban time ("600", "10m", "1h 30m", "1d", "-1").
// A negative result means permanent.
func parseF2BTime(s string) (time.Duration, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, false
	}
	var total time.Duration
	// Split between a letter and a digit or sign: "1h30m" -> "1h", "30m".
	parts := f2bPartRE.FindAllString(s, -1)
	if strings.Join(strings.Fields(strings.Join(parts, "")), "") != strings.Join(strings.Fields(s), "") {
		return 0, false
	}
	for _, p := range parts {
		m := f2bTimeRE.FindStringSubmatch(strings.TrimSpace(p))
		if m == nil {
			return 0, false
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, false
		}
		unit := time.Second
		if m[2] != "" {
			found := false
			for _, u := range f2bUnits {
				for _, name := range u.names {
					if m[2] == name {
						unit, found = u.d, true
					}
				}
			}
			if !found {
				return 0, false
			}
		}
		total += time.Duration(n * float64(unit))
	}
	return total, true
}
