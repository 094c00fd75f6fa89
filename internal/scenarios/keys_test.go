package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/sshdoctor/sshdoctor/internal/lab"
	"github.com/sshdoctor/sshdoctor/keys"
)

// The key workflow, proven against a real OpenSSH sshd: the real ssh client
// fails with a key, `sshdoctor keys install|rotate` runs, and the real ssh
// client then logs in with it (or, for the retired key, no longer does).
//
// The lab sshd runs as root on this machine's file system, so every keys
// command here names the lab's own authorized_keys with
// --authorized-keys-file, and guardRootKeys fails the test if root's real
// ~/.ssh/authorized_keys changed anyway.

// keysDoc is the JSON document of the keys commands.
type keysDoc struct {
	Schema  string `json:"schema"`
	Command string `json:"command"`
	keys.Result
}

// runKeys runs `sshdoctor keys ARGS --json` in h (on this machine's own
// network when h is nil), in a session of its own (no controlling terminal,
// so nothing can be asked), with HOME=home.
func runKeys(t *testing.T, h *lab.Host, home string, env []string, args ...string) (*keysDoc, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	argv := append(append([]string{"keys"}, args...), "--json")
	var cmd *exec.Cmd
	if h != nil {
		cmd = h.Command(ctx, lab.Tool(t), argv...)
		cmd.SysProcAttr.Setsid = true
	} else {
		cmd = exec.CommandContext(ctx, lab.Tool(t), argv...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "LANG=C", "NO_COLOR=1"}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code := exitCode(t, cmd.Run(), errOut.String())
	return decodeKeys(t, out.String(), errOut.String()), errOut.String(), code
}

func exitCode(t *testing.T, err error, stderr string) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode()
	}
	t.Fatalf("running sshdoctor: %v\n%s", err, stderr)
	return -1
}

func decodeKeys(t *testing.T, stdout, stderr string) *keysDoc {
	t.Helper()
	var d keysDoc
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if d.Schema != "sshdoctor/v1" || d.Command != "keys" {
		t.Fatalf("schema/command = %q/%q", d.Schema, d.Command)
	}
	return &d
}

// guardRootKeys fails the test if root's own authorized_keys files change:
// the lab's sshd is a root process on this machine, so a keys command that
// forgot --authorized-keys-file would write there.
func guardRootKeys(t *testing.T) {
	t.Helper()
	files := []string{"/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2"}
	snap := func() string {
		var b strings.Builder
		for _, f := range files {
			data, err := os.ReadFile(f)
			fmt.Fprintf(&b, "%s %v %q\n", f, os.IsNotExist(err), data)
		}
		return b.String()
	}
	before := snap()
	t.Cleanup(func() {
		if after := snap(); after != before {
			t.Errorf("root's own authorized_keys changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// knownHostsFor writes a known_hosts file holding the lab sshd's keys for
// addr.
func knownHostsFor(t *testing.T, addr netip.Addr, hostKeys map[string]ssh.PublicKey) string {
	t.Helper()
	var b strings.Builder
	for _, k := range hostKeys {
		b.WriteString(addr.String() + " " + string(ssh.MarshalAuthorizedKey(k)))
	}
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// newKey runs `sshdoctor keys new` into home and returns the key for the
// real ssh client.
func newKey(t *testing.T, home, name string) *lab.Key {
	t.Helper()
	path := filepath.Join(home, ".ssh", name)
	d, stderr, code := runKeys(t, nil, home, nil, "new", "--file", path, "--comment", name)
	if code != 0 || !d.OK {
		t.Fatalf("keys new: exit %d %+v\n%s", code, d.Error, stderr)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return &lab.Key{PrivPath: path, PubPath: path + ".pub", AuthorizedLine: strings.TrimSpace(string(pub))}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKeysInstall(t *testing.T) {
	for _, via := range []string{"identity-file", "agent"} {
		t.Run(via, func(t *testing.T) {
			guardRootKeys(t)
			p := lab.NewPair(t)
			old := lab.NewUserKey(t, "ecdsa")
			s := p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{"# the lab's key", old.AuthorizedLine}})
			home := t.TempDir()
			nk := newKey(t, home, "id_new")
			kh := knownHostsFor(t, p.Server.Addr4, s.HostKeys)
			dest := "root@" + p.Server.Addr4.String()
			args := []string{"install", "-F", "none", "--known-hosts", kh, "--key", nk.PubPath, "--authorized-keys-file", s.AuthorizedKeysPath, dest}
			var env []string
			if via == "identity-file" {
				args = append(args, "-i", old.PrivPath)
			} else {
				env = append(env, "SSH_AUTH_SOCK="+startAgent(t, p.Client, old))
			}

			// Before: the real ssh cannot log in with the new key.
			if err := s.Login(t, nk); err == nil || !strings.Contains(err.Error(), "Permission denied") {
				t.Fatalf("before install, ssh with the new key: %v", err)
			}
			before := readFile(t, s.AuthorizedKeysPath)
			d, stderr, code := runKeys(t, p.Client, home, env, args...)
			if code != 0 || !d.OK {
				t.Fatalf("keys install: exit %d %+v\n%s\nsteps %+v", code, d.Error, stderr, d.Steps)
			}
			if d.Verified != "login" || d.AlreadyInstalled || d.AuthorizedKeys != s.AuthorizedKeysPath {
				t.Errorf("verified %q already %v file %q", d.Verified, d.AlreadyInstalled, d.AuthorizedKeys)
			}
			wantSource := map[string]string{"identity-file": "file", "agent": "agent"}[via]
			if d.Login == nil || d.Login.Method != "publickey" || d.Login.Key == nil || d.Login.Key.Source != wantSource ||
				d.Login.Key.Fingerprint != ssh.FingerprintSHA256(old.Public) {
				t.Errorf("login = %+v, want publickey with the old key from %s", d.Login, wantSource)
			}
			// After: the real ssh logs in with the new key; the file gained
			// exactly one line.
			if err := s.Login(t, nk); err != nil {
				t.Fatalf("after install, ssh with the new key: %v", err)
			}
			after := readFile(t, s.AuthorizedKeysPath)
			if after != before+nk.AuthorizedLine+"\n" {
				t.Errorf("authorized_keys:\n%q\nwant\n%q", after, before+nk.AuthorizedLine+"\n")
			}
			if st, _ := os.Stat(s.AuthorizedKeysPath); st.Mode().Perm() != 0o600 {
				t.Errorf("mode %04o", st.Mode().Perm())
			}

			// Again: no duplicate, nothing written, still verified.
			d, stderr, code = runKeys(t, p.Client, home, env, args...)
			if code != 0 || !d.OK || !d.AlreadyInstalled || d.Verified != "login" {
				t.Fatalf("second install: exit %d ok %v already %v %+v\n%s", code, d.OK, d.AlreadyInstalled, d.Error, stderr)
			}
			if again := readFile(t, s.AuthorizedKeysPath); again != after {
				t.Errorf("the second install changed the file:\n%q", again)
			}
		})
	}
}

// startAgent runs a real ssh-agent holding key and returns its socket.
func startAgent(t *testing.T, h *lab.Host, key *lab.Key) string {
	t.Helper()
	lab.Require(t, "ssh-agent", "ssh-add")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	proc := h.Start(t, "ssh-agent", "-D", "-a", sock)
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if proc.Exited() || i > 500 {
			t.Fatalf("ssh-agent did not start: %s", proc.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd := exec.Command("ssh-add", key.PrivPath)
	cmd.Env = []string{"SSH_AUTH_SOCK=" + sock, "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	return sock
}

func TestKeysRotate(t *testing.T) {
	guardRootKeys(t)
	p := lab.NewPair(t)
	old := lab.NewUserKey(t, "ed25519")
	colleague := lab.NewUserKey(t, "rsa")
	restricted := `from="` + p.Client.Addr4.String() + `",no-agent-forwarding ` + colleague.AuthorizedLine
	s := p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{"# team", restricted, old.AuthorizedLine, "", "# end"}})
	home := t.TempDir()
	kh := knownHostsFor(t, p.Server.Addr4, s.HostKeys)
	cfg := filepath.Join(home, ".ssh", "config")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	cfgText := fmt.Sprintf("# my hosts\nHost lab\n    HostName %s\n    User root\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n",
		p.Server.Addr4, old.PrivPath, kh)
	if err := os.WriteFile(cfg, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	// The real ssh, with this configuration, gets in with the old key.
	if err := sshWithConfig(t, p.Client, home, cfg, "lab"); err != nil {
		t.Fatalf("before rotate, ssh -F %s lab: %v", cfg, err)
	}

	d, stderr, code := runKeys(t, p.Client, home, nil, "rotate", "-F", cfg, "--authorized-keys-file", s.AuthorizedKeysPath, "lab")
	if code != 0 || !d.OK {
		t.Fatalf("keys rotate: exit %d %+v\n%s\nsteps %+v", code, d.Error, stderr, d.Steps)
	}
	if d.OldKey == nil || d.OldKey.Fingerprint != ssh.FingerprintSHA256(old.Public) || !d.OldKeyRefused || len(d.Removed) != 1 || d.Removed[0].Line != 3 {
		t.Errorf("old key %+v refused %v removed %+v", d.OldKey, d.OldKeyRefused, d.Removed)
	}
	newPath := d.Key.File
	nk := &lab.Key{PrivPath: newPath}
	pub := strings.TrimSpace(readFile(t, newPath+".pub"))

	// The proof: the old key is refused, the new key gets in, and so does
	// plain `ssh lab` through the updated configuration.
	if err := s.Login(t, old); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("after rotate, ssh with the old key: %v (want Permission denied)", err)
	}
	if err := s.Login(t, nk); err != nil {
		t.Errorf("after rotate, ssh with the new key: %v", err)
	}
	if err := sshWithConfig(t, p.Client, home, cfg, "lab"); err != nil {
		t.Errorf("after rotate, ssh -F %s lab: %v", cfg, err)
	}
	// authorized_keys: only the old key's line is gone, every other byte kept.
	want := "# team\n" + restricted + "\n\n# end\n" + pub + "\n"
	if got := readFile(t, s.AuthorizedKeysPath); got != want {
		t.Errorf("authorized_keys:\n%q\nwant\n%q", got, want)
	}
	// The configuration names the new key instead of the old one.
	wantCfg := strings.Replace(cfgText, "    IdentityFile "+old.PrivPath+"\n", "", 1)
	wantCfg = strings.Replace(wantCfg, "Host lab\n", "Host lab\n    IdentityFile "+newPath+"\n", 1)
	if got := readFile(t, cfg); got != wantCfg {
		t.Errorf("config:\n%s\nwant\n%s", got, wantCfg)
	}
	// The old private key is kept (other servers may take it), and said so.
	if _, err := os.Stat(old.PrivPath); err != nil {
		t.Errorf("old private key: %v", err)
	}
	for f, mode := range map[string]os.FileMode{newPath: 0o600, newPath + ".pub": 0o644} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, want %04o", f, err, mode)
		}
	}
}

// sshWithConfig runs the real `ssh -F cfg -o BatchMode=yes HOST true` in h
// with HOME=home and no agent.
func sshWithConfig(t *testing.T, h *lab.Host, home, cfg, host string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	cmd := h.Command(ctx, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10", host, "true")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func TestKeysRefuseChangedHostKey(t *testing.T) {
	guardRootKeys(t)
	p := lab.NewPair(t)
	old := lab.NewUserKey(t, "ed25519")
	s := p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{old.AuthorizedLine}})
	home := t.TempDir()
	nk := newKey(t, home, "id_new")
	// known_hosts records other keys for the address: a changed host key.
	impostor := map[string]ssh.PublicKey{}
	for typ := range s.HostKeys {
		impostor[typ] = lab.NewUserKey(t, typ).Public
	}
	kh := knownHostsFor(t, p.Server.Addr4, impostor)
	before := readFile(t, s.AuthorizedKeysPath)
	for _, action := range []string{"install", "rotate"} {
		args := []string{action, "-F", "none", "--known-hosts", kh, "-i", old.PrivPath, "--authorized-keys-file", s.AuthorizedKeysPath, "root@" + p.Server.Addr4.String()}
		if action == "install" {
			args = append(args, "--key", nk.PubPath)
		}
		d, stderr, code := runKeys(t, p.Client, home, nil, args...)
		if code != 1 || d.OK || d.Error == nil || d.Error.Reason != "hostkey-refused" {
			t.Fatalf("%s: exit %d error %+v\n%s", action, code, d.Error, stderr)
		}
		if len(d.Findings) != 1 || d.Findings[0].Code != "hostkey.changed" {
			t.Errorf("%s: findings %+v", action, d.Findings)
		}
	}
	if after := readFile(t, s.AuthorizedKeysPath); after != before {
		t.Errorf("authorized_keys changed:\n%q", after)
	}
	// Nothing reached authentication: sshd saw no key and no login.
	log := s.Log()
	for _, bad := range []string{"Accepted", "Failed", "Postponed", "publickey"} {
		if strings.Contains(log, bad) {
			t.Errorf("sshd logged %q, so something was sent after the host key:\n%s", bad, log)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(home, ".ssh", "id_ed25519_*")); len(entries) != 0 {
		t.Errorf("rotate made a key before refusing: %v", entries)
	}
}

func TestKeysInstallWithPasswordAtTerminal(t *testing.T) {
	lab.Require(t, "ssh")
	s := bootServer(t, nil)
	const user, password = "alice", "correct-horse-battery-staple"
	s.C.Run(t, "useradd", "-m", "-s", "/bin/bash", user)
	s.C.Run(t, "sh", "-c", "echo '"+user+":"+password+"' | chpasswd")
	home := t.TempDir()
	nk := newKey(t, home, "id_alice")
	kh := filepath.Join(home, ".ssh", "known_hosts") // does not exist: the host key is unknown
	addr := s.Server.Addr4.String()

	if err := loginAs(t, s.Client, user, s.Server.Addr4, nk); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("before install, ssh as %s with the new key: %v", user, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	cmd := s.Client.Command(ctx, lab.Tool(t), "keys", "install", "--json", "-F", "none", "--known-hosts", kh, "--key", nk.PubPath, user+"@"+addr)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C", "NO_COLOR=1"}
	term := startOnTerminal(t, cmd)
	// The unknown host key is shown and accepted at the terminal, as in ssh.
	shown := term.expect(t, "(yes/no/[fingerprint])? ")
	fp := ""
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		b, err := os.ReadFile(s.C.Path("/etc/ssh/ssh_host_" + typ + "_key.pub"))
		if err != nil {
			continue
		}
		k, _, _, _, _ := ssh.ParseAuthorizedKey(b)
		if f := ssh.FingerprintSHA256(k); strings.Contains(shown, f) {
			fp = f
		}
	}
	if fp == "" {
		t.Fatalf("the terminal did not show a host key fingerprint of the server:\n%s", shown)
	}
	term.send(t, "yes\n")
	term.expect(t, user+"@"+addr+"'s password: ")
	term.waitNoEcho(t)
	term.send(t, password+"\n")
	code := term.wait(t)
	d := decodeKeys(t, term.stdout.String(), term.stderr.String())
	if code != 0 || !d.OK {
		t.Fatalf("keys install: exit %d %+v\nterminal:\n%s\nstderr:\n%s", code, d.Error, term.output(), term.stderr.String())
	}
	if d.Login.Method != "password" || d.Verified != "login" || d.AuthorizedKeys != "/home/"+user+"/.ssh/authorized_keys" {
		t.Errorf("login %+v verified %q file %q", d.Login, d.Verified, d.AuthorizedKeys)
	}
	for where, text := range map[string]string{"stdout": term.stdout.String(), "stderr": term.stderr.String(), "terminal": term.output()} {
		if strings.Contains(text, password) {
			t.Errorf("the password appears on %s", where)
		}
	}
	// known_hosts now records the key that was accepted.
	if !strings.Contains(readFile(t, kh), addr+" ") {
		t.Errorf("known_hosts = %q", readFile(t, kh))
	}
	// The files are alice's, with the modes StrictModes wants.
	out := s.C.Run(t, "stat", "-c", "%n %U %a", "/home/"+user+"/.ssh", "/home/"+user+"/.ssh/authorized_keys")
	want := fmt.Sprintf("/home/%[1]s/.ssh %[1]s 700\n/home/%[1]s/.ssh/authorized_keys %[1]s 600\n", user)
	if out != want {
		t.Errorf("stat:\n%s\nwant\n%s", out, want)
	}
	if got := readFile(t, s.C.Path("/home/"+user+"/.ssh/authorized_keys")); got != nk.AuthorizedLine+"\n" {
		t.Errorf("authorized_keys = %q", got)
	}
	if err := loginAs(t, s.Client, user, s.Server.Addr4, nk); err != nil {
		t.Errorf("after install, ssh as %s with the new key: %v", user, err)
	}
}

// loginAs is lab.Login for a user other than root.
func loginAs(t *testing.T, from *lab.Host, user string, addr netip.Addr, key *lab.Key) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	cmd := from.Command(ctx, "ssh", "-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i", key.PrivPath, user+"@"+addr.String(), "true")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "LANG=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func TestKeysNewForHost(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "cfg")
	os.WriteFile(cfg, []byte("Host *\n    ServerAliveInterval 30\n"), 0o644)
	d, stderr, code := runKeys(t, nil, home, nil, "new", "--type", "ecdsa", "--host", "web1", "-F", cfg)
	if code != 0 || !d.OK {
		t.Fatalf("exit %d %+v\n%s", code, d.Error, stderr)
	}
	path := filepath.Join(home, ".ssh", "id_ecdsa")
	if d.Key.File != path || d.Key.Type != "ecdsa-sha2-nistp256" || d.Config == nil || !d.Config.Changed {
		t.Errorf("key %+v config %+v", d.Key, d.Config)
	}
	for f, mode := range map[string]os.FileMode{path: 0o600, path + ".pub": 0o644, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, want %04o", f, err, mode)
		}
	}
	// The Host block goes before Host *, where ssh reads it first.
	if got, want := readFile(t, cfg), "Host web1\n    IdentityFile "+path+"\n\nHost *\n    ServerAliveInterval 30\n"; got != want {
		t.Errorf("config:\n%s\nwant\n%s", got, want)
	}
	// A second run refuses to overwrite the key, and says so.
	d, _, code = runKeys(t, nil, home, nil, "new", "--type", "ecdsa")
	if code != 1 || d.OK || d.Error == nil || !strings.Contains(d.Error.Message, "already exists") {
		t.Errorf("second run: exit %d %+v", code, d.Error)
	}
}

func TestKeysNewPassphraseAtTerminal(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "k", "id_ed25519")
	const pass = "tty passphrase"
	cmd := exec.Command(lab.Tool(t), "keys", "new", "--json", "--passphrase", "--file", path)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C"}
	term := startOnTerminal(t, cmd)
	term.expect(t, "Enter passphrase: ")
	term.waitNoEcho(t)
	term.send(t, pass+"\n")
	term.expect(t, "Enter same passphrase again: ")
	term.waitNoEcho(t)
	term.send(t, pass+"\n")
	if code := term.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, term.stdout.String(), term.stderr.String())
	}
	d := decodeKeys(t, term.stdout.String(), term.stderr.String())
	if !d.OK || !d.Key.Encrypted {
		t.Errorf("%+v", d.Key)
	}
	if strings.Contains(term.output()+term.stdout.String(), pass) {
		t.Error("the passphrase was echoed or printed")
	}
	lab.Require(t, "ssh-keygen")
	if out, err := exec.Command("ssh-keygen", "-y", "-P", pass, "-f", path).CombinedOutput(); err != nil {
		t.Errorf("ssh-keygen -y -P: %v\n%s", err, out)
	}
	if out, err := exec.Command("ssh-keygen", "-y", "-P", "", "-f", path).CombinedOutput(); err == nil {
		t.Errorf("the key opens without its passphrase: %s", out)
	}
}

// terminal is a process with a real pseudo-terminal as its controlling
// terminal (/dev/ptmx, opened and unlocked here: the module has no pty
// package), its stdout and stderr kept apart in buffers.
type terminal struct {
	cmd            *exec.Cmd
	master         *os.File
	mu             sync.Mutex
	tty            bytes.Buffer // what was written to the terminal
	seen           int          // how much of tty expect has consumed
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

func startOnTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminals here: %v (CI=true, so this is a failure)", err)
		}
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{cmd: cmd, master: master, done: make(chan struct{})}
	cmd.Stdin = slave
	cmd.Stdout, cmd.Stderr = &term.stdout, &term.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.tty.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.tty.String()
}

// expect waits for s on the terminal after what was consumed, and returns
// the text up to and including it. The deadline only stops a hung test.
func (term *terminal) expect(t *testing.T, s string) string {
	t.Helper()
	deadline := time.Now().Add(lab.CommandTimeout)
	for {
		term.mu.Lock()
		all := term.tty.String()
		term.mu.Unlock()
		if i := strings.Index(all[term.seen:], s); i >= 0 {
			got := all[term.seen : term.seen+i+len(s)]
			term.seen += i + len(s)
			return got
		}
		select {
		case <-term.done:
			t.Fatalf("the program ended before it wrote %q on the terminal:\n%s\nstdout:\n%s\nstderr:\n%s", s, all, term.stdout.String(), term.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal:\n%s", s, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitNoEcho waits until the program has turned echo off: the terminal's
// settings are shared by both ends, so the master sees them. Typing before
// then could show a secret on the screen.
func (term *terminal) waitNoEcho(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(lab.CommandTimeout)
	for {
		tio, err := unix.IoctlGetTermios(int(term.master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("echo never went off")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (term *terminal) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(term.master, s); err != nil {
		t.Fatal(err)
	}
}

func (term *terminal) wait(t *testing.T) int {
	t.Helper()
	err := term.cmd.Wait()
	<-term.done
	return exitCode(t, err, term.stderr.String())
}
