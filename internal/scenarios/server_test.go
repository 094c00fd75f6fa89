package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/internal/lab"
	"github.com/sshdoctor/sshdoctor/report"
)

// serverHost is a real Debian 12 machine: a systemd container booted in the
// server namespace of a pair, with sshdoctor inside at /usr/local/bin.
type serverHost struct {
	*lab.Pair
	C *lab.Container
}

func bootServer(t *testing.T, ready func(context.Context, *lab.Container) error) *serverHost {
	t.Helper()
	lab.Require(t, "systemd-nspawn", "debootstrap")
	p := lab.NewPair(t)
	c := p.Server.Boot(t, lab.ContainerOptions{
		BindRO: []string{lab.Tool(t) + ":/usr/local/bin/sshdoctor"},
		Ready:  ready,
	})
	return &serverHost{Pair: p, C: c}
}

// server runs `sshdoctor server --json ARGS` inside the container.
func (s *serverHost) server(t *testing.T, args ...string) (*report.Report, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", append([]string{"server", "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sshdoctor server: %v\n%s", err, stderr.String())
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("server %v: not one JSON report: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	if r.Command != "server" || r.Schema != "sshdoctor/v1" {
		t.Fatalf("command/schema = %s/%s", r.Command, r.Schema)
	}
	return &r, code
}

func evidence(f *check.Finding) map[string]any {
	ev := map[string]any{}
	for _, kv := range f.Evidence {
		ev[kv.Key] = kv.Value
	}
	return ev
}

// want asserts a finding with code and severity error exists and returns it.
func want(t *testing.T, r *report.Report, code string) *check.Finding {
	t.Helper()
	f := r.Find(code)
	if f == nil {
		t.Fatalf("no %s finding; verdict %+v\n%s", code, r.Verdict, dump(r))
	}
	return f
}

func TestServerHealthy(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	r, code := s.server(t, "--user", "root", "--from", s.Client.Addr4.String(), "--key", key.AuthorizedLine)
	if code != 0 || !r.OK {
		t.Fatalf("healthy server: exit %d, verdict %+v\n%s", code, r.Verdict, dump(r))
	}
	for _, f := range r.Findings {
		if f.Severity == check.SeverityError || f.Severity == check.SeverityWarning {
			t.Errorf("false alarm: %s (%s) %s", f.Code, f.Severity, f.Detail)
		}
	}
	if err := lab.Login(t, s.Client, s.Server.Addr4, 22, key); err != nil {
		t.Errorf("the real ssh cannot log in to the healthy server: %v", err)
	}
}

func TestServerStoppedThenMasked(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "systemctl", "stop", "ssh")
	r, code := s.server(t)
	if code != 1 || r.Verdict == nil || r.Verdict.Code != "sshd.not-running" {
		t.Fatalf("stopped: exit %d verdict %+v\n%s", code, r.Verdict, dump(r))
	}
	ev := evidence(want(t, r, "sshd.not-running"))
	if ev["active_state"] != "inactive" {
		t.Errorf("evidence %v", ev)
	}
	s.C.Run(t, "systemctl", "mask", "ssh")
	r, _ = s.server(t)
	f := want(t, r, "sshd.not-running")
	if !strings.Contains(fmt.Sprint(f.Evidence)+f.Detail, "masked") {
		t.Errorf("a masked unit must be named as such: %s %v", f.Detail, f.Evidence)
	}
	if f.Fix == nil || !strings.Contains(strings.Join(f.Fix.Commands, "\n"), "unmask") {
		t.Errorf("fix should unmask: %+v", f.Fix)
	}
}

func TestServerConfigErrorMakesServiceFail(t *testing.T) {
	s := bootServer(t, lab.SystemReady)
	s.C.Run(t, "sh", "-c", "sed -i '1i PermitRootLogn no' /etc/ssh/sshd_config")
	_ = s.C.Exec(context.Background(), "systemctl", "restart", "ssh").Run() // fails, as it should
	r, code := s.server(t)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	cfg := evidence(want(t, r, "sshd.config-invalid"))
	if cfg["file"] != "/etc/ssh/sshd_config" || fmt.Sprint(cfg["line"]) != "1" || !strings.Contains(fmt.Sprint(cfg["message"]), "Bad configuration option: PermitRootLogn") {
		t.Errorf("config-invalid evidence %v", cfg)
	}
	failed := want(t, r, "sshd.failed")
	if !strings.Contains(failed.Detail+fmt.Sprint(failed.Evidence), "PermitRootLogn") {
		t.Errorf("sshd.failed should quote the reason from the log: %s %v", failed.Detail, failed.Evidence)
	}
	if r.Verdict.Code != "sshd.config-invalid" {
		t.Errorf("verdict %s, want the config error as root cause", r.Verdict.Code)
	}
}

func TestServerSocketActivationOnAnotherPort(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "sh", "-c", "echo 'Port 2222' >> /etc/ssh/sshd_config && systemctl disable --now ssh && systemctl enable --now ssh.socket")
	r, code := s.server(t)
	f := want(t, r, "sshd.socket-activation")
	if code != 1 || f.Severity != check.SeverityError {
		t.Errorf("exit %d severity %s: a Port that the socket ignores is an error", code, f.Severity)
	}
	if !strings.Contains(f.Detail, "2222") || !strings.Contains(f.Detail, "22") {
		t.Errorf("detail should name both ports: %s", f.Detail)
	}
	// The real client agrees: 22 answers, 2222 does not.
	if err := lab.Login(t, s.Client, s.Server.Addr4, 2222, nil); err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("port 2222: %v", err)
	}
}

func TestServerNftablesDropsThePort(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "sh", "-c", `nft -f - <<'EOF'
table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    iif lo accept
    tcp dport 22 drop
  }
}
EOF`)
	r, code := s.server(t, "--from", s.Client.Addr4.String())
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	ev := evidence(want(t, r, "firewall.blocks"))
	if ev["backend"] != "nftables" || !strings.Contains(fmt.Sprint(ev["rule"]), "tcp dport 22 drop") || !strings.Contains(fmt.Sprint(ev["chain"]), "input") {
		t.Errorf("evidence %v", ev)
	}
}

func TestServerUFWWithoutSSHRule(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "ufw", "--force", "enable")
	r, _ := s.server(t, "--from", s.Client.Addr4.String())
	f := want(t, r, "firewall.blocks")
	if !strings.Contains(fmt.Sprint(f.Evidence)+f.Detail, "ufw") {
		t.Errorf("ufw must be named: %s %v", f.Detail, f.Evidence)
	}
	if f.Fix == nil || !strings.Contains(strings.Join(f.Fix.Commands, "\n"), "ufw allow") {
		t.Errorf("fix should be ufw allow: %+v", f.Fix)
	}
}

func TestServerRejectForOneSource(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "iptables", "-A", "INPUT", "-s", s.Client.Addr4.String(), "-p", "tcp", "--dport", "22", "-j", "REJECT")
	r, _ := s.server(t, "--from", s.Client.Addr4.String())
	ev := evidence(want(t, r, "firewall.blocks"))
	if !strings.Contains(fmt.Sprint(ev["rule"]), "-s "+s.Client.Addr4.String()) {
		t.Errorf("evidence %v", ev)
	}
	r, _ = s.server(t, "--from", "192.0.2.77")
	if f := r.Find("firewall.blocks"); f != nil {
		t.Errorf("another source is not blocked, but: %s", f.Detail)
	}
}

func TestServerListenAddressLoopback(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "sh", "-c", "sed -i '1i ListenAddress 127.0.0.1' /etc/ssh/sshd_config && systemctl restart ssh")
	r, code := s.server(t, "--from", s.Client.Addr4.String())
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	f := want(t, r, "sshd.listen-restricted")
	if !strings.Contains(f.Detail+fmt.Sprint(f.Evidence), "127.0.0.1") {
		t.Errorf("%s %v", f.Detail, f.Evidence)
	}
}

func TestServerFail2banBan(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "sh", "-c", "systemctl start fail2ban && for i in $(seq 50); do fail2ban-client ping >/dev/null 2>&1 && break; sleep 0.2; done; fail2ban-client set sshd banip "+s.Client.Addr4.String())
	if err := lab.Login(t, s.Client, s.Server.Addr4, 22, nil); err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("the ban should refuse the client: %v", err)
	}
	r, code := s.server(t, "--from", s.Client.Addr4.String())
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	f := want(t, r, "ban.active")
	ev := evidence(f)
	if ev["tool"] != "fail2ban" || ev["jail"] != "sshd" || ev["address"] != s.Client.Addr4.String() {
		t.Errorf("evidence %v", ev)
	}
	if r.Find("firewall.blocks") != nil {
		t.Error("a fail2ban rule must be reported as ban.active, not firewall.blocks")
	}
}

func TestServerAnotherProgramOnPort22(t *testing.T) {
	s := bootServer(t, nil)
	s.C.Run(t, "systemctl", "stop", "ssh")
	s.C.Run(t, "systemd-run", "--unit", "squatter", "python3", "-m", "http.server", "22")
	for range 100 {
		if out, _ := s.C.Exec(context.Background(), "ss", "-ltn", "sport = :22").Output(); strings.Contains(string(out), ":22") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, code := s.server(t)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	f := want(t, r, "sshd.port-conflict")
	if !strings.Contains(f.Detail+fmt.Sprint(f.Evidence), "python3") {
		t.Errorf("the other program must be named: %s %v", f.Detail, f.Evidence)
	}
}
