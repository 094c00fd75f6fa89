//go:build linux

package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Key is an SSH key pair written to disk in OpenSSH format, for the real
// ssh client (PrivPath) and for Go code (Private).
type Key struct {
	Type           string        // the type asked for: "ed25519", "ecdsa" or "rsa"
	Private        ssh.Signer    // the private key
	Public         ssh.PublicKey // Private.PublicKey()
	PrivPath       string        // private key file, mode 0600, usable with ssh -i
	PubPath        string        // public key file (PrivPath + ".pub"), mode 0644
	AuthorizedLine string        // the authorized_keys line for the key, without newline
}

// NewUserKey makes a fresh key pair of type "ed25519", "ecdsa" (P-256) or
// "rsa" (2048 bits) in a temporary directory that is removed when the test
// ends. The OpenSSH type names ("ssh-ed25519", "ecdsa-sha2-nistp256",
// "ssh-rsa") are accepted too.
func NewUserKey(t testing.TB, typ string) *Key {
	t.Helper()
	typ = shortKeyType(typ)
	pemBytes, signer, err := generateKey(typ, "lab-"+typ)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	k := &Key{
		Type:           typ,
		Private:        signer,
		Public:         signer.PublicKey(),
		PrivPath:       filepath.Join(t.TempDir(), "id_"+typ),
		AuthorizedLine: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " lab-" + typ,
	}
	k.PubPath = k.PrivPath + ".pub"
	if err := writeFileMode(k.PrivPath, pemBytes, 0o600); err != nil {
		t.Fatalf("lab: %v", err)
	}
	if err := writeFileMode(k.PubPath, []byte(k.AuthorizedLine+"\n"), 0o644); err != nil {
		t.Fatalf("lab: %v", err)
	}
	return k
}

// shortKeyType maps OpenSSH key type names to the lab's short ones.
func shortKeyType(typ string) string {
	switch typ {
	case ssh.KeyAlgoED25519:
		return "ed25519"
	case ssh.KeyAlgoECDSA256:
		return "ecdsa"
	case ssh.KeyAlgoRSA:
		return "rsa"
	}
	return typ
}

// generateKey makes a private key and returns it PEM-encoded in OpenSSH's
// own format (what ssh-keygen writes), plus a signer for it.
func generateKey(typ, comment string) ([]byte, ssh.Signer, error) {
	var priv crypto.Signer
	var err error
	switch typ {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, nil, fmt.Errorf("lab: unknown key type %q (want ed25519, ecdsa or rsa)", typ)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lab: generating %s key: %w", typ, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: encoding %s key: %w", typ, err)
	}
	signer, err := ssh.NewSignerFromSigner(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: %s key: %w", typ, err)
	}
	return pem.EncodeToMemory(block), signer, nil
}

// hostKey is a generated host key kept for the whole test binary: RSA
// generation is slow enough to matter when every test starts an sshd, and
// tests that compare host keys need distinct known_hosts entries, not
// distinct keys.
type hostKey struct {
	pem []byte
	pub ssh.PublicKey
}

var hostKeys struct {
	sync.Mutex
	m map[string]*hostKey
}

func cachedHostKey(typ string) (*hostKey, error) {
	hostKeys.Lock()
	defer hostKeys.Unlock()
	if k := hostKeys.m[typ]; k != nil {
		return k, nil
	}
	pemBytes, signer, err := generateKey(typ, "lab-host-"+typ)
	if err != nil {
		return nil, err
	}
	if hostKeys.m == nil {
		hostKeys.m = map[string]*hostKey{}
	}
	k := &hostKey{pem: pemBytes, pub: signer.PublicKey()}
	hostKeys.m[typ] = k
	return k, nil
}

// writeFileMode writes a file with exactly this mode, whatever the umask.
func writeFileMode(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
