package sshdconfig

import (
	"path/filepath"
	"strings"
	"testing"
)

func loadTree(t *testing.T, dir string) *Config {
	t.Helper()
	c, err := Load(Options{FS: RootFS{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHealthyTrees(t *testing.T) {
	for _, name := range []string{"debian12", "ubuntu2404", "rhel9"} {
		c := loadTree(t, filepath.Join("testdata/trees", name))
		for _, p := range c.Problems {
			t.Errorf("%s: unexpected problem %s: %s", name, p.Location(), p.Message)
		}
	}
}

func TestDebian12Tree(t *testing.T) {
	c := loadTree(t, "testdata/trees/debian12")
	wantFiles := []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/50-hardening.conf", "/etc/ssh/sshd_config.d/70-deploy.conf"}
	if strings.Join(c.Files, " ") != strings.Join(wantFiles, " ") {
		t.Errorf("files %v, want %v", c.Files, wantFiles)
	}
	s := c.Startup()
	if s.PasswordAuthentication() || s.KbdInteractiveAuthentication() || !s.UsePAM() || s.PermitRootLogin() != "no" || s.MaxAuthTries() != 3 {
		t.Errorf("startup: password %v kbd %v pam %v root %q tries %d", s.PasswordAuthentication(),
			s.KbdInteractiveAuthentication(), s.UsePAM(), s.PermitRootLogin(), s.MaxAuthTries())
	}
	if d := s.Source("PasswordAuthentication"); d == nil || d.File != "/etc/ssh/sshd_config.d/50-hardening.conf" || d.Line != 2 {
		t.Errorf("PasswordAuthentication source %+v", d)
	}
	if e := c.Effective(Conn{User: "alice", Addr: "10.1.2.3"}); !e.PasswordAuthentication() {
		t.Error("alice from 10.1.2.3: password authentication off")
	}
	if e := c.Effective(Conn{User: "alice", Addr: "10.66.1.1"}); e.PasswordAuthentication() {
		t.Error("alice from the excluded 10.66.0.0/16: password authentication on")
	}
	deploy := c.Effective(Conn{User: "deploy", Addr: "203.0.113.7", LocalPort: 22})
	paths, err := deploy.AuthorizedKeysPaths(Account{Name: "deploy", UID: 1001, Home: "/srv/deploy"})
	if err != nil || strings.Join(paths, " ") != "/etc/ssh/authorized_keys/deploy /srv/deploy/.ssh/authorized_keys" {
		t.Errorf("deploy keys %v %v", paths, err)
	}
	if !AlgorithmAccepted(deploy.PubkeyAcceptedAlgorithms(), "ssh-rsa") || !contains(deploy.PubkeyAcceptedAlgorithms(), "ssh-rsa") {
		t.Error("deploy: ssh-rsa not accepted")
	}
	if contains(c.Effective(Conn{User: "alice"}).PubkeyAcceptedAlgorithms(), "ssh-rsa") {
		t.Error("alice: ssh-rsa (SHA-1) accepted")
	}
	admin := c.Effective(Conn{User: "root", Addr: "203.0.113.7", LocalPort: 2222})
	if admin.PermitRootLogin() != "prohibit-password" {
		t.Errorf("root on 2222: PermitRootLogin %q", admin.PermitRootLogin())
	}
	if g := admin.AllowGroups(); len(g) != 1 || g[0].Pattern != "admins" || g[0].File != "/etc/ssh/sshd_config.d/70-deploy.conf" || g[0].Line != 14 {
		t.Errorf("root on 2222: AllowGroups %+v", g)
	}
	if g := c.Startup().AllowGroups(); len(g) != 3 {
		t.Errorf("startup AllowGroups %+v", g)
	}
	sftp := c.Effective(Conn{User: "upload", Groups: []string{"sftponly"}, LocalPort: 22})
	if a := sftp.Args("ForceCommand"); len(a) != 1 || a[0] != "internal-sftp" {
		t.Errorf("sftponly: ForceCommand %v", a)
	}
}

func TestUbuntuCloudInitDropIns(t *testing.T) {
	c := loadTree(t, "testdata/trees/ubuntu2404")
	s := c.Startup()
	// The first value wins: 50-cloud-init.conf turns passwords on, and
	// 60-cloudimg-settings.conf, read later, cannot turn them off.
	if !s.PasswordAuthentication() {
		t.Error("PasswordAuthentication off")
	}
	if d := s.Source("PasswordAuthentication"); d == nil || d.File != "/etc/ssh/sshd_config.d/50-cloud-init.conf" {
		t.Errorf("source %+v", d)
	}
}

func TestRHEL9Tree(t *testing.T) {
	c := loadTree(t, "testdata/trees/rhel9")
	if !contains(c.Files, "/etc/crypto-policies/back-ends/opensshserver.config") {
		t.Errorf("crypto policy not read: %v", c.Files)
	}
	s := c.Startup()
	if s.PermitRootLogin() != "yes" || s.KbdInteractiveAuthentication() || !s.UsePAM() {
		t.Errorf("root %q kbd %v pam %v", s.PermitRootLogin(), s.KbdInteractiveAuthentication(), s.UsePAM())
	}
	if d := s.Source("KbdInteractiveAuthentication"); d == nil || d.Keyword != "ChallengeResponseAuthentication" || d.Option != "KbdInteractiveAuthentication" {
		t.Errorf("alias source %+v", d)
	}
	if got := strings.Join(s.AuthorizedKeysFiles(), " "); got != ".ssh/authorized_keys" {
		t.Errorf("AuthorizedKeysFile %q", got)
	}
	if a := s.PubkeyAcceptedAlgorithms(); len(a) == 0 || a[0] != "ecdsa-sha2-nistp256" || AlgorithmAccepted(a, "ssh-dss") {
		t.Errorf("PubkeyAcceptedAlgorithms %v", a)
	}
}

// problemWant is one expected problem of a bad fixture.
type problemWant struct {
	file     string
	line     int
	message  string // substring of Message
	fatal    bool
	reported bool
	warning  bool
	suggest  string
}

var badFixtures = map[string][]problemWant{
	"typo": {
		{file: "/etc/ssh/sshd_config", line: 3, message: "/etc/ssh/sshd_config: line 3: Bad configuration option: PermitRootLogn", reported: true, suggest: "PermitRootLogin"},
	},
	"dropin": {
		{file: "/etc/ssh/sshd_config.d/20-auth.conf", line: 3, message: `line 3: unsupported option "maybe".`, fatal: true, reported: true},
		{file: "/etc/ssh/sshd_config.d/20-auth.conf", line: 4, message: "line 4: MaxAuthTries integer value invalid.", fatal: true},
	},
	"multi": {
		{file: "/etc/ssh/sshd_config", line: 2, message: "keyword Port extra arguments at end of line", reported: true},
		{file: "/etc/ssh/sshd_config", line: 4, message: "Bad configuration option: ChallengeResponseAuthentification", reported: true, suggest: "ChallengeResponseAuthentication"},
		{file: "/etc/ssh/sshd_config", line: 5, message: "keyword ClientAliveInterval extra arguments at end of line", reported: true},
		{file: "/etc/ssh/sshd_config", line: 7, message: `unsupported option "maybe".`, fatal: true, reported: true},
		{file: "/etc/ssh/sshd_config", line: 9, message: "Invalid MaxStartups spec.", fatal: true},
		{file: "/etc/ssh/sshd_config", line: 10, message: "Bad key types '+ssh-rsa,ssh-frobnicate'.", fatal: true},
	},
	"matchport": {
		{file: "/etc/ssh/sshd_config", line: 5, message: "Directive 'Port' is not allowed within a Match block", fatal: true, reported: true},
		{file: "/etc/ssh/sshd_config", line: 6, message: "Directive 'UseDNS' is not allowed within a Match block", fatal: true},
	},
	"loop": {
		{file: "/etc/ssh/sshd_config.d/loop.conf", line: 2, message: "Too many recursive configuration includes", fatal: true, reported: true},
	},
	"newer": {
		{file: "/etc/ssh/sshd_config", line: 3, message: "Bad configuration option: PerSourcePenalties", reported: true},
		{file: "/etc/ssh/sshd_config", line: 4, message: "Bad configuration option: PerSourcePenaltyExemptList", reported: true},
	},
	"listenfamily": {
		{file: "/etc/ssh/sshd_config", line: 3, message: "bad addr or host: :: (Address family for hostname not supported)", fatal: true, reported: true},
	},
	"deprecated": {
		{file: "/etc/ssh/sshd_config", line: 2, message: "Deprecated option UsePrivilegeSeparation", warning: true, reported: true},
		{file: "/etc/ssh/sshd_config", line: 3, message: "Deprecated option KeyRegenerationInterval", warning: true, reported: true},
		{file: "/etc/ssh/sshd_config", line: 4, message: "Deprecated option ServerKeyBits", warning: true, reported: true},
		{file: "/etc/ssh/sshd_config", line: 5, message: "Deprecated option RSAAuthentication", warning: true, reported: true},
	},
}

func TestBadFixtures(t *testing.T) {
	for name, want := range badFixtures {
		t.Run(name, func(t *testing.T) {
			c := loadTree(t, filepath.Join("testdata/bad", name))
			if len(c.Problems) != len(want) {
				for _, p := range c.Problems {
					t.Logf("got %s: %s (fatal %v reported %v)", p.Location(), p.Message, p.Fatal, p.Reported)
				}
				t.Fatalf("%d problems, want %d", len(c.Problems), len(want))
			}
			for i, w := range want {
				p := c.Problems[i]
				if p.File != w.file || p.Line != w.line || !strings.Contains(p.Message, w.message) ||
					p.Fatal != w.fatal || p.Reported != w.reported || p.Warning != w.warning || p.Suggestion != w.suggest {
					t.Errorf("problem %d = %+v\nwant %+v", i, p, w)
				}
			}
			if wantValid := name == "deprecated"; c.Valid() != wantValid {
				t.Errorf("Valid() = %v", c.Valid())
			}
		})
	}
}

func TestDropIns(t *testing.T) {
	for name, want := range map[string]string{"debian12": "/etc/ssh/sshd_config.d", "rhel9": "/etc/ssh/sshd_config.d"} {
		c := loadTree(t, filepath.Join("testdata/trees", name))
		if dir, line, ok := c.DropIns(); !ok || dir != want || line == 0 {
			t.Errorf("%s: DropIns() = %q, %d, %v", name, dir, line, ok)
		}
	}
	c := loadTree(t, "testdata/bad/matchport")
	if _, _, ok := c.DropIns(); ok || c.FirstMatchLine() != 3 {
		t.Errorf("matchport: drop-ins %v, first Match line %d", ok, c.FirstMatchLine())
	}
}

func BenchmarkLoadAndEvaluate(b *testing.B) {
	fsys := RootFS{Dir: "testdata/trees/debian12"}
	conn := Conn{User: "deploy", Groups: []string{"deploy", "sftponly"}, Addr: "10.1.2.3", LocalPort: 22}
	for b.Loop() {
		c, err := Load(Options{FS: fsys})
		if err != nil {
			b.Fatal(err)
		}
		c.Effective(conn).PubkeyAcceptedAlgorithms()
	}
}
