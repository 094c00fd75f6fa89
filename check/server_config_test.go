package check

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sshdoctor/sshdoctor/host/sshdconfig"
)

const sshdTestdata = "../host/sshdconfig/testdata"

// sshdcfgTree copies a fixture tree of host/sshdconfig into a temporary
// directory.
func sshdcfgTree(t *testing.T, rel string) string {
	t.Helper()
	src := filepath.Join(sshdTestdata, rel)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, r), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, r), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func sshdcfgNeed(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", why)
	}
	t.Skip(why)
}

// sshdcfgKeygen gives a tree its default host keys with ssh-keygen -A.
func sshdcfgKeygen(t *testing.T, root string) {
	t.Helper()
	_, err := exec.LookPath("ssh-keygen")
	sshdcfgNeed(t, err == nil, "needs ssh-keygen (apt-get install openssh-client)")
	if out, err := exec.Command("ssh-keygen", "-A", "-f", root).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -A: %v: %s", err, out)
	}
}

func sshdcfgInspect(t *testing.T, root string) []Finding {
	t.Helper()
	f := sshdconfig.Inspect(context.Background(), sshdconfig.InspectOptions{Root: root})
	if f.Err != nil {
		t.Fatal(f.Err)
	}
	return SSHDConfig(&f)
}

func sshdcfgByCode(fs []Finding, code string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

// sshdcfgApply runs a finding's fix commands, as a user pasting them would.
func sshdcfgApply(t *testing.T, f Finding, skip func(string) bool) {
	t.Helper()
	if f.Fix == nil {
		t.Fatalf("%s has no fix", f.Code)
	}
	for _, c := range f.Fix.Commands {
		if skip != nil && skip(c) {
			continue
		}
		if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
			t.Fatalf("fix %q: %v: %s", c, err, out)
		}
	}
}

func sshdcfgNotVerify(c string) bool {
	return strings.HasPrefix(c, "sshdoctor ") || strings.HasPrefix(c, "sshd -t")
}

func TestSSHDConfigTypoFindingAndFix(t *testing.T) {
	root := sshdcfgTree(t, "bad/typo")
	sshdcfgKeygen(t, root)
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.config-invalid")
	if len(got) != 1 {
		t.Fatalf("findings %+v", got)
	}
	f := got[0]
	if f.Severity != SeverityError || f.Evidence.Get("line") != 3 || f.Evidence.Get("keyword") != "PermitRootLogn" ||
		f.Evidence.Get("suggestion") != "PermitRootLogin" || f.Evidence.Get("corrected") != "PermitRootLogin no" ||
		f.Evidence.Get("file") != "/etc/ssh/sshd_config" || f.Evidence.Get("reported_by_sshd") != true {
		t.Errorf("finding %+v", f)
	}
	if !strings.Contains(f.Detail, "did you mean PermitRootLogin") {
		t.Errorf("detail %q", f.Detail)
	}
	if cmds := f.Fix.Commands; cmds[len(cmds)-1] != "sshdoctor server --root "+root {
		t.Errorf("verify command %q", cmds)
	}
	sshdcfgApply(t, f, sshdcfgNotVerify)
	data, _ := os.ReadFile(filepath.Join(root, "etc/ssh/sshd_config"))
	if !strings.Contains(string(data), "\nPermitRootLogin no\n") {
		t.Errorf("after the fix:\n%s", data)
	}
	if left := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.config-invalid"); len(left) != 0 {
		t.Errorf("after the fix: %+v", left)
	}
}

func TestSSHDConfigEveryBadLine(t *testing.T) {
	root := sshdcfgTree(t, "bad/multi")
	sshdcfgKeygen(t, root)
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.config-invalid")
	var lines []int
	hidden := 0
	for _, f := range got {
		lines = append(lines, f.Evidence.Get("line").(int))
		if f.Evidence.Get("reported_by_sshd") == false {
			hidden++
			if !strings.Contains(f.Detail, "does not show this one yet") {
				t.Errorf("detail %q", f.Detail)
			}
		}
	}
	if len(lines) != 6 || hidden != 2 {
		t.Fatalf("lines %v, %d hidden by sshd -t; want 6 lines, 2 hidden", lines, hidden)
	}
	// Commenting out every line named leaves a configuration sshd accepts.
	for _, f := range got {
		sshdcfgApply(t, f, func(c string) bool {
			return sshdcfgNotVerify(c) || !strings.Contains(c, "s/^/#/") && !strings.Contains(c, "[[:space:]]")
		})
	}
	if left := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.config-invalid"); len(left) != 0 {
		t.Errorf("after the fixes: %+v", left)
	}
}

func TestSSHDConfigDeprecatedIsWarning(t *testing.T) {
	root := sshdcfgTree(t, "bad/deprecated")
	sshdcfgKeygen(t, root)
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.config-invalid")
	if len(got) != 4 {
		t.Fatalf("findings %+v", got)
	}
	for _, f := range got {
		if f.Code != "sshd.config-invalid" || f.Severity != SeverityWarning {
			t.Errorf("finding %+v", f)
		}
	}
	if Verdict(got) != nil {
		t.Error("a deprecated keyword made the report fail")
	}
}

func TestSSHDHostKeysMissingAndFix(t *testing.T) {
	root := sshdcfgTree(t, "trees/debian12")
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.hostkeys-missing")
	if len(got) != 1 || got[0].Severity != SeverityError {
		t.Fatalf("findings %+v", got)
	}
	f := got[0]
	if keys := f.Evidence.Get("host_keys").([]string); len(keys) != 3 || !strings.Contains(keys[0], "No such file") {
		t.Errorf("evidence %v", keys)
	}
	if f.Fix.Commands[0] != "ssh-keygen -A -f "+root {
		t.Errorf("fix %q", f.Fix.Commands)
	}
	_, err := exec.LookPath("ssh-keygen")
	sshdcfgNeed(t, err == nil, "needs ssh-keygen")
	sshdcfgApply(t, f, sshdcfgNotVerify)
	if left := sshdcfgInspect(t, root); len(left) != 0 {
		t.Errorf("after the fix: %+v", left)
	}
}

func TestSSHDHostKeyPermissions(t *testing.T) {
	sshdcfgNeed(t, os.Geteuid() == 0, "needs root: sshd's mode rule applies to root-owned keys")
	root := sshdcfgTree(t, "trees/ubuntu2404")
	sshdcfgKeygen(t, root)
	for _, k := range []string{"ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key"} {
		os.Chmod(filepath.Join(root, "etc/ssh", k), 0o640)
	}
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.hostkeys-missing")
	if len(got) != 1 || !strings.Contains(strings.Join(got[0].Fix.Commands, "\n"), "chmod 600 "+root+"/etc/ssh/ssh_host_rsa_key") {
		t.Fatalf("findings %+v", got)
	}
	sshdcfgApply(t, got[0], sshdcfgNotVerify)
	if left := sshdcfgInspect(t, root); len(left) != 0 {
		t.Errorf("after the fix: %+v", left)
	}
}

func TestSSHDPrivsepOffline(t *testing.T) {
	root := sshdcfgTree(t, "trees/debian12")
	sshdcfgKeygen(t, root)
	// ssh.service makes /run/sshd when it starts: nothing to say offline.
	if got := sshdcfgInspect(t, root); len(got) != 0 {
		t.Fatalf("findings %+v", got)
	}
	// Without it (sshd started by socket activation or by hand), say so.
	os.Remove(filepath.Join(root, "lib/systemd/system/ssh.service"))
	got := sshdcfgByCode(sshdcfgInspect(t, root), "sshd.privsep-dir-missing")
	if len(got) != 1 || got[0].Severity != SeverityInfo {
		t.Fatalf("no unit creates /run/sshd: findings %+v", got)
	}
	sshdcfgApply(t, got[0], nil)
	if left := sshdcfgInspect(t, root); len(left) != 0 {
		t.Errorf("after the tmpfiles.d fix: %+v", left)
	}
}

// sshdcfgFakeSSHD stands in for sshd: it prints msg and exits with status.
type sshdcfgFakeSSHD struct {
	msg    string
	status string
}

func (r sshdcfgFakeSSHD) Run(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
	return sshdconfig.ExecRunner{}.Run(ctx, "sh", "-c", `printf '%s\n' "$1" >&2; exit "$2"`, "sh", r.msg, r.status)
}

func TestSSHDIsTheAuthority(t *testing.T) {
	root := sshdcfgTree(t, "trees/debian12")
	sshdcfgKeygen(t, root)
	os.MkdirAll(filepath.Join(root, "run/sshd"), 0o755)
	// The runner stands in for sshd; Inspect only needs a binary to exist.
	os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/sbin/sshd"), []byte("OpenSSH_9.2\x00/run/sshd\x00"), 0o755)
	live := func(r sshdconfig.Runner) (sshdconfig.Facts, []Finding) {
		f := sshdconfig.Inspect(context.Background(), sshdconfig.InspectOptions{Root: root, TreeIsLive: true, Runner: r})
		return f, SSHDConfig(&f)
	}
	// sshd refuses what we accept: its message is the finding.
	_, got := live(sshdcfgFakeSSHD{"/etc/ssh/sshd_config line 7: frobnication failed", "255"})
	if len(got) != 1 || got[0].Evidence.Get("message") != "/etc/ssh/sshd_config line 7: frobnication failed" || got[0].Evidence.Get("line") != 7 {
		t.Errorf("sshd refuses: %+v", got)
	}
	// sshd accepts what we refuse: our finding is dropped, and the
	// disagreement is kept for debug output.
	os.WriteFile(filepath.Join(root, "etc/ssh/sshd_config.d/99-x.conf"), []byte("PermitRootLogn no\n"), 0o644)
	f, got := live(sshdcfgFakeSSHD{"", "0"})
	if len(got) != 0 {
		t.Errorf("sshd accepts: findings %+v", got)
	}
	if len(f.Disagreements) == 0 || f.Disagreements[0].Key != "sshd -t" {
		t.Errorf("disagreements %+v", f.Disagreements)
	}
	// A missing /run/sshd makes sshd -t fail too: one finding, not two.
	os.Remove(filepath.Join(root, "etc/ssh/sshd_config.d/99-x.conf"))
	os.Remove(filepath.Join(root, "run/sshd"))
	_, got = live(sshdcfgFakeSSHD{"Missing privilege separation directory: /run/sshd", "255"})
	if len(got) != 1 || got[0].Code != "sshd.privsep-dir-missing" || got[0].Severity != SeverityError ||
		!strings.HasPrefix(got[0].Fix.Commands[0], "mkdir -p "+root+"/run/sshd") {
		t.Errorf("privsep: %+v", got)
	}
}
