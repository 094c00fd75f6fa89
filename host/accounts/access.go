package accounts

import (
	"net/netip"
	"strings"
)

// Pattern is one pattern of AllowUsers, DenyUsers, AllowGroups or
// DenyGroups, with where it is written.
type Pattern struct {
	// Value is the pattern: "alice", "adm*", "bob@10.0.0.0/8,!10.0.0.1".
	Value string
	// Source is "file:line"; empty when unknown.
	Source string
}

// Access is the part of sshd's effective configuration, for one
// connection (Match blocks already applied), that decides whether an
// account may log in and with which methods. The host/sshdconfig package
// computes it; this package only applies it.
//
// Boolean fields hold the setting's value, so their zero value is "no";
// DefaultAccess returns OpenSSH's compiled-in defaults.
type Access struct {
	// AllowUsers, DenyUsers, AllowGroups and DenyGroups are the patterns
	// of every such line that applies, in order (sshd accumulates them).
	// Empty means the directive is not used.
	AllowUsers, DenyUsers, AllowGroups, DenyGroups []Pattern
	// PermitRootLogin is yes, prohibit-password (or its old name
	// without-password), forced-commands-only or no. Empty means the
	// default, prohibit-password.
	PermitRootLogin string
	// UsePAM: false means sshd checks locks and expiry itself; true hands
	// account checks to PAM.
	UsePAM bool
	// PasswordAuthentication, KbdInteractiveAuthentication and
	// PubkeyAuthentication are the method switches.
	PasswordAuthentication       bool
	KbdInteractiveAuthentication bool
	PubkeyAuthentication         bool
	// PermitEmptyPasswords allows password logins to accounts whose
	// password is empty.
	PermitEmptyPasswords bool
	// ChrootDirectory is the chroot for the session; "" or "none" for none.
	// With a chroot sshd does not check that the shell exists.
	ChrootDirectory string
	// ForceCommand is the command forced on the session; "" for none.
	// "internal-sftp" runs without the login shell.
	ForceCommand string
	// Sources maps a directive name as written in sshd_config
	// ("PermitRootLogin", "UsePAM", "PasswordAuthentication", ...) to the
	// "file:line" that sets it. A missing entry means the default applies.
	Sources map[string]string
}

// DefaultAccess returns the settings sshd uses when sshd_config says
// nothing: password, keyboard-interactive and public-key authentication on,
// PAM off, root logins with keys only.
func DefaultAccess() Access {
	return Access{PasswordAuthentication: true, KbdInteractiveAuthentication: true, PubkeyAuthentication: true}
}

// Source returns where directive is set, or "default".
func (a Access) Source(directive string) string {
	if s := a.Sources[directive]; s != "" {
		return s
	}
	return "default"
}

// Chrooted reports whether sessions are chrooted.
func (a Access) Chrooted() bool {
	return a.ChrootDirectory != "" && !strings.EqualFold(a.ChrootDirectory, "none")
}

// Client is the connecting client the access rules are evaluated for.
type Client struct {
	// Addr is the client's address; the zero Addr means unknown (no
	// --from), and rules that depend on it come out as Depends.
	Addr netip.Addr
	// Host is the client's canonical host name, which sshd only looks up
	// with UseDNS yes; empty means the address text stands for it, as with
	// UseDNS no (the default).
	Host string
}

// Known reports whether the client address is known.
func (c Client) Known() bool { return c.Addr.IsValid() }

func (c Client) ip() string {
	if !c.Addr.IsValid() {
		return ""
	}
	return c.Addr.Unmap().String()
}

func (c Client) host() string {
	if c.Host != "" {
		return c.Host
	}
	return c.ip()
}

// Outcome is the result of an access rule.
type Outcome int

// The outcomes.
const (
	// Allowed: the rules let the user in.
	Allowed Outcome = iota
	// Denied: a rule refuses the user, whatever the client.
	Denied
	// Depends: the answer depends on the client address, which is unknown.
	Depends
)

// AccessResult says what sshd's Allow/Deny rules decide for a user.
type AccessResult struct {
	// Outcome is Allowed, Denied or Depends.
	Outcome Outcome
	// Directive is the rule that decides: "DenyUsers", "AllowUsers",
	// "DenyGroups" or "AllowGroups"; empty when Allowed.
	Directive string
	// Pattern is the pattern that matched (DenyUsers, DenyGroups); empty
	// when the user is refused for not being listed (Allow*).
	Pattern string
	// Source is the "file:line" of Pattern or, for "not listed", of the
	// first pattern of the directive.
	Source string
	// Reason is sshd's log message for the refusal ("not listed in
	// AllowUsers"); empty when Allowed.
	Reason string
	// Conditional holds the USER@HOST patterns whose HOST part decides,
	// when Outcome is Depends.
	Conditional []Pattern
	// Invalid holds patterns whose HOST part is not a valid address list;
	// sshd refuses to start with them. They are ignored here.
	Invalid []Pattern
}

// Allowed applies AllowUsers, DenyUsers, AllowGroups and DenyGroups as
// allowed_user() in OpenSSH's auth.c does, in its order: DenyUsers, then
// AllowUsers (when not empty, the user must match a pattern), then, if
// either group list is used, the user must belong to a group at all, then
// DenyGroups, then AllowGroups. groups are the user's group names (primary
// first, as DB.GroupNames gives them).
//
// The rest of allowed_user() is about the account and is judged from
// Facts: the locked and expired account check (UsePAM no only) comes first,
// then the shell must exist and be executable (unless ChrootDirectory).
// PermitRootLogin is applied after authentication, per method; see
// RootLogin.
//
// When the client is unknown and a USER@HOST pattern decides, the result is
// Depends, unless a later rule refuses the user anyway: a refusal that
// holds for every address wins.
func (a Access) Allowed(user string, groups []string, c Client) AccessResult {
	var res AccessResult
	var pending []Pattern
	pendingDirective := ""
	step := func(r AccessResult) bool {
		switch r.Outcome {
		case Denied:
			r.Invalid = res.Invalid
			res = r
			return true
		case Depends:
			if len(pending) == 0 && len(r.Conditional) > 0 {
				pendingDirective = r.Directive
			}
			pending = append(pending, r.Conditional...)
		}
		return false
	}
	users := func(list []Pattern) (hit *Pattern, cond []Pattern) {
		for i := range list {
			p := list[i]
			if !ValidUserPattern(p.Value) {
				res.Invalid = append(res.Invalid, p)
				continue
			}
			if !c.Known() && UserPatternNeedsClient(user, p.Value) {
				cond = append(cond, p)
				continue
			}
			if MatchUser(user, c.host(), c.ip(), p.Value) == 1 {
				return &list[i], nil
			}
		}
		return nil, cond
	}
	if len(a.DenyUsers) > 0 {
		hit, cond := users(a.DenyUsers)
		if hit != nil {
			if step(AccessResult{Outcome: Denied, Directive: "DenyUsers", Pattern: hit.Value, Source: hit.Source, Reason: "listed in DenyUsers"}) {
				return res
			}
		}
		step(AccessResult{Outcome: Depends, Directive: "DenyUsers", Conditional: cond})
	}
	if len(a.AllowUsers) > 0 {
		hit, cond := users(a.AllowUsers)
		switch {
		case hit != nil:
		case len(cond) > 0:
			step(AccessResult{Outcome: Depends, Directive: "AllowUsers", Conditional: cond})
		default:
			if step(AccessResult{Outcome: Denied, Directive: "AllowUsers", Source: a.AllowUsers[0].Source, Reason: "not listed in AllowUsers"}) {
				return res
			}
		}
	}
	if len(a.DenyGroups) > 0 || len(a.AllowGroups) > 0 {
		if len(groups) == 0 {
			d := "AllowGroups"
			list := a.AllowGroups
			if len(list) == 0 {
				d, list = "DenyGroups", a.DenyGroups
			}
			step(AccessResult{Outcome: Denied, Directive: d, Source: list[0].Source, Reason: "not in any group"})
			return res
		}
		if p := matchGroups(groups, a.DenyGroups); p != nil {
			step(AccessResult{Outcome: Denied, Directive: "DenyGroups", Pattern: p.Value, Source: p.Source, Reason: "a group is listed in DenyGroups"})
			return res
		}
		if len(a.AllowGroups) > 0 && matchGroups(groups, a.AllowGroups) == nil {
			step(AccessResult{Outcome: Denied, Directive: "AllowGroups", Source: a.AllowGroups[0].Source, Reason: "none of user's groups are listed in AllowGroups"})
			return res
		}
	}
	if len(pending) > 0 {
		res.Outcome = Depends
		res.Conditional = pending
		res.Directive = pendingDirective
		res.Source = pending[0].Source
		res.Pattern = pending[0].Value
	}
	return res
}

// matchGroups is ga_match(): the first pattern that one of the groups
// matches with match_pattern (no lists, no negation), or nil.
func matchGroups(groups []string, patterns []Pattern) *Pattern {
	for _, g := range groups {
		for i := range patterns {
			if MatchPattern(g, patterns[i].Value) {
				return &patterns[i]
			}
		}
	}
	return nil
}

// RootPolicy is what PermitRootLogin allows.
type RootPolicy struct {
	// Value is the normalised setting: yes, prohibit-password,
	// forced-commands-only or no.
	Value string
	// Source is where it is set, or "default".
	Source string
	// Methods are the authentication methods that may log in as uid 0.
	Methods []string
	// ForcedCommandsOnly: public-key logins need a command= option on the
	// key (ForceCommand in sshd_config does not count).
	ForcedCommandsOnly bool
}

// RootLogin interprets PermitRootLogin as auth_root_allowed() does. sshd
// applies it to uid 0, whatever the account's name, after the method
// succeeded.
func (a Access) RootLogin() RootPolicy {
	v := strings.ToLower(a.PermitRootLogin)
	if v == "" || v == "without-password" {
		v = "prohibit-password"
	}
	p := RootPolicy{Value: v, Source: a.Source("PermitRootLogin")}
	switch v {
	case "yes":
		p.Methods = []string{"publickey", "hostbased", "gssapi-with-mic", "password", "keyboard-interactive"}
	case "prohibit-password":
		p.Methods = []string{"publickey", "hostbased", "gssapi-with-mic"}
	case "forced-commands-only":
		p.Methods = []string{"publickey"}
		p.ForcedCommandsOnly = true
	}
	return p
}

// PasswordMethods returns the methods by which a password can be typed:
// "password" with PasswordAuthentication, and "keyboard-interactive" with
// KbdInteractiveAuthentication when PAM is on (without PAM, Linux sshd has
// no keyboard-interactive device that asks for a password).
func (a Access) PasswordMethods() []string {
	var m []string
	if a.PasswordAuthentication {
		m = append(m, "password")
	}
	if a.KbdInteractiveAuthentication && a.UsePAM {
		m = append(m, "keyboard-interactive")
	}
	return m
}
