package sshdconfig

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// HostKey is the fact of one host key file, judged as sshd loads it at
// startup (sshd.c: sshkey_load_private with an empty passphrase, then the
// RSA size check).
type HostKey struct {
	// Path is the file as sshd sees it.
	Path string
	// Configured is true for a HostKey line; false for one of the default
	// files sshd tries when no HostKey is set (a missing default is normal).
	Configured bool
	// Exists is false when the file is missing (or a dangling link).
	Exists bool
	// Mode is the file's permission bits; zero when it does not exist.
	Mode fs.FileMode
	// UID is the owner's uid; -1 when unknown.
	UID int
	// Type is the key's algorithm ("ssh-ed25519") when it loads; empty
	// otherwise.
	Type string
	// Bits is the size of an RSA key; zero for other types.
	Bits int
	// Problem says why sshd cannot use the key; empty when it can.
	Problem string
	// Permissions is true when the problem is the file's mode: sshd refuses
	// a host key that root owns and others may read ("UNPROTECTED PRIVATE
	// KEY FILE").
	Permissions bool
}

// Usable reports whether sshd can load the key.
func (k HostKey) Usable() bool { return k.Exists && k.Problem == "" }

// statOwner returns the owner of a file, -1 when unknown.
func statOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// InspectHostKeys checks the host keys of an effective configuration (use
// Config.Startup: HostKey is global) on the system fsys reads, with the
// RequiredRSASize the configuration sets.
func InspectHostKeys(fsys RootFS, e *Effective) []HostKey {
	required := e.int("RequiredRSASize", 1024)
	var out []HostKey
	for _, p := range e.HostKeys() {
		out = append(out, inspectHostKey(fsys, p, e.HostKeysConfigured(), required))
	}
	return out
}

func inspectHostKey(fsys RootFS, name string, configured bool, requiredRSA int) HostKey {
	k := HostKey{Path: name, Configured: configured, UID: -1}
	host, err := fsys.Resolve(name)
	if err != nil {
		k.Problem = err.Error()
		return k
	}
	fi, err := os.Stat(host)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			k.Problem = "No such file or directory"
		} else {
			k.Exists = true
			k.Problem = err.Error()
		}
		return k
	}
	k.Exists = true
	k.Mode = fi.Mode().Perm()
	k.UID = statOwner(fi)
	if fi.IsDir() {
		k.Problem = "is a directory"
		return k
	}
	// sshd runs as root, so a key owned by root must not be readable by
	// group or others; a key owned by someone else is not checked.
	if k.UID == 0 && fi.Mode().Perm()&0o077 != 0 {
		k.Permissions = true
		k.Problem = fmt.Sprintf("bad permissions: permissions 0%03o for '%s' are too open (UNPROTECTED PRIVATE KEY FILE); sshd ignores this key", uint32(k.Mode), name)
		return k
	}
	data, err := os.ReadFile(host)
	if err != nil {
		k.Problem = err.Error()
		return k
	}
	if len(data) == 0 {
		k.Problem = "the file is empty"
		return k
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			k.Problem = "the key is encrypted with a passphrase; sshd loads host keys without one"
		} else {
			k.Problem = "not a private key sshd can load: " + err.Error()
		}
		return k
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		k.Problem = "unsupported key: " + err.Error()
		return k
	}
	k.Type = signer.PublicKey().Type()
	if r, ok := raw.(*rsa.PrivateKey); ok {
		k.Bits = r.N.BitLen()
		if k.Bits < requiredRSA {
			k.Problem = fmt.Sprintf("RSA key of %d bits is smaller than RequiredRSASize %d; sshd refuses it", k.Bits, requiredRSA)
		}
	}
	return k
}
