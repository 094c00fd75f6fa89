package authkeys

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadKey(t *testing.T) {
	ed := strings.TrimSpace(string(fixture(t, "ed.pub")))
	want := pubKey(t, "ed.pub")
	dir := t.TempDir()
	edFile := filepath.Join(dir, "id.pub")
	if err := os.WriteFile(edFile, []byte("# my key\n"+ed+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{ed, "  " + ed + "\n", `restrict ` + ed, edFile} {
		k, err := LoadKey(arg)
		if err != nil {
			t.Errorf("LoadKey(%.30q): %v", arg, err)
			continue
		}
		if k.Fingerprint != "SHA256:"+strings.TrimPrefix(k.Fingerprint, "SHA256:") || string(k.Key.Marshal()) != string(want.Marshal()) {
			t.Errorf("LoadKey(%.30q) = %s", arg, k.Fingerprint)
		}
	}
	if k, _ := LoadKey(edFile); k == nil || k.Source != edFile || k.Comment != "alice@laptop" {
		t.Errorf("from file: %+v", k)
	}
	// An encrypted private key still carries its public half.
	enc, err := LoadKey("testdata/enc_private_key")
	if err != nil || enc.Type != "ssh-ed25519" {
		t.Errorf("encrypted private key: %+v, %v", enc, err)
	}
	if _, err := LoadKey("ssh-ed25519 AAAA-not-base64 x"); err == nil || !strings.Contains(err.Error(), "neither a public key nor a file") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := LoadKey(filepath.Join(dir, "nope.pub")); err == nil {
		t.Error("missing file: no error")
	}
	if k, _ := LoadKey(ed); k.Line() != ed {
		t.Errorf("Line() = %q, want %q", k.Line(), ed)
	}
}

func TestAcceptedAlgorithms(t *testing.T) {
	def := []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "sk-ssh-ed25519@openssh.com", "rsa-sha2-512", "rsa-sha2-256",
		"ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com"}
	cases := []struct {
		typ    string
		list   []string
		expect []string
	}{
		{"ssh-ed25519", def, []string{"ssh-ed25519"}},
		// RSA keys pass with SHA-2 signatures even though ssh-rsa is out.
		{"ssh-rsa", def, []string{"rsa-sha2-512", "rsa-sha2-256"}},
		{"ssh-rsa", []string{"ssh-ed25519", "ssh-rsa"}, []string{"ssh-rsa"}},
		{"ssh-rsa-cert-v01@openssh.com", def, []string{"rsa-sha2-512-cert-v01@openssh.com"}},
		{"ssh-dss", def, nil},
		{"ecdsa-sha2-nistp384", def, nil},
		// Patterns and negations, as match_pattern_list reads them.
		{"ecdsa-sha2-nistp384", []string{"ecdsa-*"}, []string{"ecdsa-sha2-nistp384"}},
		{"ecdsa-sha2-nistp384", []string{"!ecdsa-sha2-nistp384", "ecdsa-*"}, nil},
	}
	for _, c := range cases {
		if got := AcceptedAlgorithms(c.typ, c.list); !reflect.DeepEqual(got, c.expect) {
			t.Errorf("AcceptedAlgorithms(%s, %v) = %v, want %v", c.typ, c.list, got, c.expect)
		}
	}
}
