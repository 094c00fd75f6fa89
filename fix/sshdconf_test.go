package fix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func confTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestSSHDConfSet(t *testing.T) {
	debian := "Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\nKbdInteractiveAuthentication no\nUsePAM yes\n\nMatch User anoncvs\n\tX11Forwarding no\n"
	cases := []struct {
		name    string
		files   map[string]string
		kw, val string
		where   string            // substring of the returned location
		want    map[string]string // path -> substring that must be in its new content
		notIn   map[string]string // path -> substring that must not be there
	}{
		{
			name:  "Debian: the drop-in decides",
			files: map[string]string{"/etc/ssh/sshd_config": debian, "/etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\n"},
			kw:    "Port", val: "2222", where: DropInName,
			want: map[string]string{"/etc/ssh/sshd_config.d/" + DropInName: "Port 2222\n"},
		},
		{
			name:  "an earlier drop-in sets it: edit that line",
			files: map[string]string{"/etc/ssh/sshd_config": debian, "/etc/ssh/sshd_config.d/00-aaa.conf": "# first\nPasswordAuthentication no\n"},
			kw:    "PasswordAuthentication", val: "yes", where: "00-aaa.conf line 2",
			want: map[string]string{"/etc/ssh/sshd_config.d/00-aaa.conf": "# first\nPasswordAuthentication yes\n"},
		},
		{
			name:  "no Include: a new line above the first Match",
			files: map[string]string{"/etc/ssh/sshd_config": "UsePAM yes\n\nMatch User bob\n  PasswordAuthentication no\n"},
			kw:    "PermitRootLogin", val: "prohibit-password", where: "/etc/ssh/sshd_config",
			want: map[string]string{"/etc/ssh/sshd_config": "UsePAM yes\n\n# Added by sshdoctor above the first Match block, so it applies to every connection.\nPermitRootLogin prohibit-password\nMatch User bob\n"},
		},
		{
			name:  "a global line exists: edited in place, indentation kept",
			files: map[string]string{"/etc/ssh/sshd_config": "  StrictModes no\nMatch all\n"},
			kw:    "StrictModes", val: "yes", where: "line 1",
			want: map[string]string{"/etc/ssh/sshd_config": "  StrictModes yes\nMatch all\n"},
		},
		{
			name:  "Include after a Match block does not count as a drop-in",
			files: map[string]string{"/etc/ssh/sshd_config": "Match User x\n  X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf\n"},
			kw:    "Port", val: "2222", where: "/etc/ssh/sshd_config",
			want: map[string]string{"/etc/ssh/sshd_config": "Port 2222\nMatch User x\n"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := confTree(t, c.files)
			ed := NewSSHDConf(root, "")
			where, err := ed.Set(c.kw, c.val)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(where, c.where) {
				t.Errorf("where = %q, want %q", where, c.where)
			}
			for p, sub := range c.want {
				if got := string(ed.pending[p]); !strings.Contains(got, sub) {
					t.Errorf("%s:\n%s\nlacks:\n%s", p, got, sub)
				}
			}
			cfg, err := ed.Load()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cfg.Startup().Args(c.kw), " "); !strings.EqualFold(got, c.val) {
				t.Errorf("effective %s = %q after the edit", c.kw, got)
			}
			// Files on disk do not change until the plan is applied.
			for p, orig := range c.files {
				b, _ := os.ReadFile(filepath.Join(root, p))
				if string(b) != orig {
					t.Errorf("%s changed on disk", p)
				}
			}
			if again, _ := ed.Set(c.kw, c.val); again != "already set" {
				t.Errorf("a second Set should change nothing, got %q", again)
			}
		})
	}
}

func TestSSHDConfSetPorts(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		ports []int
		want  map[string]string
	}{
		{"no Port line: both go into the drop-in", map[string]string{"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n"},
			[]int{22, 2222}, map[string]string{"/etc/ssh/sshd_config.d/" + DropInName: "Port 22\nPort 2222\n"}},
		{"Port lines are replaced where the first one was", map[string]string{"/etc/ssh/sshd_config": "UsePAM yes\nPort 22\nX11Forwarding no\nPort 443\nMatch User x\n  X11Forwarding yes\n"},
			[]int{22, 2222}, map[string]string{"/etc/ssh/sshd_config": "UsePAM yes\n# sshdoctor: replaced by the Port lines below: Port 22\nPort 22\nPort 2222\nX11Forwarding no\n# sshdoctor: replaced by the Port lines below: Port 443\nMatch"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := confTree(t, c.files)
			ed := NewSSHDConf(root, "")
			if _, err := ed.SetPorts(c.ports); err != nil {
				t.Fatal(err)
			}
			for p, sub := range c.want {
				if got := string(ed.pending[p]); !strings.Contains(got, sub) {
					t.Errorf("%s:\n%s\nlacks:\n%s", p, got, sub)
				}
			}
			if again, _ := ed.SetPorts(c.ports); again != "already set" {
				t.Errorf("second SetPorts: %q", again)
			}
		})
	}
}
