package keys

import (
	"errors"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/report"
)

// Result is what a keys command did, step by step. It holds public keys,
// fingerprints and paths only: never a private key, password or
// passphrase.
type Result struct {
	// Action is "new", "install" or "rotate".
	Action string `json:"action"`
	// OK is true when the whole action succeeded.
	OK bool `json:"ok"`
	// Target is the destination; nil for keys new.
	Target *report.Target `json:"target,omitempty"`
	// Key is the key made or installed.
	Key *KeyInfo `json:"key,omitempty"`
	// Login says how sshdoctor logged in to install; nil when it did not
	// get that far.
	Login *LoginInfo `json:"login,omitempty"`
	// AuthorizedKeys is the authorized_keys file on the server the key went
	// into (or was found in); empty when not reached.
	AuthorizedKeys string `json:"authorized_keys,omitempty"`
	// AlreadyInstalled is true when the server already had the key, so
	// nothing was written.
	AlreadyInstalled bool `json:"already_installed"`
	// Verified is "login" when a new login with the key alone ran `true`,
	// "query" when the server said it accepts the key but no private key
	// was at hand to sign with, and empty when not verified.
	Verified string `json:"verified,omitempty"`
	// OldKey is the key a rotation replaced; nil otherwise.
	OldKey *KeyInfo `json:"old_key,omitempty"`
	// Removed are the authorized_keys lines that held the old key.
	Removed []RemovedLine `json:"removed,omitempty"`
	// OldKeyRefused is true once the server was asked about the old key
	// after the rotation and refused it.
	OldKeyRefused bool `json:"old_key_refused,omitempty"`
	// Config is the change to the ssh client configuration; nil when none
	// was asked for.
	Config *ConfigChange `json:"config,omitempty"`
	// Steps are what ran, in order.
	Steps []report.Step `json:"steps"`
	// Findings are diagnoses that stopped the action (a changed host key).
	Findings []check.Finding `json:"findings"`
	// Error says why the action stopped; nil (JSON null) when OK.
	Error *Error `json:"error"`
	// Notes are things worth knowing: what was skipped, what is left to do.
	Notes []string `json:"notes,omitempty"`
}

// KeyInfo describes a key by its public half.
type KeyInfo struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	// Comment is the key's comment; empty means none.
	Comment string `json:"comment,omitempty"`
	// File is the private key file; empty when there is none (an agent-only
	// key, or a public key given as a string).
	File string `json:"file,omitempty"`
	// PublicFile is the .pub file; empty when there is none.
	PublicFile string `json:"public_file,omitempty"`
	// Source is "generated", "file", "agent" or "string".
	Source string `json:"source"`
	// Encrypted is true when the private key file has a passphrase.
	Encrypted bool `json:"encrypted"`
}

// LoginInfo is how sshdoctor got in to install the key.
type LoginInfo struct {
	// Method is "publickey", "keyboard-interactive", "password" or "none".
	Method string `json:"method"`
	// Key is the key that logged in, for publickey; nil otherwise.
	Key *KeyInfo `json:"key,omitempty"`
	// HostKey is the server's host key ("ssh-ed25519 SHA256:...") and
	// HostKeyFrom why it is trusted.
	HostKey     string `json:"host_key"`
	HostKeyFrom string `json:"host_key_from"`
}

// RemovedLine is an authorized_keys line a rotation removed.
type RemovedLine struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Options were the line's options; empty means none.
	Options []string `json:"options,omitempty"`
}

func keyInfo(k ssh.PublicKey, comment, source string) *KeyInfo {
	return &KeyInfo{Type: k.Type(), Fingerprint: ssh.FingerprintSHA256(k), Comment: comment, Source: source}
}

// recorder appends steps to a Result as they end.
type recorder struct {
	r     *Result
	start time.Time
}

func (rec *recorder) begin() { rec.start = time.Now() }

func (rec *recorder) ok(name, detail string) {
	rec.add(name, report.StepOK, detail)
}

func (rec *recorder) warn(name, detail string) {
	rec.add(name, report.StepWarn, detail)
}

func (rec *recorder) add(name, status, detail string) {
	ms := float64(time.Since(rec.start).Microseconds()) / 1000
	rec.r.Steps = append(rec.r.Steps, report.Step{Name: name, Status: status, MS: ms, Detail: detail})
	rec.start = time.Now()
}

// fail records a failed step and the error that ends the action.
func (rec *recorder) fail(err error, step string) *Result {
	var ke *Error
	if !errors.As(err, &ke) {
		ke = &Error{Step: step, Reason: ReasonLocal, Message: plain(err)}
	}
	if ke.Step == "" {
		ke.Step = step
	}
	rec.add(ke.Step, report.StepFail, ke.Message)
	rec.r.Error = ke
	rec.r.Findings = append(rec.r.Findings, ke.Findings...)
	rec.r.Notes = append(rec.r.Notes, ke.Notes...)
	rec.r.OK = false
	return rec.r
}
