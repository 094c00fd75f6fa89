package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// confirmWhileRunning runs `sshdoctor ARGS` in the container and, like an
// admin in a second session, confirms each guarded change it waits for.
func (s *serverHost) confirmWhileRunning(t *testing.T, args ...string) []byte {
	t.Helper()
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", args...).Output()
		done <- result{out, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Logf("sshdoctor %v: %v", args, r.err)
			}
			return r.out
		case <-time.After(300 * time.Millisecond):
			_ = s.C.Exec(context.Background(), "/usr/local/bin/sshdoctor", "confirm").Run()
		}
	}
}

func TestPortMoveAndClientFollows(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	s.C.AuthorizeKey(t, key)

	out := s.confirmWhileRunning(t, "port", "move", "2222", "--apply", "--yes", "--json", "--confirm-timeout", "60s")
	var pr struct {
		OK     bool  `json:"ok"`
		Ports  []int `json:"ports"`
		Phases []struct {
			Name, Status, Reason string
		} `json:"phases"`
	}
	if err := json.Unmarshal(out, &pr); err != nil {
		t.Fatalf("port move output: %v\n%s", err, out)
	}
	if !pr.OK || len(pr.Phases) != 2 || fmt.Sprint(pr.Ports) != "[2222]" {
		t.Fatalf("port move: %+v", pr)
	}
	if err := lab.Login(t, s.Client, s.Server.Addr4, 2222, key); err != nil {
		t.Fatalf("port 2222 after the move: %v", err)
	}
	if err := lab.Login(t, s.Client, s.Server.Addr4, 22, key); err == nil {
		t.Error("port 22 still answers after the move without --keep-old")
	}

	// A client that still points at port 22.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("# my hosts\nHost web1\n    HostName %s\n    User root\n    IdentityFile %s\n\nHost *\n    ServerAliveInterval 30\n", s.Server.Addr4, key.PrivPath)), 0o600)
	kh := emptyFile(t)
	ssh := func() error {
		return s.Client.Command(context.Background(), "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile="+kh, "-o", "IdentitiesOnly=yes", "web1", "true").Run()
	}
	if ssh() == nil {
		t.Fatal("the client should fail before its config is fixed")
	}
	_, errOut, code := s.Client.RunTool(t, nil, "fix", "-F", cfg, "--known-hosts", kh, "web1", "--apply", "--yes")
	if code != 0 {
		t.Fatalf("client fix: exit %d\n%s", code, errOut)
	}
	got, _ := os.ReadFile(cfg)
	if !strings.Contains(string(got), "Host web1\n    Port 2222\n") || !strings.HasPrefix(string(got), "# my hosts\n") {
		t.Errorf("client config after the fix:\n%s", got)
	}
	if err := ssh(); err != nil {
		t.Errorf("the client still fails after its fix: %v", err)
	}
}
