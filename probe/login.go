package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// LoginOptions configures a real login (--login).
type LoginOptions struct {
	User    string
	Key     ClientKey
	Timeout time.Duration
	// AgentSocket is used when the agent holds Key; empty means no agent.
	AgentSocket string
	// HostKey pins the host key seen by the probe, so the login goes to the
	// same server.
	HostKey *PresentedKey
	// Dial opens the TCP connection.
	Dial func(ctx context.Context) (net.Conn, error)
}

// Login logs in for real with one key and runs `true`. It is the only place
// sshdoctor signs anything, and it never asks for a passphrase and never
// forwards the agent.
func Login(ctx context.Context, o LoginOptions) *LoginFacts {
	lf := &LoginFacts{Key: o.Key.String()}
	signer, err := loginSigner(o)
	if err != nil {
		lf.Err = err.Error()
		return lf
	}
	conn, err := o.Dial(ctx)
	if err != nil {
		lf.Err = "connecting: " + err.Error()
		return lf
	}
	defer conn.Close()
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	_ = conn.SetDeadline(time.Now().Add(3 * timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	cfg := &ssh.ClientConfig{
		User:          o.User,
		ClientVersion: ClientIdent,
		Auth:          []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if o.HostKey != nil && !bytes.Equal(key.Marshal(), o.HostKey.Key.Marshal()) {
				return errors.New("the host key changed between the probe and the login")
			}
			return nil
		},
	}
	if o.HostKey != nil {
		cfg.HostKeyAlgorithms = []string{o.HostKey.Type}
		if o.HostKey.Type == ssh.KeyAlgoRSA {
			cfg.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, conn.RemoteAddr().String(), cfg)
	if err != nil {
		lf.Err = err.Error()
		return lf
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		lf.Err = "opening a session: " + err.Error()
		return lf
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	if err := sess.Run("true"); err != nil {
		msg := err.Error()
		if s := bytes.TrimSpace(stderr.Bytes()); len(s) > 0 {
			msg += ": " + string(s[:min(len(s), 200)])
		}
		lf.Err = "running true: " + msg
		return lf
	}
	lf.OK = true
	return lf
}

func loginSigner(o LoginOptions) (ssh.Signer, error) {
	if o.Key.InAgent && o.AgentSocket != "" {
		c, err := net.DialTimeout("unix", o.AgentSocket, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("reaching the agent: %w", err)
		}
		signers, err := agent.NewClient(c).Signers()
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		for _, s := range signers {
			if ssh.FingerprintSHA256(s.PublicKey()) == o.Key.Fingerprint {
				return s, nil
			}
		}
	}
	if o.Key.Path == "" {
		return nil, errors.New("the key is no longer in the agent")
	}
	if o.Key.BadPerms {
		return nil, fmt.Errorf("%s is readable by others; ssh would refuse it, so sshdoctor does too", o.Key.Path)
	}
	data, err := os.ReadFile(o.Key.Path)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(data)
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, fmt.Errorf("%s is protected by a passphrase and not in the agent; sshdoctor never asks for passphrases: run ssh-add %s first", o.Key.Path, o.Key.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", o.Key.Path, err)
	}
	return s, nil
}
