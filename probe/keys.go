package probe

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ClientKey is one public key the ssh client would offer. sshdoctor reads
// public keys only: from .pub files, the agent, or the clear-text public
// part of an OpenSSH private key file.
type ClientKey struct {
	// Source is "agent" or "file".
	Source string
	// Path is the identity file (the private key path); empty for agent keys
	// that match no identity file.
	Path string
	// PubFrom says where the public key was read: "agent", a .pub path, or
	// the private key path (its clear-text public part).
	PubFrom string
	// Type is the key type ("ssh-ed25519"), Fingerprint its SHA256.
	Type        string
	Fingerprint string
	Comment     string
	// Key is the public key itself.
	Key ssh.PublicKey `json:"-"`
	// InAgent is true when the agent holds this key.
	InAgent bool
	// Mode and Owner of the private key file; Mode is 0 when there is no file.
	Mode  os.FileMode
	Owner int
	// BadPerms is true when ssh would refuse the private key file because it
	// is readable or writable by group or others ("UNPROTECTED PRIVATE KEY").
	BadPerms bool
}

// KeySet is the ordered list of keys ssh would offer, with what was skipped.
type KeySet struct {
	Keys []ClientKey
	// AgentSocket is the agent used; empty means none.
	AgentSocket string
	// AgentErr is why the agent could not be read; empty when fine or unused.
	AgentErr string
	// Skipped explains identity files that exist but yield no public key
	// without a passphrase, or that ssh would skip ("path: reason").
	Skipped []string
}

// KeyOptions says where to look for keys.
type KeyOptions struct {
	IdentityFiles  []string
	IdentitiesOnly bool
	// AgentSocket is the agent's socket path; empty means no agent.
	AgentSocket string
	// Timeout bounds talking to the agent.
	Timeout time.Duration
}

// LoadKeys lists the keys ssh would offer, in ssh's order: agent keys first
// (with IdentitiesOnly, only those matching an identity file), then identity
// files the agent does not hold.
func LoadKeys(o KeyOptions) KeySet {
	var ks KeySet
	var files []ClientKey
	for _, path := range o.IdentityFiles {
		k, err := loadIdentityFile(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				ks.Skipped = append(ks.Skipped, path+": "+err.Error())
			}
			continue
		}
		dup := false
		for _, f := range files {
			if f.Fingerprint == k.Fingerprint {
				dup = true
			}
		}
		if !dup {
			files = append(files, k)
		}
	}
	var agentKeys []ClientKey
	if o.AgentSocket != "" {
		ks.AgentSocket = o.AgentSocket
		var err error
		agentKeys, err = listAgent(o.AgentSocket, o.Timeout)
		if err != nil {
			ks.AgentErr = err.Error()
		}
	}
	used := map[string]bool{}
	for _, ak := range agentKeys {
		match := -1
		for i, f := range files {
			if f.Fingerprint == ak.Fingerprint {
				match = i
			}
		}
		switch {
		case match >= 0:
			k := files[match]
			k.InAgent = true
			ks.Keys = append(ks.Keys, k)
			used[k.Fingerprint] = true
		case !o.IdentitiesOnly:
			ks.Keys = append(ks.Keys, ak)
			used[ak.Fingerprint] = true
		}
	}
	for _, f := range files {
		if !used[f.Fingerprint] {
			ks.Keys = append(ks.Keys, f)
		}
	}
	return ks
}

func listAgent(sock string, timeout time.Duration) ([]ClientKey, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return nil, fmt.Errorf("probe: cannot reach the agent: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	list, err := agent.NewClient(c).List()
	if err != nil {
		return nil, fmt.Errorf("probe: agent: %w", err)
	}
	var out []ClientKey
	for _, k := range list {
		pk, err := ssh.ParsePublicKey(k.Marshal())
		if err != nil {
			continue
		}
		out = append(out, ClientKey{Source: "agent", PubFrom: "agent", Type: pk.Type(),
			Fingerprint: ssh.FingerprintSHA256(pk), Comment: k.Comment, Key: pk, InAgent: true})
	}
	return out, nil
}

// loadIdentityFile reads the public half of an identity file, never the
// private half: from path.pub, else from the clear-text header of an
// OpenSSH-format private key.
func loadIdentityFile(path string) (ClientKey, error) {
	k := ClientKey{Source: "file", Path: path}
	st, privErr := os.Stat(path)
	if privErr == nil {
		k.Mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			k.Owner = int(sys.Uid)
		}
		// ssh's sshkey_perm_ok: a key owned by us must not be accessible to
		// group or others.
		k.BadPerms = k.Owner == os.Getuid() && k.Mode&0o077 != 0
	}
	if data, err := os.ReadFile(path + ".pub"); err == nil {
		pk, comment, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return k, fmt.Errorf("cannot parse %s.pub: %w", path, err)
		}
		if privErr != nil {
			// ssh wants the private key file too unless the agent has it;
			// LoadKeys pairs it with the agent's copy.
			if !errors.Is(privErr, os.ErrNotExist) {
				return k, privErr
			}
		}
		k.PubFrom, k.Key, k.Comment = path+".pub", pk, comment
		k.Type, k.Fingerprint = pk.Type(), ssh.FingerprintSHA256(pk)
		return k, nil
	}
	if privErr != nil {
		return k, privErr
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return k, err
	}
	// IdentityFile may name a public key itself (ssh then asks the agent
	// for the matching private key): that is how one agent key is picked.
	if pk, comment, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		k.PubFrom, k.Key, k.Comment = path, pk, comment
		k.Type, k.Fingerprint = pk.Type(), ssh.FingerprintSHA256(pk)
		k.Mode, k.BadPerms = 0, false // no private key file to protect
		return k, nil
	}
	pk, err := OpenSSHPublicPart(data)
	if err != nil {
		return k, fmt.Errorf("no %s.pub and %w", path, err)
	}
	k.PubFrom, k.Key = path, pk
	k.Type, k.Fingerprint = pk.Type(), ssh.FingerprintSHA256(pk)
	return k, nil
}

// OpenSSHPublicPart returns the public key stored in clear text at the head
// of an "OPENSSH PRIVATE KEY" file, without decrypting or reading the
// private section.
func OpenSSHPublicPart(pemBytes []byte) (ssh.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("the file is not a PEM key")
	}
	if block.Type != "OPENSSH PRIVATE KEY" {
		return nil, fmt.Errorf("a %s file holds no clear-text public key (sshdoctor reads public keys only)", strings.ToLower(block.Type))
	}
	b := block.Bytes
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errors.New("bad openssh-key-v1 magic")
	}
	b = b[len(magic):]
	for range 3 { // ciphername, kdfname, kdfoptions
		var ok bool
		if _, b, ok = sshString(b); !ok {
			return nil, errors.New("truncated openssh-key-v1 header")
		}
	}
	if len(b) < 4 {
		return nil, errors.New("truncated openssh-key-v1 header")
	}
	if n := binary.BigEndian.Uint32(b); n < 1 {
		return nil, errors.New("openssh-key-v1 file holds no key")
	}
	pub, _, ok := sshString(b[4:])
	if !ok {
		return nil, errors.New("truncated openssh-key-v1 public key")
	}
	return ssh.ParsePublicKey(pub)
}

func sshString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
