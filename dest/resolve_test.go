package dest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// requireSSH returns the path of the ssh client, skipping the test when it
// is missing (a failure in CI, which installs it).
func requireSSH(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ssh is not installed (apt-get install openssh-client); CI must run this test")
		}
		t.Skip("ssh is not installed (apt-get install openssh-client)")
	}
	return p
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseG(t *testing.T) {
	out := []byte("user bob\nhostname 10.0.0.5\nport 2222\nidentityfile ~/.ssh/id_rsa\nidentityfile ~/.ssh/id_ed25519\nKexAlgorithms a,b\n\n")
	c := ParseG(out)
	if got := c.Get("user"); got != "bob" {
		t.Errorf("user = %q", got)
	}
	if got := c.Get("port"); got != "2222" {
		t.Errorf("port = %q", got)
	}
	if got := c["identityfile"]; !slices.Equal(got, []string{"~/.ssh/id_rsa", "~/.ssh/id_ed25519"}) {
		t.Errorf("identityfile = %q, want both values in order", got)
	}
	if got := c.Get("kexalgorithms"); got != "a,b" {
		t.Errorf("keys are not lower-cased: kexalgorithms = %q", got)
	}
	if got := c.Get("missing"); got != "" {
		t.Errorf("missing key = %q", got)
	}
}

func TestResolveWithConfigFile(t *testing.T) {
	ssh := requireSSH(t)
	home := t.TempDir()
	cfg := writeConfig(t, `Host web1
    HostName 127.0.0.5
    Port 2222
    User bob
    IdentityFile ~/.ssh/web1_key
    IdentitiesOnly yes
    KexAlgorithms curve25519-sha256
    HostKeyAlgorithms ssh-ed25519
    BatchMode yes
    PasswordAuthentication no
    ConnectTimeout 7
`)
	d, err := Parse("web1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(context.Background(), d, Options{ConfigFile: cfg, SSH: ssh, Home: home, Env: env(map[string]string{"HOME": home})})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if r.Alias != "web1" || r.HostName != "127.0.0.5" || r.Port != 2222 || r.User != "bob" {
		t.Errorf("resolved %s (alias %q), want bob@127.0.0.5 port 2222 (Host web1)", r, r.Alias)
	}
	if want := filepath.Join(home, ".ssh/web1_key"); !slices.Contains(r.IdentityFiles, want) {
		t.Errorf("IdentityFiles = %q, want %s with ~ expanded", r.IdentityFiles, want)
	}
	if !r.IdentityFilesExplicit || !r.IdentitiesOnly {
		t.Errorf("IdentityFilesExplicit %v, IdentitiesOnly %v; want both true", r.IdentityFilesExplicit, r.IdentitiesOnly)
	}
	if !slices.Equal(r.KexAlgorithms, []string{"curve25519-sha256"}) || !slices.Equal(r.HostKeyAlgorithms, []string{"ssh-ed25519"}) {
		t.Errorf("algorithms: kex %q hostkey %q", r.KexAlgorithms, r.HostKeyAlgorithms)
	}
	if !r.BatchMode || r.PasswordAuthentication || !r.PubkeyAuthentication {
		t.Errorf("BatchMode %v PasswordAuthentication %v PubkeyAuthentication %v", r.BatchMode, r.PasswordAuthentication, r.PubkeyAuthentication)
	}
	if r.ConnectTimeout != 7*time.Second {
		t.Errorf("ConnectTimeout = %v, want 7s", r.ConnectTimeout)
	}
	if r.Source != "ssh -G" {
		t.Errorf("Source = %q", r.Source)
	}
}

func TestResolveCommandLineWinsOverConfig(t *testing.T) {
	ssh := requireSSH(t)
	home := t.TempDir()
	cfg := writeConfig(t, "Host web1\n    Port 2222\n    User bob\n")
	d, err := Parse("carol@web1:2200")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(context.Background(), d, Options{ConfigFile: cfg, SSH: ssh, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if r.Port != 2200 || r.User != "carol" {
		t.Errorf("destination port/user lost to the config: %s", r)
	}
	r, err = Resolve(context.Background(), d, Options{ConfigFile: cfg, SSH: ssh, Home: home, Port: 2022, User: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Port != 2022 || r.User != "dave" {
		t.Errorf("-p/-l do not win over the destination: %s", r)
	}
}

func TestResolveNone(t *testing.T) {
	ssh := requireSSH(t)
	home := t.TempDir()
	d, _ := Parse("127.0.0.1")
	r, err := Resolve(context.Background(), d, Options{ConfigFile: "none", SSH: ssh, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if r.Port != 22 || r.HostName != "127.0.0.1" {
		t.Errorf("defaults: %s", r)
	}
	if !strings.Contains(r.Source, "-F none") {
		t.Errorf("Source = %q, want it to say -F none", r.Source)
	}
	if r.IdentityFilesExplicit {
		t.Errorf("the default identity list counts as explicit: %q", r.IdentityFiles)
	}
	if len(r.IdentityFiles) == 0 || !strings.HasPrefix(r.IdentityFiles[0], home+"/.ssh/") {
		t.Errorf("IdentityFiles = %q, want ssh's defaults under %s", r.IdentityFiles, home)
	}
	if len(r.KexAlgorithms) == 0 || len(r.Ciphers) == 0 || len(r.MACs) == 0 || len(r.HostKeyAlgorithms) == 0 {
		t.Errorf("algorithm lists missing: %+v", r)
	}
}

func TestResolveProxies(t *testing.T) {
	ssh := requireSSH(t)
	d, _ := Parse("web1")
	r, err := Resolve(context.Background(), d, Options{ConfigFile: "none", SSH: ssh, Home: t.TempDir(), Extra: []string{"ProxyJump=jump@j1:2022"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProxyJump != "jump@j1:2022" {
		t.Errorf("ProxyJump = %q", r.ProxyJump)
	}
	r, err = Resolve(context.Background(), d, Options{ConfigFile: "none", SSH: ssh, Home: t.TempDir(), Extra: []string{"ProxyCommand=nc %h %p"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProxyCommand == "" {
		t.Errorf("ProxyCommand not recorded")
	}
}

func TestResolveMissingConfigFile(t *testing.T) {
	d, _ := Parse("web1")
	_, err := Resolve(context.Background(), d, Options{ConfigFile: filepath.Join(t.TempDir(), "nope"), SSH: "-"})
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("Resolve with a missing -F file: err = %v, want a *dest.Error", err)
	}
	if de.Hint == "" || !strings.Contains(de.Msg, "no such file") {
		t.Errorf("error %q (hint %q) does not say the file is missing", de.Msg, de.Hint)
	}
}

func TestResolveSSHRejectsConfig(t *testing.T) {
	ssh := requireSSH(t)
	cfg := writeConfig(t, "Host web1\n    NoSuchOption yes\n")
	d, _ := Parse("web1")
	_, err := Resolve(context.Background(), d, Options{ConfigFile: cfg, SSH: ssh, Home: t.TempDir()})
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *dest.Error for a configuration ssh rejects", err)
	}
	if strings.Contains(de.Error(), "\n") {
		t.Errorf("error is not one line: %q", de.Error())
	}
}

// ssh expands %k in IdentityFile to the HostKeyAlias, or else to the host
// as given on the command line (ssh_config(5), TOKENS) - not to HostName.
func TestResolveIdentityFileTokenK(t *testing.T) {
	ssh := requireSSH(t)
	home := t.TempDir()
	cfg := writeConfig(t, `Host web1
    HostName 127.0.0.5
    IdentityFile ~/.ssh/id_%k
Host web2
    HostName 127.0.0.6
    HostKeyAlias keyalias
    IdentityFile ~/.ssh/id_%k
`)
	for host, want := range map[string]string{"web1": "id_web1", "web2": "id_keyalias"} {
		d, _ := Parse(host)
		r, err := Resolve(context.Background(), d, Options{ConfigFile: cfg, SSH: ssh, Home: home})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(home, ".ssh", want); !slices.Contains(r.IdentityFiles, want) {
			t.Errorf("%s: IdentityFiles = %q, want %s (%%k is the HostKeyAlias or the host as typed)", host, r.IdentityFiles, want)
		}
	}
}

func TestResolvedString(t *testing.T) {
	r := &Resolved{Alias: "web1", HostName: "10.0.0.5", Port: 22, User: "bob"}
	if got, want := r.String(), "bob@10.0.0.5 port 22 (Host web1)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r.Alias = "10.0.0.5"
	if got, want := r.String(), "bob@10.0.0.5 port 22"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
