package dest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// canonicalize applies resolve_canonicalize without DNS: a numeric
// address is rewritten in canonical form (reported true); a name that ssh
// would look up with CanonicalDomains is noted and kept.
func (ev *eval) canonicalize() bool {
	if a, ok := ev.parseAddr(ev.host); ok {
		if s := a.String(); !eqFold(s, ev.host) {
			ev.host = s
		}
		return true
	}
	if isAddrFast(ev.host) || ev.opt.canonicalize <= 0 {
		return false
	}
	if !ev.direct() && ev.opt.canonicalize != 2 {
		return false
	}
	maxDots := ev.opt.canonMaxDots
	if maxDots < 0 {
		maxDots = 1
	}
	domains := len(ev.opt.canonDomains) > 0 && !eqFold(ev.opt.canonDomains[0], "none")
	if strings.HasSuffix(ev.host, ".") || (domains && strings.Count(ev.host, ".") <= maxDots) {
		ev.note("CanonicalizeHostname makes ssh look %q up in the DNS, which sshdoctor's parser does not do; the name was kept as it is", ev.host)
	}
	return false
}

// direct reports whether ssh connects without a proxy or jump host.
func (ev *eval) direct() bool {
	return clearOrNone(ev.opt.proxyCommand) && (!ev.opt.jumpSet || ev.opt.jumpHost == "none")
}

func clearOrNone(s setStr) bool { return !s.set || eqFold(s.v, "none") }

func isAddrFast(name string) bool {
	return strings.ContainsAny(name, "%:") || strings.Trim(name, "0123456789.") == ""
}

func (ev *eval) isAddr(name string) bool {
	if isAddrFast(name) {
		return true
	}
	_, ok := ev.parseAddr(name)
	return ok
}

// parseAddr parses a numeric address as getaddrinfo(AI_NUMERICHOST) does
// on glibc (inet_aton forms for IPv4), limited by AddressFamily.
func (ev *eval) parseAddr(s string) (netip.Addr, bool) {
	fam := ev.opt.addressFamily.v
	if !strings.Contains(s, ":") {
		a, ok := inetAton(s)
		if !ok || fam == "inet6" {
			return netip.Addr{}, false
		}
		return a, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || fam == "inet" {
		return netip.Addr{}, false
	}
	return a, true
}

// inetAton parses an IPv4 address in any form inet_aton(3) accepts:
// 1 to 4 parts, each decimal, octal (leading 0) or hex (0x).
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		base := 10
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	n := len(vals)
	for _, v := range vals[:n-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[n-1] > uint64(1)<<(8*(5-n))-1 {
		return netip.Addr{}, false
	}
	var u uint32
	for i, v := range vals[:n-1] {
		u |= uint32(v) << (24 - 8*i)
	}
	u |= uint32(vals[n-1])
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}), true
}

// a2port parses a port number or a service name.
func (ev *eval) a2port(s string) int {
	// strtonum(3): optional leading space and sign, then decimal digits.
	if n, err := strconv.ParseInt(strings.TrimLeft(s, " \t\n\v\f\r"), 10, 64); err == nil {
		if n < 0 || n > 65535 {
			return -1
		}
		return int(n)
	}
	if ev.services == nil {
		ev.services = map[string]int{"ssh": 22}
		if data, err := os.ReadFile(ev.path("/etc/services")); err == nil {
			for _, l := range strings.Split(string(data), "\n") {
				if i := strings.IndexByte(l, '#'); i >= 0 {
					l = l[:i]
				}
				f := strings.Fields(l)
				if len(f) < 2 {
					continue
				}
				num, proto, ok := strings.Cut(f[1], "/")
				p, err := strconv.Atoi(num)
				if !ok || proto != "tcp" || err != nil {
					continue
				}
				for _, name := range append([]string{f[0]}, f[2:]...) {
					if _, dup := ev.services[name]; !dup {
						ev.services[name] = p
					}
				}
			}
		}
	}
	if p, ok := ev.services[s]; ok {
		return p
	}
	return -1
}

// convtime parses a time interval such as 90, 1m30s or 2h, in seconds.
func convtime(s string) int {
	const intMax = 1<<31 - 1
	if s == "" {
		return -1
	}
	total := 0
	for s != "" {
		t := strings.TrimLeft(s, " \t\n\v\f\r")
		neg := false
		if t != "" && (t[0] == '+' || t[0] == '-') {
			neg = t[0] == '-'
			t = t[1:]
		}
		i := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == 0 {
			return -1
		}
		secs, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil || (neg && secs != 0) {
			return -1
		}
		t = t[i:]
		mult := int64(1)
		if t != "" {
			switch t[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 604800
			default:
				return -1
			}
			t = t[1:]
		}
		if secs > intMax/mult {
			return -1
		}
		secs *= mult
		if int64(total) > intMax-secs {
			return -1
		}
		total += int(secs)
		s = t
	}
	return total
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// tilde expands a leading ~ or ~user from the password database, as ssh's
// tilde_expand_filename: "~" becomes the home directory with a slash.
func (ev *eval) tilde(p string) (string, error) {
	if p == "" || p[0] != '~' {
		return p, nil
	}
	rest := p[1:]
	var name, path string
	if rest != "" && rest[0] != '/' {
		name, path, _ = strings.Cut(rest, "/")
	} else {
		path = rest
	}
	path = strings.TrimLeft(path, "/")
	dir := ev.home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return "", fmt.Errorf("dest: ssh config: no such user %s (in %s)", name, p)
		}
		dir = u.HomeDir
	}
	if dir == "" || dir[len(dir)-1] != '/' {
		dir += "/"
	}
	return dir + path, nil
}

// percentExpand expands %-tokens from keys and, when env is not nil,
// ${VAR} from the environment, failing where OpenSSH fails.
func percentExpand(s string, keys map[byte]string, env func(string) (string, bool)) (string, error) {
	var b strings.Builder
	var missing error
	for i := 0; i < len(s); i++ {
		c := s[i]
		if env != nil && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("environment variable %q missing closing '}'", s[i+2:])
			}
			if end == 0 {
				return "", errors.New("zero-length environment variable")
			}
			name := s[i+2 : i+2+end]
			if v, ok := env(name); ok {
				b.WriteString(v)
			} else if missing == nil {
				missing = fmt.Errorf("env var ${%s} has no value", name)
			}
			i += 2 + end
			continue
		}
		if c != '%' || keys == nil {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("invalid format")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := keys[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown key %%%c", s[i])
		}
		b.WriteString(v)
		// A bound that no real value nears, so that a pathological
		// configuration cannot make the expansion eat memory.
		if b.Len() > maxConfigBytes {
			return "", errors.New("expansion too long")
		}
	}
	if missing != nil {
		return "", missing
	}
	return b.String(), nil
}
