//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHDPath is the sshd that StartSSHD runs. It must be absolute: sshd
// re-executes itself for every connection.
var SSHDPath = "/usr/sbin/sshd"

// SSHDStartTimeout bounds how long StartSSHD waits for sshd to listen.
var SSHDStartTimeout = 15 * time.Second

// SSHDOptions configures StartSSHD. The zero value gives an sshd on port 22
// with all three host key types that lets root in with a key.
type SSHDOptions struct {
	Port int // port to listen on; 0 means 22

	// Extra are sshd_config lines placed before the lab's defaults. sshd
	// keeps the first value it reads for most keywords, so these override
	// the defaults; for keywords that add up (Port, ListenAddress, HostKey)
	// both apply.
	Extra []string

	// Match are lines appended at the very end, where Match blocks must go.
	Match []string

	// HostKeyTypes are the host key types to give sshd: "ed25519", "ecdsa",
	// "rsa". Empty means all three. The keys are generated once per test
	// binary, so every sshd of a run has the same key of a type.
	HostKeyTypes []string

	// AuthorizedKeys are the lines of the login user's authorized_keys;
	// empty leaves the file empty.
	AuthorizedKeys []string

	// Env is added to sshd's environment.
	Env []string
}

// SSHD is a real OpenSSH sshd running inside a host.
type SSHD struct {
	Host               *Host                    // where it runs
	Port               int                      // the port from SSHDOptions (22 if it was 0)
	Dir                string                   // its private directory: config, host keys, authorized_keys, pid file
	ConfigPath         string                   // its sshd_config
	AuthorizedKeysPath string                   // the login user's authorized_keys, which tests may rewrite
	HostKeys           map[string]ssh.PublicKey // its host keys by type ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa")
	User               string                   // the user to log in as: "root" (see StartSSHD)
	Proc               *Proc                    // the sshd process
	Log                func() string            // what sshd has logged so far (it runs with -e, logging to stderr)
}

// StartSSHD runs `sshd -D -e -f CONFIG` inside the host and returns once
// sshd has bound its listening sockets (it writes its PidFile only then). It
// fails the test, with sshd's log, if sshd exits or does not get there.
//
// The lab never creates users on the test machine, so the login user is
// root, authorized through a file of the lab's own: AuthorizedKeysFile is an
// absolute path in a directory under RunDir, PermitRootLogin is
// prohibit-password, and StrictModes stays on (every directory on the path
// is root-owned and not group- or world-writable, which StrictModes checks).
// UsePAM is off and password logins are off.
func (h *Host) StartSSHD(t testing.TB, o SSHDOptions) *SSHD {
	t.Helper()
	Require(t, SSHDPath)
	if err := ensurePrivsepDir(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	if o.Port == 0 {
		o.Port = 22
	}
	types := o.HostKeyTypes
	if len(types) == 0 {
		types = []string{"ed25519", "ecdsa", "rsa"}
	}
	dir := trustedDir(t)
	s := &SSHD{
		Host:               h,
		Port:               o.Port,
		Dir:                dir,
		ConfigPath:         filepath.Join(dir, "sshd_config"),
		AuthorizedKeysPath: filepath.Join(dir, "authorized_keys"),
		HostKeys:           map[string]ssh.PublicKey{},
		User:               "root",
	}
	var hostKeyLines []string
	for _, typ := range types {
		typ = shortKeyType(typ)
		k, err := cachedHostKey(typ)
		if err != nil {
			t.Fatalf("lab: %v", err)
		}
		p := filepath.Join(dir, "ssh_host_"+typ+"_key")
		if err := writeFileMode(p, k.pem, 0o600); err != nil {
			t.Fatalf("lab: %v", err)
		}
		if err := writeFileMode(p+".pub", ssh.MarshalAuthorizedKey(k.pub), 0o644); err != nil {
			t.Fatalf("lab: %v", err)
		}
		s.HostKeys[k.pub.Type()] = k.pub
		hostKeyLines = append(hostKeyLines, "HostKey "+p)
	}
	if err := writeFileMode(s.AuthorizedKeysPath, []byte(joinLines(o.AuthorizedKeys)), 0o600); err != nil {
		t.Fatalf("lab: %v", err)
	}
	pidFile := filepath.Join(dir, "sshd.pid")
	var cfg strings.Builder
	cfg.WriteString("# Written by sshdoctor's test lab (internal/lab).\n")
	cfg.WriteString(joinLines(o.Extra))
	cfg.WriteString("# Lab defaults. Lines above win: sshd keeps the first value of a keyword.\n")
	cfg.WriteString(joinLines(append([]string{
		"Port " + strconv.Itoa(o.Port),
		"PidFile " + pidFile,
		"AuthorizedKeysFile " + s.AuthorizedKeysPath,
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"LogLevel VERBOSE",
		// Debian's bash reads ~/.bashrc for ssh commands when SHLVL is
		// unset; root's .bashrc on the test machine is not the lab's
		// business (on this one it takes a second).
		"SetEnv SHLVL=1",
	}, hostKeyLines...)))
	cfg.WriteString(joinLines(o.Match))
	if err := writeFileMode(s.ConfigPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatalf("lab: %v", err)
	}

	cmd := h.Command(context.Background(), SSHDPath, "-D", "-e", "-f", s.ConfigPath)
	cmd.Env = append(os.Environ(), o.Env...)
	s.Proc = startProc(t, cmd)
	s.Log = s.Proc.Output

	deadline := time.Now().Add(SSHDStartTimeout)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			return s
		}
		if s.Proc.Exited() {
			t.Fatalf("lab: sshd in %s exited: %v\nconfig %s:\n%s\nlog:\n%s", h.Name, s.Proc.Err(), s.ConfigPath, cfg.String(), s.Log())
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab: sshd in %s not listening after %s\nlog:\n%s", h.Name, SSHDStartTimeout, s.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ensurePrivsepDir creates /run/sshd, sshd's privilege separation directory,
// which the openssh-server package normally leaves to its service unit.
// Creating it does not change how anything else on the machine behaves.
func ensurePrivsepDir() error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("lab: sshd privilege separation directory: %w", err)
	}
	return nil
}

// Login logs in to this sshd with the real OpenSSH client (see the package
// function Login), from the client host of the sshd's topology to the
// server's IPv4 address. nil means the login succeeded.
func (s *SSHD) Login(t testing.TB, key *Key, args ...string) error {
	t.Helper()
	from := s.Host.client
	if from == nil {
		from = s.Host
	}
	return Login(t, from, s.Host.Addr4, s.Port, key, args...)
}

// SSHError is a failed run of the ssh client: its exit status and output.
type SSHError struct {
	Args     []string // the ssh command line
	ExitCode int      // ssh's exit status; -1 if it was killed after CommandTimeout
	Output   string   // ssh's stdout and stderr, e.g. "ssh: connect to host 10.1.2.2 port 22: Connection refused"
}

// Error gives ssh's exit status and what it printed, which is what tests
// match ("Connection refused", "Permission denied (publickey)").
func (e *SSHError) Error() string {
	return fmt.Sprintf("lab: ssh exited with status %d: %s", e.ExitCode, strings.TrimSpace(e.Output))
}

// Login runs the real OpenSSH client in host from,
//
//	ssh -F none ARGS -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ... -i KEY -p PORT root@ADDR true
//
// and returns nil if the login worked, or an *SSHError with ssh's output.
// ARGS come first so that they override the lab's -o options (ssh keeps the
// first value of each). The client sees no agent and a fresh empty HOME,
// and uses only key (none if key is nil).
func Login(t testing.TB, from *Host, addr netip.Addr, port int, key *Key, args ...string) error {
	t.Helper()
	Require(t, "ssh")
	argv := append([]string{"-F", "none"}, args...)
	argv = append(argv,
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR",
	)
	if key != nil {
		argv = append(argv, "-i", key.PrivPath)
	}
	argv = append(argv, "-p", strconv.Itoa(port), "root@"+addr.String(), "true")

	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := from.Command(ctx, "ssh", argv...)
	cmd.Env = cleanEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("lab: running ssh in %s: %v", from.Name, err)
	}
	code := exitErr.ExitCode()
	if ctx.Err() != nil {
		code = -1
		out = append(out, fmt.Sprintf("\n(lab: killed after %s)", CommandTimeout)...)
	}
	return &SSHError{Args: append([]string{"ssh"}, argv...), ExitCode: code, Output: string(out)}
}

// cleanEnv is the environment of client programs the lab runs: no agent, no
// inherited ssh or locale settings, a HOME of the test's own.
func cleanEnv(home string) []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home,
		"LANG=C",
		"NO_COLOR=1",
	}
}

// joinLines joins lines with a newline after each.
func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
