package logs

import (
	"regexp"
	"strconv"
	"strings"
)

// Kind classifies an sshd or systemd log message.
type Kind string

// The kinds ParseMessage recognises. The strings are stable: they appear in
// evidence.
const (
	KindOther       Kind = ""                 // nothing sshdoctor uses
	KindMaxStartups Kind = "max-startups"     // "drop connection #N ... past MaxStartups", "beginning MaxStartups throttling"
	KindPenalty     Kind = "penalty"          // "drop connection #N ... penalty: ..." (OpenSSH 9.8+ PerSourcePenalties)
	KindBadModes    Kind = "bad-modes"        // "Authentication refused: bad ownership or modes for directory /root/.ssh"
	KindNotAllowed  Kind = "not-allowed"      // "User bob from 10.0.0.1 not allowed because not listed in AllowUsers", "ROOT LOGIN REFUSED"
	KindInvalidUser Kind = "invalid-user"     // "Invalid user bob from 10.0.0.1 port 4242"
	KindBindFailed  Kind = "bind-failed"      // "error: Bind to port 22 on 0.0.0.0 failed: Address already in use."
	KindCannotBind  Kind = "cannot-bind"      // "fatal: Cannot bind any address."
	KindConfigError Kind = "config-error"     // "/etc/ssh/sshd_config: line 12: Bad configuration option: Foo"
	KindNoHostKeys  Kind = "no-hostkeys"      // "sshd: no hostkeys available -- exiting."
	KindPrivsep     Kind = "privsep"          // "Missing privilege separation directory: /run/sshd"
	KindFatal       Kind = "fatal"            // any other "fatal: ..."
	KindListening   Kind = "listening"        // "Server listening on 0.0.0.0 port 22."
	KindUnitStart   Kind = "unit-starting"    // systemd: "Starting ssh.service - OpenBSD Secure Shell server..."
	KindUnitStarted Kind = "unit-started"     // systemd: "Started ssh.service - ..."
	KindUnitExit    Kind = "unit-exited"      // systemd: "ssh.service: Main process exited, code=exited, status=255/EXCEPTION"
	KindUnitFailed  Kind = "unit-failed"      // systemd: "ssh.service: Failed with result 'exit-code'.", "Failed to start ..."
	KindStartLimit  Kind = "unit-start-limit" // systemd: "ssh.service: Start request repeated too quickly."
)

// Event is what a log message says, parsed.
type Event struct {
	Kind Kind
	// User is the account named (not-allowed, invalid-user); empty if none.
	User string
	// Addr and Port are the client's address and port; empty and 0 when
	// the message names none.
	Addr string
	Port int
	// LocalAddr and LocalPort are the server side: the address a
	// connection came in on (drops), or the address sshd failed to bind.
	LocalAddr string
	LocalPort int
	// Path is a file named: the directory or file with bad modes, the
	// configuration file with the error, the privilege separation
	// directory. Empty if none.
	Path string
	// Line is the configuration line of a config error; 0 if none.
	Line int
	// Detail is the rest of the message that explains it: why a user is
	// not allowed, the bind error ("Address already in use"), the
	// configuration error, the penalty, the unit result or exit status.
	Detail string
	// Count is the connection number of a drop (#N) or the number of
	// connections dropped during a throttling period; 0 if none.
	Count int
}

var (
	reDrop         = regexp.MustCompile(`^drop connection #(\d+) from \[(.*)\]:(\d+) on \[(.*)\]:(\d+) (.+)$`)
	reThrottle     = regexp.MustCompile(`^(?:beginning|in|exited) MaxStartups throttling(?: (?:for|after) .*?, (\d+) connections dropped)?$`)
	reBadModes     = regexp.MustCompile(`^Authentication refused: (?:bad ownership or modes for (?:directory|file) (.+)|(.+))$`)
	reNotAllowed   = regexp.MustCompile(`^User (\S+?)(?: from (\S+))? not allowed because (.+)$`)
	reRootRefused  = regexp.MustCompile(`^ROOT LOGIN REFUSED FROM (\S+)(?: port (\d+))?`)
	reInvalidUser  = regexp.MustCompile(`^Invalid user (.*?) from (\S+)(?: port (\d+))?$`)
	reBind         = regexp.MustCompile(`^Bind to port (\d+) on (\S+) failed: (.+?)\.?$`)
	reConfigLine   = regexp.MustCompile(`^(\S+?):? line (\d+): (.+)$`)
	reConfigTerm   = regexp.MustCompile(`^(\S+): terminating, (\d+) bad configuration options?$`)
	rePrivsep      = regexp.MustCompile(`^Missing privilege separation directory: (\S+)$`)
	rePrivsepOwner = regexp.MustCompile(`^(\S+) must be owned by root and not group or world-writable\.?$`)
	reListening    = regexp.MustCompile(`^Server listening on (\S+) port (\d+)`)
	reUnitFailed   = regexp.MustCompile(`^(\S+\.(?:service|socket)): Failed with result '([^']*)'\.?$`)
	reUnitExit     = regexp.MustCompile(`^(\S+\.(?:service|socket)): (?:Main|Control) process exited, code=(\S+), status=(\S+)$`)
	reStartLimit   = regexp.MustCompile(`^(\S+\.(?:service|socket)): Start request repeated too quickly\.?$`)
)

// ParseMessage classifies one log message of sshd or systemd (the text
// after "sshd[PID]: "). Messages of no interest give KindOther.
func ParseMessage(msg string) Event {
	msg = strings.TrimSpace(msg)
	level, body := splitLevel(msg)
	// Messages logged with a function name (OpenSSH's verbose and debug
	// levels, "srclimit_penalise: ...") stay KindOther unless matched.
	if m := reDrop.FindStringSubmatch(body); m != nil {
		e := Event{Kind: KindMaxStartups, Addr: m[2], Port: atoi(m[3]), LocalAddr: m[4], LocalPort: atoi(m[5]), Detail: m[6], Count: atoi(m[1])}
		if strings.Contains(strings.ToLower(m[6]), "penalty") {
			e.Kind = KindPenalty
		}
		return e
	}
	if m := reThrottle.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindMaxStartups, Detail: body, Count: atoi(m[1])}
	}
	if m := reBadModes.FindStringSubmatch(body); m != nil {
		if m[1] != "" {
			return Event{Kind: KindBadModes, Path: m[1], Detail: "bad ownership or modes"}
		}
		return Event{Kind: KindBadModes, Detail: m[2]}
	}
	if m := reNotAllowed.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindNotAllowed, User: m[1], Addr: m[2], Detail: m[3]}
	}
	if m := reRootRefused.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindNotAllowed, User: "root", Addr: m[1], Port: atoi(m[2]), Detail: "PermitRootLogin refuses root"}
	}
	if m := reInvalidUser.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindInvalidUser, User: m[1], Addr: m[2], Port: atoi(m[3])}
	}
	if m := reBind.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindBindFailed, LocalPort: atoi(m[1]), LocalAddr: m[2], Detail: m[3]}
	}
	if strings.HasPrefix(body, "Cannot bind any address") {
		return Event{Kind: KindCannotBind, Detail: body}
	}
	if m := reConfigTerm.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindConfigError, Path: m[1], Detail: body, Count: atoi(m[2])}
	}
	if m := reConfigLine.FindStringSubmatch(body); m != nil && strings.HasPrefix(m[1], "/") {
		return Event{Kind: KindConfigError, Path: m[1], Line: atoi(m[2]), Detail: m[3]}
	}
	if strings.Contains(body, "no hostkeys available") {
		return Event{Kind: KindNoHostKeys, Detail: body}
	}
	if m := rePrivsep.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindPrivsep, Path: m[1], Detail: body}
	}
	if m := rePrivsepOwner.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindPrivsep, Path: m[1], Detail: body}
	}
	if m := reListening.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindListening, LocalAddr: m[1], LocalPort: atoi(m[2])}
	}
	if m := reUnitFailed.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindUnitFailed, Path: m[1], Detail: m[2]}
	}
	if m := reUnitExit.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindUnitExit, Path: m[1], Detail: "code=" + m[2] + ", status=" + m[3]}
	}
	if m := reStartLimit.FindStringSubmatch(body); m != nil {
		return Event{Kind: KindStartLimit, Path: m[1], Detail: body}
	}
	if strings.HasPrefix(body, "Failed to start ") {
		return Event{Kind: KindUnitFailed, Detail: body}
	}
	if strings.HasPrefix(body, "Starting ") {
		return Event{Kind: KindUnitStart}
	}
	if strings.HasPrefix(body, "Started ") {
		return Event{Kind: KindUnitStarted}
	}
	if level == "fatal" {
		return Event{Kind: KindFatal, Detail: body}
	}
	return Event{}
}

// splitLevel removes the level OpenSSH puts before error and fatal
// messages ("error: ", "fatal: "). The program name some builds add before
// a fatal message ("sshd: no hostkeys ...") is left for the matchers.
func splitLevel(msg string) (level, body string) {
	for _, l := range []string{"fatal", "error", "warning"} {
		if rest, ok := strings.CutPrefix(msg, l+": "); ok {
			return l, rest
		}
	}
	return "", msg
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
