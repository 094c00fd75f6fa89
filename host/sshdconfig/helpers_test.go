package sshdconfig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// copyTree copies a testdata tree into a fresh temporary directory, so that
// tests can add host keys or break modes without touching testdata.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

var (
	keysOnce sync.Once
	testKeys map[string][]byte // file name to OpenSSH private key
)

// hostKeyFiles returns private keys for the three default host key files,
// generated once per test binary (RSA generation is slow).
func hostKeyFiles(t testing.TB) map[string][]byte {
	t.Helper()
	keysOnce.Do(func() {
		testKeys = map[string][]byte{}
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rs, _ := rsa.GenerateKey(rand.Reader, 2048)
		for name, k := range map[string]crypto.PrivateKey{
			"ssh_host_ed25519_key": ed, "ssh_host_ecdsa_key": ec, "ssh_host_rsa_key": rs,
		} {
			b, err := ssh.MarshalPrivateKey(k, "")
			if err != nil {
				panic(err)
			}
			testKeys[name] = pem.EncodeToMemory(b)
		}
	})
	return testKeys
}

// writeHostKeys installs the default host keys in root's /etc/ssh with the
// given mode.
func writeHostKeys(t testing.TB, root string, mode os.FileMode) {
	t.Helper()
	for name, data := range hostKeyFiles(t) {
		p := filepath.Join(root, "etc/ssh", name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// requireEnv skips a test whose environment is missing, except under CI,
// where every test must run: there a skip is a failure.
func requireEnv(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", why)
	}
	t.Skip(why)
}
