//go:build linux

package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// requireSSH gates the tests that run a real sshd and ssh client.
func requireSSH(t *testing.T) {
	t.Helper()
	Require(t, SSHDPath, "ssh", "iptables", "ip6tables", "nft", "sysctl")
}

func TestPairTalksOverBothFamilies(t *testing.T) {
	t.Parallel()
	Require(t)
	p := NewPair(t)
	if p.Client.Name == p.Server.Name || !strings.HasPrefix(p.Server.Name, Prefix) {
		t.Fatalf("namespace names %q, %q: want distinct names starting with %q", p.Client.Name, p.Server.Name, Prefix)
	}
	ln := p.Server.Serve(t, 0, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		// Echo back who the server saw, to prove the traffic crossed the wire.
		io.WriteString(c, c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap().String()+" said "+line)
	})
	port := ln.Addr().(*net.TCPAddr).Port
	for _, dst := range []netip.Addr{p.Server.Addr4, p.Server.Addr6} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := p.Client.DialContext(ctx, "tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		cancel()
		if err != nil {
			t.Fatalf("dial %s from the client: %v", dst, err)
		}
		io.WriteString(c, "hello\n")
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		src := p.Client.Addr4
		if dst.Is6() {
			src = p.Client.Addr6
		}
		if want := src.String() + " said hello\n"; string(got) != want {
			t.Errorf("over %s: server answered %q, want %q", dst, got, want)
		}
	}
}

func TestListenIsInsideTheNamespace(t *testing.T) {
	t.Parallel()
	Require(t)
	p := NewPair(t)
	// A listener on the server's loopback must not be reachable from the
	// client, nor be in the test machine's own namespace.
	ln := p.Server.Listen(t, "tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := p.Client.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Fatalf("the client reached the server's loopback listener: namespaces are not separate")
	}
	ss := p.Server.Run(t, "ss", "-Hltn")
	if !strings.Contains(ss, "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("ss inside the server does not show the listener on port %d:\n%s", port, ss)
	}
	if _, err := p.Client.DialContext(ctx, "tcp", "localhost:22"); err == nil {
		t.Errorf("DialContext accepted a name; it must refuse to resolve names inside a namespace")
	}
}

func TestServeHandsOutBanner(t *testing.T) {
	t.Parallel()
	Require(t)
	p := NewPair(t)
	p.Server.Serve(t, 22, Send([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Client.DialContext(ctx, "tcp", netip.AddrPortFrom(p.Server.Addr4, 22).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "HTTP/1.0 400 Bad Request\r\n" {
		t.Errorf("read %q, %v; want the HTTP status line", line, err)
	}
}

func TestSSHDLogin(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	p := NewPair(t)
	good := NewUserKey(t, "ed25519")
	other := NewUserKey(t, "ecdsa")
	sshd := p.Server.StartSSHD(t, SSHDOptions{AuthorizedKeys: []string{good.AuthorizedLine}})
	if err := sshd.Login(t, good); err != nil {
		t.Fatalf("login with the authorized key failed: %v\nsshd log:\n%s", err, sshd.Log())
	}
	if !strings.Contains(sshd.Log(), "Accepted publickey for root") {
		t.Errorf("sshd did not log the accepted key:\n%s", sshd.Log())
	}
	err := sshd.Login(t, other)
	var sshErr *SSHError
	if !errors.As(err, &sshErr) || sshErr.ExitCode != 255 || !strings.Contains(sshErr.Output, "Permission denied") {
		t.Errorf("login with an unauthorized key: %v; want ssh's exit status 255 and Permission denied", err)
	}
	if err := Login(t, p.Client, p.Server.Addr6, sshd.Port, good); err != nil {
		t.Errorf("login over IPv6 failed: %v", err)
	}
	for _, typ := range []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"} {
		if sshd.HostKeys[typ] == nil {
			t.Errorf("HostKeys has no %s key: %v", typ, sshd.HostKeys)
		}
	}
}

func TestSSHDOptions(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	p := NewPair(t)
	key := NewUserKey(t, "rsa")
	// Extra comes before the lab's defaults, so its LogLevel wins; Match
	// goes last. The Match block forbids root from the client's address.
	sshd := p.Server.StartSSHD(t, SSHDOptions{
		Port:           2222,
		Extra:          []string{"LogLevel DEBUG1"},
		Match:          []string{"Match Address " + p.Client.Addr4.String(), "  PermitRootLogin no"},
		HostKeyTypes:   []string{"ed25519"},
		AuthorizedKeys: []string{key.AuthorizedLine},
	})
	if len(sshd.HostKeys) != 1 || sshd.HostKeys["ssh-ed25519"] == nil {
		t.Errorf("HostKeys = %v, want only ssh-ed25519", sshd.HostKeys)
	}
	if err := sshd.Login(t, key); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("login from the client matched by Match: %v; want Permission denied", err)
	}
	if !strings.Contains(sshd.Log(), "debug1:") {
		t.Errorf("LogLevel from Extra not in effect: no debug1 lines in the log")
	}
	// From IPv6 the Match block does not apply, and port 2222 is used.
	if err := Login(t, p.Client, p.Server.Addr6, 2222, key); err != nil {
		t.Errorf("login over IPv6 (not matched) failed: %v\n%s", err, sshd.Log())
	}
}

func TestStrictModesAcceptsLabFiles(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	p := NewPair(t)
	key := NewUserKey(t, "ed25519")
	sshd := p.Server.StartSSHD(t, SSHDOptions{
		Extra:          []string{"StrictModes yes"},
		AuthorizedKeys: []string{key.AuthorizedLine},
	})
	if err := sshd.Login(t, key); err != nil {
		t.Fatalf("login with StrictModes yes: %v\n%s", err, sshd.Log())
	}
	// And StrictModes really looks at them: a world-writable
	// authorized_keys makes the same login fail. (Group-writable would not
	// do: Debian's sshd accepts group write when the group has no other
	// member, as root's has not.)
	if err := os.Chmod(sshd.AuthorizedKeysPath, 0o602); err != nil {
		t.Fatal(err)
	}
	if err := sshd.Login(t, key); err == nil {
		t.Fatalf("login worked with a world-writable authorized_keys; StrictModes is not in effect\n%s", sshd.Log())
	}
	if !strings.Contains(sshd.Log(), "bad ownership or modes") {
		t.Errorf("sshd did not log the StrictModes refusal:\n%s", sshd.Log())
	}
}

func TestIPTablesRejectIsConnectionRefused(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	p := NewPair(t)
	key := NewUserKey(t, "ed25519")
	sshd := p.Server.StartSSHD(t, SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	p.Server.IPTables(t, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT")
	err := sshd.Login(t, key)
	if err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Fatalf("login through iptables REJECT: %v; want Connection refused", err)
	}
	if counters := p.Server.IPTables(t, "-L", "INPUT", "-v", "-n", "-x"); !strings.Contains(counters, "REJECT") || strings.Contains(counters, " 0 REJECT") {
		t.Errorf("the REJECT rule matched nothing, so the refusal came from elsewhere:\n%s", counters)
	}
	if sshd.Proc.Exited() {
		t.Errorf("sshd exited: %s", sshd.Log())
	}
	// IPv6 has no rule: the same sshd still lets the client in there.
	if err := Login(t, p.Client, p.Server.Addr6, 22, key); err != nil {
		t.Errorf("IPv6 login without an ip6tables rule: %v", err)
	}
	// ICMPv6 "administratively prohibited" becomes EACCES, which ssh
	// prints as a connect error, not as an authentication failure.
	p.Server.IP6Tables(t, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited")
	if err := Login(t, p.Client, p.Server.Addr6, 22, key); err == nil || !strings.Contains(err.Error(), "port 22: Permission denied") {
		t.Errorf("IPv6 login through ip6tables REJECT adm-prohibited: %v; want port 22: Permission denied", err)
	}
}

func TestNFTRejectIsNoRouteToHost(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	p := NewPair(t)
	key := NewUserKey(t, "ed25519")
	sshd := p.Server.StartSSHD(t, SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	p.Server.NFT(t, `table inet lab {
	chain input {
		type filter hook input priority 0;
		tcp dport 22 reject with icmpx type admin-prohibited
	}
}`)
	if err := sshd.Login(t, key); err == nil || !strings.Contains(err.Error(), "No route to host") {
		t.Fatalf("login through nft reject admin-prohibited: %v; want No route to host", err)
	}
	if ruleset := p.Server.Run(t, "nft", "list", "ruleset"); !strings.Contains(ruleset, "table inet lab") {
		t.Errorf("the rule is not in the server's ruleset:\n%s", ruleset)
	}
	// The test machine's own ruleset never sees the lab's table.
	if out, err := exec.Command("nft", "list", "tables").CombinedOutput(); err == nil && strings.Contains(string(out), "table inet lab") {
		t.Errorf("the lab's nft table leaked into the machine's own namespace:\n%s", out)
	}
}

func TestRoutedRejectComesFromRouter(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	r := NewRouted(t)
	key := NewUserKey(t, "ed25519")
	sshd := r.Server.StartSSHD(t, SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	if err := sshd.Login(t, key); err != nil {
		t.Fatalf("login through the router: %v\n%s", err, sshd.Log())
	}
	if err := Login(t, r.Client, r.Server.Addr6, 22, key); err != nil {
		t.Fatalf("IPv6 login through the router: %v", err)
	}
	r.Router.IPTables(t, "-A", "FORWARD", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "icmp-host-prohibited")
	if err := sshd.Login(t, key); err == nil || !strings.Contains(err.Error(), "No route to host") {
		t.Fatalf("login through a router that rejects: %v; want No route to host", err)
	}
	// The ICMP error came from the router's address on the client's side:
	// it counted the packet in its own OUTPUT chain.
	r.Router.IPTables(t, "-I", "OUTPUT", "-p", "icmp", "-s", r.Router.Addr4.String(), "-d", r.Client.Addr4.String())
	sshd.Login(t, key)
	out := r.Router.IPTables(t, "-L", "OUTPUT", "1", "-v", "-n", "-x")
	if pkts := strings.Fields(out); len(pkts) == 0 || pkts[0] == "0" {
		t.Errorf("router sent no ICMP from %s to the client: %q", r.Router.Addr4, out)
	}
}

func TestMTUBlackHole(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	for _, tc := range []struct {
		mtu int
		v6  bool
	}{{576, false}, {1280, false}, {1280, true}} {
		t.Run(fmt.Sprintf("mtu=%d,v6=%v", tc.mtu, tc.v6), func(t *testing.T) {
			t.Parallel()
			testMTUBlackHole(t, tc.mtu, tc.v6)
		})
	}
}

func testMTUBlackHole(t *testing.T, mtu int, v6 bool) {
	r := NewRouted(t)
	big := strings.Repeat("x", 64<<10)
	ln := r.Server.Serve(t, 0, func(c net.Conn) {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) == "big" {
			io.WriteString(c, big)
		} else {
			io.WriteString(c, "small\n")
		}
		io.Copy(io.Discard, c)
	})
	dst, iptables, dropped := r.Server.Addr4, r.Router.IPTables, "fragmentation-needed"
	if v6 {
		dst, iptables, dropped = r.Server.Addr6, r.Router.IP6Tables, "packet-too-big"
	}
	addr := netip.AddrPortFrom(dst, uint16(ln.Addr().(*net.TCPAddr).Port)).String()
	ask := func(what string, size int, wait time.Duration) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := r.Client.DialContext(ctx, "tcp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		io.WriteString(c, what+"\n")
		c.SetReadDeadline(time.Now().Add(wait))
		return io.ReadFull(c, make([]byte, size))
	}
	if n, err := ask("big", len(big), 10*time.Second); err != nil {
		t.Fatalf("before the black hole, a big answer did not arrive: %d bytes, %v", n, err)
	}
	r.MTUBlackHole(t, mtu)
	if n, err := ask("small", 6, 10*time.Second); err != nil {
		t.Fatalf("small answers must still pass the black hole: %d bytes, %v", n, err)
	}
	// The wait only bounds how long to watch for data that must not come.
	if n, err := ask("big", len(big), 3*time.Second); err == nil {
		t.Fatalf("a big answer (%d bytes) crossed the black hole", n)
	}
	out := iptables(t, "-L", "OUTPUT", "-v", "-n", "-x")
	if !strings.Contains(out, "DROP") || strings.Contains(out, " 0 DROP") {
		t.Errorf("the router dropped no %s error:\n%s", dropped, out)
	}
}

func TestCleanupLeavesNothing(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	var names []string
	var pids []int
	var dir string
	t.Run("scenario", func(t *testing.T) {
		r := NewRouted(t)
		key := NewUserKey(t, "ed25519")
		sshd := r.Server.StartSSHD(t, SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
		names = []string{r.Client.Name, r.Router.Name, r.Server.Name}
		dir = sshd.Dir
		pids = append(pids, sshd.Proc.Cmd.Process.Pid)
		// A process the test forgets about must die with its host too.
		pids = append(pids, r.Client.Start(t, "sleep", "600").Cmd.Process.Pid)
		stray := exec.Command("ip", "netns", "exec", r.Router.Name, "sleep", "600")
		if err := stray.Start(); err != nil {
			t.Fatal(err)
		}
		go stray.Wait()
		pids = append(pids, stray.Process.Pid)
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s still exists after its test (%v)", n, err)
		}
	}
	for _, pid := range pids {
		if pidAlive(pid) && !isZombie(pid) {
			t.Errorf("process %d is still running after its test", pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sshd's directory %s still exists (%v)", dir, err)
	}
}

func TestSweepRemovesOnlyDeadOwnersLeftovers(t *testing.T) {
	t.Parallel()
	Require(t, "sleep")
	// A PID that surely belongs to nobody now: a process that has exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := dead.Process.Pid
	leftover := Prefix + strconv.Itoa(deadPID) + "-1-srv"
	mine := nsName(nextSeq(), "cli")
	for _, n := range []string{leftover, mine} {
		if out, err := exec.Command("ip", "netns", "add", n).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v %s", n, err, out)
		}
		t.Cleanup(func() { deleteNetns(n) })
	}
	// A daemon a crashed run left running inside its namespace.
	orphan := exec.Command("ip", "netns", "exec", leftover, "sleep", "600")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { orphan.Wait(); close(exited) }()
	// ip netns exec enters the namespace after it has started; until then
	// the process is not in it for Sweep to find.
	for !slices.Contains(must(netnsPIDs(leftover)), orphan.Process.Pid) {
		select {
		case <-exited:
			t.Fatalf("the process in %s exited by itself", leftover)
		case <-time.After(10 * time.Millisecond):
		}
	}
	staleDir := filepath.Join(RunDir, strconv.Itoa(deadPID)+"-stale")
	if err := os.MkdirAll(staleDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(staleDir) })

	if err := Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/run/netns/" + leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Sweep left the dead run's namespace %s (%v)", leftover, err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("Sweep did not kill the process left in %s", leftover)
	}
	if _, err := os.Stat("/run/netns/" + mine); err != nil {
		t.Errorf("Sweep removed %s, which belongs to this running test binary: %v", mine, err)
	}
	if _, err := os.Stat(staleDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Sweep left %s (%v)", staleDir, err)
	}
}

func TestNewUserKeyFiles(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"ed25519", "ecdsa", "rsa", "ssh-ed25519"} {
		k := NewUserKey(t, typ)
		for path, mode := range map[string]os.FileMode{k.PrivPath: 0o600, k.PubPath: 0o644} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
			}
		}
		priv, _ := os.ReadFile(k.PrivPath)
		if !strings.HasPrefix(string(priv), "-----BEGIN OPENSSH PRIVATE KEY-----") {
			t.Errorf("%s key: not in OpenSSH format:\n%s", typ, priv)
		}
		pub, _ := os.ReadFile(k.PubPath)
		if strings.TrimSpace(string(pub)) != k.AuthorizedLine || !strings.HasPrefix(k.AuthorizedLine, k.Public.Type()+" ") {
			t.Errorf("%s key: .pub %q, AuthorizedLine %q", typ, pub, k.AuthorizedLine)
		}
		// ssh-keygen must read the private key and derive the same public one.
		if _, err := exec.LookPath("ssh-keygen"); err == nil {
			out, err := exec.Command("ssh-keygen", "-y", "-f", k.PrivPath).CombinedOutput()
			if err != nil || !strings.HasPrefix(k.AuthorizedLine, strings.TrimSpace(string(out))) {
				t.Errorf("ssh-keygen -y on the %s key: %v %q", typ, err, out)
			}
		}
	}
}

func TestRunToolInsideHost(t *testing.T) {
	t.Parallel()
	Require(t, "go")
	p := NewPair(t)
	stdout, stderr, exit := p.Client.RunTool(t, nil, "explain", "tcp.refused")
	if exit != 0 || !strings.Contains(stdout, "tcp.refused") {
		t.Errorf("sshdoctor explain tcp.refused: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
	_, stderr, exit = p.Client.RunTool(t, nil, "no-such-command")
	if exit != 2 || stderr == "" {
		t.Errorf("sshdoctor no-such-command: exit %d, stderr %q; want exit 2 and a message", exit, stderr)
	}
}

// fakeTB records how Require ends a test instead of ending it.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = true
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runRequire(tb *fakeTB, tools ...string) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Require(tb, tools...)
	}()
	wg.Wait()
}

func TestRequireSkipsOrFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	tb := &fakeTB{TB: t}
	runRequire(tb, "sshdoctor-lab-no-such-tool")
	if !tb.skipped || tb.failed || !strings.Contains(tb.msg, "sshdoctor-lab-no-such-tool") {
		t.Errorf("without CI: skipped=%v failed=%v msg=%q; want a skip naming the missing tool", tb.skipped, tb.failed, tb.msg)
	}
	t.Setenv("CI", "true")
	tb = &fakeTB{TB: t}
	runRequire(tb, "sshdoctor-lab-no-such-tool")
	if tb.skipped || !tb.failed || !strings.Contains(tb.msg, "CI=true") {
		t.Errorf("with CI=true: skipped=%v failed=%v msg=%q; want a failure", tb.skipped, tb.failed, tb.msg)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
