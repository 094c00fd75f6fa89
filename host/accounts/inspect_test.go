package accounts

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
)

// tree writes files into a fresh temporary root: path -> content; a
// content starting with "->" makes a symbolic link, one ending in "/" a
// directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(c, "->"):
			if err := os.Symlink(strings.TrimPrefix(c, "->"), full); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(p, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			mode := os.FileMode(0o644)
			if strings.Contains(p, "bin/") {
				mode = 0o755
			}
			if err := os.WriteFile(full, []byte(c), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func offline(root string) host.System {
	sys := host.Offline(root)
	sys.Now = func() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }
	return sys
}

func TestRealPathStaysInTree(t *testing.T) {
	root := tree(t, map[string]string{
		"usr/bin/bash": "#!",
		"bin":          "->usr/bin",
		"etc/alt/sh":   "->/usr/bin/bash", // absolute: inside the tree
		"loop/a":       "->b",
		"loop/b":       "->a",
		"home/alice/":  "",
		"up":           "->../../../../usr/bin/bash",
	})
	for in, want := range map[string]string{
		"/bin/bash":        "/usr/bin/bash",
		"/etc/alt/sh":      "/usr/bin/bash",
		"/up":              "/usr/bin/bash",
		"/home/./alice/..": "/home",
	} {
		got, err := RealPath(root, in)
		if err != nil || got != want {
			t.Errorf("RealPath(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := RealPath(root, "/loop/a"); !errors.Is(err, ErrLoop) {
		t.Errorf("loop: %v", err)
	}
	if _, err := RealPath(root, "/home/bob/.ssh"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestInspectOfflineTree(t *testing.T) {
	root := tree(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
			"alice:x:1000:1000::/home/alice:/bin/bash\n" +
			"svc:x:998:998::/srv:/usr/sbin/nologin\n" +
			"win:x:1001:1001::/home/win:/bin/bash\r\n" +
			"gone:x:1002:1002::/home/gone:/usr/bin/zsh\n",
		"etc/shadow":               "alice:$6$salt$0123456789abcdef:19000:0:99999:7:::\n",
		"etc/group":                "alice:x:1000:\nadm:x:4:alice\n",
		"etc/shells":               "# comment\n/bin/sh\n/bin/bash\n/usr/bin/zsh\n",
		"usr/bin/bash":             "#!",
		"usr/bin/dash":             "#!",
		"usr/bin/sh":               "->dash",
		"bin":                      "->usr/bin",
		"usr/sbin/nologin":         "#!",
		"etc/nologin":              "System maintenance until 18:00\nsecond line\n",
		"run/nologin":              "ignored offline\n",
		"etc/pam.d/sshd":           "@include common-account\nsession required pam_limits.so\n",
		"etc/pam.d/common-account": "account [success=1 default=ignore] pam_unix.so\naccount required pam_nologin.so\n",
	})
	sys := offline(root)
	f, err := Inspect(context.Background(), sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if f.Entry == nil || f.Source != "files" || f.Shadow == nil || f.Shadow.LastChange != 19000 {
		t.Fatalf("alice: %+v", f)
	}
	if strings.Join(f.Groups, ",") != "alice,adm" || f.PrimaryGroup != "alice" {
		t.Errorf("groups = %v, primary %q", f.Groups, f.PrimaryGroup)
	}
	if sh := f.Shell; !sh.Exists || !sh.Regular || !sh.Executable || sh.Refuses != "" || !sh.Listed {
		t.Errorf("bash: %+v", sh)
	}
	if len(f.Nologin) != 1 || f.Nologin[0].Path != "/etc/nologin" || f.Nologin[0].Message != "System maintenance until 18:00" {
		t.Errorf("nologin = %+v (offline, /run must not count)", f.Nologin)
	}
	if got := f.PAM.Has("pam_nologin.so", "account"); len(got) != 1 || got[0].Source != "/etc/pam.d/common-account:2" {
		t.Errorf("pam_nologin = %+v", got)
	}
	if got := f.PAM.Has("pam_unix.so", "account"); len(got) != 1 || got[0].Control != "[success=1 default=ignore]" {
		t.Errorf("pam_unix = %+v", got)
	}
	if f.Today != Day(sys.Clock()) {
		t.Errorf("today = %d", f.Today)
	}

	svc, _ := Inspect(context.Background(), sys, "svc")
	if svc.Shell.Refuses != "nologin" || svc.Shell.Listed {
		t.Errorf("svc shell = %+v", svc.Shell)
	}
	win, _ := Inspect(context.Background(), sys, "win")
	if win.Shell.Exists || win.Shell.Path != "/bin/bash\r" {
		t.Errorf("win shell = %+v, want a missing /bin/bash\\r", win.Shell)
	}
	gone, _ := Inspect(context.Background(), sys, "gone")
	if gone.Shell.Exists || !gone.Shell.Listed {
		t.Errorf("gone shell = %+v", gone.Shell)
	}
	if strings.Join(gone.Shell.Available, ",") != "/bin/sh,/bin/bash" {
		t.Errorf("available shells = %v", gone.Shell.Available)
	}
	missing, err := Inspect(context.Background(), sys, "Alice")
	if err != nil || missing.Entry != nil || strings.Join(missing.NearMisses, ",") != "alice" {
		t.Errorf("Alice: %+v, %v", missing, err)
	}
}

func TestInspectNeedsPasswd(t *testing.T) {
	root := tree(t, map[string]string{"etc/group": "x:x:1:\n"})
	if _, err := Inspect(context.Background(), offline(root), "alice"); err == nil || !strings.Contains(err.Error(), "/etc/passwd") {
		t.Errorf("err = %v, want one naming /etc/passwd", err)
	}
}

// fakeNSS answers getent like an LDAP-backed NSS would.
type fakeNSS map[string]string

func (f fakeNSS) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	if out, ok := f[name+" "+strings.Join(args, " ")]; ok {
		return []byte(out), nil
	}
	return nil, &host.ExitError{Cmd: name, Code: 2}
}

func TestInspectAsksNSSOnLiveSystems(t *testing.T) {
	root := tree(t, map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":    "root:x:0:\nldapusers:x:5000:\n",
		"usr/bin/bash": "#!",
	})
	nss := fakeNSS{
		"getent passwd carol": "carol:x:5001:5000:Carol:/home/carol:/usr/bin/bash\n",
		"getent shadow carol": "carol:*:19000:0:99999:7:::\n",
	}
	sys := host.System{Root: root, Live: true, Run: nss, Now: offline(root).Now}
	f, err := Inspect(context.Background(), sys, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if f.Entry == nil || f.Source != "getent" || f.Entry.UID != 5001 || f.Shadow == nil || f.Shadow.Hash != "*" {
		t.Fatalf("carol = %+v", f)
	}
	if f.PrimaryGroup != "ldapusers" || !f.Shell.Exists {
		t.Errorf("carol: group %q, shell %+v", f.PrimaryGroup, f.Shell)
	}
	// Offline, nothing is run: the tree's files are all there is.
	sys.Live = false
	if f, _ := Inspect(context.Background(), sys, "carol"); f.Entry != nil {
		t.Errorf("offline found %+v", f.Entry)
	}
}
