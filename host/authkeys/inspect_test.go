package authkeys

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/accounts"
)

// requireRoot skips tests that chown files to fake users, unless CI=true,
// where a skip would hide a test that never ran.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal("authkeys: this test chowns files to other uids and needs root (CI=true: failing, not skipping)")
	}
	t.Skip("authkeys: this test chowns files to other uids; run it as root")
}

// node is a file or directory of a test tree, with owner and mode.
type node struct {
	path     string
	uid, gid int
	mode     os.FileMode
	content  string // a file when not empty or when dir is false
	dir      bool
}

const (
	passwdData = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n"
	groupData  = "root:x:0:\nalice:x:1000:\nbob:x:1001:\nstaff:x:50:alice,bob\n"
)

// build makes a tree: root-owned /etc with the account files, then nodes.
func build(t *testing.T, debian bool, nodes ...node) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	base := []node{
		{path: "etc", dir: true, mode: 0o755},
		{path: "etc/passwd", content: passwdData, mode: 0o644},
		{path: "etc/group", content: groupData, mode: 0o644},
		{path: "home", dir: true, mode: 0o755},
	}
	if debian {
		base = append(base, node{path: "etc/debian_version", content: "12.5\n", mode: 0o644})
	}
	for _, n := range append(base, nodes...) {
		full := filepath.Join(root, n.path)
		if n.dir {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(n.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(full, n.uid, n.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, n.mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// healthyHome is alice's home with one key, as a careful admin leaves it.
func healthyHome(key string) []node {
	return []node{
		{path: "home/alice", dir: true, uid: 1000, gid: 1000, mode: 0o755},
		{path: "home/alice/.ssh", dir: true, uid: 1000, gid: 1000, mode: 0o700},
		{path: "home/alice/.ssh/authorized_keys", content: key, uid: 1000, gid: 1000, mode: 0o600},
	}
}

func inspect(t *testing.T, root, user string, cfg Config) *Facts {
	t.Helper()
	sys := host.Offline(root)
	sys.Now = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	acct, err := accounts.Inspect(context.Background(), sys, user)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Inspect(sys, acct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func problemsOf(f *Facts) map[string]Problem {
	out := map[string]Problem{}
	for _, file := range f.Files {
		for _, p := range file.Problems {
			if _, dup := out[p.Path]; !dup {
				out[p.Path] = p
			}
		}
	}
	return out
}

func TestInspectHealthy(t *testing.T) {
	requireRoot(t)
	root := build(t, true, healthyHome(string(fixture(t, "ed.pub")))...)
	f := inspect(t, root, "alice", DefaultConfig())
	if len(f.Files) != 2 {
		t.Fatalf("files = %+v", f.Files)
	}
	ak, ak2 := f.Files[0], f.Files[1]
	if !ak.Exists || ak.Path != "/home/alice/.ssh/authorized_keys" || len(ak.Entries) != 1 || len(ak.Problems) != 0 || !f.Usable(&ak) {
		t.Errorf("authorized_keys = %+v", ak)
	}
	if ak2.Exists || ak2.MissingDir != "" || len(ak2.Problems) != 0 {
		t.Errorf("authorized_keys2 = %+v", ak2)
	}
	m := f.Find(pubKey(t, "ed.pub"), accounts.Client{})
	if len(m) != 1 || m[0].Line != 1 || m[0].Refused != "" {
		t.Errorf("Find = %+v", m)
	}
}

func TestStrictModesWalk(t *testing.T) {
	requireRoot(t)
	key := string(fixture(t, "ed.pub"))
	cases := []struct {
		name   string
		debian bool
		nodes  []node
		want   map[string]string // path -> "want_owner want_mode"
		first  string
	}{
		{
			name:  "group-writable .ssh, shared group",
			nodes: append(healthyHome(key)[:1], node{path: "home/alice/.ssh", dir: true, uid: 1000, gid: 50, mode: 0o770}, healthyHome(key)[2]),
			want:  map[string]string{"/home/alice/.ssh": "alice 0750"},
			first: "/home/alice/.ssh",
		},
		{
			name:   "group-writable home, private group, Debian",
			debian: true,
			nodes:  append([]node{{path: "home/alice", dir: true, uid: 1000, gid: 1000, mode: 0o775}}, healthyHome(key)[1:]...),
			want:   map[string]string{},
		},
		{
			name:  "group-writable home, private group, upstream",
			nodes: append([]node{{path: "home/alice", dir: true, uid: 1000, gid: 1000, mode: 0o775}}, healthyHome(key)[1:]...),
			want:  map[string]string{"/home/alice": "alice 0755"},
			first: "/home/alice",
		},
		{
			name:   "authorized_keys owned by another user",
			debian: true,
			nodes:  append(healthyHome(key)[:2], node{path: "home/alice/.ssh/authorized_keys", content: key, uid: 1001, gid: 1001, mode: 0o644}),
			want:   map[string]string{"/home/alice/.ssh/authorized_keys": "alice 0644"},
			first:  "/home/alice/.ssh/authorized_keys",
		},
		{
			// Above the home directory sshd checks nothing for StrictModes,
			// but alice must still be able to get through /home.
			name:   "world-writable /home, and /home not searchable",
			debian: true,
			nodes:  append([]node{{path: "home", dir: true, mode: 0o772}}, healthyHome(key)...),
			want:   map[string]string{"/home": "root 0773"},
		},
		{
			name:   "everything wrong at once",
			debian: true,
			nodes: []node{
				{path: "home/alice", dir: true, uid: 1001, gid: 50, mode: 0o777},
				{path: "home/alice/.ssh", dir: true, uid: 1000, gid: 50, mode: 0o770},
				{path: "home/alice/.ssh/authorized_keys", content: key, uid: 1000, gid: 1000, mode: 0o066},
			},
			want: map[string]string{
				"/home/alice":      "alice 0755",
				"/home/alice/.ssh": "alice 0750",
				// Group write stays: the group is alice's private group.
				"/home/alice/.ssh/authorized_keys": "alice 0464",
			},
			first: "/home/alice/.ssh/authorized_keys",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := build(t, c.debian, c.nodes...)
			f := inspect(t, root, "alice", DefaultConfig())
			got := problemsOf(f)
			if len(got) != len(c.want) {
				t.Errorf("problems = %+v, want %v", got, c.want)
			}
			for p, want := range c.want {
				pr, ok := got[p]
				if !ok {
					t.Errorf("%s: no problem reported", p)
					continue
				}
				if g := fmt.Sprintf("%s %04o", pr.WantOwner, pr.WantMode); g != want {
					t.Errorf("%s: want %s, got %s (%v)", p, want, g, pr.Reasons)
				}
				if pr.First != (p == c.first) {
					t.Errorf("%s: First = %v, want %v", p, pr.First, p == c.first)
				}
			}
		})
	}
}

func TestInspectMissingFileAndDir(t *testing.T) {
	requireRoot(t)
	root := build(t, true, node{path: "home/alice", dir: true, uid: 1000, gid: 50, mode: 0o777})
	f := inspect(t, root, "alice", DefaultConfig())
	ak := f.Files[0]
	if ak.Exists || ak.MissingDir != "/home/alice/.ssh" {
		t.Errorf("authorized_keys = %+v", ak)
	}
	// The home directory already stops any file created below it.
	if p, ok := problemsOf(f)["/home/alice"]; !ok || p.WantMode != 0o755 {
		t.Errorf("problems = %+v", problemsOf(f))
	}
}

func TestInspectPatterns(t *testing.T) {
	requireRoot(t)
	root := build(t, true, append(healthyHome(string(fixture(t, "ed.pub"))),
		node{path: "etc/ssh/keys", dir: true, mode: 0o755},
		node{path: "etc/ssh/keys/alice", content: string(fixture(t, "rsa.pub")), mode: 0o644},
		node{path: "etc/ssh/keys/1000.pub", content: "garbage\n", mode: 0o644})...)
	cfg := DefaultConfig()
	cfg.Files = []string{"/etc/ssh/keys/%u", "/etc/ssh/keys/%U.pub", "%h/.ssh/authorized_keys", "none", "/x/%k"}
	f := inspect(t, root, "alice", cfg)
	var paths []string
	for _, file := range f.Files {
		paths = append(paths, file.Path)
	}
	if strings.Join(paths, " ") != "/etc/ssh/keys/alice /etc/ssh/keys/1000.pub /home/alice/.ssh/authorized_keys " {
		t.Errorf("paths = %q", paths)
	}
	if !strings.Contains(f.Files[3].Err, "unknown token %k") {
		t.Errorf("bad token: %+v", f.Files[3])
	}
	if len(f.Files[1].Invalid) != 1 || f.Files[1].Invalid[0].Line != 1 {
		t.Errorf("1000.pub = %+v", f.Files[1])
	}
	if m := f.Find(pubKey(t, "rsa.pub"), accounts.Client{}); len(m) != 1 || m[0].File != "/etc/ssh/keys/alice" {
		t.Errorf("rsa key found at %+v", m)
	}
}

func TestFindRestrictions(t *testing.T) {
	requireRoot(t)
	lines := strings.Join([]string{
		`from="10.0.0.0/8,!10.0.0.99" ` + strings.TrimSpace(string(fixture(t, "ed.pub"))),
		`expiry-time="20200101" ` + strings.TrimSpace(string(fixture(t, "rsa.pub"))),
		`cert-authority,principals="ops" ` + strings.TrimSpace(string(fixture(t, "ca.pub"))),
	}, "\n") + "\n"
	root := build(t, true, healthyHome(lines)...)
	f := inspect(t, root, "alice", DefaultConfig())
	ed := pubKey(t, "ed.pub")
	if m := f.Find(ed, accounts.Client{}); len(m) != 1 || !m[0].NeedsClient {
		t.Errorf("unknown client: %+v", m)
	}
	if m := f.Find(ed, accounts.Client{Addr: netip.MustParseAddr("10.1.2.3")}); len(m) != 1 || m[0].Refused != "" {
		t.Errorf("10.1.2.3: %+v", m)
	}
	if m := f.Find(ed, accounts.Client{Addr: netip.MustParseAddr("10.0.0.99")}); len(m) != 1 || !strings.Contains(m[0].Refused, "does not allow 10.0.0.99") {
		t.Errorf("10.0.0.99: %+v", m)
	}
	if m := f.Find(pubKey(t, "rsa.pub"), accounts.Client{}); len(m) != 1 || !strings.Contains(m[0].Refused, "expired") {
		t.Errorf("expired: %+v", m)
	}
	// The certificate names alice and ops; principals="ops" lets it in.
	cert := pubKey(t, "cu-cert.pub")
	if m := f.Find(cert, accounts.Client{}); len(m) != 1 || !m[0].ViaCA || m[0].Refused != "" {
		t.Errorf("certificate: %+v", m)
	}
	// The CA key itself is not authorized by a cert-authority line.
	if m := f.Find(pubKey(t, "ca.pub"), accounts.Client{}); len(m) != 0 {
		t.Errorf("CA key as a plain key: %+v", m)
	}
}
