package dest

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// comparedKeys are the ssh -G keys sshdoctor reads; the differential test
// requires Evaluate to print each exactly as ssh does, or omit it as ssh does.
var comparedKeys = []string{
	"host", "hostname", "port", "user", "identityfile", "identitiesonly",
	"identityagent", "addressfamily", "connecttimeout", "proxyjump",
	"proxycommand", "kexalgorithms", "hostkeyalgorithms", "ciphers", "macs",
	"pubkeyacceptedalgorithms", "userknownhostsfile", "globalknownhostsfile",
	"hostkeyalias", "stricthostkeychecking", "pubkeyauthentication",
	"passwordauthentication", "kbdinteractiveauthentication", "batchmode",
	"preferredauthentications",
}

// requireOrSkip skips a test whose environment is missing, except in CI,
// where every test must run.
func requireOrSkip(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot run in CI: %s", why)
	}
	t.Skip(why)
}

// oracle runs the real `ssh -G` in a private mount namespace in which the
// fixture tree is bind-mounted over the user's home directory (where ssh
// reads ~/.ssh/config, from the password database, not $HOME) and over
// /etc/ssh. Nothing outside the namespace sees the mounts, and they vanish
// with the process.
type oracle struct {
	root    string // fixture tree: root+home and root/etc/ssh
	home    string // the password database's home directory of this user
	wrapper string // executable that runSSHG runs instead of ssh
}

func newOracle(t *testing.T) *oracle {
	t.Helper()
	requireOrSkip(t, os.Geteuid() == 0, "the differential test needs root to bind-mount fixtures in a private mount namespace")
	ssh, err := exec.LookPath("ssh")
	requireOrSkip(t, err == nil, "ssh (openssh-client) is not installed")
	_, err = exec.LookPath("unshare")
	requireOrSkip(t, err == nil, "unshare (util-linux) is not installed")
	out, _ := exec.Command(ssh, "-V").CombinedOutput()
	requireOrSkip(t, strings.HasPrefix(string(out), "OpenSSH_9.2"), "the oracle must be OpenSSH 9.2, found "+strings.TrimSpace(string(out)))
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(u.HomeDir); err != nil || !fi.IsDir() || u.HomeDir == "/" {
		requireOrSkip(t, false, "the home directory "+u.HomeDir+" does not exist")
	}
	dir := t.TempDir()
	o := &oracle{root: filepath.Join(dir, "root"), home: u.HomeDir, wrapper: filepath.Join(dir, "ssh")}
	script := `#!/bin/sh
# Runs ssh with the fixture tree mounted over the home directory and /etc/ssh.
exec unshare -m --propagation private /bin/sh -c '
mount --bind "$1" "$2" && mount --bind "$3" /etc/ssh && cd "$2" || exit 99
shift 3
exec "$0" "$@"' ` + shellQuote(ssh) + ` ` + shellQuote(o.root+o.home) + ` ` + shellQuote(o.home) + ` ` + shellQuote(o.root+"/etc/ssh") + ` "$@"
`
	if err := os.WriteFile(o.wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return o
}

// archive is a txtar archive: a comment, then files each introduced by a
// "-- name --" line. (The txtar package of go-internal needs a module this
// repository does not have, and the format takes a few lines.)
type archive struct {
	Comment []byte
	Files   []archiveFile
}

type archiveFile struct {
	Name string
	Data []byte
}

func parseArchive(path string) (*archive, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := &archive{}
	cur := &a.Comment
	for _, l := range strings.SplitAfter(string(data), "\n") {
		t := strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			a.Files = append(a.Files, archiveFile{Name: strings.TrimSpace(t[3 : len(t)-3])})
			cur = &a.Files[len(a.Files)-1].Data
			continue
		}
		*cur = append(*cur, l...)
	}
	return a, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// reset lays out a fresh fixture tree from a txtar archive: files named
// home/... go to the home directory, etc/ssh/... to /etc/ssh.
func (o *oracle) reset(t *testing.T, ar *archive) {
	t.Helper()
	if err := os.RemoveAll(o.root); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{o.root + o.home + "/.ssh", o.root + "/etc/ssh"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range ar.Files {
		var dst string
		switch {
		case strings.HasPrefix(f.Name, "home/"):
			dst = o.root + o.home + "/" + strings.TrimPrefix(f.Name, "home/")
		case strings.HasPrefix(f.Name, "etc/ssh/"):
			dst = o.root + "/" + f.Name
		default:
			t.Fatalf("fixture file %s is neither under home/ nor etc/ssh/", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		data := strings.ReplaceAll(string(f.Data), "$HOME", o.home)
		// A file whose name ends in .crlf is written with CRLF line ends.
		if strings.HasSuffix(dst, ".crlf") {
			dst = strings.TrimSuffix(dst, ".crlf")
			data = strings.ReplaceAll(data, "\n", "\r\n")
		}
		if err := os.WriteFile(dst, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run evaluates one invocation both ways and reports every difference.
func (o *oracle) run(t *testing.T, host string, opts Options) {
	t.Helper()
	opts.Home = o.home
	want, werr := runSSHG(context.Background(), o.wrapper, host, opts)
	got, gerr := (&Evaluator{Root: o.root}).Evaluate(host, opts)
	var e *Error
	if errors.As(werr, &e) && strings.Contains(e.Msg, "mount") {
		t.Fatalf("the namespace wrapper failed: %v", werr)
	}
	switch {
	case werr != nil && gerr != nil:
		return // both refuse the configuration
	case werr != nil:
		t.Errorf("ssh -G failed (%v) but Evaluate succeeded", werr)
		return
	case gerr != nil:
		t.Errorf("Evaluate failed (%v) but ssh -G succeeded", gerr)
		return
	}
	for _, k := range comparedKeys {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("%s:\n  ssh -G:   %q\n  Evaluate: %q", k, want[k], got[k])
		}
	}
}

// parseRun turns a "run" line of a corpus file into the destination and
// Options, with the flags runSSHG passes (-F -p -l -i -o -4 -6).
func parseRun(t *testing.T, line, home string) (string, Options) {
	t.Helper()
	args, err := argvSplit(strings.ReplaceAll(line, "$HOME", home))
	if err != nil {
		t.Fatalf("run line %q: %v", line, err)
	}
	var o Options
	for len(args) > 1 {
		a := args[0]
		switch a {
		case "-4", "-6":
			o.Family, _ = strconv.Atoi(a[1:])
			args = args[1:]
			continue
		}
		v := args[1]
		switch a {
		case "-F":
			o.ConfigFile = v
		case "-p":
			o.Port, _ = strconv.Atoi(v)
		case "-l":
			o.User = v
		case "-i":
			o.Identities = append(o.Identities, v)
		case "-o":
			o.Extra = append(o.Extra, v)
		default:
			t.Fatalf("run line %q: unknown flag %s", line, a)
		}
		args = args[2:]
	}
	if len(args) != 1 {
		t.Fatalf("run line %q: want exactly one destination", line)
	}
	return args[0], o
}

// runLines returns the invocations a corpus file asks for.
func runLines(ar *archive) []string {
	var out []string
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "run "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// TestEvaluateMatchesSSH is the differential test: for every run line of
// every corpus file, the real ssh -G and Evaluate must agree on every key
// sshdoctor reads (or both refuse the configuration).
func TestEvaluateMatchesSSH(t *testing.T) {
	o := newOracle(t)
	t.Setenv("SSHDOCTOR_TEST_DIR", "/srv/sshdoctor")
	files, err := filepath.Glob("testdata/sshconfig/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in testdata/sshconfig: %v", err)
	}
	runs := 0
	for _, f := range files {
		ar, err := parseArchive(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			o.reset(t, ar)
			for _, rest := range runLines(ar) {
				host, opts := parseRun(t, rest, o.home)
				t.Run(rest, func(t *testing.T) { o.run(t, host, opts) })
			}
		})
		runs += len(runLines(ar))
	}
	if runs < 100 {
		t.Errorf("the corpus has %d runs; it is meant to have at least 100", runs)
	}
}

// TestOracleSeesFixtures guards the differential test: if the mounts did
// not take effect, ssh and Evaluate could agree on an empty configuration.
func TestOracleSeesFixtures(t *testing.T) {
	o := newOracle(t)
	o.reset(t, &archive{Files: []archiveFile{
		{Name: "home/.ssh/config", Data: []byte("Host sanity\n  Port 4321\n")},
		{Name: "etc/ssh/ssh_config", Data: []byte("Host *\n  User from-fixture\n")},
	}})
	cfg, err := runSSHG(context.Background(), o.wrapper, "sanity", Options{Home: o.home})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Get("port") != "4321" || cfg.Get("user") != "from-fixture" {
		t.Fatalf("ssh -G in the namespace printed port %q user %q: it did not read the fixtures", cfg.Get("port"), cfg.Get("user"))
	}
}

// TestEvaluateMatchesSSHGenerated extends the differential test with
// configurations generated from a fixed seed: random mixes of Host and
// Match blocks, Includes, separators, keyword case and the options sshdoctor
// reads, each checked against ssh -G for several destinations.
func TestEvaluateMatchesSSHGenerated(t *testing.T) {
	o := newOracle(t)
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	hosts := []string{"web", "WEB", "web1", "db", "db.example.com", "10.0.0.5", "other"}
	line := func() string {
		kw := pick("Port", "User", "HostName", "IdentityFile", "IdentitiesOnly", "BatchMode",
			"PasswordAuthentication", "KbdInteractiveAuthentication", "PubkeyAuthentication",
			"StrictHostKeyChecking", "AddressFamily", "ConnectTimeout", "IdentityAgent",
			"ProxyJump", "ProxyCommand", "Ciphers", "MACs", "KexAlgorithms", "HostKeyAlgorithms",
			"PubkeyAcceptedAlgorithms", "UserKnownHostsFile", "GlobalKnownHostsFile",
			"HostKeyAlias", "PreferredAuthentications", "ServerAliveInterval")
		var v string
		switch kw {
		case "Port":
			v = pick("22", "2222", "8022", "ssh")
		case "User":
			v = pick("alice", "bob", "%u")
		case "HostName":
			v = pick("%h.example.com", "10.0.0.9", "Web.Example.Org", "db.example.com")
		case "IdentityFile":
			v = pick("~/.ssh/id_%h", "~/.ssh/id_a", "/etc/ssh/id_shared", "~/.ssh/id_%r")
		case "IdentitiesOnly", "BatchMode", "PasswordAuthentication", "KbdInteractiveAuthentication":
			v = pick("yes", "no", "True", "false")
		case "PubkeyAuthentication":
			v = pick("yes", "no", "unbound", "host-bound")
		case "StrictHostKeyChecking":
			v = pick("yes", "no", "ask", "accept-new", "off")
		case "AddressFamily":
			v = pick("any", "inet", "inet6")
		case "ConnectTimeout", "ServerAliveInterval":
			v = pick("5", "1m", "none", "0")
		case "IdentityAgent":
			v = pick("none", "SSH_AUTH_SOCK", "~/.ssh/agent-%h", "$SSH_AUTH_SOCK")
		case "ProxyJump":
			v = pick("jump", "u@jump:2200", "a,b", "none", "10.0.0.1")
		case "ProxyCommand":
			v = pick("nc %h %p", "none", "ssh -W %h:%p jump")
		case "Ciphers":
			v = pick("+aes128-cbc", "-aes*", "^aes256-ctr", "aes128-ctr,chacha20-poly1305@openssh.com")
		case "MACs":
			v = pick("+hmac-md5", "-*sha1*", "^hmac-sha2-512", "hmac-sha2-256")
		case "KexAlgorithms":
			v = pick("+diffie-hellman-group14-sha1", "-ecdh*", "^curve25519-sha256", "curve25519-sha256")
		case "HostKeyAlgorithms", "PubkeyAcceptedAlgorithms":
			v = pick("+ssh-rsa", "-*cert*", "^ssh-ed25519", "ssh-ed25519*,rsa-sha2-*", "+ssh-dss*")
		case "UserKnownHostsFile":
			v = pick("~/.ssh/kh_%h", "~/.ssh/a ~/.ssh/b", "/etc/ssh/kh_%k_%p")
		case "GlobalKnownHostsFile":
			v = pick("/etc/ssh/g1", "~/g %h")
		case "HostKeyAlias":
			v = pick("Alias1", "shared")
		case "PreferredAuthentications":
			v = pick("publickey", "password,keyboard-interactive")
		}
		if r.IntN(4) == 0 {
			kw = strings.ToLower(kw)
		}
		return "    " + kw + pick(" ", "=", " = ", "\t") + v
	}
	block := func() string {
		switch r.IntN(4) {
		case 0:
			return "Match " + pick("host web*", "originalhost WEB", "user alice", "localuser root",
				"all", "final", "canonical", "!host db*", "host *.example.com user !bob", "final host *.example.*")
		case 1:
			return "Include " + pick("conf.d/*.conf", "conf.d/a.conf", "missing/*")
		default:
			return "Host " + pick("web", "web*", "*.example.com", "!db *", "db?", "*", "WEB", "10.0.0.*", "other db")
		}
	}
	config := func() string {
		var b strings.Builder
		for i := r.IntN(3); i > 0; i-- {
			b.WriteString(line() + "\n")
		}
		for i := 1 + r.IntN(5); i > 0; i-- {
			b.WriteString(block() + "\n")
			for j := r.IntN(4); j > 0; j-- {
				b.WriteString(line() + "\n")
			}
		}
		return b.String()
	}
	const cases = 60
	for i := 0; i < cases; i++ {
		ar := &archive{Files: []archiveFile{
			{Name: "home/.ssh/config", Data: []byte(config())},
			{Name: "home/.ssh/conf.d/a.conf", Data: []byte(config())},
			{Name: "etc/ssh/ssh_config", Data: []byte(config())},
		}}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			o.reset(t, ar)
			for j := 0; j < 3; j++ {
				var opts Options
				if r.IntN(3) == 0 {
					opts.Port = 2000 + r.IntN(10)
				}
				if r.IntN(3) == 0 {
					opts.User = pick("alice", "carol")
				}
				if r.IntN(3) == 0 {
					opts.Extra = []string{strings.TrimSpace(line())}
				}
				host := pick(hosts...)
				o.run(t, host, opts)
			}
			if t.Failed() {
				for _, f := range ar.Files {
					t.Logf("-- %s --\n%s", f.Name, f.Data)
				}
			}
		})
	}
}

// TestEvaluateMatchesSSHLiveSystemConfig compares against the system-wide
// configuration this machine really has (Debian's ssh_config with its
// Include of ssh_config.d), copied into the fixture tree.
func TestEvaluateMatchesSSHLiveSystemConfig(t *testing.T) {
	o := newOracle(t)
	ar := &archive{Files: []archiveFile{{Name: "home/.ssh/config", Data: []byte("Host live\n  HostName 192.0.2.7\n  User deploy\n")}}}
	var copied int
	err := filepath.WalkDir("/etc/ssh", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if p != "/etc/ssh/ssh_config" && !strings.HasPrefix(p, "/etc/ssh/ssh_config.d/") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		copied++
		ar.Files = append(ar.Files, archiveFile{Name: strings.TrimPrefix(p, "/"), Data: data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	requireOrSkip(t, copied > 0, "this machine has no /etc/ssh/ssh_config")
	o.reset(t, ar)
	for _, h := range []string{"live", "other.example", "LIVE"} {
		t.Run(h, func(t *testing.T) { o.run(t, h, Options{}) })
	}
}

// fixture writes files (path -> content) under a new root directory.
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		dst := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func evalFixture(t *testing.T, files map[string]string, host string, o Options) (Config, error) {
	t.Helper()
	root := fixture(t, files)
	if o.Home == "" {
		o.Home = "/home/u"
	}
	if o.Env == nil {
		o.Env = func(string) string { return "" }
	}
	return (&Evaluator{Root: root, LocalUser: "u", LocalHost: "box.example"}).Evaluate(host, o)
}

// Match exec cannot be evaluated without running a command: the block is
// treated as not matching and the caller is told so.
func TestEvaluateMatchExecIsNotRun(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	cfg, err := evalFixture(t, map[string]string{
		"/home/u/.ssh/config": "Match exec \"touch " + marker + "\"\n  User fromexec\nHost *\n  Port 2200\n",
	}, "web", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("Evaluate ran the Match exec command")
	}
	if got := cfg.Get("user"); got != "u" {
		t.Errorf("user = %q; the Match exec block must not apply", got)
	}
	if got := cfg.Get("port"); got != "2200" {
		t.Errorf("port = %q; the rest of the file must still apply", got)
	}
	notes := strings.Join(cfg[NotesKey], "\n")
	if !strings.Contains(notes, "Match exec") || !strings.Contains(notes, "config line 1") {
		t.Errorf("notes %q do not name the Match exec line", notes)
	}
}

// An exec after a criterion that already failed is skipped by ssh too, so
// it needs no note.
func TestEvaluateMatchExecSkippedAfterFailedCriterion(t *testing.T) {
	cfg, err := evalFixture(t, map[string]string{
		"/home/u/.ssh/config": "Match host other exec true\n  User x\n",
	}, "web", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg[NotesKey]; len(n) != 0 {
		t.Errorf("notes = %q, want none", n)
	}
}

// The system-wide file and its relative Includes are read under Root, so a
// broken machine's configuration can be evaluated from a fixture.
func TestEvaluateReadsSystemConfigUnderRoot(t *testing.T) {
	cfg, err := evalFixture(t, map[string]string{
		"/etc/ssh/ssh_config":                "Include ssh_config.d/*.conf\nHost *\n  SendEnv LANG LC_*\n  HashKnownHosts yes\n  GSSAPIAuthentication yes\n",
		"/etc/ssh/ssh_config.d/a.conf":       "Host web\n  Port 2022\n  IdentityFile /etc/ssh/web_key\n",
		"/etc/ssh/ssh_config.d/b.conf":       "Host *\n  User sysuser\n",
		"/etc/ssh/ssh_config.d/.hidden.conf": "Port 1\n",
		"/home/u/.ssh/config":                "Host web\n  User me\n",
	}, "web", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"port": "2022", "user": "me", "identityfile": "/etc/ssh/web_key"} {
		if got := cfg.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// -F none reads no file at all, not even the system one.
func TestEvaluateConfigNone(t *testing.T) {
	cfg, err := evalFixture(t, map[string]string{
		"/etc/ssh/ssh_config": "Port 2022\n",
		"/home/u/.ssh/config": "User other\n",
	}, "web", Options{ConfigFile: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Get("port") != "22" || cfg.Get("user") != "u" {
		t.Errorf("port %q user %q, want the defaults 22 and u", cfg.Get("port"), cfg.Get("user"))
	}
	if !reflect.DeepEqual(cfg["identityfile"], defaultIdentities) {
		t.Errorf("identityfile = %q, want ssh's default list", cfg["identityfile"])
	}
}

func TestEvaluateMissingIdentityIsNoted(t *testing.T) {
	cfg, err := evalFixture(t, map[string]string{"/home/u/.ssh/id_here": ""}, "web",
		Options{ConfigFile: "none", Identities: []string{"~/.ssh/id_gone", "~/.ssh/id_here"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/home/u/.ssh/id_here"}; !reflect.DeepEqual(cfg["identityfile"], want) {
		t.Errorf("identityfile = %q, want %q (ssh drops an -i file that does not exist)", cfg["identityfile"], want)
	}
	if n := strings.Join(cfg[NotesKey], "\n"); !strings.Contains(n, "/home/u/.ssh/id_gone") {
		t.Errorf("notes %q do not mention the missing -i file", n)
	}
}

// Includes are bounded: a file including itself stops at OpenSSH's depth
// limit, and a fan-out of includes stops at the file limit, with an error
// rather than unbounded work.
func TestEvaluateIncludeLimits(t *testing.T) {
	for name, cfg := range map[string]string{
		"self":    "Include config\n",
		"fan-out": "Include config config config\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := evalFixture(t, map[string]string{"/home/u/.ssh/config": cfg}, "web", Options{})
			if err == nil {
				t.Fatal("Evaluate accepted an Include loop")
			}
			if !strings.Contains(err.Error(), "includes") && !strings.Contains(err.Error(), "configuration files") {
				t.Errorf("error %q does not say what went wrong", err)
			}
		})
	}
}

func TestEvaluateRejectsBadConfig(t *testing.T) {
	for name, c := range map[string]struct{ cfg, want string }{
		"unknown keyword": {"Host web\n  Bogus yes\n", "line 2: Bad configuration option: bogus"},
		"bad port":        {"Port seventy\n", "line 1: Bad port"},
		"bad quotes":      {"User \"alice\n", "line 1: invalid quotes"},
		"bad flag":        {"BatchMode maybe\n", "line 1: unsupported option"},
		"bad cipher":      {"Ciphers aes*\n", "Bad SSH2 cipher spec"},
		"bad match":       {"Match localnetwork 10.0.0.0/8\n", "line 1: Bad Match condition"},
		"extra argument":  {"User a b\n", "extra arguments"},
		"bad permissions": {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "bad permissions" {
				root := fixture(t, map[string]string{"/home/u/.ssh/config": "Port 2\n"})
				if err := os.Chmod(filepath.Join(root, "home/u/.ssh/config"), 0o666); err != nil {
					t.Fatal(err)
				}
				_, err := (&Evaluator{Root: root, LocalUser: "u"}).Evaluate("web", Options{Home: "/home/u"})
				if err == nil || !strings.Contains(err.Error(), "bad owner or permissions") {
					t.Fatalf("err = %v, want bad owner or permissions", err)
				}
				return
			}
			_, err := evalFixture(t, map[string]string{"/home/u/.ssh/config": c.cfg}, "web", Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// The command-line -o options cannot open blocks or include files.
func TestEvaluateCommandLineRestrictions(t *testing.T) {
	for _, x := range []string{"Host web", "Match all", "Include /etc/passwd"} {
		if _, err := evalFixture(t, nil, "web", Options{Extra: []string{x}}); err == nil {
			t.Errorf("-o %q was accepted", x)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"web1", "web*", true}, {"web1", "w?b1", true}, {"web1", "*1", true},
		{"web1", "*", true}, {"", "*", true}, {"", "", true}, {"a", "", false},
		{"web1", "Web*", false}, {"abcbc", "*bc", true}, {"abcbd", "*bc", false},
		{"a.b.c", "*.*", true}, {"aaa", "a*a*a", true}, {"aa", "a*a*a", false},
		{strings.Repeat("a", 200), strings.Repeat("*a", 60) + "b", false},
	} {
		if got := matchPattern(c.s, c.p); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.s, c.p, got)
		}
	}
	if got := matchPatternList("web1", "db*,!web1,web*", false); got != -1 {
		t.Errorf("a negated match must win: got %d", got)
	}
	if got := matchPatternList("web1", "DB*,WEB*", true); got != 1 {
		t.Errorf("a lower-cased list must match: got %d", got)
	}
}

func TestArgvSplit(t *testing.T) {
	for in, want := range map[string][]string{
		`a b	c`:             {"a", "b", "c"},
		`"a b" c`:           {"a b", "c"},
		`a\ b 'c d'`:        {"a b", "c d"},
		`a\"b \\ \x`:        {`a"b`, `\`, `\x`},
		`a # comment`:       {"a"},
		`a#b`:               {"a#b"},
		`"it's" 'say "hi"'`: {"it's", `say "hi"`},
	} {
		got, err := argvSplit(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("argvSplit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := argvSplit(`"open`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}

func TestInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"1234": "0.0.4.210", "1.2.3": "1.2.0.3", "010.1": "8.0.0.1", "0x7f.1": "127.0.0.1",
		"127.000.0.1": "127.0.0.1", "1.2.3.4.5": "", "99999999999": "", "0x": "", "08": "", "1.2.3.": "", "256.1.1.1": "",
	} {
		a, ok := inetAton(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("inetAton(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEvaluate feeds arbitrary configuration text (as ~/.ssh/config, with
// an include directory beside it) and -o options to Evaluate: it must never
// panic, and it must finish, whatever Includes the text asks for.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob("testdata/sshconfig/*.txtar")
	for _, p := range files {
		ar, err := parseArchive(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			f.Add(string(file.Data), "web", "User=fuzz")
		}
	}
	f.Add("Include config config\nHost *\n Port 1\n", "x", "Port 2")
	f.Add("Match final\nHost a\n HostName %h.%h\nInclude conf.d/*\n", "a", "ProxyJump a,b@c:22")
	f.Add("Host \"unterminated\n\x00Port 22\r\n", "::1", "Ciphers -*")
	f.Fuzz(func(t *testing.T, cfg, host, extra string) {
		root := t.TempDir()
		d := filepath.Join(root, "home/u/.ssh")
		if err := os.MkdirAll(filepath.Join(d, "conf.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"config", "conf.d/a", "conf.d/b"} {
			if err := os.WriteFile(filepath.Join(d, p), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		o := Options{Home: "/home/u", Extra: []string{extra}, Env: func(string) string { return "" }}
		c, err := (&Evaluator{Root: root, LocalUser: "u", LocalHost: "box"}).Evaluate(host, o)
		if err != nil {
			return
		}
		for _, k := range []string{"host", "hostname", "port", "user", "identityfile", "userknownhostsfile"} {
			if len(c[k]) == 0 {
				t.Errorf("a successful evaluation lacks %s: %v", k, c)
			}
		}
		if _, err := strconv.Atoi(c.Get("port")); err != nil {
			t.Errorf("port %q is not a number", c.Get("port"))
		}
	})
}
