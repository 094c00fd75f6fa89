package check_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/dest"
	"github.com/sshdoctor/sshdoctor/probe"
)

// Hand-built facts for the pure check functions. Addresses are from the
// documentation ranges; nothing here touches the network.

var (
	target4 = netip.MustParseAddr("192.0.2.10")   // the server
	router4 = netip.MustParseAddr("198.51.100.1") // a router on the way
	self4   = netip.MustParseAddr("203.0.113.5")  // this machine
)

// opensshLists are ssh's default algorithm lists (OpenSSH 9.2).
var opensshLists = struct{ kex, hostkey, ciphers, macs, pubkey []string }{
	kex:     strings.Split("sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256", ","),
	hostkey: strings.Split("ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256", ","),
	ciphers: strings.Split("chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com", ","),
	macs:    strings.Split("umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1", ","),
	pubkey:  strings.Split("ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256", ","),
}

// newTarget is bob@web1 -> 192.0.2.10 port 22 with ssh's defaults.
func newTarget() *dest.Resolved {
	return &dest.Resolved{
		Dest:     dest.Dest{Input: "bob@web1", User: "bob", Host: "web1"},
		Alias:    "web1",
		HostName: "192.0.2.10",
		Port:     22,
		User:     "bob",
		IdentityFiles: []string{"/home/bob/.ssh/id_rsa", "/home/bob/.ssh/id_ecdsa",
			"/home/bob/.ssh/id_ed25519"},
		AddressFamily:                "any",
		KexAlgorithms:                opensshLists.kex,
		HostKeyAlgorithms:            opensshLists.hostkey,
		Ciphers:                      opensshLists.ciphers,
		MACs:                         opensshLists.macs,
		PubkeyAcceptedAlgorithms:     opensshLists.pubkey,
		StrictHostKeyChecking:        "ask",
		PubkeyAuthentication:         true,
		PasswordAuthentication:       true,
		KbdInteractiveAuthentication: true,
	}
}

func newFacts() *probe.Facts {
	return &probe.Facts{Target: newTarget()}
}

// sshBanner is an ordinary OpenSSH identification.
func sshBanner() *probe.BannerFacts {
	return &probe.BannerFacts{Outcome: probe.BannerSSH, Ident: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
		ProtoVersion: "2.0", Software: "OpenSSH_9.2p1", Comments: "Debian-2+deb12u3"}
}

func openAttempt() probe.TCPAttempt {
	return probe.TCPAttempt{Addr: netip.AddrPortFrom(target4, 22), Source: self4, Outcome: probe.TCPOpen}
}

func newKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// codes lists the codes of findings, with their severity.
func codes(fs []check.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Code+"/"+string(f.Severity))
	}
	return strings.Join(s, " ")
}

// only asserts that fs is exactly one finding with this code and severity,
// and returns it.
func only(t *testing.T, fs []check.Finding, code string, sev check.Severity) check.Finding {
	t.Helper()
	if len(fs) != 1 || fs[0].Code != code || fs[0].Severity != sev {
		t.Fatalf("findings = [%s], want exactly %s/%s", codes(fs), code, sev)
	}
	assertWellFormed(t, fs[0])
	return fs[0]
}

// assertWellFormed checks what every finding must carry: a registered
// code, a detail, evidence values of the contract's types, and a fix
// with a summary for errors and warnings.
func assertWellFormed(t *testing.T, f check.Finding) {
	t.Helper()
	d, ok := check.Lookup(f.Code)
	if !ok {
		t.Errorf("%s is not registered", f.Code)
		return
	}
	if f.Title != d.Title || f.Detail == "" {
		t.Errorf("%s: title %q (doc %q), detail %q", f.Code, f.Title, d.Title, f.Detail)
	}
	seen := map[string]bool{}
	for _, kv := range f.Evidence {
		if seen[kv.Key] {
			t.Errorf("%s: evidence key %q appears twice (a JSON object with a duplicate key)", f.Code, kv.Key)
		}
		seen[kv.Key] = true
		switch v := kv.Value.(type) {
		case string, int, int64, float64, bool, []string, []int:
		default:
			t.Errorf("%s: evidence %s has type %T, not a contract type", f.Code, kv.Key, v)
		}
	}
	if f.Severity != check.SeverityInfo && (f.Fix == nil || f.Fix.Summary == "") {
		t.Errorf("%s (%s) has no fix", f.Code, f.Severity)
	}
	if _, err := json.Marshal(f); err != nil {
		t.Errorf("%s does not marshal: %v", f.Code, err)
	}
}

// ev returns an evidence value as text, for comparisons.
func ev(f check.Finding, key string) string {
	v := f.Evidence.Get(key)
	if v == nil {
		return "<missing>"
	}
	if l, ok := v.([]string); ok {
		return strings.Join(l, "|")
	}
	return fmt.Sprint(v)
}

func wantEvidence(t *testing.T, f check.Finding, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got := ev(f, k); got != w {
			t.Errorf("%s evidence %s = %q, want %q", f.Code, k, got, w)
		}
	}
}

func fixHas(f check.Finding, s string) bool {
	if f.Fix == nil {
		return false
	}
	return slices.ContainsFunc(f.Fix.Commands, func(c string) bool { return strings.Contains(c, s) }) ||
		strings.Contains(f.Fix.Summary, s)
}
