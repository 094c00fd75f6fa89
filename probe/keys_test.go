package probe

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func genKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"ed25519": ed, "ecdsa": ec, "rsa": rs}
}

func sshPub(t testing.TB, k crypto.Signer) ssh.PublicKey {
	t.Helper()
	pk, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestOpenSSHPublicPart(t *testing.T) {
	for name, k := range genKeys(t) {
		want := sshPub(t, k)
		t.Run(name+"/clear", func(t *testing.T) {
			blk, err := ssh.MarshalPrivateKey(k, "test key")
			if err != nil {
				t.Fatal(err)
			}
			got, err := OpenSSHPublicPart(pem.EncodeToMemory(blk))
			if err != nil {
				t.Fatalf("OpenSSHPublicPart: %v", err)
			}
			if !bytes.Equal(got.Marshal(), want.Marshal()) {
				t.Errorf("got %s, want %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
			}
		})
		t.Run(name+"/passphrase", func(t *testing.T) {
			blk, err := ssh.MarshalPrivateKeyWithPassphrase(k, "test key", []byte("correct horse"))
			if err != nil {
				t.Fatal(err)
			}
			data := pem.EncodeToMemory(blk)
			// The private half really is encrypted...
			if _, err := ssh.ParsePrivateKey(data); err == nil {
				t.Fatal("the test key is not encrypted")
			}
			// ...and the public half is read without the passphrase.
			got, err := OpenSSHPublicPart(data)
			if err != nil {
				t.Fatalf("OpenSSHPublicPart on an encrypted key: %v", err)
			}
			if !bytes.Equal(got.Marshal(), want.Marshal()) {
				t.Errorf("got %s, want %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
			}
		})
	}
}

func TestOpenSSHPublicPartRejects(t *testing.T) {
	ed := genKeys(t)["ed25519"]
	blk, err := ssh.MarshalPrivateKey(ed, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data []byte
		want string
	}{
		"not PEM":        {[]byte("hello"), "not a PEM"},
		"PKCS#1 RSA":     {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}}), "rsa private key"},
		"bad magic":      {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v2\x00")}), "magic"},
		"truncated":      {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: blk.Bytes[:30]}), "truncated"},
		"zero keys":      {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: zeroKeys(blk.Bytes)}), "no key"},
		"garbage key":    {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: append([]byte("openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x03abc"), 0)}), ""},
		"huge length":    {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1\x00\xff\xff\xff\xff")}), "truncated"},
		"empty PEM body": {pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY"}), "magic"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := OpenSSHPublicPart(tt.data)
			if err == nil {
				t.Fatalf("OpenSSHPublicPart accepted it: %v", k)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// zeroKeys sets the key count of an openssh-key-v1 body to 0.
func zeroKeys(b []byte) []byte {
	b = bytes.Clone(b)
	i := len("openssh-key-v1\x00")
	for range 3 {
		_, rest, _ := sshString(b[i:])
		i = len(b) - len(rest)
	}
	copy(b[i:], []byte{0, 0, 0, 0})
	return b
}

func FuzzOpenSSHPublicPart(f *testing.F) {
	for _, k := range genKeys(f) {
		blk, err := ssh.MarshalPrivateKey(k, "c")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blk.Bytes)
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(k, "c", []byte("pw"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blk.Bytes)
	}
	f.Add([]byte("openssh-key-v1\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		// Fuzz the binary body: the PEM armour would hide it from the fuzzer.
		data := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: body})
		k, err := OpenSSHPublicPart(data)
		if err != nil {
			return
		}
		if k == nil {
			t.Fatal("nil key without an error")
		}
		again, err := ssh.ParsePublicKey(k.Marshal())
		if err != nil || !bytes.Equal(again.Marshal(), k.Marshal()) {
			t.Fatalf("the key returned does not round-trip: %v", err)
		}
	})
}

func writeKey(t *testing.T, dir, name string, k crypto.Signer, mode os.FileMode, pub bool, passphrase string) string {
	t.Helper()
	var blk *pem.Block
	var err error
	if passphrase != "" {
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(k, name, []byte(passphrase))
	} else {
		blk, err = ssh.MarshalPrivateKey(k, name)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // the umask may have cut bits
		t.Fatal(err)
	}
	if pub {
		line := append(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub(t, k))), " "+name+"\n"...)
		if err := os.WriteFile(p+".pub", line, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestLoadKeysFiles(t *testing.T) {
	keys := genKeys(t)
	dir := t.TempDir()
	withPub := writeKey(t, dir, "id_ed25519", keys["ed25519"], 0o600, true, "")
	encrypted := writeKey(t, dir, "id_ecdsa", keys["ecdsa"], 0o600, false, "secret")
	open := writeKey(t, dir, "id_rsa", keys["rsa"], 0o644, false, "")
	dup := filepath.Join(dir, "copy_of_ed25519")
	data, _ := os.ReadFile(withPub)
	if err := os.WriteFile(dup, data, 0o600); err != nil {
		t.Fatal(err)
	}
	badPub := filepath.Join(dir, "bad")
	if err := os.WriteFile(badPub, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPub+".pub", []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "id_missing")

	ks := LoadKeys(KeyOptions{IdentityFiles: []string{withPub, encrypted, missing, open, dup, badPub}})
	if len(ks.Keys) != 3 {
		t.Fatalf("got %d keys (%v), want 3: the duplicate and the bad file dropped", len(ks.Keys), ks.Keys)
	}
	want := []struct {
		path, pubFrom, typ string
		badPerms           bool
	}{
		{withPub, withPub + ".pub", ssh.KeyAlgoED25519, false},
		{encrypted, encrypted, ssh.KeyAlgoECDSA256, false},
		{open, open, ssh.KeyAlgoRSA, os.Getuid() == fileOwner(t, open)},
	}
	for i, w := range want {
		k := ks.Keys[i]
		if k.Path != w.path || k.PubFrom != w.pubFrom || k.Type != w.typ || k.BadPerms != w.badPerms || k.Source != "file" {
			t.Errorf("key %d = path %q pub %q type %q badperms %v source %q; want %+v", i, k.Path, k.PubFrom, k.Type, k.BadPerms, k.Source, w)
		}
		if !strings.HasPrefix(k.Fingerprint, "SHA256:") {
			t.Errorf("key %d fingerprint %q", i, k.Fingerprint)
		}
	}
	if ks.Keys[2].Mode != 0o644 {
		t.Errorf("Mode = %o, want 644", ks.Keys[2].Mode)
	}
	if len(ks.Skipped) != 1 || !strings.HasPrefix(ks.Skipped[0], badPub+": ") {
		t.Errorf("Skipped = %q, want only %s (a missing file is not worth mentioning)", ks.Skipped, badPub)
	}
}

func fileOwner(t *testing.T, p string) int {
	t.Helper()
	k, err := loadIdentityFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return k.Owner
}

// startAgent serves an in-memory ssh-agent on a unix socket in a temp dir.
func startAgent(t *testing.T, keys ...crypto.Signer) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k, Comment: "agent key"}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(kr, c)
			}()
		}
	}()
	return sock
}

func TestLoadKeysAgentOrder(t *testing.T) {
	keys := genKeys(t)
	dir := t.TempDir()
	file := writeKey(t, dir, "id_ed25519", keys["ed25519"], 0o600, true, "")
	onlyFile := writeKey(t, dir, "id_rsa", keys["rsa"], 0o600, true, "")
	sock := startAgent(t, keys["ecdsa"], keys["ed25519"])

	ks := LoadKeys(KeyOptions{IdentityFiles: []string{file, onlyFile}, AgentSocket: sock})
	if ks.AgentErr != "" {
		t.Fatalf("AgentErr = %q", ks.AgentErr)
	}
	// ssh's order: agent keys first, then identity files the agent lacks.
	got := []string{}
	for _, k := range ks.Keys {
		got = append(got, k.Type+" "+k.Path)
	}
	want := []string{ssh.KeyAlgoECDSA256 + " ", ssh.KeyAlgoED25519 + " " + file, ssh.KeyAlgoRSA + " " + onlyFile}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("order = %q, want %q", got, want)
	}
	if !ks.Keys[1].InAgent || ks.Keys[2].InAgent {
		t.Errorf("InAgent flags wrong: %+v", ks.Keys)
	}

	ks = LoadKeys(KeyOptions{IdentityFiles: []string{file, onlyFile}, AgentSocket: sock, IdentitiesOnly: true})
	for _, k := range ks.Keys {
		if k.Path == "" {
			t.Errorf("IdentitiesOnly offers the agent-only key %s", k)
		}
	}
	if len(ks.Keys) != 2 {
		t.Errorf("IdentitiesOnly: %d keys, want 2", len(ks.Keys))
	}

	ks = LoadKeys(KeyOptions{IdentityFiles: []string{file}, AgentSocket: filepath.Join(dir, "no-agent")})
	if ks.AgentErr == "" || len(ks.Keys) != 1 {
		t.Errorf("unreachable agent: AgentErr %q, %d keys; want an error and the file key", ks.AgentErr, len(ks.Keys))
	}
}

func TestClientKeyString(t *testing.T) {
	k := ClientKey{Type: "ssh-ed25519", Fingerprint: "SHA256:abc", Path: "/home/bob/.ssh/id_ed25519"}
	if got, want := k.String(), "ssh-ed25519 SHA256:abc (/home/bob/.ssh/id_ed25519)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	k.InAgent = true
	if got, want := k.String(), "ssh-ed25519 SHA256:abc (/home/bob/.ssh/id_ed25519, in agent)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	k = ClientKey{Type: "ssh-ed25519", Fingerprint: "SHA256:abc", Comment: "bob@laptop", InAgent: true}
	if got, want := k.String(), "ssh-ed25519 SHA256:abc (agent: bob@laptop)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestSigAlgorithms(t *testing.T) {
	tests := []struct {
		typ      string
		accepted []string
		want     []string
	}{
		{ssh.KeyAlgoRSA, nil, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
		{ssh.KeyAlgoRSA, []string{"ssh-ed25519", "rsa-sha2-256", "rsa-sha2-512"}, []string{"rsa-sha2-256", "rsa-sha2-512"}},
		{ssh.KeyAlgoRSA, []string{"ssh-ed25519"}, nil},
		{ssh.KeyAlgoED25519, []string{"ssh-ed25519", "ssh-ed25519"}, []string{"ssh-ed25519"}},
		{ssh.KeyAlgoED25519, []string{"rsa-sha2-512"}, nil},
	}
	for _, tt := range tests {
		got := sigAlgorithms(tt.typ, tt.accepted)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("sigAlgorithms(%q, %q) = %q, want %q", tt.typ, tt.accepted, got, tt.want)
		}
	}
}
