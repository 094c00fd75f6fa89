package authkeys

import (
	"strconv"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// Options are the options in front of a key in authorized_keys, as sshd's
// sshauthopt_parse() reads them.
type Options struct {
	// Raw is the option text as written; empty when the line has none.
	Raw string
	// Restrict is "restrict": no forwarding, no pty, no ~/.ssh/rc.
	Restrict bool
	// CertAuthority marks the key as a CA: it then authorizes certificates
	// it signed, and never itself.
	CertAuthority bool
	// NoPTY, NoPortForwarding, NoAgentForwarding, NoX11Forwarding and
	// NoUserRC are the effective restrictions after "restrict" and the
	// flags (a later "pty" undoes "restrict"'s no-pty).
	NoPTY, NoPortForwarding, NoAgentForwarding, NoX11Forwarding, NoUserRC bool
	// Command is the forced command= ; HasCommand tells an empty command
	// from none.
	Command    string
	HasCommand bool
	// From is the from= pattern list; empty when none.
	From string
	// Principals is principals= (for cert-authority keys); empty when none.
	Principals string
	// Environment holds environment= values ("NAME=value").
	Environment []string
	// ExpiryTime is expiry-time= (the earliest if repeated); zero when none.
	// sshd refuses the key after it.
	ExpiryTime time.Time
	// PermitOpen and PermitListen hold permitopen= and permitlisten=.
	PermitOpen, PermitListen []string
	// Tunnel is tunnel=; empty when none.
	Tunnel string
	// TouchRequired and VerifyRequired are the FIDO options: presence
	// (default for sk- keys unless no-touch-required) and user verification.
	NoTouchRequired, VerifyRequired bool
}

// advancePastOptions is sshkey_advance_past_options(): the options end at
// the first blank outside double quotes; \" inside does not close them. It
// returns the index where they end, or -1 for an unterminated quote.
func advancePastOptions(s string) int {
	quoted := false
	i := 0
	for ; i < len(s) && (quoted || (s[i] != ' ' && s[i] != '\t')); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
			i++
		} else if s[i] == '"' {
			quoted = !quoted
		}
	}
	if i == len(s) && quoted {
		return -1
	}
	return i
}

// optFlag is opt_flag(): a case-insensitive flag name, optionally "no-"
// prefixed. It returns 1 (set), 0 (negated) or -1 (not this flag), and the
// rest of the options.
func optFlag(name string, negatable bool, s string) (int, string) {
	neg := false
	if negatable && len(s) >= 3 && strings.EqualFold(s[:3], "no-") {
		s = s[3:]
		neg = true
	}
	if len(s) >= len(name) && strings.EqualFold(s[:len(name)], name) {
		if neg {
			return 0, s[len(name):]
		}
		return 1, s[len(name):]
	}
	return -1, s
}

// optMatch is opt_match(): "name=" case-insensitively.
func optMatch(name, s string) (string, bool) {
	if len(s) > len(name) && strings.EqualFold(s[:len(name)], name) && s[len(name)] == '=' {
		return s[len(name)+1:], true
	}
	return s, false
}

// optDequote is opt_dequote(): a double-quoted value where \" stands for ".
func optDequote(s string) (string, string, string) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, "missing start quote"
	}
	var b strings.Builder
	i := 1
	for i < len(s) && s[i] != '"' {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
			i++
		}
		b.WriteByte(s[i])
		i++
	}
	if i >= len(s) {
		return "", s, "missing end quote"
	}
	return b.String(), s[i+1:], ""
}

// parseOptions is sshauthopt_parse() of OpenSSH 9.x. The error strings are
// sshd's ("unknown key option", "invalid environment string"...).
func parseOptions(s string, loc *time.Location) (Options, string) {
	o := Options{Raw: s}
	var errstr string
	for s != "" && s[0] != ' ' && s[0] != '\t' {
		var r int
		var v string
		var ok bool
		switch {
		case flag(&r, &s, "restrict", false):
			o.Restrict = true
			o.NoPortForwarding, o.NoAgentForwarding, o.NoX11Forwarding, o.NoPTY, o.NoUserRC = true, true, true, true, true
		case flag(&r, &s, "cert-authority", false):
			o.CertAuthority = true
		case flag(&r, &s, "port-forwarding", true):
			o.NoPortForwarding = r != 1
		case flag(&r, &s, "agent-forwarding", true):
			o.NoAgentForwarding = r != 1
		case flag(&r, &s, "x11-forwarding", true):
			o.NoX11Forwarding = r != 1
		case flag(&r, &s, "touch-required", true):
			o.NoTouchRequired = r != 1
		case flag(&r, &s, "verify-required", true):
			o.VerifyRequired = r == 1
		case flag(&r, &s, "pty", true):
			o.NoPTY = r != 1
		case flag(&r, &s, "user-rc", true):
			o.NoUserRC = r != 1
		default:
			var rest string
			if rest, ok = optMatch("command", s); ok {
				if o.HasCommand {
					return o, `multiple "command" clauses`
				}
				if o.Command, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
				o.HasCommand = true
			} else if rest, ok = optMatch("principals", s); ok {
				if o.Principals != "" {
					return o, `multiple "principals" clauses`
				}
				if o.Principals, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
			} else if rest, ok = optMatch("from", s); ok {
				if o.From != "" {
					return o, `multiple "from" clauses`
				}
				if o.From, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
			} else if rest, ok = optMatch("expiry-time", s); ok {
				if v, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
				t, err := parseAbsoluteTime(v, loc)
				if err != "" {
					return o, err
				}
				if o.ExpiryTime.IsZero() || t.Before(o.ExpiryTime) {
					o.ExpiryTime = t
				}
			} else if rest, ok = optMatch("environment", s); ok {
				if v, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
				name, _, found := strings.Cut(v, "=")
				if !found || !validEnvName(name) {
					return o, "invalid environment string"
				}
				o.Environment = append(o.Environment, v)
			} else if rest, ok = optMatch("permitopen", s); ok {
				if v, s, errstr = handlePermit(rest, false); errstr != "" {
					return o, errstr
				}
				o.PermitOpen = append(o.PermitOpen, v)
			} else if rest, ok = optMatch("permitlisten", s); ok {
				if v, s, errstr = handlePermit(rest, true); errstr != "" {
					return o, errstr
				}
				o.PermitListen = append(o.PermitListen, v)
			} else if rest, ok = optMatch("tunnel", s); ok {
				if v, s, errstr = optDequote(rest); errstr != "" {
					return o, errstr
				}
				if !validTun(v) {
					return o, "invalid tun device"
				}
				o.Tunnel = v
			}
		}
		if s == "" || s[0] == ' ' || s[0] == '\t' {
			break
		}
		if s[0] != ',' {
			return o, "unknown key option"
		}
		s = s[1:]
		if s == "" {
			return o, "unexpected end-of-options"
		}
	}
	return o, ""
}

// flag runs optFlag and, on a match, stores the result and advances s.
func flag(r *int, s *string, name string, negatable bool) bool {
	v, rest := optFlag(name, negatable, *s)
	if v == -1 {
		return false
	}
	*r, *s = v, rest
	return true
}

// validEnvName is valid_env_name(): letters, digits and '_', not empty.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validTun is a2tun() without a remote part: "any" or 0..0x7ffffffd.
func validTun(s string) bool {
	if strings.EqualFold(s, "any") {
		return true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n <= 0x7ffffffd
}

// handlePermit is handle_permit(): a quoted HOST:PORT where PORT is a
// number 1-65535 or "*"; for permitlisten a bare PORT means "*:PORT".
func handlePermit(s string, bare bool) (string, string, string) {
	v, rest, errstr := optDequote(s)
	if errstr != "" {
		return "", s, errstr
	}
	if bare && !strings.Contains(v, ":") {
		v = "*:" + v
	}
	host, port, ok := hpdelim(v)
	if !ok || len(host) >= 1025 {
		return "", rest, "invalid permission hostname"
	}
	if port != "*" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return "", rest, "invalid permission port"
		}
	}
	return v, rest, ""
}

// hpdelim splits HOST:PORT or [HOST]:PORT (hpdelim2); ok is false when
// there is no port.
func hpdelim(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 || i+1 >= len(s) || (s[i+1] != ':' && s[i+1] != '/') {
			return "", "", false
		}
		return s[1:i], s[i+2:], true
	}
	i := strings.IndexAny(s, ":/")
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// parseAbsoluteTime is parse_absolute_time(): YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in local time unless it ends in "Z" or "UTC".
func parseAbsoluteTime(s string, loc *time.Location) (time.Time, string) {
	if loc == nil {
		loc = time.Local
	}
	l := len(s)
	switch {
	case l > 1 && strings.EqualFold(s[l-1:], "z"):
		s, loc = s[:l-1], time.UTC
	case l > 3 && strings.EqualFold(s[l-3:], "utc"):
		s, loc = s[:l-3], time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, "invalid expires time"
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil || t.Unix() <= 0 {
		return time.Time{}, "invalid expires time"
	}
	return t, ""
}

// fromValid reports whether a from= list is one sshd can evaluate:
// match_host_and_ip returns -1 (and sshd refuses the key) for an invalid
// address list.
func fromValid(list string) bool {
	return accounts.AddrMatchList("", list) != -2
}
