package sshdconfig

import (
	"strconv"
	"strings"
)

// The scanners below reproduce the C functions sshd parses values with
// (misc.c, strtonum, sscanf), including their leniencies: "10:abc" is a
// valid MaxStartups of 10 to sshd, so it is to us.

// atoiErr is misc.c's atoi_err over the first argument.
func atoiErr(args []string) (int, string) {
	if len(args) == 0 || args[0] == "" {
		return 0, "missing"
	}
	n, e := strtonum(args[0], 0, 1<<31-1)
	return int(n), e
}

// convtime is misc.c's convtime: "90", "1h30m", "2W"; -1 when invalid.
func convtime(s string) int {
	if s == "" {
		return -1
	}
	const maxInt = 1<<31 - 1
	total := 0
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			// strtol would accept a sign or blanks; a negative value
			// is refused anyway and blanks cannot occur in a token.
			if s[0] == '+' {
				s = s[1:]
				continue
			}
			return -1
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > maxInt {
			return -1
		}
		mult := 1
		if i < len(s) {
			switch s[i] {
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
			i++
		}
		if n > maxInt/mult {
			return -1
		}
		n *= mult
		if total > maxInt-n {
			return -1
		}
		total += n
		s = s[i:]
	}
	return total
}

// splitListen splits a ListenAddress argument into host and port (0 when
// none), as sshd does with hpdelim and cleanhostname.
func splitListen(arg string) (host string, port int, lp *lineProblem) {
	if !strings.Contains(arg, "[") {
		if i := strings.IndexByte(arg, ':'); i >= 0 && strings.Contains(arg[i+1:], ":") {
			return arg, 0, nil // bare IPv6 address
		}
	}
	h, rest, ok := hpdelim(arg)
	if !ok {
		return "", 0, &lineProblem{reason: "bad address:port usage", fatal: true}
	}
	h = cleanhostname(h)
	if rest == nil {
		return h, 0, nil
	}
	p := a2port(*rest)
	if p <= 0 {
		return "", 0, &lineProblem{reason: "bad port number", fatal: true}
	}
	return h, p, nil
}

// hpdelim is misc.c's hpdelim: the host part of "host:port", "[v6]:port" or
// "host/port", and the rest (nil when none).
func hpdelim(s string) (string, *string, bool) {
	i := 0
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", nil, false
		}
		i = j + 1
	} else if j := strings.IndexAny(s, ":/"); j >= 0 {
		i = j
	} else {
		return s, nil, true
	}
	if i == len(s) {
		return s, nil, true
	}
	if s[i] != ':' && s[i] != '/' {
		return "", nil, false
	}
	rest := s[i+1:]
	return s[:i], &rest, true
}

func cleanhostname(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// MaxStartups is the MaxStartups setting start:rate:full.
type MaxStartups struct {
	// Start is the number of unauthenticated connections after which new
	// ones are refused with probability Rate percent, rising linearly to
	// all of them at Full.
	Start, Rate, Full int
}

// parseMaxStartups parses "10:30:100" or "10" like sshd's sscanf: a single
// number N means N:30:N (the rate keeps its default).
func parseMaxStartups(s string) (MaxStartups, bool) {
	n := scanInts(s, 3)
	m := MaxStartups{Rate: 30}
	switch len(n) {
	case 3:
		m = MaxStartups{n[0], n[1], n[2]}
		if m.Start > m.Full || m.Rate > 100 || m.Rate < 1 {
			return m, false
		}
	case 1:
		m.Start, m.Full = n[0], n[0]
	default:
		return m, false
	}
	if m.Full <= 0 || m.Start <= 0 {
		return m, false
	}
	return m, true
}

// scanInts is sscanf(s, "%d:%d:...") for up to max numbers: it returns the
// numbers converted before the first mismatch.
func scanInts(s string, max int) []int {
	var out []int
	for len(out) < max {
		t := strings.TrimLeft(s, " \t\n\v\f\r")
		i := 0
		if i < len(t) && (t[i] == '-' || t[i] == '+') {
			i++
		}
		j := i
		for j < len(t) && t[j] >= '0' && t[j] <= '9' {
			j++
		}
		if j == i {
			break
		}
		n, err := strconv.Atoi(t[:j])
		if err != nil {
			break
		}
		out = append(out, n)
		s = t[j:]
		if len(out) < max {
			if !strings.HasPrefix(s, ":") {
				break
			}
			s = s[1:]
		}
	}
	return out
}

// strtolOctal is strtol(s, &p, 8) with the "nothing converted" test.
func strtolOctal(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	j := 0
	for j < len(t) && t[j] >= '0' && t[j] <= '7' {
		j++
	}
	if j == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(t[:j], 8, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
