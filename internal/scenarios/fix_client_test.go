package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// clientSSH runs the real ssh client of p.Client with a config file, as the
// user would type `ssh web1 true`.
func clientSSH(p *lab.Pair, cfg, kh string, env ...string) error {
	cmd := p.Client.Command(context.Background(), "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile="+kh, "web1", "true")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Dir(cfg)}, env...)
	return cmd.Run()
}

func TestFixClientKeyMode0644(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{key.AuthorizedLine}})
	os.Chmod(key.PrivPath, 0o644)
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host web1\n  HostName %s\n  User root\n  IdentityFile %s\n  IdentityAgent none\n", p.Server.Addr4, key.PrivPath)), 0o600)
	kh := emptyFile(t)
	if err := clientSSH(p, cfg, kh); err == nil {
		t.Fatal("ssh should refuse the 0644 key")
	}
	_, errOut, code := p.Client.RunTool(t, nil, "fix", "-F", cfg, "--known-hosts", kh, "web1", "--apply", "--yes")
	if code != 0 {
		t.Fatalf("fix: exit %d\n%s", code, errOut)
	}
	if st, _ := os.Stat(key.PrivPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o", st.Mode().Perm())
	}
	if err := clientSSH(p, cfg, kh); err != nil {
		t.Errorf("ssh after the fix: %v", err)
	}
}

func TestFixClientTooManyAgentKeys(t *testing.T) {
	lab.Require(t, "ssh-agent", "ssh-add")
	p := lab.NewPair(t)
	good := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{AuthorizedKeys: []string{good.AuthorizedLine}})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	p.Client.Start(t, "ssh-agent", "-D", "-a", sock)
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil })
	for range 7 {
		k := lab.NewUserKey(t, "ed25519")
		p.Client.Run(t, "env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-q", k.PrivPath)
	}
	p.Client.Run(t, "env", "SSH_AUTH_SOCK="+sock, "ssh-add", "-q", good.PrivPath)
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host web1\n  HostName %s\n  User root\n", p.Server.Addr4)), 0o600)
	kh := emptyFile(t)
	agent := "SSH_AUTH_SOCK=" + sock
	if err := clientSSH(p, cfg, kh, agent); err == nil {
		t.Fatal("ssh should hit 'Too many authentication failures'")
	}
	_, errOut, code := p.Client.RunTool(t, []string{agent}, "fix", "-F", cfg, "--known-hosts", kh, "web1", "--apply", "--yes")
	if code != 0 {
		t.Fatalf("fix: exit %d\n%s", code, errOut)
	}
	got, _ := os.ReadFile(cfg)
	if !strings.Contains(string(got), "IdentitiesOnly yes") || !strings.Contains(string(got), "IdentityFile ") {
		t.Errorf("config after the fix:\n%s", got)
	}
	if err := clientSSH(p, cfg, kh, agent); err != nil {
		t.Errorf("ssh after the fix: %v", err)
	}
}

func TestFixClientHostKeyChangedOnlyWhenAsked(t *testing.T) {
	p := lab.NewPair(t)
	key := lab.NewUserKey(t, "ed25519")
	p.Server.StartSSHD(t, lab.SSHDOptions{HostKeyTypes: []string{"ed25519"}, AuthorizedKeys: []string{key.AuthorizedLine}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host web1\n  HostName %s\n  User root\n  IdentityFile %s\n", p.Server.Addr4, key.PrivPath)), 0o600)
	// known_hosts records another key for the server, hashed as Debian's
	// HashKnownHosts does, after an unrelated entry.
	old := lab.NewUserKey(t, "ed25519")
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte("other.example "+strings.Join(strings.Fields(old.AuthorizedLine)[:2], " ")+"\n"), 0o644)
	p.Client.Run(t, "sh", "-c", fmt.Sprintf("echo '%s %s' >> %s && ssh-keygen -H -f %s && rm -f %s.old", p.Server.Addr4, strings.Join(strings.Fields(old.AuthorizedLine)[:2], " "), kh, kh, kh))
	strict := func() error {
		return p.Client.Command(context.Background(), "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
			"-o", "UserKnownHostsFile="+kh, "web1", "true").Run()
	}
	if strict() == nil {
		t.Fatal("ssh should refuse the changed host key")
	}
	before, _ := os.ReadFile(kh)
	// Without --only, known_hosts is left alone and the plan says why.
	out, _, _ := p.Client.RunTool(t, nil, "fix", "-F", cfg, "--known-hosts", kh, "web1", "--apply", "--yes")
	if now, _ := os.ReadFile(kh); string(now) != string(before) {
		t.Fatalf("known_hosts changed without --only:\n%s", out)
	}
	if !strings.Contains(out, "--only hostkey.changed") {
		t.Errorf("the plan should say how to ask for it:\n%s", out)
	}
	_, errOut, code := p.Client.RunTool(t, nil, "fix", "-F", cfg, "--known-hosts", kh, "web1", "--only", "hostkey.changed", "--apply", "--yes")
	if code != 0 {
		t.Fatalf("fix --only hostkey.changed: exit %d\n%s", code, errOut)
	}
	// The unrelated entry stays, the stale one is gone, the new one is
	// hashed like the rest of the file.
	now, _ := os.ReadFile(kh)
	lines := strings.Split(strings.TrimSpace(string(now)), "\n")
	if len(lines) != 2 || lines[0] != strings.Split(string(before), "\n")[0] || !strings.HasPrefix(lines[1], "|1|") {
		t.Errorf("known_hosts after the fix:\n%s\nbefore:\n%s", now, before)
	}
	if err := strict(); err != nil {
		t.Errorf("ssh with StrictHostKeyChecking=yes after the fix: %v", err)
	}
}
