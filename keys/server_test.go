package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/sshdoctor/sshdoctor/dest"
)

// testServer is an SSH server written with x/crypto/ssh on loopback. It
// authorizes keys from an authorized_keys file (read on every attempt, as
// sshd does) and one password, and runs exec requests under sh with HOME
// set to a temporary directory: enough to drive the keys workflow end to
// end without root. The lab scenarios (internal/scenarios/keys_test.go) do
// the same against a real OpenSSH sshd.
type testServer struct {
	t        *testing.T
	port     int
	hostKey  ssh.Signer
	home     string // the account's HOME for exec requests
	authFile string // the authorized_keys file the server consults
	password string // "" means no password logins

	mu       sync.Mutex
	attempts int // authentication attempts (queries included)
}

func startServer(t *testing.T, authFile, password string) *testServer {
	t.Helper()
	home := t.TempDir()
	if authFile == "" {
		authFile = filepath.Join(home, ".ssh", "authorized_keys")
	}
	s := &testServer{t: t, home: home, authFile: authFile, password: password}
	hk, err := Generate(NewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.hostKey = hk.Signer
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.count()
			data, _ := os.ReadFile(s.authFile)
			if len(FindKey(data, key)) > 0 {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("not authorized")
		},
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.count()
			if s.password != "" && string(pw) == s.password {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	if password == "" {
		cfg.PasswordCallback = nil
	}
	cfg.AddHostKey(s.hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *testServer) count() {
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
}

func (s *testServer) authAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

func (s *testServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				if req.Type != "exec" || len(req.Payload) < 4 {
					// Agent forwarding must never be asked for.
					if req.Type == "auth-agent-req@openssh.com" {
						s.t.Error("the client asked for agent forwarding")
					}
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				cmd := exec.Command("sh", "-c", string(req.Payload[4:]))
				cmd.Env = []string{"HOME=" + s.home, "PATH=/usr/bin:/bin", "LANG=C"}
				cmd.Dir = s.home
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := 0
				if err := cmd.Run(); err != nil {
					status = 255
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						status = ee.ExitCode()
					}
				}
				b := make([]byte, 4)
				binary.BigEndian.PutUint32(b, uint32(status))
				ch.SendRequest("exit-status", false, b)
				return
			}
		}()
	}
}

// target is the server as a resolved destination, as dest.Resolve would
// give it for tester@127.0.0.1 -p PORT.
func (s *testServer) target(ids ...string) *dest.Resolved {
	return &dest.Resolved{
		Dest:  dest.Dest{Input: "tester@127.0.0.1"},
		Alias: "127.0.0.1", HostName: "127.0.0.1", Port: s.port, User: "tester",
		IdentityFiles: ids, AddressFamily: "any",
		PubkeyAuthentication: true, PasswordAuthentication: true, KbdInteractiveAuthentication: true,
		Raw: dest.Config{},
	}
}

// knownHosts writes a known_hosts file that knows the server's key.
func (s *testServer) knownHosts(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "known_hosts")
	line := "[127.0.0.1]:" + strconv.Itoa(s.port) + " " + string(ssh.MarshalAuthorizedKey(s.hostKey.PublicKey()))
	if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// authorize writes the server's authorized_keys.
func (s *testServer) authorize(t *testing.T, content string) {
	if err := os.MkdirAll(filepath.Dir(s.authFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.authFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *testServer) authorized(t *testing.T) string {
	b, err := os.ReadFile(s.authFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// keyFile writes a fresh key pair in dir and returns it.
func keyFile(t *testing.T, dir, name string, passphrase string) (*Pair, string) {
	t.Helper()
	p, err := Generate(NewOptions{Comment: name, Passphrase: []byte(passphrase)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := p.WriteFiles(path); err != nil {
		t.Fatal(err)
	}
	return p, path
}

// fakePrompt answers prompts from a script and records them.
type fakePrompt struct {
	answers []string
	asked   []string
	said    []string
}

func (f *fakePrompt) next(p string) (string, error) {
	f.asked = append(f.asked, p)
	if len(f.answers) == 0 {
		return "", fmt.Errorf("unexpected prompt %q", p)
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

func (f *fakePrompt) Secret(p string) ([]byte, error) {
	a, err := f.next(p)
	return []byte(a), err
}

func (f *fakePrompt) Line(p string) (string, error) { return f.next(p) }
func (f *fakePrompt) Say(m string)                  { f.said = append(f.said, m) }

// serveAgent runs an in-memory ssh-agent on a unix socket holding keys.
func serveAgent(t *testing.T, keys ...*Pair) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		// The agent needs the raw private key: generate one it can hold.
		if err := kr.Add(agent.AddedKey{PrivateKey: rawKey(t, k), Comment: k.Comment}); err != nil {
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
				agent.ServeAgent(kr, c)
			}()
		}
	}()
	return sock
}

// rawKey parses the pair's private key file contents back to a crypto key.
func rawKey(t *testing.T, p *Pair) any {
	t.Helper()
	if p.Encrypted {
		t.Fatal("rawKey needs an unencrypted pair")
	}
	k, err := ssh.ParseRawPrivateKey(p.privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
