//go:build linux

package bans_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/bans"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// f2bServer is a real fail2ban server running inside a lab host, in a
// private mount namespace whose /etc/fail2ban, /var/run/fail2ban and
// /var/lib/fail2ban are bind mounts of the test's own directories: this
// machine's fail2ban files are never written.
type f2bServer struct {
	proc *lab.Proc
	dir  string // holds etc/, run/ and lib/
	sys  host.System
	run  host.Runner
}

func startFail2ban(t *testing.T, h *lab.Host) *f2bServer {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc", "run", "lib"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's configuration as installed, plus a jail.d file: the
	// sshd jail on a log file of the test's own (there is no auth.log or
	// journal to follow in a namespace).
	if out, err := exec.Command("cp", "-a", "/etc/fail2ban/.", filepath.Join(dir, "etc")).CombinedOutput(); err != nil {
		t.Fatalf("copying /etc/fail2ban: %v\n%s", err, out)
	}
	logFile := filepath.Join(dir, "auth.log")
	writeFile(t, logFile, "")
	writeFile(t, filepath.Join(dir, "etc/jail.d/zz-sshdoctor-lab.local"),
		"[sshd]\nenabled = true\nbackend = polling\nlogpath = "+logFile+"\n")
	script := fmt.Sprintf("mount --bind %[1]s/etc /etc/fail2ban && mount --bind %[1]s/run /var/run/fail2ban && "+
		"mount --bind %[1]s/lib /var/lib/fail2ban && exec fail2ban-server -f -x --logtarget=stderr", dir)
	// ip netns exec, unshare and sh all exec in place: the process is
	// fail2ban-server itself, in the mount namespace of the bind mounts.
	proc := h.Start(t, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	pid := strconv.Itoa(proc.Cmd.Process.Pid)
	s := &f2bServer{proc: proc, dir: dir,
		run: host.ExecRunner{Prefix: []string{"nsenter", "-t", pid, "-m", "-n"}}}
	// Files are read through the server's own root, commands run in its
	// namespaces: sshdoctor sees what fail2ban sees.
	s.sys = host.System{Root: "/proc/" + pid + "/root", Live: true, Run: s.run}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "run/fail2ban.sock")); err == nil {
			if _, err := s.client(t, "ping"); err == nil {
				return s
			}
		}
		if proc.Exited() || time.Now().After(deadline) {
			t.Fatalf("fail2ban-server did not come up: %v\n%s", proc.Err(), proc.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *f2bServer) client(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := s.run.Run(context.Background(), "fail2ban-client", args...)
	return string(out), err
}

// TestLiveFail2ban bans the client's address with a real fail2ban in a lab
// namespace and checks what a user notices: ssh from that address is
// refused, another address connects, sshdoctor reports ban.active with
// jail sshd for the one and nothing for the other, and the unban command it
// proposes lets the client in again. A second ban, left in fail2ban's
// database after the server stops, is reported from the database.
func TestLiveFail2ban(t *testing.T) {
	lab.Require(t, "fail2ban-server", "fail2ban-client", "iptables", "unshare", "mount", "nsenter", "ssh")
	p := lab.NewPair(t)
	banned := p.Client.Addr4
	other := netip.AddrFrom4([4]byte{banned.As4()[0], banned.As4()[1], banned.As4()[2], 3})
	p.Client.AddAddr(t, netip.PrefixFrom(other, 24).String())
	sshd := p.Server.StartSSHD(t, lab.SSHDOptions{})
	f2b := startFail2ban(t, p.Server)

	if out, err := f2b.client(t, "set", "sshd", "banip", banned.String()); err != nil {
		t.Fatalf("banip: %v %s", err, out)
	}

	// The ban is real: the client's SYN gets an ICMP port unreachable
	// from fail2ban's REJECT, which ssh shows as "Connection refused".
	err := sshd.Login(t, nil)
	var sshErr *lab.SSHError
	if !errors.As(err, &sshErr) || !strings.Contains(sshErr.Output, "Connection refused") {
		t.Fatalf("ssh from %s: %v, want Connection refused", banned, err)
	}
	t.Logf("ssh from %s: %s", banned, strings.TrimSpace(sshErr.Output))
	if err := dial(p.Client, banned, netip.AddrPortFrom(p.Server.Addr4, 22)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect from %s: %v, want connection refused", banned, err)
	}
	if err := dial(p.Client, other, netip.AddrPortFrom(p.Server.Addr4, 22)); err != nil {
		t.Errorf("connect from %s, which is not banned: %v", other, err)
	}

	ctx := context.Background()
	facts := bans.Gather(ctx, f2b.sys, bans.Options{From: banned})
	if facts.Fail2ban == nil || !facts.Fail2ban.Running {
		t.Fatalf("fail2ban facts: %+v", facts.Fail2ban)
	}
	fs := check.ServerBans(&check.ServerBansFacts{Bans: facts, From: banned})
	if len(fs) != 1 || fs[0].Code != "ban.active" || fs[0].Severity != check.SeverityError {
		t.Fatalf("findings for %s: %+v\nfacts: %+v\nfirewall: %+v", banned, fs, facts.Fail2ban, facts.Firewall)
	}
	f := fs[0]
	for k, want := range map[string]any{"tool": "fail2ban", "jail": "sshd", "address": banned.String(), "enforced": true, "source": "fail2ban-client"} {
		if got := f.Evidence.Get(k); got != want {
			t.Errorf("evidence %s = %v, want %v", k, got, want)
		}
	}
	if fw, _ := f.Evidence.Get("firewall").([]string); len(fw) == 0 || !strings.Contains(fw[0], "f2b-sshd") {
		t.Errorf("firewall evidence %v", f.Evidence.Get("firewall"))
	}
	if until, _ := f.Evidence.Get("banned_until").(string); until == "" {
		t.Errorf("no ban end time: %v", f.Evidence)
	}
	if fs := check.ServerBans(&check.ServerBansFacts{Bans: bans.Gather(ctx, f2b.sys, bans.Options{From: other}), From: other}); len(fs) != 0 {
		t.Errorf("findings for %s, which is not banned: %+v", other, fs)
	}

	// The fix's command lifts the ban.
	if f.Fix == nil || len(f.Fix.Commands) != 1 || f.Fix.Commands[0] != "fail2ban-client set sshd unbanip "+banned.String() {
		t.Fatalf("fix %+v", f.Fix)
	}
	args := strings.Fields(f.Fix.Commands[0])
	if out, err := f2b.run.Run(ctx, args[0], args[1:]...); err != nil {
		t.Fatalf("%s: %v %s", f.Fix.Commands[0], err, out)
	}
	if err := dial(p.Client, banned, netip.AddrPortFrom(p.Server.Addr4, 22)); err != nil {
		t.Errorf("connect from %s after the unban: %v", banned, err)
	}
	if fs := check.ServerBans(&check.ServerBansFacts{Bans: bans.Gather(ctx, f2b.sys, bans.Options{From: banned}), From: banned}); len(fs) != 0 {
		t.Errorf("findings after the unban: %+v", fs)
	}

	// Ban again and stop the server: the ban stays in fail2ban's database,
	// and an offline reading of the files (the tree of a machine that
	// will boot with it) reports it from there.
	if out, err := f2b.client(t, "set", "sshd", "banip", banned.String()); err != nil {
		t.Fatalf("banip: %v %s", err, out)
	}
	if err := f2b.proc.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sqlite3"); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("sqlite3 is not installed (CI=true, so this is a failure): apt-get install sqlite3")
		}
		t.Skip("sqlite3 is not installed: the database part is not checked")
	}
	tree := t.TempDir()
	for link, target := range map[string]string{"etc/fail2ban": "etc", "var/lib/fail2ban": "lib"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tree, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(f2b.dir, target), filepath.Join(tree, link)); err != nil {
			t.Fatal(err)
		}
	}
	offline := bans.Gather(ctx, host.Offline(tree), bans.Options{From: banned})
	fs = check.ServerBans(&check.ServerBansFacts{Bans: offline, From: banned})
	if len(fs) != 1 || fs[0].Evidence.Get("source") != "database" || fs[0].Evidence.Get("jail") != "sshd" || fs[0].Severity != check.SeverityError {
		t.Fatalf("offline findings: %+v\nfail2ban: %+v", fs, offline.Fail2ban)
	}
	if cmd := fs[0].Fix.Commands[0]; !strings.HasPrefix(cmd, "sqlite3 "+filepath.Join(tree, "var/lib/fail2ban/fail2ban.sqlite3")) {
		t.Errorf("fix %q", cmd)
	}
}

// dial connects from src inside h and reads what the server says first;
// nil means sshd's banner came.
func dial(h *lab.Host, src netip.Addr, dst netip.AddrPort) error {
	var c net.Conn
	err := h.Do(func() error {
		d := net.Dialer{Timeout: dialTimeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		var err error
		c, err = d.DialContext(context.Background(), "tcp", dst.String())
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 8)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "SSH-2.0-" {
		return fmt.Errorf("not an SSH banner: %q", buf)
	}
	return nil
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLiveSSHGuard feeds sshguard's real nft-sets backend a block, as
// sshg-blocker does, inside a lab host: the client's connections are
// dropped, sshdoctor reports ban.active from sshguard's nft set, and the
// command it proposes lets the client in again.
func TestLiveSSHGuard(t *testing.T) {
	const backend = "/usr/libexec/sshguard/sshg-fw-nft-sets"
	lab.Require(t, "nft", backend)
	p := lab.NewPair(t)
	blocked := p.Client.Addr4
	other := netip.AddrFrom4([4]byte{blocked.As4()[0], blocked.As4()[1], blocked.As4()[2], 3})
	p.Client.AddAddr(t, netip.PrefixFrom(other, 24).String())
	p.Server.StartSSHD(t, lab.SSHDOptions{})

	cmd := p.Server.Command(context.Background(), backend)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close() // at end of input the backend removes its tables and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	fmt.Fprintf(in, "block %s 4 32\n", blocked)
	// A tree with sshguard's configuration only: this machine's fail2ban
	// is none of this test's business.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/sshguard"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, bans.SSHGuardConfig), "BACKEND="+backend+"\n")
	sys := host.System{Root: root, Live: true, Run: host.ExecRunner{Prefix: []string{"ip", "netns", "exec", p.Server.Name}}}
	ctx := context.Background()
	var fs []check.Finding
	for deadline := time.Now().Add(20 * time.Second); ; {
		// The backend sets up its table with a dozen nft commands first.
		fs = check.ServerBans(&check.ServerBansFacts{Bans: bans.Gather(ctx, sys, bans.Options{From: blocked}), From: blocked})
		if len(fs) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(fs) != 1 || fs[0].Code != "ban.active" || fs[0].Evidence.Get("tool") != "sshguard" || fs[0].Severity != check.SeverityError {
		t.Fatalf("findings for %s: %+v", blocked, fs)
	}
	if fw, _ := fs[0].Evidence.Get("firewall").([]string); len(fw) != 1 || fw[0] != "nft set ip sshguard attackers: "+blocked.String() {
		t.Errorf("firewall evidence %q", fs[0].Evidence.Get("firewall"))
	}
	// sshguard drops: the client's connection times out.
	if err := dial(p.Client, blocked, netip.AddrPortFrom(p.Server.Addr4, 22)); !isTimeout(err) {
		t.Errorf("connect from %s: %v, want a timeout", blocked, err)
	}
	if err := dial(p.Client, other, netip.AddrPortFrom(p.Server.Addr4, 22)); err != nil {
		t.Errorf("connect from %s: %v", other, err)
	}
	if fs := check.ServerBans(&check.ServerBansFacts{Bans: bans.Gather(ctx, sys, bans.Options{From: other}), From: other}); len(fs) != 0 {
		t.Errorf("findings for %s: %+v", other, fs)
	}
	want := fmt.Sprintf("nft delete element ip sshguard attackers { %s }", blocked)
	if fx := fs[0].Fix; fx == nil || len(fx.Commands) == 0 || fx.Commands[0] != want {
		t.Fatalf("fix %+v, want %q first", fx, want)
	}
	p.Server.Run(t, "sh", "-c", want)
	if err := dial(p.Client, blocked, netip.AddrPortFrom(p.Server.Addr4, 22)); err != nil {
		t.Errorf("connect from %s after the fix: %v", blocked, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialTimeout bounds a connect: long enough for a loaded machine, short
// enough for the test that waits for sshguard's DROP to time out.
const dialTimeout = 3 * time.Second
