// Package keys is sshdoctor's key workflow. It makes OpenSSH key pairs
// (keys new), installs a public key on a server over whatever
// authentication already works, as ssh-copy-id does (keys install), and
// rotates a key (keys rotate): a new key is made, installed and proven with
// a real login before the old one is removed from the server, so that the
// old key cannot open the server any more.
//
// Secrets stay secret: a password or passphrase comes only from the person
// at the terminal (Prompter), the agent is used to sign but never
// forwarded, and no private key material is ever part of a Result.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// NewOptions describe a key pair to make.
type NewOptions struct {
	// Type is "ed25519", "ecdsa" or "rsa" (the OpenSSH names ssh-ed25519,
	// ecdsa-sha2-nistp256 and ssh-rsa are accepted too); empty means
	// ed25519.
	Type string
	// Bits is the key size: 2048 to 16384 for RSA (0 means 3072, as
	// ssh-keygen), 256, 384 or 521 for ECDSA (0 means 256); ed25519 has one
	// size and takes only 0.
	Bits int
	// Comment is stored in the private key file and at the end of the
	// public key line; empty means no comment.
	Comment string
	// Passphrase encrypts the private key file as ssh-keygen does (bcrypt
	// KDF, aes256-ctr); empty means the file is not encrypted.
	Passphrase []byte
}

// Pair is a freshly made key pair, held in memory until WriteFiles puts it
// on disk. It never prints its private half.
type Pair struct {
	// Signer signs with the private key; it is what a verifying login uses.
	Signer ssh.Signer
	// Public is Signer.PublicKey().
	Public ssh.PublicKey
	// Comment is the key's comment; empty means none.
	Comment string
	// Encrypted is true when the private key file is protected by a
	// passphrase.
	Encrypted bool

	privatePEM []byte // the private key file's contents
}

// Generate makes a key pair with crypto/rand.
func Generate(o NewOptions) (*Pair, error) {
	typ, err := NormalizeType(o.Type)
	if err != nil {
		return nil, err
	}
	if err := ValidComment(o.Comment); err != nil {
		return nil, err
	}
	var priv crypto.Signer
	switch typ {
	case "ed25519":
		if o.Bits != 0 {
			return nil, fmt.Errorf("keys: ed25519 keys have one size; drop --bits")
		}
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		var curve elliptic.Curve
		switch o.Bits {
		case 0, 256:
			curve = elliptic.P256()
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("keys: ECDSA keys are 256, 384 or 521 bits, not %d", o.Bits)
		}
		priv, err = ecdsa.GenerateKey(curve, rand.Reader)
	case "rsa":
		bits := o.Bits
		if bits == 0 {
			bits = 3072
		}
		// OpenSSH refuses RSA keys under 1024 bits and ssh-keygen makes none
		// under 2048 or over 16384; neither does this.
		if bits < 2048 || bits > 16384 {
			return nil, fmt.Errorf("keys: RSA keys are 2048 to 16384 bits, not %d", bits)
		}
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generating the %s key: %w", typ, err)
	}
	var block *pem.Block
	if len(o.Passphrase) > 0 {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, o.Comment, o.Passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(priv, o.Comment)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: encoding the %s key: %w", typ, err)
	}
	signer, err := ssh.NewSignerFromSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("keys: %s key: %w", typ, err)
	}
	return &Pair{
		Signer:     signer,
		Public:     signer.PublicKey(),
		Comment:    o.Comment,
		Encrypted:  len(o.Passphrase) > 0,
		privatePEM: pem.EncodeToMemory(block),
	}, nil
}

// String names the pair by its public key, so that printing a Pair (%v,
// %+v) can never show the private key.
func (p *Pair) String() string {
	return "keys.Pair{" + p.Public.Type() + " " + ssh.FingerprintSHA256(p.Public) + "}"
}

// GoString is String, for %#v.
func (p *Pair) GoString() string { return p.String() }

// NormalizeType maps the names a user may give for a key type to
// "ed25519", "ecdsa" or "rsa"; empty means ed25519.
func NormalizeType(t string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "", "ed25519", ssh.KeyAlgoED25519:
		return "ed25519", nil
	case "ecdsa", ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "ecdsa", nil
	case "rsa", ssh.KeyAlgoRSA:
		return "rsa", nil
	}
	return "", fmt.Errorf("keys: unknown key type %q (want ed25519, ecdsa or rsa)", t)
}

// ValidComment refuses comments that would break an authorized_keys line:
// a line break there would add a line of the comment's choosing to the
// server's authorized_keys.
func ValidComment(c string) error {
	for _, r := range c {
		if unicode.IsControl(r) {
			return fmt.Errorf("keys: the key comment %q holds a control character (a line break would add a line to authorized_keys)", c)
		}
	}
	return nil
}

// AuthorizedLine is the public key as one authorized_keys line, without a
// newline: "ssh-ed25519 AAAA... comment".
func (p *Pair) AuthorizedLine() string { return AuthorizedLine(p.Public, p.Comment) }

// AuthorizedLine formats a public key and comment as one authorized_keys
// (and .pub file) line, without a newline.
func AuthorizedLine(k ssh.PublicKey, comment string) string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return line
}

// ExistsError is returned by WriteFiles when a file it would write is
// already there: a key file is never overwritten.
type ExistsError struct {
	Path string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("keys: %s already exists; sshdoctor never overwrites a key file", e.Path)
}

// WriteFiles writes the private key to path with mode 0600 and the public
// key to path.pub with mode 0644, exactly (whatever the umask), the way
// ssh-keygen lays them out. It creates a missing parent directory with mode
// 0700 (as ~/.ssh must be) and refuses, with an *ExistsError, to replace
// either file. If the second file cannot be written the first is removed,
// so a failure leaves nothing half made.
func (p *Pair) WriteFiles(path string) error {
	pub := path + ".pub"
	for _, f := range []string{path, pub} {
		if _, err := os.Lstat(f); err == nil {
			return &ExistsError{Path: f}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keys: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keys: creating the key directory: %w", err)
	}
	if err := writeNew(path, p.privatePEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, []byte(p.AuthorizedLine()+"\n"), 0o644); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// writeNew creates path (never following or replacing anything already
// there: O_EXCL), writes data, sets mode exactly, and syncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode&0o600)
	if errors.Is(err, fs.ErrExist) {
		return &ExistsError{Path: path}
	}
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		// The umask may have taken bits away; the modes are part of the
		// contract (ssh refuses a private key others can read).
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("keys: writing %s: %w", path, err)
	}
	return nil
}
