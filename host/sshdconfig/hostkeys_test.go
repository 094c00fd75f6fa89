package sshdconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectHostKeys(t *testing.T) {
	root := copyTree(t, "testdata/trees/debian12")
	writeHostKeys(t, root, 0o600)
	os.Chmod(filepath.Join(root, "etc/ssh/ssh_host_ecdsa_key"), 0o644)
	os.Remove(filepath.Join(root, "etc/ssh/ssh_host_rsa_key"))
	c := loadTree(t, root)
	keys := InspectHostKeys(RootFS{Dir: root}, c.Startup())
	if len(keys) != 3 {
		t.Fatalf("keys %+v", keys)
	}
	byName := map[string]HostKey{}
	for _, k := range keys {
		byName[filepath.Base(k.Path)] = k
	}
	if k := byName["ssh_host_ed25519_key"]; !k.Usable() || k.Type != "ssh-ed25519" || k.Configured {
		t.Errorf("ed25519 %+v", k)
	}
	if k := byName["ssh_host_rsa_key"]; k.Exists || k.Usable() {
		t.Errorf("rsa %+v", k)
	}
	// Only root-owned keys are held to the mode rule, as sshd does.
	if os.Geteuid() == 0 {
		if k := byName["ssh_host_ecdsa_key"]; k.Usable() || !k.Permissions || !strings.Contains(k.Problem, "0644") {
			t.Errorf("ecdsa %+v", k)
		}
	}
}

func TestInspectHostKeysBroken(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/ssh"), 0o755)
	keys := hostKeyFiles(t)
	os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), []byte(
		"HostKey /etc/ssh/k_empty\nHostKey /etc/ssh/k_pub\nHostKey /etc/ssh/k_link\nHostKey /etc/ssh/k_ok\nRequiredRSASize 4096\nHostKey /etc/ssh/k_rsa\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/ssh/k_empty"), nil, 0o600)
	os.WriteFile(filepath.Join(root, "etc/ssh/k_pub"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n"), 0o600)
	// An absolute link inside the tree points inside the tree.
	os.MkdirAll(filepath.Join(root, "srv/keys"), 0o755)
	os.WriteFile(filepath.Join(root, "srv/keys/ed"), keys["ssh_host_ed25519_key"], 0o600)
	os.Symlink("/srv/keys/ed", filepath.Join(root, "etc/ssh/k_link"))
	os.WriteFile(filepath.Join(root, "etc/ssh/k_ok"), keys["ssh_host_ecdsa_key"], 0o600)
	os.WriteFile(filepath.Join(root, "etc/ssh/k_rsa"), keys["ssh_host_rsa_key"], 0o600)
	c := loadTree(t, root)
	got := InspectHostKeys(RootFS{Dir: root}, c.Startup())
	want := map[string]string{ // path: substring of the problem ("" = usable)
		"/etc/ssh/k_empty": "empty",
		"/etc/ssh/k_pub":   "not a private key",
		"/etc/ssh/k_link":  "",
		"/etc/ssh/k_ok":    "",
		"/etc/ssh/k_rsa":   "RequiredRSASize 4096",
	}
	if len(got) != len(want) {
		t.Fatalf("keys %+v", got)
	}
	for _, k := range got {
		w := want[k.Path]
		if !k.Configured || (w == "") != k.Usable() || !strings.Contains(k.Problem, w) {
			t.Errorf("%s: %+v, want problem %q", k.Path, k, w)
		}
	}
}

func TestInspectPrivsep(t *testing.T) {
	root := t.TempDir()
	// Offline, a missing /run/sshd is normal when a unit recreates it.
	p := InspectPrivsep(RootFS{Dir: root}, "", true)
	if p.Problem() != "" || p.Exists || len(p.Creators) != 0 {
		t.Errorf("empty tree: %+v", p)
	}
	unit := filepath.Join(root, "lib/systemd/system/ssh.service")
	os.MkdirAll(filepath.Dir(unit), 0o755)
	os.WriteFile(unit, []byte("[Service]\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0755\n"), 0o644)
	tmpf := filepath.Join(root, "usr/lib/tmpfiles.d/sshd.conf")
	os.MkdirAll(filepath.Dir(tmpf), 0o755)
	os.WriteFile(tmpf, []byte("d /run/sshd 0755 root root\n"), 0o644)
	p = InspectPrivsep(RootFS{Dir: root}, "/run/sshd", true)
	if len(p.Creators) != 2 || !strings.Contains(p.Creators[0], "RuntimeDirectory=sshd") {
		t.Errorf("creators %v", p.Creators)
	}
	// Live, missing is a problem, and so is a group-writable directory.
	if p := InspectPrivsep(RootFS{Dir: root}, "/run/sshd", false); p.Problem() != "missing" {
		t.Errorf("live missing: %q", p.Problem())
	}
	dir := filepath.Join(root, "run/sshd")
	os.MkdirAll(dir, 0o755)
	os.Chmod(dir, 0o775)
	if p := InspectPrivsep(RootFS{Dir: root}, "/run/sshd", false); os.Geteuid() == 0 && p.Problem() != "writable by group or others" {
		t.Errorf("live 0775: %q", p.Problem())
	}
	os.Chmod(dir, 0o755)
	if p := InspectPrivsep(RootFS{Dir: root}, "/run/sshd", false); os.Geteuid() == 0 && p.Problem() != "" {
		t.Errorf("live 0755: %q", p.Problem())
	}
}

func TestRootFSResolve(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/ssh/sshd_config.d"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/share/ssh"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/share/ssh/base.conf"), []byte("PasswordAuthentication no\n"), 0o644)
	os.Symlink("/usr/share/ssh/base.conf", filepath.Join(root, "etc/ssh/sshd_config.d/10-base.conf"))
	os.Symlink("../../../../../../../etc/passwd", filepath.Join(root, "etc/ssh/sshd_config.d/20-escape.conf"))
	os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config.d/.hidden.conf"), []byte("Port 1\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config"), []byte("Include sshd_config.d/*.conf\n"), 0o644)
	c := loadTree(t, root)
	if c.Startup().PasswordAuthentication() {
		t.Error("the absolute link was not followed inside the tree")
	}
	// "../" climbing out of the tree stops at its root: /etc/passwd of the
	// tree, which does not exist.
	if len(c.Problems) != 1 || !strings.Contains(c.Problems[0].Message, "20-escape.conf: No such file or directory") {
		t.Errorf("problems %+v", c.Problems)
	}
	if got := c.Startup().Ports(); got[0] != 22 {
		t.Errorf("a dot file was included: ports %v", got)
	}
}
