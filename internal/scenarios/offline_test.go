package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/internal/lab"
	"github.com/sshdoctor/sshdoctor/report"
)

// tree is an offline Debian-like disk, as a rescue system would mount it.
type tree struct {
	t    *testing.T
	Root string
	Key  *lab.Key
}

// newTree builds a healthy tree: sshd installed, a valid configuration with
// a drop-in directory, host keys, a user "deploy" (uid 1000) whose key is
// authorized with the right modes.
func newTree(t *testing.T) *tree {
	t.Helper()
	if os.Geteuid() != 0 {
		lab.Require(t) // chown needs root
	}
	root := t.TempDir()
	tr := &tree{t: t, Root: root, Key: lab.NewUserKey(t, "ed25519")}
	sshd, err := os.ReadFile("/usr/sbin/sshd")
	if err != nil {
		lab.Require(t, "/usr/sbin/sshd")
	}
	tr.write("/usr/sbin/sshd", string(sshd), 0o755)
	tr.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000:Deploy:/home/deploy:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n", 0o644)
	tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:$y$j9T$abc$def:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n", 0o640)
	tr.write("/etc/group", "root:x:0:\nusers:x:100:\ndeploy:x:1000:\n", 0o644)
	// Debian's /etc/pam.d/sshd, the parts that matter here.
	tr.write("/etc/pam.d/sshd", "@include common-auth\naccount    required     pam_nologin.so\n@include common-account\n@include common-session\n@include common-password\n", 0o644)
	tr.write("/etc/shells", "/bin/sh\n/bin/bash\n/usr/bin/bash\n", 0o644)
	tr.write("/bin/bash", "#!fake shell\n", 0o755)
	tr.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\n", 0o644)
	tr.mkdir("/etc/ssh/sshd_config.d", 0o755, 0)
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		k := lab.NewUserKey(t, typ)
		priv, _ := os.ReadFile(k.PrivPath)
		tr.write("/etc/ssh/ssh_host_"+typ+"_key", string(priv), 0o600)
		tr.write("/etc/ssh/ssh_host_"+typ+"_key.pub", k.AuthorizedLine+"\n", 0o644)
	}
	tr.mkdir("/home", 0o755, 0)
	tr.mkdir("/home/deploy", 0o755, 1000)
	tr.mkdir("/home/deploy/.ssh", 0o700, 1000)
	tr.write("/home/deploy/.ssh/authorized_keys", tr.Key.AuthorizedLine+"\n", 0o600)
	tr.chown("/home/deploy/.ssh/authorized_keys", 1000)
	return tr
}

func (tr *tree) path(p string) string { return filepath.Join(tr.Root, p) }

func (tr *tree) write(p, content string, mode os.FileMode) {
	tr.t.Helper()
	full := tr.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) mkdir(p string, mode os.FileMode, uid int) {
	tr.t.Helper()
	full := tr.path(p)
	if err := os.MkdirAll(full, mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		tr.t.Fatal(err)
	}
	tr.chown(p, uid)
}

func (tr *tree) chown(p string, uid int) {
	tr.t.Helper()
	if err := os.Chown(tr.path(p), uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

// server runs `sshdoctor server --json --root TREE ARGS` on this machine:
// an offline inspection reads files only.
func (tr *tree) server(args ...string) (*report.Report, int) {
	tr.t.Helper()
	cmd := exec.Command(lab.Tool(tr.t), append([]string{"server", "--json", "--root", tr.Root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tr.t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(out, &r); err != nil {
		tr.t.Fatalf("not one JSON report: %v\n%s\n%s", err, out, stderr.String())
	}
	return &r, code
}

func TestOfflineHealthyTree(t *testing.T) {
	tr := newTree(t)
	r, code := tr.server("--user", "deploy", "--key", tr.Key.PubPath)
	if code != 0 || !r.OK {
		t.Fatalf("healthy tree: exit %d verdict %+v\n%s", code, r.Verdict, dump(r))
	}
	for _, f := range r.Findings {
		if f.Severity == "error" || f.Severity == "warning" {
			t.Errorf("false alarm: %s %s", f.Code, f.Detail)
		}
	}
	if r.Target.Root != tr.Root {
		t.Errorf("target.root = %q", r.Target.Root)
	}
}

func TestOfflineFaults(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(tr *tree)
		args   []string
		code   string
		ev     map[string]string // evidence key -> substring
		warn   bool              // a warning: reported, but logins still work
	}{
		{"unknown keyword", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/50-typo.conf", "PermitRootLogn no\n", 0o644)
		}, nil, "sshd.config-invalid", map[string]string{"file": "/etc/ssh/sshd_config.d/50-typo.conf", "suggestion": "PermitRootLogin"}, false},
		{"bad value in a drop-in", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/10-bad.conf", "# comment\nPasswordAuthentication maybe\n", 0o644)
		}, nil, "sshd.config-invalid", map[string]string{"file": "10-bad.conf", "line": "2"}, false},
		{"DenyUsers", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/20-deny.conf", "DenyUsers deploy\n", 0o644)
		}, []string{"--user", "deploy"}, "access.denied-by-config", map[string]string{"directive": "DenyUsers"}, false},
		{"AllowGroups", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/20-allow.conf", "AllowGroups admins\n", 0o644)
		}, []string{"--user", "deploy"}, "access.denied-by-config", map[string]string{"directive": "AllowGroups"}, false},
		{"PermitRootLogin no for root", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/20-root.conf", "PermitRootLogin no\n", 0o644)
		}, []string{"--user", "root"}, "access.denied-by-config", map[string]string{"directive": "PermitRootLogin"}, false},
		{"nologin shell", func(tr *tree) {
			tr.write("/usr/sbin/nologin", "#!nologin\n", 0o755)
			tr.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndeploy:x:1000:1000:Deploy:/home/deploy:/usr/sbin/nologin\n", 0o644)
		}, []string{"--user", "deploy"}, "account.nologin-shell", nil, false},
		{"locked account", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/05-nopam.conf", "UsePAM no\n", 0o644)
			tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:!$y$j9T$abc$def:19000:0:99999:7:::\n", 0o640)
		}, []string{"--user", "deploy"}, "account.locked", nil, false},
		{"expired account", func(tr *tree) {
			tr.write("/etc/shadow", "root:*:19000:0:99999:7:::\ndeploy:$y$j9T$abc$def:19000:0:99999:7::19001:\n", 0o640)
		}, []string{"--user", "deploy"}, "account.expired", nil, false},
		{"/etc/nologin", func(tr *tree) {
			tr.write("/etc/nologin", "maintenance\n", 0o644)
		}, []string{"--user", "deploy"}, "account.nologin-file", nil, false},
		{"group-writable .ssh", func(tr *tree) {
			tr.mkdir("/home/deploy/.ssh", 0o775, 1000)
			tr.write("/etc/group", "root:x:0:\nusers:x:100:deploy,alice\ndeploy:x:1000:alice\n", 0o644)
		}, []string{"--user", "deploy"}, "authkeys.permissions", map[string]string{"path": "/home/deploy/.ssh"}, false},
		{"authorized_keys owned by another user", func(tr *tree) {
			tr.chown("/home/deploy/.ssh/authorized_keys", 1001)
		}, []string{"--user", "deploy"}, "authkeys.permissions", map[string]string{"path": "authorized_keys"}, false},
		{"missing authorized_keys", func(tr *tree) {
			os.Remove(tr.path("/home/deploy/.ssh/authorized_keys"))
		}, []string{"--user", "deploy"}, "authkeys.missing", nil, false},
		{"a key that is absent", func(tr *tree) {}, []string{"--user", "deploy", "--key", "OTHER"}, "authkeys.key-absent", nil, false},
		{"a garbage line", func(tr *tree) {
			tr.write("/home/deploy/.ssh/authorized_keys", tr.Key.AuthorizedLine+"\nthis is not a key\n", 0o600)
			tr.chown("/home/deploy/.ssh/authorized_keys", 1000)
		}, []string{"--user", "deploy"}, "authkeys.invalid-entry", map[string]string{"line": "2"}, true},
		{"a refused key algorithm", func(tr *tree) {
			tr.write("/etc/ssh/sshd_config.d/30-algos.conf", "PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256\n", 0o644)
		}, []string{"--user", "deploy", "--key", "KEY"}, "authkeys.algorithm-refused", nil, false},
		{"no host keys", func(tr *tree) {
			for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
				os.Remove(tr.path("/etc/ssh/ssh_host_" + typ + "_key"))
			}
		}, nil, "sshd.hostkeys-missing", nil, false},
		{"no sshd binary", func(tr *tree) {
			os.Remove(tr.path("/usr/sbin/sshd"))
		}, nil, "sshd.not-installed", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			c.break_(tr)
			args := c.args
			for i, a := range args {
				switch a {
				case "OTHER":
					args[i] = lab.NewUserKey(t, "ed25519").AuthorizedLine
				case "KEY":
					args[i] = tr.Key.AuthorizedLine
				}
			}
			r, code := tr.server(args...)
			f := r.Find(c.code)
			if f == nil {
				t.Fatalf("no %s; verdict %+v\n%s", c.code, r.Verdict, dump(r))
			}
			switch {
			case c.warn:
				if code != 0 || f.Severity != "warning" {
					t.Errorf("exit %d, severity %s: want a warning and exit 0 (the valid key still logs in)", code, f.Severity)
				}
			case code != 1:
				t.Errorf("exit %d, want 1", code)
			case r.Verdict == nil || r.Verdict.Code != c.code:
				t.Errorf("verdict %+v, want %s", r.Verdict, c.code)
			}
			for k, sub := range c.ev {
				if got := fmt.Sprint(f.Evidence.Get(k)); !strings.Contains(got, sub) {
					t.Errorf("evidence %s = %q, want it to contain %q (all: %v)", k, got, sub, f.Evidence)
				}
			}
			if f.Fix == nil || (len(f.Fix.Commands) == 0 && f.Fix.Summary == "") {
				t.Errorf("%s has no fix", c.code)
			}
		})
	}
}
