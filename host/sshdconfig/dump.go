package sshdconfig

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Disagreement is a key where `sshd -T` and this package's evaluation of the
// same configuration and connection differ. sshd is the authority: a
// disagreement is a bug of ours, shown in debug output.
type Disagreement struct {
	// Key is the keyword as `sshd -T` prints it ("passwordauthentication").
	Key string
	// Ours and SSHD are the values, one per output line.
	Ours, SSHD []string
}

// dumpers produce, for the keys this package models, the lines `sshd -T`
// prints, so that the two can be compared as text.
var dumpers = map[string]func(e *Effective) []string{
	"port": func(e *Effective) []string {
		var out []string
		for _, p := range e.Ports() {
			out = append(out, strconv.Itoa(p))
		}
		return out
	},
	"addressfamily":                func(e *Effective) []string { return []string{e.AddressFamily()} },
	"listenaddress":                dumpListen,
	"hostkey":                      func(e *Effective) []string { return e.HostKeys() },
	"permitrootlogin":              dumpRoot,
	"passwordauthentication":       dumpFlag("PasswordAuthentication", true),
	"kbdinteractiveauthentication": dumpFlag("KbdInteractiveAuthentication", true),
	"pubkeyauthentication":         dumpFlag("PubkeyAuthentication", true),
	"usepam":                       dumpFlag("UsePAM", false),
	"strictmodes":                  dumpFlag("StrictModes", true),
	"usedns":                       dumpFlag("UseDNS", false),
	"permitemptypasswords":         dumpFlag("PermitEmptyPasswords", false),
	"x11forwarding":                dumpFlag("X11Forwarding", false),
	"hostbasedauthentication":      dumpFlag("HostbasedAuthentication", false),
	"gssapiauthentication":         dumpFlag("GSSAPIAuthentication", false),
	"permittty":                    dumpFlag("PermitTTY", true),
	"allowagentforwarding":         dumpFlag("AllowAgentForwarding", true),
	"disableforwarding":            dumpFlag("DisableForwarding", false),
	"printmotd":                    dumpFlag("PrintMotd", true),
	"tcpkeepalive":                 dumpFlag("TCPKeepAlive", true),
	"maxauthtries":                 func(e *Effective) []string { return []string{strconv.Itoa(e.MaxAuthTries())} },
	"maxsessions":                  func(e *Effective) []string { return []string{strconv.Itoa(e.int("MaxSessions", 10))} },
	"clientalivecountmax":          func(e *Effective) []string { return []string{strconv.Itoa(e.int("ClientAliveCountMax", 3))} },
	"logingracetime":               dumpTime("LoginGraceTime", 120),
	"clientaliveinterval":          dumpTime("ClientAliveInterval", 0),
	"maxstartups":                  func(e *Effective) []string { return []string{e.MaxStartups().String()} },
	"pidfile": func(e *Effective) []string {
		return []string{noneIfEmpty(e.PidFile())}
	},
	"authorizedkeysfile": func(e *Effective) []string {
		return []string{strings.Join(e.AuthorizedKeysFiles(), " ")}
	},
	"authorizedkeyscommand": func(e *Effective) []string {
		return []string{noneIfEmpty(e.AuthorizedKeysCommand())}
	},
	"authorizedkeyscommanduser": func(e *Effective) []string {
		return []string{noneIfEmpty(e.AuthorizedKeysCommandUser())}
	},
	"allowusers":  dumpRules((*Effective).AllowUsers),
	"denyusers":   dumpRules((*Effective).DenyUsers),
	"allowgroups": dumpRules((*Effective).AllowGroups),
	"denygroups":  dumpRules((*Effective).DenyGroups),
	"pubkeyacceptedalgorithms": func(e *Effective) []string {
		return []string{strings.Join(e.PubkeyAcceptedAlgorithms(), ",")}
	},
	"hostkeyalgorithms": func(e *Effective) []string {
		return []string{strings.Join(e.HostKeyAlgorithms(), ",")}
	},
	"loglevel": func(e *Effective) []string {
		// sshd prints the first name of a level: SILENT for QUIET,
		// DEBUG for DEBUG1.
		v := strings.ToUpper(e.first("LogLevel", "INFO"))
		switch v {
		case "QUIET":
			v = "SILENT"
		case "DEBUG1":
			v = "DEBUG"
		}
		return []string{v}
	},
	"allowtcpforwarding": func(e *Effective) []string {
		v := strings.ToLower(e.first("AllowTcpForwarding", "yes"))
		if v == "all" {
			v = "yes"
		}
		return []string{v}
	},
}

func dumpFlag(option string, def bool) func(e *Effective) []string {
	return func(e *Effective) []string { return []string{yesNo(e.flag(option, def))} }
}

func dumpTime(option string, def int) func(e *Effective) []string {
	return func(e *Effective) []string {
		if a := e.Args(option); len(a) > 0 {
			return []string{strconv.Itoa(convtime(a[0]))}
		}
		return []string{strconv.Itoa(def)}
	}
}

func dumpRules(f func(*Effective) []Rule) func(e *Effective) []string {
	return func(e *Effective) []string {
		var out []string
		for _, r := range f(e) {
			out = append(out, r.Pattern)
		}
		return out
	}
}

func dumpRoot(e *Effective) []string {
	v := e.PermitRootLogin()
	if v == "prohibit-password" {
		// sshd prints the first name of the value, the old one.
		v = "without-password"
	}
	return []string{v}
}

// dumpListen prints the endpoints as sshd does once it has resolved them:
// "addr:port", IPv6 in brackets. Host names would need resolving, so a
// configuration with one is not compared (nil).
func dumpListen(e *Effective) []string {
	var out []string
	for _, ep := range e.Endpoints() {
		a, err := netip.ParseAddr(ep.Host)
		if err != nil {
			return nil
		}
		fam := e.AddressFamily()
		if (fam == "inet" && !a.Is4()) || (fam == "inet6" && a.Is4()) {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, uint16(ep.Port)).String())
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// orderless lists keys whose line order `sshd -T` does not preserve.
var orderless = map[string]bool{"listenaddress": true}

// Dump returns, for the keys this package models, the lines `sshd -T`
// would print for this connection.
func (e *Effective) Dump() Dump {
	d := Dump{}
	for k, f := range dumpers {
		if v := f(e); v != nil {
			d[k] = v
		}
	}
	return d
}

// Compare compares this evaluation with the output of `sshd -T` for the
// same configuration and connection, on the keys this package models. Keys
// the sshd build does not print are skipped.
func (e *Effective) Compare(sshd Dump) []Disagreement {
	ours := e.Dump()
	keys := make([]string, 0, len(ours))
	for k := range ours {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Disagreement
	for _, k := range keys {
		theirs, ok := sshd[k]
		if !ok && !isList(k) {
			continue
		}
		a, b := ours[k], theirs
		if orderless[k] {
			a, b = sorted(a), sorted(b)
		}
		if !equalStrings(a, b) {
			out = append(out, Disagreement{Key: k, Ours: ours[k], SSHD: theirs})
		}
	}
	return out
}

// isList reports keys that sshd omits from -T output when empty.
func isList(k string) bool {
	switch k {
	case "allowusers", "denyusers", "allowgroups", "denygroups":
		return true
	}
	return false
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
