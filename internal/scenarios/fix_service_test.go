package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// fixOut is the part of `fix --json` the scenarios read.
type fixOut struct {
	Applied bool `json:"applied"`
	Plan    []struct {
		Finding string `json:"finding"`
		Summary string `json:"summary"`
		Kind    string `json:"kind"`
		Hidden  bool   `json:"hidden"`
	} `json:"plan"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	OK       bool   `json:"ok"`
	Findings []struct {
		Code     string `json:"code"`
		Severity string `json:"severity"`
	} `json:"findings"`
}

func (f fixOut) visible() int {
	n := 0
	for _, s := range f.Plan {
		if !s.Hidden {
			n++
		}
	}
	return n
}

// fix runs `sshdoctor fix --json ARGS` inside the container.
func (s *serverHost) fix(t *testing.T, args ...string) (fixOut, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", append([]string{"fix", "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("fix: %v\n%s", err, stderr.String())
	}
	var r fixOut
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("fix %v: not one JSON document: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	return r, code, stderr.String()
}

// loginFails asserts that the real ssh client cannot log in now.
func (s *serverHost) loginFails(t *testing.T, key *lab.Key) {
	t.Helper()
	if err := lab.Login(t, s.Client, s.Server.Addr4, 22, key); err == nil {
		t.Fatal("the broken server still lets ssh in: the scenario is not broken")
	}
}

func (s *serverHost) loginWorks(t *testing.T, key *lab.Key) {
	t.Helper()
	var err error
	for range 20 { // a restarted sshd takes a moment
		if err = lab.Login(t, s.Client, s.Server.Addr4, 22, key); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("after the fix, ssh still fails: %v", err)
}

// fixAndProve applies the fix, checks the login works, that a second run
// plans nothing, and that the diagnosis is clean.
func (s *serverHost) fixAndProve(t *testing.T, key *lab.Key, args ...string) fixOut {
	t.Helper()
	r, code, stderr := s.fix(t, append([]string{"--apply", "--yes", "--confirm-timeout", "0"}, args...)...)
	if !r.Applied || code != 0 || !r.OK {
		t.Fatalf("fix: exit %d applied %v status %s reason %q ok %v findings %+v\nstderr:\n%s", code, r.Applied, r.Status, r.Reason, r.OK, r.Findings, stderr)
	}
	s.loginWorks(t, key)
	again, _, _ := s.fix(t, args...)
	if again.visible() != 0 {
		t.Errorf("a second fix plans again: %+v", again.Plan)
	}
	return r
}

func TestFixStoppedSSHD(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "systemctl", "disable", "--now", "ssh")
	s.loginFails(t, key)
	plan, _, _ := s.fix(t)
	if plan.Applied || plan.visible() == 0 {
		t.Fatalf("without --apply the plan is only shown, and it should not be empty: %+v", plan)
	}
	if out := s.C.Run(t, "sh", "-c", "systemctl is-active ssh || true"); strings.TrimSpace(out) != "inactive" {
		t.Fatalf("showing the plan changed the service: %s", out)
	}
	s.fixAndProve(t, key)
	if out := strings.TrimSpace(s.C.Run(t, "systemctl", "is-enabled", "ssh")); out != "enabled" {
		t.Errorf("ssh is %s at boot, want enabled", out)
	}
}

func TestFixConfigTypo(t *testing.T) {
	s := bootServer(t, lab.SystemReady)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "sh", "-c", "sed -i '1i PermitRootLogn prohibit-password' /etc/ssh/sshd_config; systemctl restart ssh || true")
	s.loginFails(t, key)
	s.fixAndProve(t, key)
	if head := s.C.Run(t, "head", "-1", "/etc/ssh/sshd_config"); strings.TrimSpace(head) != "PermitRootLogin prohibit-password" {
		t.Errorf("line 1 = %q, want the corrected keyword", head)
	}
	// Undo brings the typo back exactly.
	s.C.Run(t, "/usr/local/bin/sshdoctor", "fix", "--undo")
	if head := s.C.Run(t, "head", "-1", "/etc/ssh/sshd_config"); strings.TrimSpace(head) != "PermitRootLogn prohibit-password" {
		t.Errorf("after --undo line 1 = %q", head)
	}
}

func TestFixMissingHostKeys(t *testing.T) {
	s := bootServer(t, lab.SystemReady)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "sh", "-c", "systemctl stop ssh; rm -f /etc/ssh/ssh_host_*; systemctl start ssh || true")
	s.loginFails(t, key)
	s.fixAndProve(t, key)
	if out := s.C.Run(t, "sh", "-c", "ls /etc/ssh/ssh_host_*_key | wc -l"); strings.TrimSpace(out) != "3" {
		t.Errorf("host keys: %s", out)
	}
}

func TestFixSocketActivationOnTheWrongPort(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	// The admin moved sshd to 2222 in sshd_config, but ssh.socket decides.
	s.C.Run(t, "sh", "-c", "sed -i '1i Port 2222' /etc/ssh/sshd_config && systemctl disable --now ssh && systemctl enable --now ssh.socket")
	if err := lab.Login(t, s.Client, s.Server.Addr4, 2222, key); err == nil {
		t.Fatal("port 2222 should not answer yet")
	}
	// A guarded change: run it, and confirm from "another session".
	done := make(chan fixOut, 1)
	go func() {
		r, _, _ := s.fix(t, "--apply", "--yes", "--confirm-timeout", "60s")
		done <- r
	}()
	confirmed := false
	for range 200 {
		if err := s.C.Exec(context.Background(), "/usr/local/bin/sshdoctor", "confirm").Run(); err == nil {
			confirmed = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := <-done
	if !confirmed || r.Status != "confirmed" {
		t.Fatalf("confirmed %v, status %q reason %q", confirmed, r.Status, r.Reason)
	}
	if err := lab.Login(t, s.Client, s.Server.Addr4, 2222, key); err != nil {
		t.Errorf("port 2222 after the fix: %v", err)
	}
}

func TestFixGuardRollsBackUnconfirmed(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)
	s.C.Run(t, "sh", "-c", "sed -i '1i ListenAddress 127.0.0.1' /etc/ssh/sshd_config && systemctl restart ssh")
	s.loginFails(t, key)
	before := s.C.Run(t, "sh", "-c", "md5sum /etc/ssh/sshd_config; systemctl is-active ssh; ss -ltn | grep ':22 '")
	r, code, _ := s.fix(t, "--apply", "--yes", "--confirm-timeout", "3s")
	if r.Status != "rolled-back" || code == 0 {
		t.Fatalf("unconfirmed change: exit %d status %q reason %q", code, r.Status, r.Reason)
	}
	after := s.C.Run(t, "sh", "-c", "for i in $(seq 50); do ss -ltn | grep -q '127.0.0.1:22 ' && break; sleep 0.1; done; md5sum /etc/ssh/sshd_config; systemctl is-active ssh; ss -ltn | grep ':22 '")
	if before != after {
		t.Errorf("state after the rollback differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Confirmed, the same fix lets ssh in.
	done := make(chan fixOut, 1)
	go func() {
		r, _, _ := s.fix(t, "--apply", "--yes", "--confirm-timeout", "60s")
		done <- r
	}()
	for range 200 {
		if s.C.Exec(context.Background(), "/usr/local/bin/sshdoctor", "confirm").Run() == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := <-done; r.Status != "confirmed" {
		t.Fatalf("status %q reason %q", r.Status, r.Reason)
	}
	s.loginWorks(t, key)
}
