package check

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/accounts"
	"github.com/sshdoctor/sshdoctor/host/authkeys"
)

// The scenarios below build a --root tree in a temporary directory, gather
// the facts with host/accounts and host/authkeys, and assert the findings
// a user would read. They chown files to the tree's uids, so they need
// root.

func requireRootForTrees(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal("check: the --root scenarios chown files to other uids and need root (CI=true: failing, not skipping)")
	}
	t.Skip("check: the --root scenarios chown files to other uids; run them as root")
}

const (
	edKey    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKaeH3tO7UuTYIaoxcWce4wd/UjniGCu/0ITrcW+Izgy alice@laptop"
	otherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPS7uflWUhotK/xexYBtiPmu1z2sjaYx4MfPniKi/rHY other@host"
	// today is the scenarios' clock: 2024-06-01, shadow day 19875.
	hash = "$6$rounds=5000$abcdefgh$0123456789012345678901234567890123456789"
)

var today = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// entry is one file or directory of a scenario tree.
type entry struct {
	uid, gid int
	mode     os.FileMode
	content  string
	dir      bool
	link     string
}

// healthyTree is a Debian-like system where alice logs in with her key.
func healthyTree() map[string]entry {
	return map[string]entry{
		"etc":                {dir: true, mode: 0o755},
		"etc/debian_version": {content: "12.5\n", mode: 0o644},
		"etc/passwd": {content: "root:x:0:0:root:/root:/bin/bash\n" +
			"alice:x:1000:1000:Alice:/home/alice:/bin/bash\n" +
			"bob:x:1001:1001::/home/bob:/bin/bash\n", mode: 0o644},
		"etc/shadow": {content: "root:" + hash + ":19000:0:99999:7:::\n" +
			"alice:" + hash + ":19000:0:99999:7:::\n" +
			"bob:" + hash + ":19000:0:99999:7:::\n", mode: 0o640},
		"etc/group":                       {content: "root:x:0:\nalice:x:1000:\nbob:x:1001:\nstaff:x:50:bob\n", mode: 0o644},
		"etc/shells":                      {content: "/bin/sh\n/bin/bash\n/usr/bin/bash\n", mode: 0o644},
		"usr":                             {dir: true, mode: 0o755},
		"usr/bin":                         {dir: true, mode: 0o755},
		"usr/bin/bash":                    {content: "#!bash\n", mode: 0o755},
		"usr/sbin":                        {dir: true, mode: 0o755},
		"usr/sbin/nologin":                {content: "#!nologin\n", mode: 0o755},
		"bin":                             {link: "usr/bin"},
		"root":                            {dir: true, mode: 0o700},
		"root/.ssh":                       {dir: true, mode: 0o700},
		"root/.ssh/authorized_keys":       {content: edKey + "\n", mode: 0o600},
		"home":                            {dir: true, mode: 0o755},
		"home/alice":                      {dir: true, uid: 1000, gid: 1000, mode: 0o755},
		"home/alice/.ssh":                 {dir: true, uid: 1000, gid: 1000, mode: 0o700},
		"home/alice/.ssh/authorized_keys": {content: edKey + "\n", uid: 1000, gid: 1000, mode: 0o600},
	}
}

func writeTree(t *testing.T, files map[string]entry) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Parents before children: sort by depth.
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	for depth := 1; depth < 10; depth++ {
		for _, p := range paths {
			if strings.Count(p, "/")+1 != depth {
				continue
			}
			e, full := files[p], filepath.Join(root, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			switch {
			case e.link != "":
				if err := os.Symlink(e.link, full); err != nil {
					t.Fatal(err)
				}
				continue
			case e.dir:
				if err := os.Mkdir(full, 0o700); err != nil && !os.IsExist(err) {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(full, []byte(e.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(full, e.uid, e.gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(full, e.mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// scenario is one --root case.
type scenario struct {
	user   string
	tree   func(map[string]entry)
	access func(*accounts.Access)
	keys   func(*authkeys.Config)
	key    string // --key as a string; empty for none
	from   string
}

func (sc scenario) run(t *testing.T) ([]Finding, string) {
	t.Helper()
	requireRootForTrees(t)
	files := healthyTree()
	if sc.tree != nil {
		sc.tree(files)
	}
	root := writeTree(t, files)
	return sc.inspect(t, root), root
}

// inspect gathers the facts of the tree at root and judges them.
func (sc scenario) inspect(t *testing.T, root string) []Finding {
	t.Helper()
	sys := host.Offline(root)
	sys.Now = func() time.Time { return today }
	user := sc.user
	if user == "" {
		user = "alice"
	}
	acct, err := accounts.Inspect(context.Background(), sys, user)
	if err != nil {
		t.Fatal(err)
	}
	acc := accounts.DefaultAccess()
	acc.UsePAM = true // Debian's sshd_config
	acc.Sources = map[string]string{"UsePAM": "/etc/ssh/sshd_config:12"}
	if sc.access != nil {
		sc.access(&acc)
	}
	cfg := authkeys.DefaultConfig()
	cfg.AcceptedAlgorithms = []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"}
	if sc.keys != nil {
		sc.keys(&cfg)
	}
	f := &ServerAccessFacts{Account: acct, Access: acc}
	if acct.Entry != nil {
		if f.Keys, err = authkeys.Inspect(sys, acct, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if sc.key != "" {
		if f.Key, err = authkeys.LoadKey(sc.key); err != nil {
			t.Fatal(err)
		}
	}
	if sc.from != "" {
		f.Client.Addr = netip.MustParseAddr(sc.from)
	}
	findings := ServerAccess(f)
	for _, fd := range findings {
		if _, err := json.Marshal(fd); err != nil {
			t.Fatalf("%s does not marshal: %v", fd.Code, err)
		}
		checkEvidenceTypes(t, fd)
	}
	return findings
}

// checkEvidenceTypes holds evidence to the contract: strings, numbers,
// booleans, or slices of those.
func checkEvidenceTypes(t *testing.T, f Finding) {
	t.Helper()
	for _, kv := range f.Evidence {
		v := reflect.ValueOf(kv.Value)
		if v.Kind() == reflect.Slice {
			if v.Type().Elem().Kind() == reflect.Slice || v.Type().Elem().Kind() == reflect.Interface {
				t.Errorf("%s: evidence %s is a %T", f.Code, kv.Key, kv.Value)
			}
			continue
		}
		switch v.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float64:
		default:
			t.Errorf("%s: evidence %s is a %T", f.Code, kv.Key, kv.Value)
		}
	}
}

// only returns the findings of code.
func only(fs []Finding, code string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func codes(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code+"("+string(f.Severity)+")")
	}
	return strings.Join(out, " ")
}

// expect asserts one finding of code with severity and evidence, and that
// it is the verdict.
func expect(t *testing.T, fs []Finding, code string, sev Severity, ev map[string]any) Finding {
	t.Helper()
	got := only(fs, code)
	if len(got) != 1 {
		t.Fatalf("want one %s, got %s", code, codes(fs))
	}
	f := got[0]
	if f.Severity != sev {
		t.Errorf("%s: severity %s, want %s (%s)", code, f.Severity, sev, f.Detail)
	}
	for k, want := range ev {
		if g := f.Evidence.Get(k); fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("%s: evidence %s = %v, want %v", code, k, g, want)
		}
	}
	if sev == SeverityError {
		if v := Verdict(fs); v == nil || v.Code != code {
			t.Errorf("verdict = %v, want %s (findings %s)", v, code, codes(fs))
		}
	}
	if f.Fix == nil && sev != SeverityInfo {
		t.Errorf("%s: no fix", code)
	}
	return f
}

func commands(f Finding) string {
	if f.Fix == nil {
		return ""
	}
	return strings.Join(f.Fix.Commands, "\n")
}

func TestScenarioHealthy(t *testing.T) {
	fs, _ := scenario{key: edKey, from: "192.0.2.10"}.run(t)
	if len(fs) != 0 {
		t.Errorf("healthy tree: %s", codes(fs))
		for _, f := range fs {
			t.Log(f.Detail)
		}
	}
}

func TestScenarioDenyUsers(t *testing.T) {
	fs, _ := scenario{access: func(a *accounts.Access) {
		a.DenyUsers = []accounts.Pattern{{Value: "bob", Source: "/etc/ssh/sshd_config:30"}, {Value: "ali*", Source: "/etc/ssh/sshd_config:30"}}
	}}.run(t)
	f := expect(t, fs, "access.denied-by-config", SeverityError, map[string]any{
		"directive": "DenyUsers", "pattern": "ali*", "source": "/etc/ssh/sshd_config:30"})
	// The line has two patterns: the fix takes out only alice's.
	if c := commands(f); !strings.Contains(c, `sed -i '30s/[[:space:]]ali\*\([[:space:]]\|$\)/\1/'`) || !strings.HasSuffix(c, "/etc/ssh/sshd_config") {
		t.Errorf("fix = %q", c)
	}
}

func TestScenarioAllowGroups(t *testing.T) {
	fs, root := scenario{access: func(a *accounts.Access) {
		a.AllowGroups = []accounts.Pattern{{Value: "ssh-users", Source: "/etc/ssh/sshd_config.d/local.conf:3"}}
	}}.run(t)
	f := expect(t, fs, "access.denied-by-config", SeverityError, map[string]any{
		"directive": "AllowGroups", "source": "/etc/ssh/sshd_config.d/local.conf:3", "groups": []string{"alice"}})
	if c := commands(f); !strings.Contains(c, filepath.Join(root, "/etc/ssh/sshd_config.d/local.conf")) || strings.Contains(c, "systemctl") {
		t.Errorf("offline fix must edit the tree's file and not reload: %q", c)
	}
}

func TestScenarioAllowUsersFromUnknownClient(t *testing.T) {
	fs, _ := scenario{access: func(a *accounts.Access) {
		a.AllowUsers = []accounts.Pattern{{Value: "alice@10.0.0.0/8", Source: "/etc/ssh/sshd_config:40"}}
	}}.run(t)
	expect(t, fs, "access.denied-by-config", SeverityWarning, map[string]any{"directive": "AllowUsers", "pattern": "alice@10.0.0.0/8"})
}

func TestScenarioPermitRootLoginNo(t *testing.T) {
	fs, _ := scenario{user: "root", key: edKey, access: func(a *accounts.Access) {
		a.PermitRootLogin = "no"
		a.Sources["PermitRootLogin"] = "/etc/ssh/sshd_config:33"
	}}.run(t)
	f := expect(t, fs, "access.denied-by-config", SeverityError, map[string]any{
		"directive": "PermitRootLogin", "value": "no", "source": "/etc/ssh/sshd_config:33"})
	if f.Fix.Warning == "" {
		t.Error("allowing root needs a warning")
	}
}

func TestScenarioRootProhibitPassword(t *testing.T) {
	// The default: root logs in with a key; no password. Information only.
	fs, _ := scenario{user: "root", key: edKey}.run(t)
	expect(t, fs, "auth.password-disabled", SeverityInfo, nil)
	if v := Verdict(fs); v != nil {
		t.Errorf("verdict %s for a root key login under prohibit-password", v.Code)
	}
}

func TestScenarioNologinShell(t *testing.T) {
	fs, _ := scenario{tree: func(m map[string]entry) {
		m["etc/passwd"] = entry{content: "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/usr/sbin/nologin\n", mode: 0o644}
	}}.run(t)
	f := expect(t, fs, "account.nologin-shell", SeverityError, map[string]any{"shell": "/usr/sbin/nologin", "source": "/etc/passwd:2"})
	if c := commands(f); !strings.HasPrefix(c, "chsh -R ") || !strings.HasSuffix(c, "-s /bin/bash alice") {
		t.Errorf("fix = %q", c)
	}
}

func TestScenarioShellWithCarriageReturn(t *testing.T) {
	fs, _ := scenario{tree: func(m map[string]entry) {
		m["etc/passwd"] = entry{content: "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\r\n", mode: 0o644}
	}}.run(t)
	f := expect(t, fs, "account.nologin-shell", SeverityError, map[string]any{"shell": `/bin/bash\r`})
	if !strings.Contains(f.Detail, "carriage return") {
		t.Errorf("detail = %q", f.Detail)
	}
}

func TestScenarioLockedAccount(t *testing.T) {
	locked := func(m map[string]entry) {
		m["etc/shadow"] = entry{content: "alice:!" + hash + ":19000:0:99999:7:::\n", mode: 0o640}
	}
	// UsePAM no: sshd refuses every login, keys included.
	fs, _ := scenario{tree: locked, key: edKey, access: func(a *accounts.Access) { a.UsePAM = false }}.run(t)
	f := expect(t, fs, "account.locked", SeverityError, map[string]any{"source": "/etc/shadow:1", "use_pam": false})
	if c := commands(f); !strings.HasPrefix(c, "usermod -R ") || !strings.HasSuffix(c, "-U alice") {
		t.Errorf("fix = %q", c)
	}
	// UsePAM yes: keys still work; only information.
	fs, _ = scenario{tree: locked, key: edKey}.run(t)
	expect(t, fs, "account.locked", SeverityInfo, map[string]any{"use_pam": true})
	if v := Verdict(fs); v != nil {
		t.Errorf("verdict %s, but key logins work with UsePAM yes", v.Code)
	}
	// A bare "!" (no password ever set): usermod -U would refuse.
	fs, _ = scenario{access: func(a *accounts.Access) { a.UsePAM = false }, tree: func(m map[string]entry) {
		m["etc/shadow"] = entry{content: "alice:!:19000:0:99999:7:::\n", mode: 0o640}
	}}.run(t)
	if f := expect(t, fs, "account.locked", SeverityError, nil); !strings.Contains(commands(f), "-p '*' alice") {
		t.Errorf("fix = %q", commands(f))
	}
}

func TestScenarioExpiredAccount(t *testing.T) {
	// Expired on 2024-05-01 (day 19844).
	fs, _ := scenario{tree: func(m map[string]entry) {
		m["etc/shadow"] = entry{content: "alice:" + hash + ":19000:0:99999:7::19844:\n", mode: 0o640}
	}}.run(t)
	f := expect(t, fs, "account.expired", SeverityError, map[string]any{"expired_on": "2024-05-01", "today": "2024-06-01"})
	if c := commands(f); !strings.Contains(c, "chage -R ") || !strings.HasSuffix(c, "-E -1 alice") {
		t.Errorf("fix = %q", c)
	}
}

func TestScenarioPasswordInactive(t *testing.T) {
	// Password changed on day 19000, max 90, 30 days of grace: long over.
	fs, _ := scenario{tree: func(m map[string]entry) {
		m["etc/shadow"] = entry{content: "alice:" + hash + ":19000:0:90:7:30::\n", mode: 0o640}
	}}.run(t)
	expect(t, fs, "account.expired", SeverityError, map[string]any{"inactive_days": 30})
	// Without PAM only password logins notice.
	fs, _ = scenario{access: func(a *accounts.Access) { a.UsePAM = false }, tree: func(m map[string]entry) {
		m["etc/shadow"] = entry{content: "alice:" + hash + ":19000:0:90:7:30::\n", mode: 0o640}
	}}.run(t)
	expect(t, fs, "account.expired", SeverityWarning, nil)
}

func TestScenarioNologinFile(t *testing.T) {
	fs, root := scenario{tree: func(m map[string]entry) {
		m["etc/nologin"] = entry{content: "Back at 18:00\n", mode: 0o644}
		m["etc/pam.d"] = entry{dir: true, mode: 0o755}
		m["etc/pam.d/sshd"] = entry{content: "account    required     pam_nologin.so\n@include common-account\n", mode: 0o644}
	}}.run(t)
	f := expect(t, fs, "account.nologin-file", SeverityError, map[string]any{
		"path": "/etc/nologin", "message": "Back at 18:00", "checked_by": "pam_nologin", "pam_source": "/etc/pam.d/sshd:1"})
	if c := commands(f); c != "rm "+filepath.Join(root, "etc/nologin") {
		t.Errorf("fix = %q", c)
	}
	// root is never stopped by nologin.
	fs, _ = scenario{user: "root", key: edKey, tree: func(m map[string]entry) {
		m["etc/nologin"] = entry{content: "x\n", mode: 0o644}
	}}.run(t)
	if len(only(fs, "account.nologin-file")) != 0 {
		t.Errorf("root: %s", codes(fs))
	}
}

func TestScenarioGroupWritableSSHDir(t *testing.T) {
	fs, root := scenario{tree: func(m map[string]entry) {
		m["home/alice/.ssh"] = entry{dir: true, uid: 1000, gid: 50, mode: 0o770}
	}}.run(t)
	f := expect(t, fs, "authkeys.permissions", SeverityError, map[string]any{
		"path": "/home/alice/.ssh", "kind": "directory", "owner": "alice", "group": "staff",
		"mode": "0770", "want_mode": "0750", "want_owner": "alice",
		"sshd_log": "Authentication refused: bad ownership or modes for directory /home/alice/.ssh"})
	if c := commands(f); c != "chmod 0750 "+filepath.Join(root, "home/alice/.ssh") {
		t.Errorf("fix = %q", c)
	}
	// With the user's private group, Debian's sshd accepts it.
	fs, _ = scenario{tree: func(m map[string]entry) {
		m["home/alice/.ssh"] = entry{dir: true, uid: 1000, gid: 1000, mode: 0o770}
	}}.run(t)
	if len(only(fs, "authkeys.permissions")) != 0 {
		t.Errorf("private group: %s", codes(fs))
	}
}

func TestScenarioAuthorizedKeysOwnedByOther(t *testing.T) {
	fs, root := scenario{key: edKey, tree: func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: edKey + "\n", uid: 1001, gid: 1001, mode: 0o644}
	}}.run(t)
	f := expect(t, fs, "authkeys.permissions", SeverityError, map[string]any{
		"path": "/home/alice/.ssh/authorized_keys", "kind": "file", "owner": "bob", "want_owner": "alice", "mode": "0644", "want_mode": "0644"})
	// Offline, owners are numeric: "alice" would resolve with this
	// machine's passwd.
	if c := commands(f); c != "chown 1000 "+filepath.Join(root, "home/alice/.ssh/authorized_keys") {
		t.Errorf("fix = %q", c)
	}
	// The key is there; it is the file that sshd ignores.
	if len(only(fs, "authkeys.key-absent")) != 0 {
		t.Errorf("key-absent reported for a present key: %s", codes(fs))
	}
}

func TestScenarioMissingAuthorizedKeys(t *testing.T) {
	fs, root := scenario{key: edKey, tree: func(m map[string]entry) {
		delete(m, "home/alice/.ssh/authorized_keys")
		delete(m, "home/alice/.ssh")
	}}.run(t)
	f := expect(t, fs, "authkeys.missing", SeverityError, map[string]any{
		"files": []string{"/home/alice/.ssh/authorized_keys", "/home/alice/.ssh/authorized_keys2"}, "missing_dir": "/home/alice/.ssh"})
	want := []string{
		"install -d -m 700 -o 1000 -g 1000 " + filepath.Join(root, "home/alice/.ssh"),
		"install -m 600 -o 1000 -g 1000 /dev/null " + filepath.Join(root, "home/alice/.ssh/authorized_keys"),
	}
	if !reflect.DeepEqual(f.Fix.Commands[:2], want) || !strings.HasPrefix(f.Fix.Commands[2], "grep -qxF ") {
		t.Errorf("fix = %q", f.Fix.Commands)
	}
	// With the key's absence explained by the missing file, the password
	// finding says there is no fallback... but passwords work here.
	if len(only(fs, "auth.password-disabled")) != 0 {
		t.Errorf("passwords are enabled: %s", codes(fs))
	}
}

func TestScenarioKeyAbsent(t *testing.T) {
	fs, _ := scenario{key: otherKey}.run(t)
	f := expect(t, fs, "authkeys.key-absent", SeverityError, map[string]any{
		"fingerprint": "SHA256:2N3Zi6JP2VYmxvqUfUXN6ysfON55ezB5j8GGL4OEzEg", "key_type": "ssh-ed25519"})
	if c := commands(f); !strings.Contains(c, "grep -qxF '"+otherKey+"'") || !strings.Contains(c, "echo '"+otherKey+"' >> ") {
		t.Errorf("fix = %q", c)
	}
}

func TestScenarioKeyRestrictedByFrom(t *testing.T) {
	tree := func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: `from="10.0.0.0/8" ` + edKey + "\n", uid: 1000, gid: 1000, mode: 0o600}
	}
	fs, _ := scenario{key: edKey, from: "192.0.2.7", tree: tree}.run(t)
	expect(t, fs, "authkeys.key-absent", SeverityError, map[string]any{"found_at": []string{"/home/alice/.ssh/authorized_keys:1"}})
	fs, _ = scenario{key: edKey, tree: tree}.run(t)
	expect(t, fs, "authkeys.key-absent", SeverityWarning, nil)
	fs, _ = scenario{key: edKey, from: "10.1.1.1", tree: tree}.run(t)
	if len(fs) != 0 {
		t.Errorf("allowed address: %s", codes(fs))
	}
}

func TestScenarioGarbageLine(t *testing.T) {
	fs, root := scenario{key: edKey, tree: func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: "# keys\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\nIKaeH3tO7UuTYIaoxcWce4wd/UjniGCu/0ITrcW+Izgy alice@laptop\n" + edKey + "\n", uid: 1000, gid: 1000, mode: 0o600}
	}}.run(t)
	got := only(fs, "authkeys.invalid-entry")
	if len(got) != 2 {
		t.Fatalf("want two invalid lines, got %s", codes(fs))
	}
	f := got[0]
	if f.Evidence.Get("line") != 2 || f.Evidence.Get("location") != "/home/alice/.ssh/authorized_keys:2" || f.Severity != SeverityWarning {
		t.Errorf("first invalid line: %+v", f)
	}
	if c := commands(f); c != `sed -i '2s/^/# sshdoctor: invalid: /' `+filepath.Join(root, "home/alice/.ssh/authorized_keys") {
		t.Errorf("fix = %q", c)
	}
	// When the wanted key is not found, a bad line may be it: an error.
	fs, _ = scenario{key: otherKey, tree: func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: "ssh-ed25519 garbage!\n", uid: 1000, gid: 1000, mode: 0o600}
	}}.run(t)
	if got := only(fs, "authkeys.invalid-entry"); len(got) != 1 || got[0].Severity != SeverityError {
		t.Errorf("invalid line hiding the key: %s", codes(fs))
	}
}

func TestScenarioRefusedAlgorithm(t *testing.T) {
	dsa := "ssh-dss AAAAB3NzaC1kc3MAAACBAIUODa1ul0Mpn1PhyuAGBvci6jO3obGPsMdCWd+DPIQuGWBU3bc77KY7mtvbU2ZJc4ePfnd+dpg/Ypbn6LltZEy+cxbC6vD2wNcA0VuU5Q3G+Q0q4vHzsEYAPnVPCbZuPhZvLnxPtcbB1SBVTM7blbapTGeTK5uCzwXKD/JIS7uRAAAAFQDsEpKXrXr1INgEdiYhKXzqGU1u6QAAAIBJBQAgeyQBWNd1jVEWhKlwNkpmXfl/N5yhidFrl1G/DcRZ7AJBQ77bEqXNCt7rtZzvBDrSFBEAlQ+ukjzV3H3ArORHS/J/Z2vGddQOXrXVMLIOIo41cxNf/AxfVxDw1YLPYmgUBuubZS8Eao5nBpd3Afu4qnS47HOyLa4gv4XLFgAAAIBg7ZcNFoEbhMaLGOEEBGb0NTYOJHD3ppJTMyp18DIqlq8xpeqc5H5V4fpRt7fzcQ8hLGVcw/6twXaGlYFgLFQpvzW4YMwp5y5Kx6Clqu9ewkQXZfAqTMzgZK1W4ynoTEtSb2ApJfnnxxGBUL4g+/O7j9S6f3hw9fypbAtXp38nnA== old-dsa"
	fs, _ := scenario{key: dsa, tree: func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: dsa + "\n", uid: 1000, gid: 1000, mode: 0o600}
	}, keys: func(c *authkeys.Config) { c.Sources = map[string]string{"PubkeyAcceptedAlgorithms": "default"} }}.run(t)
	f := expect(t, fs, "authkeys.algorithm-refused", SeverityError, map[string]any{"key_type": "ssh-dss", "algorithms": []string{"ssh-dss"}})
	if f.Fix.Warning == "" || !strings.Contains(commands(f), "PubkeyAcceptedAlgorithms +ssh-dss") {
		t.Errorf("fix = %+v", f.Fix)
	}
}

func TestScenarioMissingUser(t *testing.T) {
	fs, _ := scenario{user: "Alice"}.run(t)
	f := expect(t, fs, "account.missing", SeverityError, map[string]any{"similar_users": []string{"alice"}})
	if len(fs) != 1 {
		t.Errorf("a missing user must stop the other checks: %s", codes(fs))
	}
	if c := commands(f); !strings.HasPrefix(c, "useradd -R ") {
		t.Errorf("fix = %q", c)
	}
	// A damaged passwd line is why the user is missing.
	fs, _ = scenario{tree: func(m map[string]entry) {
		m["etc/passwd"] = entry{content: "root:x:0:0::/root:/bin/bash\nalice:x:1000:10OO::/home/alice:/bin/bash\n", mode: 0o644}
	}}.run(t)
	expect(t, fs, "account.missing", SeverityError, map[string]any{"damaged_line": "/etc/passwd:2", "damage": "gid is not a number"})
}

func TestScenarioNoMethodLeft(t *testing.T) {
	fs, _ := scenario{access: func(a *accounts.Access) {
		a.PasswordAuthentication = false
		a.KbdInteractiveAuthentication = false
		a.PubkeyAuthentication = false
		a.Sources["PubkeyAuthentication"] = "/etc/ssh/sshd_config:50"
	}}.run(t)
	f := expect(t, fs, "auth.password-disabled", SeverityError, nil)
	if !strings.Contains(f.Detail, "no method is left") {
		t.Errorf("detail = %q", f.Detail)
	}
}

func TestScenarioPasswordOffAndNoKey(t *testing.T) {
	// Debian 12's sshd_config: keyboard-interactive off too. (With it on
	// and UsePAM yes, PAM would still ask for the password.)
	fs, _ := scenario{access: func(a *accounts.Access) {
		a.PasswordAuthentication = false
		a.KbdInteractiveAuthentication = false
	}, tree: func(m map[string]entry) {
		delete(m, "home/alice/.ssh/authorized_keys")
	}}.run(t)
	expect(t, fs, "authkeys.missing", SeverityError, nil)
	expect(t, fs, "auth.password-disabled", SeverityWarning, nil)
}

func TestDocsRegistered(t *testing.T) {
	for _, c := range []string{"account.missing", "account.locked", "account.expired", "account.nologin-shell",
		"account.nologin-file", "access.denied-by-config", "auth.password-disabled", "authkeys.missing",
		"authkeys.permissions", "authkeys.invalid-entry", "authkeys.key-absent", "authkeys.algorithm-refused"} {
		if _, ok := Lookup(c); !ok {
			t.Errorf("%s is not registered", c)
		}
	}
}

func TestScenarioRootForcedCommandsOnly(t *testing.T) {
	forced := func(a *accounts.Access) {
		a.PermitRootLogin = "forced-commands-only"
		a.Sources["PermitRootLogin"] = "/etc/ssh/sshd_config:33"
	}
	fs, _ := scenario{user: "root", access: forced}.run(t)
	expect(t, fs, "access.denied-by-config", SeverityError, map[string]any{"directive": "PermitRootLogin", "value": "forced-commands-only"})
	fs, _ = scenario{user: "root", key: edKey, access: forced}.run(t)
	expect(t, fs, "access.denied-by-config", SeverityError, map[string]any{"directive": "PermitRootLogin"})
	fs, _ = scenario{user: "root", key: edKey, access: forced, tree: func(m map[string]entry) {
		m["root/.ssh/authorized_keys"] = entry{content: `command="/usr/local/bin/backup" ` + edKey + "\n", mode: 0o600}
	}}.run(t)
	if len(only(fs, "access.denied-by-config")) != 0 {
		t.Errorf("a key with command= is what forced-commands-only allows: %s", codes(fs))
	}
}

func TestScenarioStrictModesOff(t *testing.T) {
	fs, _ := scenario{key: edKey, keys: func(c *authkeys.Config) { c.StrictModes = false }, tree: func(m map[string]entry) {
		m["home/alice/.ssh"] = entry{dir: true, uid: 1000, gid: 50, mode: 0o777}
	}}.run(t)
	if len(fs) != 0 {
		t.Errorf("StrictModes no ignores modes: %s", codes(fs))
	}
	// But alice must still be able to read the file.
	fs, _ = scenario{key: edKey, keys: func(c *authkeys.Config) { c.StrictModes = false }, tree: func(m map[string]entry) {
		m["home/alice/.ssh/authorized_keys"] = entry{content: edKey + "\n", uid: 0, gid: 0, mode: 0o600}
	}}.run(t)
	expect(t, fs, "authkeys.permissions", SeverityError, map[string]any{"path": "/home/alice/.ssh/authorized_keys", "want_mode": "0604"})
}

func TestScenarioKeyAppendedAfterUnterminatedLine(t *testing.T) {
	fs, root := scenario{key: otherKey}.run(t)
	f := expect(t, fs, "authkeys.key-absent", SeverityError, nil)
	file := filepath.Join(root, "home/alice/.ssh/authorized_keys")
	if len(f.Fix.Commands) != 2 || f.Fix.Commands[0] != "tail -c1 "+file+" | read -r _ || echo >> "+file {
		t.Errorf("fix = %q", f.Fix.Commands)
	}
}

// applyFixes runs the fix commands of fs with sh, as a user pasting them.
func applyFixes(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Fix == nil {
			continue
		}
		for _, c := range f.Fix.Commands {
			if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
				t.Fatalf("%s: %q: %v\n%s", f.Code, c, err, out)
			}
		}
	}
}

// TestFixesRepairTheTree pastes the fixes into a shell and checks that the
// tree is then healthy, and that files were changed no more than needed.
func TestFixesRepairTheTree(t *testing.T) {
	cases := map[string]func(map[string]entry){
		"group-writable .ssh": func(m map[string]entry) {
			m["home/alice/.ssh"] = entry{dir: true, uid: 1000, gid: 50, mode: 0o770}
		},
		"everything wrong": func(m map[string]entry) {
			m["home/alice"] = entry{dir: true, uid: 1001, gid: 50, mode: 0o777}
			m["home/alice/.ssh"] = entry{dir: true, uid: 1001, gid: 1001, mode: 0o757}
			m["home/alice/.ssh/authorized_keys"] = entry{content: "garbage\n" + edKey, uid: 1001, gid: 50, mode: 0o066}
		},
		"no .ssh": func(m map[string]entry) {
			delete(m, "home/alice/.ssh/authorized_keys")
			delete(m, "home/alice/.ssh")
		},
		"key missing after a line without newline": func(m map[string]entry) {
			m["home/alice/.ssh/authorized_keys"] = entry{content: otherKey, uid: 1000, gid: 1000, mode: 0o600}
		},
		"nologin file": func(m map[string]entry) {
			m["etc/nologin"] = entry{content: "maintenance\n", mode: 0o644}
			m["etc/pam.d"] = entry{dir: true, mode: 0o755}
			m["etc/pam.d/sshd"] = entry{content: "account required pam_nologin.so\n", mode: 0o644}
		},
	}
	for name, tree := range cases {
		t.Run(name, func(t *testing.T) {
			sc := scenario{key: edKey, tree: tree}
			fs, root := sc.run(t)
			if len(fs) == 0 {
				t.Fatal("the broken tree has no findings")
			}
			applyFixes(t, fs)
			if again := sc.inspect(t, root); len(again) != 0 {
				t.Errorf("after the fixes: %s", codes(again))
				for _, f := range again {
					t.Log(f.Detail)
				}
			}
			// Running the fixes a second time changes nothing: no
			// duplicate key, no second newline.
			before, _ := os.ReadFile(filepath.Join(root, "home/alice/.ssh/authorized_keys"))
			for _, f := range fs {
				if f.Code == "authkeys.key-absent" || f.Code == "authkeys.missing" {
					applyFixes(t, []Finding{f})
				}
			}
			after, _ := os.ReadFile(filepath.Join(root, "home/alice/.ssh/authorized_keys"))
			if string(before) != string(after) {
				t.Errorf("second run changed authorized_keys:\n%q\n%q", before, after)
			}
		})
	}
}

func TestFixEditsTheConfigLine(t *testing.T) {
	cases := []struct {
		name   string
		access func(*accounts.Access)
		line   string
		want   string
	}{
		{"deny pattern among others", func(a *accounts.Access) {
			a.DenyUsers = []accounts.Pattern{{Value: "bob", Source: "/etc/ssh/sshd_config:2"}, {Value: "al*", Source: "/etc/ssh/sshd_config:2"}, {Value: "carol", Source: "/etc/ssh/sshd_config:2"}}
		}, "DenyUsers bob al* carol", "DenyUsers bob carol"},
		{"deny pattern alone", func(a *accounts.Access) {
			a.DenyUsers = []accounts.Pattern{{Value: "alice", Source: "/etc/ssh/sshd_config:2"}}
		}, "DenyUsers alice", "# DenyUsers alice"},
		{"allow list", func(a *accounts.Access) {
			a.AllowUsers = []accounts.Pattern{{Value: "bob", Source: "/etc/ssh/sshd_config:2"}}
		}, "  allowusers bob # admins", "  allowusers alice bob # admins"},
		{"allow groups", func(a *accounts.Access) {
			a.AllowGroups = []accounts.Pattern{{Value: "wheel", Source: "/etc/ssh/sshd_config:2"}}
		}, "AllowGroups wheel", "AllowGroups alice wheel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := scenario{access: c.access, tree: func(m map[string]entry) {
				m["etc/ssh"] = entry{dir: true, mode: 0o755}
				m["etc/ssh/sshd_config"] = entry{content: "Port 22\n" + c.line + "\nUsePAM yes\n", mode: 0o644}
			}}
			fs, root := sc.run(t)
			applyFixes(t, only(fs, "access.denied-by-config"))
			data, _ := os.ReadFile(filepath.Join(root, "etc/ssh/sshd_config"))
			if want := "Port 22\n" + c.want + "\nUsePAM yes\n"; string(data) != want {
				t.Errorf("sshd_config after the fix:\n%s\nwant:\n%s", data, want)
			}
		})
	}
}
