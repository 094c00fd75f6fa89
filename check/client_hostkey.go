package check

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/probe"
)

var (
	_ = Register(Doc{
		Code: "hostkey.changed", Severity: SeverityError, Layer: LayerHostKey,
		Title: "The server's host key differs from the one in known_hosts",
		Meaning: `The server proved it holds a different key than the one recorded for it. ssh
prints "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!" and refuses to connect. Legitimate
causes: the server was reinstalled, its keys regenerated, or the name or address now points at
another machine. It can also be a man-in-the-middle attack: confirm the new key out of band
before trusting it.`,
		Detection: `sshdoctor completes the key exchange (which proves the server holds the private
key), then looks the host up in UserKnownHostsFile and GlobalKnownHostsFile (or --known-hosts)
under ssh's names ("host", "[host]:port", HostKeyAlias), hashed entries included, and compares
keys of the same type.`,
		Fix: `Confirm the new fingerprint with the server's administrator or console
('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' there). Then remove the stale entry with
'ssh-keygen -R NAME' and connect again (or 'sshdoctor fix DEST --only hostkey.changed').`,
	})
	_ = Register(Doc{
		Code: "hostkey.revoked", Severity: SeverityError, Layer: LayerHostKey,
		Title: "The server's host key is marked @revoked",
		Meaning: `known_hosts holds a @revoked line for the key this server presents. ssh refuses it:
someone decided this key must never be trusted again (it leaked, or the machine was retired).`,
		Detection: `The presented key (or the CA that signed its certificate) equals a key on a
@revoked line of a known_hosts file.`,
		Fix: `Do not connect until the server has a new host key; ask its administrator. Remove the
@revoked line only if you know why it was added.`,
	})
	_ = Register(Doc{
		Code: "hostkey.unknown", Severity: SeverityInfo, Layer: LayerHostKey,
		Title: "The host key is not in known_hosts yet",
		Meaning: `This client has never recorded a key for this host. ssh will ask "Are you sure you
want to continue connecting (yes/no/[fingerprint])?" and, in batch mode or with
StrictHostKeyChecking yes, refuse with "Host key verification failed".`,
		Detection: `No known_hosts entry (plain, hashed, or @cert-authority for a host certificate)
matches the host under ssh's lookup names.`,
		Fix: `Compare the fingerprint shown with the one on the server ('ssh-keygen -lf
/etc/ssh/ssh_host_ed25519_key.pub'), then accept it once in ssh, or record it with
'ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts' after checking.`,
	})
)

// HostKey compares the key the server proved with known_hosts.
func HostKey(f *probe.Facts) []Finding {
	if f.SSH == nil || f.SSH.HostKey == nil || f.KnownHosts == nil {
		return nil
	}
	p := f.SSH.HostKey
	kh := f.KnownHosts
	// A certificate is judged by its CA and, as ssh falls back to it when
	// no CA is trusted, by the plain key it certifies.
	plain := p.Key
	if c, ok := p.Key.(*ssh.Certificate); ok {
		plain = c.Key
	}
	baseType := plain.Type()
	name := ""
	if len(kh.Names) > 0 {
		name = kh.Names[0]
	}
	ev := []KV{E("names", kh.Names), E("presented", p.Type+" "+p.Fingerprint)}
	if p.IsCert {
		ev = append(ev, E("certificate_ca", p.CAFingerprint))
	}
	same := func(a, b ssh.PublicKey) bool { return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal()) }
	// @revoked wins wherever it is in the files.
	for _, m := range kh.Matches {
		if m.Marker == "@revoked" && (same(m.Key, p.Key) || same(m.Key, plain) || same(m.Key, p.CAKey)) {
			ev = append(ev, E("revoked_at", fmt.Sprintf("%s:%d", m.File, m.Line)))
			return []Finding{New("hostkey.revoked",
				fmt.Sprintf("%s presents the %s key %s, which %s:%d marks @revoked.", name, p.Type, p.Fingerprint, m.File, m.Line), ev...).
				WithFix("Do not connect; ask the server's administrator for its new host key.")}
		}
	}
	var sameType, otherType []probe.KnownHost
	for _, m := range kh.Matches {
		switch m.Marker {
		case "@revoked":
		case "@cert-authority":
			if p.IsCert && same(m.Key, p.CAKey) {
				return nil // trusted through the CA
			}
		default:
			if same(m.Key, plain) {
				return nil
			}
			if m.Key.Type() == baseType {
				sameType = append(sameType, m)
			} else {
				otherType = append(otherType, m)
			}
		}
	}
	strict := f.Target != nil && (f.Target.StrictHostKeyChecking == "yes" || f.Target.StrictHostKeyChecking == "true" ||
		(f.Target.BatchMode && f.Target.StrictHostKeyChecking == "ask"))
	switch {
	case len(sameType) > 0:
		var where, known []string
		for _, m := range sameType {
			where = append(where, fmt.Sprintf("%s:%d", m.File, m.Line))
			known = append(known, m.Key.Type()+" "+probe.Fingerprint(m.Key))
		}
		ev = append(ev, E("known", known), E("known_at", where))
		m := sameType[0]
		rm := fmt.Sprintf("ssh-keygen -R '%s' -f %s", name, m.File)
		return []Finding{New("hostkey.changed",
			fmt.Sprintf("%s now presents %s %s, but %s records %s. ssh refuses to connect.", name, p.Type, p.Fingerprint, where[0], known[0]), ev...).
			WithFix("Confirm the new fingerprint with the server's administrator or console first; then remove the stale entry and accept the new key.",
				rm, fmt.Sprintf("ssh-keyscan %s | ssh-keygen -lf -", keyscanArgs(f))).
			WithWarning("A changed host key can mean a man-in-the-middle attack. Remove the old entry only after confirming the new fingerprint out of band.")}
	case len(otherType) > 0:
		var where []string
		for _, m := range otherType {
			where = append(where, fmt.Sprintf("%s:%d (%s)", m.File, m.Line, m.Key.Type()))
		}
		ev = append(ev, E("known_at", where))
		fd := New("hostkey.unknown",
			fmt.Sprintf("%s presents a %s key (%s), but known_hosts only has keys of other types for it (%s): the server no longer offers the recorded type. ssh will ask before trusting the new key.", name, p.Type, p.Fingerprint, strings.Join(where, ", ")), ev...).
			WithSeverity(SeverityWarning).
			WithFix("Confirm the fingerprint on the server, then record the new key.",
				fmt.Sprintf("ssh-keyscan %s | ssh-keygen -lf -", keyscanArgs(f)))
		if strict {
			fd = fd.WithSeverity(SeverityError)
		}
		return []Finding{fd}
	default:
		ev = append(ev, E("files", kh.Files))
		fd := New("hostkey.unknown",
			fmt.Sprintf("%s is not in known_hosts yet; its %s key is %s. ssh will ask you to confirm it.", name, p.Type, p.Fingerprint), ev...).
			WithFix("Compare the fingerprint with the server's own ('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' there), then record it.",
				fmt.Sprintf("ssh-keyscan %s >> ~/.ssh/known_hosts", keyscanArgs(f)))
		if strict {
			fd = fd.WithSeverity(SeverityError)
			fd.Detail = fmt.Sprintf("%s is not in known_hosts, and StrictHostKeyChecking (or BatchMode) makes ssh refuse it: \"Host key verification failed\". Its %s key is %s.", name, p.Type, p.Fingerprint)
		}
		return []Finding{fd}
	}
}

func keyscanArgs(f *probe.Facts) string {
	t := f.Target
	if t == nil {
		return "HOST"
	}
	if t.Port != 22 {
		return fmt.Sprintf("-p %d %s", t.Port, t.HostName)
	}
	return t.HostName
}
