package authkeys

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Entry is one usable line of an authorized_keys file.
type Entry struct {
	// Line is the 1-based line number.
	Line int
	// Options are the key options; zero when the line has none.
	Options Options
	// Type is the key type as written ("ssh-ed25519"; for RSA also
	// "rsa-sha2-256" or "rsa-sha2-512", which sshd accepts too).
	Type string
	// Key is the public key (a *ssh.Certificate for certificate lines).
	Key ssh.PublicKey
	// Fingerprint is the key's SHA256 fingerprint ("SHA256:...").
	Fingerprint string
	// Comment is the text after the key; empty when none.
	Comment string
}

// Invalid is a line of authorized_keys that sshd skips.
type Invalid struct {
	// Line is the 1-based line number.
	Line int
	// Text is the line, escaped and cut to 100 bytes.
	Text string
	// Reason says why sshd cannot use it.
	Reason string
}

// keyNames maps every key type name sshd's sshkey_read() accepts at the
// start of a key to the type ParsePublicKey reports for its blob. It looks
// names up exactly (peek_type_nid()): short names such as "ED25519", which
// other parts of OpenSSH know, are refused here, as the lab test against
// the real sshd confirms. The RSA signature names are accepted, because
// OpenSSH's key type table lists them. XMSS is left out: Debian does not
// build it.
var keyNames = map[string]string{
	"ssh-rsa":                            ssh.KeyAlgoRSA,
	"rsa-sha2-256":                       ssh.KeyAlgoRSA,
	"rsa-sha2-512":                       ssh.KeyAlgoRSA,
	"ssh-dss":                            ssh.InsecureKeyAlgoDSA,
	"ecdsa-sha2-nistp256":                ssh.KeyAlgoECDSA256,
	"ecdsa-sha2-nistp384":                ssh.KeyAlgoECDSA384,
	"ecdsa-sha2-nistp521":                ssh.KeyAlgoECDSA521,
	"sk-ecdsa-sha2-nistp256@openssh.com": ssh.KeyAlgoSKECDSA256,
	"ssh-ed25519":                        ssh.KeyAlgoED25519,
	"sk-ssh-ed25519@openssh.com":         ssh.KeyAlgoSKED25519,

	"ssh-rsa-cert-v01@openssh.com":                ssh.CertAlgoRSAv01,
	"rsa-sha2-256-cert-v01@openssh.com":           ssh.CertAlgoRSAv01,
	"rsa-sha2-512-cert-v01@openssh.com":           ssh.CertAlgoRSAv01,
	"ssh-dss-cert-v01@openssh.com":                ssh.InsecureCertAlgoDSAv01,
	"ecdsa-sha2-nistp256-cert-v01@openssh.com":    ssh.CertAlgoECDSA256v01,
	"ecdsa-sha2-nistp384-cert-v01@openssh.com":    ssh.CertAlgoECDSA384v01,
	"ecdsa-sha2-nistp521-cert-v01@openssh.com":    ssh.CertAlgoECDSA521v01,
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": ssh.CertAlgoSKECDSA256v01,
	"ssh-ed25519-cert-v01@openssh.com":            ssh.CertAlgoED25519v01,
	"sk-ssh-ed25519-cert-v01@openssh.com":         ssh.CertAlgoSKED25519v01,
}

// minRSABits is sshd's SSH_RSA_MINIMUM_MODULUS_SIZE: smaller RSA keys fail
// to load at all (and RequiredRSASize defaults to the same).
const minRSABits = 1024

// readKey is sshkey_read() for any key type: "TYPE BASE64 [COMMENT]". It
// returns the key, its type as written, and the comment; or a reason.
func readKey(s string) (ssh.PublicKey, string, string, string) {
	sp := strings.IndexAny(s, " \t")
	if sp < 0 {
		return nil, "", "", "no key after the type"
	}
	typ := s[:sp]
	want, ok := keyNames[typ]
	if !ok {
		return nil, typ, "", fmt.Sprintf("unknown key type %q", Escape(typ, 40))
	}
	rest := strings.TrimLeft(s[sp:], " \t")
	if rest == "" {
		return nil, typ, "", "no key after the type"
	}
	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		end = len(rest)
	}
	blob, err := base64.StdEncoding.DecodeString(strings.TrimRight(rest[:end], "\r"))
	if err != nil {
		return nil, typ, "", "the key is not valid base64 (truncated or wrapped?)"
	}
	k, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, typ, "", "the key does not decode: " + err.Error()
	}
	if k.Type() != want {
		return nil, typ, "", fmt.Sprintf("the key is a %s key but the line says %s", k.Type(), Escape(typ, 40))
	}
	if bits := rsaBits(k); bits > 0 && bits < minRSABits {
		return nil, typ, "", fmt.Sprintf("RSA key of %d bits; sshd refuses keys under %d bits", bits, minRSABits)
	}
	comment := strings.TrimRight(strings.TrimLeft(rest[end:], " \t"), "\r")
	return k, typ, comment, ""
}

// rsaBits returns the modulus size of an RSA key or certificate, else 0.
func rsaBits(k ssh.PublicKey) int {
	if c, ok := k.(*ssh.Certificate); ok {
		k = c.Key
	}
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
		return rk.N.BitLen()
	}
	return 0
}

// Parse reads an authorized_keys file the way sshd's
// auth_check_authkeys_file() does: leading blanks skipped, blank lines and
// '#' comments ignored, then either a key, or options followed by a key.
// Lines sshd cannot use come back as Invalid with their line number:
// unparseable keys, bad options, and entries sshd always refuses
// (principals= without cert-authority, an invalid from= list). loc is the
// time zone for expiry-time= values without "Z" (the inspected system's;
// nil means local time).
func Parse(data []byte, loc *time.Location) ([]Entry, []Invalid) {
	var entries []Entry
	var bad []Invalid
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := string(raw)
		s := strings.TrimLeft(line, " \t")
		if s == "" || s == "\r" || s[0] == '#' {
			continue
		}
		e, reason := parseLine(s, loc)
		if reason != "" {
			bad = append(bad, Invalid{Line: i + 1, Text: Escape(strings.TrimRight(line, "\r"), 100), Reason: reason})
			continue
		}
		e.Line = i + 1
		entries = append(entries, e)
	}
	return entries, bad
}

func parseLine(s string, loc *time.Location) (Entry, string) {
	var e Entry
	k, typ, comment, keyErr := readKey(s)
	if keyErr == "" {
		e.Key, e.Type, e.Comment = k, typ, comment
	} else {
		end := advancePastOptions(s)
		if end < 0 {
			return e, "unterminated quote in the options"
		}
		opts, rest := s[:end], strings.TrimLeft(s[end:], " \t")
		var err2 string
		k, typ, comment, err2 = readKey(rest)
		if err2 != "" {
			// Say what went wrong with what the line most likely meant:
			// a first word that is a key type, or options before a key.
			if _, known := keyNames[firstWord(s)]; known || !looksLikeOptions(opts) {
				return e, keyErr
			}
			if rest == "" {
				return e, "no key after the options"
			}
			return e, err2
		}
		e.Key, e.Type, e.Comment = k, typ, comment
		var errstr string
		if e.Options, errstr = parseOptions(opts, loc); errstr != "" {
			return e, "bad key options: " + errstr
		}
	}
	e.Fingerprint = ssh.FingerprintSHA256(e.Key)
	if e.Options.Principals != "" && !e.Options.CertAuthority {
		return e, "principals= on a key without cert-authority: sshd refuses this entry"
	}
	if e.Options.From != "" && !fromValid(e.Options.From) {
		return e, "invalid from= address list: sshd refuses this entry"
	}
	return e, ""
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// looksLikeOptions is true when the first word reads as key options
// rather than a mistyped key type.
func looksLikeOptions(s string) bool {
	return strings.ContainsAny(s, `=",`) || optionWord(s)
}

func optionWord(s string) bool {
	for _, f := range []string{"restrict", "cert-authority", "no-", "port-forwarding", "agent-forwarding",
		"x11-forwarding", "pty", "user-rc", "touch-required", "verify-required"} {
		if len(s) >= len(f) && strings.EqualFold(s[:len(f)], f) {
			return true
		}
	}
	return false
}

// Escape renders file text for display: printable ASCII as is, the rest
// as Go escapes, cut to max bytes.
func Escape(s string, max int) string {
	q := fmt.Sprintf("%+q", s)
	q = q[1 : len(q)-1]
	q = strings.ReplaceAll(q, `\"`, `"`)
	if max > 0 && len(q) > max {
		q = q[:max] + "..."
	}
	return q
}
