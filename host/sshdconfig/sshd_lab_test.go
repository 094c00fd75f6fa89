package sshdconfig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run the real sshd of this machine (OpenSSH 9.2, Debian 12) on
// the fixture trees and compare what it says with what this package says.
//
// sshd reads absolute paths (/etc/ssh/..., /etc/crypto-policies/...) and,
// as root, insists on /run/sshd. So each run happens in a private mount
// namespace of its own: the tree's /etc is laid over the real one with
// overlayfs, the tree's /etc/ssh is bound over /etc/ssh exactly (no host
// keys of this machine leak in), and the tree's /run (with an empty
// /run/sshd) is laid over the real /run. Hiding the real /run instead would
// make every user lookup wait for nss-systemd. Nothing outside the namespace
// changes, and it vanishes with the process.

const nsScript = `set -e
root=$1; shift
mkdir -p "$root/run/sshd"
chmod 0755 "$root/run/sshd"
mount -t overlay overlay -o lowerdir="$root/etc":/etc /etc
mount --bind "$root/etc/ssh" /etc/ssh
mount -t overlay overlay -o lowerdir="$root/run":/run /run
cd /
exec "$@"`

// treeRunner runs programs with the tree at root standing in for /etc.
type treeRunner struct{ root string }

func (r treeRunner) Run(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
	argv := append([]string{"-m", "--propagation", "private", "sh", "-c", nsScript, "sh", r.root, name}, args...)
	return ExecRunner{}.Run(ctx, "unshare", argv...)
}

// batchResult is the outcome of one command of runBatch.
type batchResult struct {
	stdout, stderr string
	status         int
}

// runBatch runs many commands in one namespace over root: setting a
// namespace up costs a few hundred milliseconds here, sshd -t a tenth.
func runBatch(t *testing.T, root string, cmds [][]string) []batchResult {
	t.Helper()
	var script strings.Builder
	for i, argv := range cmds {
		var q []string
		for _, a := range argv {
			q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		fmt.Fprintf(&script, "%s >\"$root/.out\" 2>\"$root/.err\"; rc=$?\n", strings.Join(q, " "))
		fmt.Fprintf(&script, "echo '@@ %d out'; cat \"$root/.out\"; echo '@@ %d err'; cat \"$root/.err\"; echo \"@@ %d rc $rc\"\n", i, i, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, errOut, err := treeRunner{root}.Run(ctx, "sh", "-c", "root=$1\n"+script.String(), "sh", root)
	if err != nil {
		t.Fatalf("batch: %v: %s", err, errOut)
	}
	res := make([]batchResult, len(cmds))
	var cur *string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		var i, rc int
		var what string
		if n, _ := fmt.Sscanf(l, "@@ %d %s %d", &i, &what, &rc); n >= 2 && i < len(res) {
			switch what {
			case "out":
				cur = &res[i].stdout
			case "err":
				cur = &res[i].stderr
			case "rc":
				res[i].status, cur = rc, nil
			}
			continue
		}
		if cur != nil {
			*cur += l
		}
	}
	return res
}

var (
	labOnce sync.Once
	labErr  string
)

// requireLab skips (or, under CI, fails) when the real sshd cannot be run
// in a namespace: it needs root, unshare, overlayfs and /usr/sbin/sshd.
func requireLab(t *testing.T) {
	t.Helper()
	labOnce.Do(func() {
		switch {
		case os.Geteuid() != 0:
			labErr = "needs root to run sshd in a private mount namespace"
		case !fileExists("/usr/sbin/sshd"):
			labErr = "needs /usr/sbin/sshd (apt-get install openssh-server)"
		default:
			if _, err := exec.LookPath("unshare"); err != nil {
				labErr = "needs unshare (util-linux)"
				return
			}
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "etc/ssh"), 0o755)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if out, errOut, err := (treeRunner{dir}).Run(ctx, "true"); err != nil {
				labErr = "cannot make a mount namespace with overlayfs: " + err.Error() + " " + string(out) + string(errOut)
			}
		}
	})
	requireEnv(t, labErr == "", labErr)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestSSHDAgreesOnBadFixtures runs `sshd -t` on each bad fixture: sshd must
// fail exactly when we find an error, every line sshd names must be one of
// ours marked Reported, with sshd's exact message, and the problems we mark
// unreported must be absent from its output (they are the ones sshd misses).
func TestSSHDAgreesOnBadFixtures(t *testing.T) {
	requireLab(t)
	for name := range badFixtures {
		t.Run(name, func(t *testing.T) {
			root := copyTree(t, filepath.Join("testdata/bad", name))
			writeHostKeys(t, root, 0o600)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := SSHD{Runner: treeRunner{root}}.Test(ctx, DefaultFile)
			if err != nil {
				t.Fatal(err)
			}
			c := loadTree(t, root)
			if res.OK != c.Valid() {
				t.Fatalf("sshd -t ok=%v, we say valid=%v; sshd said:\n%s", res.OK, c.Valid(), res.Output)
			}
			for _, m := range res.Messages {
				found := false
				for _, p := range c.Problems {
					if p.Line == m.Line && p.Reported && (m.File == "" || m.File == p.File || strings.HasSuffix(m.File, p.File)) {
						found = true
					}
				}
				if !found {
					t.Errorf("sshd names a line we do not report: %q", m.Text)
				}
			}
			for _, p := range c.Problems {
				in := strings.Contains(res.Output, p.Message)
				if p.Reported && !in {
					t.Errorf("we say sshd reports %q, but it printed:\n%s", p.Message, res.Output)
				}
				if !p.Reported && in {
					t.Errorf("we say sshd stops before %q, but it printed it", p.Message)
				}
			}
		})
	}
}

// labConfigs are extra configurations for the differential test, each a
// main sshd_config plus drop-ins, covering the evaluation rules one by one.
var labConfigs = map[string]map[string]string{
	"match-all-idiom": {
		"sshd_config": "PasswordAuthentication yes\nMatch User bob\n\tPubkeyAuthentication no\nMatch All\nPasswordAuthentication no\nPort 2222\nPort 22\n",
	},
	"allowusers-replaced": {
		"sshd_config": "AllowUsers alice\nAllowUsers bob@10.0.0.0/8\nDenyUsers mallory\nMatch Address 10.0.0.0/8\n\tAllowUsers carol\nMatch Address 10.1.0.0/16\n\tAllowUsers dave root\n",
	},
	"include-in-match": {
		"sshd_config":              "Include sshd_config.d/*.conf\nMatch User root\n\tInclude /etc/ssh/root.conf\n\tMaxAuthTries 4\nMatch Group root\n\tX11Forwarding yes\n",
		"root.conf":                "PasswordAuthentication no\nMaxAuthTries 2\nMatch Address 192.0.2.0/24\n\tPermitRootLogin no\n",
		"sshd_config.d/10-a.conf":  "PermitRootLogin forced-commands-only\nMatch LocalPort 2222\n\tPasswordAuthentication no\n",
		"sshd_config.d/20-b.conf":  "PermitRootLogin yes\nLoginGraceTime 1m30s\nClientAliveInterval 2h\n",
		"sshd_config.d/.hidden":    "Port 9999\n",
		"sshd_config.d/30-c.conf~": "Port 9998\n",
	},
	"listen-and-family": {
		"sshd_config": "AddressFamily inet\nPort 22\nPort 2200\nListenAddress 127.0.0.1\nListenAddress 127.0.0.2:2022\n",
	},
	"listen-v6": {
		"sshd_config": "Port 2022\nListenAddress [::1]:2023\nListenAddress ::2\nListenAddress 192.0.2.1\n",
	},
	"algorithms": {
		"sshd_config": "PubkeyAcceptedAlgorithms -rsa-sha2-*\nHostKeyAlgorithms ^ssh-rsa\nMatch User deploy\n\tPubkeyAcceptedAlgorithms ssh-ed25519*,ssh-rsa\nMatch User legacy\n\tPubkeyAcceptedKeyTypes +ssh-dss\n",
	},
	"keys-and-paths": {
		"sshd_config": "AuthorizedKeysFile ~/keys/%u .ssh/authorized_keys %h/.ssh/k2\nPidFile none\nHostKey etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_rsa_key\nMaxStartups 3\nAuthorizedKeysCommand /usr/bin/true %u\nAuthorizedKeysCommandUser nobody\nUsePAM yes\nStrictModes no\nUseDNS yes\n" +
			"Match Host *.example.org,!bad.example.org\n\tAuthorizedKeysFile none\n\tAuthorizedKeysCommand none\n",
	},
	"last-wins-and-names": {
		"sshd_config": "MaxStartups 10:30:60\nMaxStartups 5\nLogLevel DEBUG\nAllowTcpForwarding all\nPermitRootLogin without-password\n" +
			"ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\nPort ssh\nLoginGraceTime 0\n" +
			"Match Address 2001:db8::/32\n\tPubkeyAcceptedAlgorithms -ssh-ed25519*,ecdsa-*\n\tLogLevel quiet\n\tAllowTcpForwarding local\n",
	},
	"quoting": {
		"sshd_config": "\"PasswordAuthentication\" \"no\"\nPermitRootLogin=no\nMaxAuthTries = 2 # comment\nAllowUsers \"alice\" bob # carol\nMatch User=alice Address=\"10.0.0.0/8\"\n\tPasswordAuthentication yes\n",
	},
}

// labConns are the connections each configuration is evaluated for.
var labConns = []Conn{
	{User: "root", Groups: []string{"root"}, Host: "admin.example.org", Addr: "203.0.113.5", LocalAddr: "198.51.100.1", LocalPort: 22},
	{User: "alice", Host: "10.1.2.3", Addr: "10.1.2.3", LocalAddr: "198.51.100.1", LocalPort: 22},
	{User: "bob", Host: "bad.example.org", Addr: "10.66.1.1", LocalAddr: "198.51.100.1", LocalPort: 22},
	{User: "deploy", Host: "ci.example.org", Addr: "192.0.2.9", LocalAddr: "198.51.100.1", LocalPort: 2222},
	{User: "root", Groups: []string{"root"}, Host: "x", Addr: "192.0.2.10", LocalAddr: "198.51.100.1", LocalPort: 2222},
	{User: "legacy", Host: "x", Addr: "2001:db8::7", LocalAddr: "2001:db8::1", LocalPort: 22},
}

// TestSSHDAgreesOnEffectiveConfig is the differential test: for every
// fixture tree and lab configuration, and every connection, `sshd -T -C`
// and our evaluation must print the same values for the keys we model.
func TestSSHDAgreesOnEffectiveConfig(t *testing.T) {
	requireLab(t)
	roots := map[string]string{}
	for _, name := range []string{"debian12", "ubuntu2404", "rhel9"} {
		roots[name] = copyTree(t, filepath.Join("testdata/trees", name))
	}
	for name, files := range labConfigs {
		root := t.TempDir()
		for f, content := range files {
			p := filepath.Join(root, "etc/ssh", f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		roots[name] = root
	}
	for name, root := range roots {
		writeHostKeys(t, root, 0o600)
		c := loadTree(t, root)
		if !c.Valid() {
			t.Fatalf("%s: problems %+v", name, c.Problems)
		}
		var cmds [][]string
		for _, conn := range labConns {
			cmds = append(cmds, []string{"/usr/sbin/sshd", "-T", "-f", DefaultFile, "-C", ConnSpec(conn)})
		}
		for i, r := range runBatch(t, root, cmds) {
			conn := labConns[i]
			if r.status != 0 {
				t.Errorf("%s %s: sshd -T failed: %s", name, ConnSpec(conn), r.stderr)
				continue
			}
			dump := ParseDump([]byte(r.stdout))
			if len(dump["passwordauthentication"]) != 1 || len(dump["port"]) == 0 {
				t.Fatalf("%s: sshd -T printed no configuration: %q", name, r.stdout)
			}
			for _, d := range c.Effective(conn).Compare(dump) {
				t.Errorf("%s, %s: %s: ours %q, sshd %q", name, ConnSpec(conn), d.Key, d.Ours, d.SSHD)
			}
		}
	}
}

// valueLines are one-line configurations, most of them wrong, each checked
// against `sshd -t` on its own: sshd stops at the first fatal error, so a
// fixture with many would test only one message.
var valueLines = []string{
	"Port 0", "Port 70000", "Port abc", "Port ssh", "Port # nothing", "LoginGraceTime 2x", "LoginGraceTime -1",
	"ListenAddress 1.2.3.4:0", "ListenAddress [::1", "ListenAddress 127.0.0.1 rdomain", "ListenAddress 127.0.0.1 foo bar",
	"PermitRootLogin maybe", "PermitRootLogin YES", "PermitRootLogin yes no", "AddressFamily ipv4",
	"MaxAuthTries -1", "MaxAuthTries 99999999999", "MaxAuthTries 3x", "MaxAuthTries +4", "X11DisplayOffset abc",
	"HostbasedAcceptedAlgorithms ssh-foo", "PubkeyAcceptedAlgorithms -ssh-foo", "PubkeyAcceptedAlgorithms +ssh-ed25519*",
	"PubkeyAcceptedAlgorithms ^nomatch*", "PubkeyAcceptedAlgorithms ssh-ed25519,,ssh-foo",
	"Ciphers aes128-ctr,blowfish", "Ciphers +aes128-cbc", "MACs hmac-foo", "KexAlgorithms +foo", "KexAlgorithms -foo*",
	"PubkeyAuthOptions foo", "PubkeyAuthOptions none touch-required", "PermitUserEnvironment LANG,LC_*",
	"RekeyLimit 10", "RekeyLimit 1G 1x", "RekeyLimit abc", "RekeyLimit default none", "RekeyLimit 1G 1h extra",
	"SyslogFacility AUTHX", "SyslogFacility local7", "LogLevel LOUD", "LogVerbose none x", "LogVerbose kex.c:*",
	"AllowUsers a@10.0.0.1/8", "AllowUsers a@10.0.0.0/8 b@host", `AllowGroups ""`, "Subsystem sftp",
	"Subsystem sftp /bin/true\nSubsystem sftp /bin/false", "Subsystem x /bin/true -a -b",
	"MaxStartups 10:30:5", "MaxStartups 10:0:100", "MaxStartups 0", "MaxStartups 10:abc", "MaxStartups 3:50:9",
	"PerSourceNetBlockSize 33", "PerSourceNetBlockSize 24:129", "PerSourceNetBlockSize 24:56", "PerSourceMaxStartups x",
	"PerSourceMaxStartups none", `AuthorizedKeysFile ""`, "AcceptEnv A=B", "SetEnv FOO", "SetEnv A=1 B=2",
	"PermitTunnel maybe", "PermitTunnel Yes", "PermitOpen foo", "PermitOpen foo:bar", "PermitOpen any none",
	"PermitOpen host:22 [::1]:*", "PermitListen 0", "PermitListen 1234", "AuthorizedKeysCommand relative/path",
	"AuthorizedKeysCommand /usr/bin/x", "AuthenticationMethods publickey,foo", "AuthenticationMethods any publickey",
	"AuthenticationMethods publickey,password keyboard-interactive:pam", "StreamLocalBindMask 0999",
	"StreamLocalBindMask x", "StreamLocalBindMask 01777", "FingerprintHash sha3", "FingerprintHash MD5",
	"IPQoS foo", "IPQoS af11 cs1 ef", "IPQoS 0x20 300", "ChannelTimeout session", "ChannelTimeout none x",
	"ChannelTimeout session=5m global=1h", "UnusedConnectionTimeout 5x", "UnusedConnectionTimeout none",
	"GSSAPIKexAlgorithms foo", "Match Foo bar", "Match User", "Match all User x", "Match Address 10.0.0.1/8",
	"Match LocalPort abc", "Match User x,!y Group a LocalPort 22", "Include", `Include ""`, `PasswordAuthentication "no`,
	"Banner", "X11Forwarding yes # ok", "Compression delayed", "Compression sometimes", "UsePrivilegeSeparation yes",
	"KerberosGetAFSToken yes", "Protocol 1", "DebianBanner no", "PerSourcePenalties yes", "VersionAddendum hello world",
	"ForceCommand", "ChrootDirectory", "Match User x\n\tHostKey /x", "Match User x\n\tNoSuchKeyword y",
	"AuthorizedPrincipalsCommand /bin/true", "IgnoreRhosts shosts-only", "GatewayPorts clientspecified",
	"ClientAliveCountMax 3 4", "HostKeyAgent", "RDomain", "UseDNS yes\nUseDNS maybe",
}

// TestSSHDAgreesOnEachValue runs `sshd -t` on each of valueLines: it must
// fail exactly when we say the configuration is invalid, and every message
// we say sshd prints must be in its output, word for word.
func TestSSHDAgreesOnEachValue(t *testing.T) {
	requireLab(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/ssh"), 0o755)
	writeHostKeys(t, root, 0o600)
	var cmds [][]string
	for i, l := range valueLines {
		name := fmt.Sprintf("/etc/ssh/case%d.conf", i)
		if err := os.WriteFile(filepath.Join(root, name), []byte(l+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, []string{"/usr/sbin/sshd", "-t", "-f", name})
	}
	results := runBatch(t, root, cmds)
	for i, l := range valueLines {
		c, err := Load(Options{FS: RootFS{Dir: root}, File: fmt.Sprintf("/etc/ssh/case%d.conf", i)})
		if err != nil {
			t.Fatal(err)
		}
		output := results[i].stdout + results[i].stderr
		if ok := results[i].status == 0; ok != c.Valid() {
			t.Errorf("%q: sshd -t ok=%v, we say valid=%v; sshd: %q; we: %+v", l, ok, c.Valid(), output, c.Problems)
			continue
		}
		for _, p := range c.Problems {
			if p.Reported && !strings.Contains(output, p.Message) {
				t.Errorf("%q: we expect %q from sshd, it printed %q", l, p.Message, output)
			}
		}
	}
}
