// Package scenarios holds the end-to-end lab scenarios: real faults on real
// hosts (network namespaces, OpenSSH's sshd, iptables and nft rules), each
// diagnosed by the sshdoctor binary and asserted on its verdict, evidence
// and exit status.
package scenarios

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/internal/lab"
	"github.com/sshdoctor/sshdoctor/report"
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m)) }

// run runs `sshdoctor check --json ARGS` in h and decodes the report.
func run(t *testing.T, h *lab.Host, env []string, args ...string) (*report.Report, int) {
	t.Helper()
	out, errOut, code := h.RunTool(t, env, append([]string{"check", "--json"}, args...)...)
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check %v: stdout is not one JSON report: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, errOut)
	}
	if r.Schema != "sshdoctor/v1" || r.Command != "check" {
		t.Fatalf("schema/command = %q/%q", r.Schema, r.Command)
	}
	return &r, code
}

// verdict asserts the verdict code and exit status 1 and returns the finding.
func verdict(t *testing.T, r *report.Report, code int, want string) map[string]any {
	t.Helper()
	if code != 1 || r.OK || r.Verdict == nil || r.Verdict.Code != want {
		t.Fatalf("want verdict %s with exit 1; got exit %d, verdict %+v\nfindings: %s", want, code, r.Verdict, dump(r))
	}
	f := r.Find(want)
	ev := map[string]any{}
	for _, kv := range f.Evidence {
		ev[kv.Key] = kv.Value
	}
	return ev
}

func dump(r *report.Report) string {
	b, _ := json.MarshalIndent(r.Findings, "", "  ")
	return string(b)
}

// noKeys is "no ssh config, an empty known_hosts".
func noKeys(t *testing.T) []string {
	return []string{"-F", "none", "--known-hosts", emptyFile(t)}
}

func emptyFile(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheckNothingListening(t *testing.T) {
	p := lab.NewPair(t)
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "tcp.refused")
	if ev["address"] != p.Server.Addr4.String() || ev["ssh_says"] != "Connection refused" {
		t.Errorf("evidence = %v", ev)
	}
	if r.Has("ssh.other-port") || r.Has("tcp.rejected") {
		t.Errorf("unexpected findings: %s", dump(r))
	}
	for _, s := range r.Steps {
		if s.Name == "auth" && s.Status != report.StepSkip {
			t.Errorf("auth step should be skipped after tcp fails, got %q", s.Status)
		}
	}
}

func TestCheckFirewallRejects(t *testing.T) {
	cases := []struct {
		name     string
		rule     []string
		wantCode string
		icmpCode float64
		says     string
	}{
		{"default-reject", []string{"-j", "REJECT"}, "tcp.rejected", 3, "Connection refused"},
		{"host-prohibited", []string{"-j", "REJECT", "--reject-with", "icmp-host-prohibited"}, "tcp.rejected", 10, "No route to host"},
		{"tcp-reset", []string{"-j", "REJECT", "--reject-with", "tcp-reset"}, "tcp.refused", 0, "Connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := lab.NewPair(t)
			s := p.Server.StartSSHD(t, lab.SSHDOptions{})
			p.Server.IPTables(t, append([]string{"-A", "INPUT", "-p", "tcp", "--dport", "22"}, c.rule...)...)
			r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
			ev := verdict(t, r, code, c.wantCode)
			if ev["ssh_says"] != c.says {
				t.Errorf("ssh_says = %v, want %q", ev["ssh_says"], c.says)
			}
			if c.wantCode == "tcp.rejected" {
				if ev["offender"] != p.Server.Addr4.String() || ev["icmp_type"] != float64(3) || ev["icmp_code"] != c.icmpCode {
					t.Errorf("evidence = %v, want offender %s, ICMP 3/%v", ev, p.Server.Addr4, c.icmpCode)
				}
			}
			// The real ssh client agrees that it fails, with the same words.
			if err := s.Login(t, nil); err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("ssh: %v, want %q", err, c.says)
			}
		})
	}
}

func TestCheckRejectIPv6(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{Extra: []string{"ListenAddress ::", "ListenAddress 0.0.0.0"}})
	p.Server.IP6Tables(t, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "icmp6-adm-prohibited")
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr6.String())...)
	ev := verdict(t, r, code, "tcp.rejected")
	if ev["offender"] != p.Server.Addr6.String() || ev["icmp_type"] != float64(1) || ev["icmp_code"] != float64(1) {
		t.Errorf("evidence = %v", ev)
	}
}

func TestCheckRejectByRouter(t *testing.T) {
	n := lab.NewRouted(t)
	n.Server.StartSSHD(t, lab.SSHDOptions{})
	n.Router.IPTables(t, "-A", "FORWARD", "-p", "tcp", "--dport", "22", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
	r, code := run(t, n.Client, nil, append(noKeys(t), "root@"+n.Server.Addr4.String())...)
	ev := verdict(t, r, code, "tcp.rejected")
	if ev["offender"] != n.Router.Addr4.String() || ev["offender_is_target"] != false || ev["icmp_code"] != float64(13) {
		t.Errorf("evidence = %v, want the router %s as offender", ev, n.Router.Addr4)
	}
	if !strings.Contains(r.Verdict.Summary, "router") {
		t.Errorf("summary should blame a router: %q", r.Verdict.Summary)
	}
}

func TestCheckDropTimesOut(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{})
	p.Server.IPTables(t, "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP")
	start := time.Now()
	r, code := run(t, p.Client, nil, append(noKeys(t), "--timeout", "2s", "root@"+p.Server.Addr4.String())...)
	elapsed := time.Since(start)
	ev := verdict(t, r, code, "tcp.filtered")
	if ev["port"] != float64(22) {
		t.Errorf("evidence = %v", ev)
	}
	// Not a performance assertion (see BenchmarkCheckDropped): a guard that
	// --timeout bounds the wait instead of the kernel's two-minute SYN retries.
	if elapsed > 20*time.Second {
		t.Errorf("check took %s with --timeout 2s", elapsed)
	}
}

func TestCheckMovedPortFound(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{Port: 2222})
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "ssh.other-port")
	ports, _ := ev["ports"].([]any)
	if len(ports) != 1 || ports[0] != float64(2222) {
		t.Fatalf("ports = %v", ev["ports"])
	}
	banners, _ := ev["banners"].([]any)
	if len(banners) != 1 || !strings.Contains(fmt.Sprint(banners[0]), "SSH-2.0-OpenSSH") {
		t.Errorf("banners = %v", ev["banners"])
	}
	fix := r.Find("ssh.other-port").Fix
	if fix == nil || !slices.Contains(fix.Commands, "ssh -p 2222 root@"+p.Server.Addr4.String()) {
		t.Errorf("fix = %+v", fix)
	}
	if !r.Has("tcp.refused") {
		t.Errorf("the refused port 22 should be reported too: %s", dump(r))
	}
}

func TestCheckHTTPOnPort22(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.Serve(t, 22, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	})
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "ssh.not-ssh")
	if ev["looks_like"] != "HTTP" || !strings.HasPrefix(fmt.Sprint(ev["first_bytes"]), `HTTP/1.1 400 Bad Request\r\n`) {
		t.Errorf("evidence = %v", ev)
	}
}

func TestCheckSilentServer(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.Serve(t, 22, lab.Silent)
	r, code := run(t, p.Client, nil, append(noKeys(t), "--timeout", "1s", "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "ssh.no-banner")
	if ev["bytes_received"] != float64(0) {
		t.Errorf("evidence = %v", ev)
	}
}

func TestCheckMaxStartups(t *testing.T) {
	p := lab.NewPair(t)
	s := p.Server.StartSSHD(t, lab.SSHDOptions{Extra: []string{"MaxStartups 1", "LoginGraceTime 60"}})
	// Hold the only unauthenticated slot open.
	hold, err := p.Client.DialContext(t.Context(), "tcp", fmt.Sprintf("%s:%d", p.Server.Addr4, s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	buf := make([]byte, 64)
	_ = hold.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := hold.Read(buf); err != nil { // its banner: sshd has counted it
		t.Fatal(err)
	}
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	verdict(t, r, code, "ssh.closed-before-banner")
	if log := s.Log(); !strings.Contains(log, "MaxStartups") {
		t.Errorf("sshd's log does not confirm the MaxStartups drop:\n%s", log)
	}
}

func TestCheckNoHostKeyAlgorithmInCommon(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.StartSSHD(t, lab.SSHDOptions{HostKeyTypes: []string{"rsa"}, Extra: []string{"HostKeyAlgorithms ssh-rsa"}})
	r, code := run(t, p.Client, nil, append(noKeys(t), "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "ssh.kex-mismatch")
	if ev["category"] != "host key algorithm" || ev["option"] != "HostKeyAlgorithms +ssh-rsa" {
		t.Errorf("evidence = %v", ev)
	}
	if f := r.Find("ssh.kex-mismatch"); f.Fix == nil || f.Fix.Warning == "" || !strings.Contains(f.Fix.Warning, "SHA-1") {
		t.Errorf("the fix must warn what enabling ssh-rsa costs: %+v", f.Fix)
	}
}

func TestCheckHostKeyChanged(t *testing.T) {
	p := lab.NewPair(t)
	s := p.Server.StartSSHD(t, lab.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	other := lab.NewUserKey(t, "ed25519")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("# first line is a comment\n%s %s\n", p.Server.Addr4, strings.Join(strings.Fields(other.AuthorizedLine)[:2], " "))
	if err := os.WriteFile(kh, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := run(t, p.Client, nil, "-F", "none", "--known-hosts", kh, "root@"+p.Server.Addr4.String())
	ev := verdict(t, r, code, "hostkey.changed")
	if at := fmt.Sprint(ev["known_at"]); at != "["+kh+":2]" {
		t.Errorf("known_at = %s, want %s:2", at, kh)
	}
	if !strings.Contains(fmt.Sprint(ev["presented"]), fingerprint(s)) {
		t.Errorf("presented = %v, want %s", ev["presented"], fingerprint(s))
	}
	if r.Find("hostkey.changed").Fix.Warning == "" {
		t.Error("hostkey.changed must warn that it may be an attack")
	}
}

func sshFingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

func fingerprint(s *lab.SSHD) string {
	for _, k := range s.HostKeys {
		if k.Type() == "ssh-ed25519" {
			return sshFingerprint(k)
		}
	}
	return "?"
}

func TestCheckKeyNotAuthorized(t *testing.T) {
	p := lab.NewPair(t)
	good := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{good.AuthorizedLine}})
	stranger := lab.NewUserKey(t, "ed25519")
	r, code := run(t, p.Client, nil, append(noKeys(t), "-i", stranger.PrivPath, "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "auth.key-not-accepted")
	refused := fmt.Sprint(ev["keys_refused"])
	if !strings.Contains(refused, sshFingerprint(stranger.Public)) {
		t.Errorf("keys_refused = %s, want the stranger key", refused)
	}
}

func TestCheckHealthyHost(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	s := p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	if err := s.Login(t, key); err != nil {
		t.Fatalf("the real ssh cannot log in, so the lab is broken: %v", err)
	}
	r, code := run(t, p.Client, nil, append(noKeys(t), "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)
	if code != 0 || !r.OK || r.Verdict != nil {
		t.Fatalf("healthy host: exit %d, verdict %+v\n%s", code, r.Verdict, dump(r))
	}
	for _, f := range r.Findings {
		if f.Severity == "error" || f.Severity == "warning" {
			t.Errorf("false alarm on a healthy host: %s %s", f.Code, f.Detail)
		}
	}
	for _, st := range r.Steps {
		if st.Status != report.StepOK {
			t.Errorf("step %s = %s", st.Name, st.Status)
		}
	}
	// And with --login it really logs in.
	r, code = run(t, p.Client, nil, append(noKeys(t), "--login", "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)
	if code != 0 || !r.OK {
		t.Fatalf("--login: exit %d\n%s", code, dump(r))
	}
	// The human output leads with the verdict.
	out, _, code := p.Client.RunTool(t, nil, append([]string{"check"}, append(noKeys(t), "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)...)
	if code != 0 || !strings.HasPrefix(out, "✓ ssh to root@"+p.Server.Addr4.String()+" would work") {
		t.Errorf("human output (exit %d):\n%s", code, out)
	}
}

func TestCheckHostAliasFromConfig(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{Port: 2022, AuthorizedKeys: []string{key.AuthorizedLine}})
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host web1\n  HostName %s\n  Port 2022\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n\nHost *\n  ConnectTimeout 3\n", p.Server.Addr4, key.PrivPath)), 0o600)
	r, code := run(t, p.Client, nil, "-F", cfg, "--known-hosts", emptyFile(t), "web1")
	if code != 0 || !r.OK {
		t.Fatalf("exit %d\n%s", code, dump(r))
	}
	if r.Target.Host != p.Server.Addr4.String() || r.Target.Port != 2022 || r.Target.User != "root" || r.Target.Input != "web1" {
		t.Errorf("target = %+v", r.Target)
	}
}

func TestCheckPrivateKeyMode0644(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	if err := os.Chmod(key.PrivPath, 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := run(t, p.Client, nil, append(noKeys(t), "-i", key.PrivPath, "root@"+p.Server.Addr4.String())...)
	ev := verdict(t, r, code, "client.key-permissions")
	if ev["file"] != key.PrivPath || ev["mode"] != "0644" {
		t.Errorf("evidence = %v", ev)
	}
	if f := r.Find("client.key-permissions"); f.Fix == nil || !slices.Contains(f.Fix.Commands, "chmod 600 "+key.PrivPath) {
		t.Errorf("fix = %+v", f.Fix)
	}
}

func TestCheckHostileBanner(t *testing.T) {
	p := lab.NewPair(t)
	p.Server.Serve(t, 22, lab.Send([]byte("SSH-2.0-Evil\x1b]0;pwned\x07\x1b[2J\x1b[31m\r\n")))
	args := append(noKeys(t), "--timeout", "2s", "root@"+p.Server.Addr4.String())
	out, errOut, code := p.Client.RunTool(t, nil, append([]string{"check"}, args...)...)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, bad := range []string{"\x1b", "\x07"} {
		if strings.Contains(out+errOut, bad) {
			t.Errorf("raw control byte %q reached the terminal:\n%q", bad, out+errOut)
		}
	}
	if !strings.Contains(out, `\e]0;pwned`) {
		t.Errorf("the banner should be shown escaped:\n%s", out)
	}
	r, _ := run(t, p.Client, nil, args...)
	if r.OK || r.Verdict == nil {
		t.Errorf("a server that never completes the key exchange is not healthy: %s", dump(r))
	}
}

func TestCheckBadInput(t *testing.T) {
	p := lab.NewPair(t)
	for _, args := range [][]string{
		{""}, {"host:0"}, {"host:99999"}, {"[::1"}, {"[nope]:22"}, {"user@"}, {"-p", "70000", "host"}, {"--bogus", "host"}, {"--timeout", "soon", "host"},
	} {
		out, errOut, code := p.Client.RunTool(t, nil, append([]string{"check", "-F", "none"}, args...)...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || errOut == "" {
			t.Errorf("check %q: exit %d, stdout %q, stderr %q; want exit 2 and one line on stderr", args, code, out, errOut)
		}
		if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
			t.Errorf("check %q printed a stack trace: %s", args, errOut)
		}
	}
}

func writeEmpty(path string) error { return os.WriteFile(path, nil, 0o644) }
