package authkeys

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sshdoctor/sshdoctor/host/accounts"
	"golang.org/x/crypto/ssh"
)

// Key is the public key given with --key.
type Key struct {
	// Key is the public key; a *ssh.Certificate for a certificate.
	Key ssh.PublicKey
	// Type is the key's type ("ssh-ed25519", "ssh-rsa-cert-v01@openssh.com").
	Type string
	// Fingerprint is the SHA256 fingerprint of Key.
	Fingerprint string
	// Comment is the comment of the key line; empty when none.
	Comment string
	// Source is the file it was read from; empty when given as a string.
	Source string
}

// Line returns the key as an authorized_keys line, without options.
func (k *Key) Line() string {
	s := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Key)))
	if k.Comment != "" {
		s += " " + k.Comment
	}
	return s
}

// LoadKey reads --key: a public key line ("ssh-ed25519 AAAA... comment",
// options allowed), or the path of a file holding one (a .pub file, an
// authorized_keys-style file whose first key is taken, or an OpenSSH
// private key, whose public half is used without decrypting it). The file
// is read on this machine, never under --root: it is the user's key.
func LoadKey(arg string) (*Key, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return nil, errors.New("authkeys: --key is empty")
	}
	if k := keyFromText(arg); k != nil {
		return k, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && strings.ContainsAny(arg, " \t") {
			return nil, fmt.Errorf("authkeys: --key %q is neither a public key nor a file", Escape(arg, 60))
		}
		return nil, fmt.Errorf("authkeys: read --key: %w", err)
	}
	if k := keyFromText(string(data)); k != nil {
		k.Source = arg
		return k, nil
	}
	if pk, err := ssh.ParsePrivateKey(data); err == nil {
		return newKey(pk.PublicKey(), "", arg), nil
	} else {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) && pm.PublicKey != nil {
			return newKey(pm.PublicKey, "", arg), nil
		}
	}
	return nil, fmt.Errorf("authkeys: %s holds no public key (give the .pub file, or the key line itself)", arg)
}

func keyFromText(s string) *Key {
	entries, _ := Parse([]byte(s), time.UTC)
	if len(entries) == 0 {
		return nil
	}
	e := entries[0]
	return newKey(e.Key, e.Comment, "")
}

func newKey(k ssh.PublicKey, comment, source string) *Key {
	return &Key{Key: k, Type: k.Type(), Fingerprint: ssh.FingerprintSHA256(k), Comment: comment, Source: source}
}

// SignatureAlgorithms returns the algorithm names a client may put in a
// public-key request for a key of type keyType, newest first. sshd checks
// that name against PubkeyAcceptedAlgorithms. For RSA, current OpenSSH
// clients use rsa-sha2-512 or rsa-sha2-256 (the server advertises what it
// accepts in server-sig-algs), and only old ones ssh-rsa.
func SignatureAlgorithms(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoRSA, "rsa-sha2-256", "rsa-sha2-512":
		return []string{"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}
	case ssh.CertAlgoRSAv01, "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com":
		return []string{"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", ssh.CertAlgoRSAv01}
	}
	return []string{keyType}
}

// AcceptedAlgorithms returns the signature algorithms for keyType that the
// accepted list lets through, with sshd's test: match_pattern_list(alg,
// list) == 1, so an already assembled list works, and so do patterns and
// negations if the raw value is passed. Empty means the key is refused.
func AcceptedAlgorithms(keyType string, accepted []string) []string {
	list := strings.Join(accepted, ",")
	var out []string
	for _, alg := range SignatureAlgorithms(keyType) {
		if accounts.MatchPatternList(alg, list, false) == 1 {
			out = append(out, alg)
		}
	}
	return out
}
