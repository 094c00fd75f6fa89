package tcpwrappers

import (
	"fmt"
	"strconv"
	"strings"
)

// Effect is what a matching rule does to the connection.
type Effect string

// The effects of a rule.
const (
	// EffectGrant lets the client through to sshd.
	EffectGrant Effect = "grant"
	// EffectRefuse closes the connection before sshd says anything: the
	// client sees "Connection closed by ... port 22" (or "kex_exchange_
	// identification: read: Connection reset by peer") after about five
	// seconds, which libwrap sleeps before exiting.
	EffectRefuse Effect = "refuse"
	// EffectTwist runs another program in sshd's place (option twist):
	// the client talks to that program, so SSH fails all the same.
	EffectTwist Effect = "twist"
)

// Option is one field of a rule's option list (hosts_options(5)).
type Option struct {
	// Name is the option's name in lower case ("allow", "spawn").
	Name string
	// Value is its argument; empty when it has none.
	Value string
}

// optionFlags mirror libwrap's option table.
const (
	optNeedArg = 1 << iota // requires a value
	optArg                 // permits a value
	optUseLast             // must be the last option
)

var optionTable = map[string]int{
	"user":      optNeedArg | optArg,
	"group":     optNeedArg | optArg,
	"umask":     optNeedArg | optArg,
	"linger":    optNeedArg | optArg,
	"keepalive": 0,
	"spawn":     optNeedArg | optArg,
	"twist":     optNeedArg | optArg | optUseLast,
	"rfc931":    optArg,
	"setenv":    optNeedArg | optArg,
	"nice":      optArg,
	"severity":  optNeedArg | optArg,
	"allow":     optUseLast,
	"deny":      optUseLast,
	"banners":   optNeedArg | optArg,
}

// ParseOptions splits a rule's option field as libwrap's process_options
// does. It returns the options up to the first one libwrap rejects, and the
// reason for the rejection (empty when all are valid). libwrap refuses the
// client when it meets such an option.
func ParseOptions(field string) (opts []Option, bad string) {
	fieldsList := optionFields(field)
	for i, raw := range fieldsList {
		opt := strings.Trim(raw, " \t\r\n")
		name, value := opt, ""
		if j := strings.IndexAny(opt, "= \t\r\n"); j >= 0 {
			name, value = opt[:j], opt[j:]
			// One '=' between name and value is ignored, as are blanks
			// around it.
			if value[0] != '=' {
				value = strings.TrimLeft(value[1:], " \t\r\n")
			}
			if strings.HasPrefix(value, "=") {
				value = strings.TrimLeft(value[1:], " \t\r\n")
			}
		}
		if name == "" {
			return opts, "missing option name"
		}
		key := strings.ToLower(name)
		flags, ok := optionTable[key]
		if !ok {
			return opts, fmt.Sprintf("bad option name: %q", name)
		}
		if value == "" && flags&optNeedArg != 0 {
			return opts, fmt.Sprintf("option %q requires value", name)
		}
		if value != "" && flags&optArg == 0 {
			return opts, fmt.Sprintf("option %q requires no value", name)
		}
		if i < len(fieldsList)-1 && flags&optUseLast != 0 {
			return opts, fmt.Sprintf("option %q must be at end", name)
		}
		if why := badValue(key, value); why != "" {
			return opts, why
		}
		opts = append(opts, Option{Name: key, Value: value})
	}
	return opts, ""
}

// badValue checks the values that libwrap parses itself and rejects when
// malformed. User and group names are not checked: that needs the
// system's accounts.
func badValue(key, value string) string {
	if value == "" {
		return ""
	}
	var err error
	switch key {
	case "umask":
		_, err = strconv.ParseUint(value, 8, 32)
	case "nice", "linger", "rfc931":
		_, err = strconv.Atoi(value)
	default:
		return ""
	}
	if err != nil {
		return fmt.Sprintf("bad %s value: %q", key, value)
	}
	return ""
}

// optionFields splits at ':' as libwrap's get_field does: "\:" is a
// literal colon, and an empty field list yields no options at all.
func optionFields(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' {
			out = append(out, cur.String())
			cur.Reset()
			if i+1 == len(s) {
				// "rule ends in ':'": libwrap warns and stops there.
				return out
			}
			continue
		}
		if c == '\\' && i+1 < len(s) && s[i+1] == ':' {
			i++
			c = ':'
		}
		cur.WriteByte(c)
	}
	return append(out, cur.String())
}

// effectOf says what a rule does when it matches, in hosts.allow (allow
// true) or hosts.deny, and why when the options decide it.
func effectOf(r Rule, allow bool) (Effect, string) {
	def := EffectRefuse
	if allow {
		def = EffectGrant
	}
	if !r.HasOptions {
		return def, ""
	}
	opts, bad := ParseOptions(r.Options)
	if bad != "" {
		return EffectRefuse, "libwrap rejects the options (" + bad + ") and refuses the client"
	}
	if len(opts) == 0 {
		return def, ""
	}
	switch last := opts[len(opts)-1]; last.Name {
	case "allow":
		return EffectGrant, "option allow"
	case "deny":
		return EffectRefuse, "option deny"
	case "twist":
		return EffectTwist, "option twist runs " + strconv.Quote(last.Value) + " instead of sshd"
	}
	return def, ""
}
