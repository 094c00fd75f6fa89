package fix

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
	"github.com/sshdoctor/sshdoctor/internal/diag"
	"github.com/sshdoctor/sshdoctor/report"
)

// accRequire skips a test that chowns files and runs the account tools
// unless it runs as root with them installed; with CI=true it fails.
func accRequire(t *testing.T, tools ...string) {
	t.Helper()
	var why []string
	if os.Geteuid() != 0 {
		why = append(why, "not root (the tree's files belong to other uids)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			why = append(why, tool+" is not installed")
		}
	}
	if len(why) == 0 {
		return
	}
	msg := "fix: " + strings.Join(why, "; ") + "; run as root on Debian (package passwd)"
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(msg + " (CI=true: failing, not skipping)")
	}
	t.Skip(msg)
}

// accKey is a fresh ed25519 public key line.
func accKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}

// accTree is an offline Debian-like system: deploy (uid 1000, private
// group), bob (1001), a staff group they share, Debian's sshd_config with
// its drop-in directory, a host key, and deploy's key with the right modes.
type accTree struct {
	t    *testing.T
	Root string
	Key  string // deploy's authorized key line
}

func newAccTree(t *testing.T) *accTree {
	t.Helper()
	accRequire(t, "usermod", "chage")
	tr := &accTree{t: t, Root: t.TempDir(), Key: accKey(t, "deploy@laptop")}
	if err := os.Chmod(tr.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	tr.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000:Deploy:/home/deploy:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n", 0o644, 0)
	tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:$y$j9T$abcdefgh$ijklmnop:19000:0:99999:7:::\nbob:!:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n", 0o640, 0)
	tr.write("/etc/group", "root:x:0:\nusers:x:100:\ndeploy:x:1000:\nbob:x:1001:\nstaff:x:50:deploy,bob\nadmins:x:60:bob\n", 0o644, 0)
	tr.write("/etc/debian_version", "12.5\n", 0o644, 0)
	tr.write("/etc/pam.d/sshd", "@include common-auth\naccount    required     pam_nologin.so\n@include common-account\n", 0o644, 0)
	tr.write("/etc/shells", "/bin/sh\n/bin/bash\n", 0o644, 0)
	tr.write("/bin/bash", "#!fake\n", 0o755, 0)
	tr.write("/bin/sh", "#!fake\n", 0o755, 0)
	tr.write("/usr/sbin/nologin", "#!fake\n", 0o755, 0)
	if sshd, err := os.ReadFile("/usr/sbin/sshd"); err == nil {
		// The tree's sshd cannot run chrooted (no libraries), so the
		// validator falls back to sshdoctor's parser, as on a foreign disk.
		tr.write("/usr/sbin/sshd", string(sshd), 0o755, 0)
	}
	tr.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n", 0o644, 0)
	tr.mkdir("/etc/ssh/sshd_config.d", 0o755, 0)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	tr.write("/etc/ssh/ssh_host_ed25519_key", string(pem.EncodeToMemory(block)), 0o600, 0)
	sp, _ := ssh.NewPublicKey(priv.Public())
	tr.write("/etc/ssh/ssh_host_ed25519_key.pub", string(ssh.MarshalAuthorizedKey(sp)), 0o644, 0)
	tr.mkdir("/home", 0o755, 0)
	tr.mkdir("/home/deploy", 0o755, 1000)
	tr.mkdir("/home/deploy/.ssh", 0o700, 1000)
	tr.write("/home/deploy/.ssh/authorized_keys", tr.Key+"\n", 0o600, 1000)
	return tr
}

func (tr *accTree) path(p string) string { return filepath.Join(tr.Root, p) }

func (tr *accTree) write(p, content string, mode os.FileMode, uid int) {
	tr.t.Helper()
	full := tr.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		tr.t.Fatal(err)
	}
	tr.own(p, mode, uid, uid)
}

func (tr *accTree) mkdir(p string, mode os.FileMode, uid int) {
	tr.t.Helper()
	if err := os.MkdirAll(tr.path(p), mode); err != nil {
		tr.t.Fatal(err)
	}
	tr.own(p, mode, uid, uid)
}

func (tr *accTree) own(p string, mode os.FileMode, uid, gid int) {
	tr.t.Helper()
	if err := os.Chown(tr.path(p), uid, gid); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(tr.path(p), mode); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *accTree) read(p string) string {
	tr.t.Helper()
	b, err := os.ReadFile(tr.path(p))
	if err != nil {
		tr.t.Fatal(err)
	}
	return string(b)
}

// diagnose runs the server diagnosis on the tree, as `sshdoctor server
// --root` does.
func (tr *accTree) diagnose(o diag.ServerOptions) (*report.Report, *diag.ServerFacts) {
	tr.t.Helper()
	o.Root = tr.Root
	r, f, err := diag.Server(context.Background(), o)
	if err != nil {
		tr.t.Fatal(err)
	}
	return r, f
}

// plan diagnoses and plans, as `sshdoctor fix --root` does.
func (tr *accTree) plan(o diag.ServerOptions, only ...string) (*Plan, *report.Report) {
	tr.t.Helper()
	r, f := tr.diagnose(o)
	return PlanServer(r.Findings, f, only), r
}

func (tr *accTree) state() string { return filepath.Join(tr.Root, "var/lib/sshdoctor") }

// apply carries the plan out with the validator `fix --root` uses.
func (tr *accTree) apply(p *Plan) {
	tr.t.Helper()
	v := SSHDValidator{Root: tr.Root}
	if _, err := os.Stat(tr.path("/usr/sbin/sshd")); err != nil {
		v = SSHDValidator{}
	}
	opts := Options{StateDir: tr.state()}
	if v.Root != "" {
		opts.Validate = v.Validate
	}
	if _, err := Apply(context.Background(), p, opts); err != nil {
		tr.t.Fatalf("apply: %v\nplan:\n%s", err, p.Render())
	}
}

func (tr *accTree) undo() {
	tr.t.Helper()
	if _, err := Undo(context.Background(), Options{StateDir: tr.state()}); err != nil {
		tr.t.Fatalf("undo: %v", err)
	}
}

// snapshot records every file of the tree: type, mode, owner and content
// (or link target). The journal and the backups shadow-utils leaves
// (passwd-, shadow-, .pwd.lock) are not part of the system's state.
func (tr *accTree) snapshot() map[string]string {
	tr.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(tr.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tr.Root, p)
		if rel == "var" {
			return filepath.SkipDir // only the journal lives there
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
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + strconv.Quote(string(b))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		tr.t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s is gone after undo (was %s)", p, b)
		} else if a != b {
			t.Errorf("%s after undo:\n  %s\nwant\n  %s", p, a, b)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s is left after undo: %s", p, a)
		}
	}
}

func stepsFor(p *Plan, code string) []Step {
	var out []Step
	for _, s := range p.Steps {
		if s.Finding == code {
			out = append(out, s)
		}
	}
	return out
}

func noFinding(t *testing.T, r *report.Report, code string) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Code == code && f.Severity != check.SeverityInfo {
			t.Errorf("still %s (%s): %s", code, f.Severity, f.Detail)
		}
	}
}

func modeOwner(t *testing.T, p string) (os.FileMode, int, int) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), int(st.Uid), int(st.Gid)
}

// TestFixKeyPermissionsExactly breaks three components of deploy's path:
// the fix changes exactly those bits and owners, a second plan is empty,
// and undo puts back every mode and owner.
func TestFixKeyPermissionsExactly(t *testing.T) {
	tr := newAccTree(t)
	tr.own("/home/deploy", os.ModeSetgid|0o777, 1000, 1000)        // world-writable, setgid kept
	tr.own("/home/deploy/.ssh", 0o770, 1000, 50)                   // group staff has bob too
	tr.own("/home/deploy/.ssh/authorized_keys", 0o640, 1001, 1001) // bob's
	before := tr.snapshot()
	o := diag.ServerOptions{User: "deploy"}
	p, _ := tr.plan(o)
	steps := stepsFor(p, "authkeys.permissions")
	var got []string
	for _, s := range steps {
		rel, _ := filepath.Rel(tr.Root, s.Path)
		got = append(got, fmt.Sprintf("%s %s %v %d:%d", s.Kind, rel, s.Mode, s.UID, s.GID))
	}
	want := []string{
		"chmod home/deploy grwxrwxr-x 0:0",
		"chmod home/deploy/.ssh -rwxr-x--- 0:0",
		"chown home/deploy/.ssh/authorized_keys ---------- 1000:1001",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s\nplan:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), p.Render())
	}
	if len(p.Steps) != len(steps) {
		t.Errorf("only permission steps expected:\n%s", p.Render())
	}
	tr.apply(p)
	if m, _, _ := modeOwner(t, tr.path("/home/deploy")); m != os.ModeDir|os.ModeSetgid|0o775 {
		t.Errorf("home mode %v: only o-w should have gone", m)
	}
	if m, uid, gid := modeOwner(t, tr.path("/home/deploy/.ssh/authorized_keys")); m != 0o640 || uid != 1000 || gid != 1001 {
		t.Errorf("authorized_keys %v %d:%d: owner only should change", m, uid, gid)
	}
	r, _ := tr.diagnose(o)
	noFinding(t, r, "authkeys.permissions")
	if p2, _ := tr.plan(o); !p2.Empty() {
		t.Errorf("second plan not empty:\n%s", p2.Render())
	}
	tr.undo()
	sameSnapshot(t, before, tr.snapshot())
}

// TestFixKeysMissing creates ~/.ssh and authorized_keys with --key, owned
// by the user; without --key an empty file and a note; undo removes both.
func TestFixKeysMissing(t *testing.T) {
	for _, withKey := range []bool{true, false} {
		t.Run(fmt.Sprint("key=", withKey), func(t *testing.T) {
			tr := newAccTree(t)
			if err := os.RemoveAll(tr.path("/home/deploy/.ssh")); err != nil {
				t.Fatal(err)
			}
			before := tr.snapshot()
			o := diag.ServerOptions{User: "deploy"}
			if withKey {
				o.Key = tr.Key
			}
			p, _ := tr.plan(o)
			if n := len(stepsFor(p, "authkeys.missing")); n != 2 {
				t.Fatalf("want mkdir + write, got %d:\n%s", n, p.Render())
			}
			if !withKey && !strings.Contains(p.Render(), "ssh-copy-id") {
				t.Errorf("without --key the plan must say how to add one:\n%s", p.Render())
			}
			tr.apply(p)
			if m, uid, gid := modeOwner(t, tr.path("/home/deploy/.ssh")); m != os.ModeDir|0o700 || uid != 1000 || gid != 1000 {
				t.Errorf(".ssh %v %d:%d", m, uid, gid)
			}
			if m, uid, gid := modeOwner(t, tr.path("/home/deploy/.ssh/authorized_keys")); m != 0o600 || uid != 1000 || gid != 1000 {
				t.Errorf("authorized_keys %v %d:%d", m, uid, gid)
			}
			want := ""
			if withKey {
				want = tr.Key + "\n"
			}
			if got := tr.read("/home/deploy/.ssh/authorized_keys"); got != want {
				t.Errorf("content %q, want %q", got, want)
			}
			r, _ := tr.diagnose(o)
			if withKey {
				if !r.OK {
					t.Errorf("not fixed:\n%+v", r.Findings)
				}
			}
			if p2, _ := tr.plan(o); !p2.Empty() {
				t.Errorf("second plan not empty:\n%s", p2.Render())
			}
			tr.undo()
			sameSnapshot(t, before, tr.snapshot())
		})
	}
}

// TestFixKeysFileOneWrite: a key wrapped over two lines, a last line
// without its newline, and a --key that is absent give one write that
// comments out both halves and appends the key; the rest stays byte for
// byte, and undo restores the bytes.
func TestFixKeysFileOneWrite(t *testing.T) {
	tr := newAccTree(t)
	newKey := accKey(t, "deploy@new")
	half := len(newKey) / 2
	content := "# deploy's keys\n" + tr.Key + "\n" + newKey[:half] + "\n" + newKey[half:] + "\ncommand=\"x\" " + tr.Key
	tr.write("/home/deploy/.ssh/authorized_keys", content, 0o600, 1000)
	before := tr.snapshot()
	o := diag.ServerOptions{User: "deploy", Key: newKey}
	p, r := tr.plan(o)
	if r.Find("authkeys.invalid-entry") == nil || r.Find("authkeys.key-absent") == nil {
		t.Fatalf("findings: %+v", r.Findings)
	}
	var writes []Step
	for _, s := range p.Steps {
		if s.Kind == KindWrite {
			writes = append(writes, s)
		}
	}
	if len(writes) != 1 {
		t.Fatalf("want one write of authorized_keys, got:\n%s", p.Render())
	}
	if !strings.Contains(writes[0].Summary, "comment out lines 3, 4") || !strings.Contains(writes[0].Summary, "add the key") {
		t.Errorf("summary %q", writes[0].Summary)
	}
	tr.apply(p)
	want := "# deploy's keys\n" + tr.Key + "\n" + InvalidMarker + newKey[:half] + "\n" + InvalidMarker + newKey[half:] + "\ncommand=\"x\" " + tr.Key + "\n" + newKey + "\n"
	if got := tr.read("/home/deploy/.ssh/authorized_keys"); got != want {
		t.Errorf("content:\n%s\nwant:\n%s", got, want)
	}
	r, _ = tr.diagnose(o)
	if !r.OK || r.Find("authkeys.invalid-entry") != nil {
		t.Errorf("not fixed: %+v", r.Findings)
	}
	if p2, _ := tr.plan(o); !p2.Empty() {
		t.Errorf("second plan not empty:\n%s", p2.Render())
	}
	tr.undo()
	sameSnapshot(t, before, tr.snapshot())
}

// TestFixKeysRefusesSymlink: an authorized_keys that is a link (here to
// the tree's shadow file) is never written through.
func TestFixKeysRefusesSymlink(t *testing.T) {
	tr := newAccTree(t)
	os.Remove(tr.path("/home/deploy/.ssh/authorized_keys"))
	tr.write("/home/deploy/keys", tr.Key+"\n", 0o600, 1000)
	if err := os.Symlink("/etc/shadow", tr.path("/home/deploy/.ssh/authorized_keys")); err != nil {
		t.Fatal(err)
	}
	p, _ := tr.plan(diag.ServerOptions{User: "deploy", Key: accKey(t, "x")})
	for _, s := range p.Steps {
		if s.Kind == KindWrite {
			t.Errorf("writes through the link: %s", s.Path)
		}
	}
}

// TestFixAccountsNeedConsent: without --only nothing about the account
// changes and the plan says how to ask; with --only each code is fixed by
// the account tools (-R into the tree), the finding goes, and undo puts
// the files back byte for byte.
func TestFixAccountsNeedConsent(t *testing.T) {
	cases := []struct {
		code   string
		break_ func(tr *accTree)
		check  func(t *testing.T, tr *accTree)
	}{
		{"account.locked", func(tr *accTree) {
			tr.write("/etc/ssh/sshd_config.d/05-nopam.conf", "UsePAM no\n", 0o644, 0)
			tr.write("/etc/shadow", strings.Replace(tr.read("/etc/shadow"), "deploy:$y$", "deploy:!$y$", 1), 0o640, 0)
		}, func(t *testing.T, tr *accTree) {
			if !strings.Contains(tr.read("/etc/shadow"), "\ndeploy:$y$j9T$abcdefgh$ijklmnop:19000:") {
				t.Errorf("shadow:\n%s", tr.read("/etc/shadow"))
			}
		}},
		{"account.locked", func(tr *accTree) { // no password behind the lock
			tr.write("/etc/ssh/sshd_config.d/05-nopam.conf", "UsePAM no\n", 0o644, 0)
			tr.write("/etc/shadow", strings.Replace(tr.read("/etc/shadow"), "deploy:$y$j9T$abcdefgh$ijklmnop:", "deploy:!:", 1), 0o640, 0)
		}, func(t *testing.T, tr *accTree) {
			if !strings.Contains(tr.read("/etc/shadow"), "\ndeploy:*:19000:") {
				t.Errorf("shadow (the date of last change must stay):\n%s", tr.read("/etc/shadow"))
			}
		}},
		{"account.expired", func(tr *accTree) {
			tr.write("/etc/shadow", strings.Replace(tr.read("/etc/shadow"), "ijklmnop:19000:0:99999:7:::", "ijklmnop:19000:0:99999:7::19001:", 1), 0o640, 0)
		}, func(t *testing.T, tr *accTree) {
			if !strings.Contains(tr.read("/etc/shadow"), "ijklmnop:19000:0:99999:7:::\n") {
				t.Errorf("shadow:\n%s", tr.read("/etc/shadow"))
			}
		}},
		{"account.nologin-shell", func(tr *accTree) {
			tr.write("/etc/passwd", strings.Replace(tr.read("/etc/passwd"), "/home/deploy:/bin/bash", "/home/deploy:/usr/sbin/nologin", 1), 0o644, 0)
		}, func(t *testing.T, tr *accTree) {
			if !strings.Contains(tr.read("/etc/passwd"), "/home/deploy:/bin/bash\n") {
				t.Errorf("passwd:\n%s", tr.read("/etc/passwd"))
			}
		}},
		{"account.nologin-file", func(tr *accTree) {
			tr.write("/etc/nologin", "maintenance until 5\n", 0o644, 0)
		}, func(t *testing.T, tr *accTree) {
			if _, err := os.Stat(tr.path("/etc/nologin")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("/etc/nologin: %v", err)
			}
		}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, c.code), func(t *testing.T) {
			tr := newAccTree(t)
			c.break_(tr)
			before := tr.snapshot()
			o := diag.ServerOptions{User: "deploy"}
			p, r := tr.plan(o)
			if f := r.Find(c.code); f == nil || f.Severity != check.SeverityError {
				t.Fatalf("no %s error: %+v", c.code, r.Findings)
			}
			if !p.Empty() {
				t.Errorf("without --only the plan must change nothing:\n%s", p.Render())
			}
			if !slices.ContainsFunc(p.Skipped, func(s string) bool { return strings.Contains(s, "--only "+c.code) }) {
				t.Errorf("the plan must say how to ask for it: %q", p.Skipped)
			}
			p, _ = tr.plan(o, c.code)
			steps := stepsFor(p, c.code)
			if len(steps) == 0 {
				t.Fatalf("no steps with --only:\n%s", p.Render())
			}
			for _, s := range steps {
				if s.Risk == "" || !strings.Contains(s.Risk, "deploy") && !strings.Contains(s.Risk, "every user") {
					t.Errorf("the step must say who is affected: %q", s.Risk)
				}
				if s.Kind == KindExec && !slices.Contains(s.Command, tr.Root) && !strings.Contains(strings.Join(s.Command, " "), "-R "+tr.Root) {
					t.Errorf("offline, the tool must work in the tree (-R): %q", s.Command)
				}
			}
			tr.apply(p)
			c.check(t, tr)
			r, _ = tr.diagnose(o)
			noFinding(t, r, c.code)
			if p2, _ := tr.plan(o, c.code); !p2.Empty() {
				t.Errorf("second plan not empty:\n%s", p2.Render())
			}
			tr.undo()
			sameSnapshot(t, before, tr.snapshot())
		})
	}
}

// TestFixAccountsWithoutTools: with no usermod or chage the line is edited
// in the file itself, backed up, and undone byte for byte.
func TestFixAccountsWithoutTools(t *testing.T) {
	tr := newAccTree(t)
	tr.write("/etc/ssh/sshd_config.d/05-nopam.conf", "UsePAM no\n", 0o644, 0)
	shadow := strings.Replace(tr.read("/etc/shadow"), "deploy:$y$", "deploy:!$y$", 1)
	shadow = strings.Replace(shadow, "ijklmnop:19000:0:99999:7:::", "ijklmnop:19000:0:99999:7::19001:", 1)
	tr.write("/etc/shadow", shadow, 0o640, 0)
	saved := accLookPath
	accLookPath = func(string) (string, error) { return "", exec.ErrNotFound }
	t.Cleanup(func() { accLookPath = saved })
	before := tr.snapshot()
	o := diag.ServerOptions{User: "deploy"}
	p, _ := tr.plan(o, "account.locked")
	if len(p.Steps) != 1 || p.Steps[0].Kind != KindWrite || p.Steps[0].Diff != "" {
		t.Fatalf("want one write of shadow, without the hash in a diff:\n%s", p.Render())
	}
	tr.apply(p)
	if got := tr.read("/etc/shadow"); !strings.Contains(got, "\ndeploy:$y$j9T$abcdefgh$ijklmnop:19000:0:99999:7::19001:\n") {
		t.Errorf("shadow:\n%s", got)
	}
	if m, uid, _ := modeOwner(t, tr.path("/etc/shadow")); m != 0o640 || uid != 0 {
		t.Errorf("shadow mode %v owner %d", m, uid)
	}
	p, _ = tr.plan(o, "account.expired")
	tr.apply(p)
	r, _ := tr.diagnose(o)
	noFinding(t, r, "account.expired")
	tr.undo()
	tr.undo()
	sameSnapshot(t, before, tr.snapshot())
}

// TestFixAccessRules edits exactly the lines that refuse deploy, says who
// else gets in, and the diagnosis then lets deploy in.
func TestFixAccessRules(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		user  string
		want  map[string]string // file -> its content after the fix
		risk  string            // in some step's Risk
	}{
		{"DenyUsers with other patterns", map[string]string{"20-deny.conf": "# keep\nDenyUsers bob  deploy d*   # no deploys\n"}, "deploy",
			map[string]string{"20-deny.conf": "# keep\nDenyUsers bob # no deploys\n"}, `everyone "d*" matched: deploy`},
		{"DenyUsers alone", map[string]string{"20-deny.conf": "DenyUsers deploy\n"}, "deploy",
			map[string]string{"20-deny.conf": "# sshdoctor: no longer refuses deploy: DenyUsers deploy\n"}, `everyone "deploy" matched: deploy`},
		{"AllowUsers in a Match block", map[string]string{"20-allow.conf": "Match User deploy,bob\n\tAllowUsers bob\n"}, "deploy",
			map[string]string{"20-allow.conf": "Match User deploy,bob\n\tAllowUsers bob deploy\n"}, "only deploy, from any address"},
		{"DenyGroups then AllowGroups", map[string]string{"20-groups.conf": "DenyGroups staff\nAllowGroups admins\n"}, "deploy",
			map[string]string{"20-groups.conf": "# sshdoctor: no longer refuses staff: DenyGroups staff\nAllowGroups admins deploy\n"}, "every member of group deploy: deploy"},
		{"PermitRootLogin no", map[string]string{"20-root.conf": "PermitRootLogin no\n"}, "root",
			map[string]string{"20-root.conf": "PermitRootLogin prohibit-password\n"}, "root may log in with a key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newAccTree(t)
			if c.user == "root" {
				tr.mkdir("/root/.ssh", 0o700, 0)
				tr.write("/root/.ssh/authorized_keys", tr.Key+"\n", 0o600, 0)
			}
			for name, content := range c.files {
				tr.write("/etc/ssh/sshd_config.d/"+name, content, 0o644, 0)
			}
			before := tr.snapshot()
			o := diag.ServerOptions{User: c.user}
			p, r := tr.plan(o)
			if r.Find("access.denied-by-config") == nil {
				t.Fatalf("not denied: %+v", r.Findings)
			}
			if !p.Empty() {
				t.Errorf("without --only nothing changes:\n%s", p.Render())
			}
			p, _ = tr.plan(o, "access.denied-by-config")
			if !strings.Contains(p.Render(), c.risk) {
				t.Errorf("the plan must say who is affected (%q):\n%s", c.risk, p.Render())
			}
			tr.apply(p)
			for name, want := range c.want {
				if got := tr.read("/etc/ssh/sshd_config.d/" + name); got != want {
					t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
				}
			}
			r, _ = tr.diagnose(o)
			noFinding(t, r, "access.denied-by-config")
			if p2, _ := tr.plan(o, "access.denied-by-config"); !p2.Empty() {
				t.Errorf("second plan not empty:\n%s", p2.Render())
			}
			tr.undo()
			sameSnapshot(t, before, tr.snapshot())
		})
	}
}

// TestFixAlgorithmAndPassword: PubkeyAcceptedAlgorithms gains exactly the
// key's algorithm on the line that sets it; passwords are allowed for the
// user only, in a Match block.
func TestFixAlgorithmAndPassword(t *testing.T) {
	t.Run("algorithm", func(t *testing.T) {
		tr := newAccTree(t)
		tr.write("/etc/ssh/sshd_config.d/30-algos.conf", "PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256\n", 0o644, 0)
		o := diag.ServerOptions{User: "deploy", Key: tr.Key}
		p, _ := tr.plan(o)
		if !p.Empty() {
			t.Errorf("widening the accepted algorithms needs --only:\n%s", p.Render())
		}
		p, _ = tr.plan(o, "authkeys.algorithm-refused")
		if !strings.Contains(p.Render(), "every user") {
			t.Errorf("risk must name who is affected:\n%s", p.Render())
		}
		tr.apply(p)
		if got := tr.read("/etc/ssh/sshd_config.d/30-algos.conf"); got != "PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256,ssh-ed25519\n" {
			t.Errorf("30-algos.conf: %q", got)
		}
		if r, _ := tr.diagnose(o); !r.OK {
			t.Errorf("not fixed: %+v", r.Findings)
		}
	})
	t.Run("algorithm default", func(t *testing.T) {
		tr := newAccTree(t)
		key := accKey(t, "x")
		// An ssh-dss line: the default list refuses DSA.
		dsa := "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPAgzJgNGBlCHB6QDjlySZvbCjoW4C/VSdMDcUNSs8GpSuDa8OAzz2rtyvzkg9PKEfsAfvDlmNB7dajEK3WH4+RWqSoXwjgJpDsIsBodfzJRUWEhCjTedvUGfLg2gNHZVNS3vmCBDQ4bUzObBFmAcOFd4W+bLt87N9zVgFHOvCJv x@y"
		tr.write("/home/deploy/.ssh/authorized_keys", dsa+"\n", 0o600, 1000)
		o := diag.ServerOptions{User: "deploy", Key: dsa}
		_ = key
		p, r := tr.plan(o, "authkeys.algorithm-refused")
		if r.Find("authkeys.algorithm-refused") == nil {
			t.Skipf("this build does not judge DSA keys refused: %+v", r.Findings)
		}
		tr.apply(p)
		if got := tr.read("/etc/ssh/sshd_config.d/" + DropInName); !strings.Contains(got, "PubkeyAcceptedAlgorithms +ssh-dss\n") {
			t.Errorf("drop-in: %q", got)
		}
		if !strings.Contains(p.Render(), "DSA keys are 1024-bit") {
			t.Errorf("the risk of DSA must be said:\n%s", p.Render())
		}
	})
	t.Run("password", func(t *testing.T) {
		tr := newAccTree(t)
		tr.write("/etc/ssh/sshd_config.d/40-nopw.conf", "PasswordAuthentication no\n", 0o644, 0)
		before := tr.snapshot()
		o := diag.ServerOptions{User: "deploy", NeedPassword: true}
		p, _ := tr.plan(o, "auth.password-disabled")
		if !strings.Contains(p.Render(), "only deploy") {
			t.Errorf("risk must name who is affected:\n%s", p.Render())
		}
		tr.apply(p)
		got := tr.read("/etc/ssh/sshd_config")
		if !strings.HasSuffix(got, "\nMatch User deploy\n    PasswordAuthentication yes\n") || !strings.HasPrefix(got, "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\n") {
			t.Errorf("sshd_config:\n%s", got)
		}
		r, _ := tr.diagnose(o)
		noFinding(t, r, "auth.password-disabled")
		// Others keep passwords off.
		r, _ = tr.diagnose(diag.ServerOptions{User: "bob", NeedPassword: true})
		if r.Find("auth.password-disabled") == nil {
			t.Error("bob must still be refused passwords")
		}
		tr.undo()
		sameSnapshot(t, before, tr.snapshot())
	})
}

func TestEditKeys(t *testing.T) {
	k, err := authkeys.LoadKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH7Cjv1Ni0cqNfQxlw9Ml4h0n8tK5F5uHUkI1lO4Jr2F new")
	if err != nil {
		t.Fatal(err)
	}
	line := k.Line()
	cases := []struct {
		name, in string
		lines    []int
		want     string
	}{
		{"empty file", "", nil, line + "\n"},
		{"no final newline", "# c", nil, "# c\n" + line + "\n"},
		{"already there with options", `from="10.0.0.0/8" ` + line + "\n", nil, `from="10.0.0.0/8" ` + line + "\n"},
		{"CRLF kept", "# a\r\nbad line\r\n", []int{2}, "# a\r\n" + InvalidMarker + "bad line\r\n" + line + "\n"},
		{"a valid line is never commented", "# a\n" + line + "\n", []int{2}, "# a\n" + line + "\n"},
		{"twice is once", InvalidMarker + "bad\n", []int{1}, InvalidMarker + "bad\n" + line + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := editKeys([]byte(c.in), c.lines, k, time.UTC)
			if string(got) != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestCfgWords(t *testing.T) {
	cases := []struct {
		in      string
		words   []string
		comment string
		ok      bool
	}{
		{"DenyUsers a b", []string{"DenyUsers", "a", "b"}, "", true},
		{"\tAllowUsers a   b # who\r", []string{"AllowUsers", "a", "b"}, "# who", true},
		{"DenyUsers a#b c", []string{"DenyUsers", "a#b", "c"}, "", true},
		{`DenyUsers "a b"`, nil, "", false},
		{"DenyUsers=a", nil, "", false},
	}
	for _, c := range cases {
		w, cm, ok := cfgWords(c.in)
		if ok != c.ok || (ok && (!slices.Equal(w, c.words) || cm != c.comment)) {
			t.Errorf("cfgWords(%q) = %q %q %v", c.in, w, cm, ok)
		}
	}
}

func TestSetField(t *testing.T) {
	in := "root:x:0:0::/root:/bin/bash\ndeploy:x:1000:1000::/home/deploy:/bin/false\r\ndeployer:x:1001:1001::/h:/bin/sh"
	got, ok := setField([]byte(in), "deploy", 6, "/bin/bash")
	if !ok || string(got) != "root:x:0:0::/root:/bin/bash\ndeploy:x:1000:1000::/home/deploy:/bin/bash\ndeployer:x:1001:1001::/h:/bin/sh" {
		t.Errorf("%q %v", got, ok)
	}
	if _, ok := setField([]byte("a:1\na:2\n"), "a", 1, "x"); ok {
		t.Error("two lines for one user must be refused")
	}
	if !bytes.Equal([]byte(fmt.Sprint(unixMode(0o2755))), []byte(fmt.Sprint(os.ModeSetgid|0o755))) {
		t.Errorf("unixMode(02755) = %v", unixMode(0o2755))
	}
}

// TestFixKeysEmptyFileOnlyMissing: a file without keys and --key, with
// only authkeys.missing named: the key is appended once, by that code.
func TestFixKeysEmptyFileOnlyMissing(t *testing.T) {
	tr := newAccTree(t)
	tr.write("/home/deploy/.ssh/authorized_keys", "# nothing yet\n", 0o600, 1000)
	for _, only := range [][]string{{"authkeys.missing"}, nil, {"authkeys.missing", "authkeys.key-absent"}} {
		p, r := tr.plan(diag.ServerOptions{User: "deploy", Key: tr.Key}, only...)
		if r.Find("authkeys.missing") == nil || r.Find("authkeys.key-absent") == nil {
			t.Fatalf("findings: %+v", r.Findings)
		}
		if len(p.Steps) != 1 || p.Steps[0].Kind != KindWrite || string(p.Steps[0].Content) != "# nothing yet\n"+tr.Key+"\n" {
			t.Errorf("--only %v: want one write that adds the key once:\n%s", only, p.Render())
		}
	}
}

// TestFixAccessRulesAllOrNothing: when one of the lines that refuse the
// user cannot be edited safely (quotes), the edits before it are taken
// back: removing DenyUsers alone would not let deploy in.
func TestFixAccessRulesAllOrNothing(t *testing.T) {
	tr := newAccTree(t)
	tr.write("/etc/ssh/sshd_config.d/20-rules.conf", "DenyUsers deploy\nAllowUsers \"bob\"\n", 0o644, 0)
	p, _ := tr.plan(diag.ServerOptions{User: "deploy"}, "access.denied-by-config")
	if !p.Empty() {
		t.Errorf("nothing may change:\n%s", p.Render())
	}
	if len(p.Manual) == 0 || !slices.ContainsFunc(p.Skipped, func(s string) bool { return strings.Contains(s, "quotes") }) {
		t.Errorf("the plan must say why and what to do: manual %+v skipped %q", p.Manual, p.Skipped)
	}
}
