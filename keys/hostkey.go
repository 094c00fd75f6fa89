package keys

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/probe"
	"github.com/sshdoctor/sshdoctor/report"
)

// hostKeyGate decides, inside the key exchange and before any
// authentication, whether the server may be sent anything: exactly as
// `sshdoctor check` judges the key (check.HostKey), a changed or revoked key
// is refused outright, and an unknown one only goes through when the person
// at the terminal accepts its fingerprint.
type hostKeyGate struct {
	target *dest.Resolved
	files  []string
	prompt Prompter
	pause  func() func()

	// Outcome, once the callback ran.
	key   ssh.PublicKey
	from  string // why it is trusted
	err   *Error
	notes []string
}

func (g *hostKeyGate) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	t := g.target
	var ip net.IP
	if ta, ok := remote.(*net.TCPAddr); ok {
		ip = ta.IP
	}
	names := probe.KnownHostsNames(t.HostName, t.Port, t.HostKeyAlias, ip, t.Raw.Get("checkhostip") == "yes")
	kh := probe.LookupKnownHosts(g.files, names)
	pk := presented(key)
	f := &probe.Facts{Target: t, SSH: &probe.SSHFacts{HostKey: pk}, KnownHosts: &kh}
	findings := check.HostKey(f)
	g.key = key
	if len(findings) == 0 {
		g.from = knownAt(kh, key)
		return nil
	}
	fd := findings[0]
	if fd.Severity == check.SeverityError {
		hint := "nothing was sent to the server; see the finding below"
		if fd.Fix != nil {
			hint = fd.Fix.Summary
		}
		g.err = &Error{Step: "hostkey", Reason: ReasonHostKey,
			Message:  fmt.Sprintf("refusing to log in: %s", report.Escape(fd.Detail)),
			Hint:     hint,
			Findings: findings}
		return g.err
	}
	// Unknown (or known only under another key type): ask, as ssh does.
	if g.prompt == nil {
		g.err = &Error{Step: "hostkey", Reason: ReasonHostKeyUnknown,
			Message: fmt.Sprintf("the host key of %s is not in known_hosts (%s %s) and there is no terminal to confirm it", names[0], pk.Type, pk.Fingerprint),
			Hint: fmt.Sprintf("compare the fingerprint with the server's own ('ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub' there), then record it: ssh-keyscan %s >> ~/.ssh/known_hosts, or run this from a terminal",
				shortType(key), keyscanArgs(t)),
			Findings: findings}
		return g.err
	}
	restore := g.pause()
	defer restore()
	msg := fmt.Sprintf("The authenticity of host '%s (%s)' can't be established.\n%s key fingerprint is %s.",
		report.Escape(names[0]), ipString(ip), strings.ToUpper(shortType(key)), pk.Fingerprint)
	if fd.Severity == check.SeverityWarning {
		// Known under another key type only: say so, as ssh does.
		msg += "\n" + report.Escape(fd.Detail)
	}
	g.prompt.Say(msg)
	for {
		ans, err := g.prompt.Line("Are you sure you want to continue connecting (yes/no/[fingerprint])? ")
		if err != nil {
			g.err = &Error{Step: "hostkey", Reason: ReasonHostKeyUnknown, Message: "the unknown host key was not accepted: " + err.Error(), Findings: findings}
			return g.err
		}
		ans = strings.TrimSpace(ans)
		switch {
		case strings.EqualFold(ans, "yes") || ans == pk.Fingerprint:
		case strings.EqualFold(ans, "no"):
			g.err = &Error{Step: "hostkey", Reason: ReasonHostKeyUnknown, Message: "the host key was not accepted at the terminal; nothing was sent", Findings: findings}
			return g.err
		case strings.HasPrefix(ans, "SHA256:"):
			g.prompt.Say("The fingerprint you typed does not match the host key.")
			continue
		default:
			continue
		}
		break
	}
	g.from = "accepted at the terminal"
	if file := g.recordFile(); file != "" {
		if err := appendKnownHost(file, names[0], key, t.Raw.Get("hashknownhosts") == "yes"); err != nil {
			g.notes = append(g.notes, fmt.Sprintf("the accepted host key could not be recorded in %s: %v", file, err))
		} else {
			g.from += ", recorded in " + file
		}
	}
	return nil
}

// recordFile is where an accepted key goes: the first known_hosts file in
// use, as ssh writes to the first UserKnownHostsFile.
func (g *hostKeyGate) recordFile() string {
	if len(g.files) == 0 || g.files[0] == "/dev/null" {
		return ""
	}
	return g.files[0]
}

// appendKnownHost adds "name key" to file, creating it (and a missing
// ~/.ssh) as ssh does, and starting on a new line if the file lacks a
// final newline.
func appendKnownHost(file, name string, key ssh.PublicKey, hash bool) error {
	if hash {
		name = knownhosts.HashHostname(name)
	}
	line := name + " " + strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n") + "\n"
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		line = "\n" + line
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func knownAt(kh probe.KnownHostsFacts, key ssh.PublicKey) string {
	plain := key
	if c, ok := key.(*ssh.Certificate); ok {
		plain = c.Key
		for _, m := range kh.Matches {
			if m.Marker == "@cert-authority" && bytes.Equal(m.Key.Marshal(), c.SignatureKey.Marshal()) {
				return fmt.Sprintf("%s:%d (@cert-authority)", m.File, m.Line)
			}
		}
	}
	for _, m := range kh.Matches {
		if m.Marker == "" && bytes.Equal(m.Key.Marshal(), plain.Marshal()) {
			return fmt.Sprintf("%s:%d", m.File, m.Line)
		}
	}
	return "known_hosts"
}

func presented(key ssh.PublicKey) *probe.PresentedKey {
	p := &probe.PresentedKey{Key: key, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
	if c, ok := key.(*ssh.Certificate); ok {
		p.IsCert = true
		p.CAKey = c.SignatureKey
		p.CAFingerprint = ssh.FingerprintSHA256(c.SignatureKey)
		p.BaseKey = c.Key
	}
	return p
}

// shortType is "ed25519", "ecdsa" or "rsa", as in host key file names.
func shortType(k ssh.PublicKey) string {
	t := k.Type()
	if c, ok := k.(*ssh.Certificate); ok {
		t = c.Key.Type()
	}
	switch {
	case strings.Contains(t, "ed25519"):
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	case strings.Contains(t, "rsa"):
		return "rsa"
	}
	return t
}

func ipString(ip net.IP) string {
	if ip == nil {
		return "?"
	}
	return ip.String()
}

func keyscanArgs(t *dest.Resolved) string {
	if t.Port != 22 {
		return fmt.Sprintf("-p %d %s", t.Port, t.HostName)
	}
	return t.HostName
}

// hostKeyAlgorithms orders the algorithms so that the types known_hosts
// holds for the host come first, as ssh does: the server then proves the key
// already recorded instead of one that would look unknown.
func hostKeyAlgorithms(configured []string, kh probe.KnownHostsFacts) []string {
	lib := slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys)
	var algos []string
	for _, a := range configured {
		if slices.Contains(lib, a) {
			algos = append(algos, a)
		}
	}
	if len(algos) == 0 {
		algos = ssh.SupportedAlgorithms().HostKeys
	}
	known := map[string]bool{}
	for _, m := range kh.Matches {
		if m.Marker == "" {
			known[m.Key.Type()] = true
		}
	}
	var first, rest []string
	for _, a := range algos {
		base := strings.Replace(a, "-cert-v01@openssh.com", "", 1)
		if base == ssh.KeyAlgoRSASHA256 || base == ssh.KeyAlgoRSASHA512 {
			base = ssh.KeyAlgoRSA
		}
		if known[base] && !strings.Contains(a, "-cert-") {
			first = append(first, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(first, rest...)
}

// pinnedAlgorithms are the host key algorithms that make the server prove
// the very key seen on the first connection.
func pinnedAlgorithms(key ssh.PublicKey) []string {
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{key.Type()}
}
