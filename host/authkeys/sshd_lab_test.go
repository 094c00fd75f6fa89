//go:build linux

package authkeys_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
	"github.com/sshdoctor/sshdoctor/internal/lab"
	"golang.org/x/crypto/ssh"
)

// These tests hold the parser and the StrictModes walk against the real
// sshd of this machine (Debian's OpenSSH), run by the lab in a network
// namespace: for each authorized_keys line, or file mode, sshdoctor's
// verdict must be sshd's.

// accepted is sshdoctor's verdict: the line gives an entry for key that
// sshd would accept from client.
func accepted(t *testing.T, line string, key ssh.PublicKey, c accounts.Client) bool {
	entries, _ := authkeys.Parse([]byte(line+"\n"), time.Local)
	f := &authkeys.Facts{User: "root", Now: time.Now(), Files: []authkeys.File{{Path: "authorized_keys", Entries: entries}}}
	for _, m := range f.Find(key, c) {
		if m.Refused == "" && !m.NeedsClient {
			return true
		}
	}
	return false
}

func TestParseAgreesWithSSHD(t *testing.T) {
	p := lab.NewPair(t)
	ed := lab.NewUserKey(t, "ed25519")
	rsa := lab.NewUserKey(t, "rsa")
	ec := lab.NewUserKey(t, "ecdsa")
	sshd := p.Server.StartSSHD(t, lab.SSHDOptions{})
	client := accounts.Client{Addr: p.Client.Addr4}
	blob := func(k *lab.Key) string { return strings.Fields(k.AuthorizedLine)[1] }
	edLine := ed.AuthorizedLine
	cases := []struct {
		name string
		line string
		key  *lab.Key
	}{
		{"plain", edLine, ed},
		{"short type name", "ED25519 " + blob(ed) + " x", ed},
		{"ECDSA short name has no curve", "ECDSA " + blob(ec) + " x", ec},
		{"RSA signature name as type", "rsa-sha2-512 " + blob(rsa) + " x", rsa},
		{"type does not match the blob", "ssh-rsa " + blob(ed), ed},
		{"carriage return", edLine + "\r", ed},
		{"options in capitals", "RESTRICT,No-Pty " + edLine, ed},
		{"unknown option", "restrictive " + edLine, ed},
		{"empty option before the first", ",restrict " + edLine, ed},
		{"principals without cert-authority", `principals="root" ` + edLine, ed},
		{"from with host bits set", `from="10.0.0.1/8" ` + edLine, ed},
		{"from allowing the client", `from="` + p.Client.Addr4.String() + `/32" ` + edLine, ed},
		{"from negating the client", `from="!` + p.Client.Addr4.String() + `,*" ` + edLine, ed},
		{"from a wildcard", `from="*" ` + edLine, ed},
		{"expired", `expiry-time="20200101" ` + edLine, ed},
		{"not expired", `expiry-time="20991231Z" ` + edLine, ed},
		{"forced command", `command="true",no-touch-required ` + edLine, ed},
		{"quoted comma and escaped quote", `command="echo \"a,b\"; true" ` + edLine, ed},
		{"bad environment name", `environment="A-B=1" ` + edLine, ed},
		{"permitopen port 0", `permitopen="host:0" ` + edLine, ed},
		{"bad tunnel", `tunnel="x" ` + edLine, ed},
		{"unterminated quote", `command="true ` + edLine, ed},
	}
	for _, c := range cases {
		if err := os.WriteFile(sshd.AuthorizedKeysPath, []byte(c.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := sshd.Login(t, c.key)
		want := accepted(t, c.line, c.key.Public, client)
		if got := err == nil; got != want {
			t.Errorf("%s: sshd accepts: %v, sshdoctor says %v\nline: %s\nssh: %v", c.name, got, want, c.line, err)
		}
	}
	if t.Failed() {
		t.Logf("sshd log:\n%s", sshd.Log())
	}
}

// TestStrictModesAgreesWithSSHD compares the walk with sshd for the modes
// and groups of authorized_keys that Debian's patch treats specially. The
// account database is a synthetic one that holds what matters here on any
// Debian system: root's group (gid 0) has root alone, and gid 64999 does
// not exist.
func TestStrictModesAgreesWithSSHD(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	sshd := p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})

	pw, _ := accounts.ParsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\n"))
	gr, _ := accounts.ParseGroup([]byte("root:x:0:\n"))
	acct := &accounts.Facts{User: "root", Root: "/", Entry: &pw[0], GroupIDs: []int64{0},
		DB: &accounts.DB{Passwd: pw, Group: gr}}
	sys := host.System{Root: "/", Now: time.Now}
	cfg := authkeys.DefaultConfig()
	cfg.Files = []string{sshd.AuthorizedKeysPath}

	cases := []struct {
		mode os.FileMode
		gid  int
	}{
		{0o600, 0},
		{0o620, 0},     // group write, root's private group: Debian accepts
		{0o620, 64999}, // group write, a group that does not exist
		{0o602, 0},     // world write
		{0o644, 0},
	}
	for _, c := range cases {
		if err := os.Chown(sshd.AuthorizedKeysPath, 0, c.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(sshd.AuthorizedKeysPath, c.mode); err != nil {
			t.Fatal(err)
		}
		f, err := authkeys.Inspect(sys, acct, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !f.DebianModes {
			t.Skip("not a Debian system: the user-group-modes comparison does not apply")
		}
		want := f.Usable(&f.Files[0])
		err = sshd.Login(t, key)
		if got := err == nil; got != want {
			t.Errorf("mode %04o gid %d: sshd accepts: %v, sshdoctor says %v (%+v)", c.mode, c.gid, got, want, f.Files[0].Problems)
		}
	}
	// A group-writable directory on the way up: sshd walks to "/" for a
	// file outside the home directory.
	dir := filepath.Dir(sshd.AuthorizedKeysPath)
	if err := os.Chown(sshd.AuthorizedKeysPath, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sshd.AuthorizedKeysPath, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	f, err := authkeys.Inspect(sys, acct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.Usable(&f.Files[0]) {
		t.Errorf("a world-writable %s passes the walk", dir)
	}
	if err := sshd.Login(t, key); err == nil {
		t.Errorf("sshd accepted the key under a world-writable %s", dir)
	}
}
