package keys

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/probe"
)

// PublicKey is a key to install: its public half, and where its private
// half can be found to prove it with a real login.
type PublicKey struct {
	// Key is the public key.
	Key ssh.PublicKey
	// Comment is the comment of its line; empty means none.
	Comment string
	// PubFile is the file it was read from; empty when it was given as a
	// string or made in memory.
	PubFile string
	// PrivateFile is the private key file next to it; empty means none was
	// found (then the server's acceptance is checked without signing).
	PrivateFile string
	// Signer is the private key in memory (a key made by this run); nil
	// means the private key is read from PrivateFile or the agent when the
	// verifying login needs it.
	Signer ssh.Signer
	// Encrypted is true when PrivateFile is protected by a passphrase.
	Encrypted bool
}

// Line is the authorized_keys line to install, without a newline.
func (k *PublicKey) Line() string { return AuthorizedLine(k.Key, k.Comment) }

// Fingerprint is the key's SHA256 fingerprint, as ssh prints it.
func (k *PublicKey) Fingerprint() string { return ssh.FingerprintSHA256(k.Key) }

// LoadPublicKey reads the key that spec names: a .pub file, a private key
// file (its .pub next to it, or the clear-text public part of an OpenSSH
// key), or an authorized_keys line given as a string. Only public parts are
// read here.
func LoadPublicKey(spec string) (*PublicKey, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("keys: no key given")
	}
	if pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(spec)); err == nil && !fileExists(spec) {
		if err := ValidComment(comment); err != nil {
			return nil, err
		}
		return &PublicKey{Key: pk, Comment: comment}, nil
	}
	pubFile, privFile := spec, strings.TrimSuffix(spec, ".pub")
	if !strings.HasSuffix(spec, ".pub") {
		pubFile = spec + ".pub"
		privFile = spec
	}
	k := &PublicKey{}
	if data, err := os.ReadFile(pubFile); err == nil {
		pk, comment, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("keys: %s is not a public key: %w", pubFile, err)
		}
		if err := ValidComment(comment); err != nil {
			return nil, err
		}
		k.Key, k.Comment, k.PubFile = pk, comment, pubFile
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if data, err := os.ReadFile(privFile); err == nil && privFile != pubFile {
		if k.Key == nil {
			pk, err := probe.OpenSSHPublicPart(data)
			if err != nil {
				return nil, fmt.Errorf("keys: %s: %w; give its .pub file", privFile, err)
			}
			k.Key = pk
		} else if pk, err := probe.OpenSSHPublicPart(data); err == nil && !bytes.Equal(pk.Marshal(), k.Key.Marshal()) {
			// A .pub that does not belong to its private key would install
			// one key and verify with another.
			return nil, fmt.Errorf("keys: %s and %s hold different keys", privFile, pubFile)
		}
		k.PrivateFile = privFile
		k.Encrypted = isEncrypted(data)
	}
	if k.Key == nil {
		return nil, fmt.Errorf("keys: no public key at %s (and no %s)", spec, pubFile)
	}
	if _, ok := k.Key.(*ssh.Certificate); ok {
		return nil, errors.New("keys: a certificate is trusted through its CA, not installed in authorized_keys; give the plain public key")
	}
	return k, nil
}

// DefaultPublicKey picks the key ssh-copy-id would: the most recently
// changed ~/.ssh/id*.pub (certificates excluded).
func DefaultPublicKey(home string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(home, ".ssh", "id*.pub"))
	type cand struct {
		path string
		mod  int64
	}
	var cs []cand
	for _, m := range matches {
		if strings.HasSuffix(m, "-cert.pub") {
			continue
		}
		st, err := os.Stat(m)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		cs = append(cs, cand{m, st.ModTime().UnixNano()})
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("keys: no public key in %s", filepath.Join(home, ".ssh"))
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].mod > cs[j].mod })
	return cs[0].path, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// isEncrypted reports whether a private key file needs a passphrase. It
// reads only the clear-text header: the cipher name of an OpenSSH key, the
// Proc-Type of a legacy PEM key, or the PKCS#8 block type.
func isEncrypted(data []byte) bool {
	block, _ := pem.Decode(data)
	if block == nil {
		return false
	}
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return true
	case "OPENSSH PRIVATE KEY":
		const magic = "openssh-key-v1\x00"
		b := block.Bytes
		if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+4 {
			return false
		}
		b = b[len(magic):]
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return false
		}
		return string(b[4:4+n]) != "none"
	}
	return strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED")
}
