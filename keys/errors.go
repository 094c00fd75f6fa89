package keys

import (
	"strings"

	"github.com/sshdoctor/sshdoctor/check"
)

// Reasons an operation stops, as Error.Reason. Scripts may rely on them.
const (
	ReasonDNS            = "dns"                    // the host name does not resolve
	ReasonUnreachable    = "unreachable"            // no TCP connection to the SSH port
	ReasonHandshake      = "handshake"              // the SSH handshake failed (algorithms, a closed connection)
	ReasonHostKey        = "hostkey-refused"        // the host key changed or is revoked: nothing was sent
	ReasonHostKeyUnknown = "hostkey-not-accepted"   // the host key is unknown and nobody accepted it at a terminal
	ReasonAuth           = "auth-failed"            // no key, password or answer got in
	ReasonUnsupported    = "unsupported"            // ProxyJump, ProxyCommand: sshdoctor cannot go that way
	ReasonRemote         = "remote-failed"          // a command on the server failed
	ReasonVerify         = "verify-failed"          // the server does not accept the installed key
	ReasonNoOldKey       = "no-old-key"             // rotate: the login did not use a key, so there is none to replace
	ReasonOldKeyAccepted = "old-key-still-accepted" // rotate: the server still accepts the old key
	ReasonLocal          = "local-failed"           // a file on this machine could not be written
)

// Error says why a keys operation stopped: at which step, a stable reason,
// a sentence for people and the next thing to do.
type Error struct {
	Step    string `json:"step"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Findings are diagnoses behind the error (the host key findings of
	// `sshdoctor check`); they go to the report's findings list.
	Findings []check.Finding `json:"-"`
	// Notes say what was skipped on the way (a key that could not be
	// used); they go to the report's notes.
	Notes []string `json:"-"`
}

func (e *Error) Error() string { return "keys: " + e.Message }

// plain is an error's message without the package prefix, for a Message
// that is itself prefixed when shown as an error.
func plain(err error) string {
	return strings.TrimPrefix(err.Error(), "keys: ")
}
