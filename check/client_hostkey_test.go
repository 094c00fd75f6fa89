package check_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/probe"
)

func presentedKey(k ssh.PublicKey) *probe.PresentedKey {
	p := &probe.PresentedKey{Key: k, Type: k.Type(), Fingerprint: ssh.FingerprintSHA256(k)}
	if c, ok := k.(*ssh.Certificate); ok {
		p.IsCert, p.CAKey, p.CAFingerprint = true, c.SignatureKey, ssh.FingerprintSHA256(c.SignatureKey)
	}
	return p
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostCert(t *testing.T, key ssh.PublicKey, ca ssh.Signer) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, CertType: ssh.HostCert, KeyId: "web1", ValidPrincipals: []string{"web1"}, ValidBefore: ssh.CertTimeInfinity}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return c
}

func hostKeyFacts(presented ssh.PublicKey, matches ...probe.KnownHost) *probe.Facts {
	f := bannerFacts(sshBanner())
	f.SSH = &probe.SSHFacts{Kex: probe.KexFacts{Done: true, GotReply: true}, HostKey: presentedKey(presented)}
	f.KnownHosts = &probe.KnownHostsFacts{Files: []string{"/home/bob/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"}, Names: []string{"web1"}, Matches: matches}
	return f
}

func entry(line int, marker string, k ssh.PublicKey) probe.KnownHost {
	return probe.KnownHost{File: "/home/bob/.ssh/known_hosts", Line: line, Marker: marker, Hosts: "web1", Key: k}
}

func TestHostKeyKnown(t *testing.T) {
	k := newKey(t)
	f := hostKeyFacts(k, entry(1, "", newKey(t)), entry(7, "", k))
	if fs := check.HostKey(f); len(fs) != 0 {
		t.Errorf("findings [%s] for a key recorded on line 7", codes(fs))
	}
	f.KnownHosts = nil
	if fs := check.HostKey(f); len(fs) != 0 {
		t.Errorf("findings [%s] without known_hosts facts", codes(fs))
	}
	f = hostKeyFacts(k)
	f.SSH.HostKey = nil
	if fs := check.HostKey(f); len(fs) != 0 {
		t.Errorf("findings [%s] without a presented key", codes(fs))
	}
}

func TestHostKeyChanged(t *testing.T) {
	now, old := newKey(t), newKey(t)
	f := hostKeyFacts(now, entry(3, "", old))
	fd := only(t, check.HostKey(f), "hostkey.changed", check.SeverityError)
	wantEvidence(t, fd, map[string]string{
		"names":     "web1",
		"presented": "ssh-ed25519 " + ssh.FingerprintSHA256(now),
		"known":     "ssh-ed25519 " + ssh.FingerprintSHA256(old),
		"known_at":  "/home/bob/.ssh/known_hosts:3",
	})
	if !fixHas(fd, "ssh-keygen -R 'web1' -f /home/bob/.ssh/known_hosts") {
		t.Errorf("fix %+v does not remove the stale entry", fd.Fix.Commands)
	}
	if !strings.Contains(fd.Fix.Warning, "man-in-the-middle") {
		t.Errorf("no warning about a man-in-the-middle: %q", fd.Fix.Warning)
	}
	for _, s := range []string{ssh.FingerprintSHA256(now), ssh.FingerprintSHA256(old), "known_hosts:3"} {
		if !strings.Contains(fd.Detail, s) {
			t.Errorf("detail %q lacks %s", fd.Detail, s)
		}
	}
}

func TestHostKeyChangedOnOtherPort(t *testing.T) {
	f := hostKeyFacts(newKey(t), entry(3, "", newKey(t)))
	f.Target.Port = 2222
	f.KnownHosts.Names = []string{"[web1]:2222"}
	fd := only(t, check.HostKey(f), "hostkey.changed", check.SeverityError)
	if !fixHas(fd, "ssh-keygen -R '[web1]:2222'") || !fixHas(fd, "ssh-keyscan -p 2222 192.0.2.10") {
		t.Errorf("fix %q does not use the port", fd.Fix.Commands)
	}
}

func TestHostKeyUnknown(t *testing.T) {
	k := newKey(t)
	f := hostKeyFacts(k)
	fd := only(t, check.HostKey(f), "hostkey.unknown", check.SeverityInfo)
	wantEvidence(t, fd, map[string]string{"files": "/home/bob/.ssh/known_hosts|/etc/ssh/ssh_known_hosts", "presented": "ssh-ed25519 " + ssh.FingerprintSHA256(k)})
	if !strings.Contains(fd.Detail, ssh.FingerprintSHA256(k)) {
		t.Errorf("detail %q does not show the fingerprint", fd.Detail)
	}
	if v := check.Verdict([]check.Finding{fd}); v != nil {
		t.Errorf("an unknown host key is the verdict: %s", v.Code)
	}

	for _, strict := range []struct {
		shkc  string
		batch bool
	}{{"yes", false}, {"true", false}, {"ask", true}} {
		f := hostKeyFacts(k)
		f.Target.StrictHostKeyChecking, f.Target.BatchMode = strict.shkc, strict.batch
		fd := only(t, check.HostKey(f), "hostkey.unknown", check.SeverityError)
		if !strings.Contains(fd.Detail, "Host key verification failed") {
			t.Errorf("StrictHostKeyChecking %s batch %v: detail %q does not say what ssh prints", strict.shkc, strict.batch, fd.Detail)
		}
	}
	f = hostKeyFacts(k)
	f.Target.StrictHostKeyChecking = "accept-new"
	only(t, check.HostKey(f), "hostkey.unknown", check.SeverityInfo)
}

func TestHostKeyOtherType(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ssh.NewPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f := hostKeyFacts(newKey(t), entry(4, "", ecKey))
	fd := only(t, check.HostKey(f), "hostkey.unknown", check.SeverityWarning)
	wantEvidence(t, fd, map[string]string{"known_at": "/home/bob/.ssh/known_hosts:4 (ecdsa-sha2-nistp256)"})

	f.Target.StrictHostKeyChecking = "yes"
	only(t, check.HostKey(f), "hostkey.unknown", check.SeverityError)
}

func TestHostKeyRevoked(t *testing.T) {
	k := newKey(t)
	f := hostKeyFacts(k, entry(2, "", k), probe.KnownHost{File: "/etc/ssh/ssh_known_hosts", Line: 9, Marker: "@revoked", Hosts: "*", Key: k})
	fd := only(t, check.HostKey(f), "hostkey.revoked", check.SeverityError)
	wantEvidence(t, fd, map[string]string{"revoked_at": "/etc/ssh/ssh_known_hosts:9"})
	if !strings.Contains(fd.Fix.Summary, "Do not connect") {
		t.Errorf("fix %q", fd.Fix.Summary)
	}
}

func TestHostKeyCertificates(t *testing.T) {
	ca, otherCA := newSigner(t), newSigner(t)
	plain := newKey(t)
	cert := hostCert(t, plain, ca)

	t.Run("trusted CA", func(t *testing.T) {
		f := hostKeyFacts(cert, entry(1, "@cert-authority", ca.PublicKey()))
		if fs := check.HostKey(f); len(fs) != 0 {
			t.Errorf("findings [%s] for a certificate signed by a trusted CA", codes(fs))
		}
	})
	t.Run("revoked CA", func(t *testing.T) {
		f := hostKeyFacts(cert, entry(1, "@cert-authority", ca.PublicKey()), entry(2, "@revoked", ca.PublicKey()))
		only(t, check.HostKey(f), "hostkey.revoked", check.SeverityError)
	})
	t.Run("unknown CA", func(t *testing.T) {
		f := hostKeyFacts(cert, entry(1, "@cert-authority", otherCA.PublicKey()))
		fd := only(t, check.HostKey(f), "hostkey.unknown", check.SeverityInfo)
		wantEvidence(t, fd, map[string]string{"certificate_ca": ssh.FingerprintSHA256(ca.PublicKey())})
	})
	// ssh checks a revoked host certificate's own key too
	// (check_key_not_revoked in hostfile.c compares the plain key).
	t.Run("certificate key revoked", func(t *testing.T) {
		f := hostKeyFacts(cert, entry(1, "@cert-authority", ca.PublicKey()), entry(2, "@revoked", plain))
		only(t, check.HostKey(f), "hostkey.revoked", check.SeverityError)
	})
	// With no trusted CA, ssh drops the certificate and looks the plain key
	// up ("No matching CA found. Retry with plain key", sshconnect.c).
	t.Run("untrusted certificate whose key is known", func(t *testing.T) {
		f := hostKeyFacts(cert, entry(5, "", plain))
		if fs := check.HostKey(f); len(fs) != 0 {
			t.Errorf("findings [%s]: ssh accepts this host through its plain key on line 5", codes(fs))
		}
	})
}
