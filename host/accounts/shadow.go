package accounts

import (
	"strings"
	"time"
)

// ShadowEntry is one record of /etc/shadow. Numeric fields are in days
// since 1970-01-01 (UTC), as shadow(5) defines them; -1 means the field is
// empty, which disables the rule it sets.
type ShadowEntry struct {
	// Name is the login name.
	Name string
	// Hash is the password field: a crypt hash, or a marker such as "!",
	// "!!", "*", "!$6$..." (locked), or empty (no password).
	Hash string
	// LastChange is the day of the last password change; 0 forces a change
	// at the next login.
	LastChange int64
	// Min, Max and Warn are the password ages: minimum, maximum and warning.
	Min, Max, Warn int64
	// Inactive is how many days after the password expires the account is
	// still usable to change it.
	Inactive int64
	// Expire is the day the account expires.
	Expire int64
	// Line is the 1-based line number in the file.
	Line int
	// Compat is true for nss_compat "+" and "-" lines.
	Compat bool
}

// ParseShadow parses /etc/shadow as glibc's getspnam does: the two-field
// "old form" (name:hash), five fields (up to max) and eight or nine fields
// are accepted; other shapes are skipped by glibc, so the account then has
// no shadow entry and they come back as LineErrors (File empty). The hash
// never appears in a LineError.
func ParseShadow(data []byte) ([]ShadowEntry, []LineError) {
	var out []ShadowEntry
	var bad []LineError
	for _, l := range dbLines(data) {
		e, reason := parseShadowLine(l.text)
		if reason != "" {
			bad = append(bad, LineError{Line: l.n, Text: Escape(hideHash(l.text), 120), Reason: reason})
			continue
		}
		e.Line = l.n
		out = append(out, e)
	}
	return out, bad
}

// hideHash replaces the second field of a shadow line: hashes are secrets
// and must not end up in reports.
func hideHash(s string) string {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	_, rest, ok = strings.Cut(rest, ":")
	if !ok {
		return name + ":<hash>"
	}
	return name + ":<hash>:" + rest
}

func parseShadowLine(s string) (ShadowEntry, string) {
	e := ShadowEntry{LastChange: -1, Min: -1, Max: -1, Warn: -1, Inactive: -1, Expire: -1}
	c := cursor{s}
	e.Name = c.str()
	if strings.HasPrefix(e.Name, "+") || strings.HasPrefix(e.Name, "-") {
		e.Compat = true
		return e, ""
	}
	if e.Name == "" {
		return e, "empty user name"
	}
	e.Hash = c.str()
	if c.atEnd() {
		return e, "" // the old form: name and hash only
	}
	var err error
	fields := []struct {
		p    *int64
		name string
	}{{&e.LastChange, "last change"}, {&e.Min, "minimum age"}, {&e.Max, "maximum age"}}
	for _, f := range fields {
		if *f.p, err = c.maybeNum(-1); err != nil {
			return e, f.name + " field missing or not a number"
		}
	}
	c.s = strings.TrimLeft(c.s, " \t\v\f\r")
	if c.atEnd() {
		return e, "" // the old form without warn, inactive and expire
	}
	fields = []struct {
		p    *int64
		name string
	}{{&e.Warn, "warning period"}, {&e.Inactive, "inactivity period"}, {&e.Expire, "expiration date"}}
	for _, f := range fields {
		if *f.p, err = c.maybeNum(-1); err != nil {
			return e, f.name + " field missing or not a number"
		}
	}
	if !c.atEnd() {
		var flag int64
		if flag, err = c.maybeNum(-1); err != nil {
			return e, "reserved field not a number"
		}
		_ = flag
	}
	return e, ""
}

// Day returns the shadow(5) day number of t: whole days since the epoch,
// as sshd and pam_unix compute "today" (time(NULL) / 86400).
func Day(t time.Time) int64 {
	return t.Unix() / 86400
}

// DayDate renders a shadow day number as a date (UTC), for messages.
func DayDate(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format("2006-01-02")
}

// AccountExpired reports whether the account has expired on day today.
//
// The two implementations that matter disagree by one day, so usePAM
// picks one: sshd's own auth_shadow_acctexpired (UsePAM no) expires the
// account when today > Expire, while pam_unix (UsePAM yes) already does
// when today >= Expire. An Expire of 0 means expired in both, and -1 never.
func (e *ShadowEntry) AccountExpired(today int64, usePAM bool) bool {
	if e == nil || e.Expire < 0 {
		return false
	}
	if usePAM {
		return today >= e.Expire
	}
	return today > e.Expire
}

// PasswordState is what the password's age does to a login.
type PasswordState int

// The password states.
const (
	// PasswordValid: no change is due.
	PasswordValid PasswordState = iota
	// PasswordMustChange: the password expired (or LastChange is 0); the
	// next login must change it.
	PasswordMustChange
	// PasswordInactive: the password expired more than Inactive days ago;
	// pam_unix then refuses the account for every method.
	PasswordInactive
)

// PasswordState computes the state of the password on day today as the
// code in charge does:
//
//   - UsePAM yes: pam_unix's account check (check_shadow_expiry):
//     LastChange 0 forces a change; past Max + Inactive the account is
//     refused whatever the method (PAM_AUTHTOK_EXPIRED); past Max a change
//     is forced (PAM_NEW_AUTHTOK_REQD), which sshd honours for key logins
//     too: an interactive session must change the password first, and a
//     command without a terminal fails.
//   - UsePAM no: sshd's auth_shadow_pwexpired, which only runs for password
//     authentication (auth_password), so key logins never see it. Past
//     LastChange + Max (or LastChange 0) the session is restricted to
//     changing the password. Inactive is not consulted.
func (e *ShadowEntry) PasswordState(today int64, usePAM bool) PasswordState {
	if e == nil {
		return PasswordValid
	}
	if e.LastChange == 0 {
		return PasswordMustChange
	}
	if usePAM {
		if today < e.LastChange {
			return PasswordValid // changed "in the future": pam_unix lets it be
		}
		age := today - e.LastChange
		if e.Max != -1 && e.Inactive != -1 && age > e.Max && age > e.Inactive && age > e.Max+e.Inactive {
			return PasswordInactive
		}
		if e.Max != -1 && age > e.Max {
			return PasswordMustChange
		}
		return PasswordValid
	}
	// As in auth_shadow_pwexpired, an empty LastChange (-1) counts as day
	// -1, so with a Max set the password is long expired.
	if e.Max == -1 {
		return PasswordValid
	}
	if e.LastChange+e.Max-today < 0 {
		return PasswordMustChange
	}
	return PasswordValid
}

// LockedForSSHD reports whether sshd itself (UsePAM no) treats the account
// as locked, from its password hash: platform_locked_account() on Linux,
// where OpenSSH's configure defines only LOCKED_PASSWD_PREFIX "!". So "!",
// "!!" and "!$6$..." lock, while "*" (Solaris' LOCKED_PASSWD_STRING, and
// "*LK*", its substring) does not: on Linux "*" only makes password logins
// impossible. An empty hash is not locked either. sshd also calls an
// expired account locked; that is AccountExpired.
//
// With UsePAM yes sshd never looks at the hash for key logins: pam_unix's
// account stack does not check for "!", so a locked password blocks
// password logins only.
func LockedForSSHD(hash string) bool {
	return strings.HasPrefix(hash, "!")
}

// PasswordUsable reports whether any password could ever match hash: not
// a lock marker, not "*", not empty (an empty one needs
// PermitEmptyPasswords, which the caller decides), and not a one-character
// marker that crypt cannot produce.
func PasswordUsable(hash string) bool {
	if hash == "" || strings.HasPrefix(hash, "!") || strings.HasPrefix(hash, "*") {
		return false
	}
	// Every crypt(3) output is at least 13 characters (DES); shorter
	// values such as "x" or "NP" are markers.
	return len(hash) >= 13
}
