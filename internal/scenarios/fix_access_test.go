package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// The proofs of `sshdoctor fix` for authorized_keys and accounts: each
// breaks a real Debian host (a systemd container) the way people do, shows
// that the real OpenSSH client cannot log in, runs `sshdoctor fix --apply
// --yes` inside, and shows that the same login then works; a second apply
// plans nothing, and `fix --undo` puts the broken state back exactly. The
// same repairs are proven on offline --root trees through the binary.

// accLogin runs the real ssh client from the client host as user, with
// only key, and returns nil if it logged in (lab.Login logs in as root).
func accLogin(t *testing.T, s *serverHost, user string, key *lab.Key) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	cmd := s.Client.Command(ctx, "ssh", "-F", "none",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"-i", key.PrivPath, "-l", user, "-p", "22", s.Server.Addr4.String(), "true")
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + t.TempDir(), "LANG=C"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("running ssh: %v", err)
	}
	return fmt.Errorf("ssh -l %s %s: exit %d: %s", user, s.Server.Addr4, ee.ExitCode(), strings.TrimSpace(string(out)))
}

// accMustLogin and accMustNotLogin assert what the real client sees.
func accMustLogin(t *testing.T, s *serverHost, user string, key *lab.Key, when string) {
	t.Helper()
	if err := accLogin(t, s, user, key); err != nil {
		t.Fatalf("%s: the real ssh cannot log in as %s: %v\n%s", when, user, err, s.C.Run(t, "journalctl", "-u", "ssh", "-n", "15", "--no-pager"))
	}
}

func accMustNotLogin(t *testing.T, s *serverHost, user string, key *lab.Key, when string) {
	t.Helper()
	err := accLogin(t, s, user, key)
	if err == nil {
		t.Fatalf("%s: the real ssh logs in as %s, but it should be refused", when, user)
	}
	if !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("%s: want Permission denied, got %v", when, err)
	}
}

// accAddUser creates user in the container (its own /etc/passwd) with key
// authorized as a careful admin leaves it: 0700 ~/.ssh, 0600 file.
func accAddUser(t *testing.T, s *serverHost, user string, key *lab.Key) {
	t.Helper()
	s.C.Run(t, "useradd", "-m", "-s", "/bin/bash", user)
	if key != nil {
		s.C.Run(t, "sh", "-c", fmt.Sprintf(`install -d -m 700 -o %[1]s -g %[1]s /home/%[1]s/.ssh && printf '%%s\n' '%[2]s' > /home/%[1]s/.ssh/authorized_keys && chown %[1]s:%[1]s /home/%[1]s/.ssh/authorized_keys && chmod 600 /home/%[1]s/.ssh/authorized_keys`, user, key.AuthorizedLine))
	}
}

// accFixResult is what `sshdoctor fix --json` prints, the parts the proofs read.
type accFixResult struct {
	Applied bool `json:"applied"`
	Plan    []struct {
		Finding string `json:"finding"`
		Kind    string `json:"kind"`
		Summary string `json:"summary"`
		Path    string `json:"path"`
		Risk    string `json:"risk"`
	} `json:"plan"`
	Skipped []string `json:"skipped"`
	Status  string   `json:"status"`
	OK      bool     `json:"ok"`
}

// accFix runs `sshdoctor fix ARGS` inside the container.
func (s *serverHost) accFix(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
	defer cancel()
	cmd := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", append([]string{"fix"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sshdoctor fix %q: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String(), code
}

// accApply runs `fix --apply --yes --confirm-timeout 0 --json ARGS` and
// fails unless it applied and the diagnosis after it is clean.
func (s *serverHost) accApply(t *testing.T, args ...string) accFixResult {
	t.Helper()
	out, errOut, code := s.accFix(t, append([]string{"--apply", "--yes", "--confirm-timeout", "0", "--json"}, args...)...)
	var r accFixResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("fix %q: not one JSON document: %v\n%s\n%s", args, err, out, errOut)
	}
	if code != 0 || !r.Applied || r.Status != "applied" || !r.OK {
		t.Fatalf("fix %q: exit %d, applied %v, status %q, ok %v\n%s\n%s", args, code, r.Applied, r.Status, r.OK, out, errOut)
	}
	return r
}

// accNothingLeft asserts that a second apply right after the first plans
// nothing.
func (s *serverHost) accNothingLeft(t *testing.T, args ...string) {
	t.Helper()
	out, errOut, _ := s.accFix(t, append([]string{"--apply", "--yes", "--confirm-timeout", "0"}, args...)...)
	if !strings.Contains(out, "Nothing to change.") {
		t.Errorf("a second apply must plan nothing:\n%s\n%s", out, errOut)
	}
}

func (s *serverHost) accUndo(t *testing.T) {
	t.Helper()
	out, errOut, code := s.accFix(t, "--undo")
	if code != 0 || !strings.Contains(out, "Restored") {
		t.Fatalf("fix --undo: exit %d\n%s\n%s", code, out, errOut)
	}
}

// accStat is "MODE OWNER:GROUP" of a path inside the container.
func (s *serverHost) accStat(t *testing.T, p string) string {
	t.Helper()
	return strings.TrimSpace(s.C.Run(t, "stat", "-c", "%a %U:%G", p))
}

func (s *serverHost) accRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(s.C.Path(p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFixAccessGroupWritableSSHDir(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", key)
	accMustLogin(t, s, "alice", key, "healthy")
	// "users" has no members: not alice's private group, so StrictModes
	// (even Debian's) refuses the group write.
	s.C.Run(t, "sh", "-c", "chgrp users /home/alice/.ssh && chmod 770 /home/alice/.ssh")
	accMustNotLogin(t, s, "alice", key, "group-writable ~/.ssh")

	r := s.accApply(t, "--user", "alice")
	if len(r.Plan) != 1 || r.Plan[0].Kind != "chmod" || r.Plan[0].Path != "/home/alice/.ssh" {
		t.Errorf("want exactly one chmod of ~/.ssh: %+v", r.Plan)
	}
	if got := s.accStat(t, "/home/alice/.ssh"); got != "750 alice:users" {
		t.Errorf("~/.ssh is %s: only the group's write bit should go", got)
	}
	accMustLogin(t, s, "alice", key, "after fix")
	s.accNothingLeft(t, "--user", "alice")

	s.accUndo(t)
	if got := s.accStat(t, "/home/alice/.ssh"); got != "770 alice:users" {
		t.Errorf("after undo ~/.ssh is %s, want 770 alice:users", got)
	}
	accMustNotLogin(t, s, "alice", key, "after undo")
}

func TestFixAccessKeyNotInstalled(t *testing.T) {
	s := bootServer(t, nil)
	other := lab.NewUserKey(t, "ed25519")
	key := lab.NewUserKey(t, "ecdsa")
	accAddUser(t, s, "alice", other)
	// The admin's own file: a comment, another key, no final newline.
	before := "# alice's laptop\n" + other.AuthorizedLine
	s.C.WriteFile(t, "/home/alice/.ssh/authorized_keys", []byte(before), 0o600)
	s.C.Run(t, "chown", "alice:alice", "/home/alice/.ssh/authorized_keys")
	accMustNotLogin(t, s, "alice", key, "key not installed")

	r := s.accApply(t, "--user", "alice", "--key", key.AuthorizedLine)
	if len(r.Plan) != 1 || r.Plan[0].Finding != "authkeys.key-absent" || r.Plan[0].Kind != "write" {
		t.Errorf("want one write of authorized_keys: %+v", r.Plan)
	}
	if got, want := s.accRead(t, "/home/alice/.ssh/authorized_keys"), before+"\n"+key.AuthorizedLine+"\n"; got != want {
		t.Errorf("authorized_keys:\n%q\nwant\n%q", got, want)
	}
	if got := s.accStat(t, "/home/alice/.ssh/authorized_keys"); got != "600 alice:alice" {
		t.Errorf("authorized_keys is %s", got)
	}
	accMustLogin(t, s, "alice", key, "after fix")
	accMustLogin(t, s, "alice", other, "the other key after fix")
	s.accNothingLeft(t, "--user", "alice", "--key", key.AuthorizedLine)

	s.accUndo(t)
	if got := s.accRead(t, "/home/alice/.ssh/authorized_keys"); got != before {
		t.Errorf("after undo:\n%q\nwant\n%q", got, before)
	}
	accMustNotLogin(t, s, "alice", key, "after undo")
}

func TestFixAccessNoSSHDir(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", nil)
	accMustNotLogin(t, s, "alice", key, "no ~/.ssh")

	s.accApply(t, "--user", "alice", "--key", key.AuthorizedLine)
	if got := s.accStat(t, "/home/alice/.ssh"); got != "700 alice:alice" {
		t.Errorf("~/.ssh is %s", got)
	}
	if got := s.accStat(t, "/home/alice/.ssh/authorized_keys"); got != "600 alice:alice" {
		t.Errorf("authorized_keys is %s", got)
	}
	accMustLogin(t, s, "alice", key, "after fix")
	s.accNothingLeft(t, "--user", "alice", "--key", key.AuthorizedLine)

	s.accUndo(t)
	if _, err := os.Lstat(s.C.Path("/home/alice/.ssh")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after undo ~/.ssh should be gone: %v", err)
	}
}

func TestFixAccessKeysOwnedByAnotherUser(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", key)
	accAddUser(t, s, "bob", nil)
	s.C.Run(t, "chown", "bob:bob", "/home/alice/.ssh/authorized_keys")
	s.C.Run(t, "chmod", "644", "/home/alice/.ssh/authorized_keys")
	accMustNotLogin(t, s, "alice", key, "authorized_keys owned by bob")

	r := s.accApply(t, "--user", "alice")
	if len(r.Plan) != 1 || r.Plan[0].Kind != "chown" {
		t.Errorf("want exactly one chown: %+v", r.Plan)
	}
	if got := s.accStat(t, "/home/alice/.ssh/authorized_keys"); got != "644 alice:bob" {
		t.Errorf("authorized_keys is %s: only the owner should change", got)
	}
	accMustLogin(t, s, "alice", key, "after fix")
	s.accNothingLeft(t, "--user", "alice")

	s.accUndo(t)
	if got := s.accStat(t, "/home/alice/.ssh/authorized_keys"); got != "644 bob:bob" {
		t.Errorf("after undo authorized_keys is %s", got)
	}
	accMustNotLogin(t, s, "alice", key, "after undo")
}

func TestFixAccessWrappedKey(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", nil)
	// Pasted from a terminal that wrapped it: two lines, neither a key.
	half := len(key.AuthorizedLine) / 2
	wrapped := key.AuthorizedLine[:half] + "\n" + key.AuthorizedLine[half:] + "\n"
	s.C.Run(t, "sh", "-c", "install -d -m 700 -o alice -g alice /home/alice/.ssh")
	s.C.WriteFile(t, "/home/alice/.ssh/authorized_keys", []byte(wrapped), 0o600)
	s.C.Run(t, "chown", "alice:alice", "/home/alice/.ssh/authorized_keys")
	accMustNotLogin(t, s, "alice", key, "wrapped key")

	r := s.accApply(t, "--user", "alice", "--key", key.AuthorizedLine)
	writes := 0
	for _, st := range r.Plan {
		if st.Kind == "write" {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("want one write for both findings: %+v", r.Plan)
	}
	want := "# sshdoctor: invalid: " + key.AuthorizedLine[:half] + "\n# sshdoctor: invalid: " + key.AuthorizedLine[half:] + "\n" + key.AuthorizedLine + "\n"
	if got := s.accRead(t, "/home/alice/.ssh/authorized_keys"); got != want {
		t.Errorf("authorized_keys:\n%s\nwant:\n%s", got, want)
	}
	accMustLogin(t, s, "alice", key, "after fix")
	s.accNothingLeft(t, "--user", "alice", "--key", key.AuthorizedLine)

	s.accUndo(t)
	if got := s.accRead(t, "/home/alice/.ssh/authorized_keys"); got != wrapped {
		t.Errorf("after undo:\n%q\nwant\n%q", got, wrapped)
	}
}

func TestFixAccessLockedAccountOnlyWhenAsked(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", key)
	// With UsePAM no, sshd itself refuses a locked account, keys included.
	s.C.WriteFile(t, "/etc/ssh/sshd_config.d/10-nopam.conf", []byte("UsePAM no\n"), 0o644)
	s.C.Run(t, "sh", "-c", "echo alice:Correct-Horse-7 | chpasswd && usermod -L alice && systemctl restart ssh")
	accMustNotLogin(t, s, "alice", key, "locked account")
	shadowLine := func() string {
		for _, l := range strings.Split(s.accRead(t, "/etc/shadow"), "\n") {
			if strings.HasPrefix(l, "alice:") {
				return l
			}
		}
		t.Fatal("no shadow line for alice")
		return ""
	}
	locked := shadowLine()
	if !strings.HasPrefix(locked, "alice:!$") {
		t.Fatalf("setup: %q", locked)
	}

	// Without --only: left alone, and the plan says how to ask.
	out, errOut, _ := s.accFix(t, "--user", "alice", "--apply", "--yes", "--confirm-timeout", "0")
	if !strings.Contains(out, "Left alone:") || !strings.Contains(out, "--only account.locked") || !strings.Contains(out, "Nothing to change.") {
		t.Errorf("the plan must leave the account alone and say why:\n%s\n%s", out, errOut)
	}
	if got := shadowLine(); got != locked {
		t.Errorf("without --only the account changed: %q", got)
	}
	accMustNotLogin(t, s, "alice", key, "without --only")

	r := s.accApply(t, "--user", "alice", "--only", "account.locked")
	if len(r.Plan) != 1 || !strings.Contains(r.Plan[0].Risk, "only alice") {
		t.Errorf("one step that says who is affected: %+v", r.Plan)
	}
	if got := shadowLine(); got != "alice:"+strings.TrimPrefix(locked, "alice:!") {
		t.Errorf("after fix: %q (only the \"!\" should go)", got)
	}
	accMustLogin(t, s, "alice", key, "after fix --only account.locked")
	s.accNothingLeft(t, "--user", "alice", "--only", "account.locked")

	s.accUndo(t)
	if got := shadowLine(); got != locked {
		t.Errorf("after undo %q, want %q", got, locked)
	}
	accMustNotLogin(t, s, "alice", key, "after undo")
}

// accGuarded runs a guarded `fix --apply` in the container and, while it
// waits, proves from a NEW session that user still logs in (the test an
// admin does before keeping a change), then confirms with `sshdoctor
// confirm`. It returns fix's exit status and output.
func (s *serverHost) accGuarded(t *testing.T, user string, key *lab.Key, args ...string) (int, string) {
	t.Helper()
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), lab.CommandTimeout)
		defer cancel()
		cmd := s.C.Exec(ctx, "/usr/local/bin/sshdoctor", append([]string{"fix", "--apply", "--yes", "--confirm-timeout", "90s"}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		done <- result{code, string(out)}
	}()
	deadline := time.After(lab.CommandTimeout)
	for {
		select {
		case r := <-done:
			t.Fatalf("fix ended before it was confirmed: exit %d\n%s", r.code, r.out)
		case <-deadline:
			t.Fatal("fix never waited for confirmation")
		case <-time.After(200 * time.Millisecond):
		}
		out, _ := s.C.Exec(context.Background(), "sh", "-c", "cat /var/lib/sshdoctor/journal/*/manifest.json 2>/dev/null").Output()
		if strings.Contains(string(out), `"status": "awaiting-confirmation"`) {
			break
		}
	}
	accMustLogin(t, s, user, key, "while the change waits for confirmation")
	s.C.Run(t, "/usr/local/bin/sshdoctor", "confirm")
	r := <-done
	return r.code, r.out
}

func TestFixAccessDenyUsersLive(t *testing.T) {
	s := bootServer(t, nil)
	key := lab.NewUserKey(t, "ed25519")
	accAddUser(t, s, "alice", key)
	deny := "# nobody from the old team\nDenyUsers bob alice\n"
	s.C.WriteFile(t, "/etc/ssh/sshd_config.d/20-deny.conf", []byte(deny), 0o644)
	s.C.Run(t, "systemctl", "restart", "ssh")
	accMustNotLogin(t, s, "alice", key, "DenyUsers alice")

	code, out := s.accGuarded(t, "alice", key, "--user", "alice", "--only", "access.denied-by-config")
	if code != 0 || !strings.Contains(out, "confirmed") {
		t.Fatalf("fix: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, `everyone "alice" matched: alice`) {
		t.Errorf("the plan must say who the change lets in:\n%s", out)
	}
	if got := s.accRead(t, "/etc/ssh/sshd_config.d/20-deny.conf"); got != "# nobody from the old team\nDenyUsers bob\n" {
		t.Errorf("20-deny.conf: %q", got)
	}
	accMustLogin(t, s, "alice", key, "after the confirmed fix")
	s.accNothingLeft(t, "--user", "alice", "--only", "access.denied-by-config")

	// Undo restores the file and restarts sshd, which refuses alice again.
	s.accUndo(t)
	if got := s.accRead(t, "/etc/ssh/sshd_config.d/20-deny.conf"); got != deny {
		t.Errorf("after undo: %q", got)
	}
	accMustNotLogin(t, s, "alice", key, "after undo")
}

// ---------------------------------------------------------------------------
// offline trees

// accFix runs `sshdoctor fix --root TREE ARGS` on this machine.
func (tr *tree) accFix(args ...string) (stdout, stderr string, code int) {
	tr.t.Helper()
	cmd := exec.Command(lab.Tool(tr.t), append([]string{"fix", "--root", tr.Root}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		tr.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// accSnapshot records the tree's files (type, mode, owner, content or link
// target), without the journal and shadow-utils' own backups.
func (tr *tree) accSnapshot() map[string]string {
	tr.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(tr.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tr.Root, p)
		if rel == "var" {
			return filepath.SkipDir
		}
		if strings.HasSuffix(rel, "-") || strings.HasSuffix(rel, ".pwd.lock") {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			desc += " " + strconv.Quote(string(b))
		} else if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		tr.t.Fatal(err)
	}
	return out
}

func TestFixAccessOffline(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(tr *tree)
		args   []string // KEY is the tree's key, OTHER a new one
		code   string
		after  func(t *testing.T, tr *tree)
	}{
		{"group-writable .ssh", func(tr *tree) {
			tr.mkdir("/home/deploy/.ssh", 0o775, 1000)
			tr.write("/etc/group", "root:x:0:\nusers:x:100:deploy,alice\ndeploy:x:1000:alice\n", 0o644)
		}, []string{"--user", "deploy"}, "authkeys.permissions", func(t *testing.T, tr *tree) {
			if fi, _ := os.Stat(tr.path("/home/deploy/.ssh")); fi.Mode().Perm() != 0o755 {
				t.Errorf(".ssh %v", fi.Mode())
			}
		}},
		{"authorized_keys owned by another user", func(tr *tree) {
			tr.chown("/home/deploy/.ssh/authorized_keys", 1001)
		}, []string{"--user", "deploy"}, "authkeys.permissions", func(t *testing.T, tr *tree) {
			fi, _ := os.Stat(tr.path("/home/deploy/.ssh/authorized_keys"))
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1001 {
				t.Errorf("owner %d:%d, want 1000:1001 (the group is not sshd's business)", st.Uid, st.Gid)
			}
		}},
		{"a garbage line", func(tr *tree) {
			tr.write("/home/deploy/.ssh/authorized_keys", tr.Key.AuthorizedLine+"\nthis is not a key\n", 0o600)
			tr.chown("/home/deploy/.ssh/authorized_keys", 1000)
		}, []string{"--user", "deploy"}, "authkeys.invalid-entry", func(t *testing.T, tr *tree) {
			b, _ := os.ReadFile(tr.path("/home/deploy/.ssh/authorized_keys"))
			if want := tr.Key.AuthorizedLine + "\n# sshdoctor: invalid: this is not a key\n"; string(b) != want {
				t.Errorf("%q, want %q", b, want)
			}
		}},
		{"a key that is absent", func(tr *tree) {}, []string{"--user", "deploy", "--key", "OTHER"}, "authkeys.key-absent", nil},
		{"no authorized_keys", func(tr *tree) {
			os.Remove(tr.path("/home/deploy/.ssh/authorized_keys"))
			os.Remove(tr.path("/home/deploy/.ssh"))
		}, []string{"--user", "deploy", "--key", "KEY"}, "authkeys.missing", func(t *testing.T, tr *tree) {
			fi, err := os.Stat(tr.path("/home/deploy/.ssh/authorized_keys"))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 || fi.Mode().Perm() != 0o600 {
				t.Errorf("authorized_keys %v %d:%d", fi.Mode(), st.Uid, st.Gid)
			}
		}},
		{"locked account", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/05-nopam.conf", "UsePAM no\n", 0o644)
			tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:!$y$j9T$abc$def:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n", 0o640)
		}, []string{"--user", "deploy", "--only", "account.locked"}, "account.locked", nil},
		{"expired account", func(tr *tree) {
			tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:$y$j9T$abc$def:19000:0:99999:7::19001:\nsshd:*:19000:0:99999:7:::\n", 0o640)
		}, []string{"--user", "deploy", "--only", "account.expired"}, "account.expired", nil},
		{"DenyUsers", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/20-deny.conf", "DenyUsers deploy\n", 0o644)
		}, []string{"--user", "deploy", "--only", "access.denied-by-config"}, "access.denied-by-config", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			tr.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000:Deploy:/home/deploy:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n", 0o644)
			c.break_(tr)
			args := append([]string{}, c.args...)
			for i, a := range args {
				switch a {
				case "OTHER":
					args[i] = lab.NewUserKey(t, "ed25519").AuthorizedLine
				case "KEY":
					args[i] = tr.Key.AuthorizedLine
				}
			}
			var serverArgs []string
			for i := 0; i < len(args); i++ {
				if args[i] == "--only" {
					i++
					continue
				}
				serverArgs = append(serverArgs, args[i])
			}
			if r, _ := tr.server(serverArgs...); r.Find(c.code) == nil {
				t.Fatalf("setup: no %s\n%s", c.code, dump(r))
			}
			before := tr.accSnapshot()
			out, errOut, code := tr.accFix(append(args, "--apply", "--yes")...)
			if code != 0 {
				t.Fatalf("fix: exit %d\n%s\n%s", code, out, errOut)
			}
			if r, _ := tr.server(serverArgs...); r.Find(c.code) != nil {
				t.Errorf("still %s after the fix\n%s\n%s", c.code, out, dump(r))
			}
			if c.after != nil {
				c.after(t, tr)
			}
			if out2, _, _ := tr.accFix(append(args, "--apply", "--yes")...); !strings.Contains(out2, "Nothing to change.") {
				t.Errorf("a second apply must plan nothing:\n%s", out2)
			}
			out, errOut, code = tr.accFix("--undo")
			if code != 0 {
				t.Fatalf("undo: exit %d\n%s\n%s", code, out, errOut)
			}
			after := tr.accSnapshot()
			for p, b := range before {
				if after[p] != b {
					t.Errorf("%s after undo:\n  %s\nwant\n  %s", p, after[p], b)
				}
			}
			for p, a := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("%s left after undo: %s", p, a)
				}
			}
		})
	}
}

// TestFixAccessOfflineNeedsConsent: an account finding is planned only with
// --only, and without it the tree is untouched and the plan says why.
func TestFixAccessOfflineNeedsConsent(t *testing.T) {
	tr := newTree(t)
	tr.write("/etc/nologin", "maintenance\n", 0o644)
	before := tr.accSnapshot()
	out, errOut, _ := tr.accFix("--user", "deploy", "--apply", "--yes")
	if !strings.Contains(out, "account.nologin-file") || !strings.Contains(out, "--only account.nologin-file") {
		t.Errorf("the plan must say the account is left alone and how to ask:\n%s\n%s", out, errOut)
	}
	after := tr.accSnapshot()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s changed without --only", p)
		}
	}
	if _, err := os.Stat(tr.path("/etc/nologin")); err != nil {
		t.Errorf("/etc/nologin: %v", err)
	}
}
