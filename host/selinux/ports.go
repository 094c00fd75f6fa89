package selinux

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseSemanagePorts parses `semanage port -l`:
//
//	SELinux Port Type              Proto    Port Number
//
//	ssh_port_t                     tcp      2222, 22
//	unreserved_port_t              tcp      61000-65535, 1024-32767
func ParseSemanagePorts(data []byte) ([]PortLabel, error) {
	var out []PortLabel
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || (f[0] == "SELinux" && len(f) > 1 && f[1] == "Port") {
			continue
		}
		if len(f) < 3 {
			return out, fmt.Errorf("selinux: semanage line %d: want TYPE PROTO PORTS, got %q", n, sc.Text())
		}
		typ, proto := f[0], f[1]
		for _, r := range strings.Split(strings.Join(f[2:], ""), ",") {
			lo, hi, err := parseRange(r)
			if err != nil {
				return out, fmt.Errorf("selinux: semanage line %d: %w", n, err)
			}
			out = append(out, PortLabel{Type: typ, Proto: proto, Low: lo, High: hi})
		}
	}
	return out, sc.Err()
}

// ParsePortcon parses portcon statements, as `seinfo --portcon` prints
// them and as libsemanage stores local customizations in ports.local:
//
//	portcon tcp 22 system_u:object_r:ssh_port_t:s0
//	portcon tcp 1024-32767 system_u:object_r:unreserved_port_t:s0
//
// Lines that are not portcon statements (comments, headers) are skipped.
func ParsePortcon(data []byte) []PortLabel {
	var out []PortLabel
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != "portcon" {
			continue
		}
		lo, hi, err := parseRange(f[2])
		if err != nil {
			continue
		}
		ctx := strings.Split(f[3], ":")
		if len(ctx) < 3 {
			continue
		}
		out = append(out, PortLabel{Type: ctx[2], Proto: f[1], Low: lo, High: hi})
	}
	return out
}

func parseRange(s string) (int, int, error) {
	s = strings.TrimSpace(s)
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 0 || lo > 65535 {
		return 0, 0, fmt.Errorf("bad port %q", s)
	}
	hi := lo
	if isRange {
		hi, err = strconv.Atoi(b)
		if err != nil || hi < lo || hi > 65535 {
			return 0, 0, fmt.Errorf("bad port range %q", s)
		}
	}
	return lo, hi, nil
}
